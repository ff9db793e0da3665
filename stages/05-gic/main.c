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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arm64.h"
#include "console.h"
#include "exits.h"
#include "file.h"
#include "guest_mem.h"
#include "log.h"
#include "machine.h"
#include "memmap.h"
#include "options.h"
#include "regs.h"
#include "size.h"
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
}

/* A VM, and guest RAM backing it. */
static void vm_create(struct machine *m)
{
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, 0);
	if (m->vm < 0)
		die_errno("KVM_CREATE_VM");

	/*
	 * Guest RAM: anonymous memory in our address space, then a memory slot telling KVM that
	 * guest physical RAM_BASE.. is backed by it. MAP_NORESERVE: the host commits pages only
	 * when the guest touches them, so a large --mem costs nothing up front.
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
	if (m->gic.version == 3)
		info("vGICv3: distributor 0x%08lx, redistributors from 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_REDIST_BASE, GIC_NR_IRQS);
	else
		info("vGICv2: distributor 0x%08lx, CPU interface 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_CPU_BASE, GIC_NR_IRQS);
}

/*
 * A vCPU. KVM_ARM_PREFERRED_TARGET names the CPU model KVM emulates best on this host;
 * KVM_ARM_VCPU_INIT resets the vCPU to that model. We also ask for PSCI 0.2, the firmware
 * interface a guest uses to power off (api.rst, 4.82 KVM_ARM_VCPU_INIT).
 */
static void vcpu_create(struct machine *m)
{
	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	if (m->vcpu < 0)
		die_errno("KVM_CREATE_VCPU");
	m->run_size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	m->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	if (m->run == MAP_FAILED)
		die_errno("cannot map the vCPU's kvm_run area");

	struct kvm_vcpu_init init;
	if (ioctl(m->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(m->vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT");
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
}

/* Where it starts: the first instruction of the image, in the state booting.rst asks. */
static void boot_vcpu_set(struct machine *m)
{
	uint64_t entry = m->ram.gpa + IMAGE_OFFSET;
	set_reg(m->vcpu, REG_PC, entry);
	set_reg(m->vcpu, REG_PSTATE, PSTATE_BOOT);
	set_reg(m->vcpu, REG_X(0), 0); /* no device tree yet (stage 08) */
	info("vCPU 0: PC = 0x%" PRIx64 ", PSTATE = 0x%lx (EL1h, interrupts masked)", entry,
	     PSTATE_BOOT);
}

int main(int argc, char **argv)
{
	struct options opt;
	/* Static, not on the stack: the input thread may still use it while exit() runs. */
	static struct machine m;

	options_parse(argc, argv, &opt);
	m = (struct machine){ .opt = &opt };
	pthread_mutex_init(&m.lock, NULL);

	kvm_open(&m);
	vm_create(&m);
	/* The guest program, copied into that memory. */
	load_guest(&m.ram, opt.guest);

	gic_create(&m);
	vcpu_create(&m);
	gic_init(&m);
	boot_vcpu_set(&m);

	/* The devices, from the device table (devices.c): each takes its window on the bus. */
	m.bus.trace = opt.trace ? stderr : NULL;
	devices_add(&m);

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
	munmap(m.run, m.run_size);
	close(m.vcpu);
	close(m.gic.fd);
	close(m.vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(m.ram.host, m.ram.size);
	close(m.kvm);
	return status;
}
