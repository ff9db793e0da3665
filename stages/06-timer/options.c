/*
 * options.c - this stage's command line: its options, once, in a table (common/opts.c parses it
 * and prints it for --help), and what each one sets in struct options.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "gdb.h"
#include "memmap.h"
#include "options.h"
#include "opts.h"

#define DEFAULT_RAM (1UL << 30)
#define MIN_RAM (2UL << 20) /* the image offset plus room for a small guest */
#define MAX_RAM (255UL << 30) /* RAM_BASE + MAX_RAM stays inside a 40-bit IPA space */

static const struct opt table[] = {
	{ 'm', "mem", "SIZE", "guest RAM, e.g. 256M or 1G (default 1G)" },
	{ 'g', "gic", "v2|v3", "the GIC version (default: v3 if the host can, else v2)" },
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
		"Runs GUEST.bin (loaded at 0x%lx) with a PL011 UART at 0x%08lx as its console:\n"
		"what it sends appears on stdout, stdin (a terminal, a pipe or a file) is what it\n"
		"receives. Ends when the guest powers off.\n",
		RAM_BASE + IMAGE_OFFSET, PL011_BASE);
}

static void set(void *ctx, int key, const char *value)
{
	struct options *o = ctx;

	switch (key) {
	case OPT_GDB:
	case OPT_GDB_WAIT:
		gdb_option(key, value);
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
	*o = (struct options){ .ram_size = DEFAULT_RAM };
	int first = opts_parse(argc, argv, table, "GUEST.bin", about, set, o);

	if (first == argc)
		opts_usage_error("which guest? give a GUEST.bin");
	if (first != argc - 1)
		opts_usage_error("give exactly one guest");
	o->guest = argv[first];
}
