/*
 * smp.S - where a CPU started with PSCI CPU_ON begins (see smp.h).
 *
 * CPU_ON (Arm DEN 0022, PSCI 1.x, 5.6) starts the CPU at the entry point it is given, at the
 * caller's exception level with the MMU off and all exceptions masked, and puts the call's
 * context argument in x0. Nothing else is prepared: no stack, and VBAR_EL1 is a register of each
 * CPU, so the new one has no vector table either. smp_start() passes the address of a struct
 * smp_cpu as the context: its first word is the top of the CPU's stack, its second the C
 * function to run there. .bss was zeroed by the boot CPU already.
 */
	.text
	.global	smp_entry
smp_entry:
	ldp	x1, x2, [x0]		// x1 = smp_cpu.stack_top, x2 = smp_cpu.fn
	mov	sp, x1			// SP_EL1: CPU_ON enters in EL1h, like the boot CPU

	adrp	x1, exception_vectors
	add	x1, x1, :lo12:exception_vectors
	msr	vbar_el1, x1
	isb				// the new VBAR_EL1 is used from here on

	blr	x2
1:	wfi				// the function returned: this CPU has nothing more to do
	b	1b
