/*
 * hello.S - "Hello, world!" on a real UART model, run by stage 04 (04-uart) first.
 *
 * It teaches the minimum a driver owes a PL011 (ARM PrimeCell UART, TRM DDI 0183): before each
 * write to the data register it polls the flag register until the transmit FIFO has room, so the
 * VMM's device model has to answer UARTFR reads correctly. Then it powers off through PSCI
 * SYSTEM_OFF (Arm DEN 0022). Pure assembly: no stack, no runtime.
 */
#define PL011_BASE	0x09000000	/* PL011 UART on the virt machine */
#define UARTDR		0x000		/* Data Register (TRM 3.3.1) */
#define UARTFR		0x018		/* Flag Register (TRM 3.3.3) */
#define UARTFR_TXFF	5		/* UARTFR bit 5: transmit FIFO full */
#define PSCI_SYSTEM_OFF	0x84000008	/* PSCI SYSTEM_OFF function ID (DEN 0022) */

	.section .text.boot, "ax"
	.global	_start
_start:
	mov	x0, #PL011_BASE		// x0 = the UART
	adr	x1, message		// x1 = next byte to send
1:	ldrb	w2, [x1], #1		// w2 = that byte; advance x1
	cbz	w2, 3f			// a zero byte ends the string
2:	ldr	w3, [x0, #UARTFR]	// w3 = UART flags
	tbnz	w3, #UARTFR_TXFF, 2b	// transmit FIFO full: ask again
	str	w2, [x0, #UARTDR]	// there is room: send the byte
	b	1b

3:	mov	x0, #(PSCI_SYSTEM_OFF & 0xffff)
	movk	x0, #(PSCI_SYSTEM_OFF >> 16), lsl #16
	hvc	#0			// power off
4:	wfi				// SYSTEM_OFF does not return; if it did, sleep
	b	4b

	.section .rodata
message:
	.asciz	"Hello, world!\n"
