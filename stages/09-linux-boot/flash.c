/*
 * flash.c - where QEMU's virt machine has its second flash bank (a 64 MiB CFI NOR flash at
 * 0x04000000, hw/arm/virt.c), an erased-looking ROM, there only with --firmware.
 *
 * U-Boot for QEMU's machine keeps its environment in that bank (CONFIG_ENV_IS_IN_FLASH, at
 * CONFIG_ENV_ADDR 0x04000000) and reads all 256 KiB of it a byte at a time at start. On an
 * address nothing claims, each byte is an MMIO exit: a quarter of a million of them, minutes in
 * the lab. Guest memory that KVM maps read-only (KVM_MEM_READONLY, api.rst 4.35) reads with no
 * exit at all; a write to it is an MMIO exit (api.rst 5, KVM_EXIT_MMIO), which the bus counts as
 * unclaimed. Its bytes are zeros, an environment whose CRC is wrong, so U-Boot says so and takes
 * its built-in one. Nothing describes it in the device tree: U-Boot's flash driver would probe it
 * with CFI commands (JEDEC JESD68) that a ROM cannot answer, and finds no flash, as it says.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "log.h"
#include "machine.h"
#include "memmap.h"

#define FLASH_SLOT 1 /* KVM memory slot: RAM is slot 0 */

static void *flash_host;

static unsigned int flash_count(const struct machine *m)
{
	return m->opt->firmware ? 1 : 0;
}

static void flash_set_slot(const struct machine *m, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = FLASH_SLOT,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = FLASH_BASE,
		.memory_size = size,
		.userspace_addr = (uint64_t)flash_host,
	};

	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION (the flash bank at 0x%lx)", FLASH_BASE);
}

static void flash_add(struct machine *m, unsigned int i)
{
	if (ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		die("this host's KVM has no read-only memory (KVM_CAP_READONLY_MEM), which the flash "
		    "bank --firmware needs");
	/* Zero pages the host shares until written, and nothing writes them: it costs nothing. */
	flash_host = mmap(NULL, FLASH_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (flash_host == MAP_FAILED)
		die_errno("cannot allocate the flash bank's %lu bytes", FLASH_SIZE);
	flash_set_slot(m, FLASH_SIZE);
}

/* Out of the VM first, so that KVM does not unmap it page by page from under the guest. */
static void flash_remove(struct machine *m, unsigned int i)
{
	flash_set_slot(m, 0);
	munmap(flash_host, FLASH_SIZE);
}

const struct device_type flash_device = {
	.name = "flash",
	.count = flash_count,
	.add = flash_add,
	.remove = flash_remove,
};
