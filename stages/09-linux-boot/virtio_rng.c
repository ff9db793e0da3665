/*
 * virtio_rng.c - the entropy device (virtio 1.2, section 5.4 "Entropy Device").
 *
 * The whole device contract in one notification: the driver makes device-writable buffers
 * available in the requestq and notifies; for each, the device writes random bytes from the
 * start of the buffer and hands it back with the count as the used length (5.4.6.2: one or more
 * bytes, and it may use less than the whole buffer). A buffer the device may read is a driver
 * error (5.4.6.1): the device then needs a reset, like any other broken ring.
 *
 * Work per notification is bounded: at most one queue's worth of buffers, VIRTIO_RNG_FILL_MAX
 * bytes each. A driver that wants more makes buffers available again.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "virtio_rng.h"

/* Fill one contiguous piece of a guest buffer; ctx is the struct virtio_rng. */
static int virtio_rng_fill(void *ctx, uint8_t *p, uint32_t n)
{
	while (n > 0) {
		/* No flags: /dev/urandom's pool, which only blocks before the host's is ready. */
		ssize_t r = getrandom(p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (uint32_t)r;
	}
	return 0;
}

/*
 * The guest asks for entropy again and again, so a host failure is counted (in rng->host_errors)
 * and shown only the first few times, like a guest's mistake.
 */
static void virtio_rng_host_error(struct virtio_rng *rng, int err)
{
	warn_guest(&rng->host_errors,
		   "virtio-rng: getrandom() failed: %s; buffer handed back empty", strerror(-err));
}

static void virtio_rng_notify(void *backend, unsigned int queue)
{
	struct virtio_rng *rng = backend;
	struct virtq *vq = &rng->mmio.queues[VIRTIO_RNG_REQUESTQ];
	struct virtq_chain *c = &rng->chain;
	int r = 0;

	for (unsigned int served = 0; served < VIRTIO_RNG_QUEUE_SIZE; served++) {
		uint32_t len;
		int err;

		r = virtq_pop(vq, c);
		if (r <= 0)
			break;
		if (c->read_bytes) {
			virtio_mmio_fail(&rng->mmio, "requestq buffer (head %u) is device-readable",
					 c->head);
			r = 0;
			break;
		}
		len = c->write_bytes < VIRTIO_RNG_FILL_MAX ? (uint32_t)c->write_bytes
							   : VIRTIO_RNG_FILL_MAX;
		err = virtq_chain_each(c, true, 0, len, virtio_rng_fill, rng);
		if (err) {
			virtio_rng_host_error(rng, err);
			len = 0;
		}
		rng->bytes += len;
		virtq_push(vq, c->head, len);
	}
	if (r < 0)
		virtio_mmio_fail(&rng->mmio, "requestq: %s", virtq_strerror(r));
	virtio_mmio_signal_used(&rng->mmio, VIRTIO_RNG_REQUESTQ);
}

static const struct virtio_mmio_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_RNG_DEVICE_ID,
	.features = 0,
	.num_queues = 1,
	.queue_size_max = VIRTIO_RNG_QUEUE_SIZE,
	.queue_notify = virtio_rng_notify,
};

void virtio_rng_init(struct virtio_rng *rng, const struct guest_mem *mem, irq_set_fn irq_set,
		     void *irq_ctx)
{
	memset(rng, 0, sizeof(*rng));
	virtio_mmio_init(&rng->mmio, &virtio_rng_ops, rng, NULL, 0, mem, irq_set, irq_ctx);
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	virtio_mmio_destroy(&rng->mmio);
}
