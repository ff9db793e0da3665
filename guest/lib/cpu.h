/*
 * cpu.h - the few AArch64 instructions the runtime needs that C cannot express.
 *
 * System registers are read and written with MRS/MSR (Arm ARM DDI 0487, "System register
 * descriptions"), named as the Arm ARM names them; PSTATE.I masks IRQs ("Process state, PSTATE").
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

#define read_sysreg(reg) \
	({ \
		uint64_t __val; \
		asm volatile("mrs %0, " #reg : "=r"(__val)); \
		__val; \
	})

#define write_sysreg(reg, val) asm volatile("msr " #reg ", %0" : : "r"((uint64_t)(val)) : "memory")

/* Make earlier system register writes take effect before the next instruction. */
static inline void isb(void)
{
	asm volatile("isb" : : : "memory");
}

/* Clear PSTATE.I: IRQs may now be taken. */
static inline void irq_enable(void)
{
	asm volatile("msr daifclr, #2" : : : "memory");
}

/* Set PSTATE.I: IRQs stay pending until irq_enable(). */
static inline void irq_disable(void)
{
	asm volatile("msr daifset, #2" : : : "memory");
}

/*
 * Sleep until an interrupt is pending. WFI wakes even while PSTATE.I masks IRQs, which is what
 * lets a caller test a condition with IRQs masked and then sleep without a lost wake-up.
 */
static inline void wfi(void)
{
	asm volatile("wfi" : : : "memory");
}

#endif
