/*
 * memory.S - the first guest, run by stage 02 (02-memory).
 *
 * It teaches that a guest is just code working on memory the VMM gave it: it writes the first
 * 16 Fibonacci numbers as 64-bit values into a table at guest physical address 0x40000000 (the
 * start of RAM, just below this image at 0x40080000), where the VMM reads them back. Then it
 * loads 32 bits from guest physical address 0x0, where our VMM has no RAM: KVM cannot complete
 * that access itself and returns to the VMM with KVM_EXIT_MMIO (on QEMU 0x0 is flash and the read
 * is harmless). Stage 02 stops there; later stages answer the read with 0 and let the guest go on
 * to power off through PSCI SYSTEM_OFF (Arm DEN 0022, "SYSTEM_OFF").
 *
 * The MMU is off, so every address here is a physical address. No stack is needed.
 */
	.section .text.boot, "ax"
	.global	_start
_start:
	mov	x1, #0x40000000		// x1 = where the next number goes: the first byte of RAM
	mov	x2, #0			// x2 = F(n), starting with F(0) = 0
	mov	x3, #1			// x3 = F(n+1), starting with F(1) = 1
	mov	x4, #16			// x4 = how many numbers are still to be written
1:	str	x2, [x1], #8		// store F(n) as 8 bytes, then move x1 to the next slot
	add	x5, x2, x3		// x5 = F(n+2) = F(n) + F(n+1)
	mov	x2, x3			// step forward: F(n) <- F(n+1)
	mov	x3, x5			//               F(n+1) <- F(n+2)
	subs	x4, x4, #1		// one fewer to go; sets the Z flag when x4 reaches 0
	b.ne	1b			// loop back while numbers are left

	mov	x1, #0			// x1 = guest physical address 0x0: no RAM there in our VMM
	ldr	w6, [x1]		// 32-bit load: KVM exits to the VMM with KVM_EXIT_MMIO

	mov	x0, #0x0008		// x0 = PSCI function ID 0x84000008, SYSTEM_OFF:
	movk	x0, #0x8400, lsl #16	//      built 16 bits at a time
	hvc	#0			// call the hypervisor, which powers the machine off
2:	wfi				// not reached; if it were, sleep forever
	b	2b
