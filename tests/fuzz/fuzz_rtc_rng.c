/*
 * fuzz_rtc_rng.c - libFuzzer target for the two smallest devices of stages/09-linux-boot: the
 * PL031 real-time clock and the virtio-rng entropy device. The input is what a hostile guest
 * controls: register accesses of any width at any offset, the passing of time, and for the
 * entropy device its RAM and queue. Sanitizers are the oracle, plus the invariants below.
 *
 * Input layout (little-endian; missing bytes read as 0):
 *   0   u8   how many of the 8-byte steps that follow go to the PL031 (the rest: virtio-rng)
 *   1   u8   virtio-rng QueueNum (1 << (n % 8), 1 to 128; 64 is QueueNumMax)
 *   2   u8   virtio-rng requests served per batch of its "thread" (n % 8, 0 counting as 1)
 *   3   u8   unused
 *   4   32 steps of 8 bytes: u16 offset, u8 op, u8 arg, u32 value
 *            op bits 0-1: access size 1/2/4/8; bit 7: write; bit 6 (PL031): the clock moves
 *            on by arg seconds and the alarm the model asked for is delivered if it is due;
 *            bit 6 (virtio-rng): QueueNotify instead of the access
 *   260  guest RAM of the entropy device, XORed into a built-in ring with good buffers
 *
 * Invariants: the PL031's interrupt line is always RTCRIS & RTCIMSC and changes only when it is
 * told to; the counter it reads back is the clock plus what was loaded; an entropy device that
 * is not in NEEDS_RESET has handed back every chain it took.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pl031.h"
#include "virtio_host.h"
#include "virtio_rng.h"

#define STEPS 32
#define STEP_LEN 8
#define HEADER 4
#define RAM_AT (HEADER + STEPS * STEP_LEN)
#define RAM_GPA 0x10000ull
#define RAM_SIZE 0x10000
#define IMG_DESC 0x0000 /* up to 128 descriptors */
#define IMG_AVAIL 0x0800
#define IMG_USED 0x1000
#define IMG_BUFS 0x2000 /* 64-byte buffers */

#include "fuzz_input.h" /* needs RAM_GPA */

/* The log functions are tests/fuzz/quiet_log.c's: silent, and abort() for die(). */

struct clock {
	uint64_t now, alarm;
	int level, changes;
};

static uint64_t clock_now(void *ctx)
{
	return ((struct clock *)ctx)->now;
}

static void clock_alarm(void *ctx, uint64_t when)
{
	((struct clock *)ctx)->alarm = when;
}

static void clock_irq(void *ctx, int level)
{
	struct clock *c = ctx;

	if (level == c->level)
		abort(); /* told of a change that is none */
	c->level = level;
	c->changes++;
}

static void pl031_step(struct pl031 *rtc, struct clock *c, const uint8_t *data, size_t size,
		       size_t at)
{
	uint64_t off = get_le(data, size, at, 2) % (PL031_SIZE + 8);
	unsigned int op = (unsigned int)get_le(data, size, at + 2, 1);
	unsigned int len = 1u << (op & 3);
	uint64_t value = get_le(data, size, at + 4, 4);

	if (op & 0x40) {
		c->now += get_le(data, size, at + 3, 1);
		if (c->now >= c->alarm)
			pl031_alarm_expired(rtc);
	} else if (op & 0x80) {
		pl031_write(rtc, off, len, value);
	} else {
		uint64_t v = pl031_read(rtc, off, len);

		if (off == 0 && len == 4 && v != (uint32_t)(c->now + rtc->offset))
			abort();
	}
	if (c->level != ((rtc->ris & rtc->imsc & 1) != 0))
		abort();
}

static void rng_image(uint8_t *ram, unsigned int num)
{
	/* Every descriptor a 64-byte writable buffer, all of them available. */
	for (unsigned int i = 0; i < num; i++) {
		uint64_t d = IMG_DESC + 16ull * i, buf = RAM_GPA + IMG_BUFS + 64ull * i;

		for (unsigned int b = 0; b < 8; b++)
			ram[d + b] = (uint8_t)(buf >> (8 * b));
		ram[d + 8] = 64;
		ram[d + 12] = VIRTQ_DESC_F_WRITE;
		ram[IMG_AVAIL + 4 + 2 * i] = (uint8_t)i;
	}
	ram[IMG_AVAIL + 2] = (uint8_t)num;
}

static struct fuzz_host host;

/* A register write, and whatever it made the device's thread do. */
static void rng_reg(struct virtio_rng *rng, uint64_t off, uint32_t val)
{
	virtio_mmio_write(&rng->mmio, off, 4, val);
	fuzz_serve(&rng->mmio, &host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram_host[RAM_SIZE];
	struct guest_mem ram = { .gpa = RAM_GPA, .size = RAM_SIZE, .host = ram_host };
	unsigned int to_rtc = (unsigned int)get_le(data, size, 0, 1) % (STEPS + 1);
	unsigned int num = 1u << (get_le(data, size, 1, 1) % 8);
	struct clock c = { .now = 1764633600 };
	struct virtio_mmio_host vh;
	struct virtio_rng rng;
	struct pl031 rtc;
	struct virtq *vq;

	pl031_init(&rtc, &(struct pl031_host){ .now = clock_now,
					       .alarm = clock_alarm,
					       .ctx = &c,
					       .irq_set = clock_irq,
					       .irq_ctx = &c });
	for (unsigned int i = 0; i < to_rtc; i++)
		pl031_step(&rtc, &c, data, size, HEADER + i * STEP_LEN);

	memset(ram_host, 0, sizeof(ram_host));
	rng_image(ram_host, num);
	for (size_t i = RAM_AT; i < size && i - RAM_AT < RAM_SIZE; i++)
		ram_host[i - RAM_AT] ^= data[i];
	vh = fuzz_host_init(&host, (unsigned int)get_le(data, size, 2, 1) % 8);
	virtio_rng_init(&rng, &ram, &vh);
	rng_reg(&rng, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	rng_reg(&rng, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	rng_reg(&rng, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	rng_reg(&rng, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_SEL, 0);
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_NUM, num);
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(RAM_GPA + IMG_DESC));
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(RAM_GPA + IMG_AVAIL));
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(RAM_GPA + IMG_USED));
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_READY, 1);
	rng_reg(&rng, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK);
	rng_reg(&rng, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (unsigned int i = to_rtc; i < STEPS; i++) {
		size_t at = HEADER + i * STEP_LEN;
		uint64_t off = get_le(data, size, at, 2) % (VIRTIO_MMIO_CONFIG + 8);
		unsigned int op = (unsigned int)get_le(data, size, at + 2, 1);
		uint64_t value = get_le(data, size, at + 4, 4);

		if (op & 0x40)
			rng_reg(&rng, VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)value % 2);
		else if (op & 0x80)
			virtio_mmio_write(&rng.mmio, off, 1u << (op & 3), value);
		else
			virtio_mmio_read(&rng.mmio, off, 1u << (op & 3));
		fuzz_serve(&rng.mmio, &host);
	}
	vq = &rng.mmio.queues[VIRTIO_RNG_REQUESTQ];
	if (vq->ready && (uint16_t)(vq->used_idx - vq->last_avail) != 0 &&
	    !(rng.mmio.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		abort(); /* a chain taken and never handed back */
	virtio_rng_destroy(&rng);
	return 0;
}
