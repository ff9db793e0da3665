/*
 * main.c - this stage's VMM, top to bottom: the story of the machine it builds, one step at a
 * time. What the stage adds to the one before, and why, is in its card (README.md, beside this
 * file) and its chapter (docs/tutorial/); `make diff-NN` shows the code that does it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "opts.h"

/* The one API version there has ever been since Linux 2.6.22 (api.rst, 4.1 KVM_GET_API_VERSION). */
#define KVM_EXPECTED_API_VERSION 12

struct cap {
	int id;
	const char *name;
	const char *why;
	bool is_count; /* the answer is a number, not just "supported" */
};

#define CAP(x, count, text) \
	{ \
		.id = KVM_CAP_##x, .name = "KVM_CAP_" #x, .why = text, .is_count = count \
	}

/* What later stages need, in the order they need it. */
static const struct cap caps[] = {
	CAP(USER_MEMORY, false, "guest RAM from our own mmap() (stage 02)"),
	CAP(ONE_REG, false, "registers one at a time: arm64 has no KVM_SET_REGS"),
	CAP(ARM_PSCI_0_2, false, "PSCI in the kernel: power off, CPU_ON"),
	CAP(ARM_VM_IPA_SIZE, true, "largest guest physical address (bits)"),
	CAP(NR_VCPUS, true, "recommended maximum number of vCPUs"),
	CAP(MAX_VCPUS, true, "hard maximum number of vCPUs"),
	CAP(READONLY_MEM, false, "read-only memory slots (ROM, flash)"),
	CAP(DEVICE_CTRL, false, "in-kernel devices: the vGIC (stage 05)"),
	CAP(IRQFD, false, "raise an interrupt by writing an eventfd"),
	CAP(IOEVENTFD, false, "MMIO writes that signal an eventfd, no exit"),
	CAP(ARM_PMU_V3, false, "a virtual performance monitoring unit"),
	CAP(ARM_EL1_32BIT, false, "32-bit (AArch32) guest kernels"),
};

/* This stage has only the options every stage has: -v and -h (opts.c). */
static const struct opt options[] = { { 0 } };

/* What the stage does, for --help: between the usage line and the options. */
static void about(FILE *f)
{
	fputs("Opens /dev/kvm, checks the API version, lists the capabilities an arm64 VMM\n"
	      "needs and creates an empty VM.\n",
	      f);
}

/* One clear line for each way opening /dev/kvm goes wrong, with what to do about it. */
static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		die("/dev/kvm does not exist: load KVM (sudo modprobe kvm) and enable virtualization in "
		    "the firmware; on a host that is not arm64, run the stages through the lab");
	if (errno == EACCES || errno == EPERM)
		die("no permission to open /dev/kvm: add yourself to the kvm group "
		    "(sudo usermod -aG kvm $USER) and log in again");
	die_errno("cannot open /dev/kvm");
}

int main(int argc, char **argv)
{
	int first = opts_parse(argc, argv, options, NULL, about, NULL, NULL);

	if (first < argc)
		opts_usage_error("unexpected argument '%s'", argv[first]);

	/* The system fd. */
	int kvm = kvm_open();

	/* KVM on an x86 host runs x86 guests only; the arm64 stages need an arm64 KVM. */
	struct utsname host;
	if (uname(&host) == 0 && strcmp(host.machine, "aarch64") != 0)
		die("this KVM runs %s guests, not arm64 ones: run the stages through the lab "
		    "(make stage-01 && ./stage-01 does that)",
		    host.machine);

	/* The API version: anything but 12 means a kernel we do not know how to talk to. */
	int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_EXPECTED_API_VERSION)
		die("KVM API version is %d, this VMM speaks version %d", version,
		    KVM_EXPECTED_API_VERSION);
	printf("KVM API version: %d\n\n", version);

	/*
	 * Capabilities: KVM_CHECK_EXTENSION returns 0 for "no", and for most capabilities 1 for
	 * "yes"; some answer with a number instead (api.rst, 4.4).
	 */
	printf("%-26s %-9s %s\n", "capability", "answer", "what it is for");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		int r = ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].id);
		char answer[16];

		if (r < 0)
			snprintf(answer, sizeof(answer), "error");
		else if (caps[i].is_count)
			snprintf(answer, sizeof(answer), "%d", r);
		else
			snprintf(answer, sizeof(answer), "%s", r ? "yes" : "no");
		printf("%-26s %-9s %s\n", caps[i].name, answer, caps[i].why);
	}

	/* A VM: type 0 asks for the default 40-bit guest physical address space on arm64. */
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die_errno("KVM_CREATE_VM failed");

	/* Every vCPU shares a struct kvm_run with us through mmap(); this is its size. */
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE failed");
	printf("\nCreated a VM (fd %d). Each vCPU's kvm_run area will be %d bytes.\n", vm,
	       run_size);

	close(vm);
	close(kvm);
	return 0;
}
