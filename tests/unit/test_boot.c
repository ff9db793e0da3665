/* unit-test sources: stages/09-linux-boot/boot.c */
/*
 * test_boot.c - unit tests for the kernel, initrd and DTB placement of boot.c (stage 08; the last
 * stage's copy is the one built), and its PE/COFF check for a truncated Image.
 *
 * Guest RAM is a plain host buffer described by a struct guest_mem; kernels and initrds are
 * small files written to a temporary directory. Every successful load is checked against the
 * rules of Linux Documentation/arch/arm64/booting.rst by check_layout(), and the bytes in RAM
 * are compared with the files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "check.h"
#include "guest_mem.h"

#define RAM_BASE 0x40000000ULL
#define MIB 0x100000ULL
#define GIB 0x40000000ULL

static char tmpdir[] = "/tmp/test_boot.XXXXXX";
static char kernel_path[64], initrd_path[64];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Fill with a pattern that differs at every offset, so that misplaced bytes show. */
static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8) + seed);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* An Image file of len bytes with the given header fields, written to kernel_path. */
static uint8_t *make_image(size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	uint8_t *p = malloc(len);

	fill(p, len, 1);
	if (len >= 64) {
		put_le64(p + 8, text_offset);
		put_le64(p + 16, image_size);
		put_le64(p + 24, flags);
		put_le32(p + 60, 0); /* no EFI stub: no PE/COFF header to check */
	}
	if (len >= 60)
		memcpy(p + 56, "ARM\x64", 4);
	write_file(kernel_path, p, len);
	return p;
}

static uint8_t *make_initrd(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	fill(p, len, 99);
	write_file(initrd_path, p, len);
	return p;
}

static struct guest_mem ram_new(uint64_t size)
{
	return (struct guest_mem){ .gpa = RAM_BASE, .size = size, .host = calloc(1, size) };
}

static void ram_free(struct guest_mem *mem)
{
	free(mem->host);
}

/* The booting.rst rules, for any successful layout. */
static void check_layout(const struct guest_mem *mem, const struct boot_layout *l)
{
	uint64_t ram_end = mem->gpa + mem->size;
	uint64_t window = l->kernel_start & ~(GIB - 1);

	CHECK_EQ(l->entry, l->kernel_start);
	CHECK(l->kernel_start >= mem->gpa && l->kernel_start < l->kernel_end);
	CHECK(l->kernel_end <= ram_end);
	/* The kernel sits text_offset above a 2 MiB aligned base: the base of RAM. */
	CHECK_EQ(mem->gpa % (2 * MIB), 0);
	CHECK_EQ((l->kernel_start - mem->gpa) % 0x1000, 0);
	/* DTB: 2 MiB aligned, inside RAM, and its 2 MiB block shares nothing with the kernel. */
	CHECK_EQ(l->dtb_gpa % (2 * MIB), 0);
	CHECK(l->dtb_gpa >= mem->gpa && l->dtb_gpa + BOOT_DTB_MAX <= ram_end);
	CHECK(l->dtb_gpa >= ((l->kernel_end + 2 * MIB - 1) & ~(2 * MIB - 1)));
	CHECK(l->dtb_gpa + BOOT_DTB_MAX <= window + 32 * GIB);
	if (l->initrd_end) {
		/* Page aligned, between the kernel and the DTB, in the 32 GiB window. */
		CHECK_EQ(l->initrd_start % 0x1000, 0);
		CHECK(l->initrd_start >= l->kernel_end);
		CHECK(l->initrd_start < l->initrd_end);
		CHECK(l->initrd_end <= l->dtb_gpa);
		CHECK(l->initrd_end <= window + 32 * GIB);
	} else {
		CHECK_EQ(l->initrd_start, 0);
	}
	CHECK_EQ(l->sys_errno, 0);
}

static bool ram_equals(const struct guest_mem *mem, uint64_t gpa, const uint8_t *data, size_t len)
{
	const uint8_t *p = guest_ptr(mem, gpa, len);

	return p && memcmp(p, data, len) == 0;
}

/* A current kernel: text_offset 0, image_size beyond the file (its BSS), 4K pages. */
static void test_image(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(MIB + 64, 0, 3 * MIB, 0xa);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(l.is_image);
	CHECK_EQ(l.entry, RAM_BASE);
	CHECK_EQ(l.kernel_end, RAM_BASE + 3 * MIB);
	CHECK_EQ(l.dtb_gpa, RAM_BASE + 62 * MIB);
	CHECK_EQ(l.initrd_start, 0);
	CHECK_EQ(l.initrd_end, 0);
	CHECK(ram_equals(&mem, l.entry, img, MIB + 64));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

/* An older kernel with text_offset 0x80000 and 64K pages: it moves up by text_offset. */
static void test_image_text_offset(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(2 * MIB + 100, 0x80000, 5 * MIB, 0x6);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(l.is_image);
	CHECK_EQ(l.entry, 0x40080000);
	CHECK_EQ(l.kernel_end, 0x40080000 + 5 * MIB);
	CHECK(ram_equals(&mem, l.entry, img, 2 * MIB + 100));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

/* A text_offset beyond 2 MiB (some vendor kernels): legal, just further up. */
static void test_image_large_text_offset(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(MIB, 0x1080000, 3 * MIB, 0xa);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK_EQ(l.entry, RAM_BASE + 0x1080000);
	CHECK_EQ(l.kernel_end, RAM_BASE + 0x1080000 + 3 * MIB);
	CHECK(ram_equals(&mem, l.entry, img, MIB));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

/* Before Linux 3.17: image_size 0 means text_offset 0x80000, whatever the field says. */
static void test_image_size_zero(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(300000, 0x12345, 0, 1);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(l.is_image);
	CHECK_EQ(l.entry, 0x40080000);
	CHECK_EQ(l.kernel_end, 0x40080000 + 300000);
	CHECK(ram_equals(&mem, l.entry, img, 300000));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

/* A file longer than its image_size still loads whole, and all of it is reserved. */
static void test_image_size_small(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(4 * MIB, 0, MIB, 0);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK_EQ(l.kernel_end, RAM_BASE + 4 * MIB);
	CHECK(ram_equals(&mem, l.entry, img, 4 * MIB));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

static void test_parse(void)
{
	uint8_t h[64] = { 0 };
	struct boot_image img;

	memcpy(h + 56, "ARM\x64", 4);
	put_le64(h + 16, 0x1000000);
	put_le64(h + 24, 0x2 | 0x8);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK(img.is_image);
	CHECK_EQ(img.text_offset, 0);
	CHECK_EQ(img.image_size, 0x1000000);
	CHECK_EQ(img.page_size, 4096);
	put_le64(h + 24, 0x4);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK_EQ(img.page_size, 16384);
	put_le64(h + 24, 0x6);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK_EQ(img.page_size, 65536);
	put_le64(h + 24, 0);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK_EQ(img.page_size, 0);

	/* text_offset: any multiple of 4 KiB, else the header is corrupt. */
	put_le64(h + 8, 0x1ff000);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK_EQ(img.text_offset, 0x1ff000);
	put_le64(h + 8, 0x1080000);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK_EQ(img.text_offset, 0x1080000);
	put_le64(h + 8, 0x80001);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_ERR_TEXT_OFFSET);
	put_le64(h + 8, 0x80800);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_ERR_TEXT_OFFSET);
	put_le64(h + 8, 0xffffffffffffffffULL);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_ERR_TEXT_OFFSET);
	put_le64(h + 8, 0);

	/* Flags bit 0: big-endian kernel. */
	put_le64(h + 24, 0x1 | 0x2);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_ERR_BIG_ENDIAN);
	put_le64(h + 24, 0);

	/* Magic present but the file ends within the header. */
	CHECK_EQ(boot_parse(h, 60, &img), BOOT_ERR_TRUNCATED);
	CHECK_EQ(boot_parse(h, 63, &img), BOOT_ERR_TRUNCATED);
	/* Too short to hold the magic: a (tiny) raw binary. */
	CHECK_EQ(boot_parse(h, 59, &img), BOOT_OK);
	CHECK(!img.is_image);
	CHECK_EQ(boot_parse(h, 0, &img), BOOT_ERR_KERNEL_EMPTY);

	/* One wrong magic byte: a raw binary, header fields ignored. */
	h[59] = 0x65;
	put_le64(h + 24, 1);
	CHECK_EQ(boot_parse(h, 64, &img), BOOT_OK);
	CHECK(!img.is_image);
	CHECK_EQ(img.text_offset, 0);
	CHECK_EQ(img.image_size, 0);
}

/*
 * An Image with an EFI stub: header word 60 points at a PE signature, then the COFF header and a
 * section table (PE/COFF specification, "File Headers", "Section Table"). A file shorter than
 * its sections say, or one whose headers themselves run past its end, is a truncated file.
 */
#define PE_AT 0x40
#define PE_OPT 0x70 /* SizeOfOptionalHeader */
#define PE_TABLE (PE_AT + 24 + PE_OPT)

static void put_section(uint8_t *p, unsigned int i, uint32_t pointer, uint32_t size)
{
	uint8_t *s = p + PE_TABLE + 40 * i;

	put_le32(s + 16, size);
	put_le32(s + 20, pointer);
}

static void test_pe(void)
{
	size_t len = 0x3000;
	uint8_t *p = calloc(1, len);
	struct boot_image img;

	memcpy(p + 56, "ARM\x64", 4);
	put_le64(p + 16, 0x10000);
	put_le32(p + 60, PE_AT);
	memcpy(p + PE_AT, "PE\0\0", 4);
	put_le16(p + PE_AT + 6, 2); /* NumberOfSections */
	put_le16(p + PE_AT + 20, PE_OPT); /* SizeOfOptionalHeader */
	put_section(p, 0, 0x1000, 0x1000);
	put_section(p, 1, 0x2000, 0x1000); /* ends exactly at the end of the file */
	CHECK_EQ(boot_parse(p, len, &img), BOOT_OK);
	CHECK(img.is_image);
	/* One byte short of the last section, or of the first. */
	CHECK_EQ(boot_parse(p, len - 1, &img), BOOT_ERR_TRUNCATED_BODY);
	CHECK_EQ(boot_parse(p, 0x1fff, &img), BOOT_ERR_TRUNCATED_BODY);
	/* The section table itself cut: the file ends inside its second entry, or before it. */
	CHECK_EQ(boot_parse(p, PE_TABLE + 40 + 39, &img), BOOT_ERR_TRUNCATED_BODY);
	CHECK_EQ(boot_parse(p, PE_TABLE, &img), BOOT_ERR_TRUNCATED_BODY);
	/* The file ends inside the COFF header, or before the PE header starts. */
	CHECK_EQ(boot_parse(p, PE_AT + 23, &img), BOOT_ERR_TRUNCATED_BODY);
	CHECK_EQ(boot_parse(p, 64, &img), BOOT_ERR_TRUNCATED_BODY);
	/* A section at the top of the 32-bit range: the sum must not wrap around. */
	put_section(p, 1, 0xffffffff, 0xffffffff);
	CHECK_EQ(boot_parse(p, len, &img), BOOT_ERR_TRUNCATED_BODY);
	put_section(p, 1, 0x2000, 0x1000);
	/* A SizeOfOptionalHeader that puts the table past the end. */
	put_le16(p + PE_AT + 20, 0xffff);
	CHECK_EQ(boot_parse(p, len, &img), BOOT_ERR_TRUNCATED_BODY);
	put_le16(p + PE_AT + 20, PE_OPT);
	/* Many sections claimed, few bytes to hold them. */
	put_le16(p + PE_AT + 6, 0xffff);
	CHECK_EQ(boot_parse(p, len, &img), BOOT_ERR_TRUNCATED_BODY);
	put_le16(p + PE_AT + 6, 0);
	CHECK_EQ(boot_parse(p, PE_TABLE, &img), BOOT_OK); /* no sections: nothing missing */
	put_le16(p + PE_AT + 6, 2);
	/* No PE signature where word 60 points: not a PE file, nothing to check. */
	p[PE_AT] = 'X';
	CHECK_EQ(boot_parse(p, PE_TABLE, &img), BOOT_OK);
	p[PE_AT] = 'P';
	/* Offset 0: no EFI stub. */
	put_le32(p + 60, 0);
	CHECK_EQ(boot_parse(p, 64, &img), BOOT_OK);
	/* And the loader says so for a file. */
	put_le32(p + 60, PE_AT);
	write_file(kernel_path, p, len - 1);
	{
		struct guest_mem mem = { .gpa = RAM_BASE, .size = 64 * MIB };
		struct boot_layout l;

		mem.host = calloc(1, mem.size);
		CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_TRUNCATED_BODY);
		free(mem.host);
	}
	CHECK_STR(boot_strerror(BOOT_ERR_TRUNCATED_BODY),
		  "truncated arm64 Image: the file is shorter than its PE/COFF header says");
	free(p);
}

/* Images the loader must refuse, each with its own error and message. */
static void test_bad_images(void)
{
	struct guest_mem mem = ram_new(16 * MIB);
	struct boot_layout l;

	free(make_image(MIB, 0, 2 * MIB, 0x1));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_BIG_ENDIAN);
	free(make_image(MIB, 0x80400, 2 * MIB, 0x2));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_TEXT_OFFSET);
	free(make_image(62, 0, 0, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_TRUNCATED);
	free(make_image(0, 0, 0, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_EMPTY);

	CHECK_EQ(boot_load(&mem, "/nonexistent/Image", NULL, &l), BOOT_ERR_KERNEL_READ);
	CHECK_EQ(l.sys_errno, ENOENT);
	CHECK_EQ(boot_load(&mem, tmpdir, NULL, &l), BOOT_ERR_KERNEL_READ);
	CHECK_EQ(l.sys_errno, EISDIR);
	ram_free(&mem);
}

/*
 * Files that are neither an Image nor code, as users have them: an Image.gz, an ELF vmlinux, a
 * 3-byte file. Each is refused with its reason (file_type.c), before anything runs.
 */
static void test_not_code(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *word;
	} files[] = {
		{ "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10, "gzip" },
		{ "\x28\xb5\x2f\xfd\x04\x58\x00\x00", 8, "zstd" },
		{ "\xfd\x37\x7a\x58\x5a\x00\x00\x04", 8, "xz" },
		{ "\x7f\x45\x4c\x46\x02\x01\x01\x00", 8, "ELF" },
		{ "\x00\x01\x80", 3, "shorter than one instruction" },
	};
	struct guest_mem mem = ram_new(16 * MIB);
	struct boot_image img;
	struct boot_layout l;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		write_file(kernel_path, files[i].bytes, files[i].len);
		CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_NOT_CODE);
		CHECK(l.refusal && strstr(l.refusal, files[i].word));
		CHECK_EQ(boot_parse(files[i].bytes, files[i].len, &img), BOOT_ERR_NOT_CODE);
		CHECK(img.refusal == l.refusal);
	}
	/* One instruction is enough for a raw binary. */
	write_file(kernel_path, "\x00\x00\x00\x14", 4); /* b . */
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(l.refusal == NULL);
	ram_free(&mem);
}

/* No magic: a raw bare-metal program, loaded at 0x40080000 whatever its size. */
static void test_raw(void)
{
	struct guest_mem mem = ram_new(16 * MIB);
	/* mov x0, #8; hvc #0; b . */
	uint8_t prog[12] = {
		0x00, 0x01, 0x80, 0xd2, 0x02, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x00, 0x14
	};
	struct boot_layout l;
	uint8_t *img;

	write_file(kernel_path, prog, sizeof(prog));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(!l.is_image);
	CHECK_EQ(l.entry, 0x40080000);
	CHECK_EQ(l.kernel_end, 0x40080000 + sizeof(prog));
	CHECK(ram_equals(&mem, 0x40080000, prog, sizeof(prog)));
	CHECK_EQ(l.dtb_gpa, RAM_BASE + 14 * MIB);
	check_layout(&mem, &l);

	/* A bad magic byte makes a would-be Image a raw binary (and a big-endian flag is moot). */
	img = make_image(5000, 0, 2 * MIB, 0x1);
	img[59] ^= 1;
	write_file(kernel_path, img, 5000);
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(!l.is_image);
	CHECK_EQ(l.entry, 0x40080000);
	CHECK_EQ(l.kernel_end, 0x40080000 + 5000);
	CHECK(ram_equals(&mem, 0x40080000, img, 5000));
	check_layout(&mem, &l);
	free(img);
	ram_free(&mem);
}

#ifdef BOOT_FIRMWARE_OFFSET
/*
 * Stage 09's --firmware (stage 08's boot.c, which this file also tests, has none): the DTB's slot
 * at the start of RAM, the file right after it, refused as a kernel file would be.
 */
static void test_firmware(void)
{
	struct guest_mem mem = ram_new(16 * MIB);
	uint64_t at = RAM_BASE + BOOT_FIRMWARE_OFFSET, room = 16 * MIB - BOOT_FIRMWARE_OFFSET;
	uint8_t *file = malloc(room + 1);
	struct boot_layout l;

	CHECK_EQ(BOOT_FIRMWARE_OFFSET, BOOT_DTB_MAX);
	fill(file, room + 1, 3);
	write_file(kernel_path, file, 4096);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_OK);
	CHECK_EQ(l.dtb_gpa, RAM_BASE);
	CHECK_EQ(l.entry, at);
	CHECK_EQ(l.kernel_start, at);
	CHECK_EQ(l.kernel_end, at + 4096);
	CHECK_EQ(l.initrd_start, 0);
	CHECK_EQ(l.initrd_end, 0);
	CHECK(ram_equals(&mem, at, file, 4096));
	/* The rest of RAM exactly, then one byte more. */
	write_file(kernel_path, file, room);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_OK);
	CHECK(ram_equals(&mem, at, file, room));
	write_file(kernel_path, file, room + 1);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_KERNEL_TOO_BIG);
	/* Refused as a kernel file is: empty, an ELF; a missing file says why. */
	write_file(kernel_path, "", 0);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_KERNEL_EMPTY);
	write_file(kernel_path, "\x7f\x45\x4c\x46\x02\x01\x01\x00", 8);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_NOT_CODE);
	CHECK(l.refusal && strstr(l.refusal, "ELF"));
	unlink(kernel_path);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_KERNEL_READ);
	CHECK_EQ(l.sys_errno, ENOENT);
	/* RAM off a 2 MiB boundary; RAM with no room after the DTB's slot. */
	mem.gpa = RAM_BASE + 0x1000;
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_RAM);
	mem.gpa = RAM_BASE;
	ram_free(&mem);
	mem = ram_new(BOOT_FIRMWARE_OFFSET);
	CHECK_EQ(boot_load_firmware(&mem, kernel_path, &l), BOOT_ERR_KERNEL_TOO_BIG);
	ram_free(&mem);
	free(file);
}
#endif

/* Kernels that do not fit, by their file or by their image_size, with the DTB. */
static void test_too_big(void)
{
	struct guest_mem mem = ram_new(16 * MIB);
	size_t raw_max = 14 * MIB - 0x80000;
	struct boot_layout l;
	uint8_t *raw;

	/* image_size fills RAM: nothing left for the DTB. */
	free(make_image(MIB, 0, 15 * MIB, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	/* Exactly fitting: the kernel's last 2 MiB block is just below the DTB's. */
	free(make_image(MIB, 0, 14 * MIB, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK_EQ(l.dtb_gpa, RAM_BASE + 14 * MIB);
	check_layout(&mem, &l);
	/* One byte more, and the kernel would share the DTB's 2 MiB block. */
	free(make_image(MIB, 0, 14 * MIB + 1, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	/* Larger than RAM, by image_size or by text_offset + image_size. */
	free(make_image(MIB, 0, 1ULL << 40, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	free(make_image(MIB, 0x1ff000, 15 * MIB, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	free(make_image(MIB, 0xfffffffffffff000ULL, 2 * MIB, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	free(make_image(MIB, 16 * MIB, 4096, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	free(make_image(MIB, 0, UINT64_MAX, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	/* The file itself is larger than RAM. */
	free(make_image(17 * MIB, 0, 17 * MIB, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	/* A raw binary one byte too long to end below the DTB's block when loaded at +0x80000. */
	raw = malloc(raw_max + 1);
	fill(raw, raw_max + 1, 5);
	write_file(kernel_path, raw, raw_max + 1);
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	write_file(kernel_path, raw, raw_max);
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_OK);
	CHECK(ram_equals(&mem, 0x40080000, raw, raw_max));
	check_layout(&mem, &l);
	free(raw);
	/* RAM too small for anything but a tiny kernel; the DTB slot alone is 2 MiB. */
	ram_free(&mem);
	mem = ram_new(2 * MIB);
	free(make_image(4096, 0, 4096, 0));
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	ram_free(&mem);
	mem = ram_new(0);
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_KERNEL_TOO_BIG);
	ram_free(&mem);
}

/* RAM that does not start on a 2 MiB boundary cannot hold an Image where booting.rst says. */
static void test_bad_ram(void)
{
	struct guest_mem mem = ram_new(16 * MIB);
	struct boot_layout l;

	free(make_image(MIB, 0, 2 * MIB, 0));
	mem.gpa = RAM_BASE + 0x1000;
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_RAM);
	mem.gpa = UINT64_MAX & ~(2 * MIB - 1);
	CHECK_EQ(boot_load(&mem, kernel_path, NULL, &l), BOOT_ERR_RAM);
	mem.gpa = RAM_BASE;
	ram_free(&mem);
}

/* The initrd goes right below the DTB, page aligned, with its bytes intact. */
static void test_initrd(void)
{
	struct guest_mem mem = ram_new(64 * MIB);
	uint8_t *img = make_image(MIB, 0, 3 * MIB, 0xa);
	uint8_t *rd = make_initrd(5 * MIB + 123);
	struct boot_layout l;

	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_OK);
	CHECK_EQ(l.dtb_gpa, RAM_BASE + 62 * MIB);
	CHECK_EQ(l.initrd_end - l.initrd_start, 5 * MIB + 123);
	CHECK_EQ(l.initrd_start, (RAM_BASE + 62 * MIB - (5 * MIB + 123)) & ~0xfffULL);
	CHECK(ram_equals(&mem, l.initrd_start, rd, 5 * MIB + 123));
	CHECK(ram_equals(&mem, l.entry, img, MIB));
	check_layout(&mem, &l);
	free(rd);

	/* An initrd that fills every page between the kernel and the DTB exactly. */
	rd = make_initrd(59 * MIB);
	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_OK);
	CHECK_EQ(l.initrd_start, RAM_BASE + 3 * MIB);
	CHECK_EQ(l.initrd_end, l.dtb_gpa);
	CHECK(ram_equals(&mem, l.initrd_start, rd, 59 * MIB));
	check_layout(&mem, &l);
	free(rd);

	/* One byte more does not fit; nor does anything much bigger than RAM. */
	free(make_initrd(59 * MIB + 1));
	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_ERR_INITRD_TOO_BIG);
	free(make_initrd(65 * MIB));
	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_ERR_INITRD_TOO_BIG);

	free(make_initrd(0));
	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_ERR_INITRD_EMPTY);
	CHECK_EQ(boot_load(&mem, kernel_path, "/nonexistent/initrd", &l), BOOT_ERR_INITRD_READ);
	CHECK_EQ(l.sys_errno, ENOENT);
	CHECK_EQ(boot_load(&mem, kernel_path, tmpdir, &l), BOOT_ERR_INITRD_READ);
	CHECK_EQ(l.sys_errno, EISDIR);
	free(img);
	ram_free(&mem);
}

/* Many combinations of kernel, initrd and RAM sizes: every success obeys the rules. */
static void test_layout_properties(void)
{
	static const uint64_t ram_sizes[] = { 4 * MIB, 5 * MIB, 16 * MIB, 33 * MIB - 4096 };
	static const uint64_t text_offsets[] = { 0, 0x1000, 0x80000, 0x1ff000 };
	static const uint64_t kernel_sizes[] = { 64, 4096, 1234567, 3 * MIB };
	static const uint64_t initrd_sizes[] = { 0, 1, 4096, 777777, 9 * MIB };
	char initrd_paths[5][80];
	unsigned int ok = 0, refused = 0;

	/* Write each initrd once: initrd_paths[i] holds initrd_sizes[i] bytes. */
	for (unsigned int i = 1; i < 5; i++) {
		snprintf(initrd_paths[i], sizeof(initrd_paths[i]), "%s/initrd%u", tmpdir, i);
		free(make_initrd(initrd_sizes[i]));
		CHECK_EQ(rename(initrd_path, initrd_paths[i]), 0);
	}
	for (unsigned int r = 0; r < 4; r++) {
		struct guest_mem mem = ram_new(ram_sizes[r]);

		for (unsigned int t = 0; t < 4; t++) {
			for (unsigned int k = 0; k < 4; k++) {
				uint64_t image_size = kernel_sizes[k] + 2 * MIB;
				/* What must fit: the kernel's 2 MiB blocks, then the DTB's. */
				uint64_t need = ((text_offsets[t] + image_size + 2 * MIB - 1) &
						 ~(2 * MIB - 1)) +
						2 * MIB;

				free(make_image(kernel_sizes[k], text_offsets[t], image_size, 0xa));
				for (unsigned int i = 0; i < 5; i++) {
					const char *rd = i ? initrd_paths[i] : NULL;
					struct boot_layout l;
					enum boot_error err;

					err = boot_load(&mem, kernel_path, rd, &l);
					if (err == BOOT_OK) {
						ok++;
						check_layout(&mem, &l);
						CHECK_EQ(l.entry, RAM_BASE + text_offsets[t]);
						CHECK_EQ(l.initrd_end - l.initrd_start,
							 initrd_sizes[i]);
						CHECK(need <= (mem.size & ~(2 * MIB - 1)));
					} else {
						refused++;
						CHECK(err == BOOT_ERR_KERNEL_TOO_BIG ||
						      err == BOOT_ERR_INITRD_TOO_BIG);
						CHECK_EQ(err == BOOT_ERR_KERNEL_TOO_BIG,
							 need > (mem.size & ~(2 * MIB - 1)));
					}
				}
			}
		}
		ram_free(&mem);
	}
	for (unsigned int i = 1; i < 5; i++)
		unlink(initrd_paths[i]);
	/* Both outcomes must have happened, or the sizes above test nothing. */
	CHECK(ok > 50);
	CHECK(refused > 20);
}

/*
 * With more than 32 GiB of RAM the DTB and initrd must stay in the window that starts at the
 * kernel's 1 GiB boundary (booting.rst). The RAM is reserved but barely touched.
 */
static void test_window(void)
{
	uint64_t size = 34 * GIB;
	struct guest_mem mem = { .gpa = RAM_BASE, .size = size };
	struct boot_layout l;
	uint8_t *rd;

	mem.host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(mem.host != MAP_FAILED);
	if (mem.host == MAP_FAILED)
		return;
	free(make_image(MIB, 0, 3 * MIB, 0xa));
	rd = make_initrd(MIB);
	CHECK_EQ(boot_load(&mem, kernel_path, initrd_path, &l), BOOT_OK);
	CHECK_EQ(l.dtb_gpa, RAM_BASE + 32 * GIB - 2 * MIB);
	CHECK_EQ(l.initrd_end, l.dtb_gpa);
	CHECK(ram_equals(&mem, l.initrd_start, rd, MIB));
	check_layout(&mem, &l);
	free(rd);
	munmap(mem.host, size);
}

/* Random headers and lengths: the parser answers, never crashes, and keeps its promises. */
static void test_parse_random(void)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	uint8_t buf[80];
	unsigned int images = 0;

	for (int n = 0; n < 20000; n++) {
		struct boot_image img;
		enum boot_error err;
		size_t len;

		for (size_t i = 0; i < sizeof(buf); i++) {
			state = state * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[i] = (uint8_t)(state >> 56);
		}
		if (n % 2)
			memcpy(buf + 56, "ARM\x64", 4);
		if (n % 4 == 1)
			memset(buf + 8, 0, 8);
		if (n % 8 != 7)
			memset(buf + 60, 0,
			       4); /* mostly without a PE header, which 80 bytes cannot hold */
		len = (size_t)(state >> 40) % (sizeof(buf) + 1);
		err = boot_parse(buf, len, &img);
		CHECK(err == BOOT_OK || err == BOOT_ERR_KERNEL_EMPTY || err == BOOT_ERR_TRUNCATED ||
		      err == BOOT_ERR_TRUNCATED_BODY || err == BOOT_ERR_BIG_ENDIAN ||
		      err == BOOT_ERR_TEXT_OFFSET || err == BOOT_ERR_NOT_CODE);
		CHECK((err == BOOT_ERR_NOT_CODE) == (img.refusal != NULL));
		if (err == BOOT_OK && img.is_image) {
			images++;
			CHECK(len >= 64);
			CHECK_EQ(img.text_offset % 0x1000, 0);
		}
	}
	CHECK(images > 100);
}

static void test_strerror(void)
{
	for (int a = BOOT_ERR_RAM; a <= BOOT_ERR_INITRD_TOO_BIG; a++) {
		const char *m = boot_strerror(a);

		CHECK(m && *m && strcmp(m, "unknown boot error") != 0);
		CHECK(m[strlen(m) - 1] != '\n');
		for (int b = BOOT_OK; b < a; b++)
			CHECK(strcmp(m, boot_strerror(b)) != 0);
	}
	CHECK_STR(boot_strerror(BOOT_OK), "success");
	CHECK_STR(boot_strerror(BOOT_ERR_INITRD_TOO_BIG + 1), "unknown boot error");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(kernel_path, sizeof(kernel_path), "%s/Image", tmpdir);
	snprintf(initrd_path, sizeof(initrd_path), "%s/initrd", tmpdir);

	test_parse();
	test_image();
	test_image_text_offset();
	test_image_large_text_offset();
	test_image_size_zero();
	test_image_size_small();
	test_bad_images();
	test_pe();
	test_not_code();
	test_raw();
	test_too_big();
#ifdef BOOT_FIRMWARE_OFFSET
	test_firmware();
#endif
	test_bad_ram();
	test_initrd();
	test_layout_properties();
	test_window();
	test_parse_random();
	test_strerror();

	unlink(kernel_path);
	unlink(initrd_path);
	rmdir(tmpdir);
	return CHECK_DONE("boot");
}
