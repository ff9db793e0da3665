/*
 * devices.c - the machine's devices: the device table, walked to build a boot and its device tree,
 * count it and take it down; the virtio slots the virtio devices go into, with their interrupts, eventfds and
 * threads; what to say when the host cannot give the machine the interrupt controller it asks
 * for; and the vCPUs' creation.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arm64.h"
#include "eventfds.h"
#include "log.h"
#include "machine.h"
#include "regs.h"

/*
 * The device table: every device of the machine, each described by its own file (device.h), in
 * the order they join a boot. A virtio device takes the next free virtio slot as it joins: the
 * disks from slot 0, as given, so that Linux names them vda, vdb, ...; then the console; then the
 * entropy device, if a slot is left. The slots no device takes answer as empty.
 */
extern const struct device_type uart_device, rtc_device, disk_device, vcon_device, rng_device,
	flash_device;
static const struct device_type *const device_table[] = {
	&uart_device, /* uart.c: the PL011 and the console */
	&flash_device, /* flash.c: a read-only flash bank for --firmware */
	&rtc_device, /* rtc.c: the PL031 real-time clock */
	&disk_device, /* disk.c: each --disk, a virtio-blk */
	&vcon_device, /* vcon.c: --virtio-console */
	&rng_device, /* rng.c: virtio-rng */
};
#define DEVICE_TYPES (sizeof(device_table) / sizeof(device_table[0]))

/*
 * A virtio device's interrupt: virtio-mmio raises it when InterruptStatus gains a bit and lowers it
 * when the driver acknowledges (virtio 1.2, 4.2.3.4). The guest configures these SPIs as
 * edge-triggered, as QEMU virt's device tree says, so each raise is a new interrupt. Called with
 * the device's lock held, by its thread or a vCPU's.
 * Fast path: a write to the irqfd, and KVM makes the edge; lowering the line means nothing to an
 * edge-triggered interrupt, so there is nothing to do. Slow path: KVM_IRQ_LINE, both ways.
 */
static void virtio_irq_set(void *ctx, int level)
{
	struct virtio_slot *s = ctx;
	struct machine *m = s->m;
	int intid = VIRTIO_INTID(s->index), err;

	if (s->irqfd >= 0) {
		uint64_t one = 1;

		if (!level)
			return;
		if (write(s->irqfd, &one, sizeof(one)) != sizeof(one))
			die_errno("cannot signal the irqfd of virtio slot %u", s->index);
	} else {
		err = vgic_set_spi(m->vm, intid, level);
		if (err)
			die("KVM_IRQ_LINE (INTID %d, level %d): %s", intid, level, strerror(-err));
	}
	if (level)
		s->irqs++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   virtio slot %u line %s (%s, INTID %d)\n", s->index,
			level ? "raised" : "lowered", s->irqfd >= 0 ? "KVM_IRQFD" : "KVM_IRQ_LINE",
			intid);
}

/*
 * A virtio device's thread woke up: the guest may have printed on the UART, its bytes queued by
 * KVM, before it notified; they go out first, so the console keeps the guest's order.
 */
static void virtio_slot_woken(void *ctx)
{
	struct machine *m = ctx;

	coalesced_drain(&m->coalesced);
}

/*
 * Where a virtio device's notifications and interrupts go. On the fast path, KVM signals the
 * queues' eventfds when the guest writes QueueNotify, and raises the SPI when we signal the irqfd.
 * The MMIO exit path (virtio_thread_notify) stays for what KVM does not match: a QueueNotify of
 * a queue the device does not have, which the transport refuses.
 */
static void virtio_slot_wire(struct virtio_slot *s, const char *name)
{
	struct machine *m = s->m;
	uint64_t notify = VIRTIO_BASE + s->index * VIRTIO_STRIDE + VIRTIO_MMIO_QUEUE_NOTIFY;
	int err = virtio_thread_init(&s->thread, s->dev, name, m->opt->trace ? stderr : NULL);

	if (err)
		die("cannot make eventfds for %s: %s", name, strerror(-err));
	s->thread.woken = virtio_slot_woken;
	s->thread.woken_ctx = m;
	if (!m->eventfds)
		return;
	s->thread.in_kernel = true;
	for (unsigned int q = 0; q < s->thread.nqueues; q++) {
		err = ioeventfd_attach(m->vm, notify, q, s->thread.queue_fds[q]);
		if (err)
			die("KVM_IOEVENTFD (0x%" PRIx64 ", queue %u): %s", notify, q,
			    strerror(-err));
	}
	s->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irqfd < 0)
		die_errno("cannot make an irqfd for %s", name);
	err = irqfd_attach(m->vm, VIRTIO_INTID(s->index), s->irqfd);
	if (err)
		die("KVM_IRQFD (INTID %d): %s", VIRTIO_INTID(s->index), strerror(-err));
}

/*
 * The next free virtio slot, for a device about to join: the device's init gets the slot's host
 * side (s->host: its interrupt, and where its notifications go), then virtio_slot_plug() puts the
 * device in. Dies with one line if every slot is taken (the options allow no more devices).
 */
struct virtio_slot *virtio_slot_take(struct machine *m)
{
	struct virtio_slot *s;

	if (m->nslots == VIRTIO_SLOTS)
		die("no virtio slot left: there are %d", VIRTIO_SLOTS);
	s = &m->slots[m->nslots];
	*s = (struct virtio_slot){ .m = m, .index = m->nslots++, .irqfd = -1 };
	s->host = (struct virtio_mmio_host){ .irq_set = virtio_irq_set,
					     .irq_ctx = s,
					     .notify = virtio_thread_notify,
					     .notify_ctx = &s->thread };
	return s;
}

/*
 * dev goes into slot s: a device gets its thread and eventfds; the bus sees only the transport's
 * register window.
 */
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
	if (dev != &s->empty)
		virtio_slot_wire(s, name);
	if (mmio_bus_add(&s->m->bus, &window) < 0)
		die("cannot put virtio slot %u on the bus", s->index);
}

/* Undo virtio_slot_plug(), device lock held, before the device itself is destroyed. */
void virtio_slot_unplug(struct virtio_slot *s)
{
	virtio_thread_destroy(&s->thread);
	if (s->irqfd >= 0)
		close(s->irqfd);
}

/* The slots no device took answer as empty, so a driver probing them finds nothing (4.2.2). */
static void virtio_slots_fill_empty(struct machine *m)
{
	while (m->nslots < VIRTIO_SLOTS) {
		struct virtio_slot *s = virtio_slot_take(m);

		virtio_mmio_init_empty(&s->empty);
		virtio_slot_plug(s, &s->empty, "virtio-empty");
	}
}

/* Once per process, before any VM: what each device opens on the host. */
void devices_setup(struct machine *m)
{
	for (size_t t = 0; t < DEVICE_TYPES; t++)
		if (device_table[t]->setup)
			device_table[t]->setup(m);
}

/* Every device joins this boot, in table order, on a bus emptied of the last boot's. */
void devices_add(struct machine *m)
{
	m->ndevices = 0;
	m->nslots = 0;
	for (size_t t = 0; t < DEVICE_TYPES; t++) {
		const struct device_type *type = device_table[t];
		unsigned int n = type->count ? type->count(m) : 1;

		for (unsigned int i = 0; i < n; i++) {
			if (m->ndevices == MACHINE_DEVICES)
				die("too many devices: this machine takes %d", MACHINE_DEVICES);
			m->devices[m->ndevices++] = (struct device){ .type = type, .index = i };
			type->add(m, i);
		}
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
	int err;

	for (unsigned int d = 0; d < m->ndevices; d++) {
		if (!m->devices[d].type->fdt_node)
			continue;
		err = m->devices[d].type->fdt_node(m, m->devices[d].index, fdt);
		if (err)
			return err;
	}
	return 0;
}

/* Each device's --stats lines, in table order. */
void devices_print_stats(const struct machine *m)
{
	for (unsigned int d = 0; d < m->ndevices; d++)
		if (m->devices[d].type->stats)
			m->devices[d].type->stats(m, m->devices[d].index);
}

/* Undo machine_build(), device lock held; what outlives a boot (disks, console) stays. */
void machine_destroy(struct machine *m)
{
	for (unsigned int d = m->ndevices; d-- > 0;)
		if (m->devices[d].type->remove)
			m->devices[d].type->remove(m, m->devices[d].index);
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++)
		if (m->slots[slot].dev == &m->slots[slot].empty)
			virtio_mmio_destroy(&m->slots[slot].empty);
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		munmap(m->vcpus[i].run, m->run_size);
		close(m->vcpus[i].fd);
	}
	if (m->gic.its_fd >= 0)
		close(m->gic.its_fd);
	close(m->gic.fd);
	close(m->vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(m->ram.host, m->ram.size);
}

/* The devices' threads, started before the vCPUs run and stopped after the last one ended. */
void virtio_threads_start(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++)
		if (m->slots[slot].dev != &m->slots[slot].empty)
			virtio_thread_start(&m->slots[slot].thread);
}

void virtio_threads_stop(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++)
		virtio_thread_stop(&m->slots[slot].thread);
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

/*
 * How many vCPUs fit: what KVM takes with this vGIC (KVM_CAP_MAX_VCPUS asked of the VM, which
 * knows its vGIC: a GICv2 serves 8 CPUs), and what our memory map has room for: a GICv2's 8 CPU
 * interfaces, or 128 KiB of GICv3 redistributor per vCPU from 0x080a0000 up to the UART.
 */
void check_cpus(int vm, const struct vgic *gic, unsigned int ncpus)
{
	int kvm_max = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	unsigned int max = gic->version == 2 ? DTB_MAX_CPUS_GICV2 : DTB_MAX_CPUS_GICV3;

	if (kvm_max > 0 && (unsigned int)kvm_max < max)
		max = (unsigned int)kvm_max;
	if (ncpus > max)
		die("--cpus %u is too many: this machine takes at most %u vCPUs with a GICv%d",
		    ncpus, max, gic->version);
}

/*
 * vCPU i. Only vCPU 0 starts running: the others are created powered off
 * (KVM_ARM_VCPU_POWER_OFF) and wait for PSCI CPU_ON. KVM gives each an MPIDR from its index,
 * which the device tree must repeat in the cpu node's reg, or CPU_ON starts the wrong one.
 */
void vcpu_create(struct machine *m, unsigned int i, const struct kvm_vcpu_init *preferred)
{
	struct vcpu *v = &m->vcpus[i];
	struct kvm_vcpu_init init = *preferred;
	uint64_t mpidr;

	*v = (struct vcpu){ .m = m, .index = i };
	v->fd = ioctl(m->vm, KVM_CREATE_VCPU, i);
	if (v->fd < 0)
		die_errno("KVM_CREATE_VCPU %u", i);
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die_errno("cannot map vCPU %u's kvm_run area", i);
	if (i > 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT (vCPU %u)", i);
	/* SVE's vector lengths are fixed now, before any other register is touched. */
	vcpu_features_finalize(v->fd, i, &m->opt->features, &m->features);
	if (regs_get(v->fd, REG_MPIDR_EL1, &mpidr) == 0 &&
	    (mpidr & MPIDR_AFFINITY_MASK) != dtb_cpu_mpidr(i))
		die("vCPU %u has MPIDR 0x%" PRIx64 ", not the 0x%x the device tree says", i, mpidr,
		    dtb_cpu_mpidr(i));
}
