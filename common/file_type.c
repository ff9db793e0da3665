/*
 * file_type.c - what a file's first bytes say it is, where a guest program or kernel belongs.
 *
 * Each format begins with a signature ("magic number") its specification fixes: gzip (RFC 1952
 * 2.3.1: 1f 8b, then 08 for deflate, its only method), zstd (RFC 8878 3.1.1: the frame magic
 * 0xFD2FB528, little-endian), xz (the .xz file format 2.1.1.1: fd '7zXZ' 00), bzip2 ('BZh' and
 * a block size digit), lz4 (the frame magic 0x184D2204, little-endian), ELF (the System V ABI's
 * e_ident: 7f 'ELF'), an x86 kernel (Linux Documentation/arch/x86/boot.rst: 'HdrS' at 0x202),
 * and an arm64 EFI zboot image (Linux's drivers/firmware/efi/libstub/zboot-header.S: 'MZ', then
 * 'zimg' at offset 4). A first arm64 instruction that happens to look like one of these would be
 * a strange program: none of these words is a useful instruction to start with.
 */
#include <stdint.h>
#include <string.h>

#include "file_type.h"

#define ARM64_INSN_SIZE 4 /* every A64 instruction is 32 bits (Arm ARM C1.2) */
#define X86_HDRS_OFFSET 0x202

static int starts_with(const uint8_t *p, size_t len, const char *magic, size_t n)
{
	return len >= n && memcmp(p, magic, n) == 0;
}

const char *file_type_refusal(const void *data, size_t len)
{
	const uint8_t *p = data;

	if (starts_with(p, len, "\x1f\x8b\x08", 3))
		return "is gzip-compressed (an Image.gz?): decompress it first (gunzip) and give the "
		       "result";
	if (starts_with(p, len, "\x28\xb5\x2f\xfd", 4))
		return "is zstd-compressed: decompress it first (unzstd) and give the result";
	if (starts_with(p, len, "\xfd\x37\x7a\x58\x5a\x00", 6))
		return "is xz-compressed: decompress it first (unxz) and give the result";
	if (starts_with(p, len, "BZh", 3) && len > 3 && p[3] >= '1' && p[3] <= '9')
		return "is bzip2-compressed: decompress it first (bunzip2) and give the result";
	if (starts_with(p, len, "\x04\x22\x4d\x18", 4))
		return "is lz4-compressed: decompress it first (unlz4) and give the result";
	if (starts_with(p, len, "\x7f\x45\x4c\x46", 4))
		return "is an ELF file, not a raw binary or an arm64 Image: give the kernel's "
		       "arch/arm64/boot/Image (not vmlinux), or a program made raw with "
		       "objcopy -O binary";
	if (len >= 8 && starts_with(p, len, "MZ", 2) && memcmp(p + 4, "zimg", 4) == 0)
		return "is a compressed EFI zboot kernel (vmlinuz.efi): give the plain arm64 Image "
		       "(arch/arm64/boot/Image)";
	if (len >= X86_HDRS_OFFSET + 4 && memcmp(p + X86_HDRS_OFFSET, "HdrS", 4) == 0)
		return "is an x86 kernel (bzImage), and this machine runs arm64 code: give an arm64 "
		       "Image";
	if (len < ARM64_INSN_SIZE)
		return "is shorter than one instruction (4 bytes): a guest needs at least one";
	return NULL;
}
