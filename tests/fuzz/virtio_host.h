/*
 * virtio_host.h - the host side of a fuzzed virtio device (struct virtio_mmio_host), as stage 09
 * wires it but without threads: a notification is remembered, and fuzz_serve() then does what the
 * device's thread would, in batches of the size the input chose (so the "come back for more"
 * path is fuzzed too). The interrupt line's level is kept for the harness to check.
 */
#ifndef VELEIRO_FUZZ_VIRTIO_HOST_H
#define VELEIRO_FUZZ_VIRTIO_HOST_H

#include "virtio_mmio.h"

struct fuzz_host {
	unsigned int pending; /* queues notified and not served yet, a bit each */
	int line; /* the interrupt line's level */
	unsigned int batch; /* requests per virtio_mmio_serve(), at least 1 */
};

static void fuzz_notified(void *ctx, unsigned int queue)
{
	((struct fuzz_host *)ctx)->pending |= 1u << queue;
}

static void fuzz_line(void *ctx, int level)
{
	((struct fuzz_host *)ctx)->line = level;
}

/* A device's host side, told to serve `batch` requests at a time (0 counts as 1). */
static struct virtio_mmio_host fuzz_host_init(struct fuzz_host *h, unsigned int batch)
{
	*h = (struct fuzz_host){ .batch = batch ? batch : 1 };
	return (struct virtio_mmio_host){
		.irq_set = fuzz_line, .irq_ctx = h, .notify = fuzz_notified, .notify_ctx = h
	};
}

/* Everything notified so far, served as the device's thread would. */
static void fuzz_serve(struct virtio_mmio *dev, struct fuzz_host *h)
{
	while (h->pending) {
		unsigned int q = (unsigned int)__builtin_ctz(h->pending);

		h->pending &= ~(1u << q);
		while (virtio_mmio_serve(dev, q, h->batch))
			;
	}
}

#endif
