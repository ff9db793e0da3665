/*
 * uart.c - the UART as a device of this machine (device.h): the PL011 (pl011.c) in its 4 KiB
 * window at PL011_BASE, what the guest transmits going to the console and what is typed coming
 * from it unless --virtio-console takes the console's input. Its interrupt line (UARTINTR,
 * level-sensitive like every PrimeCell interrupt: PL011 TRM 2.9) is SPI 1 of the vGIC. The
 * machine has one UART, so its state is this file's.
 *
 * Three kinds of thread touch the PL011: any vCPU, on an MMIO exit; the console's input thread,
 * with keys; main(), building or taking down a boot. The model has no lock of its own, so it sits
 * on the bus behind the machine lock, which the input thread and main() take too (machine.h).
 * Its data register is coalesced MMIO (coalesced.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "uart.h"
#include "vgic.h"

static struct uart uart;

/*
 * Called with the device lock held, from any thread; KVM_IRQ_LINE is safe while vCPUs run: KVM
 * marks the interrupt pending and kicks the vCPU it targets out of WFI or the guest.
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

/*
 * The PL011's data register, coalesced (coalesced.c): KVM queues the guest's bytes instead of
 * exiting for each. Not with --no-coalesced-mmio, nor where KVM cannot: each byte is then an MMIO
 * exit, as in stage 04. UARTDR is the register at PL011_BASE (PL011 TRM 3.3), 4 bytes wide.
 */
static void uart_coalesce(struct machine *m)
{
	int err;

	if (!m->coalesced_page)
		return;
	err = coalesced_start(&m->coalesced, m->vm, m->vcpus[0].run, m->run_size, m->coalesced_page,
			      PL011_BASE, 4, &m->bus);
	if (err)
		warn("cannot coalesce the UART's writes (%s): one MMIO exit per byte",
		     strerror(-err));
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
		.lock = &m->lock,
	};

	uart.vm = m->vm;
	uart.trace = m->opt->trace;
	uart.irq_raised = uart.irq_lowered = 0;
	if (!m->opt->virtio_console)
		console_connect(&m->console, uart_deliver, &uart.dev);
	pl011_init(&uart.dev, &(struct pl011_host){ .tx = console_tx,
						    .rx_wanted = console_rx_wanted,
						    .ctx = &m->console,
						    .irq_set = uart_irq_set,
						    .irq_ctx = &uart });
	if (mmio_bus_add(&m->bus, &dev) < 0)
		die("cannot put the UART on the bus");
	uart_coalesce(m);
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
	if (m->coalesced_page)
		fprintf(stderr,
			"stats: pl011: %" PRIu64 " data register writes coalesced (no exit)\n",
			m->coalesced.writes);
}

const struct device_type uart_device = {
	.name = "pl011",
	.add = uart_add,
	.fdt_node = uart_fdt_node,
	.stats = uart_stats,
};
