/*
 * Stage 04: a UART.
 *
 * Stage 03 had a one-register debug port; a real guest driver expects a real device. This stage
 * puts an Arm PL011 UART (pl011.c) at 0x09000000, where QEMU's virt machine has one, so the same
 * guest binary prints on QEMU and here, and later so does Linux. Three pieces:
 *  - an MMIO bus (mmio_bus.c): devices claim address windows, and each KVM_EXIT_MMIO goes to the
 *    device that owns the address, or reads as zero if nobody does;
 *  - the PL011 model: registers, flags, a receive FIFO and interrupt status, as its TRM says;
 *  - the console (console.c): our stdout receives what the guest sends, our stdin (in raw mode
 *    if it is a terminal) feeds the receive FIFO.
 * There is no interrupt controller yet: the UART computes its interrupt line, and we only count
 * and trace it. --trace names each register the guest touches; --stats counts exits by reason
 * and accesses by device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <linux/kvm.h>
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
#include "mmio_bus.h"
#include "options.h"
#include "pl011.h"
#include "regs.h"
#include "size.h"

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

	/* Where it starts: the first instruction of the image, in the state booting.rst asks. */
	uint64_t entry = ram.gpa + IMAGE_OFFSET;
	set_reg(vcpu, REG_PC, entry);
	set_reg(vcpu, REG_PSTATE, PSTATE_BOOT);
	set_reg(vcpu, REG_X(0), 0); /* no device tree yet (stage 08) */
	info("vCPU 0: PC = 0x%" PRIx64 ", PSTATE = 0x%lx (EL1h, interrupts masked)", entry,
	     PSTATE_BOOT);

	/*
	 * The devices. The UART occupies its 4 KiB window on the bus; the console joins it to
	 * our stdin and stdout.
	 */
	struct machine m = { .vcpu = vcpu, .run = run, .opt = &opt };
	m.bus.trace = opt.trace ? stderr : NULL;
	console_init(&m.console, &m.uart, STDIN_FILENO, STDOUT_FILENO);
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

	/* The run loop. */
	int status = run_loop(&m);

	if (opt.stats)
		print_stats(&m);
	munmap(run, run_size);
	close(vcpu);
	close(vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(ram.host, ram.size);
	close(kvm);
	return status;
}
