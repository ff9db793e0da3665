/*
 * devices.c - the wires between the device models and this machine: the callbacks each device
 * is given (its interrupt line, where the console's input goes) and their setup.
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
 * The PL011's data register, coalesced (coalesced.c): KVM queues the guest's bytes instead of
 * exiting for each. Not with --no-coalesced-mmio, nor where KVM cannot: each byte is then an MMIO
 * exit, as in stage 04. UARTDR is the register at PL011_BASE (PL011 TRM 3.3), 4 bytes wide.
 */
void uart_coalesce(struct machine *m)
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

/* The console's input into virtio-console (a console_deliver_fn). */
size_t vcon_deliver(void *device, const uint8_t *buf, size_t len)
{
	return virtio_console_input(device, buf, len);
}

/*
 * Open the disk before there is a VM, so a mistake costs one clear line and nothing else. A
 * writable disk must be writable: finding out at the guest's first write would be too late.
 * O_NONBLOCK: opening a FIFO read-only must not wait for a writer before we can refuse it; the
 * flag is cleared once we know it is a file (it means nothing to one). Disk i of the options.
 */
static int open_disk(const struct machine *m, unsigned int i)
{
	const char *path = m->opt->disks[i].path;
	bool read_only = m->opt->disks[i].read_only;
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	const char *in_use;
	struct stat st;

	if (fd < 0 && !read_only && (errno == EACCES || errno == EROFS || errno == EPERM))
		die("cannot open disk %s for writing: %s (add ,ro to use it read-only)", path,
		    strerror(errno));
	if (fd < 0)
		die("cannot open disk %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die_errno("cannot stat disk %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		die("disk %s is not a file or a block device", path);
	if (fcntl(fd, F_SETFL, 0) < 0)
		die_errno("cannot use disk %s", path);
	/*
	 * The same file given twice, once writable, would be two disks the guest can write behind
	 * each other's back. Say so before the lock does (it would blame "another process").
	 * Read-only twice is harmless, and allowed.
	 */
	for (unsigned int j = 0; j < i; j++) {
		struct stat other;

		if (fstat(m->disk_fds[j], &other) == 0 && other.st_dev == st.st_dev &&
		    other.st_ino == st.st_ino && !(read_only && m->opt->disks[j].read_only))
			die("--disk %s is the same file as --disk %s: a disk the guest may write can "
			    "be given only once",
			    path, m->opt->disks[j].path);
	}
	in_use = virtio_blk_lock(fd, read_only);
	if (in_use)
		die("cannot use disk %s: %s", path, in_use);
	return fd;
}

/* Every --disk, in order, before there is a VM. */
void open_disks(struct machine *m)
{
	for (unsigned int i = 0; i < m->opt->ndisks; i++)
		m->disk_fds[i] = open_disk(m, i);
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
 * The virtio slots: the disks from slot 0, then the console, then the entropy device in the first
 * slot left free; the rest empty. Returns the slots that hold a device, for the device tree.
 */
uint32_t virtio_slots_add(struct machine *m)
{
	uint32_t populated = 0;
	int err;

	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_slot *s = &m->slots[slot];
		const char *name = "virtio-empty";

		*s = (struct virtio_slot){ .m = m, .index = slot, .dev = &s->empty, .irqfd = -1 };
		struct virtio_mmio_host host = { .irq_set = virtio_irq_set,
						 .irq_ctx = s,
						 .notify = virtio_thread_notify,
						 .notify_ctx = &s->thread };
		if (slot < m->opt->ndisks) {
			const struct disk_option *d = &m->opt->disks[slot];
			struct virtio_blk *blk = &m->blks[slot];
			char serial[VIRTIO_BLK_ID_BYTES + 1];

			snprintf(serial, sizeof(serial), "veleiro-disk%u", slot);
			err = virtio_blk_init(blk, m->disk_fds[slot], d->read_only, serial, &m->ram,
					      &host);
			if (err)
				die("disk %s: %s", d->path, strerror(-err));
			s->dev = &blk->mmio;
			name = "virtio-blk";
			info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", d->path,
			     d->read_only ? " (read-only)" : "", blk->capacity, slot);
		} else if (slot == m->opt->ndisks && m->opt->virtio_console) {
			virtio_console_init(&m->vcon, m->console.out_fd, vcon_rx_ready, m, &m->ram,
					    &host);
			s->dev = &m->vcon.mmio;
			name = "virtio-console";
			info("virtio-console: slot %u", slot);
		} else if (slot == m->opt->ndisks + m->opt->virtio_console) {
			virtio_rng_init(&m->rng, &m->ram, &host);
			s->dev = &m->rng.mmio;
			name = "virtio-rng";
			info("virtio-rng: slot %u", slot);
		} else {
			virtio_mmio_init_empty(&s->empty);
		}
		if (s->dev != &s->empty) {
			populated |= 1U << slot;
			virtio_slot_wire(s, name);
		}
		struct mmio_device dev = {
			.name = name,
			.base = VIRTIO_BASE + slot * VIRTIO_STRIDE,
			.size = VIRTIO_WINDOW,
			.opaque = s->dev,
			.read = virtio_mmio_read,
			.write = virtio_mmio_write,
		};
		if (mmio_bus_add(&m->bus, &dev) < 0)
			die("cannot put virtio slot %u on the bus", slot);
	}
	return populated;
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

/* Undo machine_build(), device lock held; what outlives a boot (disks, console) stays. */
void machine_destroy(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_slot *s = &m->slots[slot];

		if (s->dev == &s->empty) {
			virtio_mmio_destroy(&s->empty);
			continue;
		}
		virtio_thread_destroy(&s->thread);
		if (s->irqfd >= 0)
			close(s->irqfd);
		if (slot < m->opt->ndisks)
			virtio_blk_destroy(&m->blks[slot]);
		else if (s->dev == &m->vcon.mmio)
			virtio_console_destroy(&m->vcon);
		else
			virtio_rng_destroy(&m->rng);
	}
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		munmap(m->vcpus[i].run, m->run_size);
		close(m->vcpus[i].fd);
	}
	close(m->gic.fd);
	close(m->vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(m->ram.host, m->ram.size);
}
