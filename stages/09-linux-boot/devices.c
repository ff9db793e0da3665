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
#include <sys/stat.h>
#include <unistd.h>

#include "arm64.h"
#include "log.h"
#include "machine.h"
#include "regs.h"

/*
 * The UART's interrupt line, wired to the vGIC. Called with the device lock held, from any
 * thread; KVM_IRQ_LINE is safe while vCPUs run: KVM marks the interrupt pending and kicks the
 * vCPU it targets out of WFI or the guest.
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

/*
 * A virtio device's interrupt: virtio-mmio raises it when InterruptStatus gains a bit and lowers it
 * when the driver acknowledges (virtio 1.2, 4.2.3.4). The guest configures these SPIs as
 * edge-triggered, as QEMU virt's device tree says, so each raise is a new interrupt.
 */
void virtio_irq_set(void *ctx, int level)
{
	struct virtio_line *line = ctx;
	struct machine *m = line->m;
	int err = vgic_set_spi(m->vm, VIRTIO_INTID(line->slot), level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", VIRTIO_INTID(line->slot), level,
		    strerror(-err));
	if (level)
		m->stats.virtio_irqs[line->slot]++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   virtio slot %u line %s (KVM_IRQ_LINE, INTID %d)\n",
			line->slot, level ? "raised" : "lowered", VIRTIO_INTID(line->slot));
}

/* The console's input goes to one device; these give both the console_deliver_fn shape. */
size_t uart_deliver(void *device, const uint8_t *buf, size_t len)
{
	return pl011_receive(device, buf, len);
}

size_t vcon_deliver(void *device, const uint8_t *buf, size_t len)
{
	return virtio_console_input(device, buf, len);
}

/*
 * Open the disk before there is a VM, so a mistake costs one clear line and nothing else. A
 * writable disk must be writable: finding out at the guest's first write would be too late.
 */
int open_disk(const char *path, bool read_only)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
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
	in_use = virtio_blk_lock(fd, read_only);
	if (in_use)
		die("cannot use disk %s: %s", path, in_use);
	return fd;
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
 * The virtio slots: the disks from slot 0, then the console, then the entropy device in the first
 * slot left free; the rest empty. Returns the slots that hold a device, for the device tree.
 */
uint32_t virtio_slots_add(struct machine *m)
{
	uint32_t populated = 0;
	int err;

	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_mmio *transport = &m->empty[slot];
		struct virtio_line *line = &m->lines[slot];
		const char *name = "virtio-empty";

		*line = (struct virtio_line){ .m = m, .slot = slot };
		if (slot < m->opt->ndisks) {
			const struct disk_option *d = &m->opt->disks[slot];
			struct virtio_blk *blk = &m->blks[slot];
			char serial[VIRTIO_BLK_ID_BYTES + 1];

			snprintf(serial, sizeof(serial), "veleiro-disk%u", slot);
			err = virtio_blk_init(blk, m->disk_fds[slot], d->read_only, serial, &m->ram,
					      virtio_irq_set, line);
			if (err)
				die("disk %s: %s", d->path, strerror(-err));
			transport = &blk->mmio;
			name = "virtio-blk";
			populated |= 1U << slot;
			info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", d->path,
			     d->read_only ? " (read-only)" : "", blk->capacity, slot);
		} else if (slot == m->opt->ndisks && m->opt->virtio_console) {
			virtio_console_init(&m->vcon, STDOUT_FILENO, console_rx_wanted, &m->console,
					    &m->ram, virtio_irq_set, line);
			transport = &m->vcon.mmio;
			name = "virtio-console";
			populated |= 1U << slot;
			info("virtio-console: slot %u", slot);
		} else if (slot == m->opt->ndisks + m->opt->virtio_console) {
			virtio_rng_init(&m->rng, &m->ram, virtio_irq_set, line);
			transport = &m->rng.mmio;
			name = "virtio-rng";
			populated |= 1U << slot;
			info("virtio-rng: slot %u", slot);
		} else {
			virtio_mmio_init_empty(transport);
		}
		struct mmio_device dev = {
			.name = name,
			.base = VIRTIO_BASE + slot * VIRTIO_STRIDE,
			.size = VIRTIO_WINDOW,
			.opaque = transport,
			.read = virtio_mmio_read,
			.write = virtio_mmio_write,
		};
		if (mmio_bus_add(&m->bus, &dev) < 0)
			die("cannot put virtio slot %u on the bus", slot);
	}
	return populated;
}

/* Undo machine_build(), device lock held; what outlives a boot (disks, console) stays. */
void machine_destroy(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		if (slot < m->opt->ndisks)
			virtio_blk_destroy(&m->blks[slot]);
		else if (slot == m->opt->ndisks && m->opt->virtio_console)
			virtio_console_destroy(&m->vcon);
		else if (slot == m->opt->ndisks + m->opt->virtio_console)
			virtio_rng_destroy(&m->rng);
		else
			virtio_mmio_destroy(&m->empty[slot]);
	}
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		munmap(m->vcpus[i].run, m->run_size);
		close(m->vcpus[i].fd);
	}
	close(m->gic.fd);
	munmap(m->ram.host, m->ram.size);
	close(m->vm);
}
