/*
 * options.c - this stage's command line: its options, once, in a table (common/opts.c parses it
 * and prints it for --help), and what each one sets in struct options.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "log.h"
#include "gdb.h"
#include "memmap.h"
#include "options.h"
#include "opts.h"
#include "vcpu_features.h"

#define DEFAULT_RAM (1UL << 30)
#define MIN_RAM (8UL << 20) /* a small guest, and a 2 MiB-aligned block for the DTB */
#define MAX_RAM (1UL << 40) /* 1 TiB; the host's IPA size may allow less (checked later) */
/*
 * The default command line: the console on the PL011, and an early console on it from the kernel's
 * first milliseconds, at the address memmap.h gives the UART (options_parse() fills it in).
 */
#define DEFAULT_CMDLINE_FORMAT "console=ttyAMA0 earlycon=pl011,0x%08lx"
#define OPT_DTB_OUT OPT_LONG_ONLY /* --dtb-out has no one-letter form */
#define OPT_NO_REBOOT (OPT_LONG_ONLY + 1)
#define OPT_PMU (OPT_LONG_ONLY + 2)
#define OPT_NO_PMU (OPT_LONG_ONLY + 3)
#define OPT_SVE (OPT_LONG_ONLY + 4)
#define OPT_NO_SVE (OPT_LONG_ONLY + 5)
#define OPT_SVE_VL (OPT_LONG_ONLY + 6)
#define OPT_NO_IOEVENTFD (OPT_LONG_ONLY + 7)
#define OPT_NO_COALESCED_MMIO (OPT_LONG_ONLY + 8)
#define OPT_NO_ITS (OPT_LONG_ONLY + 9)
#define OPT_FIRMWARE (OPT_LONG_ONLY + 10)

static const struct opt table[] = {
	{ 'k', "kernel", "FILE", "the kernel (Image) or bare-metal binary" },
	{ 'i', "initrd", "FILE", "an initramfs for the kernel" },
	{ OPT_FIRMWARE, "firmware", "FILE",
	  "boot firmware such as U-Boot instead of a kernel: FILE 2 MiB\n"
	  "into RAM, the device tree at the start of RAM, as QEMU virt does" },
	{ 'a', "cmdline", "TEXT",
	  "the kernel command line (default \"console=ttyAMA0\n"
	  "earlycon=pl011,ADDRESS\", with the UART's ADDRESS above)" },
	{ OPT_DTB_OUT, "dtb-out", "FILE",
	  "also write the device tree blob to FILE (dtc -I dtb reads it)" },
	{ 'm', "mem", "SIZE", "guest RAM, e.g. 256M or 1G (default 1G)" },
	{ 'p', "cpus", "N", "N vCPUs (default 1)" },
	{ 'g', "gic", "v2|v3", "the GIC version (default: v3 if the host can, else v2)" },
	{ 'd', "disk", "FILE[,ro]",
	  "a virtio-blk disk backed by FILE, in the next free slot from 0;\n"
	  ",ro: read-only; give it again for more disks" },
	{ 'c', "virtio-console", NULL,
	  "a virtio-console in the slot after the disks, which gets the\nterminal's input" },
	{ OPT_PMU, "pmu", NULL,
	  "a PMU (perf counters) on every vCPU, required\n(default: if this host's KVM offers one)" },
	{ OPT_NO_PMU, "no-pmu", NULL, "no PMU" },
	{ OPT_SVE, "sve", NULL, "SVE on every vCPU, required (default: if offered)" },
	{ OPT_NO_SVE, "no-sve", NULL, "no SVE" },
	{ OPT_SVE_VL, "sve-vl", "BITS", "SVE with vector lengths up to BITS only, e.g. 256" },
	{ OPT_NO_REBOOT, "no-reboot", NULL, "when the guest reboots, stop instead" },
	{ OPT_NO_IOEVENTFD, "no-ioeventfd", NULL,
	  "virtio the slow way, to compare: notifications by MMIO exit,\ninterrupts by KVM_IRQ_LINE "
	  "(default: KVM_IOEVENTFD, KVM_IRQFD)" },
	{ OPT_NO_COALESCED_MMIO, "no-coalesced-mmio", NULL,
	  "an MMIO exit for every byte the UART sends, to compare\n(default: KVM coalesces them)" },
	{ OPT_NO_ITS, "no-its", NULL, "no GICv3 ITS (default: one, where KVM offers it)" },
	{ 't', "trace", NULL, "print every exit on stderr, with the device register it hit" },
	{ 's', "stats", NULL, "print exit counts per vCPU and device counts on stderr at the end" },
	{ OPT_GDB, "gdb", "[HOST:]PORT", GDB_OPT_HELP },
	{ OPT_GDB_WAIT, "gdb-wait", NULL, GDB_WAIT_OPT_HELP },
	{ 0 },
};

/* What the stage does, for --help: between the usage line and the options. */
static void about(FILE *f)
{
	fprintf(f,
		"Boots KERNEL, an arm64 Linux Image or a raw bare-metal binary, on a machine with a\n"
		"PL011 UART at 0x%08lx (the console), a GIC, the arch timer, N vCPUs and the virtio\n"
		"devices below. Without KERNEL it boots the guest Linux that make stage-09 built\n"
		"(build/linux/Image and build/linux/initramfs.cpio.gz). Ends when the guest powers\n"
		"off; a reboot starts the guest again. On a terminal, Ctrl-A x quits and Ctrl-A\n"
		"Ctrl-A sends Ctrl-A; every other key, Ctrl-C included, goes to the guest.\n",
		PL011_BASE);
}

/* --cpus N: a whole number from 1; whether this host and GIC take that many is checked later. */
static unsigned int parse_cpus(const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || n == 0 || n > UINT_MAX)
		die("--cpus takes a number of vCPUs from 1 up, not '%s'", s);
	return (unsigned int)n;
}

/* Whether dir/name fits in out (len bytes) and is a file we can read; out holds the path. */
static bool guest_file(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len && access(out, R_OK) == 0;
}

/*
 * No kernel named: boot the guest `make stage-09` builds, Debian's kernel with our initramfs. It
 * is found from where this program is, not from the current directory: build/<arch>/stage-09 has
 * it in ../linux, the copy that is ./stage-09 on an arm64 host in build/linux.
 */
static void default_guest(struct options *o)
{
	static const char *const dirs[] = { "../linux", "build/linux" };
	static char kernel[PATH_MAX], initrd[PATH_MAX];
	char exe[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		die_errno("cannot find where this program is (/proc/self/exe)");
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (unsigned int i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int len = snprintf(dir, sizeof(dir), "%s/%s", exe, dirs[i]);

		if (len < 0 || (size_t)len >= sizeof(dir) || !realpath(dir, real))
			continue;
		if (guest_file(kernel, sizeof(kernel), real, "Image") &&
		    guest_file(initrd, sizeof(initrd), real, "initramfs.cpio.gz")) {
			o->kernel = kernel;
			if (!o->initrd)
				o->initrd = initrd;
			info("no kernel given: booting %s with %s", o->kernel, o->initrd);
			return;
		}
	}
	die("no kernel given, and the default guest (build/linux/Image and "
	    "build/linux/initramfs.cpio.gz) is not there: run make stage-09");
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
	case OPT_FIRMWARE:
		o->firmware = value;
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
	case 'p':
		o->ncpus = parse_cpus(value);
		break;
	case 'd': {
		size_t n = strlen(value);
		struct disk_option *d = &o->disks[o->ndisks];

		if (o->ndisks == VIRTIO_SLOTS)
			die("too many disks: there are %d virtio slots", VIRTIO_SLOTS);
		d->read_only = n >= 3 && strcmp(value + n - 3, ",ro") == 0;
		d->path = d->read_only ? strndup(value, n - 3) : value;
		if (!d->path || !*d->path)
			die("--disk needs a file: --disk FILE or --disk FILE,ro");
		o->ndisks++;
		break;
	}
	case 'c':
		o->virtio_console = true;
		break;
	case OPT_PMU:
	case OPT_NO_PMU:
		o->features.pmu = key == OPT_PMU ? FEATURE_ON : FEATURE_OFF;
		break;
	case OPT_SVE:
	case OPT_NO_SVE:
		o->features.sve = key == OPT_SVE ? FEATURE_ON : FEATURE_OFF;
		break;
	case OPT_SVE_VL:
		o->features.sve_max_vl = vcpu_features_parse_vl(value);
		break;
	case OPT_NO_REBOOT:
		o->no_reboot = true;
		break;
	case OPT_NO_IOEVENTFD:
		o->no_ioeventfd = true;
		break;
	case OPT_NO_COALESCED_MMIO:
		o->no_coalesced_mmio = true;
		break;
	case OPT_NO_ITS:
		o->no_its = true;
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
	*o = (struct options){ .ram_size = DEFAULT_RAM, .cmdline = default_cmdline, .ncpus = 1 };
	int first = opts_parse(argc, argv, table, "[KERNEL]", about, set, o);

	if (first < argc && !o->kernel)
		o->kernel = argv[first++];
	if (first < argc)
		opts_usage_error("give exactly one kernel");
	/* Firmware finds and loads the kernel itself, from the disks the machine has. */
	if (o->firmware && (o->kernel || o->initrd))
		opts_usage_error("--firmware boots instead of a kernel: give no kernel or --initrd "
				 "with it");
	if (o->virtio_console && o->ndisks == VIRTIO_SLOTS)
		die("too many disks for a virtio-console too: there are %d virtio slots",
		    VIRTIO_SLOTS);
	if (!o->kernel && !o->firmware)
		default_guest(o);
}
