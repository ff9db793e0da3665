/*
 * virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.2, section 4.2 "Virtio Over
 * MMIO"): the register file through which a driver discovers a virtio device, negotiates
 * features, sets up its virtqueues and is told about completed work.
 *
 * A device backend (virtio_blk.c, virtio_console.c, virtio_rng.c) embeds a struct virtio_mmio and
 * describes itself with struct virtio_mmio_ops; the transport does everything that is the same
 * for all virtio devices, the queues' discipline included. The VMM registers it on its MMIO bus as
 *	{ .opaque = &dev, .read = virtio_mmio_read, .write = virtio_mmio_write }
 * and gives it a struct virtio_mmio_host: the device's interrupt line, and where a QueueNotify goes.
 *
 * Stage 09 splits a notification from its work. A QueueNotify only tells the host (notify), which
 * wakes the device's thread; the thread calls virtio_mmio_serve(), a bounded batch at a time. A
 * request's I/O runs without the device lock, so the registers stay answerable meanwhile; a reset
 * cancels it and waits for it (struct virtio_mmio: busy, cancel, generation).
 *
 * Locking: every entry point takes dev->lock; the host's callbacks run with it held, except where
 * said. Only the backend's request() runs without it.
 */
#ifndef VELEIRO_VIRTIO_MMIO_H
#define VELEIRO_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "mmio_bus.h"
#include "virtq.h"

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000 /* MagicValue */
#define VIRTIO_MMIO_VERSION 0x004 /* Version */
#define VIRTIO_MMIO_DEVICE_ID 0x008 /* DeviceID */
#define VIRTIO_MMIO_VENDOR_ID 0x00c /* VendorID */
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010 /* DeviceFeatures */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 /* DeviceFeaturesSel */
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020 /* DriverFeatures */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024 /* DriverFeaturesSel */
#define VIRTIO_MMIO_QUEUE_SEL 0x030 /* QueueSel */
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034 /* QueueNumMax */
#define VIRTIO_MMIO_QUEUE_NUM 0x038 /* QueueNum */
#define VIRTIO_MMIO_QUEUE_READY 0x044 /* QueueReady */
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050 /* QueueNotify */
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060 /* InterruptStatus */
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064 /* InterruptACK */
#define VIRTIO_MMIO_STATUS 0x070 /* Status */
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080 /* QueueDescLow */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084 /* QueueDescHigh */
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090 /* QueueDriverLow */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094 /* QueueDriverHigh */
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0 /* QueueDeviceLow */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4 /* QueueDeviceHigh */
#define VIRTIO_MMIO_SHM_SEL 0x0ac /* SHMSel */
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0 /* SHMLenLow */
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4 /* SHMLenHigh */
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8 /* SHMBaseLow */
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc /* SHMBaseHigh */
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0 /* QueueReset */
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc /* ConfigGeneration */
#define VIRTIO_MMIO_CONFIG 0x100 /* Config: device-specific configuration space */

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" read as a little-endian word (4.2.2) */
#define VIRTIO_MMIO_VERSION_2 2 /* non-legacy virtio-mmio (4.2.2) */
#define VIRTIO_MMIO_VENDOR 0x4f524c56 /* "VLRO": any value is allowed for VendorID */

/* InterruptStatus / InterruptACK bits (4.2.2). */
#define VIRTIO_MMIO_INT_VRING (1u << 0) /* Used Buffer Notification */
#define VIRTIO_MMIO_INT_CONFIG (1u << 1) /* Configuration Change Notification */

/* Device status bits (2.1 "Device Status Field"). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1 /* the guest found the device */
#define VIRTIO_STATUS_DRIVER 2 /* the guest has a driver for it */
#define VIRTIO_STATUS_DRIVER_OK 4 /* the driver is ready: the device is live */
#define VIRTIO_STATUS_FEATURES_OK 8 /* feature negotiation complete */
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64 /* the device hit an error it cannot recover from */
#define VIRTIO_STATUS_FAILED 128 /* the driver gave up on the device */

/* Reserved feature bits (6 "Reserved Feature Bits"). */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28) /* indirect descriptor tables (2.7.5.3) */
#define VIRTIO_F_EVENT_IDX (1ull << 29) /* used_event / avail_event (2.7.7, 2.7.10) */
#define VIRTIO_F_VERSION_1 (1ull << 32) /* this spec, not legacy */

/* What the transport offers on behalf of every device: virtq.c implements all of these. */
#define VIRTIO_MMIO_TRANSPORT_FEATURES \
	(VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)

#define VIRTIO_MMIO_QUEUES_MAX 2 /* the most queues any device here has */

/* What a device backend tells the transport about itself. */
struct virtio_mmio_ops {
	const char *name; /* for messages, e.g. "virtio-blk" */
	uint32_t device_id; /* DeviceID (5 "Device Types") */
	uint64_t features; /* device-specific feature bits it offers */
	unsigned int num_queues; /* <= VIRTIO_MMIO_QUEUES_MAX */
	uint32_t queue_size_max; /* QueueNumMax of every queue, <= VIRTQ_SIZE_MAX */
	/*
	 * Serve one request: a chain the driver made available on `queue`. Runs in the serving
	 * thread without the device lock, so it may only touch the chain's buffers and the
	 * backend's own state; long work checks virtio_mmio_cancelled() now and then. Sets *used to
	 * the bytes it wrote from the start of the chain's writable part (2.7.8.2). Returns NULL, or
	 * why the chain breaks the device's protocol: the device then needs a reset.
	 */
	const char *(*request)(void *backend, unsigned int queue, const struct virtq_chain *chain,
			       uint32_t *used);
	/*
	 * Queues (a bit each) the device does not serve request by request but fills when it has
	 * something to give, as virtio-console's receiveq: a notification of one of these calls
	 * buffers_added(backend, queue) instead, without the device lock.
	 */
	uint32_t input_queues;
	void (*buffers_added)(void *backend, unsigned int queue);
};

/* What the VMM gives a device: its interrupt line, and where its notifications go. */
struct virtio_mmio_host {
	irq_set_fn irq_set; /* irq_set(irq_ctx, level) drives the interrupt line */
	void *irq_ctx;
	/*
	 * The driver notified `queue`, or may have made buffers available before DRIVER_OK (then
	 * every ready queue is notified at DRIVER_OK): someone must call virtio_mmio_serve(). The
	 * device lock is held: wake a thread (an eventfd), do not serve from here.
	 */
	void (*notify)(void *notify_ctx, unsigned int queue);
	void *notify_ctx;
};

struct virtio_mmio {
	const struct virtio_mmio_ops *ops; /* NULL: an empty slot (DeviceID 0) */
	void *backend; /* passed to the ops callbacks */
	const uint8_t *config; /* device configuration space, little-endian */
	uint32_t config_len;
	struct virtio_mmio_host host;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when a request in flight ends */

	uint32_t status; /* Status */
	uint32_t device_features_sel; /* DeviceFeaturesSel */
	uint32_t driver_features_sel; /* DriverFeaturesSel */
	uint64_t driver_features; /* DriverFeatures, words 0 and 1 */
	bool driver_features_extra; /* the driver set a bit in a word above 1 */
	uint32_t queue_sel; /* QueueSel */
	uint32_t interrupt_status; /* InterruptStatus */
	struct virtq queues[VIRTIO_MMIO_QUEUES_MAX];

	/* The request being served without the lock (virtio_mmio_serve()). */
	struct virtq_chain chain;
	bool busy; /* request() is running */
	unsigned int busy_queue; /* for which queue, while busy */
	bool cancel; /* it should stop early (read without the lock: atomics) */
	uint32_t cancel_queues; /* the same, for a request of one of these queues (atomics) */
	unsigned int generation; /* a reset starts a new one; a request of an old one is dropped */

	uint64_t warnings; /* what the guest did wrong, for warn_guest(): shown a few times */
	uint64_t mmio_notifies; /* notifications by MMIO exit: QueueNotify, or DRIVER_OK's */
	uint64_t requests; /* requests served, for --stats */
};

/*
 * Set up a device: `config` (config_len bytes, owned by the backend) is what the driver reads at
 * 0x100 and up; host says where its interrupts and notifications go (irq_set and notify must not
 * be NULL). Dies if ops asks for more queues or a larger queue than supported.
 */
void virtio_mmio_init(struct virtio_mmio *dev, const struct virtio_mmio_ops *ops, void *backend,
		      const void *config, uint32_t config_len, const struct guest_mem *mem,
		      const struct virtio_mmio_host *host);

/* Set up an empty slot: a transport that answers DeviceID 0, so drivers skip it (4.2.2). */
void virtio_mmio_init_empty(struct virtio_mmio *dev);

void virtio_mmio_destroy(struct virtio_mmio *dev);

/* The MMIO bus callbacks; opaque is the struct virtio_mmio. */
uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned int size);
void virtio_mmio_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value);

/*
 * The serving thread, after `queue` was notified: take at most `budget` requests from it and
 * serve them, one at a time, each with the lock released around its request(). Returns true when
 * the budget ran out with requests maybe left: the caller comes back for them (after looking at
 * whether it should stop). Takes the lock itself.
 */
bool virtio_mmio_serve(struct virtio_mmio *dev, unsigned int queue, unsigned int budget);

/*
 * Ask a request in flight to stop early and wait until none is (the machine is stopping). After
 * this the device serves nothing until virtio_mmio_init() again. Takes the lock itself.
 */
void virtio_mmio_cancel(struct virtio_mmio *dev);

/* For backends ------------------------------------------------------------------------ */

/*
 * From request(), without the lock: a reset, a stop, or QueueReady = 0 of its queue wants the
 * request over (stop early).
 */
bool virtio_mmio_cancelled(const struct virtio_mmio *dev);

/* Lock held: DRIVER_OK is set and neither DEVICE_NEEDS_RESET nor FAILED: the queues are live. */
bool virtio_mmio_live(const struct virtio_mmio *dev);

/* Lock held, after virtq_push() on `queue`: interrupt the driver if it asked for it. */
void virtio_mmio_signal_used(struct virtio_mmio *dev, unsigned int queue);

/*
 * The guest broke the protocol in a way the device cannot recover from: log why (with
 * warn_guest(), as every warning the guest causes), set DEVICE_NEEDS_RESET, tell a live driver
 * with a configuration change interrupt (2.1.2), and ignore the queues until the driver resets
 * the device.
 */
__attribute__((format(printf, 2, 3))) void virtio_mmio_fail(struct virtio_mmio *dev,
							    const char *fmt, ...);

#endif
