/*
 * main.c - this stage's VMM, top to bottom: the story of the machine it builds, one step at a
 * time. What the stage adds to the one before, and why, is in its card (README.md, beside this
 * file) and its chapter (docs/tutorial/); `make diff-NN` shows the code that does it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arm64.h"
#include "file.h"
#include "file_type.h"
#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "options.h"
#include "size.h"

/* guest/memory.S leaves a table of 16 Fibonacci numbers at the start of RAM. */
#define RESULT_GPA RAM_BASE
#define RESULT_ENTRIES 16

/* Copy the guest image into RAM at RAM_BASE + IMAGE_OFFSET; one clear line for each failure. */
static void load_guest(const struct guest_mem *ram, const char *path)
{
	uint64_t room = ram->size - IMAGE_OFFSET;
	void *dst = guest_ptr(ram, ram->gpa + IMAGE_OFFSET, room);
	char a[SIZE_FORMAT_LEN];
	size_t len;
	int err = file_load(path, dst, room, &len);

	if (err == -EFBIG)
		die("%s does not fit: guest RAM has %s from 0x%" PRIx64 " (try a larger --mem)",
		    path, size_format(room, a, sizeof(a)), ram->gpa + IMAGE_OFFSET);
	if (err)
		die("cannot load %s: %s", path, file_strerror(err));
	if (len == 0)
		die("%s is empty: a guest needs at least one instruction", path);
	/* Compressed, an ELF, an x86 kernel, shorter than an instruction: it would run garbage. */
	const char *refusal = file_type_refusal(dst, len);
	if (refusal)
		die("%s %s", path, refusal);
	info("loaded %s (%zu bytes) at 0x%" PRIx64, path, len, ram->gpa + IMAGE_OFFSET);
}

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
	printf("vCPU 0: PC = 0x%" PRIx64 ", PSTATE = 0x%lx (EL1h, interrupts masked)\n", entry,
	       PSTATE_BOOT);

	/* Run until the first exit to us. */
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		die_errno("KVM_RUN");

	if (run->exit_reason != KVM_EXIT_MMIO)
		die("the guest stopped with exit reason %u, not the MMIO exit guest/memory.bin makes "
		    "(stage 03 decodes the others)",
		    run->exit_reason);
	printf("KVM_EXIT_MMIO: the guest %s %u bytes at 0x%llx, where there is no RAM\n",
	       run->mmio.is_write ? "wrote" : "read", run->mmio.len, run->mmio.phys_addr);

	/*
	 * The guest's RAM is our memory too: read the table it left there. guest_read checks the
	 * range lies inside RAM; with a small --mem it may not.
	 */
	uint64_t table[RESULT_ENTRIES];
	if (guest_read(&ram, RESULT_GPA, table, sizeof(table)) != 0)
		die("the result table at 0x%lx is outside guest RAM", RESULT_GPA);
	printf("The guest left this in RAM at 0x%lx:\n", RESULT_GPA);
	for (int i = 0; i < RESULT_ENTRIES; i++)
		printf("  fib(%2d) = %" PRIu64 "\n", i, table[i]);

	munmap(run, run_size);
	close(vcpu);
	/*
	 * The VM before its RAM: with the VM gone, KVM frees the guest's stage-2 page tables in one
	 * go. Unmapping RAM the VM still maps makes KVM take them down piece by piece through its
	 * MMU notifier, invalidating TLBs as it goes: for a Linux guest's RAM, a large share of the
	 * VMM's tear-down.
	 */
	close(vm);
	munmap(ram.host, ram.size);
	close(kvm);
	return 0;
}
