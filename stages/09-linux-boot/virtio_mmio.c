/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.2, section 4.2 "Virtio Over
 * MMIO"), with the device status state machine of 2.1 and feature negotiation of 2.2.
 *
 * The driver brings a device up in a fixed order (3.1.1 "Driver Requirements: Device
 * Initialization"): reset (Status = 0), ACKNOWLEDGE, DRIVER, read DeviceFeatures and write the
 * subset it wants to DriverFeatures, FEATURES_OK (which the device may refuse: the driver
 * reads Status back), set up each queue (QueueSel, QueueNum, the three ring addresses,
 * QueueReady = 1), DRIVER_OK. Only then may the device touch the queues (2.1.2).
 *
 * Every register is 32 bits wide and must be accessed as such (4.2.2.2); the device
 * configuration space at 0x100 allows 8-, 16- and 32-bit accesses to its fields.
 *
 * A QueueNotify is only passed on (host.notify); the work is done by virtio_mmio_serve(), in the
 * device's thread: a bounded batch of requests, each served with the lock released so that the
 * vCPUs can read InterruptStatus or write InterruptACK meanwhile. A reset (Status = 0) must not
 * let a request of the old device write into buffers the driver now uses for something else
 * (2.4): it cancels the request in flight, waits for it, and the request's result is dropped.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "virtio_mmio.h"

/* Status bits a driver may write; DEVICE_NEEDS_RESET belongs to the device. */
#define VIRTIO_MMIO_DRIVER_STATUS \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/* SHMLen/SHMBase of a shared memory region that does not exist read as -1 (4.2.2). */
#define VIRTIO_MMIO_NO_SHM 0xffffffffu

static const char *virtio_mmio_name(const struct virtio_mmio *dev)
{
	return dev->ops ? dev->ops->name : "virtio-mmio (empty slot)";
}

void virtio_mmio_init(struct virtio_mmio *dev, const struct virtio_mmio_ops *ops, void *backend,
		      const void *config, uint32_t config_len, const struct guest_mem *mem,
		      const struct virtio_mmio_host *host)
{
	if (ops->num_queues > VIRTIO_MMIO_QUEUES_MAX || ops->queue_size_max > VIRTQ_SIZE_MAX)
		die("%s: %u queues of %u entries is more than virtio_mmio supports", ops->name,
		    ops->num_queues, ops->queue_size_max);
	*dev = (struct virtio_mmio){
		.ops = ops,
		.backend = backend,
		.config = config,
		.config_len = config_len,
		.host = *host,
	};
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->idle, NULL);
	for (unsigned int q = 0; q < ops->num_queues; q++)
		virtq_init(&dev->queues[q], mem, ops->queue_size_max);
}

void virtio_mmio_init_empty(struct virtio_mmio *dev)
{
	*dev = (struct virtio_mmio){ .ops = NULL };
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->idle, NULL);
}

void virtio_mmio_destroy(struct virtio_mmio *dev)
{
	pthread_cond_destroy(&dev->idle);
	pthread_mutex_destroy(&dev->lock);
}

bool virtio_mmio_live(const struct virtio_mmio *dev)
{
	return (dev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET |
			       VIRTIO_STATUS_FAILED)) == VIRTIO_STATUS_DRIVER_OK;
}

/*
 * Record the event in InterruptStatus and drive the line high. The line is edge-triggered
 * (rising) in the machine's device tree, and KVM makes an edge interrupt pending each time
 * the line is driven to 1, so every event reaches the driver even when it has not yet
 * acknowledged the previous one.
 */
static void virtio_mmio_interrupt(struct virtio_mmio *dev, uint32_t why)
{
	dev->interrupt_status |= why;
	dev->host.irq_set(dev->host.irq_ctx, 1);
}

void virtio_mmio_signal_used(struct virtio_mmio *dev, unsigned int queue)
{
	if (virtq_should_notify(&dev->queues[queue]))
		virtio_mmio_interrupt(dev, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_fail(struct virtio_mmio *dev, const char *fmt, ...)
{
	char reason[192];
	va_list ap;

	if (dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	warn_guest(&dev->warnings, "%s: %s; device needs reset", virtio_mmio_name(dev), reason);
	dev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* 2.1.2: a live driver must be told with a configuration change notification. */
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_interrupt(dev, VIRTIO_MMIO_INT_CONFIG);
}

/*
 * Wait until no request is in flight, asking it to stop early. The lock is released while
 * waiting, so the serving thread can finish; request() checks `cancel` between pieces of work, so
 * this takes one piece's time (virtio_blk.c: 1 MiB of disk I/O), whatever the guest asked for.
 */
static void virtio_mmio_drain(struct virtio_mmio *dev)
{
	__atomic_store_n(&dev->cancel, true, __ATOMIC_RELAXED);
	while (dev->busy)
		pthread_cond_wait(&dev->idle, &dev->lock);
}

bool virtio_mmio_cancelled(const struct virtio_mmio *dev)
{
	/* busy and busy_queue are the serving thread's own: it is the one asking. */
	return __atomic_load_n(&dev->cancel, __ATOMIC_RELAXED) ||
	       (dev->busy &&
		(__atomic_load_n(&dev->cancel_queues, __ATOMIC_RELAXED) >> dev->busy_queue) & 1);
}

/*
 * QueueReady = 0: the same wait, for a request of this queue only. A request of another queue
 * runs on: the cancel is for q's alone, so no other queue's work is cut short or left unserved.
 */
static void virtio_mmio_drain_queue(struct virtio_mmio *dev, unsigned int q)
{
	__atomic_or_fetch(&dev->cancel_queues, 1u << q, __ATOMIC_RELAXED);
	while (dev->busy && dev->busy_queue == q)
		pthread_cond_wait(&dev->idle, &dev->lock);
	__atomic_and_fetch(&dev->cancel_queues, ~(1u << q), __ATOMIC_RELAXED);
}

void virtio_mmio_cancel(struct virtio_mmio *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_mmio_drain(dev);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * Status = 0: back to the state the device had when it was created (2.4, 4.2.2.1). A request in
 * flight belongs to the old device: a new generation makes the serving thread drop its result,
 * and the reset is complete (a Status read gives 0, 4.2.2.1) only once it is over.
 */
static void virtio_mmio_reset(struct virtio_mmio *dev)
{
	debug("%s: reset", virtio_mmio_name(dev));
	dev->generation++;
	virtio_mmio_drain(dev);
	__atomic_store_n(&dev->cancel, false, __ATOMIC_RELAXED);
	dev->status = 0;
	dev->device_features_sel = 0;
	dev->driver_features_sel = 0;
	dev->driver_features = 0;
	dev->driver_features_extra = false;
	dev->queue_sel = 0;
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		virtq_reset(&dev->queues[q]);
	if (dev->interrupt_status) {
		dev->interrupt_status = 0;
		dev->host.irq_set(dev->host.irq_ctx, 0);
	}
}

static uint64_t virtio_mmio_offered(const struct virtio_mmio *dev)
{
	return dev->ops->features | VIRTIO_MMIO_TRANSPORT_FEATURES;
}

/* 2.2.1/2.2.2: the driver may only accept offered features; VERSION_1 is mandatory (6.1). */
static bool virtio_mmio_features_acceptable(struct virtio_mmio *dev)
{
	uint64_t unknown = dev->driver_features & ~virtio_mmio_offered(dev);

	if (unknown || dev->driver_features_extra) {
		warn_guest(&dev->warnings,
			   "%s: driver accepted features the device does not offer (0x%llx%s); "
			   "refusing FEATURES_OK",
			   virtio_mmio_name(dev), (unsigned long long)unknown,
			   dev->driver_features_extra ? ", and bits above 63" : "");
		return false;
	}
	if (!(dev->driver_features & VIRTIO_F_VERSION_1)) {
		warn_guest(&dev->warnings,
			   "%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not "
			   "supported); refusing FEATURES_OK",
			   virtio_mmio_name(dev));
		return false;
	}
	return true;
}

static void virtio_mmio_write_status(struct virtio_mmio *dev, uint32_t val)
{
	uint32_t old = dev->status, next;

	if (val == 0) {
		virtio_mmio_reset(dev);
		return;
	}
	if (val & ~(VIRTIO_MMIO_DRIVER_STATUS | VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		warn_guest(&dev->warnings, "%s: Status 0x%x sets reserved bits; ignoring them",
			   virtio_mmio_name(dev), val);
	next = val & VIRTIO_MMIO_DRIVER_STATUS;
	/* 2.1.1: only a reset clears bits. */
	if (old & VIRTIO_MMIO_DRIVER_STATUS & ~next) {
		warn_guest(&dev->warnings,
			   "%s: Status 0x%x clears bits of 0x%x; ignored (write 0 to reset)",
			   virtio_mmio_name(dev), val, old);
		return;
	}
	/*
	 * Each step of 3.1.1 needs the one before; a step taken too early is not taken. But
	 * DRIVER says that the driver has seen the device, which is all ACKNOWLEDGE says, so
	 * DRIVER alone counts as both: U-Boot acknowledges a device, then resets it when its
	 * driver binds and sets DRIVER alone (virtio-uclass.c), as QEMU lets it.
	 */
	if (next & ~old & VIRTIO_STATUS_DRIVER)
		next |= VIRTIO_STATUS_ACKNOWLEDGE;
	if (next & ~old & VIRTIO_STATUS_FEATURES_OK) {
		if (!(next & VIRTIO_STATUS_DRIVER)) {
			warn_guest(&dev->warnings, "%s: FEATURES_OK set before DRIVER; ignored",
				   virtio_mmio_name(dev));
			next &= ~VIRTIO_STATUS_FEATURES_OK;
		} else if (!virtio_mmio_features_acceptable(dev)) {
			next &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((next & ~old & VIRTIO_STATUS_DRIVER_OK) && !(next & VIRTIO_STATUS_FEATURES_OK)) {
		warn_guest(&dev->warnings, "%s: DRIVER_OK set before FEATURES_OK; ignored",
			   virtio_mmio_name(dev));
		next &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	if (next & ~old & VIRTIO_STATUS_FAILED)
		warn_guest(&dev->warnings, "%s: the driver gave up on the device (FAILED)",
			   virtio_mmio_name(dev));
	dev->status = next | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	/*
	 * The driver may have made buffers available before DRIVER_OK, when we could not
	 * look at them (2.1.2): look now, as if each ready queue had been notified.
	 */
	if ((next & ~old & VIRTIO_STATUS_DRIVER_OK) && virtio_mmio_live(dev)) {
		for (unsigned int q = 0; q < dev->ops->num_queues; q++) {
			if (!dev->queues[q].ready)
				continue;
			dev->mmio_notifies++;
			dev->host.notify(dev->host.notify_ctx, q);
		}
	}
}

static void virtio_mmio_write_driver_features(struct virtio_mmio *dev, uint32_t val)
{
	if (dev->status & VIRTIO_STATUS_FEATURES_OK) {
		warn_guest(&dev->warnings, "%s: DriverFeatures written after FEATURES_OK; ignored",
			   virtio_mmio_name(dev));
		return;
	}
	switch (dev->driver_features_sel) {
	case 0:
		dev->driver_features = (dev->driver_features & ~0xffffffffull) | val;
		break;
	case 1:
		dev->driver_features = (dev->driver_features & 0xffffffffull) | (uint64_t)val << 32;
		break;
	default:
		/* No device here has features above bit 63: any bit set there is refused. */
		if (val)
			dev->driver_features_extra = true;
		break;
	}
}

/* The queue QueueSel points at, or NULL (with a warning) if the device has no such queue. */
static struct virtq *virtio_mmio_selected(struct virtio_mmio *dev, uint64_t off)
{
	if (dev->queue_sel < dev->ops->num_queues)
		return &dev->queues[dev->queue_sel];
	warn_guest(&dev->warnings,
		   "%s: register 0x%03llx accessed for queue %u, which does not exist; ignored",
		   virtio_mmio_name(dev), (unsigned long long)off, dev->queue_sel);
	return NULL;
}

static void virtio_mmio_set_half(uint64_t *addr, bool high, uint32_t val)
{
	if (high)
		*addr = (*addr & 0xffffffffull) | (uint64_t)val << 32;
	else
		*addr = (*addr & ~0xffffffffull) | val;
}

/* QueueNum and the ring addresses: only while the queue is off and before DRIVER_OK. */
static void virtio_mmio_write_queue(struct virtio_mmio *dev, uint64_t off, uint32_t val)
{
	struct virtq *vq = virtio_mmio_selected(dev, off);

	if (!vq)
		return;
	if (vq->ready || (dev->status & VIRTIO_STATUS_DRIVER_OK)) {
		warn_guest(
			&dev->warnings,
			"%s: queue %u register 0x%03llx written while the queue is ready or after "
			"DRIVER_OK; ignored",
			virtio_mmio_name(dev), dev->queue_sel, (unsigned long long)off);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		virtio_mmio_set_half(&vq->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		virtio_mmio_set_half(&vq->avail, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		break;
	default:
		virtio_mmio_set_half(&vq->used, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		break;
	}
}

static void virtio_mmio_write_queue_ready(struct virtio_mmio *dev, uint32_t val)
{
	struct virtq *vq = virtio_mmio_selected(dev, VIRTIO_MMIO_QUEUE_READY);
	int err;

	if (!vq)
		return;
	if (val == 0) {
		/*
		 * The driver stops using the queue; we stop looking at it. It reads QueueReady back
		 * until it sees 0, and may reuse the queue's memory then (4.2.2.2, 4.2.3.1.1): a
		 * request in flight is over before this write returns, and its result dropped.
		 */
		vq->ready = false;
		virtio_mmio_drain_queue(dev, dev->queue_sel);
		return;
	}
	if (val != 1) {
		warn_guest(&dev->warnings,
			   "%s: QueueReady = 0x%x (only 0 and 1 are defined); ignored",
			   virtio_mmio_name(dev), val);
		return;
	}
	if (vq->ready)
		return;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK) {
		warn_guest(&dev->warnings, "%s: queue %u enabled after DRIVER_OK; ignored",
			   virtio_mmio_name(dev), dev->queue_sel);
		return;
	}
	if (!(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		warn_guest(&dev->warnings, "%s: queue %u enabled before FEATURES_OK; ignored",
			   virtio_mmio_name(dev), dev->queue_sel);
		return;
	}
	err = virtq_enable(vq, dev->driver_features & VIRTIO_F_EVENT_IDX,
			   dev->driver_features & VIRTIO_F_INDIRECT_DESC);
	if (err)
		virtio_mmio_fail(dev, "queue %u: %s", dev->queue_sel, virtq_strerror(err));
}

static void virtio_mmio_notify(struct virtio_mmio *dev, uint32_t queue)
{
	if (queue >= dev->ops->num_queues) {
		warn_guest(&dev->warnings,
			   "%s: QueueNotify for queue %u, which does not exist; ignored",
			   virtio_mmio_name(dev), queue);
		return;
	}
	/* What KVM_IOEVENTFD does in the kernel for the queues that exist: pass it on. */
	dev->mmio_notifies++;
	dev->host.notify(dev->host.notify_ctx, queue);
}

/*
 * Whether the driver's notification of `queue` asks for work now. Not live: before DRIVER_OK
 * (looked at then), or after an error (until reset). Lock held.
 */
static bool virtio_mmio_servable(struct virtio_mmio *dev, unsigned int queue)
{
	if (!virtio_mmio_live(dev)) {
		debug("%s: queue %u notified while the device is not live; ignored",
		      virtio_mmio_name(dev), queue);
		return false;
	}
	if (!dev->queues[queue].ready) {
		warn_guest(&dev->warnings, "%s: queue %u notified, but it is not ready; ignored",
			   virtio_mmio_name(dev), queue);
		return false;
	}
	return true;
}

bool virtio_mmio_serve(struct virtio_mmio *dev, unsigned int queue, unsigned int budget)
{
	struct virtq_chain *c = &dev->chain;
	struct virtq *vq;
	unsigned int served;
	bool pushed = false;
	int r = 0;

	pthread_mutex_lock(&dev->lock);
	if (!dev->ops || queue >= dev->ops->num_queues || !virtio_mmio_servable(dev, queue)) {
		pthread_mutex_unlock(&dev->lock);
		return false;
	}
	if (dev->ops->input_queues & (1u << queue)) {
		pthread_mutex_unlock(&dev->lock);
		dev->ops->buffers_added(dev->backend, queue);
		return false;
	}
	vq = &dev->queues[queue];
	for (served = 0; served < budget && !virtio_mmio_cancelled(dev); served++) {
		unsigned int generation = dev->generation;
		const char *broken;
		uint32_t used = 0;

		r = virtq_pop(vq, c);
		if (r <= 0)
			break;
		/* The chain is ours until pushed: the driver cannot take it back (2.7.13). */
		dev->busy = true;
		dev->busy_queue = queue;
		pthread_mutex_unlock(&dev->lock);
		broken = dev->ops->request(dev->backend, queue, c, &used);
		pthread_mutex_lock(&dev->lock);
		dev->busy = false;
		pthread_cond_broadcast(&dev->idle);
		/*
		 * Reset, failed or disabled meanwhile: the chain belongs to no queue any more, and what
		 * was pushed before belongs to the old one (no interrupt for it). Cancelled (the
		 * machine stops): the request was not done, and nobody waits for it.
		 */
		if (dev->generation != generation || !virtio_mmio_live(dev) || !vq->ready ||
		    virtio_mmio_cancelled(dev)) {
			pushed = false;
			break;
		}
		if (broken) {
			virtio_mmio_fail(dev, "queue %u, request (head %u): %s", queue, c->head,
					 broken);
			break;
		}
		virtq_push(vq, c->head, used);
		dev->requests++;
		pushed = true;
	}
	if (r < 0)
		virtio_mmio_fail(dev, "queue %u: %s", queue, virtq_strerror(r));
	/* One interrupt for the batch, if the driver wants one (a failure above gave its own). */
	if (pushed && virtio_mmio_live(dev))
		virtio_mmio_signal_used(dev, queue);
	pthread_mutex_unlock(&dev->lock);
	return served == budget;
}

static void virtio_mmio_interrupt_ack(struct virtio_mmio *dev, uint32_t val)
{
	if (!dev->interrupt_status)
		return;
	dev->interrupt_status &= ~val;
	if (!dev->interrupt_status)
		dev->host.irq_set(dev->host.irq_ctx, 0);
}

static uint32_t virtio_mmio_read_reg(struct virtio_mmio *dev, uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops ? dev->ops->device_id : 0;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	}
	if (!dev->ops) {
		warn_guest(&dev->warnings, "%s: read of register 0x%03llx; returning 0",
			   virtio_mmio_name(dev), (unsigned long long)off);
		return 0;
	}
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel > 1)
			return 0;
		return (uint32_t)(virtio_mmio_offered(dev) >> (32 * dev->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0 means "no such queue" (4.2.2); a queue that does not exist is not ready. */
		return dev->queue_sel < dev->ops->num_queues ? dev->queues[dev->queue_sel].num_max
							     : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return dev->queue_sel < dev->ops->num_queues ? dev->queues[dev->queue_sel].ready
							     : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return VIRTIO_MMIO_NO_SHM;
	case VIRTIO_MMIO_QUEUE_RESET:
		/* VIRTIO_F_RING_RESET is not offered: no queue reset is ever in progress. */
		return 0;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		/* The configuration space never changes after creation. */
		return 0;
	default:
		warn_guest(&dev->warnings,
			   "%s: read of write-only or reserved register 0x%03llx; returning 0",
			   virtio_mmio_name(dev), (unsigned long long)off);
		return 0;
	}
}

static void virtio_mmio_write_reg(struct virtio_mmio *dev, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_mmio_write_driver_features(dev, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		virtio_mmio_write_queue(dev, off, val);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_mmio_write_queue_ready(dev, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_mmio_notify(dev, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		virtio_mmio_interrupt_ack(dev, val);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_mmio_write_status(dev, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		/* Selecting a region is harmless; none exists. */
		break;
	default:
		warn_guest(&dev->warnings,
			   "%s: write of 0x%x to read-only or reserved register 0x%03llx; ignored",
			   virtio_mmio_name(dev), val, (unsigned long long)off);
		break;
	}
}

/* Whether [off, off + size) is a naturally aligned 1/2/4/8-byte field of the config space. */
static bool virtio_mmio_config_access_ok(const struct virtio_mmio *dev, uint64_t off,
					 unsigned int size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return off % size == 0 && off < dev->config_len && size <= dev->config_len - off;
}

uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct virtio_mmio *dev = opaque;
	uint64_t val = 0;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (virtio_mmio_config_access_ok(dev, off, size)) {
			for (unsigned int i = 0; i < size; i++)
				val |= (uint64_t)dev->config[off + i] << (8 * i);
		} else {
			warn_guest(&dev->warnings,
				   "%s: %u-byte read at configuration offset 0x%llx is outside the "
				   "configuration space or misaligned; returning 0",
				   virtio_mmio_name(dev), size, (unsigned long long)off);
		}
	} else if (size != 4 || offset % 4 != 0) {
		warn_guest(&dev->warnings,
			   "%s: %u-byte read at 0x%03llx: registers are 32-bit only; returning 0",
			   virtio_mmio_name(dev), size, (unsigned long long)offset);
	} else {
		val = virtio_mmio_read_reg(dev, offset);
	}
	pthread_mutex_unlock(&dev->lock);
	return val;
}

void virtio_mmio_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value)
{
	struct virtio_mmio *dev = opaque;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG)
		warn_guest(
			&dev->warnings,
			"%s: %u-byte write at configuration offset 0x%llx: the configuration space "
			"is read-only; ignored",
			virtio_mmio_name(dev), size,
			(unsigned long long)(offset - VIRTIO_MMIO_CONFIG));
	else if (size != 4 || offset % 4 != 0)
		warn_guest(&dev->warnings,
			   "%s: %u-byte write at 0x%03llx: registers are 32-bit only; ignored",
			   virtio_mmio_name(dev), size, (unsigned long long)offset);
	else if (!dev->ops)
		warn_guest(&dev->warnings, "%s: write to register 0x%03llx; ignored",
			   virtio_mmio_name(dev), (unsigned long long)offset);
	else
		virtio_mmio_write_reg(dev, offset, (uint32_t)value);
	pthread_mutex_unlock(&dev->lock);
}
