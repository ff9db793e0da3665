/*
 * rtc.h - the machine's real-time clock: the PL031 model (pl031.c) wired to the host's wall
 * clock, to SPI 2 of the vGIC, and to a thread that wakes it when its alarm is due.
 */
#ifndef VELEIRO_RTC_H
#define VELEIRO_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmio_bus.h"
#include "pl031.h"

struct rtc {
	struct pl031 dev;
	int timerfd; /* CLOCK_REALTIME, armed for the PL031's next match */
	pthread_t thread; /* waits on timerfd */
	pthread_mutex_t *lock; /* the device lock, held whenever the PL031 is touched */
	int vm; /* this boot's VM, for KVM_IRQ_LINE */
	bool trace;
	uint64_t irq_raised, irq_lowered; /* this boot's edges of SPI 2, for --stats */
};

/*
 * Once per process: the timerfd and the thread that calls pl031_alarm_expired() with lock held
 * when it fires. Dies with one line if the host refuses either.
 */
void rtc_start(struct rtc *rtc, pthread_mutex_t *lock);

/*
 * Each boot, with the device lock held: reset the PL031 (its counter at the host's time) and put
 * it on the bus at PL031_BASE, its interrupt on vm's SPI 2; trace: a line for each edge.
 */
void rtc_attach(struct rtc *rtc, struct mmio_bus *bus, int vm, bool trace);

#endif
