/*
 * smp.h - running C on a second CPU: start it with PSCI CPU_ON at smp_entry (smp.S), which gives
 * it a stack and the vector table and calls a function.
 *
 * The guests run with the MMU off, so everything the CPUs share is Device memory (see mmio.h):
 * uncached, so a store of one CPU reaches the memory the other reads, and aligned accesses of up
 * to 64 bits are single-copy atomic. Exclusives (and so the __atomic read-modify-write
 * builtins) are not guaranteed on Device memory: shared variables have one writer each.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdint.h>

#include "psci.h"

/* How a CPU starts: smp.S reads these two words, in this order. */
struct smp_cpu {
	void *stack_top; /* the top of its stack, 16-byte aligned (AAPCS64) */
	void (*fn)(void); /* what it runs; if fn returns, the CPU sleeps in WFI for good */
};

void smp_entry(void);

/*
 * Start the powered-off CPU whose MPIDR affinity is mpidr (on veleiro and QEMU virt, vCPU n has
 * Aff0 = n for n < 16), running cpu->fn. *cpu must stay in place until that CPU is running.
 * Returns 0 or a negative PSCI error: -2 INVALID_PARAMETERS for a CPU that does not exist, -4
 * ALREADY_ON (PSCI 5.6.2).
 */
static inline int64_t smp_start(uint64_t mpidr, const struct smp_cpu *cpu)
{
	return psci_cpu_on(mpidr, (uintptr_t)smp_entry, (uintptr_t)cpu);
}

#endif
