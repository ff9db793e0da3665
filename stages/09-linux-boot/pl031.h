/*
 * pl031.h - the Arm PrimeCell Real Time Clock (PL031), as the QEMU virt machine has it at
 * 0x09010000: a 32-bit seconds counter the guest reads for the date, and one match register
 * that raises an interrupt when the counter reaches it (an alarm).
 *
 * The model keeps no time of its own: the counter is the host's wall clock plus an offset that
 * the guest sets by writing the load register. Where "now" comes from and how the host wakes the
 * model at the match time are callbacks, so the unit tests can drive a clock of their own.
 */
#ifndef VELEIRO_PL031_H
#define VELEIRO_PL031_H

#include <stdint.h>

#include "mmio_bus.h"

#define PL031_SIZE 0x1000UL /* one 4 KiB page of registers (TRM 3.1) */

/* The host side of the RTC; every callback is required. */
struct pl031_host {
	/* The host's wall clock: whole seconds since 1970-01-01 00:00:00 UTC. */
	uint64_t (*now)(void *ctx);
	/*
	 * Call pl031_alarm_expired() once now() reaches `when` (a value of now()); a later call
	 * replaces the earlier one.
	 */
	void (*alarm)(void *ctx, uint64_t when);
	void *ctx;
	/* The interrupt line RTCINTR; called only when its level changes. */
	irq_set_fn irq_set;
	void *irq_ctx;
};

struct pl031 {
	struct pl031_host host;
	uint32_t offset; /* the counter minus now(), modulo 2^32 */
	uint32_t mr; /* RTCMR: match register */
	uint32_t lr; /* RTCLR: the value last loaded */
	uint8_t imsc; /* RTCIMSC: interrupt mask (bit 0) */
	uint8_t ris; /* RTCRIS: raw interrupt status (bit 0) */
	uint64_t alarm_at; /* the value of now() at which the counter next equals RTCMR */
	int irq_level; /* the level last given to host.irq_set */
	uint64_t ignored; /* guest accesses that matched no register, and were dropped */
};

/*
 * Reset the RTC (TRM 3.3, Table 3-1) and connect it to host: the counter starts at the host's
 * wall-clock time, so the guest's date is the host's.
 */
void pl031_init(struct pl031 *rtc, const struct pl031_host *host);

/* The struct mmio_device callbacks; opaque is the struct pl031. */
uint64_t pl031_read(void *opaque, uint64_t offset, unsigned int size);
void pl031_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value);
const char *pl031_reg_name(uint64_t offset);

/*
 * The host's wake-up for pl031_host.alarm: if the counter has reached the match value, latch the
 * match interrupt. A wake-up that comes early (the host's clock was set back, or the alarm was
 * replaced) only asks for the wake-up again.
 */
void pl031_alarm_expired(struct pl031 *rtc);

#endif
