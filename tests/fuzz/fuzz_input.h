/*
 * fuzz_input.h - what every fuzzer here does with its input: read little-endian fields from it
 * (bytes past its end read as 0, so every input is a complete one), and write the built-in guest
 * RAM image that the input's bytes are XORed into. The including file defines RAM_GPA, the guest
 * physical address its image starts at.
 */
#ifndef VELEIRO_FUZZ_INPUT_H
#define VELEIRO_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#ifndef RAM_GPA
#error "define RAM_GPA, the guest address of the image, before including fuzz_input.h"
#endif

/* The `bytes`-byte little-endian field at data + off. */
static inline uint64_t get_le(const uint8_t *data, size_t size, size_t off, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		if (off + i < size)
			v |= (uint64_t)data[off + i] << (8 * i);
	return v;
}

/* Write val as a `bytes`-byte little-endian field at image + off. */
static inline void put_le(uint8_t *image, uint64_t off, uint64_t val, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		image[off + i] = (uint8_t)(val >> (8 * i));
}

/*
 * Descriptor i of the table at image offset `table` (virtio 1.2, 2.7.5): a buffer at image offset
 * addr, that is guest address RAM_GPA + addr.
 */
static inline void image_desc(uint8_t *image, uint64_t table, unsigned int i, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	put_le(image, table + 16 * i, RAM_GPA + addr, 8);
	put_le(image, table + 16 * i + 8, len, 4);
	put_le(image, table + 16 * i + 12, flags, 2);
	put_le(image, table + 16 * i + 14, next, 2);
}

#endif
