/*
 * devices.c - the machine's devices: the device table, walked to build the machine and to count;
 * and what to say when the host cannot give it the interrupt controller it asks for.
 */
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "machine.h"

/*
 * The device table: every device of the machine, each described by its own file (device.h), in
 * the order they join it. One so far.
 */
extern const struct device_type uart_device;
static const struct device_type *const device_table[] = {
	&uart_device, /* uart.c: the PL011 and the console */
};
#define DEVICE_TYPES (sizeof(device_table) / sizeof(device_table[0]))

/* Every device joins the machine, in table order. */
void devices_add(struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++)
		device_table[t]->add(m, 0);
}

/* Each device's --stats lines, in table order. */
void devices_print_stats(const struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++)
		if (device_table[t]->stats)
			device_table[t]->stats(m, 0);
}

/* One clear line when the host cannot give the guest the GIC asked for. */
void gic_unavailable(int version, int err)
{
	if (version == 2)
		die("this host cannot give the guest a GICv2 (KVM_CREATE_DEVICE: %s): KVM emulates one "
		    "only on a GICv2 host or a GICv3 with GICv2 compatibility; leave out --gic v2",
		    strerror(-err));
	if (version == 3)
		die("this host cannot give the guest a GICv3 (KVM_CREATE_DEVICE: %s): its GIC is "
		    "older; use --gic v2",
		    strerror(-err));
	die("this host's KVM has no in-kernel GIC (KVM_CREATE_DEVICE: %s)", strerror(-err));
}
