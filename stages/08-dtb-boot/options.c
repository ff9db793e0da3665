/*
 * options.c - this stage's command line: its options, once, in a table (common/opts.c parses it
 * and prints it for --help), and what each one sets in struct options.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "log.h"
#include "gdb.h"
#include "memmap.h"
#include "options.h"
#include "opts.h"

#define DEFAULT_RAM (1UL << 30)
#define MIN_RAM (8UL << 20) /* a small guest, and a 2 MiB-aligned block for the DTB */
#define MAX_RAM (1UL << 40) /* 1 TiB; the host's IPA size may allow less (checked later) */
/*
 * The default command line: the console on the PL011, and an early console on it from the kernel's
 * first milliseconds, at the address memmap.h gives the UART (options_parse() fills it in).
 */
#define DEFAULT_CMDLINE_FORMAT "console=ttyAMA0 earlycon=pl011,0x%08lx"
#define OPT_DTB_OUT OPT_LONG_ONLY /* --dtb-out has no one-letter form */

static const struct opt table[] = {
	{ 'k', "kernel", "FILE", "the kernel (Image) or bare-metal binary" },
	{ 'i', "initrd", "FILE", "an initramfs for the kernel" },
	{ 'a', "cmdline", "TEXT",
	  "the kernel command line (default \"console=ttyAMA0\n"
	  "earlycon=pl011,ADDRESS\", with the UART's ADDRESS above)" },
	{ OPT_DTB_OUT, "dtb-out", "FILE",
	  "also write the device tree blob to FILE (dtc -I dtb reads it)" },
	{ 'm', "mem", "SIZE", "guest RAM, e.g. 256M or 1G (default 1G)" },
	{ 'g', "gic", "v2|v3", "the GIC version (default: v3 if the host can, else v2)" },
	{ 'd', "disk", "FILE[,ro]", "a virtio-blk disk (slot 0) backed by FILE; ,ro: read-only" },
	{ 'c', "virtio-console", NULL,
	  "a virtio-console (slot 1), which gets the terminal's input" },
	{ 't', "trace", NULL, "print every exit on stderr, with the device register it hit" },
	{ 's', "stats", NULL, "print exit and device access counts on stderr at the end" },
	{ OPT_GDB, "gdb", "[HOST:]PORT", GDB_OPT_HELP },
	{ OPT_GDB_WAIT, "gdb-wait", NULL, GDB_WAIT_OPT_HELP },
	{ 0 },
};

/* What the stage does, for --help: between the usage line and the options. */
static void about(FILE *f)
{
	fprintf(f,
		"Boots KERNEL, an arm64 Linux Image or a raw bare-metal binary, with a device tree\n"
		"describing a PL011 UART at 0x%08lx (the console), a GIC, the arch timer and the\n"
		"virtio devices below. Ends when the guest powers off.\n",
		PL011_BASE);
}

static void set(void *ctx, int key, const char *value)
{
	struct options *o = ctx;

	switch (key) {
	case OPT_GDB:
	case OPT_GDB_WAIT:
		gdb_option(key, value);
		break;
	case 'k':
		o->kernel = value;
		break;
	case 'i':
		o->initrd = value;
		break;
	case 'a':
		if (strlen(value) >= BOOT_CMDLINE_SIZE)
			die("--cmdline is %zu bytes long; an arm64 kernel takes at most %d",
			    strlen(value), BOOT_CMDLINE_SIZE - 1);
		o->cmdline = value;
		break;
	case OPT_DTB_OUT:
		o->dtb_out = value;
		break;
	case 'm':
		o->ram_size = opts_size("mem", value, MIN_RAM, MAX_RAM);
		break;
	case 'g':
		if (strcmp(value, "v2") == 0 || strcmp(value, "v3") == 0)
			o->gic_version = value[1] - '0';
		else
			die("--gic takes v2 or v3, not '%s'", value);
		break;
	case 'd': {
		size_t n = strlen(value);

		o->disk_ro = n >= 3 && strcmp(value + n - 3, ",ro") == 0;
		o->disk = o->disk_ro ? strndup(value, n - 3) : value;
		if (!o->disk || !*o->disk)
			die("--disk needs a file: --disk FILE or --disk FILE,ro");
		break;
	}
	case 'c':
		o->virtio_console = true;
		break;
	case 't':
		o->trace = true;
		break;
	case 's':
		o->stats = true;
		break;
	}
}

void options_parse(int argc, char **argv, struct options *o)
{
	static char default_cmdline[sizeof(DEFAULT_CMDLINE_FORMAT) + 16];

	snprintf(default_cmdline, sizeof(default_cmdline), DEFAULT_CMDLINE_FORMAT, PL011_BASE);
	*o = (struct options){ .ram_size = DEFAULT_RAM, .cmdline = default_cmdline };
	int first = opts_parse(argc, argv, table, "KERNEL", about, set, o);

	if (first < argc && !o->kernel)
		o->kernel = argv[first++];
	if (!o->kernel)
		opts_usage_error("which kernel? give an Image or a .bin");
	if (first < argc)
		opts_usage_error("give exactly one kernel");
}
