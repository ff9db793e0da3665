/*
 * virtio_blk.h - a virtio block device backed by a host file (virtio 1.2, section 5.2
 * "Block Device"), on the virtio-mmio transport.
 *
 * One request queue. The caller opens the disk image (read-only or read-write), locks it with
 * virtio_blk_lock() and keeps the fd open for the device's lifetime; the device reads and
 * writes it with pread/pwrite straight into and out of the guest's buffers.
 */
#ifndef VELEIRO_VIRTIO_BLK_H
#define VELEIRO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_BLK_DEVICE_ID 2 /* DeviceID of a block device (5.2.1) */
#define VIRTIO_BLK_SECTOR 512 /* the protocol's sector size, whatever the disk's (5.2.6) */
#define VIRTIO_BLK_ID_BYTES 20 /* GET_ID: NUL-padded serial of up to 20 bytes (5.2.6) */
#define VIRTIO_BLK_QUEUE_SIZE 256 /* QueueNumMax of the request queue */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2) /* seg_max in config is valid */
#define VIRTIO_BLK_F_RO (1ull << 5) /* the disk is read-only */
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6) /* blk_size in config is valid */
#define VIRTIO_BLK_F_FLUSH (1ull << 9) /* VIRTIO_BLK_T_FLUSH is supported */

/* Request header: le32 type, le32 reserved, le64 sector; then data; then u8 status (5.2.6). */
#define VIRTIO_BLK_HEADER_LEN 16
#define VIRTIO_BLK_T_IN 0 /* read sectors into the guest */
#define VIRTIO_BLK_T_OUT 1 /* write sectors from the guest */
#define VIRTIO_BLK_T_FLUSH 4 /* make completed writes durable */
#define VIRTIO_BLK_T_GET_ID 8 /* device ID string */
#define VIRTIO_BLK_S_OK 0 /* status: success */
#define VIRTIO_BLK_S_IOERR 1 /* status: device or driver error */
#define VIRTIO_BLK_S_UNSUPP 2 /* status: request type not supported */

/* Configuration space (5.2.4) up to the last field the offered features make valid. */
#define VIRTIO_BLK_CFG_CAPACITY 0 /* le64 capacity, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SEG_MAX 12 /* le32 seg_max: data segments per request */
#define VIRTIO_BLK_CFG_BLK_SIZE 20 /* le32 blk_size */
#define VIRTIO_BLK_CONFIG_LEN 24

struct virtio_blk {
	struct virtio_mmio mmio; /* register this on the MMIO bus */
	struct virtio_mmio_ops ops;
	int fd;
	bool read_only;
	uint64_t capacity; /* in 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CONFIG_LEN];
	struct virtq_chain chain; /* the request being served */
};

/*
 * Set up a block device on disk image `fd` (its size, rounded down to 512 bytes, is the
 * capacity). serial is what GET_ID returns (truncated to 20 bytes). irq_set drives the
 * device's interrupt line. 0, or -errno if the size of fd cannot be found.
 */
int virtio_blk_init(struct virtio_blk *blk, int fd, bool read_only, const char *serial,
		    const struct guest_mem *mem, irq_set_fn irq_set, void *irq_ctx);

/* Does not close fd. */
void virtio_blk_destroy(struct virtio_blk *blk);

/*
 * Lock the disk image open on fd, as QEMU does, so that two VMMs cannot corrupt it by writing
 * it at once: an exclusive lock to use it read-write, a shared one to use it read-only (readers
 * may share an image, but not with a writer). Returns NULL, or why the image cannot be used,
 * naming how the other process uses it. Where the file system cannot lock at all, it warns and
 * returns NULL: the image is then used unlocked. The lock lasts until fd is closed.
 */
const char *virtio_blk_lock(int fd, bool read_only);

#endif
