/*
 * guest_mem.h - bounds-checked access to guest RAM from the VMM and its devices.
 *
 * Every guest physical address (GPA) a device uses comes from the guest, which may be hostile
 * or simply buggy. Devices therefore never turn a GPA into a host pointer themselves: they go
 * through these helpers, which refuse any range that is not entirely inside guest RAM.
 *
 * The guest keeps running while a device reads its memory, so a value can change between two
 * reads. Copy what you need with guest_read() once, then validate and use the copy.
 */
#ifndef VELEIRO_GUEST_MEM_H
#define VELEIRO_GUEST_MEM_H

#include <stdint.h>

/* One contiguous block of guest RAM: guest addresses [gpa, gpa + size) live at host[0..size). */
struct guest_mem {
	uint64_t gpa; /* guest physical address of the first byte */
	uint64_t size; /* bytes */
	uint8_t *host; /* where the stage mapped it (mmap) */
};

/*
 * Host pointer to guest range [gpa, gpa + len), or NULL unless the whole range is inside RAM.
 * len 0 is a valid empty range anywhere from the first byte up to and including the end.
 */
void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy len bytes between guest RAM and the host: 0, or -EFAULT (and nothing copied). */
int guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int guest_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/*
 * Little-endian integer access at any alignment (the arm64 guests here run little-endian):
 * 0, or -EFAULT with *val, respectively guest RAM, left untouched. They copy byte by byte, so
 * they are not atomic: a field that a guest CPU may update at the same moment, such as a
 * virtqueue index, needs an __atomic access instead (see virtq.c).
 */
int guest_read_u16(const struct guest_mem *m, uint64_t gpa, uint16_t *val);
int guest_read_u32(const struct guest_mem *m, uint64_t gpa, uint32_t *val);
int guest_read_u64(const struct guest_mem *m, uint64_t gpa, uint64_t *val);
int guest_write_u16(const struct guest_mem *m, uint64_t gpa, uint16_t val);
int guest_write_u32(const struct guest_mem *m, uint64_t gpa, uint32_t val);
int guest_write_u64(const struct guest_mem *m, uint64_t gpa, uint64_t val);

#endif
