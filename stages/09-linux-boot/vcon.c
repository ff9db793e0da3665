/*
 * vcon.c - the virtio-console (virtio_console.c) as a device of this machine (device.h): with
 * --virtio-console, one, in the slot after the disks, and the console's input is its: what is
 * typed reaches the guest's hvc0, while the kernel's own messages stay on the PL011.
 */
#include <pthread.h>
#include <stdio.h>

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

/*
 * virtio-console's receiveq gained buffers: wake the console's input thread, which may hold input
 * the guest had no room for. Called by the device's thread with no lock held; the input thread
 * waits under the machine lock, so the wake-up is given under it too, or it could come between
 * the input thread's look at the device and its wait, and be lost.
 */
static void vcon_rx_ready(void *ctx)
{
	struct machine *m = ctx;

	pthread_mutex_lock(&m->lock);
	console_rx_wanted(&m->console);
	pthread_mutex_unlock(&m->lock);
}

static unsigned int vcon_count(const struct machine *m)
{
	return m->opt->virtio_console;
}

static void vcon_add(struct machine *m, unsigned int i)
{
	struct virtio_slot *s = virtio_slot_take(m);

	virtio_console_init(&vcon, m->console.out_fd, vcon_rx_ready, m, &m->ram, &s->host);
	virtio_slot_plug(s, &vcon.mmio, "virtio-console");
	vcon_slot = s;
	console_connect(&m->console, vcon_deliver, &vcon);
	info("virtio-console: slot %u", s->index);
}

static int vcon_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_virtio(fdt, vcon_slot->index);
}

static void vcon_stats(const struct machine *m, unsigned int i)
{
	virtio_slot_print_stats(vcon_slot);
}

static void vcon_remove(struct machine *m, unsigned int i)
{
	virtio_slot_unplug(vcon_slot);
	virtio_console_destroy(&vcon);
}

const struct device_type vcon_device = {
	.name = "virtio-console",
	.count = vcon_count,
	.add = vcon_add,
	.fdt_node = vcon_fdt_node,
	.stats = vcon_stats,
	.remove = vcon_remove,
};
