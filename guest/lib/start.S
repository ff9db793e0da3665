/*
 * start.S - entry point of every C guest: prepares what C code needs and calls main().
 *
 * The VMM (or QEMU) enters at the first byte of the image, at EL1 with the MMU off and all
 * exceptions masked (Linux Documentation/arch/arm64/booting.rst describes the same state). C needs
 * a stack and zeroed .bss; the guest needs somewhere for exceptions to go, so VBAR_EL1 (Vector
 * Base Address Register) gets the table from vectors.S. When main() returns the guest powers off.
 */
#define STACK_SIZE	16384

	.section .text.boot, "ax"
	.global	_start
_start:
	adrp	x1, stack_top
	add	x1, x1, :lo12:stack_top
	mov	sp, x1			// SP_EL1: the entry state is EL1h

	adrp	x1, __bss_start		// zero .bss, 16 bytes at a time (guest.ld aligns both ends)
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b

2:	adrp	x1, exception_vectors
	add	x1, x1, :lo12:exception_vectors
	msr	vbar_el1, x1
	isb				// the new VBAR_EL1 is used from here on

	bl	main
	bl	psci_system_off		// does not return

	.section .bss
	.balign	16
	.space	STACK_SIZE
stack_top:
