/*
 * load.c - guest loading: the guest's files into guest RAM, each way that can fail one clear line.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "file.h"
#include "file_type.h"
#include "gdb.h"
#include "log.h"
#include "machine.h"
#include "size.h"

/* Copy the guest image into RAM at RAM_BASE + IMAGE_OFFSET; one clear line for each failure. */
void load_guest(const struct guest_mem *ram, const char *path)
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
	gdb_guest_ram(ram); /* where gdb reads and writes memory (--gdb) */
}
