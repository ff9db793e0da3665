/*
 * devices.c - the wires between the device models and this machine: the callbacks each device
 * is given (its interrupt line, where the console's input goes) and their setup.
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "machine.h"

/*
 * The UART's interrupt line, wired to the vGIC. Called with the device lock held, from either
 * thread; KVM_IRQ_LINE is safe while the vCPU runs: KVM marks the interrupt pending and kicks the
 * vCPU out of WFI or the guest.
 */
void uart_irq_set(void *ctx, int level)
{
	struct machine *m = ctx;
	int err = vgic_set_spi(m->vm, UART_INTID, level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", UART_INTID, level, strerror(-err));
	if (level)
		m->stats.irq_raised++;
	else
		m->stats.irq_lowered++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   pl011 line %s (KVM_IRQ_LINE, INTID %d)\n",
			level ? "raised" : "lowered", UART_INTID);
}

/* One clear line when the host cannot give the guest the GIC asked for. */
void gic_unavailable(int version, int err)
{
	if (version == 2)
		die("this host cannot give the guest a GICv2 (KVM_CREATE_DEVICE: %s): KVM emulates "
		    "one only on a GICv2 host or a GICv3 with GICv2 compatibility; leave out "
		    "--gic v2",
		    strerror(-err));
	if (version == 3)
		die("this host cannot give the guest a GICv3 (KVM_CREATE_DEVICE: %s): its GIC is "
		    "older; use --gic v2",
		    strerror(-err));
	die("this host's KVM has no in-kernel GIC (KVM_CREATE_DEVICE: %s)", strerror(-err));
}
