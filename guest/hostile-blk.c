/*
 * hostile-blk.c - a hostile guest on two vCPUs, run by stage 09 (09-linux-boot): one vCPU keeps
 * the virtio-blk request queue full for ever while the other prints on the PL011. It asks of the
 * VMM that no guest can stall the machine through one device: the printing vCPU must go on, and
 * the machine must stop when told to (SYSTEM_OFF, Ctrl-A x).
 *
 * vCPU 0 boots, starts vCPU 1 with PSCI CPU_ON (guest/lib/smp.h) and waits for it. vCPU 1 drives
 * the first virtio-blk device (`--disk`) with a driver of its own: every descriptor of the queue
 * heads a request, each an indirect descriptor (virtio 1.2, 2.7.5.3) pointing at one shared
 * table: the 16-byte header, HOSTILE_SEGS buffers of HOSTILE_SEG_BYTES that are all the same
 * buffer, and the status byte. Each request reads HOSTILE_REQUEST_BYTES from sector 0. vCPU 1
 * makes them all available and notifies; from then on it makes each request available again
 * the moment the device has used it, and notifies again, so the device never runs out of work.
 * Nothing in that breaks the protocol: each head is in flight once, and a driver may make
 * buffers available whenever it likes (2.7.13); it only asks for a lot. Once the device has used
 * some, vCPU 0 prints "tick 1" up to "tick HOSTILE_TICKS", every character an MMIO exit to the
 * VMM, then reports and powers the machine off with PSCI SYSTEM_OFF while vCPU 1 is still at it.
 *
 * A VMM that serves a notify in the notifying vCPU's thread, holding a lock that every device
 * access needs, serves a whole queue of requests per notify while vCPU 0's next character waits
 * for that lock; one that serves the queue in a thread of its own, outside that lock, keeps
 * vCPU 0 at full speed.
 *
 * The same source, built with HOSTILE_FOREVER defined, is guest/hostile-blk-forever.bin: its
 * vCPU 0 ticks for ever, so only the VMM's user can end it (Ctrl-A x).
 *
 * Output on the PL011, in this order:
 *	hostile: vCPU 0: starting vCPU 1 (PSCI CPU_ON)
 *	hostile: vCPU 1: virtio-blk at 0x<address>, <n> requests of <bytes> bytes each
 *	hostile: vCPU 1: <n> requests served; keeping the queue full from now on
 *	tick 1
 *	...
 *	tick <HOSTILE_TICKS>		(hostile-blk-forever.bin goes on counting)
 *	hostile: <HOSTILE_TICKS> ticks; vCPU 1's requests served: <a> before them, <b> after
 * Anything going wrong prints one line starting "hostile: error: " and powers off: no vCPU 1
 * (`--cpus 1`), no virtio-blk device, a disk smaller than one request, a device that sets
 * DEVICE_NEEDS_RESET or returns a request it was not given.
 */
#include <stdint.h>

#include "printf.h"
#include "psci.h"
#include "smp.h"
#include "timer.h"
#include "uart.h"
#include "virtio.h"

#ifdef HOSTILE_FOREVER
#define HOSTILE_FOREVER_TICKS 1
#else
#define HOSTILE_FOREVER_TICKS 0
#endif

#define HOSTILE_TICKS 300 /* lines vCPU 0 prints before it powers off */

#define VIRTIO_BLK_DEVICE_ID 2 /* DeviceID of a block device (5.2.1) */
#define VIRTIO_BLK_CFG_CAPACITY 0 /* le64 capacity, in 512-byte sectors (5.2.4) */
#define VIRTIO_BLK_T_IN 0 /* request type: read sectors (5.2.6) */
#define VIRTIO_BLK_SECTOR 512

/* Requests in flight: the most the device offers up to this (veleiro offers 256). */
#define HOSTILE_QUEUE_SIZE 256
/* Each request: HOSTILE_SEGS buffers of HOSTILE_SEG_BYTES, 1 MiB in all, read from sector 0. */
#define HOSTILE_SEGS 16
#define HOSTILE_SEG_BYTES (64 * 1024)
#define HOSTILE_REQUEST_BYTES ((uint64_t)HOSTILE_SEGS * HOSTILE_SEG_BYTES)

#define HOSTILE_START_SECONDS 60 /* how long vCPU 0 waits for vCPU 1's first requests back */
#define HOSTILE_CHECK_MS 100 /* vCPU 1 reads Status after this long without a used request */
#define PSCI_INVALID_PARAMETERS (-2) /* CPU_ON of a CPU that does not exist (PSCI 5.6.2) */

/* vCPU 1's queue: the three areas of a split virtqueue (2.7) with HOSTILE_QUEUE_SIZE entries. */
static volatile struct virtq_desc hostile_desc[HOSTILE_QUEUE_SIZE]
	__attribute__((aligned(VIRTIO_ALIGN)));
static volatile struct {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[HOSTILE_QUEUE_SIZE];
	uint16_t used_event;
} hostile_avail __attribute__((aligned(VIRTIO_ALIGN)));
static volatile struct {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[HOSTILE_QUEUE_SIZE];
	uint16_t avail_event;
} hostile_used __attribute__((aligned(VIRTIO_ALIGN)));

/* The indirect table every request points at: header, HOSTILE_SEGS data buffers, status. */
static volatile struct virtq_desc hostile_table[HOSTILE_SEGS + 2]
	__attribute__((aligned(VIRTIO_ALIGN)));
static struct {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} hostile_header __attribute__((aligned(VIRTIO_ALIGN)));
static uint8_t hostile_data[HOSTILE_SEG_BYTES] __attribute__((aligned(VIRTIO_ALIGN)));
static uint8_t hostile_status __attribute__((aligned(VIRTIO_ALIGN)));

static struct virtio_dev hostile_blk;
static uint16_t hostile_num; /* the queue size used: HOSTILE_QUEUE_SIZE or what the device takes */

/*
 * What vCPU 1 tells vCPU 0, one writer each (see smp.h): requests the device has used so far,
 * and whether the hammering has begun (set after the count it reports).
 */
static volatile uint64_t hostile_served;
static volatile uint32_t hostile_started;

static uint8_t hostile_stack[16384] __attribute__((aligned(16)));

/* Order this CPU's earlier stores to shared memory before its later ones, for the other CPU. */
static void hostile_barrier(void)
{
	asm volatile("dmb sy" : : : "memory");
}

static void hostile_fail(const char *what, const char *why)
{
	printf("hostile: error: %s: %s\n", what, why);
	psci_system_off();
}

static uint64_t hostile_ms(uint64_t ms)
{
	return timer_freq() * ms / 1000;
}

/* Give up if the device has flagged an error it cannot recover from (2.1.2). */
static void hostile_check_device(void)
{
	if (virtio_read(&hostile_blk, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		hostile_fail("vCPU 1", "the device needs a reset (DEVICE_NEEDS_RESET)");
}

/* Find the disk, negotiate indirect descriptors (3.1.1 steps 1-6), check its size. */
static void hostile_find_disk(void)
{
	uint64_t sectors;
	int err;

	err = virtio_find(&hostile_blk, VIRTIO_BLK_DEVICE_ID);
	if (!err)
		err = virtio_negotiate(&hostile_blk, VIRTIO_F_INDIRECT_DESC);
	if (err)
		hostile_fail("vCPU 1: virtio-blk (give a --disk)", virtio_strerror(err));
	if (!(hostile_blk.features & VIRTIO_F_INDIRECT_DESC))
		hostile_fail("vCPU 1", "the device does not offer VIRTIO_F_INDIRECT_DESC");
	sectors = virtio_config_read64(&hostile_blk, VIRTIO_BLK_CFG_CAPACITY);
	if (sectors < HOSTILE_REQUEST_BYTES / VIRTIO_BLK_SECTOR)
		hostile_fail("vCPU 1", "the disk is smaller than one request (1 MiB)");
}

static void hostile_desc_set(volatile struct virtq_desc *d, const volatile void *addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	d->addr = (uintptr_t)addr; /* MMU off: the address is the guest physical address */
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/*
 * Fill the rings: descriptor i is request i, an indirect descriptor for the shared table; the
 * available ring already holds every one of them, published when the queue goes live.
 */
static void hostile_fill_rings(void)
{
	unsigned int i;

	hostile_header.type = VIRTIO_BLK_T_IN;
	hostile_header.reserved = 0;
	hostile_header.sector = 0;
	hostile_desc_set(&hostile_table[0], &hostile_header, sizeof(hostile_header),
			 VIRTQ_DESC_F_NEXT, 1);
	for (i = 1; i <= HOSTILE_SEGS; i++)
		hostile_desc_set(&hostile_table[i], hostile_data, HOSTILE_SEG_BYTES,
				 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	hostile_desc_set(&hostile_table[i], &hostile_status, 1, VIRTQ_DESC_F_WRITE, 0);

	for (i = 0; i < hostile_num; i++) {
		hostile_desc_set(&hostile_desc[i], hostile_table, sizeof(hostile_table),
				 VIRTQ_DESC_F_INDIRECT, 0);
		hostile_avail.ring[i] = (uint16_t)i;
	}
	/* No used buffer notifications (2.7.7): vCPU 1 looks at the used ring instead. */
	hostile_avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	hostile_avail.idx = 0;
	hostile_used.flags = 0;
	hostile_used.idx = 0;
	virtio_cache_sync(&hostile_header, sizeof(hostile_header));
	virtio_cache_sync(hostile_table, sizeof(hostile_table));
	virtio_cache_sync(hostile_desc, sizeof(hostile_desc));
	virtio_cache_sync(&hostile_avail, sizeof(hostile_avail));
	virtio_cache_sync(&hostile_used, sizeof(hostile_used));
}

/* Queue 0 as 4.2.3.2 sets it up, then DRIVER_OK (3.1.1 steps 7-8). */
static void hostile_start_queue(void)
{
	uint32_t num_max;

	virtio_write(&hostile_blk, VIRTIO_MMIO_QUEUE_SEL, 0);
	num_max = virtio_read(&hostile_blk, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (num_max < HOSTILE_SEGS + 2)
		hostile_fail("vCPU 1", "the request queue is too small for one request");
	hostile_num = HOSTILE_QUEUE_SIZE;
	while (hostile_num > num_max)
		hostile_num /= 2;
	hostile_fill_rings();

	virtio_write(&hostile_blk, VIRTIO_MMIO_QUEUE_NUM, hostile_num);
	virtio_write_addr(&hostile_blk, VIRTIO_MMIO_QUEUE_DESC_LOW, hostile_desc);
	virtio_write_addr(&hostile_blk, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &hostile_avail);
	virtio_write_addr(&hostile_blk, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &hostile_used);
	virtio_write(&hostile_blk, VIRTIO_MMIO_QUEUE_READY, 1);
	/* No GIC set-up: with IRQs masked and nobody waiting in WFI, its interrupt is not needed. */
	virtio_set_status(&hostile_blk, VIRTIO_STATUS_DRIVER_OK);
	hostile_check_device();
}

/*
 * Make the requests the device has used available again (2.7.13): each used entry names its
 * head, which goes back into the available ring; then the new idx, then a notify (4.2.3.3).
 * Returns how many were used.
 */
static unsigned int hostile_repost(uint16_t *last_used)
{
	uint16_t used_idx, avail_idx = hostile_avail.idx;
	unsigned int n = 0;

	virtio_cache_sync(&hostile_used, sizeof(hostile_used));
	used_idx = hostile_used.idx;
	if (used_idx == *last_used)
		return 0;
	/* The device wrote the entries before idx (2.7.8.2): fetch them again now that it moved. */
	virtio_cache_sync(&hostile_used, sizeof(hostile_used));
	for (; *last_used != used_idx; (*last_used)++, n++) {
		uint32_t head = hostile_used.ring[*last_used % hostile_num].id;

		if (head >= hostile_num)
			hostile_fail("vCPU 1", "the device returned a request it was not given");
		hostile_avail.ring[avail_idx++ % hostile_num] = (uint16_t)head;
	}
	/* The ring entries before the idx that publishes them (2.7.13 step 4). */
	virtio_cache_sync(&hostile_avail, sizeof(hostile_avail));
	hostile_avail.idx = avail_idx;
	virtio_cache_sync(&hostile_avail, sizeof(hostile_avail));
	virtio_write(&hostile_blk, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return n;
}

/* vCPU 1: set the disk up, fill its queue, and keep it full for ever. */
static void hostile_hammer(void)
{
	uint64_t served = 0, quiet_since;
	uint16_t last_used = 0;
	unsigned int n;

	hostile_find_disk();
	hostile_start_queue();
	printf("hostile: vCPU 1: virtio-blk at 0x%lx, %u requests of %lu bytes each\n",
	       (unsigned long)hostile_blk.base, hostile_num, (unsigned long)HOSTILE_REQUEST_BYTES);

	/* Every request available at once, then the first notify. */
	virtio_cache_sync(&hostile_avail, sizeof(hostile_avail));
	hostile_avail.idx = hostile_num;
	virtio_cache_sync(&hostile_avail, sizeof(hostile_avail));
	virtio_write(&hostile_blk, VIRTIO_MMIO_QUEUE_NOTIFY, 0);

	quiet_since = timer_count();
	for (;;) {
		n = hostile_repost(&last_used);
		if (n) {
			served += n;
			hostile_served = served;
			quiet_since = timer_count();
			if (!hostile_started) {
				printf("hostile: vCPU 1: %lu requests served; keeping the queue full "
				       "from now on\n",
				       (unsigned long)served);
				hostile_barrier();
				hostile_started = 1;
			}
		} else if (timer_count() - quiet_since > hostile_ms(HOSTILE_CHECK_MS)) {
			hostile_check_device();
			quiet_since = timer_count();
		}
	}
}

static const struct smp_cpu hostile_cpu1 = {
	.stack_top = hostile_stack + sizeof(hostile_stack),
	.fn = hostile_hammer,
};

/* vCPU 0: start vCPU 1, wait until it hammers, then tick. */
int main(void)
{
	uint64_t start, before;
	unsigned int tick;
	int64_t err;

	uart_init();
	printf("hostile: vCPU 0: starting vCPU 1 (PSCI CPU_ON)\n");
	err = smp_start(1, &hostile_cpu1);
	if (err) {
		printf("hostile: error: CPU_ON of vCPU 1: PSCI status %ld%s\n", (long)err,
		       err == PSCI_INVALID_PARAMETERS ? " (no vCPU 1: give --cpus 2)" : "");
		return 0;
	}

	start = timer_count();
	while (!hostile_started) {
		if (timer_count() - start > hostile_ms(HOSTILE_START_SECONDS * 1000)) {
			printf("hostile: error: vCPU 1 had no request served in %u s\n",
			       HOSTILE_START_SECONDS);
			return 0;
		}
	}
	hostile_barrier();
	before = hostile_served;

	for (tick = 1; HOSTILE_FOREVER_TICKS || tick <= HOSTILE_TICKS; tick++)
		printf("tick %u\n", tick);
	printf("hostile: %u ticks; vCPU 1's requests served: %lu before them, %lu after\n",
	       HOSTILE_TICKS, (unsigned long)before, (unsigned long)hostile_served);
	return 0;
}
