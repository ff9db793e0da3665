/*
 * simple.S - a guest that talks through MMIO, run by stage 03 (03-run-loop) first.
 *
 * It teaches the exit-dispatch loop: each store to 0x09000000 below is an MMIO write exit that
 * the VMM decodes and prints (a plain debug port in stage 03; from stage 04 on it is UARTDR, the
 * data register of the PL011 UART, as on QEMU's virt machine). One load from 0x09000018 (UARTFR,
 * the PL011 flag register) shows a read exit, where the VMM must supply the value. Then the guest
 * powers off with PSCI SYSTEM_OFF (Arm DEN 0022), which KVM reports as KVM_EXIT_SYSTEM_EVENT.
 */
	.section .text.boot, "ax"
	.global	_start
_start:
	mov	x0, #0x09000000		// x0 = the debug port (UARTDR, PL011 TRM DDI 0183 3.3.1)
	adr	x1, message		// x1 = next byte of the message
1:	ldrb	w2, [x1], #1		// w2 = that byte; advance x1
	cbz	w2, 2f			// a zero byte ends the string
	str	w2, [x0]		// one 32-bit store per character: one MMIO exit each
	b	1b

2:	ldr	w3, [x0, #0x18]		// read UARTFR (PL011 TRM 3.3.3): one MMIO read exit

	mov	x0, #0x0008		// x0 = PSCI SYSTEM_OFF, 0x84000008
	movk	x0, #0x8400, lsl #16
	hvc	#0			// power off
3:	wfi				// SYSTEM_OFF does not return; if it did, sleep
	b	3b

	.section .rodata
message:
	.asciz	"Hello from the guest!\n"
