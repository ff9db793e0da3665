/*
 * virtq.h - the device side of a split virtqueue (virtio 1.2, section 2.7 "Split Virtqueues").
 *
 * A split virtqueue is three areas of guest RAM that the driver allocates and the transport
 * tells us about: the descriptor table (buffers), the available ring (driver -> device: heads
 * of descriptor chains ready for us) and the used ring (device -> driver: chains we finished).
 * Everything in them is written by the guest, so every index, address and length is checked
 * here before a device sees it. A malformed queue gives a negative VIRTQ_E_* code; the
 * transport turns it into DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: the transport serialises all calls with its lock.
 */
#ifndef VELEIRO_VIRTQ_H
#define VELEIRO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

/* Largest queue any device here offers; bounds the segment array of a chain. */
#define VIRTQ_SIZE_MAX 256

/* Descriptor flags (2.7.5 "The Virtqueue Descriptor Table"). */
#define VIRTQ_DESC_F_NEXT 1 /* the chain continues at `next` */
#define VIRTQ_DESC_F_WRITE 2 /* device-writable buffer (otherwise device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4 /* the buffer is a table of descriptors (2.7.5.3) */

/* avail->flags bit (2.7.7 "Used Buffer Notification Suppression"). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Why a queue was refused; virtq functions return these negated. */
enum virtq_error {
	VIRTQ_E_SIZE = 1, /* QueueNum 0, not a power of 2, or above QueueNumMax */
	VIRTQ_E_ALIGN, /* a ring area is misaligned (desc 16, avail 2, used 4) */
	VIRTQ_E_RING, /* a ring area is not inside guest RAM */
	VIRTQ_E_AVAIL_IDX, /* avail->idx is more than a queue size ahead of us */
	VIRTQ_E_HEAD, /* head index from the available ring >= queue size */
	VIRTQ_E_NEXT, /* `next` points outside its descriptor table */
	VIRTQ_E_LOOP, /* the chain visits more descriptors than its table holds */
	VIRTQ_E_CHAIN_LEN, /* more buffers than the queue size (2.7.5.3.1) */
	VIRTQ_E_CHAIN_BYTES, /* more than 2^32 bytes in total (2.7.5.2) */
	VIRTQ_E_BUF, /* a buffer is not inside guest RAM (or addr + len wraps) */
	VIRTQ_E_ORDER, /* a device-readable buffer after a writable one (2.7.4.2) */
	VIRTQ_E_INDIRECT, /* INDIRECT flag but VIRTIO_F_INDIRECT_DESC not negotiated */
	VIRTQ_E_INDIRECT_NEXT, /* INDIRECT together with NEXT */
	VIRTQ_E_NESTED, /* INDIRECT inside an indirect table */
	VIRTQ_E_INDIRECT_LEN, /* indirect table length 0 or not a multiple of 16 */
	VIRTQ_E_INDIRECT_RANGE, /* indirect table not inside guest RAM */
};

/* One guest buffer of a chain; [gpa, gpa + len) is known to be inside guest RAM. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* A validated descriptor chain: readable segments first, then writable ones. */
struct virtq_chain {
	const struct guest_mem *mem;
	uint16_t head; /* descriptor index to hand back in the used ring */
	unsigned int nseg; /* segments in seg[] */
	unsigned int nread; /* of which the first nread are device-readable */
	uint64_t read_bytes; /* total length of the readable segments */
	uint64_t write_bytes; /* total length of the writable segments */
	struct virtq_seg seg[VIRTQ_SIZE_MAX];
};

struct virtq {
	const struct guest_mem *mem;
	uint32_t num_max; /* QueueNumMax offered by the device */
	/* Set by the transport from the Queue* registers while the queue is not ready. */
	uint32_t num; /* QueueNum */
	uint64_t desc; /* QueueDesc: descriptor table */
	uint64_t avail; /* QueueDriver: available ring */
	uint64_t used; /* QueueDevice: used ring */
	bool ready; /* QueueReady, only set by virtq_enable() */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect; /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t last_avail; /* next available ring entry to take */
	uint16_t used_idx; /* our copy of used->idx */
	uint16_t signalled; /* used_idx when we last decided whether to interrupt */
};

/* Bind a queue to guest RAM with the given QueueNumMax (<= VIRTQ_SIZE_MAX) and reset it. */
void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint32_t num_max);

/* Back to the state after device reset: not ready, QueueNum = QueueNumMax, no addresses. */
void virtq_reset(struct virtq *vq);

/*
 * QueueReady = 1: check size, alignment and placement of the three areas, then start taking
 * buffers from index 0. Returns 0 or -VIRTQ_E_SIZE/-VIRTQ_E_ALIGN/-VIRTQ_E_RING.
 */
int virtq_enable(struct virtq *vq, bool event_idx, bool indirect);

/*
 * Take the next available chain: 1 with *chain filled in, 0 when the driver has made nothing
 * new available (or the queue is not ready), or a negative VIRTQ_E_* code. A chain taken must
 * be handed back with virtq_push().
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain);

/* Hand a chain back: used ring entry {head, len} then used->idx (len = bytes we wrote). */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After one or more virtq_push(): whether the driver asked to be interrupted for them
 * (avail->flags, or used_event with VIRTIO_F_EVENT_IDX; 2.7.7).
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Copy between the host and the chain's readable (virtq_chain_read) or writable
 * (virtq_chain_write) bytes, starting `off` bytes into that part. 0, or -EFAULT when the
 * part is shorter than off + len (nothing is copied then).
 */
int virtq_chain_read(const struct virtq_chain *chain, uint64_t off, void *dst, uint64_t len);
int virtq_chain_write(const struct virtq_chain *chain, uint64_t off, const void *src, uint64_t len);

/*
 * Call fn on host views of bytes [off, off + len) of the chain's readable or writable part,
 * one contiguous piece at a time. Stops at the first non-zero return and returns it; returns
 * -EFAULT (before calling fn) when the part is shorter than off + len.
 */
int virtq_chain_each(const struct virtq_chain *chain, bool writable, uint64_t off, uint64_t len,
		     int (*fn)(void *ctx, uint8_t *p, uint32_t n), void *ctx);

/* Text for a VIRTQ_E_* code (positive or negative). */
const char *virtq_strerror(int err);

#endif
