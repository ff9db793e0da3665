/*
 * load.c - guest loading: the guest's files into guest RAM, each way that can fail one clear line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <libfdt.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot.h"
#include "file.h"
#include "gdb.h"
#include "log.h"
#include "machine.h"
#include "regs.h"
#include "size.h"

/*
 * The guest physical address space KVM gives a VM is 40 bits unless asked otherwise; a host may
 * offer more or less (KVM_CAP_ARM_VM_IPA_SIZE, api.rst 4.2 KVM_CREATE_VM). Ask for what RAM needs:
 * the bits to address its last byte, at least 32 (the smallest KVM accepts).
 */
int vm_type_for(int kvm, uint64_t ram_end)
{
	int max_bits = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	int bits = 32;
	char a[SIZE_FORMAT_LEN];

	while (bits < 64 && (ram_end - 1) >> bits)
		bits++;
	if (max_bits <= 0) {
		if (bits > 40)
			die("guest RAM ending at 0x%" PRIx64
			    " needs %d address bits; this KVM offers 40 "
			    "(try a smaller --mem)",
			    ram_end, bits);
		return 0;
	}
	if (bits > max_bits)
		die("%s of RAM from 0x%lx needs %d address bits; this host's KVM offers %d (try a "
		    "smaller --mem)",
		    size_format(ram_end - RAM_BASE, a, sizeof(a)), RAM_BASE, bits, max_bits);
	info("guest physical address space: %d bits (host offers %d)", bits, max_bits);
	return KVM_VM_TYPE_ARM_IPA_SIZE(bits);
}

/* Load the kernel and initrd (boot.c); one clear line for each way that goes wrong. */
void load_kernel(const struct guest_mem *ram, const struct options *o, struct boot_layout *layout)
{
	enum boot_error err = o->firmware ? boot_load_firmware(ram, o->firmware, layout)
					  : boot_load(ram, o->kernel, o->initrd, layout);
	const char *file = err == BOOT_ERR_INITRD_READ || err == BOOT_ERR_INITRD_EMPTY ||
					   err == BOOT_ERR_INITRD_TOO_BIG
				   ? o->initrd
			   : o->firmware ? o->firmware
					 : o->kernel;
	char a[SIZE_FORMAT_LEN];

	if (err == BOOT_ERR_KERNEL_READ || err == BOOT_ERR_INITRD_READ)
		die("cannot load %s: %s", file, file_strerror(-layout->sys_errno));
	if (err == BOOT_ERR_KERNEL_TOO_BIG || err == BOOT_ERR_INITRD_TOO_BIG)
		die("%s: %s, %s (try a larger --mem)", file, boot_strerror(err),
		    size_format(ram->size, a, sizeof(a)));
	if (err == BOOT_ERR_NOT_CODE)
		die("%s %s", file, layout->refusal);
	if (err)
		die("%s: %s", file, boot_strerror(err));
	info("%s: %s at 0x%" PRIx64 "-0x%" PRIx64 ", DTB at 0x%" PRIx64, file,
	     o->firmware	? "firmware"
	     : layout->is_image ? "Linux Image"
				: "raw binary",
	     layout->kernel_start, layout->kernel_end, layout->dtb_gpa);
	if (o->initrd)
		info("%s: initrd at 0x%" PRIx64 "-0x%" PRIx64, o->initrd, layout->initrd_start,
		     layout->initrd_end);
	gdb_guest_ram(ram); /* where gdb reads and writes memory (--gdb) */
}

/* KVM's PSCI: 1.0 or later on any recent kernel, and the device tree should say which. */
bool psci_is_1_0(int vcpu)
{
	uint64_t version;

	return regs_get(vcpu, KVM_REG_ARM_PSCI_VERSION, &version) == 0 && (version >> 16) >= 1;
}

/* Write the device tree at dtb (in guest RAM) to path, for dtc and for curious learners. */
void save_dtb(const void *dtb, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = fdt_totalsize(dtb);

	if (fd < 0)
		die("cannot write the device tree to %s: %s", path, strerror(errno));
	if (write(fd, dtb, len) != (ssize_t)len || close(fd) < 0)
		die("cannot write the device tree to %s: %s", path, strerror(errno));
}
