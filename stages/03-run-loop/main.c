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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arm64.h"
#include "debug_port.h"
#include "exits.h"
#include "file.h"
#include "file_type.h"
#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "options.h"
#include "regs.h"
#include "size.h"

/* What --stats reports: exits by reason, and the debug port's share of the MMIO exits. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
	uint64_t port_reads, port_writes, unclaimed;
};

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

/*
 * An MMIO exit: kvm_run->mmio says which address, how many bytes and, for a store, the data. For a
 * load we fill mmio.data and KVM completes the guest's instruction on the next KVM_RUN.
 */
static void handle_mmio(struct kvm_run *run, const struct options *o, struct stats *st)
{
	uint64_t addr = run->mmio.phys_addr;
	unsigned int len = run->mmio.len;
	uint64_t value = 0;
	char where[32] = "unclaimed";

	if (run->mmio.is_write)
		memcpy(&value, run->mmio.data, len <= sizeof(value) ? len : sizeof(value));

	if (addr >= DEBUG_PORT_BASE && addr - DEBUG_PORT_BASE < DEBUG_PORT_SIZE) {
		snprintf(where, sizeof(where), "debug-port+0x%03" PRIx64, addr - DEBUG_PORT_BASE);
		if (run->mmio.is_write) {
			debug_port_write(addr - DEBUG_PORT_BASE, len, value);
			st->port_writes++;
		} else {
			value = debug_port_read(addr - DEBUG_PORT_BASE, len);
			st->port_reads++;
		}
	} else {
		/* Nothing there: loads read as zero, stores are dropped, and the guest goes on. */
		st->unclaimed++;
	}
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &value, sizeof(run->mmio.data));

	if (o->trace)
		fprintf(stderr, "trace: MMIO %-5s 0x%08" PRIx64 " %u bytes %s 0x%" PRIx64 " (%s)\n",
			run->mmio.is_write ? "write" : "read", addr, len,
			run->mmio.is_write ? "<-" : "->", value, where);
}

/* Runs the vCPU until the guest powers off (0) or cannot go on (1). */
static int run_loop(int vcpu, struct kvm_run *run, const struct options *o, struct stats *st)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			/* A signal arrived while the guest ran: nothing to emulate, run again. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/*
			 * KVM itself gave up, e.g. ENOSYS for a device access it cannot decode into
			 * an MMIO exit, such as a load/store pair (stage 08 explains those).
			 */
			warn("KVM_RUN failed: %s", strerror(errno));
			regs_dump(vcpu, stderr);
			return 1;
		}
		if (run->exit_reason < sizeof(st->exits) / sizeof(st->exits[0]))
			st->exits[run->exit_reason]++;

		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			handle_mmio(run, o, st);
			break;

		case KVM_EXIT_SYSTEM_EVENT:
			/*
			 * PSCI SYSTEM_OFF / SYSTEM_RESET (PSCI spec DEN0022, 5.10/5.11): KVM has
			 * already stopped the vCPU; what happens next is the VMM's decision. This
			 * stage has no way to start the guest afresh, so a reset also stops it.
			 */
			if (o->trace)
				fprintf(stderr, "trace: SYSTEM_EVENT %s\n",
					system_event_name(run->system_event.type));
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				info("the guest powered off");
				return 0;
			case KVM_SYSTEM_EVENT_RESET:
				warn("the guest asked for a reset; this stage cannot restart a guest, "
				     "so it stops here");
				return 0;
			default:
				warn("the guest reported a system event of type %u (%s)",
				     run->system_event.type,
				     system_event_name(run->system_event.type));
				regs_dump(vcpu, stderr);
				return 1;
			}

		case KVM_EXIT_FAIL_ENTRY:
			warn("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
			     run->fail_entry.hardware_entry_failure_reason);
			regs_dump(vcpu, stderr);
			return 1;

		case KVM_EXIT_INTERNAL_ERROR:
			warn("KVM hit an internal error running the guest (suberror %u)",
			     run->internal.suberror);
			regs_dump(vcpu, stderr);
			return 1;

		default:
			warn("unexpected exit %s (%u): this VMM does not handle it",
			     exit_name(run->exit_reason), run->exit_reason);
			regs_dump(vcpu, stderr);
			return 1;
		}
	}
}

static void print_stats(const struct stats *st)
{
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		total += st->exits[i];
	fprintf(stderr, "stats: %" PRIu64 " exits\n", total);
	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		if (st->exits[i])
			fprintf(stderr, "stats:   %-14s %8" PRIu64 "\n", exit_name(i),
				st->exits[i]);
	fprintf(stderr,
		"stats: MMIO by device: debug-port %" PRIu64 " writes, %" PRIu64
		" reads; unclaimed %" PRIu64 "\n",
		st->port_writes, st->port_reads, st->unclaimed);
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

	/* The run loop. */
	struct stats stats = { 0 };
	int status = run_loop(vcpu, run, &opt, &stats);

	if (opt.stats)
		print_stats(&stats);
	munmap(run, run_size);
	close(vcpu);
	close(vm); /* the VM before its RAM, so KVM frees its page tables at once (stage 02) */
	munmap(ram.host, ram.size);
	close(kvm);
	return status;
}
