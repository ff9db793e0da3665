/*
 * uart.c - the host side of the PL011: what the guest transmits goes to the console, what is typed
 * comes from the console's input thread, and its interrupt UARTINTR (level-sensitive, like every
 * PrimeCell interrupt: PL011 TRM 2.9) is SPI 1 of the vGIC.
 *
 * Three kinds of thread touch the PL011: any vCPU, on an MMIO exit; the console's input thread,
 * with keys; main(), building or taking down a boot. The model has no lock of its own, so it sits
 * on the bus behind the machine lock, which the input thread and main() take too (machine.h).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "memmap.h"
#include "uart.h"
#include "vgic.h"

/*
 * Called with the lock held, from any thread; KVM_IRQ_LINE is safe while vCPUs run: KVM marks the
 * interrupt pending and kicks the vCPU it targets out of WFI or the guest.
 */
static void uart_irq_set(void *ctx, int level)
{
	struct uart *u = ctx;
	int err = vgic_set_spi(u->vm, UART_INTID, level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", UART_INTID, level, strerror(-err));
	if (level)
		u->irq_raised++;
	else
		u->irq_lowered++;
	if (u->trace)
		fprintf(stderr, "trace: IRQ   pl011 line %s (KVM_IRQ_LINE, INTID %d)\n",
			level ? "raised" : "lowered", UART_INTID);
}

size_t uart_deliver(void *device, const uint8_t *buf, size_t len)
{
	struct uart *u = device;

	return pl011_receive(&u->dev, buf, len);
}

void uart_attach(struct uart *u, struct mmio_bus *bus, pthread_mutex_t *lock,
		 struct console *console, int vm, bool trace)
{
	struct mmio_device dev = {
		.name = "pl011",
		.base = PL011_BASE,
		.size = PL011_SIZE,
		.opaque = &u->dev,
		.read = pl011_read,
		.write = pl011_write,
		.reg_name = pl011_reg_name,
		.lock = lock,
	};

	u->vm = vm;
	u->trace = trace;
	u->irq_raised = u->irq_lowered = 0;
	pl011_init(&u->dev, &(struct pl011_host){ .tx = console_tx,
						  .rx_wanted = console_rx_wanted,
						  .ctx = console,
						  .irq_set = uart_irq_set,
						  .irq_ctx = u });
	if (mmio_bus_add(bus, &dev) < 0)
		die("cannot put the UART on the bus");
}
