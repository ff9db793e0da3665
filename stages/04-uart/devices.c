/*
 * devices.c - the wires between the device models and this machine: the callbacks each device
 * is given (its interrupt line, where the console's input goes) and their setup.
 */
#include <stdio.h>

#include "machine.h"

/*
 * The UART's interrupt line. With no interrupt controller there is nowhere to send it; we count
 * the changes so --trace and --stats show what stage 05 will deliver.
 */
void uart_irq_set(void *ctx, int level)
{
	struct machine *m = ctx;

	if (level)
		m->stats.irq_raised++;
	else
		m->stats.irq_lowered++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   pl011 line %s (no interrupt controller yet)\n",
			level ? "raised" : "lowered");
}
