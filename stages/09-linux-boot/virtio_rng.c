/*
 * virtio_rng.c - the entropy device (virtio 1.2, section 5.4 "Entropy Device").
 *
 * The whole device contract in one notification: the driver makes device-writable buffers
 * available in the requestq and notifies; for each, the device writes random bytes from the
 * start of the buffer and hands it back with the count as the used length (5.4.6.2: one or more
 * bytes, and it may use less than the whole buffer). A buffer the device may read is a driver
 * error (5.4.6.1): the device then needs a reset, like any other broken ring.
 *
 * A buffer gets at most VIRTIO_RNG_FILL_MAX bytes; a driver that wants more asks again. How many
 * buffers are filled per wake-up of the device's thread is the transport's bound (virtio_mmio.c).
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

/* One buffer from the requestq (virtio_mmio_ops.request), filled without the device lock. */
static const char *virtio_rng_request(void *backend, unsigned int queue,
				      const struct virtq_chain *c, uint32_t *used)
{
	struct virtio_rng *rng = backend;
	uint32_t len;
	int err;

	if (c->read_bytes)
		return "requestq buffer is device-readable";
	len = c->write_bytes < VIRTIO_RNG_FILL_MAX ? (uint32_t)c->write_bytes : VIRTIO_RNG_FILL_MAX;
	err = virtq_chain_each(c, true, 0, len, virtio_rng_fill, rng);
	if (err) {
		virtio_rng_host_error(rng, err);
		len = 0;
	}
	__atomic_fetch_add(&rng->bytes, len, __ATOMIC_RELAXED);
	*used = len;
	return NULL;
}

static const struct virtio_mmio_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_RNG_DEVICE_ID,
	.features = 0,
	.num_queues = 1,
	.queue_size_max = VIRTIO_RNG_QUEUE_SIZE,
	.request = virtio_rng_request,
};

void virtio_rng_init(struct virtio_rng *rng, const struct guest_mem *mem,
		     const struct virtio_mmio_host *host)
{
	memset(rng, 0, sizeof(*rng));
	virtio_mmio_init(&rng->mmio, &virtio_rng_ops, rng, NULL, 0, mem, host);
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	virtio_mmio_destroy(&rng->mmio);
}
