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
#include <sys/stat.h>
#include <unistd.h>

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
 * O_NONBLOCK: opening a FIFO read-only must not wait for a writer before we can refuse it; the
 * flag is cleared once we know it is a file (it means nothing to one).
 */
int open_disk(const char *path, bool read_only)
{
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
 * The virtio slots: each device gets guest RAM (its queues live there) and an interrupt line; the
 * bus sees only the transport's register window. A slot with no device answers as empty.
 */
void virtio_slots_add(struct machine *m, const struct guest_mem *ram, int disk_fd)
{
	int err;

	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_mmio *transport = &m->empty[slot];
		struct virtio_line *line = &m->lines[slot];
		const char *name = "virtio-empty";

		*line = (struct virtio_line){ .m = m, .slot = slot };
		if (slot == VIRTIO_DISK_SLOT && disk_fd >= 0) {
			err = virtio_blk_init(&m->blk, disk_fd, m->opt->disk_ro, "veleiro-disk0",
					      ram, virtio_irq_set, line);
			if (err)
				die("disk %s: %s", m->opt->disk, strerror(-err));
			transport = &m->blk.mmio;
			name = "virtio-blk";
			info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", m->opt->disk,
			     m->opt->disk_ro ? " (read-only)" : "", m->blk.capacity, slot);
		} else if (slot == VIRTIO_CONSOLE_SLOT && m->opt->virtio_console) {
			virtio_console_init(&m->vcon, STDOUT_FILENO, console_rx_wanted, &m->console,
					    ram, virtio_irq_set, line);
			transport = &m->vcon.mmio;
			name = "virtio-console";
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
}
