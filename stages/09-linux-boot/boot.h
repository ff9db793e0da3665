/*
 * boot.h - put a kernel, an initrd and room for the device tree into guest RAM.
 *
 * Follows the arm64 boot protocol, Linux Documentation/arch/arm64/booting.rst. A file that
 * starts with the 64-byte arm64 Image header is loaded as the header asks; any other file is
 * a raw bare-metal program and loads at RAM base + 0x80000 (0x40080000), as in earlier stages
 * and as QEMU does with -kernel.
 */
#ifndef VELEIRO_BOOT_H
#define VELEIRO_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

#define BOOT_DTB_MAX 0x200000ULL /* booting.rst 2: the DTB must not exceed 2 MiB */
#define BOOT_RAW_OFFSET 0x80000ULL /* raw binaries load this far into RAM */
#define BOOT_FIRMWARE_OFFSET BOOT_DTB_MAX /* firmware: after the DTB's block at the start of RAM */

/*
 * The longest kernel command line an arm64 kernel takes, its NUL included: COMMAND_LINE_SIZE
 * in Linux's arch/arm64/include/uapi/asm/setup.h. The kernel cuts a longer one short without
 * a word, so the VMM refuses it instead.
 */
#define BOOT_CMDLINE_SIZE 2048

/* Why a boot_load() failed; boot_strerror() says it in words. */
enum boot_error {
	BOOT_OK = 0,
	BOOT_ERR_RAM, /* guest RAM does not start on a 2 MiB boundary */
	BOOT_ERR_KERNEL_READ, /* kernel file missing or unreadable: see sys_errno */
	BOOT_ERR_KERNEL_EMPTY, /* kernel file has no bytes at all */
	BOOT_ERR_NOT_CODE, /* not an Image, and not code either: see refusal */
	BOOT_ERR_TRUNCATED, /* Image magic, but the file ends inside the 64-byte header */
	BOOT_ERR_TRUNCATED_BODY, /* shorter than the sections its PE/COFF header lists */
	BOOT_ERR_BIG_ENDIAN, /* Image built for a big-endian kernel */
	BOOT_ERR_TEXT_OFFSET, /* Image text_offset not a multiple of 4 KiB */
	BOOT_ERR_KERNEL_TOO_BIG, /* kernel (with its BSS) and the DTB do not fit in RAM */
	BOOT_ERR_INITRD_READ, /* initrd file missing or unreadable: see sys_errno */
	BOOT_ERR_INITRD_EMPTY, /* initrd file has no bytes at all */
	BOOT_ERR_INITRD_TOO_BIG, /* kernel, initrd and DTB together do not fit in RAM */
};

/* What the first bytes of a kernel file say about how to load it. */
struct boot_image {
	bool is_image; /* arm64 Image header found (else a raw binary) */
	uint64_t text_offset; /* load it this far above a 2 MiB aligned base */
	uint64_t image_size; /* bytes it uses from its first byte, BSS included; 0 = unknown */
	unsigned int page_size; /* kernel page size from the flags, 0 = unspecified */
	const char *refusal; /* with BOOT_ERR_NOT_CODE: what it is instead (file_type.h) */
};

/* Where boot_load() put things; all guest physical addresses, ranges are [start, end). */
struct boot_layout {
	bool is_image; /* Linux Image (else a raw binary) */
	uint64_t entry; /* PC of the boot vCPU: the first byte loaded */
	uint64_t kernel_start, kernel_end; /* what the kernel may use, its BSS included */
	uint64_t dtb_gpa; /* 2 MiB aligned slot of BOOT_DTB_MAX bytes for the DTB */
	uint64_t initrd_start, initrd_end; /* both 0 without an initrd */
	int sys_errno; /* the errno behind BOOT_ERR_*_READ, else 0 */
	const char *refusal; /* with BOOT_ERR_NOT_CODE: what the file is instead */
};

/*
 * Read the header of a kernel file of len bytes that starts at data (len may be below 64).
 * BOOT_OK with img filled in (is_image false for a raw binary), or BOOT_ERR_KERNEL_EMPTY,
 * BOOT_ERR_NOT_CODE (compressed, an ELF, an x86 kernel, shorter than an instruction),
 * BOOT_ERR_TRUNCATED, BOOT_ERR_TRUNCATED_BODY (needs the whole file in data), BOOT_ERR_BIG_ENDIAN,
 * BOOT_ERR_TEXT_OFFSET.
 */
enum boot_error boot_parse(const void *data, uint64_t len, struct boot_image *img);

/*
 * Load the kernel (or raw binary) at kernel_path, and the initrd at initrd_path unless it is
 * NULL, into guest RAM, and choose where the DTB goes: it is then up to the caller to build the
 * DTB at out->dtb_gpa (at most BOOT_DTB_MAX bytes) and start the vCPU at out->entry with x0 =
 * out->dtb_gpa. On failure, guest RAM may hold part of the files and out is not meaningful
 * except for out->sys_errno.
 */
enum boot_error boot_load(const struct guest_mem *mem, const char *kernel_path,
			  const char *initrd_path, struct boot_layout *out);

/*
 * Load firmware the way QEMU's virt machine starts it: the DTB's slot at the start of RAM, where
 * U-Boot's qemu-arm board reads it (board_fdt_blob_setup()), and the firmware right after it, at
 * BOOT_FIRMWARE_OFFSET. out as boot_load() fills it, with no initrd; the errors are the kernel's,
 * and so are the files refused (boot_parse()).
 */
enum boot_error boot_load_firmware(const struct guest_mem *mem, const char *path,
				   struct boot_layout *out);

/* A one-line description of err, without a trailing newline. */
const char *boot_strerror(enum boot_error err);

#endif
