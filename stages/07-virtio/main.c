/*
 * Stage 07: virtio.
 *
 * Emulating real hardware register by register, as the PL011 does, costs an exit per byte. virtio
 * (OASIS virtio 1.2) is hardware designed for virtual machines instead: the guest's driver and the
 * VMM's device share rings of buffer descriptors in guest RAM (virtqueues), and one register write
 * (QueueNotify) hands the device a whole batch of work. This stage puts eight virtio-mmio slots
 * (virtio 1.2, 4.2) on the bus, where memmap.h says: slot n at 0x0a000000 + n * 0x1000, a layout
 * of ours (QEMU's slots are 0x200 apart), with interrupt SPI 16 + n:
 *  - slot 0: virtio-blk, a disk backed by a host file (--disk FILE or --disk FILE,ro);
 *  - slot 1: virtio-console (--virtio-console), which then gets the terminal's input;
 *  - the others are empty: they answer DeviceID 0, as the spec says an absent device does.
 * The transport (virtio_mmio.c), the rings (virtq.c) and the two devices (virtio_blk.c,
 * virtio_console.c) are in their own files, and devices.c wires their interrupt lines to the
 * vGIC; this file adds the steps that create them. Everything else is stage 06.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arm64.h"
#include "console.h"
#include "exits.h"
#include "file.h"
#include "guest_mem.h"
#include "log.h"
#include "machine.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "pl011.h"
#include "regs.h"
#include "size.h"
#include "timer.h"
#include "vgic.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"

static void set_reg(int vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)&value };

	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		die_errno("KVM_SET_ONE_REG 0x%" PRIx64, id);
}

int main(int argc, char **argv)
{
	struct options opt;

	options_parse(argc, argv, &opt);
	int disk_fd = opt.disk ? open_disk(opt.disk, opt.disk_ro) : -1;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die_errno("cannot open /dev/kvm (run ./stage-01 to find out why)");
	/* Guests power off through PSCI 0.2 or later, which KVM implements in the kernel. */
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0)
		die("this KVM has no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2), which guests use to power off");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die_errno("KVM_CREATE_VM");

	/*
	 * Guest RAM: anonymous memory in our address space, then a memory slot telling KVM that
	 * guest physical RAM_BASE.. is backed by it. MAP_NORESERVE: the host commits pages only
	 * when the guest touches them, so a large --mem costs nothing up front.
	 */
	struct guest_mem ram = { .gpa = RAM_BASE, .size = opt.ram_size };
	ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram.host == MAP_FAILED)
		die_errno("cannot allocate %" PRIu64 " bytes of guest RAM", ram.size);

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = ram.gpa,
		.memory_size = ram.size,
		.userspace_addr = (uint64_t)ram.host,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION");

	/* The guest program, copied into that memory. */
	load_guest(&ram, opt.guest);

	/*
	 * The interrupt controller: a KVM device, placed where QEMU's virt machine has its GIC,
	 * with 128 interrupt IDs. This may come before or after creating the vCPUs, but always
	 * before the first KVM_RUN.
	 */
	struct vgic gic;
	int err = vgic_create(vm, opt.gic_version, &gic);
	if (err)
		gic_unavailable(opt.gic_version, err);
	if (gic.version == 3)
		info("vGICv3: distributor 0x%08lx, redistributors from 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_REDIST_BASE, GIC_NR_IRQS);
	else
		info("vGICv2: distributor 0x%08lx, CPU interface 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_CPU_BASE, GIC_NR_IRQS);

	/*
	 * A vCPU. KVM_ARM_PREFERRED_TARGET names the CPU model KVM emulates best on this host;
	 * KVM_ARM_VCPU_INIT resets the vCPU to that model. We also ask for PSCI 0.2, the firmware
	 * interface a guest uses to power off (api.rst, 4.82 KVM_ARM_VCPU_INIT).
	 */
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die_errno("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die_errno("cannot map the vCPU's kvm_run area");

	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT");

	/*
	 * Every vCPU exists: now, and not before, the vGIC can be initialised. It sizes itself
	 * for the vCPUs it sees; a KVM_CREATE_VCPU after this fails with EBUSY. (For a GICv3,
	 * KVM_IRQ_LINE before this fails with EBUSY too.)
	 */
	err = vgic_init(&gic);
	if (err)
		die("KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-err));

	/*
	 * The timers' interrupts: which PPI each of the vCPU's timers raises in the vGIC. This
	 * needs the vGIC to exist, applies to every vCPU created so far, and must happen before any
	 * of them runs. A kernel without these attributes uses the same numbers by default.
	 */
	int virt_intid, phys_intid;
	err = timer_set_irqs(vcpu, TIMER_VIRT_INTID, TIMER_PHYS_INTID);
	if (err == -ENXIO)
		info("this kernel has no KVM_ARM_VCPU_TIMER_CTRL: its default timer interrupts apply");
	else if (err)
		die("cannot set the timer interrupts (KVM_ARM_VCPU_TIMER_CTRL): %s",
		    strerror(-err));
	if (timer_get_irqs(vcpu, &virt_intid, &phys_intid) == 0)
		info("vCPU 0 timers: virtual INTID %d, physical INTID %d", virt_intid, phys_intid);

	/* Where it starts: the first instruction of the image, in the state booting.rst asks. */
	uint64_t entry = ram.gpa + IMAGE_OFFSET;
	set_reg(vcpu, REG_PC, entry);
	set_reg(vcpu, REG_PSTATE, PSTATE_BOOT);
	set_reg(vcpu, REG_X(0), 0); /* no device tree yet (stage 08) */
	info("vCPU 0: PC = 0x%" PRIx64 ", PSTATE = 0x%lx (EL1h, interrupts masked)", entry,
	     PSTATE_BOOT);

	/*
	 * The devices. The UART occupies its 4 KiB window on the bus and its interrupt line goes
	 * to the vGIC. Static, not on the stack: the input thread may still use it while exit() runs
	 * after main returns.
	 */
	static struct machine m;
	m = (struct machine){ .vm = vm, .vcpu = vcpu, .run = run, .opt = &opt };
	pthread_mutex_init(&m.lock, NULL);
	m.bus.trace = opt.trace ? stderr : NULL;
	pl011_init(&m.uart, &(struct pl011_host){ .tx = console_tx,
						  .rx_wanted = console_rx_wanted,
						  .ctx = &m.console,
						  .irq_set = uart_irq_set,
						  .irq_ctx = &m });
	struct mmio_device uart_dev = {
		.name = "pl011",
		.base = PL011_BASE,
		.size = PL011_SIZE,
		.opaque = &m.uart,
		.read = pl011_read,
		.write = pl011_write,
		.reg_name = pl011_reg_name,
	};
	if (mmio_bus_add(&m.bus, &uart_dev) < 0)
		die("cannot put the UART on the bus");

	/*
	 * The virtio slots. Each device gets guest RAM (its queues live there) and an interrupt
	 * line; the bus sees only the transport's register window.
	 */
	virtio_slots_add(&m, &ram, disk_fd);

	/* The terminal: its input goes to virtio-console if there is one, else the UART. */
	if (opt.virtio_console)
		console_init(&m.console, vcon_deliver, &m.vcon, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO);
	else
		console_init(&m.console, uart_deliver, &m.uart, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO);

	/* Input from now on arrives on its own thread; the vCPU runs on this one. */
	console_start(&m.console);
	int status = run_loop(&m);

	/*
	 * The guest is gone, but the input thread may still deliver a key, and with it raise the
	 * UART's line on the VM we are about to close. Taking the device lock for good keeps it out
	 * until the process ends.
	 */
	pthread_mutex_lock(&m.lock);
	if (opt.stats)
		print_stats(&m);
	munmap(run, run_size);
	close(vcpu);
	close(gic.fd);
	close(vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(ram.host, ram.size);
	close(kvm);
	return status;
}
