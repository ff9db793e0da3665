/*
 * irq.c - an interrupt-driven console, run by stage 05 (05-gic) first.
 *
 * It teaches interrupts: instead of polling, the guest sets up the GIC (v2 or v3, whichever the
 * machine has), asks the PL011 to raise its line (INTID 33, level-sensitive) when bytes arrive,
 * unmasks IRQs and sleeps in WFI. The VMM must turn "bytes waiting in the UART" into a level on
 * that line (KVM_IRQ_LINE), and the in-kernel GIC delivers it. The handler acknowledges the
 * interrupt, clears the UART's interrupt, echoes every byte waiting in the FIFO (CR as CR LF), and
 * ends the interrupt. Clearing comes first: a byte that arrives after the FIFO was found empty
 * then raises the interrupt again, where clearing last would wipe out its interrupt and leave it
 * waiting unseen. On 'q' the guest reports how many interrupts and bytes (the 'q' included) it
 * saw, and powers off.
 */
#include "cpu.h"
#include "exception.h"
#include "gic.h"
#include "printf.h"
#include "uart.h"

static volatile int irq_quit;
static unsigned long irq_count, irq_bytes;

static void irq_handle(void)
{
	uint32_t ack = gic_ack();
	unsigned int intid = gic_intid(ack);
	int c;

	if (intid >= GIC_INTID_SPURIOUS)
		return;
	if (intid == UART_INTID) {
		irq_count++;
		uart_clear_rx_irq();
		while (!irq_quit && (c = uart_poll()) >= 0) {
			irq_bytes++;
			if (c == 'q') {
				irq_quit = 1;
				break;
			}
			uart_putc((char)c);
			if (c == '\r')
				uart_putc('\n');
		}
	} else {
		printf("irq: unexpected INTID %u\n", intid);
	}
	gic_eoi(ack);
}

void main(void)
{
	int version;

	uart_init();
	version = gic_init();
	exception_set_irq_handler(irq_handle);
	gic_set_trigger(UART_INTID, GIC_LEVEL);
	gic_enable_irq(UART_INTID);
	uart_enable_rx_irq();
	printf("irq: GICv%d ready, type, q to quit\n", version);

	/*
	 * Test the flag with IRQs masked, then sleep: an interrupt arriving in between stays
	 * pending and ends the WFI at once, and is taken when IRQs are unmasked again.
	 */
	for (;;) {
		irq_disable();
		if (irq_quit)
			break;
		wfi();
		irq_enable();
	}
	printf("\nirq: %lu interrupts, %lu bytes\nbye\n", irq_count, irq_bytes);
}
