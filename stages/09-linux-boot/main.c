/*
 * main.c - this stage's VMM, top to bottom: the story of the machine it builds, one step at a
 * time. What the stage adds to the one before, and why, is in its card (README.md, beside this
 * file) and its chapter (docs/tutorial/); `make diff-NN` shows the code that does it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "arm64.h"
#include "boot.h"
#include "console.h"
#include "dtb.h"
#include "eventfds.h"
#include "exits.h"
#include "guest_mem.h"
#include "log.h"
#include "machine.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "regs.h"
#include "size.h"
#include "timer.h"
#include "vcpu_features.h"
#include "vgic.h"

static void set_reg(int vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)&value };

	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		die_errno("KVM_SET_ONE_REG 0x%" PRIx64, id);
}

/* /dev/kvm, and what every stage needs of it: PSCI, for the guest to power off. */
static void kvm_open(struct machine *m)
{
	m->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm < 0)
		die_errno("cannot open /dev/kvm (run ./stage-01 to find out why)");
	/* Guests power off through PSCI 0.2 or later, which KVM implements in the kernel. */
	if (ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0)
		die("this KVM has no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2), which guests use to power off");
	/* immediate_exit is what makes a kick reliable (api.rst 5); every arm64 KVM since 4.11. */
	if (ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		die("this KVM has no KVM_CAP_IMMEDIATE_EXIT, which stopping the vCPUs relies on");
}

/* A VM, and guest RAM backing it. */
static void vm_create(struct machine *m)
{
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, vm_type_for(m->kvm, RAM_BASE + m->opt->ram_size));
	if (m->vm < 0)
		die_errno("KVM_CREATE_VM");
	/* Accesses KVM cannot decode come to us as KVM_EXIT_ARM_NISV, not as a failed KVM_RUN. */
	if (ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

		if (ioctl(m->vm, KVM_ENABLE_CAP, &cap) < 0)
			die_errno("KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)");
	}

	/*
	 * Guest RAM, new for every boot: a fresh anonymous mapping reads as zeros, so nothing of
	 * the last boot survives. MAP_NORESERVE: the host commits pages only when the guest
	 * touches them, so a large --mem costs nothing up front.
	 */
	m->ram = (struct guest_mem){ .gpa = RAM_BASE, .size = m->opt->ram_size };
	m->ram.host = mmap(NULL, m->ram.size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram.host == MAP_FAILED)
		die_errno("cannot allocate %" PRIu64 " bytes of guest RAM", m->ram.size);

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = m->ram.gpa,
		.memory_size = m->ram.size,
		.userspace_addr = (uint64_t)m->ram.host,
	};
	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION");
}

/*
 * The interrupt controller: a KVM device, placed where QEMU's virt machine has its GIC,
 * with 128 interrupt IDs. This may come before or after creating the vCPUs, but always
 * before the first KVM_RUN.
 */
static void gic_create(struct machine *m)
{
	int err = vgic_create(m->vm, m->opt->gic_version, &m->gic);
	if (err)
		gic_unavailable(m->opt->gic_version, err);
	/* Whether it can serve as many vCPUs as asked for. */
	check_cpus(m->vm, &m->gic, m->opt->ncpus);
	/* A GICv3's ITS, for message-signalled interrupts, where KVM offers one (--no-its: none). */
	if (m->gic.version == 3 && !m->opt->no_its) {
		err = vgic_its_create(m->vm, &m->gic);
		if (err)
			info("no GICv3 ITS: this KVM has none (%s)", strerror(-err));
		else
			info("GICv3 ITS at 0x%08lx", GIC_ITS_BASE);
	}
	if (m->gic.version == 3)
		info("vGICv3: distributor 0x%08lx, redistributors from 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_REDIST_BASE, GIC_NR_IRQS);
	else
		info("vGICv2: distributor 0x%08lx, CPU interface 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_CPU_BASE, GIC_NR_IRQS);
}

/*
 * Every vCPU, all of the CPU model KVM prefers here (KVM_ARM_PREFERRED_TARGET), with PSCI 0.2
 * or later and the features the options ask for; vCPU i in devices.c's vcpu_create().
 */
static void vcpus_create(struct machine *m)
{
	struct kvm_vcpu_init init;

	if (ioctl(m->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	vcpu_features_choose(m->vm, &m->opt->features, &m->features, &init);
	for (unsigned int i = 0; i < m->opt->ncpus; i++)
		vcpu_create(m, i, &init);
}

/*
 * Every vCPU exists: now, and not before, the vGIC can be initialised. It sizes itself
 * for the vCPUs it sees; a KVM_CREATE_VCPU after this fails with EBUSY. (For a GICv3,
 * KVM_IRQ_LINE before this fails with EBUSY too.)
 */
static void gic_init(struct machine *m)
{
	int err = vgic_init(&m->gic);
	if (err)
		die("KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-err));
	err = m->gic.its_fd >= 0 ? vgic_its_init(&m->gic) : 0;
	if (err)
		die("KVM_DEV_ARM_VGIC_CTRL_INIT (the ITS): %s", strerror(-err));
	/* A vCPU's PMU needs the vGIC ready: its overflow interrupt first, then its init. */
	for (unsigned int i = 0; i < m->opt->ncpus; i++)
		vcpu_features_start_pmu(m->vcpus[i].fd, i, &m->features);
}

/*
 * The timers' interrupts: which PPI each of the vCPU's timers raises in the vGIC. This
 * needs the vGIC to exist, applies to every vCPU created so far, and must happen before any
 * of them runs. A kernel without these attributes uses the same numbers by default.
 */
static void timers_connect(struct machine *m)
{
	int err;

	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		err = timer_set_irqs(m->vcpus[i].fd, TIMER_VIRT_INTID, TIMER_PHYS_INTID);
		if (err == -ENXIO)
			info("this kernel has no KVM_ARM_VCPU_TIMER_CTRL: its defaults apply");
		else if (err)
			die("cannot set vCPU %u's timer interrupts (KVM_ARM_VCPU_TIMER_CTRL): %s",
			    i, strerror(-err));
	}
	int virt_intid, phys_intid;
	if (timer_get_irqs(m->vcpus[0].fd, &virt_intid, &phys_intid) == 0)
		info("timers of every vCPU: virtual INTID %d, physical INTID %d", virt_intid,
		     phys_intid);
}

/*
 * Where it starts: the kernel's first instruction, with x0 = the device tree's address
 * and x1-x3 = 0 (booting.rst, "Call the kernel image"). The device tree itself is built
 * once the devices exist (below). That is vCPU 0; the others start wherever the guest's
 * CPU_ON says, with the context it passes in x0.
 */
static void boot_vcpu_set(struct machine *m, const struct boot_layout *layout)
{
	int boot_fd = m->vcpus[0].fd;
	unsigned int ncpus = m->opt->ncpus;

	set_reg(boot_fd, REG_PC, layout->entry);
	set_reg(boot_fd, REG_PSTATE, PSTATE_BOOT);
	set_reg(boot_fd, REG_X(0), layout->dtb_gpa);
	for (int i = 1; i <= 3; i++)
		set_reg(boot_fd, REG_X(i), 0);
	info("vCPU 0: PC = 0x%" PRIx64 ", x0 = 0x%" PRIx64 ", PSTATE = 0x%lx", layout->entry,
	     layout->dtb_gpa, PSTATE_BOOT);
	if (ncpus == 2)
		info("vCPU 1: powered off until the guest starts it (PSCI CPU_ON)");
	else if (ncpus > 2)
		info("vCPUs 1-%u: powered off until the guest starts them (PSCI CPU_ON)",
		     ncpus - 1);
}

/*
 * The device tree: the machine as built above, in the one place booting.rst reserves
 * for it. A fresh random seed lets the kernel's RNG start unpredictable (/chosen/rng-seed).
 */
static void device_tree_build(struct machine *m, const struct boot_layout *layout)
{
	uint8_t seed[32];
	struct dtb_machine desc = {
		.ram_base = m->ram.gpa,
		.ram_size = m->ram.size,
		.ncpus = m->opt->ncpus,
		.gic_version = m->gic.version,
		.psci_1_0 = psci_is_1_0(m->vcpus[0].fd),
		.pmu = m->features.pmu,
		.its = m->gic.its_fd >= 0,
		.bootargs = m->opt->cmdline,
		.initrd_start = layout->initrd_start,
		.initrd_end = layout->initrd_end,
		.add_devices = devices_fdt, /* each device's own node, from the device table */
		.devices_ctx = m,
	};
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed)) {
		desc.rng_seed = seed;
		desc.rng_seed_len = sizeof(seed);
	}
	void *dtb = guest_ptr(&m->ram, layout->dtb_gpa, BOOT_DTB_MAX);
	int err = dtb_build(&desc, dtb, BOOT_DTB_MAX);
	if (err)
		die("cannot build the device tree: %s", fdt_strerror(err));
	info("device tree: %d bytes at 0x%" PRIx64, fdt_totalsize(dtb), layout->dtb_gpa);
	if (m->opt->dtb_out)
		save_dtb(dtb, m->opt->dtb_out);
}

/*
 * Build the machine for one boot, with the device lock held (the console's input thread, once
 * started, waits). Everything that is per boot is made here from nothing, step by step; --stats
 * times each step (phase_mark).
 */
static void machine_build(struct machine *m)
{
	struct boot_layout layout;

	m->boots++;
	phase_mark(m, PHASE_VM);
	vm_create(m);
	/* The kernel (or bare-metal program) and initrd, where booting.rst wants them. */
	phase_mark(m, PHASE_KERNEL);
	load_kernel(&m->ram, m->opt, &layout);
	phase_mark(m, PHASE_VCPUS);
	gic_create(m);
	vcpus_create(m);
	gic_init(m);
	timers_connect(m);
	boot_vcpu_set(m, &layout);
	/* The devices of the table (devices.c), on a bus emptied of the last boot's. */
	phase_mark(m, PHASE_DEVICES);
	m->bus = (struct mmio_bus){ .trace = m->opt->trace ? stderr : NULL };
	devices_add(m);
	phase_mark(m, PHASE_DTB);
	device_tree_build(m, &layout);
}

int main(int argc, char **argv)
{
	static struct options opt;
	/* Static, not on the stack: the input thread may still use it while exit() runs. */
	static struct machine m;

	options_parse(argc, argv, &opt);
	m = (struct machine){ .opt = &opt };
	phase_mark(&m, PHASE_START);
	pthread_mutex_init(&m.lock, NULL);
	pthread_mutex_init(&m.stop_lock, NULL);
	/* What the devices open on the host (the disks), before any VM: a mistake is one line. */
	devices_setup(&m);

	kvm_open(&m);
	/* What the options require of the vCPUs (--pmu, --sve, --sve-vl), before any VM is built. */
	vcpu_features_check(m.kvm, &opt.features);
	m.run_size = ioctl(m.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m.run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	/* virtio's I/O path: KVM signals the devices' threads and takes their interrupts itself. */
	m.eventfds = eventfds_choose(m.kvm, opt.no_ioeventfd);
	/* The UART's output: queued by KVM (coalesced MMIO), or an exit a byte with the switch. */
	m.coalesced_page = opt.no_coalesced_mmio ? 0 : coalesced_page(m.kvm);
	kick_init();

	/*
	 * The terminal, for every boot. Which device its input goes to, the UART or the
	 * virtio-console, that device says when it joins a boot (console_connect).
	 */
	console_init(&m.console, NULL, NULL, &m.lock, STDIN_FILENO, STDOUT_FILENO, machine_quit,
		     &m);

	/*
	 * The reboot loop: build, run, take down. The device lock is held throughout except while
	 * the vCPUs run, so the input thread never sees a device half built or gone.
	 */
	enum machine_stop stop;
	pthread_mutex_lock(&m.lock);
	for (;;) {
		machine_build(&m);
		if (m.boots == 1)
			console_start(&m.console);
		else
			console_rx_wanted(&m.console); /* input held back for the old UART */
		pthread_mutex_unlock(&m.lock);
		stop = machine_run(&m);
		pthread_mutex_lock(&m.lock);
		if (opt.stats)
			print_stats(&m);
		phase_mark(&m, PHASE_DESTROY);
		machine_destroy(&m);
		phase_mark(&m, PHASE_DOWN);
		if (opt.stats)
			print_times(&m);
		phase_mark(&m, PHASE_START); /* of the next boot, if there is one */
		if (stop != STOP_RESET)
			break;
		if (opt.no_reboot) {
			warn("the guest rebooted; --no-reboot: stopping here");
			break;
		}
		info("the guest rebooted: starting boot %u", m.boots + 1);
	}
	/* The device lock stays held: the input thread must not reach for a closed VM now. */
	if (stop == STOP_QUIT)
		warn("Ctrl-A x: quit");
	close(m.kvm);
	return stop == STOP_ERROR ? 1 : 0;
}
