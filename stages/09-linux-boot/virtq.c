/*
 * virtq.c - the device side of a split virtqueue (virtio 1.2, section 2.7 "Split Virtqueues").
 *
 * Layout in guest RAM, all little-endian (2.7, 2.7.5, 2.7.6, 2.7.8):
 *   descriptor table  16 * num bytes, 16-aligned: {le64 addr; le32 len; le16 flags; le16 next}
 *   available ring    6 + 2 * num, 2-aligned:  {le16 flags; le16 idx; le16 ring[num];
 *                                                le16 used_event}
 *   used ring         6 + 8 * num, 4-aligned:  {le16 flags; le16 idx;
 *                                                {le32 id; le32 len} ring[num]; le16 avail_event}
 * The two idx fields are free-running 16-bit counters; a ring slot is idx % num.
 *
 * The guest runs on other CPUs while we read these, so the 16-bit fields both sides update
 * (the idx, flags and event fields) are accessed atomically with the ordering the spec asks
 * for (2.7.13, 2.7.14), and every value is validated after it was copied.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtq.h"

#define VIRTQ_DESC_SIZE 16 /* bytes per descriptor */

/* Byte offsets inside the ring areas (2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_IDX 2 /* avail->idx */
#define VIRTQ_AVAIL_RING 4 /* avail->ring[0] */
#define VIRTQ_USED_IDX 2 /* used->idx */
#define VIRTQ_USED_RING 4 /* used->ring[0] */
#define VIRTQ_USED_ELEM_LEN 8 /* one {id, len} element of used->ring */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint32_t num_max)
{
	vq->mem = mem;
	vq->num_max = num_max;
	virtq_reset(vq);
}

void virtq_reset(struct virtq *vq)
{
	vq->num = vq->num_max;
	vq->desc = 0;
	vq->avail = 0;
	vq->used = 0;
	vq->ready = false;
	vq->event_idx = false;
	vq->indirect = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled = 0;
}

int virtq_enable(struct virtq *vq, bool event_idx, bool indirect)
{
	uint64_t num = vq->num;

	/* 2.7: "Queue Size value is always a power of 2"; 4.2.2.2: at most QueueNumMax. */
	if (num == 0 || num > vq->num_max || (num & (num - 1)) != 0)
		return -VIRTQ_E_SIZE;
	/* 2.7 alignment table. */
	if (vq->desc % 16 != 0 || vq->avail % 2 != 0 || vq->used % 4 != 0)
		return -VIRTQ_E_ALIGN;
	if (!guest_ptr(vq->mem, vq->desc, VIRTQ_DESC_SIZE * num) ||
	    !guest_ptr(vq->mem, vq->avail, 6 + 2 * num) ||
	    !guest_ptr(vq->mem, vq->used, 6 + VIRTQ_USED_ELEM_LEN * num))
		return -VIRTQ_E_RING;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled = 0;
	vq->ready = true;
	return 0;
}

/*
 * The 16-bit ring fields that one side writes while the other reads them (avail->idx,
 * avail->flags, used_event; used->idx, avail_event) are shared memory between CPUs, like any
 * lock-free variable. Each access must be single-copy atomic: one 2-byte load or store, never
 * torn into bytes, whatever the optimiser does with the C (guest_read_u16() copies byte by
 * byte and promises no such thing). The fields are naturally aligned, since virtq_enable()
 * checked the ring alignment (2.7), so __atomic accesses are plain ldrh/strh on arm64; `order`
 * says what else the access orders. The rings were checked to lie inside guest RAM and cannot
 * move while the queue is ready, so the pointer is valid.
 */
static uint16_t virtq_load(const struct virtq *vq, uint64_t gpa, int order)
{
	const uint16_t *p = guest_ptr(vq->mem, gpa, sizeof(*p));

	return le16toh(__atomic_load_n(p, order));
}

static void virtq_store(const struct virtq *vq, uint64_t gpa, uint16_t val, int order)
{
	uint16_t *p = guest_ptr(vq->mem, gpa, sizeof(*p));

	__atomic_store_n(p, htole16(val), order);
}

/*
 * How many chains the driver has made available that we have not taken yet. The driver writes
 * the descriptors and ring entries before it updates idx (2.7.13.3.1): the acquire load makes
 * sure we read them after idx, so we see what it wrote.
 */
static int virtq_pending(const struct virtq *vq, uint16_t *pending)
{
	uint16_t n = virtq_load(vq, vq->avail + VIRTQ_AVAIL_IDX, __ATOMIC_ACQUIRE) - vq->last_avail;

	/* The queue size is the most buffers the driver can have outstanding (2.7). */
	if (n > vq->num)
		return -VIRTQ_E_AVAIL_IDX;
	*pending = n;
	return 0;
}

static void virtq_read_desc(const struct guest_mem *mem, uint64_t gpa, struct virtq_desc *d)
{
	guest_read_u64(mem, gpa, &d->addr);
	guest_read_u32(mem, gpa + 8, &d->len);
	guest_read_u16(mem, gpa + 12, &d->flags);
	guest_read_u16(mem, gpa + 14, &d->next);
}

/*
 * Walk the chain starting at descriptor `head` into *c. A chain is zero or more direct
 * descriptors, optionally ending in one INDIRECT descriptor whose table holds the rest
 * (2.7.5.3.2); a table can only hold direct descriptors.
 */
static int virtq_walk(const struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	uint64_t table = vq->desc; /* the descriptor table being walked */
	uint32_t table_len = vq->num;
	uint32_t i = head, steps = 0;
	bool in_indirect = false;
	struct virtq_desc d;

	c->mem = vq->mem;
	c->head = head;
	c->nseg = 0;
	c->nread = 0;
	c->read_bytes = 0;
	c->write_bytes = 0;
	for (;;) {
		if (i >= table_len)
			return (steps == 0 && !in_indirect) ? -VIRTQ_E_HEAD : -VIRTQ_E_NEXT;
		/* A chain that takes more steps than its table has entries has met itself. */
		if (++steps > table_len)
			return -VIRTQ_E_LOOP;
		/* table + 16 * i stays inside the table, which is inside guest RAM. */
		virtq_read_desc(vq->mem, table + (uint64_t)VIRTQ_DESC_SIZE * i, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return -VIRTQ_E_INDIRECT;
			if (in_indirect)
				return -VIRTQ_E_NESTED;
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return -VIRTQ_E_INDIRECT_NEXT;
			if (d.len == 0 || d.len % VIRTQ_DESC_SIZE != 0)
				return -VIRTQ_E_INDIRECT_LEN;
			if (!guest_ptr(vq->mem, d.addr, d.len))
				return -VIRTQ_E_INDIRECT_RANGE;
			/* The WRITE flag of this descriptor means nothing (2.7.5.3.2). */
			table = d.addr;
			table_len = d.len / VIRTQ_DESC_SIZE;
			i = 0;
			steps = 0;
			in_indirect = true;
			continue;
		}

		/* num <= VIRTQ_SIZE_MAX already; the second test keeps seg[] safe on its own. */
		if (c->nseg == vq->num || c->nseg == VIRTQ_SIZE_MAX)
			return -VIRTQ_E_CHAIN_LEN;
		if (!guest_ptr(vq->mem, d.addr, d.len))
			return -VIRTQ_E_BUF;
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			c->write_bytes += d.len;
		} else {
			if (c->nseg != c->nread)
				return -VIRTQ_E_ORDER;
			c->read_bytes += d.len;
			c->nread++;
		}
		if (c->read_bytes + c->write_bytes > UINT32_MAX)
			return -VIRTQ_E_CHAIN_BYTES;
		c->seg[c->nseg++] = (struct virtq_seg){
			.gpa = d.addr,
			.len = d.len,
			.writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0,
		};

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *chain)
{
	uint16_t pending, head;
	int err;

	if (!vq->ready)
		return 0;
	err = virtq_pending(vq, &pending);
	if (err)
		return err;
	if (pending == 0 && vq->event_idx) {
		/*
		 * Going idle: ask for a notification when the driver fills the next slot
		 * (avail_event, 2.7.10), then look again in case it did so just before
		 * seeing the request. The full barrier orders our write before that read.
		 */
		virtq_store(vq, vq->used + VIRTQ_USED_RING + VIRTQ_USED_ELEM_LEN * vq->num,
			    vq->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		err = virtq_pending(vq, &pending);
		if (err)
			return err;
	}
	if (pending == 0)
		return 0;

	head = virtq_load(
		vq, vq->avail + VIRTQ_AVAIL_RING + 2 * (uint64_t)(vq->last_avail & (vq->num - 1)),
		__ATOMIC_RELAXED);
	err = virtq_walk(vq, head, chain);
	if (err)
		return err;
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint64_t elem = vq->used + VIRTQ_USED_RING +
			VIRTQ_USED_ELEM_LEN * (uint64_t)(vq->used_idx & (vq->num - 1));

	guest_write_u32(vq->mem, elem, head);
	guest_write_u32(vq->mem, elem + 4, len);
	/* A release store: the element is visible before the index that publishes it (2.7.8.2). */
	vq->used_idx++;
	virtq_store(vq, vq->used + VIRTQ_USED_IDX, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled, new = vq->used_idx, event;

	vq->signalled = new;
	if (!vq->ready || old == new)
		return false;
	/* Our used->idx write must be visible before we read what the driver asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(virtq_load(vq, vq->avail, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	/*
	 * Interrupt if used_event is one of the indices we filled since the last decision,
	 * i.e. in [old, new). The 16-bit subtractions handle wrap-around.
	 */
	event = virtq_load(vq, vq->avail + VIRTQ_AVAIL_RING + 2 * (uint64_t)vq->num,
			   __ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

int virtq_chain_each(const struct virtq_chain *chain, bool writable, uint64_t off, uint64_t len,
		     int (*fn)(void *ctx, uint8_t *p, uint32_t n), void *ctx)
{
	uint64_t total = writable ? chain->write_bytes : chain->read_bytes;
	unsigned int first = writable ? chain->nread : 0;
	unsigned int end = writable ? chain->nseg : chain->nread;
	int err;

	if (off > total || len > total - off)
		return -EFAULT;
	for (unsigned int s = first; s < end && len > 0; s++) {
		const struct virtq_seg *seg = &chain->seg[s];
		uint32_t n;
		uint8_t *p;

		if (off >= seg->len) {
			off -= seg->len;
			continue;
		}
		n = seg->len - off < len ? (uint32_t)(seg->len - off) : (uint32_t)len;
		p = guest_ptr(chain->mem, seg->gpa + off, n);
		if (!p)
			return -EFAULT;
		err = fn(ctx, p, n);
		if (err)
			return err;
		off = 0;
		len -= n;
	}
	return 0;
}

static int virtq_copy_out(void *ctx, uint8_t *p, uint32_t n)
{
	uint8_t **dst = ctx;

	memcpy(*dst, p, n);
	*dst += n;
	return 0;
}

static int virtq_copy_in(void *ctx, uint8_t *p, uint32_t n)
{
	const uint8_t **src = ctx;

	memcpy(p, *src, n);
	*src += n;
	return 0;
}

int virtq_chain_read(const struct virtq_chain *chain, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *cursor = dst;

	return virtq_chain_each(chain, false, off, len, virtq_copy_out, &cursor);
}

int virtq_chain_write(const struct virtq_chain *chain, uint64_t off, const void *src, uint64_t len)
{
	const uint8_t *cursor = src;

	return virtq_chain_each(chain, true, off, len, virtq_copy_in, &cursor);
}

const char *virtq_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case VIRTQ_E_SIZE:
		return "queue size is 0, not a power of 2, or above QueueNumMax";
	case VIRTQ_E_ALIGN:
		return "ring area misaligned (descriptors 16, available 2, used 4 bytes)";
	case VIRTQ_E_RING:
		return "ring area outside guest RAM";
	case VIRTQ_E_AVAIL_IDX:
		return "available index more than a queue size ahead";
	case VIRTQ_E_HEAD:
		return "chain head index beyond the queue size";
	case VIRTQ_E_NEXT:
		return "next descriptor index beyond its table";
	case VIRTQ_E_LOOP:
		return "loop in descriptor chain";
	case VIRTQ_E_CHAIN_LEN:
		return "descriptor chain longer than the queue size";
	case VIRTQ_E_CHAIN_BYTES:
		return "descriptor chain longer than 4 GiB";
	case VIRTQ_E_BUF:
		return "buffer outside guest RAM";
	case VIRTQ_E_ORDER:
		return "device-readable buffer after a device-writable one";
	case VIRTQ_E_INDIRECT:
		return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	case VIRTQ_E_INDIRECT_NEXT:
		return "indirect descriptor with the NEXT flag";
	case VIRTQ_E_NESTED:
		return "indirect descriptor inside an indirect table";
	case VIRTQ_E_INDIRECT_LEN:
		return "indirect table length not a non-zero multiple of 16";
	case VIRTQ_E_INDIRECT_RANGE:
		return "indirect table outside guest RAM";
	default:
		return "unknown virtqueue error";
	}
}
