/*
 * Stage 09: the full system.
 *
 * Stage 08 booted Linux on one CPU. This stage gives it as many as asked (--cpus), each vCPU in a
 * thread of its own running its own run loop. Only vCPU 0 starts; the others are created powered
 * off and wait inside KVM_RUN until the guest starts them with PSCI CPU_ON, which KVM handles in
 * the kernel (Arm DEN0022, "Power State Coordination Interface", 5.6). The device tree lists one
 * cpu node per vCPU, its reg the MPIDR affinity that CPU_ON names.
 * One vCPU's PSCI SYSTEM_OFF or SYSTEM_RESET ends the machine: the other threads are kicked out of
 * KVM_RUN with a signal (api.rst 5, "immediate_exit") and joined. A reset then builds the whole
 * machine again in this process (a new VM, fresh RAM, the kernel reloaded, devices and vCPUs
 * reset) unless --no-reboot says to stop.
 * Disks (--disk, repeatable) take virtio slots 0.., the virtio-console the slot after them. With
 * no kernel named, the guest `make stage-09` built boots. On a terminal, Ctrl-A x quits, and
 * Ctrl-C goes to the guest. Devices are shared by every vCPU thread and the console's: one lock
 * for the bus, as before, and virtio devices have their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arm64.h"
#include "boot.h"
#include "console.h"
#include "dtb.h"
#include "exits.h"
#include "guest_mem.h"
#include "log.h"
#include "mmio_bus.h"
#include "pl011.h"
#include "regs.h"
#include "rtc.h"
#include "size.h"
#include "timer.h"
#include "vcpu_features.h"
#include "vgic.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"

#define RAM_BASE	0x40000000UL /* QEMU virt: RAM starts at 1 GiB */
#define DEFAULT_RAM	(1UL << 30)
#define MIN_RAM		(8UL << 20) /* a small guest, and a 2 MiB-aligned block for the DTB */
#define MAX_RAM		(1UL << 40) /* 1 TiB; the host's IPA size may allow less (checked later) */
#define DEFAULT_CMDLINE "console=ttyAMA0 earlycon=pl011,0x09000000"
#define UART_INTID	33		   /* QEMU virt: the PL011 is SPI 1, level-sensitive */
#define MAX_CPUS	DTB_MAX_CPUS_GICV3 /* the most the memory map has room for */

/* The virtio-mmio slots: 4 KiB apart, each a 0x200-byte window (registers + configuration). */
#define VIRTIO_BASE	   0x0a000000UL
#define VIRTIO_STRIDE	   0x1000UL
#define VIRTIO_WINDOW	   0x200UL
#define VIRTIO_SLOTS	   8
#define VIRTIO_INTID(slot) (48 + (slot)) /* SPI 16 + slot */

/* Options with no short form. */
enum { OPT_PMU = 256, OPT_NO_PMU, OPT_SVE, OPT_NO_SVE, OPT_SVE_VL };

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KICK_SIGNAL SIGUSR1

struct disk_option {
	const char *path; /* the file, without ",ro" */
	bool read_only;
};

struct options {
	uint64_t ram_size;
	const char *kernel;  /* an arm64 Image, or a raw bare-metal binary */
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* the kernel command line */
	const char *dtb_out; /* NULL, or where to save the device tree */
	int gic_version;     /* 2 or 3; 0: 3 if the host can, else 2 */
	unsigned int ncpus;
	struct disk_option disks[VIRTIO_SLOTS]; /* in slots 0.. */
	unsigned int ndisks;
	bool virtio_console; /* in the slot after the last disk */
	bool no_reboot;
	bool trace;
	bool stats;
	/* --pmu, --no-pmu, --sve, --no-sve, --sve-vl */
	struct vcpu_feature_options features;
};

/* Why the machine stopped; the first reason any thread gives wins. */
enum machine_stop {
	STOP_NONE,     /* running */
	STOP_POWEROFF, /* PSCI SYSTEM_OFF */
	STOP_RESET,    /* PSCI SYSTEM_RESET */
	STOP_QUIT,     /* Ctrl-A x */
	STOP_ERROR,    /* a vCPU could not go on */
};

/* One vCPU and the thread that runs it. */
struct vcpu {
	struct machine *m;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	uint64_t exits[KVM_EXIT_ARM_NISV + 1]; /* KVM_RUN returns by exit reason, for --stats */
};

/* What --stats reports about the devices besides the bus's own counts. */
struct stats {
	uint64_t irq_raised, irq_lowered;
	uint64_t virtio_irqs[VIRTIO_SLOTS];
};

/* What a virtio slot's interrupt callback needs: the machine, and which slot it is. */
struct virtio_line {
	struct machine *m;
	unsigned int slot;
};

/* One boot of the machine, and what outlives it (the options, disks, console, stop state). */
struct machine {
	const struct options *opt;
	int kvm, vm, run_size;
	struct guest_mem ram;
	struct vgic gic;
	struct vcpu_features features; /* what every vCPU has this boot */
	struct vcpu vcpus[MAX_CPUS];
	/* Held by whichever thread touches a device: a vCPU's on MMIO exits, the console's. */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct pl011 uart;
	struct rtc rtc;
	struct console console;
	int disk_fds[VIRTIO_SLOTS];
	struct virtio_blk blks[VIRTIO_SLOTS];
	struct virtio_console vcon;
	struct virtio_rng rng; /* in the first slot left free, if one is */
	struct virtio_mmio empty[VIRTIO_SLOTS];
	struct virtio_line lines[VIRTIO_SLOTS];
	struct stats stats;
	unsigned int boots;
	/* Stopping: stop_lock orders the kicks against threads starting and ending. */
	pthread_mutex_t stop_lock;
	enum machine_stop stop; /* read without the lock by the vCPU threads (atomics) */
	bool running;		/* the vCPU threads exist */
	bool quit;		/* Ctrl-A x came, maybe between two boots */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stage-09 [options] [KERNEL]    (or: stage-09 [options] -k KERNEL)\n"
		"Boots KERNEL, an arm64 Linux Image or a raw bare-metal binary, on a machine with a\n"
		"PL011 UART at 0x%08lx (the console), a GIC, the arch timer, N vCPUs and the virtio\n"
		"devices below. Without KERNEL it boots the guest Linux that make stage-09 built\n"
		"(build/linux/Image and build/linux/initramfs.cpio.gz). Ends when the guest powers\n"
		"off; a reboot starts the guest again. On a terminal, Ctrl-A x quits and Ctrl-A\n"
		"Ctrl-A sends Ctrl-A; every other key, Ctrl-C included, goes to the guest.\n"
		"  -k, --kernel FILE     the kernel (Image) or bare-metal binary\n"
		"  -i, --initrd FILE     an initramfs for the kernel\n"
		"  -a, --cmdline TEXT    the kernel command line (default \"%s\")\n"
		"      --dtb-out FILE    also write the device tree blob to FILE (dtc -I dtb reads it)\n"
		"  -m, --mem SIZE        guest RAM, e.g. 256M or 1G (default 1G)\n"
		"  -p, --cpus N          N vCPUs (default 1)\n"
		"  -g, --gic v2|v3       the GIC version (default: v3 if the host can, else v2)\n"
		"  -d, --disk FILE[,ro]  a virtio-blk disk backed by FILE, in the next free slot from 0;\n"
		"                        ,ro: read-only; give it again for more disks\n"
		"  -c, --virtio-console  a virtio-console in the slot after the disks, which gets the\n"
		"                        terminal's input\n"
		"      --pmu, --no-pmu   a PMU (perf counters) on every vCPU: required, or none\n"
		"                        (default: if this host's KVM offers one)\n"
		"      --sve, --no-sve   SVE on every vCPU: required, or none (default: if offered)\n"
		"      --sve-vl BITS     SVE with vector lengths up to BITS only, e.g. 256\n"
		"      --no-reboot       when the guest reboots, stop instead\n"
		"  -t, --trace           print every exit on stderr, with the device register it hit\n"
		"  -s, --stats           print exit counts per vCPU and device counts on stderr at the end\n"
		"  -v, --verbose         say more about each step\n",
		PL011_BASE, DEFAULT_CMDLINE);
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

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option options[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' },
		{ "dtb-out", required_argument, NULL, 'o' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "gic", required_argument, NULL, 'g' },
		{ "disk", required_argument, NULL, 'd' },
		{ "virtio-console", no_argument, NULL, 'c' },
		{ "pmu", no_argument, NULL, OPT_PMU },
		{ "no-pmu", no_argument, NULL, OPT_NO_PMU },
		{ "sve", no_argument, NULL, OPT_SVE },
		{ "no-sve", no_argument, NULL, OPT_NO_SVE },
		{ "sve-vl", required_argument, NULL, OPT_SVE_VL },
		{ "no-reboot", no_argument, NULL, 'R' },
		{ "trace", no_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char a[SIZE_FORMAT_LEN], b[SIZE_FORMAT_LEN];
	int opt;

	*o = (struct options){ .ram_size = DEFAULT_RAM, .cmdline = DEFAULT_CMDLINE, .ncpus = 1 };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:a:m:p:g:d:ctsvh", options, NULL)) != -1) {
		switch (opt) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'a':
			o->cmdline = optarg;
			break;
		case 'o':
			o->dtb_out = optarg;
			break;
		case 'm':
			if (size_parse(optarg, &o->ram_size) != 0)
				die("--mem '%s' is not a size (try 256M or 1G)", optarg);
			if (o->ram_size < MIN_RAM || o->ram_size > MAX_RAM)
				die("--mem %s is out of range: give between %s and %s", optarg,
				    size_format(MIN_RAM, a, sizeof(a)),
				    size_format(MAX_RAM, b, sizeof(b)));
			if (o->ram_size % (uint64_t)sysconf(_SC_PAGESIZE))
				die("--mem %s is not a whole number of %ld-byte pages", optarg,
				    sysconf(_SC_PAGESIZE));
			break;
		case 'p':
			o->ncpus = parse_cpus(optarg);
			break;
		case 'g':
			if (strcmp(optarg, "v2") == 0 || strcmp(optarg, "v3") == 0)
				o->gic_version = optarg[1] - '0';
			else
				die("--gic takes v2 or v3, not '%s'", optarg);
			break;
		case 'd': {
			size_t n = strlen(optarg);
			struct disk_option *d = &o->disks[o->ndisks];

			if (o->ndisks == VIRTIO_SLOTS)
				die("too many disks: there are %d virtio slots", VIRTIO_SLOTS);
			d->read_only = n >= 3 && strcmp(optarg + n - 3, ",ro") == 0;
			d->path = d->read_only ? strndup(optarg, n - 3) : optarg;
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
			o->features.pmu = opt == OPT_PMU ? FEATURE_ON : FEATURE_OFF;
			break;
		case OPT_SVE:
		case OPT_NO_SVE:
			o->features.sve = opt == OPT_SVE ? FEATURE_ON : FEATURE_OFF;
			break;
		case OPT_SVE_VL:
			o->features.sve_max_vl = vcpu_features_parse_vl(optarg);
			break;
		case 'R':
			o->no_reboot = true;
			break;
		case 't':
			o->trace = true;
			break;
		case 's':
			o->stats = true;
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "stage-09: option '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			exit(2);
		default:
			fprintf(stderr, "stage-09: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			exit(2);
		}
	}
	if (optind < argc && !o->kernel)
		o->kernel = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "stage-09: give exactly one kernel (see --help)\n");
		exit(2);
	}
	if (o->virtio_console && o->ndisks == VIRTIO_SLOTS)
		die("too many disks for a virtio-console too: there are %d virtio slots",
		    VIRTIO_SLOTS);
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

/*
 * The guest physical address space KVM gives a VM is 40 bits unless asked otherwise; a host may
 * offer more or less (KVM_CAP_ARM_VM_IPA_SIZE, api.rst 4.2 KVM_CREATE_VM). Ask for what RAM needs:
 * the bits to address its last byte, at least 32 (the smallest KVM accepts).
 */
static int vm_type_for(int kvm, uint64_t ram_end)
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
static void load_kernel(const struct guest_mem *ram, const struct options *o,
			struct boot_layout *layout)
{
	enum boot_error err = boot_load(ram, o->kernel, o->initrd, layout);
	const char *file = err == BOOT_ERR_INITRD_READ || err == BOOT_ERR_INITRD_EMPTY ||
					   err == BOOT_ERR_INITRD_TOO_BIG
				   ? o->initrd
				   : o->kernel;
	char a[SIZE_FORMAT_LEN];

	if (err == BOOT_ERR_KERNEL_READ || err == BOOT_ERR_INITRD_READ)
		die("cannot load %s: %s", file, strerror(layout->sys_errno));
	if (err == BOOT_ERR_KERNEL_TOO_BIG || err == BOOT_ERR_INITRD_TOO_BIG)
		die("%s: %s, %s (try a larger --mem)", file, boot_strerror(err),
		    size_format(ram->size, a, sizeof(a)));
	if (err == BOOT_ERR_NOT_CODE)
		die("%s %s", file, layout->refusal);
	if (err)
		die("%s: %s", file, boot_strerror(err));
	info("%s: %s at 0x%" PRIx64 "-0x%" PRIx64 ", DTB at 0x%" PRIx64, o->kernel,
	     layout->is_image ? "Linux Image" : "raw binary", layout->kernel_start,
	     layout->kernel_end, layout->dtb_gpa);
	if (o->initrd)
		info("%s: initrd at 0x%" PRIx64 "-0x%" PRIx64, o->initrd, layout->initrd_start,
		     layout->initrd_end);
}

/* KVM's PSCI: 1.0 or later on any recent kernel, and the device tree should say which. */
static bool psci_is_1_0(int vcpu)
{
	uint64_t version;

	return regs_get(vcpu, KVM_REG_ARM_PSCI_VERSION, &version) == 0 && (version >> 16) >= 1;
}

/* Write the device tree at dtb (in guest RAM) to path, for dtc and for curious learners. */
static void save_dtb(const void *dtb, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = fdt_totalsize(dtb);

	if (fd < 0)
		die("cannot write the device tree to %s: %s", path, strerror(errno));
	if (write(fd, dtb, len) != (ssize_t)len || close(fd) < 0)
		die("cannot write the device tree to %s: %s", path, strerror(errno));
}

static void set_reg(int vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)&value };

	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		die_errno("KVM_SET_ONE_REG 0x%" PRIx64, id);
}

/*
 * An MMIO exit: kvm_run->mmio says which address, how many bytes and, for a store, the data. The
 * bus passes it to the device that owns the address. For a load we fill mmio.data and KVM
 * completes the guest's instruction on the next KVM_RUN. The data is little-endian, as the guest
 * (and an arm64 host) is. Any vCPU thread may be here: the device lock makes them take turns.
 */
static void handle_mmio(struct kvm_run *run, struct machine *m)
{
	uint64_t value = 0;
	unsigned int len = run->mmio.len <= sizeof(value) ? run->mmio.len : sizeof(value);

	pthread_mutex_lock(&m->lock);
	if (run->mmio.is_write) {
		memcpy(&value, run->mmio.data, len);
		mmio_bus_write(&m->bus, run->mmio.phys_addr, len, value);
	} else {
		value = mmio_bus_read(&m->bus, run->mmio.phys_addr, len);
		memcpy(run->mmio.data, &value, sizeof(run->mmio.data));
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * The UART's interrupt line, wired to the vGIC. Called with the device lock held, from any
 * thread; KVM_IRQ_LINE is safe while vCPUs run: KVM marks the interrupt pending and kicks the
 * vCPU it targets out of WFI or the guest.
 */
static void uart_irq_set(void *ctx, int level)
{
	struct machine *m = ctx;
	int err = vgic_set_spi(m->vm, UART_INTID, level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", UART_INTID, level, strerror(-err));
	if (level)
		m->stats.irq_raised++;
	else
		m->stats.irq_lowered++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   pl011 line %s (KVM_IRQ_LINE, INTID %d)\n",
			level ? "raised" : "lowered", UART_INTID);
}

/*
 * A virtio device's interrupt: virtio-mmio raises it when InterruptStatus gains a bit and lowers it
 * when the driver acknowledges (virtio 1.2, 4.2.3.4). The guest configures these SPIs as
 * edge-triggered, as QEMU virt's device tree says, so each raise is a new interrupt.
 */
static void virtio_irq_set(void *ctx, int level)
{
	struct virtio_line *line = ctx;
	struct machine *m = line->m;
	int err = vgic_set_spi(m->vm, VIRTIO_INTID(line->slot), level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", VIRTIO_INTID(line->slot), level,
		    strerror(-err));
	if (level)
		m->stats.virtio_irqs[line->slot]++;
	if (m->opt->trace)
		fprintf(stderr, "trace: IRQ   virtio slot %u line %s (KVM_IRQ_LINE, INTID %d)\n",
			line->slot, level ? "raised" : "lowered", VIRTIO_INTID(line->slot));
}

/* The console's input goes to one device; these give both the console_deliver_fn shape. */
static size_t uart_deliver(void *device, const uint8_t *buf, size_t len)
{
	return pl011_receive(device, buf, len);
}

static size_t vcon_deliver(void *device, const uint8_t *buf, size_t len)
{
	return virtio_console_input(device, buf, len);
}

/*
 * Open the disk before there is a VM, so a mistake costs one clear line and nothing else. A
 * writable disk must be writable: finding out at the guest's first write would be too late.
 */
static int open_disk(const char *path, bool read_only)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && !read_only && (errno == EACCES || errno == EROFS || errno == EPERM))
		die("cannot open disk %s for writing: %s (add ,ro to use it read-only)", path,
		    strerror(errno));
	if (fd < 0)
		die("cannot open disk %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die_errno("cannot stat disk %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		die("disk %s is not a file or a block device", path);
	return fd;
}

/*
 * A kick: a signal sent to one vCPU thread. The handler has nothing to do; that a handler ran is
 * what makes a KVM_RUN in progress return EINTR (api.rst 4.10 KVM_RUN: "-EINTR: an unmasked signal
 * is pending"). It cannot be SIG_IGN: an ignored signal never interrupts anything.
 */
static void kick_handler(int sig)
{
}

/*
 * Stop the machine for reason why, unless it is stopping already; STOP_NONE only waits for a stop
 * in progress. Every other vCPU gets immediate_exit, for a thread between two KVM_RUNs (its next
 * one returns at once), and a kick, for a thread inside one: running the guest, in WFI, or powered
 * off waiting for CPU_ON (api.rst 5, "immediate_exit"). Threads end through here too, so none is
 * joined while a kick is on its way to it.
 */
static void machine_stop(struct machine *m, enum machine_stop why)
{
	pthread_mutex_lock(&m->stop_lock);
	if (why == STOP_QUIT)
		m->quit = true;
	if (m->stop == STOP_NONE && why != STOP_NONE) {
		__atomic_store_n(&m->stop, why, __ATOMIC_RELEASE);
		for (unsigned int i = 0; m->running && i < m->opt->ncpus; i++) {
			struct vcpu *v = &m->vcpus[i];

			if (pthread_equal(v->thread, pthread_self()))
				continue;
			v->run->immediate_exit = 1;
			pthread_kill(v->thread, KICK_SIGNAL);
		}
	}
	pthread_mutex_unlock(&m->stop_lock);
}

/* Ctrl-A x, from the console's input thread. */
static void machine_quit(void *ctx)
{
	machine_stop(ctx, STOP_QUIT);
}

/* One vCPU's run loop, until the guest or another thread stops the machine. */
static enum machine_stop vcpu_run(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	const struct options *o = m->opt;

	for (;;) {
		if (__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE) != STOP_NONE)
			return STOP_NONE;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* A signal: a kick (checked above, next time round), or nothing for us. */
			if (errno == EINTR || errno == EAGAIN) {
				v->exits[KVM_EXIT_INTR]++;
				continue;
			}
			/*
			 * KVM itself gave up, e.g. ENOSYS for a device access it cannot decode into
			 * an MMIO exit, such as a load/store pair (stage 08 explains those).
			 */
			warn("vCPU %u: KVM_RUN failed: %s", v->index, strerror(errno));
			regs_dump(v->fd, stderr);
			return STOP_ERROR;
		}
		if (run->exit_reason < sizeof(v->exits) / sizeof(v->exits[0]))
			v->exits[run->exit_reason]++;

		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			handle_mmio(run, m);
			break;

		case KVM_EXIT_SYSTEM_EVENT:
			/*
			 * PSCI SYSTEM_OFF / SYSTEM_RESET (DEN0022 5.10, 5.11) from this vCPU: KVM has
			 * already marked every vCPU of the VM stopped; what happens next is ours to
			 * decide. The other threads may sit in KVM_RUN for ever, so they get kicked.
			 */
			if (o->trace)
				fprintf(stderr, "trace: SYSTEM_EVENT %s (vCPU %u)\n",
					system_event_name(run->system_event.type), v->index);
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				info("the guest powered off (vCPU %u)", v->index);
				return STOP_POWEROFF;
			case KVM_SYSTEM_EVENT_RESET:
				info("the guest asked for a reset (vCPU %u)", v->index);
				return STOP_RESET;
			default:
				warn("vCPU %u: the guest reported a system event of type %u (%s)",
				     v->index, run->system_event.type,
				     system_event_name(run->system_event.type));
				regs_dump(v->fd, stderr);
				return STOP_ERROR;
			}

		case KVM_EXIT_ARM_NISV:
			/*
			 * A data abort on device memory whose syndrome is not valid (ESR_EL2.ISV = 0,
			 * Arm ARM D17.2.40): a load/store pair, a write-back addressing mode, or a
			 * SIMD register. KVM cannot tell us which register to read or fill, so it
			 * cannot be an MMIO exit. Real device drivers use single loads and stores.
			 */
			warn("vCPU %u: the guest accessed device memory at 0x%llx with an "
			     "instruction KVM cannot emulate (no valid syndrome, ESR ISS 0x%llx): "
			     "use single loads and stores (ldr/str) for devices",
			     v->index, run->arm_nisv.fault_ipa, run->arm_nisv.esr_iss);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		case KVM_EXIT_FAIL_ENTRY:
			warn("vCPU %u: KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware "
			     "reason 0x%llx)",
			     v->index, run->fail_entry.hardware_entry_failure_reason);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		case KVM_EXIT_INTERNAL_ERROR:
			warn("vCPU %u: KVM hit an internal error running the guest (suberror %u)",
			     v->index, run->internal.suberror);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		default:
			warn("vCPU %u: unexpected exit %s (%u): this VMM does not handle it",
			     v->index, exit_name(run->exit_reason), run->exit_reason);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	machine_stop(v->m, vcpu_run(v));
	return NULL;
}

/* How many exits of this reason all vCPUs had together. */
static uint64_t exit_total(const struct machine *m, size_t reason)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < m->opt->ncpus; i++)
		n += m->vcpus[i].exits[reason];
	return n;
}

static void print_stats(const struct machine *m)
{
	const size_t reasons = sizeof(m->vcpus[0].exits) / sizeof(m->vcpus[0].exits[0]);
	const struct stats *st = &m->stats;
	uint64_t total = 0;

	for (size_t r = 0; r < reasons; r++)
		total += exit_total(m, r);
	fprintf(stderr, "stats: %" PRIu64 " exits\n", total);
	for (size_t r = 0; r < reasons; r++)
		if (exit_total(m, r))
			fprintf(stderr, "stats:   %-14s %8" PRIu64 "\n", exit_name(r),
				exit_total(m, r));
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		const char *sep = "";
		uint64_t n = 0;

		for (size_t r = 0; r < reasons; r++)
			n += v->exits[r];
		fprintf(stderr, "stats: vCPU %u: %" PRIu64 " exits (", i, n);
		for (size_t r = 0; r < reasons; r++)
			if (v->exits[r]) {
				fprintf(stderr, "%s%s %" PRIu64, sep, exit_name(r), v->exits[r]);
				sep = ", ";
			}
		fprintf(stderr, ")\n");
		timer_print_state(v->fd, stderr);
	}
	mmio_bus_print_stats(&m->bus, stderr);
	fprintf(stderr,
		"stats: pl011: %" PRIu64 " accesses ignored; interrupt line raised %" PRIu64
		", lowered %" PRIu64 "\n",
		m->uart.ignored, st->irq_raised, st->irq_lowered);
	fprintf(stderr, "stats: console: %" PRIu64 " bytes in, %" PRIu64 " bytes out",
		m->console.in_bytes, m->console.out_bytes);
	if (m->console.dropped)
		fprintf(stderr, ", %" PRIu64 " typed while the guest took none, dropped",
			m->console.dropped);
	fputc('\n', stderr);
	for (unsigned int i = 0; i < VIRTIO_SLOTS; i++)
		if (st->virtio_irqs[i])
			fprintf(stderr, "stats: virtio slot %u: %" PRIu64 " interrupts\n", i,
				st->virtio_irqs[i]);
}

/* One clear line when the host cannot give the guest the GIC asked for. */
static void gic_unavailable(int version, int err)
{
	if (version == 2)
		die("this host cannot give the guest a GICv2 (KVM_CREATE_DEVICE: %s): KVM emulates one "
		    "only on a GICv2 host or a GICv3 with GICv2 compatibility; leave out --gic v2",
		    strerror(-err));
	if (version == 3)
		die("this host cannot give the guest a GICv3 (KVM_CREATE_DEVICE: %s): its GIC is "
		    "older; use --gic v2",
		    strerror(-err));
	die("this host's KVM has no in-kernel GIC (KVM_CREATE_DEVICE: %s)", strerror(-err));
}

/*
 * How many vCPUs fit: what KVM takes with this vGIC (KVM_CAP_MAX_VCPUS asked of the VM, which
 * knows its vGIC: a GICv2 serves 8 CPUs), and what our memory map has room for: a GICv2's 8 CPU
 * interfaces, or 128 KiB of GICv3 redistributor per vCPU from 0x080a0000 up to the UART.
 */
static void check_cpus(int vm, const struct vgic *gic, unsigned int ncpus)
{
	int kvm_max = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	unsigned int max = gic->version == 2 ? DTB_MAX_CPUS_GICV2 : DTB_MAX_CPUS_GICV3;

	if (kvm_max > 0 && (unsigned int)kvm_max < max)
		max = (unsigned int)kvm_max;
	if (ncpus > max)
		die("--cpus %u is too many: this machine takes at most %u vCPUs with a GICv%d",
		    ncpus, max, gic->version);
}

/*
 * vCPU i. Only vCPU 0 starts running: the others are created powered off
 * (KVM_ARM_VCPU_POWER_OFF) and wait for PSCI CPU_ON. KVM gives each an MPIDR from its index,
 * which the device tree must repeat in the cpu node's reg, or CPU_ON starts the wrong one.
 */
static void vcpu_create(struct machine *m, unsigned int i, const struct kvm_vcpu_init *preferred)
{
	struct vcpu *v = &m->vcpus[i];
	struct kvm_vcpu_init init = *preferred;
	uint64_t mpidr;

	*v = (struct vcpu){ .m = m, .index = i };
	v->fd = ioctl(m->vm, KVM_CREATE_VCPU, i);
	if (v->fd < 0)
		die_errno("KVM_CREATE_VCPU %u", i);
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die_errno("cannot map vCPU %u's kvm_run area", i);
	if (i > 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT (vCPU %u)", i);
	/* SVE's vector lengths are fixed now, before any other register is touched. */
	vcpu_features_finalize(v->fd, i, &m->opt->features, &m->features);
	if (regs_get(v->fd, REG_MPIDR_EL1, &mpidr) == 0 &&
	    (mpidr & MPIDR_AFFINITY_MASK) != dtb_cpu_mpidr(i))
		die("vCPU %u has MPIDR 0x%" PRIx64 ", not the 0x%x the device tree says", i, mpidr,
		    dtb_cpu_mpidr(i));
}

/*
 * Build the machine for one boot, with the device lock held (the console's input thread, once
 * started, waits). Everything that is per boot is made here from nothing.
 */
static void machine_build(struct machine *m)
{
	const struct options *o = m->opt;
	int err;

	m->boots++;
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, vm_type_for(m->kvm, RAM_BASE + o->ram_size));
	if (m->vm < 0)
		die_errno("KVM_CREATE_VM");
	/* Accesses KVM cannot decode come to us as KVM_EXIT_ARM_NISV, not as a failed KVM_RUN. */
	if (ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

		if (ioctl(m->vm, KVM_ENABLE_CAP, &cap) < 0)
			die_errno("KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)");
	}

	/*
	 * 1. Guest RAM, new for every boot: a fresh anonymous mapping reads as zeros, so nothing of
	 * the last boot survives. MAP_NORESERVE: pages are committed as the guest touches them.
	 */
	m->ram = (struct guest_mem){ .gpa = RAM_BASE, .size = o->ram_size };
	m->ram.host = mmap(NULL, m->ram.size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram.host == MAP_FAILED)
		die_errno("cannot allocate %" PRIu64 " bytes of guest RAM", m->ram.size);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = m->ram.gpa,
		.memory_size = m->ram.size,
		.userspace_addr = (uint64_t)m->ram.host,
	};
	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION");

	/* 2. The kernel (or bare-metal program) and initrd, where booting.rst wants them. */
	struct boot_layout layout;
	load_kernel(&m->ram, o, &layout);

	/* 3. The interrupt controller, and whether it can serve as many vCPUs as asked for. */
	err = vgic_create(m->vm, o->gic_version, &m->gic);
	if (err)
		gic_unavailable(o->gic_version, err);
	check_cpus(m->vm, &m->gic, o->ncpus);
	if (m->gic.version == 3)
		info("vGICv3: distributor 0x%08lx, redistributors from 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_REDIST_BASE, GIC_NR_IRQS);
	else
		info("vGICv2: distributor 0x%08lx, CPU interface 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_CPU_BASE, GIC_NR_IRQS);

	/* 4. Every vCPU, all of the CPU model KVM prefers here, with PSCI 0.2 or later. */
	struct kvm_vcpu_init init;
	if (ioctl(m->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	vcpu_features_choose(m->vm, &o->features, &m->features, &init);
	for (unsigned int i = 0; i < o->ncpus; i++)
		vcpu_create(m, i, &init);

	/* 5. Now, and not before, the vGIC: it sizes itself for the vCPUs it sees (stage 05). */
	err = vgic_init(&m->gic);
	if (err)
		die("KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-err));
	/* A vCPU's PMU needs the vGIC ready: its overflow interrupt first, then its init. */
	for (unsigned int i = 0; i < o->ncpus; i++)
		vcpu_features_start_pmu(m->vcpus[i].fd, i, &m->features);

	/* 6. The timers' interrupts, the same PPIs on every vCPU, before any of them runs. */
	for (unsigned int i = 0; i < o->ncpus; i++) {
		err = timer_set_irqs(m->vcpus[i].fd, TIMER_VIRT_INTID, TIMER_PHYS_INTID);
		if (err == -ENXIO)
			info("this kernel has no KVM_ARM_VCPU_TIMER_CTRL: its defaults apply");
		else if (err)
			die("cannot set vCPU %u's timer interrupts (KVM_ARM_VCPU_TIMER_CTRL): %s",
			    i, strerror(-err));
	}
	int virt_intid, phys_intid;
	if (timer_get_irqs(m->vcpus[0].fd, &virt_intid, &phys_intid) == 0)
		info("timers of every vCPU: virtual INTID %d, physical INTID %d", virt_intid,
		     phys_intid);

	/*
	 * 7. Where vCPU 0 starts: the kernel's first instruction, x0 = the device tree. The others
	 * start wherever the guest's CPU_ON says, with the context it passes in x0.
	 */
	int boot_fd = m->vcpus[0].fd;
	set_reg(boot_fd, REG_PC, layout.entry);
	set_reg(boot_fd, REG_PSTATE, PSTATE_BOOT);
	set_reg(boot_fd, REG_X(0), layout.dtb_gpa);
	for (int i = 1; i <= 3; i++)
		set_reg(boot_fd, REG_X(i), 0);
	info("vCPU 0: PC = 0x%" PRIx64 ", x0 = 0x%" PRIx64 ", PSTATE = 0x%lx", layout.entry,
	     layout.dtb_gpa, PSTATE_BOOT);
	if (o->ncpus == 2)
		info("vCPU 1: powered off until the guest starts it (PSCI CPU_ON)");
	else if (o->ncpus > 2)
		info("vCPUs 1-%u: powered off until the guest starts them (PSCI CPU_ON)",
		     o->ncpus - 1);

	/* 8. The UART, on a bus emptied of the last boot's devices. */
	m->bus = (struct mmio_bus){ .trace = o->trace ? stderr : NULL };
	m->stats = (struct stats){ 0 };
	pl011_init(&m->uart, &(struct pl011_host){ .tx = console_tx,
						   .rx_wanted = console_rx_wanted,
						   .ctx = &m->console,
						   .irq_set = uart_irq_set,
						   .irq_ctx = m });
	struct mmio_device uart_dev = {
		.name = "pl011",
		.base = PL011_BASE,
		.size = PL011_SIZE,
		.opaque = &m->uart,
		.read = pl011_read,
		.write = pl011_write,
		.reg_name = pl011_reg_name,
	};
	if (mmio_bus_add(&m->bus, &uart_dev) < 0)
		die("cannot put the UART on the bus");
	/* The real-time clock: the guest's date is the host's, and its alarm wakes the guest. */
	rtc_attach(&m->rtc, &m->bus, m->vm, o->trace);

	/* 9. The virtio slots: disks from slot 0, the console, the entropy device; the rest empty. */
	uint32_t populated = 0;
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_mmio *transport = &m->empty[slot];
		struct virtio_line *line = &m->lines[slot];
		const char *name = "virtio-empty";

		*line = (struct virtio_line){ .m = m, .slot = slot };
		if (slot < o->ndisks) {
			const struct disk_option *d = &o->disks[slot];
			struct virtio_blk *blk = &m->blks[slot];
			char serial[VIRTIO_BLK_ID_BYTES + 1];

			snprintf(serial, sizeof(serial), "veleiro-disk%u", slot);
			err = virtio_blk_init(blk, m->disk_fds[slot], d->read_only, serial, &m->ram,
					      virtio_irq_set, line);
			if (err)
				die("disk %s: %s", d->path, strerror(-err));
			transport = &blk->mmio;
			name = "virtio-blk";
			info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", d->path,
			     d->read_only ? " (read-only)" : "", blk->capacity, slot);
		} else if (slot == o->ndisks && o->virtio_console) {
			virtio_console_init(&m->vcon, STDOUT_FILENO, console_rx_wanted, &m->console,
					    &m->ram, virtio_irq_set, line);
			transport = &m->vcon.mmio;
			name = "virtio-console";
			info("virtio-console: slot %u", slot);
		} else if (slot == o->ndisks + o->virtio_console) {
			virtio_rng_init(&m->rng, &m->ram, virtio_irq_set, line);
			transport = &m->rng.mmio;
			name = "virtio-rng";
			info("virtio-rng: slot %u", slot);
		} else {
			virtio_mmio_init_empty(transport);
		}
		if (transport != &m->empty[slot])
			populated |= 1U << slot;
		struct mmio_device dev = {
			.name = name,
			.base = VIRTIO_BASE + slot * VIRTIO_STRIDE,
			.size = VIRTIO_WINDOW,
			.opaque = transport,
			.read = virtio_mmio_read,
			.write = virtio_mmio_write,
		};
		if (mmio_bus_add(&m->bus, &dev) < 0)
			die("cannot put virtio slot %u on the bus", slot);
	}

	/*
	 * 10. The device tree, with a cpu node per vCPU. A fresh random seed each boot lets the
	 * kernel's RNG start unpredictable (/chosen/rng-seed).
	 */
	uint8_t seed[32];
	struct dtb_machine desc = {
		.ram_base = m->ram.gpa,
		.ram_size = m->ram.size,
		.ncpus = o->ncpus,
		.gic_version = m->gic.version,
		.psci_1_0 = psci_is_1_0(boot_fd),
		.pmu = m->features.pmu,
		.virtio_slots = populated,
		.bootargs = o->cmdline,
		.initrd_start = layout.initrd_start,
		.initrd_end = layout.initrd_end,
	};
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed)) {
		desc.rng_seed = seed;
		desc.rng_seed_len = sizeof(seed);
	}
	void *dtb = guest_ptr(&m->ram, layout.dtb_gpa, BOOT_DTB_MAX);
	err = dtb_build(&desc, dtb, BOOT_DTB_MAX);
	if (err)
		die("cannot build the device tree: %s", fdt_strerror(err));
	info("device tree: %d bytes at 0x%" PRIx64, fdt_totalsize(dtb), layout.dtb_gpa);
	if (o->dtb_out)
		save_dtb(dtb, o->dtb_out);
}

/* Run every vCPU in a thread of its own until the machine stops; returns why it stopped. */
static enum machine_stop machine_run(struct machine *m)
{
	pthread_mutex_lock(&m->stop_lock);
	m->stop = m->quit ? STOP_QUIT : STOP_NONE;
	for (unsigned int i = 0; m->stop == STOP_NONE && i < m->opt->ncpus; i++) {
		int err = pthread_create(&m->vcpus[i].thread, NULL, vcpu_thread, &m->vcpus[i]);

		if (err)
			die("cannot start a thread for vCPU %u: %s", i, strerror(err));
	}
	m->running = m->stop == STOP_NONE;
	pthread_mutex_unlock(&m->stop_lock);

	for (unsigned int i = 0; m->running && i < m->opt->ncpus; i++)
		pthread_join(m->vcpus[i].thread, NULL);
	pthread_mutex_lock(&m->stop_lock);
	m->running = false;
	/* Ctrl-A x while the machine was stopping anyway still means: no more boots. */
	if (m->quit && m->stop != STOP_ERROR)
		m->stop = STOP_QUIT;
	pthread_mutex_unlock(&m->stop_lock);
	return m->stop;
}

/* Undo machine_build(), device lock held; what outlives a boot (disks, console) stays. */
static void machine_destroy(struct machine *m)
{
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		if (slot < m->opt->ndisks)
			virtio_blk_destroy(&m->blks[slot]);
		else if (slot == m->opt->ndisks && m->opt->virtio_console)
			virtio_console_destroy(&m->vcon);
		else if (slot == m->opt->ndisks + m->opt->virtio_console)
			virtio_rng_destroy(&m->rng);
		else
			virtio_mmio_destroy(&m->empty[slot]);
	}
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		munmap(m->vcpus[i].run, m->run_size);
		close(m->vcpus[i].fd);
	}
	close(m->gic.fd);
	munmap(m->ram.host, m->ram.size);
	close(m->vm);
}

int main(int argc, char **argv)
{
	static struct options opt;
	/* Static, not on the stack: the input thread may still use it while exit() runs. */
	static struct machine m;

	parse_options(argc, argv, &opt);
	if (!opt.kernel)
		default_guest(&opt);
	m = (struct machine){ .opt = &opt };
	for (unsigned int i = 0; i < opt.ndisks; i++)
		m.disk_fds[i] = open_disk(opt.disks[i].path, opt.disks[i].read_only);

	m.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m.kvm < 0)
		die_errno("cannot open /dev/kvm (run ./stage-01 to find out why)");
	/* Guests start secondary CPUs and power off through PSCI 0.2 and later. */
	if (ioctl(m.kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0)
		die("this KVM has no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2), which guests use to start CPUs "
		    "and power off");
	/* immediate_exit is what makes a kick reliable (api.rst 5); every arm64 KVM since 4.11. */
	if (ioctl(m.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		die("this KVM has no KVM_CAP_IMMEDIATE_EXIT, which stopping the vCPUs relies on");
	m.run_size = ioctl(m.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m.run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	/*
	 * SA_RESTART: whatever else a vCPU thread may be doing when kicked (writing to the terminal,
	 * reading the disk) carries on. KVM_RUN is never restarted: it returns EINTR regardless.
	 */
	struct sigaction kick = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	sigemptyset(&kick.sa_mask);
	if (sigaction(KICK_SIGNAL, &kick, NULL) < 0)
		die_errno("sigaction");
	pthread_mutex_init(&m.lock, NULL);
	pthread_mutex_init(&m.stop_lock, NULL);
	rtc_start(&m.rtc, &m.lock);

	/* The terminal, for every boot: its input goes to virtio-console if there is one. */
	if (opt.virtio_console)
		console_init(&m.console, vcon_deliver, &m.vcon, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO, machine_quit, &m);
	else
		console_init(&m.console, uart_deliver, &m.uart, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO, machine_quit, &m);

	/*
	 * The reboot loop: build, run, take down. The device lock is held throughout except while
	 * the vCPUs run, so the input thread never sees a device half built or gone.
	 */
	enum machine_stop stop;
	pthread_mutex_lock(&m.lock);
	for (;;) {
		machine_build(&m);
		if (m.boots == 1)
			console_start(&m.console);
		else
			console_rx_wanted(&m.console); /* input held back for the old UART */
		pthread_mutex_unlock(&m.lock);
		stop = machine_run(&m);
		pthread_mutex_lock(&m.lock);
		if (opt.stats)
			print_stats(&m);
		machine_destroy(&m);
		if (stop != STOP_RESET)
			break;
		if (opt.no_reboot) {
			warn("the guest rebooted; --no-reboot: stopping here");
			break;
		}
		info("the guest rebooted: starting boot %u", m.boots + 1);
	}
	/* The device lock stays held: the input thread must not reach for a closed VM now. */
	if (stop == STOP_QUIT)
		warn("Ctrl-A x: quit");
	close(m.kvm);
	return stop == STOP_ERROR ? 1 : 0;
}
