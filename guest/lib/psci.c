/*
 * psci.c - Power State Coordination Interface calls (Arm DEN 0022, PSCI 1.x).
 *
 * A PSCI call is an HVC with the function ID in x0 and arguments in x1-x3; the result comes back
 * in x0 (SMC Calling Convention, Arm DEN 0028, which lets the callee change x1-x17 too). KVM
 * implements PSCI in the kernel: SYSTEM_OFF and SYSTEM_RESET reach the VMM as
 * KVM_EXIT_SYSTEM_EVENT, CPU_ON starts another vCPU. QEMU's virt machine without EL2 also takes
 * PSCI calls through HVC.
 */
#include <stdint.h>

#include "cpu.h"
#include "psci.h"

#define PSCI_SYSTEM_OFF 0x84000008u /* SYSTEM_OFF (SMC32 function ID) */
#define PSCI_SYSTEM_RESET 0x84000009u /* SYSTEM_RESET (SMC32 function ID) */
#define PSCI_CPU_ON 0xc4000003u /* CPU_ON (SMC64 function ID: 64-bit arguments) */

static int64_t psci_call(uint64_t fn, uint64_t arg1, uint64_t arg2, uint64_t arg3)
{
	register uint64_t x0 asm("x0") = fn;
	register uint64_t x1 asm("x1") = arg1;
	register uint64_t x2 asm("x2") = arg2;
	register uint64_t x3 asm("x3") = arg3;

	asm volatile("hvc #0"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     :
		     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
		       "x16", "x17", "memory");
	return (int64_t)x0;
}

/* SYSTEM_OFF does not return when it works; sleep forever if a hypervisor lets it return. */
void psci_system_off(void)
{
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		wfi();
}

void psci_system_reset(void)
{
	psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	for (;;)
		wfi();
}

/*
 * Start the CPU whose MPIDR affinity is target_mpidr at physical address entry, in the same state
 * this guest started in, with context in its x0. Returns 0 or a negative PSCI error code.
 */
int64_t psci_cpu_on(uint64_t target_mpidr, uint64_t entry, uint64_t context)
{
	return psci_call(PSCI_CPU_ON, target_mpidr, entry, context);
}
