/*
 * devices.c - the machine's devices: the device table, walked to build the machine, its device
 * tree and to count;
 * the virtio slots the virtio devices go into, with their interrupts; and what to say when the
 * host cannot give the machine the interrupt controller it asks for.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "machine.h"

/*
 * The device table: every device of the machine, each described by its own file (device.h), in
 * the order they join it. Each virtio device has a slot of its own (memmap.h); the slots no
 * device takes answer as empty.
 */
extern const struct device_type uart_device, disk_device, vcon_device;
static const struct device_type *const device_table[] = {
	&uart_device, /* uart.c: the PL011 and the console */
	&disk_device, /* disk.c: --disk, a virtio-blk */
	&vcon_device, /* vcon.c: --virtio-console */
};
#define DEVICE_TYPES (sizeof(device_table) / sizeof(device_table[0]))

/*
 * A virtio device's interrupt: virtio-mmio raises it when InterruptStatus gains a bit and lowers it
 * when the driver acknowledges (virtio 1.2, 4.2.3.4). The guest configures these SPIs as
 * edge-triggered, as QEMU virt's device tree says, so each raise is a new interrupt.
 */
void virtio_irq_set(void *ctx, int level)
{
	struct virtio_slot *s = ctx;
	struct machine *m = s->m;
	int err = vgic_set_spi(m->vm, VIRTIO_INTID(s->index), level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", VIRTIO_INTID(s->index), level,
		    strerror(-err));
	if (level)
		s->irqs++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   virtio slot %u line %s (KVM_IRQ_LINE, INTID %d)\n",
			s->index, level ? "raised" : "lowered", VIRTIO_INTID(s->index));
}

/*
 * Virtio slot `index`, for a device about to join: the device's init gets the slot as the context
 * of its interrupt (virtio_irq_set), then virtio_slot_plug() puts the device in.
 */
struct virtio_slot *virtio_slot_take(struct machine *m, unsigned int index)
{
	struct virtio_slot *s = &m->slots[index];

	*s = (struct virtio_slot){ .m = m, .index = index };
	return s;
}

/* dev goes into slot s: the bus sees only the transport's register window. */
void virtio_slot_plug(struct virtio_slot *s, struct virtio_mmio *dev, const char *name)
{
	struct mmio_device window = {
		.name = name,
		.base = VIRTIO_BASE + s->index * VIRTIO_STRIDE,
		.size = VIRTIO_WINDOW,
		.opaque = dev,
		.read = virtio_mmio_read,
		.write = virtio_mmio_write,
	};

	s->dev = dev;
	if (mmio_bus_add(&s->m->bus, &window) < 0)
		die("cannot put virtio slot %u on the bus", s->index);
}

/* The slots no device took answer as empty, so a driver probing them finds nothing (4.2.2). */
static void virtio_slots_fill_empty(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_slot *s = &m->slots[slot];

		if (s->dev)
			continue;
		s = virtio_slot_take(m, slot);
		virtio_mmio_init_empty(&s->empty);
		virtio_slot_plug(s, &s->empty, "virtio-empty");
	}
}

/* Once, before any VM: what each device opens on the host. */
void devices_setup(struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++)
		if (device_table[t]->setup)
			device_table[t]->setup(m);
}

/* Every device joins the machine, in table order, as many of each as the options ask. */
void devices_add(struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++) {
		const struct device_type *type = device_table[t];
		unsigned int n = type->count ? type->count(m) : 1;

		for (unsigned int i = 0; i < n; i++)
			type->add(m, i);
	}
	virtio_slots_fill_empty(m);
}

/*
 * Each device's node in the device tree (dtb_build()'s add_devices; ctx: the machine), in table
 * order, which is the virtio slots' ascending order too.
 */
int devices_fdt(void *fdt, const void *ctx)
{
	const struct machine *m = ctx;

	for (size_t t = 0; t < DEVICE_TYPES; t++) {
		const struct device_type *type = device_table[t];
		unsigned int n = type->count ? type->count(m) : 1;
		int err;

		for (unsigned int i = 0; i < n && type->fdt_node; i++) {
			err = type->fdt_node(m, i, fdt);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Each device's --stats lines, in table order. */
void devices_print_stats(const struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++) {
		const struct device_type *type = device_table[t];
		unsigned int n = type->count ? type->count(m) : 1;

		for (unsigned int i = 0; i < n && type->stats; i++)
			type->stats(m, i);
	}
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
