/*
 * timer.c - periodic ticks from the arch timer, run by stage 06 (06-timer) first.
 *
 * It teaches the Arm Generic Timer: CNTFRQ_EL0 says how fast the counter runs, CNTV_CVAL_EL0 sets
 * the count at which the virtual timer fires, and its interrupt (PPI, INTID 27, level) arrives
 * through the GIC. Under KVM both the timer and its interrupt are emulated in the kernel, so the
 * VMM has nothing to do but create the vGIC. Each of the 10 ticks is 100 ms after the previous
 * deadline; the handler prints how long it really was since the previous tick, measured on
 * CNTVCT_EL0, and sets the next deadline. Deadlines advance from the previous deadline, not from
 * "now", so handling delays do not add up.
 */
#include <stdint.h>

#include "cpu.h"
#include "exception.h"
#include "gic.h"
#include "printf.h"
#include "timer.h"
#include "uart.h"

#define TIMER_TICKS 10
#define TIMER_PERIOD_US 100000
#define USEC_PER_SEC 1000000

static uint64_t timer_hz, timer_period, timer_deadline, timer_start, timer_last;
static volatile unsigned int timer_ticks;

static uint64_t timer_to_us(uint64_t counts)
{
	return counts * USEC_PER_SEC / timer_hz;
}

static void timer_irq(void)
{
	uint32_t ack = gic_ack();
	unsigned int intid = gic_intid(ack);
	uint64_t now;

	if (intid >= GIC_INTID_SPURIOUS)
		return;
	if (intid != TIMER_VIRT_INTID) {
		printf("timer: unexpected INTID %u\n", intid);
		gic_eoi(ack);
		return;
	}

	now = timer_count();
	timer_ticks++;
	printf("tick %2u: +%lu us\n", timer_ticks, timer_to_us(now - timer_last));
	timer_last = now;

	/* The line stays high until the deadline moves into the future or the timer stops. */
	if (timer_ticks < TIMER_TICKS) {
		timer_deadline += timer_period;
		timer_set_deadline(timer_deadline);
	} else {
		timer_set_ctl(CNTV_CTL_IMASK);
		gic_disable_irq(TIMER_VIRT_INTID);
	}
	gic_eoi(ack);
}

void main(void)
{
	uart_init();
	timer_hz = timer_freq();
	printf("timer: CNTFRQ = %lu Hz\n", timer_hz);
	timer_period = timer_hz / (USEC_PER_SEC / TIMER_PERIOD_US);

	gic_init();
	exception_set_irq_handler(timer_irq);
	gic_set_trigger(TIMER_VIRT_INTID, GIC_LEVEL);
	gic_enable_irq(TIMER_VIRT_INTID);

	timer_start = timer_count();
	timer_last = timer_start;
	timer_deadline = timer_start + timer_period;
	timer_set_deadline(timer_deadline);
	timer_set_ctl(CNTV_CTL_ENABLE);

	/* Same pattern as irq.c: test with IRQs masked, then sleep. */
	for (;;) {
		irq_disable();
		if (timer_ticks == TIMER_TICKS)
			break;
		wfi();
		irq_enable();
	}
	printf("timer: %u ticks, mean interval %lu us\n", TIMER_TICKS,
	       timer_to_us(timer_last - timer_start) / TIMER_TICKS);
}
