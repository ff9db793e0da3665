/*
 * uart.c - the UART as a device of this machine (device.h): the PL011 (pl011.c) in its 4 KiB
 * window at PL011_BASE, what the guest transmits going to the console and what is typed coming
 * from it unless --virtio-console takes the console's input. Its interrupt line (UARTINTR,
 * level-sensitive like every PrimeCell interrupt: PL011 TRM 2.9) is SPI 1 of the vGIC. The
 * machine has one UART, so its state is this file's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "uart.h"
#include "vgic.h"

static struct uart uart;

/*
 * Called with the device lock held, from either thread; KVM_IRQ_LINE is safe while the vCPU runs:
 * KVM marks the interrupt pending and kicks the vCPU out of WFI or the guest.
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

/* The console's input into the UART's receive FIFO (a console_deliver_fn). */
static size_t uart_deliver(void *device, const uint8_t *buf, size_t len)
{
	return pl011_receive(device, buf, len);
}

static void uart_add(struct machine *m, unsigned int i)
{
	struct mmio_device dev = {
		.name = "pl011",
		.base = PL011_BASE,
		.size = PL011_SIZE,
		.opaque = &uart.dev,
		.read = pl011_read,
		.write = pl011_write,
		.reg_name = pl011_reg_name,
	};

	uart.vm = m->vm;
	uart.trace = m->opt->trace;
	if (!m->opt->virtio_console)
		console_init(&m->console, uart_deliver, &uart.dev, &m->lock, STDIN_FILENO,
			     STDOUT_FILENO);
	pl011_init(&uart.dev, &(struct pl011_host){ .tx = console_tx,
						    .rx_wanted = console_rx_wanted,
						    .ctx = &m->console,
						    .irq_set = uart_irq_set,
						    .irq_ctx = &uart });
	if (mmio_bus_add(&m->bus, &dev) < 0)
		die("cannot put the UART on the bus");
}

static int uart_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_uart(fdt);
}

static void uart_stats(const struct machine *m, unsigned int i)
{
	fprintf(stderr,
		"stats: pl011: %" PRIu64 " accesses ignored; interrupt line raised %" PRIu64
		", lowered %" PRIu64 "\n",
		uart.dev.ignored, uart.irq_raised, uart.irq_lowered);
}

const struct device_type uart_device = {
	.name = "pl011",
	.add = uart_add,
	.fdt_node = uart_fdt_node,
	.stats = uart_stats,
};
