/*
 * timer.h - the EL1 virtual timer of the Arm Generic Timer (Arm ARM DDI 0487, "The Generic Timer
 * in AArch64 state").
 *
 * CNTVCT_EL0 counts up at CNTFRQ_EL0 ticks per second. The virtual timer fires when the count
 * reaches CNTV_CVAL_EL0 while CNTV_CTL_EL0 has ENABLE set and IMASK clear; its output is a level
 * interrupt, PPI INTID 27, that stays asserted until CVAL moves into the future or the timer is
 * disabled. Under KVM the counter is the host's, offset per VM, and the interrupt is injected by
 * KVM itself.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

#include "cpu.h"

#define TIMER_VIRT_INTID 27 /* virtual timer interrupt: PPI 11, INTID 27 */

#define CNTV_CTL_ENABLE (1u << 0) /* CNTV_CTL_EL0: timer enabled */
#define CNTV_CTL_IMASK (1u << 1) /* CNTV_CTL_EL0: interrupt masked */

/* Counter frequency in Hz (CNTFRQ_EL0, Counter-timer Frequency register). */
static inline uint64_t timer_freq(void)
{
	return read_sysreg(cntfrq_el0);
}

/*
 * Current count (CNTVCT_EL0, Counter-timer Virtual Count register). The ISB keeps the read from
 * happening earlier than the code before it.
 */
static inline uint64_t timer_count(void)
{
	isb();
	return read_sysreg(cntvct_el0);
}

/* Fire at count deadline (CNTV_CVAL_EL0, Counter-timer Virtual Timer CompareValue register). */
static inline void timer_set_deadline(uint64_t deadline)
{
	write_sysreg(cntv_cval_el0, deadline);
}

/* Write CNTV_CTL_EL0 (Counter-timer Virtual Timer Control register). */
static inline void timer_set_ctl(uint32_t ctl)
{
	write_sysreg(cntv_ctl_el0, ctl);
	isb();
}

#endif
