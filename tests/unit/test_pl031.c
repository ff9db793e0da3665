/* unit-test sources: stages/09-linux-boot/pl031.c */
/*
 * test_pl031.c - the PL031 real-time clock against its TRM (Arm DDI 0224), on a clock the test
 * turns by hand: the PrimeCell IDs Linux probes, the counter following the host clock and the
 * load register, the match interrupt (mask, raw and masked status, clear, the wake-up the host is
 * asked for, early and late wake-ups), and a guest that accesses what is not a register.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "pl031.h"

#define RTCDR 0x000
#define RTCMR 0x004
#define RTCLR 0x008
#define RTCCR 0x00c
#define RTCIMSC 0x010
#define RTCRIS 0x014
#define RTCMIS 0x018
#define RTCICR 0x01c

#define T0 1764633600ull /* 2025-12-02 00:00:00 UTC, the host clock at the start */

/* The host side, recorded. */
struct host {
	uint64_t now;
	uint64_t alarm; /* the last wake-up asked for */
	int alarms; /* how many were asked for */
	int level, irq_calls;
};

static uint64_t host_now(void *ctx)
{
	return ((struct host *)ctx)->now;
}

static void host_alarm(void *ctx, uint64_t when)
{
	struct host *h = ctx;

	h->alarm = when;
	h->alarms++;
}

static void host_irq(void *ctx, int level)
{
	struct host *h = ctx;

	h->level = level;
	h->irq_calls++;
}

static void setup(struct pl031 *rtc, struct host *h)
{
	memset(h, 0, sizeof(*h));
	h->now = T0;
	pl031_init(rtc, &(struct pl031_host){ .now = host_now,
					      .alarm = host_alarm,
					      .ctx = h,
					      .irq_set = host_irq,
					      .irq_ctx = h });
}

static uint32_t rd(struct pl031 *rtc, uint64_t off)
{
	return (uint32_t)pl031_read(rtc, off, 4);
}

static void wr(struct pl031 *rtc, uint64_t off, uint32_t v)
{
	pl031_write(rtc, off, 4, v);
}

/* Linux's AMBA bus reads these to match the driver: part 0x031, Arm, and 0xB105F00D. */
static void test_ids(void)
{
	static const uint8_t want[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl031 rtc;
	struct host h;
	uint32_t periph = 0, cell = 0;

	setup(&rtc, &h);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(rd(&rtc, 0xfe0 + 4 * i), want[i]);
	for (int i = 0; i < 4; i++) {
		periph |= rd(&rtc, 0xfe0 + 4 * i) << (8 * i);
		cell |= rd(&rtc, 0xff0 + 4 * i) << (8 * i);
	}
	CHECK_EQ(periph & 0x000fffff, 0x00041031); /* Linux's amba_id for the Arm PL031 */
	CHECK_EQ(cell, 0xb105f00d);
	CHECK_STR(pl031_reg_name(0xfe0), "RTCPeriphID0");
	CHECK_STR(pl031_reg_name(0xffc), "RTCPCellID3");
	CHECK_STR(pl031_reg_name(RTCDR), "RTCDR");
	CHECK_STR(pl031_reg_name(RTCICR), "RTCICR");
	CHECK(pl031_reg_name(0x020) == NULL);
	CHECK(pl031_reg_name(0x002) == NULL);
	CHECK_EQ(rtc.ignored, 0);
}

/* Reset state (TRM Table 3-1), except the counter, which starts at the host's time. */
static void test_reset(void)
{
	struct pl031 rtc;
	struct host h;

	setup(&rtc, &h);
	CHECK_EQ(rd(&rtc, RTCDR), (uint32_t)T0);
	CHECK_EQ(rd(&rtc, RTCMR), 0);
	CHECK_EQ(rd(&rtc, RTCLR), 0);
	CHECK_EQ(rd(&rtc, RTCCR), 1); /* started */
	CHECK_EQ(rd(&rtc, RTCIMSC), 0);
	CHECK_EQ(rd(&rtc, RTCRIS), 0);
	CHECK_EQ(rd(&rtc, RTCMIS), 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(h.irq_calls, 0);
	/* A wake-up for when the counter wraps to RTCMR = 0, in 2106. */
	CHECK_EQ(h.alarms, 1);
	CHECK_EQ(h.alarm, 1ull << 32);
}

static void test_counter(void)
{
	struct pl031 rtc;
	struct host h;

	setup(&rtc, &h);
	h.now += 5;
	CHECK_EQ(rd(&rtc, RTCDR), (uint32_t)T0 + 5);
	/* Loading sets the counter at once, and it goes on counting from there. */
	wr(&rtc, RTCLR, 1000);
	CHECK_EQ(rd(&rtc, RTCDR), 1000);
	CHECK_EQ(rd(&rtc, RTCLR), 1000);
	h.now += 61;
	CHECK_EQ(rd(&rtc, RTCDR), 1061);
	CHECK_EQ(rd(&rtc, RTCLR), 1000); /* RTCLR keeps what was loaded */
	/* 32 bits wrap around. */
	wr(&rtc, RTCLR, 0xfffffffe);
	h.now += 3;
	CHECK_EQ(rd(&rtc, RTCDR), 1);
	/* Writing RTCCR changes nothing: the RTC stays started. */
	wr(&rtc, RTCCR, 0);
	CHECK_EQ(rd(&rtc, RTCCR), 1);
	CHECK_EQ(rd(&rtc, RTCDR), 1);
	CHECK_EQ(rtc.ignored, 0);
}

/* An alarm 10 s ahead: the host is asked to wake the model then, and the interrupt fires. */
static void test_match(void)
{
	struct pl031 rtc;
	struct host h;
	uint32_t count;

	setup(&rtc, &h);
	count = rd(&rtc, RTCDR);
	wr(&rtc, RTCIMSC, 1);
	CHECK_EQ(rd(&rtc, RTCIMSC), 1);
	wr(&rtc, RTCMR, count + 10);
	CHECK_EQ(rd(&rtc, RTCMR), count + 10);
	CHECK_EQ(h.alarm, T0 + 10);
	CHECK_EQ(h.level, 0);

	/* A wake-up before the time (a clock set back) latches nothing and asks again. */
	h.now = T0 + 9;
	h.alarms = 0;
	pl031_alarm_expired(&rtc);
	CHECK_EQ(rd(&rtc, RTCRIS), 0);
	CHECK_EQ(h.alarms, 1);
	CHECK_EQ(h.alarm, T0 + 10);

	h.now = T0 + 10;
	pl031_alarm_expired(&rtc);
	CHECK_EQ(rd(&rtc, RTCRIS), 1);
	CHECK_EQ(rd(&rtc, RTCMIS), 1);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(h.irq_calls, 1);
	CHECK_EQ(h.alarm, T0 + 10 + (1ull << 32)); /* the next match, one wrap later */

	/* Clearing lowers the line; clearing with bit 0 clear does not. */
	wr(&rtc, RTCICR, 0xfffffffe);
	CHECK_EQ(rd(&rtc, RTCRIS), 1);
	wr(&rtc, RTCICR, 1);
	CHECK_EQ(rd(&rtc, RTCRIS), 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(h.irq_calls, 2);
	CHECK_EQ(rtc.ignored, 0);
}

/* The raw status latches while masked; unmasking raises the line, masking lowers it. */
static void test_mask(void)
{
	struct pl031 rtc;
	struct host h;

	setup(&rtc, &h);
	wr(&rtc, RTCMR, rd(&rtc, RTCDR) + 2);
	h.now += 3; /* the host woke the model a second late */
	pl031_alarm_expired(&rtc);
	CHECK_EQ(rd(&rtc, RTCRIS), 1);
	CHECK_EQ(rd(&rtc, RTCMIS), 0);
	CHECK_EQ(h.level, 0);
	wr(&rtc, RTCIMSC, 0xff); /* only bit 0 exists */
	CHECK_EQ(rd(&rtc, RTCIMSC), 1);
	CHECK_EQ(h.level, 1);
	wr(&rtc, RTCIMSC, 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&rtc, RTCRIS), 1);
}

/* A match value equal to the counter matches at once, whether RTCMR or RTCLR made them equal. */
static void test_match_now(void)
{
	struct pl031 rtc;
	struct host h;

	setup(&rtc, &h);
	wr(&rtc, RTCIMSC, 1);
	wr(&rtc, RTCMR, rd(&rtc, RTCDR));
	CHECK_EQ(h.level, 1);
	wr(&rtc, RTCICR, 1);
	CHECK_EQ(h.level, 0);

	wr(&rtc, RTCMR, 500);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(h.alarm, T0 + (uint32_t)(500 - (uint32_t)T0));
	wr(&rtc, RTCLR, 490); /* the match moves 10 s ahead */
	CHECK_EQ(h.alarm, T0 + 10);
	wr(&rtc, RTCLR, 500);
	CHECK_EQ(h.level, 1);
}

/* Wrong widths, misaligned offsets, holes, read-only and write-only registers: dropped. */
static void test_bad_access(void)
{
	struct pl031 rtc;
	struct host h;

	setup(&rtc, &h);
	wr(&rtc, RTCMR, 1234);
	CHECK_EQ(pl031_read(&rtc, RTCDR, 1), 0);
	CHECK_EQ(pl031_read(&rtc, RTCDR, 2), 0);
	CHECK_EQ(pl031_read(&rtc, RTCDR, 8), 0);
	CHECK_EQ(pl031_read(&rtc, RTCMR + 1, 4), 0);
	CHECK_EQ(pl031_read(&rtc, 0x020, 4), 0);
	CHECK_EQ(pl031_read(&rtc, 0xffc + 2, 2), 0);
	CHECK_EQ(pl031_read(&rtc, RTCICR, 4), 0);
	CHECK_EQ(rtc.ignored, 7);

	pl031_write(&rtc, RTCMR, 1, 0xff);
	pl031_write(&rtc, RTCMR, 2, 0xffff);
	pl031_write(&rtc, RTCMR, 8, 0xffffffffffff);
	pl031_write(&rtc, RTCMR + 2, 4, 0);
	CHECK_EQ(rd(&rtc, RTCMR), 1234);
	pl031_write(&rtc, RTCLR, 1, 0);
	CHECK_EQ(rd(&rtc, RTCDR), (uint32_t)T0);
	wr(&rtc, RTCDR, 0);
	wr(&rtc, RTCRIS, 1);
	wr(&rtc, RTCMIS, 1);
	wr(&rtc, 0xfe0, 0);
	wr(&rtc, 0x800, 0);
	CHECK_EQ(rd(&rtc, RTCDR), (uint32_t)T0);
	CHECK_EQ(rd(&rtc, RTCRIS), 0);
	CHECK_EQ(rd(&rtc, 0xfe0), 0x31);
	CHECK_EQ(rtc.ignored, 17);
	CHECK_EQ(h.irq_calls, 0);

	/* Many more: counted, the device still works. */
	for (int i = 0; i < 100000; i++)
		pl031_write(&rtc, 0x100, 4, 0);
	CHECK_EQ(rtc.ignored, 100017);
	CHECK_EQ(rd(&rtc, RTCMR), 1234);
}

int main(void)
{
	test_ids();
	test_reset();
	test_counter();
	test_match();
	test_mask();
	test_match_now();
	test_bad_access();
	return CHECK_DONE("pl031");
}
