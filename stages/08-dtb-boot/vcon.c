/*
 * vcon.c - the virtio-console (virtio_console.c) as a device of this machine (device.h): with
 * --virtio-console, in virtio slot VIRTIO_CONSOLE_SLOT, and the console's input is its.
 */
#include <stdio.h>
#include <unistd.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "virtio_console.h"

static struct virtio_console vcon;
static struct virtio_slot *vcon_slot;

/* The console's input into virtio-console (a console_deliver_fn). */
static size_t vcon_deliver(void *device, const uint8_t *buf, size_t len)
{
	return virtio_console_input(device, buf, len);
}

static unsigned int vcon_count(const struct machine *m)
{
	return m->opt->virtio_console;
}

static void vcon_add(struct machine *m, unsigned int i)
{
	struct virtio_slot *s = virtio_slot_take(m, VIRTIO_CONSOLE_SLOT);

	virtio_console_init(&vcon, STDOUT_FILENO, console_rx_wanted, &m->console, &m->ram,
			    virtio_irq_set, s);
	virtio_slot_plug(s, &vcon.mmio, "virtio-console");
	vcon_slot = s;
	console_init(&m->console, vcon_deliver, &vcon, &m->lock, STDIN_FILENO, STDOUT_FILENO);
}

static int vcon_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_virtio(fdt, vcon_slot->index);
}

static void vcon_stats(const struct machine *m, unsigned int i)
{
	virtio_slot_print_stats(vcon_slot);
}

const struct device_type vcon_device = {
	.name = "virtio-console",
	.count = vcon_count,
	.add = vcon_add,
	.fdt_node = vcon_fdt_node,
	.stats = vcon_stats,
};
