/*
 * fuzz_machine.c - libFuzzer target for the devices of the last stage as a guest reaches them:
 * through the MMIO bus, with the PL011, a virtio-blk, a virtio-console and an empty virtio slot
 * on it. The input is a little program of guest actions: register accesses of any size, whole
 * driver set-ups (3.1.1) with the fuzzer's features and queue sizes, notifies, resets, chains
 * made available, interrupt acknowledgements, writes to guest RAM between them, and input typed
 * at either console. Sanitizers are the oracle, plus invariants checked after every action:
 *  - a virtio device not in NEEDS_RESET has handed back every chain it took (used == taken);
 *  - a virtio interrupt line is high exactly while InterruptStatus is not 0 (4.2.2);
 *  - the PL011 only reports its interrupt line when the level changes, and its receive FIFO
 *    never holds more than it can.
 *
 * Guest RAM starts as a built-in image in which every queue is laid out and holds good
 * buffers (four virtio-blk requests, four receive buffers, two transmit buffers), XORed with
 * the input's bytes after the program, so that mutations start from a working machine.
 *
 * Input layout (little-endian; missing bytes read as 0):
 *   0   u8   flags: bit 0 read-only disk; bits 1-3 requests served per batch of the devices'
 *            "threads" (0 counting as 1)
 *   1   u8   number of actions (% (ACTIONS_MAX + 1))
 *   2   ACTIONS_MAX x 8 bytes: u8 kind, u8 arg, u16 offset, u32 value (see act())
 *   2 + 8 * ACTIONS_MAX: guest RAM, XORed into the built-in image from its first byte
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "memmap.h" /* the machine's layout: the UART, the virtio slots 4 KiB apart */
#include "mmio_bus.h"
#include "pl011.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_host.h"

#define RAM_GPA 0x10000ull
#define RAM_SIZE 0x10000
#define DISK_SECTORS 64
#define ACTIONS_MAX 32
#define ACTION_LEN 8
#define RAM_INPUT (2 + ACTIONS_MAX * ACTION_LEN)

#include "fuzz_input.h" /* needs RAM_GPA */

/* Queue areas in the RAM image (offsets): descriptors, avail ring +0x100, used ring +0x200. */
#define IMG_BLK_Q 0x0000
#define IMG_CON_RX_Q 0x1000
#define IMG_CON_TX_Q 0x2000
#define IMG_CON_BUFS 0x3000 /* 64 bytes per receive buffer, then transmit text at +0x800 */
#define IMG_HEADERS 0x4000 /* virtio-blk: 16 bytes per request */
#define IMG_STATUS 0x4100 /* 1 byte per request */
#define IMG_TABLE 0x4200 /* indirect table */
#define IMG_DATA 0x4800
#define IMG_QUEUE_NUM 16

/* The log functions are tests/fuzz/quiet_log.c's: silent, and abort() for die(). */

static uint8_t image[RAM_SIZE];
static uint8_t *ram_host;
static struct guest_mem ram;
static int disk_fd = -1, out_fd = -1;
static FILE *trace;

static struct mmio_bus bus;
static struct pl011 uart;
static struct virtio_blk blk;
static struct virtio_console con;
static struct virtio_mmio empty;

/* The virtio devices as the fuzzer's driver sees them. */
struct drv {
	struct virtio_mmio *mmio;
	uint64_t base; /* MMIO window */
	uint64_t area[VIRTIO_MMIO_QUEUES_MAX]; /* queue areas in RAM (GPAs) */
	uint32_t num[VIRTIO_MMIO_QUEUES_MAX]; /* QueueNum the driver set */
	struct fuzz_host host; /* its interrupt line, what it was notified of */
};
static struct drv drvs[3];
static int uart_line;

/* Make the chains with these heads available in the queue at `area` (avail ring at +0x100). */
static void image_avail(uint64_t area, const uint16_t *heads, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		put_le(image, area + 0x100 + 4 + 2 * i, heads[i], 2);
	put_le(image, area + 0x100 + 2, n, 2);
}

static void image_build(void)
{
	const uint16_t next = VIRTQ_DESC_F_NEXT, wr = VIRTQ_DESC_F_WRITE;
	static const uint16_t blk_heads[] = { 0, 3, 7, 8 }, rx_heads[] = { 0, 1, 2, 3 },
			      tx_heads[] = { 0, 1 };

	/* virtio-blk: read sectors 0-1; write sector 2 in two pieces; GET_ID (indirect); flush. */
	put_le(image, IMG_HEADERS, VIRTIO_BLK_T_IN, 4);
	image_desc(image, IMG_BLK_Q, 0, IMG_HEADERS, 16, next, 1);
	image_desc(image, IMG_BLK_Q, 1, IMG_DATA, 1024, next | wr, 2);
	image_desc(image, IMG_BLK_Q, 2, IMG_STATUS, 1, wr, 0);
	put_le(image, IMG_HEADERS + 16, VIRTIO_BLK_T_OUT, 4);
	put_le(image, IMG_HEADERS + 16 + 8, 2, 8);
	image_desc(image, IMG_BLK_Q, 3, IMG_HEADERS + 16, 16, next, 4);
	image_desc(image, IMG_BLK_Q, 4, IMG_DATA + 0x400, 256, next, 5);
	image_desc(image, IMG_BLK_Q, 5, IMG_DATA + 0x600, 256, next, 6);
	image_desc(image, IMG_BLK_Q, 6, IMG_STATUS + 1, 1, wr, 0);
	put_le(image, IMG_HEADERS + 32, VIRTIO_BLK_T_GET_ID, 4);
	image_desc(image, IMG_BLK_Q, 7, IMG_TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	image_desc(image, IMG_TABLE, 0, IMG_HEADERS + 32, 16, next, 1);
	image_desc(image, IMG_TABLE, 1, IMG_DATA + 0x800, 32, next | wr, 2);
	image_desc(image, IMG_TABLE, 2, IMG_STATUS + 2, 1, wr, 0);
	put_le(image, IMG_HEADERS + 48, VIRTIO_BLK_T_FLUSH, 4);
	image_desc(image, IMG_BLK_Q, 8, IMG_HEADERS + 48, 16, next, 9);
	image_desc(image, IMG_BLK_Q, 9, IMG_STATUS + 3, 1, wr, 0);
	image_avail(IMG_BLK_Q, blk_heads, 4);

	/* virtio-console: four 64-byte receive buffers; "hello, " and "world\n" to transmit. */
	for (unsigned int i = 0; i < 4; i++)
		image_desc(image, IMG_CON_RX_Q, i, IMG_CON_BUFS + 64 * i, 64, wr, 0);
	image_avail(IMG_CON_RX_Q, rx_heads, 4);
	memcpy(image + IMG_CON_BUFS + 0x800, "hello, world\n", 13);
	image_desc(image, IMG_CON_TX_Q, 0, IMG_CON_BUFS + 0x800, 7, 0, 0);
	image_desc(image, IMG_CON_TX_Q, 1, IMG_CON_BUFS + 0x807, 3, next, 2);
	image_desc(image, IMG_CON_TX_Q, 2, IMG_CON_BUFS + 0x80a, 3, 0, 0);
	image_avail(IMG_CON_TX_Q, tx_heads, 2);
}

static void uart_tx(void *ctx, uint8_t byte)
{
}

/* The host interface promises a call only when the level changes. */
static void uart_irq(void *ctx, int level)
{
	if (level == uart_line)
		abort();
	uart_line = level;
}

static void rx_ready(void *ctx)
{
}

static void setup(void)
{
	ram_host = malloc(RAM_SIZE);
	disk_fd = memfd_create("fuzz-disk", 0);
	out_fd = open("/dev/null", O_WRONLY);
	trace = fopen("/dev/null", "w"); /* --trace formats every access: fuzz that too */
	if (!ram_host || disk_fd < 0 || out_fd < 0 || !trace)
		abort();
	ram = (struct guest_mem){ .gpa = RAM_GPA, .size = RAM_SIZE, .host = ram_host };
	image_build();
}

static void bus_add(const char *name, uint64_t base, uint64_t size, void *opaque,
		    uint64_t (*rd)(void *, uint64_t, unsigned int),
		    void (*wr)(void *, uint64_t, unsigned int, uint64_t))
{
	struct mmio_device d = {
		.name = name, .base = base, .size = size, .opaque = opaque, .read = rd, .write = wr
	};

	if (mmio_bus_add(&bus, &d))
		abort();
}

/* A fresh machine: devices reset, RAM from the image and the input, an empty disk. */
static void machine_build(const uint8_t *data, size_t size)
{
	const struct pl011_host host = { .tx = uart_tx, .irq_set = uart_irq };
	struct virtio_mmio_host vh;

	memcpy(ram_host, image, RAM_SIZE);
	for (size_t i = RAM_INPUT; i < size && i - RAM_INPUT < RAM_SIZE; i++)
		ram_host[i - RAM_INPUT] ^= data[i];
	if (ftruncate(disk_fd, 0) || ftruncate(disk_fd, DISK_SECTORS * VIRTIO_BLK_SECTOR))
		abort();

	uart_line = 0;
	pl011_init(&uart, &host);
	drvs[0] = (struct drv){ .mmio = &blk.mmio, .area = { RAM_GPA + IMG_BLK_Q } };
	drvs[1] = (struct drv){ .mmio = &con.mmio,
				.area = { RAM_GPA + IMG_CON_RX_Q, RAM_GPA + IMG_CON_TX_Q } };
	drvs[2] = (struct drv){ .mmio = &empty };
	vh = fuzz_host_init(&drvs[0].host, (unsigned int)(get_le(data, size, 0, 1) >> 1) % 8);
	if (virtio_blk_init(&blk, disk_fd, get_le(data, size, 0, 1) & 1, "fuzz", &ram, &vh))
		abort();
	vh = fuzz_host_init(&drvs[1].host, (unsigned int)(get_le(data, size, 0, 1) >> 1) % 8);
	virtio_console_init(&con, out_fd, rx_ready, NULL, &ram, &vh);
	virtio_mmio_init_empty(&empty);
	for (unsigned int d = 0; d < 3; d++) {
		drvs[d].base = VIRTIO_BASE + d * VIRTIO_STRIDE;
		drvs[d].num[0] = drvs[d].num[1] = IMG_QUEUE_NUM;
	}

	memset(&bus, 0, sizeof(bus));
	bus.trace = trace;
	bus_add("pl011", PL011_BASE, PL011_SIZE, &uart, pl011_read, pl011_write);
	bus.devices[0].reg_name = pl011_reg_name;
	bus_add("virtio-blk", drvs[0].base, VIRTIO_WINDOW, &blk.mmio, virtio_mmio_read,
		virtio_mmio_write);
	bus_add("virtio-con", drvs[1].base, VIRTIO_WINDOW, &con.mmio, virtio_mmio_read,
		virtio_mmio_write);
	bus_add("virtio-nil", drvs[2].base, VIRTIO_WINDOW, &empty, virtio_mmio_read,
		virtio_mmio_write);
}

static void machine_destroy(void)
{
	virtio_blk_destroy(&blk);
	virtio_console_destroy(&con);
	virtio_mmio_destroy(&empty);
}

static void drv_w(const struct drv *d, uint64_t off, uint32_t val)
{
	mmio_bus_write(&bus, d->base + off, 4, val);
}

/*
 * The driver's side of 3.1.1 through the bus: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK,
 * every queue, DRIVER_OK. value: bit 0 no EVENT_IDX, bit 1 no INDIRECT_DESC, bit 2 no
 * VERSION_1, bits 4-5 QueueNum 16 >> n, bit 6 QueueNum raw from bits 16-31, bit 7 stop
 * before DRIVER_OK.
 */
static void drv_setup(struct drv *d, uint32_t value)
{
	const uint32_t setup = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t features = (value & 1 ? 0 : VIRTIO_F_EVENT_IDX) |
			    (value & 2 ? 0 : VIRTIO_F_INDIRECT_DESC) |
			    (value & 4 ? 0 : VIRTIO_F_VERSION_1);
	uint32_t num = value & 64 ? value >> 16 : IMG_QUEUE_NUM >> ((value >> 4) & 3);

	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w(d, VIRTIO_MMIO_STATUS, setup);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_w(d, VIRTIO_MMIO_STATUS, setup | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < VIRTIO_MMIO_QUEUES_MAX && d->area[q]; q++) {
		uint64_t area = d->area[q];

		d->num[q] = num;
		drv_w(d, VIRTIO_MMIO_QUEUE_SEL, q);
		drv_w(d, VIRTIO_MMIO_QUEUE_NUM, num);
		drv_w(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)area);
		drv_w(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(area >> 32));
		drv_w(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(area + 0x100));
		drv_w(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((area + 0x100) >> 32));
		drv_w(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(area + 0x200));
		drv_w(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((area + 0x200) >> 32));
		drv_w(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	if (!(value & 128))
		drv_w(d, VIRTIO_MMIO_STATUS,
		      setup | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Make chain `head` available on queue q (2.7.13), then notify it. */
static void drv_publish(struct drv *d, unsigned int q, uint16_t head)
{
	uint64_t avail = d->area[q] + 0x100;
	uint16_t idx = 0;
	uint32_t num = d->num[q] ? d->num[q] : 1;

	guest_read_u16(&ram, avail + 2, &idx);
	guest_write_u16(&ram, avail + 4 + 2 * (uint64_t)(idx % num % 256), head);
	guest_write_u16(&ram, avail + 2, (uint16_t)(idx + 1));
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/*
 * One guest action: kind % 9 chooses what, arg which device (and access size), offset and value
 * the rest.
 */
static void act(uint8_t kind, uint8_t arg, uint16_t offset, uint32_t value)
{
	struct drv *d = &drvs[arg % 2];
	uint64_t base = (arg & 3) == 3 ? PL011_BASE : drvs[arg & 3].base;
	uint64_t window = (arg & 3) == 3 ? PL011_SIZE : VIRTIO_WINDOW;
	/* A little past the window too: accesses that straddle its end are nobody's. */
	uint64_t addr = base + offset % (window + 16);
	unsigned int size = 1u << ((arg >> 4) & 3);
	uint8_t bytes[4];

	switch (kind % 9) {
	case 0:
		mmio_bus_write(&bus, addr, size, value);
		break;
	case 1:
		mmio_bus_read(&bus, addr, size);
		break;
	case 2:
		drv_setup(d, value);
		break;
	case 3:
		drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, value % 3);
		break;
	case 4:
		drv_w(d, VIRTIO_MMIO_STATUS, 0); /* reset */
		break;
	case 5: /* the guest changes its RAM, rings included, between accesses */
		guest_write_u32(&ram, RAM_GPA + offset % (RAM_SIZE - 3), value);
		break;
	case 6:
		drv_publish(d, (arg >> 1) & 1, value & 0x8000 ? (uint16_t)value : value % 16);
		break;
	case 7: /* typed input, up to four bytes */
		memcpy(bytes, &value, sizeof(bytes));
		if (arg & 1)
			virtio_console_input(&con, bytes, offset % 5);
		else
			pl011_receive(&uart, bytes, offset % 5);
		break;
	case 8: /* the driver's interrupt handler: read InterruptStatus, acknowledge it */
		drv_w(d, VIRTIO_MMIO_INTERRUPT_ACK,
		      (uint32_t)mmio_bus_read(&bus, d->base + VIRTIO_MMIO_INTERRUPT_STATUS, 4) &
			      (value | (arg & 64 ? 0 : 3)));
		break;
	}
}

static void check(void)
{
	for (unsigned int i = 0; i < 2; i++) {
		const struct virtio_mmio *m = drvs[i].mmio;

		if (drvs[i].host.line != (m->interrupt_status != 0))
			abort();
		if (m->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			continue;
		for (unsigned int q = 0; q < m->ops->num_queues; q++)
			if (m->queues[q].used_idx != m->queues[q].last_avail)
				abort();
	}
	if (uart.rx_count > PL011_FIFO_DEPTH)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int actions = (unsigned int)get_le(data, size, 1, 1) % (ACTIONS_MAX + 1);

	if (!ram_host)
		setup();
	machine_build(data, size);
	for (unsigned int a = 0; a < actions; a++) {
		size_t at = 2 + (size_t)a * ACTION_LEN;

		act((uint8_t)get_le(data, size, at, 1), (uint8_t)get_le(data, size, at + 1, 1),
		    (uint16_t)get_le(data, size, at + 2, 2),
		    (uint32_t)get_le(data, size, at + 4, 4));
		/* What the devices' threads do after the action (in the VMM: meanwhile). */
		for (unsigned int d = 0; d < 2; d++)
			fuzz_serve(drvs[d].mmio, &drvs[d].host);
		check();
	}
	machine_destroy();
	return 0;
}
