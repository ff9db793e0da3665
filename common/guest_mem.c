/*
 * guest_mem.c - bounds-checked access to guest RAM from the VMM and its devices.
 *
 * The one rule: never compute gpa + len. Both come from the guest, so the sum can wrap past
 * UINT64_MAX and make a huge range look small. Work with offsets from the start of RAM
 * instead, where every subtraction is known not to underflow.
 */
#include <errno.h>
#include <string.h>

#include "guest_mem.h"

void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	if (gpa < m->gpa)
		return NULL;
	off = gpa - m->gpa;
	if (off > m->size || len > m->size - off)
		return NULL;
	return m->host + off;
}

int guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

/*
 * Assemble the value byte by byte, least significant first: this is little-endian whatever
 * the host's byte order, and needs no alignment.
 */
static int guest_read_le(const struct guest_mem *m, uint64_t gpa, unsigned int n, uint64_t *val)
{
	const uint8_t *p = guest_ptr(m, gpa, n);
	uint64_t v = 0;

	if (!p)
		return -EFAULT;
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	*val = v;
	return 0;
}

static int guest_write_le(const struct guest_mem *m, uint64_t gpa, unsigned int n, uint64_t val)
{
	uint8_t *p = guest_ptr(m, gpa, n);

	if (!p)
		return -EFAULT;
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(val >> (8 * i));
	return 0;
}

int guest_read_u16(const struct guest_mem *m, uint64_t gpa, uint16_t *val)
{
	uint64_t v;
	int err = guest_read_le(m, gpa, sizeof(*val), &v);

	if (!err)
		*val = (uint16_t)v;
	return err;
}

int guest_read_u32(const struct guest_mem *m, uint64_t gpa, uint32_t *val)
{
	uint64_t v;
	int err = guest_read_le(m, gpa, sizeof(*val), &v);

	if (!err)
		*val = (uint32_t)v;
	return err;
}

int guest_read_u64(const struct guest_mem *m, uint64_t gpa, uint64_t *val)
{
	return guest_read_le(m, gpa, sizeof(*val), val);
}

int guest_write_u16(const struct guest_mem *m, uint64_t gpa, uint16_t val)
{
	return guest_write_le(m, gpa, sizeof(val), val);
}

int guest_write_u32(const struct guest_mem *m, uint64_t gpa, uint32_t val)
{
	return guest_write_le(m, gpa, sizeof(val), val);
}

int guest_write_u64(const struct guest_mem *m, uint64_t gpa, uint64_t val)
{
	return guest_write_le(m, gpa, sizeof(val), val);
}
