/*
 * boot.c - put a kernel, an initrd and room for the device tree into guest RAM.
 *
 * The rules are those of Linux Documentation/arch/arm64/booting.rst:
 *  - section 4: an Image starts with a 64-byte header (below); it must be placed text_offset
 *    bytes above a 2 MiB aligned base in RAM, and image_size bytes from its start must be free
 *    for the kernel, which is more than the file: the BSS and early page tables follow it.
 *    The initrd must lie in a 1 GiB aligned window of at most 32 GiB that also covers the
 *    kernel Image.
 *  - section 2: the DTB sits on an 8-byte boundary, is at most 2 MiB, and is mapped with 2 MiB
 *    blocks, so it gets a 2 MiB aligned block of its own here. (Kernels before v4.2 also
 *    wanted it within 512 MiB of the kernel; they are not catered for.)
 *
 * The layout: the kernel at the bottom of RAM (with flags bit 3 clear, booting.rst wants its
 * base as close to the start of RAM as possible: memory below it is lost to the kernel), the
 * DTB in the last 2 MiB block of the window, the initrd right below the DTB. Everything between
 * the kernel and the initrd stays free, as booting.rst advises for an old kernel whose
 * image_size is 0: it needs an unknown amount of memory after its end.
 *
 *   RAM base   kernel_start         kernel_end          initrd_start  dtb_gpa      window end
 *   |  (hole)  | Image ... BSS      |  free RAM ...      | initrd     | DTB (2 MiB) |
 *
 * The Image header, all fields little-endian:
 *   0  code0, code1 (branch to the kernel)   24 flags
 *   8  text_offset                           32 reserved (3 x 8 bytes)
 *   16 image_size                            56 magic "ARM\x64", 60 PE header offset
 *
 * A kernel built with an EFI stub is also a PE/COFF executable (Microsoft PE/COFF specification,
 * "File Headers" and "Section Table"), and the header's last word says where its PE header is.
 * Its section table tells how long the file must be, which the Image header alone cannot: it
 * counts the BSS, which is not in the file. A file shorter than its sections was cut short (a
 * failed copy or download); starting it would run a kernel with part of its code missing.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "file.h"
#include "file_type.h"

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL
#define INITRD_WINDOW (32 * SZ_1G) /* booting.rst 4: 1 GiB aligned, up to 32 GiB */

#define IMAGE_HEADER_SIZE 64
#define IMAGE_TEXT_OFFSET 8 /* le64: load offset from a 2 MiB aligned base */
#define IMAGE_IMAGE_SIZE 16 /* le64: effective size, 0 before Linux 3.17 */
#define IMAGE_FLAGS 24 /* le64: kernel flags */
#define IMAGE_MAGIC 56 /* "ARM\x64" */
#define IMAGE_PE_OFFSET 60 /* le32: offset of the PE header, 0 without EFI stub */
#define IMAGE_FLAG_BE (1ULL << 0) /* bit 0: kernel is big-endian */
#define IMAGE_FLAG_PAGE_SHIFT 1 /* bits 2:1: 0 unspecified, 1 4K, 2 16K, 3 64K */
#define IMAGE_OLD_TEXT_OFFSET 0x80000ULL /* what image_size == 0 implies (booting.rst 4) */

/* PE/COFF, offsets from the "PE\0\0" signature, then within a 40-byte section header. */
#define PE_NUMBER_OF_SECTIONS 6 /* le16: COFF header NumberOfSections */
#define PE_SIZE_OF_OPTIONAL 20 /* le16: COFF header SizeOfOptionalHeader */
#define PE_OPTIONAL_HEADER 24 /* signature (4) + COFF header (20) */
#define PE_SECTION_SIZE 40
#define PE_SECTION_RAW_SIZE 16 /* le32: SizeOfRawData */
#define PE_SECTION_RAW_POINTER 20 /* le32: PointerToRawData */

static const char image_magic[4] = { 'A', 'R', 'M', 0x64 };
static const char pe_signature[4] = { 'P', 'E', 0, 0 };

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

/* Round up to a, or UINT64_MAX when that would wrap (which then never fits anywhere). */
static uint64_t align_up(uint64_t x, uint64_t a)
{
	return x > UINT64_MAX - (a - 1) ? UINT64_MAX : align_down(x + a - 1, a);
}

static uint16_t boot_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t boot_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t boot_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * Whether the len bytes at p hold every section the Image's PE/COFF header lists. Offset 0
 * means no EFI stub, so nothing to check; an offset that is not a PE signature is not ours to
 * judge. A header or section table that itself runs past the end is a truncated file.
 */
static bool boot_pe_complete(const uint8_t *p, uint64_t len)
{
	uint64_t pe = boot_le32(p + IMAGE_PE_OFFSET), table;
	unsigned int sections;

	if (pe == 0)
		return true;
	if (pe > len || len - pe < PE_OPTIONAL_HEADER)
		return false;
	if (memcmp(p + pe, pe_signature, sizeof(pe_signature)) != 0)
		return true;
	sections = boot_le16(p + pe + PE_NUMBER_OF_SECTIONS);
	table = pe + PE_OPTIONAL_HEADER + boot_le16(p + pe + PE_SIZE_OF_OPTIONAL);
	if (table > len || (len - table) / PE_SECTION_SIZE < sections)
		return false;
	for (unsigned int i = 0; i < sections; i++) {
		const uint8_t *s = p + table + i * PE_SECTION_SIZE;
		uint64_t end = (uint64_t)boot_le32(s + PE_SECTION_RAW_POINTER) +
			       boot_le32(s + PE_SECTION_RAW_SIZE);

		if (end > len)
			return false;
	}
	return true;
}

enum boot_error boot_parse(const void *data, uint64_t len, struct boot_image *img)
{
	const uint8_t *p = data;
	uint64_t flags;

	memset(img, 0, sizeof(*img));
	if (len == 0)
		return BOOT_ERR_KERNEL_EMPTY;
	if (len < IMAGE_MAGIC + sizeof(image_magic) ||
	    memcmp(p + IMAGE_MAGIC, image_magic, sizeof(image_magic)) != 0) {
		/* No magic: a raw binary of any length, unless its first bytes say otherwise. */
		img->refusal = file_type_refusal(p, len);
		return img->refusal ? BOOT_ERR_NOT_CODE : BOOT_OK;
	}
	if (len < IMAGE_HEADER_SIZE)
		return BOOT_ERR_TRUNCATED;

	img->is_image = true;
	if (!boot_pe_complete(p, len))
		return BOOT_ERR_TRUNCATED_BODY;
	img->image_size = boot_le64(p + IMAGE_IMAGE_SIZE);
	if (img->image_size == 0) {
		/*
		 * Before Linux 3.17 the header had no image_size or flags, and text_offset was in
		 * the kernel's byte order; booting.rst says to assume 0x80000 then.
		 */
		img->text_offset = IMAGE_OLD_TEXT_OFFSET;
		return BOOT_OK;
	}
	flags = boot_le64(p + IMAGE_FLAGS);
	if (flags & IMAGE_FLAG_BE)
		return BOOT_ERR_BIG_ENDIAN;
	if ((flags >> IMAGE_FLAG_PAGE_SHIFT) & 3)
		img->page_size = 4096U << (2 * (((flags >> IMAGE_FLAG_PAGE_SHIFT) & 3) - 1));
	/*
	 * The kernel maps itself with pages, so it refuses to build with a TEXT_OFFSET that is not
	 * 4 KiB aligned (head.S; since 5.8 it is always 0): such a header is corrupt. A large
	 * value is legal, and boot_load_kernel() checks that it fits in RAM.
	 */
	img->text_offset = boot_le64(p + IMAGE_TEXT_OFFSET);
	if (img->text_offset % SZ_4K)
		return BOOT_ERR_TEXT_OFFSET;
	return BOOT_OK;
}

/* The kernel: read it to the base of RAM, look at its header, slide it to its load address. */
static enum boot_error boot_load_kernel(const struct guest_mem *mem, const char *path,
					struct boot_layout *out)
{
	uint8_t *ram = guest_ptr(mem, mem->gpa, mem->size);
	struct boot_image img;
	enum boot_error err;
	uint64_t offset, need;
	size_t len;
	int ret;

	ret = file_load(path, ram, mem->size, &len);
	if (ret == -EFBIG)
		return BOOT_ERR_KERNEL_TOO_BIG;
	if (ret < 0) {
		out->sys_errno = -ret;
		return BOOT_ERR_KERNEL_READ;
	}
	err = boot_parse(ram, len, &img);
	out->refusal = img.refusal;
	if (err)
		return err;

	offset = img.is_image ? img.text_offset : BOOT_RAW_OFFSET;
	/* A file longer than image_size is odd, but it must not be cut short. */
	need = img.image_size > len ? img.image_size : len;
	if (offset > mem->size || need > mem->size - offset)
		return BOOT_ERR_KERNEL_TOO_BIG;
	/* The bytes left below the load address are ordinary free RAM to the guest. */
	memmove(ram + offset, ram, len);

	out->is_image = img.is_image;
	out->kernel_start = mem->gpa + offset;
	out->kernel_end = out->kernel_start + need;
	out->entry = out->kernel_start;
	return BOOT_OK;
}

/* The DTB: the last 2 MiB block of RAM that is also inside the initrd window. */
static enum boot_error boot_place_dtb(const struct guest_mem *mem, struct boot_layout *out)
{
	uint64_t window = align_down(out->kernel_start, SZ_1G);
	uint64_t top = mem->gpa + mem->size;

	if (window <= UINT64_MAX - INITRD_WINDOW && top > window + INITRD_WINDOW)
		top = window + INITRD_WINDOW;
	/* Block aligned, so a kernel that ends below the DTB shares no 2 MiB block with it. */
	top = align_down(top, SZ_2M);
	if (top < SZ_2M || top - SZ_2M < out->kernel_end)
		return BOOT_ERR_KERNEL_TOO_BIG;
	out->dtb_gpa = top - SZ_2M;
	return BOOT_OK;
}

/*
 * The initrd: read it to the first page after the kernel, where file_load() can check it fits,
 * then slide it up to end just below the DTB, leaving the free RAM in one piece.
 */
static enum boot_error boot_load_initrd(const struct guest_mem *mem, const char *path,
					struct boot_layout *out)
{
	/* The DTB is 2 MiB aligned above kernel_end, so low <= dtb_gpa. */
	uint64_t low = align_up(out->kernel_end, SZ_4K);
	uint8_t *dst = guest_ptr(mem, low, out->dtb_gpa - low);
	size_t len;
	int ret;

	ret = file_load(path, dst, out->dtb_gpa - low, &len);
	if (ret == -EFBIG)
		return BOOT_ERR_INITRD_TOO_BIG;
	if (ret < 0) {
		out->sys_errno = -ret;
		return BOOT_ERR_INITRD_READ;
	}
	if (len == 0)
		return BOOT_ERR_INITRD_EMPTY;

	/* Page aligned, so that Linux can free whole pages once it has unpacked it. */
	out->initrd_start = align_down(out->dtb_gpa - len, SZ_4K);
	out->initrd_end = out->initrd_start + len;
	memmove(guest_ptr(mem, out->initrd_start, len), dst, len);
	return BOOT_OK;
}

enum boot_error boot_load(const struct guest_mem *mem, const char *kernel_path,
			  const char *initrd_path, struct boot_layout *out)
{
	enum boot_error err;

	memset(out, 0, sizeof(*out));
	/* The kernel's base must be 2 MiB aligned, and RAM must not wrap the address space. */
	if (mem->gpa % SZ_2M || mem->size > UINT64_MAX - mem->gpa)
		return BOOT_ERR_RAM;
	err = boot_load_kernel(mem, kernel_path, out);
	if (err)
		return err;
	err = boot_place_dtb(mem, out);
	if (err)
		return err;
	if (initrd_path)
		return boot_load_initrd(mem, initrd_path, out);
	return BOOT_OK;
}

/*
 * QEMU starts firmware from a flash at address 0 and puts the DTB at the start of RAM; here there
 * is no flash, so the firmware runs from RAM, right after the DTB's 2 MiB block. That suits
 * firmware built to run from anywhere (U-Boot's qemu_arm64 is position-independent and moves
 * itself to the top of RAM before it does anything else).
 */
enum boot_error boot_load_firmware(const struct guest_mem *mem, const char *path,
				   struct boot_layout *out)
{
	struct boot_image img;
	enum boot_error err;
	uint64_t room;
	uint8_t *dst;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (mem->gpa % SZ_2M || mem->size > UINT64_MAX - mem->gpa)
		return BOOT_ERR_RAM;
	if (mem->size <= BOOT_FIRMWARE_OFFSET)
		return BOOT_ERR_KERNEL_TOO_BIG;
	room = mem->size - BOOT_FIRMWARE_OFFSET;
	dst = guest_ptr(mem, mem->gpa + BOOT_FIRMWARE_OFFSET, room);
	ret = file_load(path, dst, room, &len);
	if (ret == -EFBIG)
		return BOOT_ERR_KERNEL_TOO_BIG;
	if (ret < 0) {
		out->sys_errno = -ret;
		return BOOT_ERR_KERNEL_READ;
	}
	/* What may not be a kernel may not be firmware either: empty, compressed, an ELF. */
	err = boot_parse(dst, len, &img);
	out->refusal = img.refusal;
	if (err)
		return err;
	out->dtb_gpa = mem->gpa;
	out->kernel_start = mem->gpa + BOOT_FIRMWARE_OFFSET;
	out->kernel_end = out->kernel_start + len;
	out->entry = out->kernel_start;
	return BOOT_OK;
}

const char *boot_strerror(enum boot_error err)
{
	switch (err) {
	case BOOT_OK:
		return "success";
	case BOOT_ERR_RAM:
		return "guest RAM must start on a 2 MiB boundary";
	case BOOT_ERR_KERNEL_READ:
		return "cannot read the kernel file";
	case BOOT_ERR_KERNEL_EMPTY:
		return "the kernel file is empty";
	case BOOT_ERR_NOT_CODE:
		return "neither an arm64 Image nor a raw binary";
	case BOOT_ERR_TRUNCATED:
		return "truncated arm64 Image: the file ends inside its 64-byte header";
	case BOOT_ERR_TRUNCATED_BODY:
		return "truncated arm64 Image: the file is shorter than its PE/COFF header says";
	case BOOT_ERR_BIG_ENDIAN:
		return "big-endian arm64 Image: only little-endian kernels are supported";
	case BOOT_ERR_TEXT_OFFSET:
		return "corrupt arm64 Image: text_offset is not a multiple of 4 KiB";
	case BOOT_ERR_KERNEL_TOO_BIG:
		return "the kernel and device tree do not fit in guest RAM";
	case BOOT_ERR_INITRD_READ:
		return "cannot read the initrd file";
	case BOOT_ERR_INITRD_EMPTY:
		return "the initrd file is empty";
	case BOOT_ERR_INITRD_TOO_BIG:
		return "the kernel, initrd and device tree do not fit in guest RAM";
	}
	return "unknown boot error";
}
