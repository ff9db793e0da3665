/*
 * virtio_rng.h - an entropy device (virtio 1.2, section 5.4 "Entropy Device"), on the virtio-mmio
 * transport: the smallest virtio device there is. One queue, no feature bits, no configuration
 * space; the driver hands over empty buffers and the device fills them with random bytes, here
 * from the host's getrandom(2). Linux makes it /dev/hwrng and feeds its own pool from it.
 */
#ifndef VELEIRO_VIRTIO_RNG_H
#define VELEIRO_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_RNG_DEVICE_ID 4 /* DeviceID of an entropy source (5.4.1) */
#define VIRTIO_RNG_REQUESTQ 0 /* requestq, its one queue (5.4.2) */
#define VIRTIO_RNG_QUEUE_SIZE 64 /* QueueNumMax */
#define VIRTIO_RNG_FILL_MAX 4096 /* the most bytes put in one buffer; the driver asks again */

struct virtio_rng {
	struct virtio_mmio mmio; /* register this on the MMIO bus */
	uint64_t bytes; /* random bytes given to the guest, for --stats */
	uint64_t host_errors; /* buffers handed back empty because getrandom() failed */
};

/* host is where the device's interrupts and notifications go (virtio_mmio.h). */
void virtio_rng_init(struct virtio_rng *rng, const struct guest_mem *mem,
		     const struct virtio_mmio_host *host);

void virtio_rng_destroy(struct virtio_rng *rng);

#endif
