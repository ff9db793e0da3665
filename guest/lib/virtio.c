/*
 * virtio.c - the driver side of virtio over MMIO, transport version 2 (OASIS virtio 1.2):
 * device discovery (4.2.3.1), the initialization sequence (3.1.1) with feature negotiation
 * (2.2), split virtqueues (2.7) and their setup through the MMIO registers (4.2.3.2).
 *
 * Finding devices. virtio-mmio has no discovery protocol of its own (4.2.1): a guest is told
 * where the register windows are, normally by the device tree. These guests have none, and know
 * two layouts: veleiro's 8 slots 0x1000 apart and QEMU virt's 32 transports 0x200 apart, both
 * from 0x0A000000. QEMU answers MagicValue in every transport, even with no device behind it,
 * while on veleiro 0x0A000200 is past the 0x200-byte window of slot 0 and reads as zero; that
 * tells them apart. Guessing wrong would hurt: past QEMU's last transport nothing answers, and
 * a read there is a data abort.
 *
 * Waiting. After QueueNotify the chain may already be back (veleiro serves a request inside
 * the notify exit), or come back later (QEMU reads the disk in the background). So the driver
 * first just looks at the used ring. Only if it has to wait does it ask for an interrupt and
 * sleep in WFI until one arrives: window n raises SPI 16 + n (INTID 48 + n) on both machines,
 * edge-triggered. The rest of the time avail->flags carries VIRTQ_AVAIL_F_NO_INTERRUPT
 * (2.7.7), which spares the device the interrupt and the driver the acknowledging. IRQs stay
 * masked in PSTATE throughout: WFI wakes for a pending interrupt all the same, and the driver
 * then acknowledges it at the device (InterruptACK) and at the GIC itself, with no handler.
 *
 * Sharing memory with the device. The MMU is off, so every data access of the guest is
 * Device-nGnRnE (Arm ARM DDI 0487, "Behavior of caches when the stage 1 translation is
 * disabled"). Three things follow:
 *  - Device memory faults on unaligned accesses: every ring field is naturally aligned, and the
 *    compiler only emits aligned accesses (-mstrict-align).
 *  - The guest's accesses bypass the data caches, while the VMM reads and writes guest RAM
 *    through its own cacheable mapping. Where the host forces guest RAM to be cacheable (KVM
 *    does with FEAT_S2FWB) or has no caches to model (QEMU's TCG), both see the same bytes;
 *    elsewhere the VMM may read stale lines from its cache, or hold newer data there than the
 *    guest reads from memory. virtio_cache_sync() cleans and invalidates the shared bytes to
 *    the Point of Coherency each time they change hands, which is right in every case. For it
 *    to work, no cache line may hold bytes that both sides write: hence VIRTIO_ALIGN.
 *  - Order: with FEAT_S2FWB guest RAM is Normal memory, which the CPU may reorder, and Device
 *    accesses to different peripherals are not ordered either. Barriers go where the spec asks
 *    for "a suitable memory barrier" (2.7.13); virtio_cache_sync() ends with the strongest one.
 */
#include <stdint.h>

#include "cpu.h"
#include "gic.h"
#include "mmio.h"
#include "virtio.h"

/* Where the register windows are (see the top of this file). */
#define VIRTIO_MMIO_BASE 0x0a000000UL
#define VIRTIO_MMIO_VELEIRO_STEP 0x1000UL /* veleiro: slot n at VIRTIO_MMIO_BASE + n * 0x1000 */
#define VIRTIO_MMIO_VELEIRO_NUM 8
#define VIRTIO_MMIO_QEMU_STEP 0x200UL /* QEMU virt: transport n at VIRTIO_MMIO_BASE + n * 0x200 */
#define VIRTIO_MMIO_QEMU_NUM 32
#define VIRTIO_MMIO_INTID 48 /* window n interrupts on SPI 16 + n: INTID 32 + 16 + n */

#define CTR_EL0_DMINLINE_SHIFT 16 /* CTR_EL0 bits [19:16]: log2(words) of the smallest D-line */

uint32_t virtio_read(const struct virtio_dev *dev, unsigned int reg)
{
	return mmio_read32(dev->base + reg);
}

void virtio_write(const struct virtio_dev *dev, unsigned int reg, uint32_t value)
{
	mmio_write32(dev->base + reg, value);
}

/* Add bits to Status: the driver never clears one (2.1.1). */
void virtio_set_status(const struct virtio_dev *dev, uint32_t bits)
{
	virtio_write(dev, VIRTIO_MMIO_STATUS, virtio_read(dev, VIRTIO_MMIO_STATUS) | bits);
}

/* Give up on the device (3.1.1: "the driver SHOULD set the FAILED status bit"). */
static void virtio_fail(const struct virtio_dev *dev)
{
	virtio_set_status(dev, VIRTIO_STATUS_FAILED);
}

/*
 * Hand [addr, addr + len) over between the guest and the VMM (see "Sharing memory" at the top
 * of this file): DC CIVAC writes back any line a host CPU holds dirty and drops every cached
 * copy, so the next read on either side comes from memory. The leading DMB orders the guest's
 * earlier accesses before the maintenance (DC by address is not ordered against Device
 * accesses, Arm ARM "Ordering and completion of data and instruction cache instructions"); the
 * DSB waits until the maintenance, and so everything before it, is complete.
 */
void virtio_cache_sync(const volatile void *addr, uint64_t len)
{
	uint64_t line = 4UL << ((read_sysreg(ctr_el0) >> CTR_EL0_DMINLINE_SHIFT) & 0xf);
	uintptr_t p = (uintptr_t)addr & ~(line - 1);
	uintptr_t end = (uintptr_t)addr + len;

	asm volatile("dmb sy" : : : "memory");
	for (; p < end; p += line)
		asm volatile("dc civac, %0" : : "r"(p) : "memory");
	asm volatile("dsb sy" : : : "memory");
}

/*
 * Find the first device with this DeviceID. 4.2.3.1.1: check MagicValue and Version first;
 * ignore a Version other than 2 (legacy devices, 4.2.4, which QEMU gives unless told
 * -global virtio-mmio.force-legacy=false) and a DeviceID of 0 (an empty slot).
 */
int virtio_find(struct virtio_dev *dev, uint32_t device_id)
{
	uintptr_t step = VIRTIO_MMIO_VELEIRO_STEP;
	unsigned int num = VIRTIO_MMIO_VELEIRO_NUM;
	int err = -VIRTIO_E_NOT_FOUND;

	if (mmio_read32(VIRTIO_MMIO_BASE + VIRTIO_MMIO_QEMU_STEP + VIRTIO_MMIO_MAGIC_VALUE) ==
	    VIRTIO_MMIO_MAGIC) {
		step = VIRTIO_MMIO_QEMU_STEP;
		num = VIRTIO_MMIO_QEMU_NUM;
	}
	for (unsigned int n = 0; n < num; n++) {
		uintptr_t base = VIRTIO_MMIO_BASE + n * step;
		uint32_t version, id;

		if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
			continue;
		version = mmio_read32(base + VIRTIO_MMIO_VERSION);
		id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
		if (id != device_id)
			continue;
		if (version != 2) {
			err = -VIRTIO_E_LEGACY;
			continue;
		}
		dev->base = base;
		dev->intid = VIRTIO_MMIO_INTID + n;
		dev->device_id = id;
		dev->offered = 0;
		dev->features = 0;
		return 0;
	}
	return err;
}

/* DeviceFeatures shows 32 bits at a time, chosen by DeviceFeaturesSel (4.2.2). */
static uint64_t virtio_device_features(const struct virtio_dev *dev)
{
	uint64_t features;

	virtio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)virtio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	virtio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return features | virtio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void virtio_driver_features(const struct virtio_dev *dev, uint64_t features)
{
	virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
}

/*
 * Steps 1-6 of 3.1.1: reset, ACKNOWLEDGE, DRIVER, accept those of the offered features that
 * are also in `wanted` (VIRTIO_F_VERSION_1 always: without it the device speaks the legacy
 * protocol, which this driver does not), FEATURES_OK, and check that the device kept it.
 */
int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted)
{
	/* Writing 0 to Status resets the device; it is done when Status reads 0 (2.4.2). */
	virtio_write(dev, VIRTIO_MMIO_STATUS, 0);
	while (virtio_read(dev, VIRTIO_MMIO_STATUS) != 0)
		;
	virtio_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(dev, VIRTIO_STATUS_DRIVER);

	dev->offered = virtio_device_features(dev);
	if (!(dev->offered & VIRTIO_F_VERSION_1)) {
		virtio_fail(dev);
		return -VIRTIO_E_VERSION_1;
	}
	dev->features = dev->offered & (wanted | VIRTIO_F_VERSION_1);
	virtio_driver_features(dev, dev->features);

	/* The device may refuse the combination: then FEATURES_OK reads back clear (3.1.1). */
	virtio_set_status(dev, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_read(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_fail(dev);
		return -VIRTIO_E_FEATURES;
	}
	return 0;
}

/* A 32-bit field at `offset` in the configuration space (aligned, 4.2.2.2). */
uint32_t virtio_config_read32(const struct virtio_dev *dev, unsigned int offset)
{
	return virtio_read(dev, VIRTIO_MMIO_CONFIG + offset);
}

/*
 * A 64-bit field takes two 32-bit reads (4.2.2.2), and the device may change it in between:
 * ConfigGeneration changes when it does, so read until it stays the same (2.5.1).
 */
uint64_t virtio_config_read64(const struct virtio_dev *dev, unsigned int offset)
{
	uint32_t generation, low, high;

	do {
		generation = virtio_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		low = virtio_config_read32(dev, offset);
		high = virtio_config_read32(dev, offset + 4);
	} while (virtio_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) != generation);
	return (uint64_t)high << 32 | low;
}

/* Tell the device where a ring area is: a 64-bit guest physical address as Low/High halves. */
void virtio_write_addr(const struct virtio_dev *dev, unsigned int low_reg,
		       const volatile void *area)
{
	uint64_t addr = (uintptr_t)area; /* MMU off: the address is the guest physical address */

	virtio_write(dev, low_reg, (uint32_t)addr);
	virtio_write(dev, low_reg + 4, (uint32_t)(addr >> 32));
}

/*
 * Set up queue `index` as 4.2.3.2 describes, with VIRTIO_QUEUE_SIZE descriptors or fewer if the
 * device offers fewer (a split queue's size is a power of 2, 2.7). Done between FEATURES_OK and
 * DRIVER_OK (3.1.1 step 7).
 */
int virtio_queue_init(struct virtio_dev *dev, struct virtio_queue *vq, unsigned int index)
{
	uint32_t num_max;
	unsigned int i;

	virtio_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (virtio_read(dev, VIRTIO_MMIO_QUEUE_READY) != 0) {
		virtio_fail(dev);
		return -VIRTIO_E_QUEUE_IN_USE;
	}
	num_max = virtio_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (num_max == 0) {
		virtio_fail(dev);
		return -VIRTIO_E_QUEUE_MISSING;
	}
	vq->num = VIRTIO_QUEUE_SIZE;
	while (vq->num > num_max)
		vq->num /= 2;
	vq->dev = dev;
	vq->index = index;
	vq->last_used = 0;
	vq->in_flight = 0;
	vq->writable_bytes = 0;

	/* Zero the areas: both rings start at index 0, and used->flags must be 0 (2.7.10). */
	for (i = 0; i < VIRTIO_QUEUE_SIZE; i++) {
		vq->desc[i].addr = 0;
		vq->desc[i].len = 0;
		vq->desc[i].flags = 0;
		vq->desc[i].next = 0;
		vq->avail.ring[i] = 0;
		vq->used.ring[i].id = 0;
		vq->used.ring[i].len = 0;
	}
	vq->avail.idx = 0;
	vq->avail.used_event = 0;
	vq->used.flags = 0;
	vq->used.idx = 0;
	vq->used.avail_event = 0;
	vq->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* until we wait (see the top of this file) */
	virtio_cache_sync(vq->desc, sizeof(vq->desc));
	virtio_cache_sync(&vq->avail, sizeof(vq->avail));
	virtio_cache_sync(&vq->used, sizeof(vq->used));

	virtio_write(dev, VIRTIO_MMIO_QUEUE_NUM, vq->num);
	virtio_write_addr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
	virtio_write_addr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &vq->avail);
	virtio_write_addr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &vq->used);
	virtio_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

/*
 * 3.1.1 step 8: the device is live, and may use the queues and interrupt from now on, so its
 * interrupt is let through the GIC first (gic_init() must have been called).
 */
void virtio_driver_ok(struct virtio_dev *dev)
{
	gic_set_trigger(dev->intid, GIC_EDGE);
	gic_enable_irq(dev->intid);
	virtio_set_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Offer one chain of buffers to the device (2.7.13), readable ones first (2.7.4.2). Only one
 * chain is in flight per queue, so it always starts at descriptor 0; a driver with several in
 * flight keeps a list of free descriptors instead (2.7.13.1).
 */
int virtio_queue_submit(struct virtio_queue *vq, const struct virtio_buf *bufs, unsigned int n)
{
	uint16_t idx = vq->avail.idx;
	unsigned int i;

	if (vq->in_flight)
		return -VIRTIO_E_QUEUE_BUSY;
	if (n == 0 || n > vq->num)
		return -VIRTIO_E_CHAIN;

	/* 2.7.13.1: one descriptor per buffer, each linked to the next. */
	vq->writable_bytes = 0;
	for (i = 0; i < n; i++) {
		int last = i + 1 == n;

		vq->desc[i].addr = (uintptr_t)bufs[i].addr;
		vq->desc[i].len = bufs[i].len;
		vq->desc[i].flags = (bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
				    (last ? 0 : VIRTQ_DESC_F_NEXT);
		vq->desc[i].next = last ? 0 : (uint16_t)(i + 1);
		if (bufs[i].writable)
			vq->writable_bytes += bufs[i].len;
		virtio_cache_sync(bufs[i].addr, bufs[i].len);
	}

	/* 2.7.13.2: the chain's head goes into the next free entry of the available ring. */
	vq->avail.ring[idx % vq->num] = 0;

	/* The barrier of 2.7.13 step 4: the device must see the chain before the new idx. */
	virtio_cache_sync(vq->desc, sizeof(vq->desc));
	virtio_cache_sync(&vq->avail, sizeof(vq->avail));

	/* 2.7.13.3: idx counts up and wraps at 65536; now the device may take the chain. */
	vq->avail.idx = (uint16_t)(idx + 1);
	vq->in_flight = n;

	/*
	 * 2.7.13.4: publish idx before reading used->flags, so we cannot miss a device that
	 * turns notifications back on; then notify unless it asked us not to (2.7.10).
	 */
	virtio_cache_sync(&vq->avail, sizeof(vq->avail));
	virtio_cache_sync(&vq->used, sizeof(vq->used));
	if (!(vq->used.flags & VIRTQ_USED_F_NO_NOTIFY))
		virtio_write(vq->dev, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index); /* 4.2.3.3 */
	return 0;
}

/* Has the device moved used->idx past the entries we have taken? */
static int virtio_queue_used(struct virtio_queue *vq)
{
	virtio_cache_sync(&vq->used, sizeof(vq->used));
	return vq->used.idx != vq->last_used;
}

/*
 * Take back whatever the device signalled (4.2.3.4): read InterruptStatus, write the bits to
 * InterruptACK, which lets the device's line fall so its next event makes a new edge; then
 * acknowledge and end at the GIC every interrupt pending there, so WFI sleeps again.
 */
static void virtio_interrupt_ack(const struct virtio_dev *dev)
{
	uint32_t status = virtio_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
	uint32_t ack;

	if (status)
		virtio_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, status);
	while (gic_intid(ack = gic_ack()) < GIC_INTID_SPURIOUS)
		gic_eoi(ack);
}

/*
 * Sleep until the chain comes back. With avail->flags 0 the device must interrupt when it uses
 * a chain (2.7.7); but it may have used ours before it saw the 0, so look at the used ring
 * after clearing the flag and after each acknowledgement, and sleep only if nothing is there
 * (the note in 2.7.14). A device that needs a reset says so with a configuration change
 * interrupt (2.1.2), so Status is worth reading after each wake-up.
 */
static int virtio_queue_sleep(struct virtio_queue *vq)
{
	int err = 0;

	vq->avail.flags = 0;
	virtio_cache_sync(&vq->avail, sizeof(vq->avail));
	for (;;) {
		virtio_interrupt_ack(vq->dev);
		if (virtio_queue_used(vq))
			break;
		if (virtio_read(vq->dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
			err = -VIRTIO_E_NEEDS_RESET;
			break;
		}
		wfi();
	}
	vq->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtio_cache_sync(&vq->avail, sizeof(vq->avail));
	return err;
}

/*
 * Wait until the device has used the chain in flight (2.7.14) and return in *len how many
 * bytes it wrote into the chain's device-writable buffers (2.7.8). Gives up when the device
 * says it needs a reset (2.1.1: requests in flight may then never complete).
 */
int virtio_queue_wait(struct virtio_queue *vq, uint32_t *len)
{
	struct virtq_used_elem elem;
	unsigned int i;
	int err;

	if (!vq->in_flight)
		return -VIRTIO_E_IDLE;
	if (!virtio_queue_used(vq)) {
		err = virtio_queue_sleep(vq);
		if (err)
			return err;
	}

	/*
	 * The device wrote the entry and the buffers before idx (2.7.8.2); fetch them again now
	 * that idx has moved, so none of them is read from before that moment.
	 */
	virtio_cache_sync(&vq->used, sizeof(vq->used));
	for (i = 0; i < vq->in_flight; i++)
		if (vq->desc[i].flags & VIRTQ_DESC_F_WRITE)
			virtio_cache_sync((const volatile void *)(uintptr_t)vq->desc[i].addr,
					  vq->desc[i].len);

	elem.id = vq->used.ring[vq->last_used % vq->num].id;
	elem.len = vq->used.ring[vq->last_used % vq->num].len;
	vq->last_used++;
	vq->in_flight = 0;

	/* The device is not trusted blindly either: it can only return what we gave it. */
	if (elem.id != 0 || vq->used.idx != vq->last_used || elem.len > vq->writable_bytes)
		return -VIRTIO_E_USED;
	*len = elem.len;
	return 0;
}

const char *virtio_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case VIRTIO_E_NOT_FOUND:
		return "no such virtio-mmio device";
	case VIRTIO_E_LEGACY:
		return "only a legacy (virtio-mmio version 1) device; on QEMU add "
		       "-global virtio-mmio.force-legacy=false";
	case VIRTIO_E_VERSION_1:
		return "the device does not offer VIRTIO_F_VERSION_1";
	case VIRTIO_E_FEATURES:
		return "the device refused our features (FEATURES_OK did not stick)";
	case VIRTIO_E_QUEUE_IN_USE:
		return "the queue is already in use (QueueReady is 1)";
	case VIRTIO_E_QUEUE_MISSING:
		return "the device has no such queue (QueueNumMax is 0)";
	case VIRTIO_E_QUEUE_BUSY:
		return "a chain is already in flight on the queue";
	case VIRTIO_E_CHAIN:
		return "chain of no buffers, or more than the queue holds";
	case VIRTIO_E_IDLE:
		return "no chain in flight to wait for";
	case VIRTIO_E_NEEDS_RESET:
		return "the device needs a reset (DEVICE_NEEDS_RESET)";
	case VIRTIO_E_USED:
		return "the device returned a used entry we did not expect";
	default:
		return "unknown error";
	}
}
