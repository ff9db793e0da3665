/*
 * devices.c - the machine's devices: the device table, walked to build the machine and to count.
 */
#include <stddef.h>

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
