/*
 * virtio.h - the driver side of virtio over MMIO (OASIS virtio 1.2, section 4.2), for the
 * bare-metal guests: find a device, negotiate features, set up split virtqueues (2.7), hand
 * buffers to the device and wait for it to give them back (see virtio.c).
 *
 * A driver goes through the steps of 3.1.1 "Device Initialization" in order:
 *
 *	virtio_find(&dev, DEVICE_ID)		look for MagicValue, Version 2 and the DeviceID
 *	virtio_negotiate(&dev, wanted)		reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK
 *	virtio_config_read32/64(&dev, off)	read what the device offers in its config space
 *	virtio_queue_init(&dev, &vq, n)		set up queue n
 *	virtio_driver_ok(&dev)			DRIVER_OK: the device is live
 *	virtio_queue_submit(&vq, bufs, n)	one descriptor chain to the device (2.7.13)
 *	virtio_queue_wait(&vq, &len)		until the device has used it (2.7.14)
 *
 * A driver that wants more than that (many chains in flight, indirect descriptors, as
 * guest/hostile-blk.c does) builds its own rings with the register-level calls declared last:
 * the registers, Status, ring addresses, and the cache maintenance of shared memory.
 *
 * The device's interrupt goes through the GIC, so call gic_init() before virtio_driver_ok().
 *
 * Each call that can fail returns 0 or a negative VIRTIO_E_* code; virtio_strerror() names it.
 * Structures are little-endian in the spec (le16, le32, le64) and these guests run
 * little-endian, so no byte swapping is needed.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdint.h>

/* Feature bits every device type shares (6 "Reserved Feature Bits"). */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28) /* descriptors pointing at descriptor tables */
#define VIRTIO_F_EVENT_IDX (1ull << 29) /* used_event / avail_event notification hints */
#define VIRTIO_F_VERSION_1 (1ull << 32) /* the device follows virtio 1.x, not legacy */

/* Registers (4.2.2, table "MMIO Device Register Layout"); every one is 32 bits wide. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000 /* MagicValue */
#define VIRTIO_MMIO_VERSION 0x004 /* Version */
#define VIRTIO_MMIO_DEVICE_ID 0x008 /* DeviceID */
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
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc /* ConfigGeneration */
#define VIRTIO_MMIO_CONFIG 0x100 /* device-specific configuration space */

#define VIRTIO_MMIO_MAGIC 0x74726976 /* MagicValue: "virt" as a little-endian word */

/* Device status bits (2.1 "Device Status Field"). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1 /* the guest found the device */
#define VIRTIO_STATUS_DRIVER 2 /* the guest has a driver for it */
#define VIRTIO_STATUS_DRIVER_OK 4 /* the driver is ready: the device is live */
#define VIRTIO_STATUS_FEATURES_OK 8 /* feature negotiation is complete */
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64 /* the device hit an error it cannot recover from */
#define VIRTIO_STATUS_FAILED 128 /* the driver gave up on the device */

/* Ring flags (2.7.5, 2.7.5.3, 2.7.7, 2.7.10). */
#define VIRTQ_DESC_F_NEXT 1 /* virtq_desc.flags: the chain continues at next */
#define VIRTQ_DESC_F_WRITE 2 /* virtq_desc.flags: the device writes this buffer */
#define VIRTQ_DESC_F_INDIRECT 4 /* virtq_desc.flags: the buffer is a table of descriptors */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* virtq_avail.flags: no used buffer notifications */
#define VIRTQ_USED_F_NO_NOTIFY 1 /* virtq_used.flags: no available buffer notifications */

/*
 * Descriptors per queue. The device offers up to QueueNumMax (256 on veleiro, 1024 on QEMU);
 * these drivers keep one request in flight per queue, and a request is at most 3 buffers.
 */
#define VIRTIO_QUEUE_SIZE 8

/*
 * Alignment of every area the device writes, and of the buffers the drivers share with it:
 * no cache line may hold bytes written by both sides (see virtio_cache_sync() in virtio.c).
 * 128 bytes is the largest cache line of arm64 cores in use, and more than the 16, 2 and 4
 * bytes the rings themselves need (2.7).
 */
#define VIRTIO_ALIGN 128

/* Errors, returned negated. */
enum virtio_error {
	VIRTIO_E_NOT_FOUND = 1, /* no virtio-mmio device with that DeviceID */
	VIRTIO_E_LEGACY, /* only a legacy (Version 1) device with that DeviceID */
	VIRTIO_E_VERSION_1, /* the device does not offer VIRTIO_F_VERSION_1 */
	VIRTIO_E_FEATURES, /* the device refused our features: FEATURES_OK did not stick */
	VIRTIO_E_QUEUE_IN_USE, /* QueueReady was already 1 after reset */
	VIRTIO_E_QUEUE_MISSING, /* QueueNumMax is 0: the device has no such queue */
	VIRTIO_E_QUEUE_BUSY, /* a chain is still with the device (one at a time here) */
	VIRTIO_E_CHAIN, /* a chain of 0 buffers, or longer than the queue */
	VIRTIO_E_IDLE, /* waiting on a queue that has no chain in flight */
	VIRTIO_E_NEEDS_RESET, /* the device set DEVICE_NEEDS_RESET */
	VIRTIO_E_USED, /* the device returned a chain we did not give it */
};

/* Split virtqueue layout (2.7.5, 2.7.6, 2.7.8), exactly as the device reads and writes it. */
struct virtq_desc {
	uint64_t addr; /* guest physical address of the buffer */
	uint32_t len; /* its length in bytes */
	uint16_t flags; /* VIRTQ_DESC_F_* */
	uint16_t next; /* index of the next descriptor, if flags has VIRTQ_DESC_F_NEXT */
};

struct virtq_avail {
	uint16_t flags; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	uint16_t idx; /* where the driver puts the next ring entry */
	uint16_t ring[VIRTIO_QUEUE_SIZE]; /* heads of descriptor chains */
	uint16_t used_event; /* only with VIRTIO_F_EVENT_IDX */
};

struct virtq_used_elem {
	uint32_t id; /* head of the chain the device finished */
	uint32_t len; /* bytes the device wrote into its device-writable buffers */
};

struct virtq_used {
	uint16_t flags; /* VIRTQ_USED_F_NO_NOTIFY */
	uint16_t idx; /* where the device puts the next ring entry */
	struct virtq_used_elem ring[VIRTIO_QUEUE_SIZE];
	uint16_t avail_event; /* only with VIRTIO_F_EVENT_IDX */
};

/* One virtio-mmio device. */
struct virtio_dev {
	uintptr_t base; /* its register window */
	unsigned int intid; /* its interrupt at the GIC */
	uint32_t device_id; /* DeviceID (5 "Device Types") */
	uint64_t offered; /* DeviceFeatures: what the device can do */
	uint64_t features; /* what both sides agreed on at FEATURES_OK */
};

/*
 * One split virtqueue: the driver's own bookkeeping, then the three areas the device sees
 * (volatile: the device reads and writes them behind the compiler's back). The used ring comes
 * last, so that with the alignment the lines it is on hold nothing else. Declare the queue
 * static: it stays at one address in guest RAM for the life of the guest.
 */
struct virtio_queue {
	struct virtio_dev *dev;
	unsigned int index; /* queue number, as written to QueueSel and QueueNotify */
	uint16_t num; /* queue size: descriptors, and entries in each ring */
	uint16_t last_used; /* used->idx up to which we have taken entries */
	unsigned int in_flight; /* descriptors of the chain the device has, 0 if none */
	uint32_t writable_bytes; /* total length of that chain's device-writable buffers */
	volatile struct virtq_desc desc[VIRTIO_QUEUE_SIZE] __attribute__((aligned(VIRTIO_ALIGN)));
	volatile struct virtq_avail avail __attribute__((aligned(VIRTIO_ALIGN)));
	volatile struct virtq_used used __attribute__((aligned(VIRTIO_ALIGN)));
};

/* One buffer of a descriptor chain. */
struct virtio_buf {
	void *addr; /* in guest RAM, VIRTIO_ALIGN-aligned if the device writes to it */
	uint32_t len; /* bytes */
	int writable; /* 1: the device writes it (VIRTQ_DESC_F_WRITE); 0: it reads it */
};

int virtio_find(struct virtio_dev *dev, uint32_t device_id);
int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted);
uint32_t virtio_config_read32(const struct virtio_dev *dev, unsigned int offset);
uint64_t virtio_config_read64(const struct virtio_dev *dev, unsigned int offset);
int virtio_queue_init(struct virtio_dev *dev, struct virtio_queue *vq, unsigned int index);
void virtio_driver_ok(struct virtio_dev *dev);
int virtio_queue_submit(struct virtio_queue *vq, const struct virtio_buf *bufs, unsigned int n);
int virtio_queue_wait(struct virtio_queue *vq, uint32_t *len);
const char *virtio_strerror(int err);

uint32_t virtio_read(const struct virtio_dev *dev, unsigned int reg);
void virtio_write(const struct virtio_dev *dev, unsigned int reg, uint32_t value);
void virtio_set_status(const struct virtio_dev *dev, uint32_t bits);
void virtio_write_addr(const struct virtio_dev *dev, unsigned int low_reg,
		       const volatile void *area);
void virtio_cache_sync(const volatile void *addr, uint64_t len);

#endif
