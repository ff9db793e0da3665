/*
 * Stage 08: booting Linux.
 *
 * A bare-metal guest knows our machine because it was written for it. An operating system kernel
 * is written for every machine, so the VMM must describe this one: a device tree (Devicetree
 * Specification v0.4), built at run time in dtb.c, says where RAM is, how many CPUs there are and
 * how to start them (PSCI), which GIC, timer, UART and virtio devices exist, and what the kernel
 * command line and initrd are. And it must start the kernel the way Linux's arm64 boot protocol
 * (Documentation/arch/arm64/booting.rst) asks: the Image at a 2 MiB-aligned base plus its
 * text_offset, the initrd and the device tree where the kernel can find them, x0 = the device
 * tree's address (boot.c). Raw bare-metal binaries still load at 0x40080000, now also with x0
 * pointing at the device tree.
 * The guest physical address space is sized from KVM_CAP_ARM_VM_IPA_SIZE, and a device access KVM
 * cannot decode (KVM_EXIT_ARM_NISV) is explained rather than reported as a bare failure.
 * Everything else is stage 07.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
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
#include "size.h"
#include "timer.h"
#include "vgic.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"

#define RAM_BASE	0x40000000UL /* QEMU virt: RAM starts at 1 GiB */
#define DEFAULT_RAM	(1UL << 30)
#define MIN_RAM		(8UL << 20) /* a small guest, and a 2 MiB-aligned block for the DTB */
#define MAX_RAM		(1UL << 40) /* 1 TiB; the host's IPA size may allow less (checked later) */
#define DEFAULT_CMDLINE "console=ttyAMA0 earlycon=pl011,0x09000000"
#define UART_INTID	33 /* QEMU virt: the PL011 is SPI 1, level-sensitive */

/* The virtio-mmio slots: 4 KiB apart, each a 0x200-byte window (registers + configuration). */
#define VIRTIO_BASE	    0x0a000000UL
#define VIRTIO_STRIDE	    0x1000UL
#define VIRTIO_WINDOW	    0x200UL
#define VIRTIO_SLOTS	    8
#define VIRTIO_INTID(slot)  (48 + (slot)) /* SPI 16 + slot */
#define VIRTIO_DISK_SLOT    0
#define VIRTIO_CONSOLE_SLOT 1

struct options {
	uint64_t ram_size;
	const char *kernel;  /* an arm64 Image, or a raw bare-metal binary */
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* the kernel command line */
	const char *dtb_out; /* NULL, or where to save the device tree */
	int gic_version;     /* 2 or 3; 0: 3 if the host can, else 2 */
	const char *disk;    /* --disk FILE[,ro]: the file, without ",ro" */
	bool disk_ro;
	bool virtio_console;
	bool trace;
	bool stats;
};

/* What --stats reports besides the bus's own counts: exits by reason, interrupt line changes. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
	uint64_t irq_raised, irq_lowered;
	uint64_t virtio_irqs[VIRTIO_SLOTS];
};

/* What a virtio slot's interrupt callback needs: the machine, and which slot it is. */
struct virtio_line {
	struct machine *m;
	unsigned int slot;
};

/* What the run loop and the input thread work with. */
struct machine {
	int vm, vcpu;
	struct kvm_run *run;
	/* Held by whichever thread touches a device: the vCPU's on MMIO exits, the console's. */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct pl011 uart;
	struct console console;
	struct virtio_blk blk;
	struct virtio_console vcon;
	struct virtio_mmio empty[VIRTIO_SLOTS];
	struct virtio_line lines[VIRTIO_SLOTS];
	const struct options *opt;
	struct stats stats;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stage-08 [options] KERNEL      (or: stage-08 [options] -k KERNEL)\n"
		"Boots KERNEL, an arm64 Linux Image or a raw bare-metal binary, with a device tree\n"
		"describing a PL011 UART at 0x%08lx (the console), a GIC, the arch timer and the\n"
		"virtio devices below. Ends when the guest powers off.\n"
		"  -k, --kernel FILE     the kernel (Image) or bare-metal binary\n"
		"  -i, --initrd FILE     an initramfs for the kernel\n"
		"  -a, --cmdline TEXT    the kernel command line (default \"%s\")\n"
		"      --dtb-out FILE    also write the device tree blob to FILE (dtc -I dtb reads it)\n"
		"  -m, --mem SIZE        guest RAM, e.g. 256M or 1G (default 1G)\n"
		"  -g, --gic v2|v3       the GIC version (default: v3 if the host can, else v2)\n"
		"  -d, --disk FILE[,ro]  a virtio-blk disk (slot 0) backed by FILE; ,ro: read-only\n"
		"  -c, --virtio-console  a virtio-console (slot 1), which gets the terminal's input\n"
		"  -t, --trace           print every exit on stderr, with the device register it hit\n"
		"  -s, --stats           print exit and device access counts on stderr at the end\n"
		"  -v, --verbose         say more about each step\n",
		PL011_BASE, DEFAULT_CMDLINE);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option options[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' },
		{ "dtb-out", required_argument, NULL, 'o' },
		{ "mem", required_argument, NULL, 'm' },
		{ "gic", required_argument, NULL, 'g' },
		{ "disk", required_argument, NULL, 'd' },
		{ "virtio-console", no_argument, NULL, 'c' },
		{ "trace", no_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char a[SIZE_FORMAT_LEN], b[SIZE_FORMAT_LEN];
	int opt;

	*o = (struct options){ .ram_size = DEFAULT_RAM, .cmdline = DEFAULT_CMDLINE };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:a:o:m:g:d:ctsvh", options, NULL)) != -1) {
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
		case 'g':
			if (strcmp(optarg, "v2") == 0 || strcmp(optarg, "v3") == 0)
				o->gic_version = optarg[1] - '0';
			else
				die("--gic takes v2 or v3, not '%s'", optarg);
			break;
		case 'd': {
			size_t n = strlen(optarg);

			o->disk_ro = n >= 3 && strcmp(optarg + n - 3, ",ro") == 0;
			o->disk = o->disk_ro ? strndup(optarg, n - 3) : optarg;
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
		case 'v':
			log_level++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "stage-08: option '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			exit(2);
		default:
			fprintf(stderr, "stage-08: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			exit(2);
		}
	}
	if (optind < argc && !o->kernel)
		o->kernel = argv[optind++];
	if (optind < argc || !o->kernel) {
		fprintf(stderr, "stage-08: %s (see --help)\n",
			o->kernel ? "give exactly one kernel"
				  : "which kernel? give an Image or a .bin");
		exit(2);
	}
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

	if (err == BOOT_ERR_KERNEL_READ || err == BOOT_ERR_INITRD_READ)
		die("cannot load %s: %s", file, strerror(layout->sys_errno));
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
 * (and an arm64 host) is.
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
 * The UART's interrupt line, wired to the vGIC. Called with the device lock held, from either
 * thread; KVM_IRQ_LINE is safe while the vCPU runs: KVM marks the interrupt pending and kicks the
 * vCPU out of WFI or the guest.
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

/* Runs the vCPU until the guest powers off (0) or cannot go on (1). */
static int run_loop(struct machine *m)
{
	int vcpu = m->vcpu;
	struct kvm_run *run = m->run;
	const struct options *o = m->opt;
	struct stats *st = &m->stats;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			/* A signal arrived while the guest ran: nothing to emulate, run again. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/*
			 * KVM itself gave up, e.g. ENOSYS for a device access it cannot decode into
			 * an MMIO exit, such as a load/store pair (stage 08 explains those).
			 */
			warn("KVM_RUN failed: %s", strerror(errno));
			regs_dump(vcpu, stderr);
			return 1;
		}
		if (run->exit_reason < sizeof(st->exits) / sizeof(st->exits[0]))
			st->exits[run->exit_reason]++;

		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			handle_mmio(run, m);
			break;

		case KVM_EXIT_SYSTEM_EVENT:
			/*
			 * PSCI SYSTEM_OFF / SYSTEM_RESET (PSCI spec DEN0022, 5.10/5.11): KVM has
			 * already stopped the vCPU; what happens next is the VMM's decision. This
			 * stage has no way to start the guest afresh, so a reset also stops it.
			 */
			if (o->trace)
				fprintf(stderr, "trace: SYSTEM_EVENT %s\n",
					system_event_name(run->system_event.type));
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				info("the guest powered off");
				return 0;
			case KVM_SYSTEM_EVENT_RESET:
				warn("the guest asked for a reset; this stage cannot restart a guest, "
				     "so it stops here");
				return 0;
			default:
				warn("the guest reported a system event of type %u (%s)",
				     run->system_event.type,
				     system_event_name(run->system_event.type));
				regs_dump(vcpu, stderr);
				return 1;
			}

		case KVM_EXIT_ARM_NISV:
			/*
			 * A data abort on device memory whose syndrome is not valid (ESR_EL2.ISV = 0,
			 * Arm ARM D17.2.40): a load/store pair, a write-back addressing mode, or a
			 * SIMD register. KVM cannot tell us which register to read or fill, so it
			 * cannot be an MMIO exit. Real device drivers use single loads and stores.
			 */
			warn("the guest accessed device memory at 0x%llx with an instruction KVM "
			     "cannot emulate (no valid syndrome, ESR ISS 0x%llx): use single "
			     "loads and stores (ldr/str) for devices",
			     run->arm_nisv.fault_ipa, run->arm_nisv.esr_iss);
			regs_dump(vcpu, stderr);
			return 1;

		case KVM_EXIT_FAIL_ENTRY:
			warn("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
			     run->fail_entry.hardware_entry_failure_reason);
			regs_dump(vcpu, stderr);
			return 1;

		case KVM_EXIT_INTERNAL_ERROR:
			warn("KVM hit an internal error running the guest (suberror %u)",
			     run->internal.suberror);
			regs_dump(vcpu, stderr);
			return 1;

		default:
			warn("unexpected exit %s (%u): this VMM does not handle it",
			     exit_name(run->exit_reason), run->exit_reason);
			regs_dump(vcpu, stderr);
			return 1;
		}
	}
}

static void print_stats(const struct machine *m)
{
	const struct stats *st = &m->stats;
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		total += st->exits[i];
	fprintf(stderr, "stats: %" PRIu64 " exits\n", total);
	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		if (st->exits[i])
			fprintf(stderr, "stats:   %-14s %8" PRIu64 "\n", exit_name(i),
				st->exits[i]);
	mmio_bus_print_stats(&m->bus, stderr);
	fprintf(stderr,
		"stats: pl011: %" PRIu64 " accesses ignored; interrupt line raised %" PRIu64
		", lowered %" PRIu64 "\n",
		m->uart.ignored, st->irq_raised, st->irq_lowered);
	fprintf(stderr, "stats: console: %" PRIu64 " bytes in, %" PRIu64 " bytes out\n",
		m->console.in_bytes, m->console.out_bytes);
	for (unsigned int i = 0; i < VIRTIO_SLOTS; i++)
		if (st->virtio_irqs[i])
			fprintf(stderr, "stats: virtio slot %u: %" PRIu64 " interrupts\n", i,
				st->virtio_irqs[i]);
	timer_print_state(m->vcpu, stderr);
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

int main(int argc, char **argv)
{
	struct options opt;

	parse_options(argc, argv, &opt);
	int disk_fd = opt.disk ? open_disk(opt.disk, opt.disk_ro) : -1;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die_errno("cannot open /dev/kvm (run ./stage-01 to find out why)");
	/* Our guests power off through PSCI 0.2 (SYSTEM_OFF): make sure this KVM offers it. */
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0)
		die("this KVM has no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2), which guests use to power off");
	int vm = ioctl(kvm, KVM_CREATE_VM, vm_type_for(kvm, RAM_BASE + opt.ram_size));
	if (vm < 0)
		die_errno("KVM_CREATE_VM");
	/* Accesses KVM cannot decode come to us as KVM_EXIT_ARM_NISV, not as a failed KVM_RUN. */
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			die_errno("KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)");
	}

	/*
	 * 1. Guest RAM: anonymous memory in our address space, then a memory slot telling KVM that
	 * guest physical RAM_BASE.. is backed by it. MAP_NORESERVE: the host commits pages only
	 * when the guest touches them, so a large --mem costs nothing up front.
	 */
	struct guest_mem ram = { .gpa = RAM_BASE, .size = opt.ram_size };
	ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram.host == MAP_FAILED)
		die_errno("cannot allocate %" PRIu64 " bytes of guest RAM", ram.size);

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = ram.gpa,
		.memory_size = ram.size,
		.userspace_addr = (uint64_t)ram.host,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION");

	/* 2. The kernel (or bare-metal program) and initrd, where booting.rst wants them. */
	struct boot_layout layout;
	load_kernel(&ram, &opt, &layout);

	/*
	 * 3. The interrupt controller: a KVM device, placed where QEMU's virt machine has its GIC,
	 * with 128 interrupt IDs. This may come before or after creating the vCPUs, but always
	 * before the first KVM_RUN.
	 */
	struct vgic gic;
	int err = vgic_create(vm, opt.gic_version, &gic);
	if (err)
		gic_unavailable(opt.gic_version, err);
	if (gic.version == 3)
		info("vGICv3: distributor 0x%08lx, redistributors from 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_REDIST_BASE, GIC_NR_IRQS);
	else
		info("vGICv2: distributor 0x%08lx, CPU interface 0x%08lx, %d interrupts",
		     GIC_DIST_BASE, GIC_CPU_BASE, GIC_NR_IRQS);

	/*
	 * 4. A vCPU. KVM_ARM_PREFERRED_TARGET names the CPU model KVM emulates best on this host;
	 * KVM_ARM_VCPU_INIT resets the vCPU to that model. We also ask for PSCI 0.2, the firmware
	 * interface a guest uses to power off (api.rst, 4.82 KVM_ARM_VCPU_INIT).
	 */
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die_errno("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die_errno("cannot map the vCPU's kvm_run area");

	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT");

	/*
	 * 5. Every vCPU exists: now, and not before, the vGIC can be initialised. It sizes itself
	 * for the vCPUs it sees; a KVM_CREATE_VCPU after this fails with EBUSY. (For a GICv3,
	 * KVM_IRQ_LINE before this fails with EBUSY too.)
	 */
	err = vgic_init(&gic);
	if (err)
		die("KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-err));

	/*
	 * 6. The timers' interrupts: which PPI each of the vCPU's timers raises in the vGIC. This
	 * needs the vGIC to exist, applies to every vCPU created so far, and must happen before any
	 * of them runs. A kernel without these attributes uses the same numbers by default.
	 */
	int virt_intid, phys_intid;
	err = timer_set_irqs(vcpu, TIMER_VIRT_INTID, TIMER_PHYS_INTID);
	if (err == -ENXIO)
		info("this kernel has no KVM_ARM_VCPU_TIMER_CTRL: its default timer interrupts apply");
	else if (err)
		die("cannot set the timer interrupts (KVM_ARM_VCPU_TIMER_CTRL): %s",
		    strerror(-err));
	if (timer_get_irqs(vcpu, &virt_intid, &phys_intid) == 0)
		info("vCPU 0 timers: virtual INTID %d, physical INTID %d", virt_intid, phys_intid);

	/*
	 * 7. Where it starts: the kernel's first instruction, with x0 = the device tree's address
	 * and x1-x3 = 0 (booting.rst, "Call the kernel image"). The device tree itself is built
	 * once the devices exist (step 11).
	 */
	set_reg(vcpu, REG_PC, layout.entry);
	set_reg(vcpu, REG_PSTATE, PSTATE_BOOT);
	set_reg(vcpu, REG_X(0), layout.dtb_gpa);
	for (int i = 1; i <= 3; i++)
		set_reg(vcpu, REG_X(i), 0);
	info("vCPU 0: PC = 0x%" PRIx64 ", x0 = 0x%" PRIx64 ", PSTATE = 0x%lx", layout.entry,
	     layout.dtb_gpa, PSTATE_BOOT);

	/*
	 * 8. The devices. The UART occupies its 4 KiB window on the bus and its interrupt line goes
	 * to the vGIC. Static, not on the stack: the input thread may still use it while exit() runs
	 * after main returns.
	 */
	static struct machine m;
	m = (struct machine){ .vm = vm, .vcpu = vcpu, .run = run, .opt = &opt };
	pthread_mutex_init(&m.lock, NULL);
	m.bus.trace = opt.trace ? stderr : NULL;
	pl011_init(&m.uart, &(struct pl011_host){ .tx = console_tx,
						  .rx_wanted = console_rx_wanted,
						  .ctx = &m.console,
						  .irq_set = uart_irq_set,
						  .irq_ctx = &m });
	struct mmio_device uart_dev = {
		.name = "pl011",
		.base = PL011_BASE,
		.size = PL011_SIZE,
		.opaque = &m.uart,
		.read = pl011_read,
		.write = pl011_write,
		.reg_name = pl011_reg_name,
	};
	if (mmio_bus_add(&m.bus, &uart_dev) < 0)
		die("cannot put the UART on the bus");

	/*
	 * 9. The virtio slots. Each device gets guest RAM (its queues live there) and an interrupt
	 * line; the bus sees only the transport's register window.
	 */
	for (unsigned int slot = 0; slot < VIRTIO_SLOTS; slot++) {
		struct virtio_mmio *transport = &m.empty[slot];
		struct virtio_line *line = &m.lines[slot];
		const char *name = "virtio-empty";

		*line = (struct virtio_line){ .m = &m, .slot = slot };
		if (slot == VIRTIO_DISK_SLOT && disk_fd >= 0) {
			err = virtio_blk_init(&m.blk, disk_fd, opt.disk_ro, "veleiro-disk0", &ram,
					      virtio_irq_set, line);
			if (err)
				die("disk %s: %s", opt.disk, strerror(-err));
			transport = &m.blk.mmio;
			name = "virtio-blk";
			info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", opt.disk,
			     opt.disk_ro ? " (read-only)" : "", m.blk.capacity, slot);
		} else if (slot == VIRTIO_CONSOLE_SLOT && opt.virtio_console) {
			virtio_console_init(&m.vcon, STDOUT_FILENO, console_rx_wanted, &m.console,
					    &ram, virtio_irq_set, line);
			transport = &m.vcon.mmio;
			name = "virtio-console";
		} else {
			virtio_mmio_init_empty(transport);
		}
		struct mmio_device dev = {
			.name = name,
			.base = VIRTIO_BASE + slot * VIRTIO_STRIDE,
			.size = VIRTIO_WINDOW,
			.opaque = transport,
			.read = virtio_mmio_read,
			.write = virtio_mmio_write,
		};
		if (mmio_bus_add(&m.bus, &dev) < 0)
			die("cannot put virtio slot %u on the bus", slot);
	}

	/* 10. The terminal: its input goes to virtio-console if there is one, else the UART. */
	if (opt.virtio_console)
		console_init(&m.console, vcon_deliver, &m.vcon, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO);
	else
		console_init(&m.console, uart_deliver, &m.uart, &m.lock, STDIN_FILENO,
			     STDOUT_FILENO);

	/*
	 * 11. The device tree: the machine as built above, in the one place booting.rst reserves
	 * for it. A fresh random seed lets the kernel's RNG start unpredictable (/chosen/rng-seed).
	 */
	uint8_t seed[32];
	struct dtb_machine desc = {
		.ram_base = ram.gpa,
		.ram_size = ram.size,
		.ncpus = 1,
		.gic_version = gic.version,
		.psci_1_0 = psci_is_1_0(vcpu),
		.virtio_slots = (disk_fd >= 0 ? 1U << VIRTIO_DISK_SLOT : 0) |
				(opt.virtio_console ? 1U << VIRTIO_CONSOLE_SLOT : 0),
		.bootargs = opt.cmdline,
		.initrd_start = layout.initrd_start,
		.initrd_end = layout.initrd_end,
	};
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed)) {
		desc.rng_seed = seed;
		desc.rng_seed_len = sizeof(seed);
	}
	void *dtb = guest_ptr(&ram, layout.dtb_gpa, BOOT_DTB_MAX);
	err = dtb_build(&desc, dtb, BOOT_DTB_MAX);
	if (err)
		die("cannot build the device tree: %s", fdt_strerror(err));
	info("device tree: %d bytes at 0x%" PRIx64, fdt_totalsize(dtb), layout.dtb_gpa);
	if (opt.dtb_out)
		save_dtb(dtb, opt.dtb_out);

	/* 12. Input from now on arrives on its own thread; the vCPU runs on this one. */
	console_start(&m.console);
	int status = run_loop(&m);

	/*
	 * The guest is gone, but the input thread may still deliver a key, and with it raise the
	 * UART's line on the VM we are about to close. Taking the device lock for good keeps it out
	 * until the process ends.
	 */
	pthread_mutex_lock(&m.lock);
	if (opt.stats)
		print_stats(&m);
	munmap(run, run_size);
	close(vcpu);
	close(gic.fd);
	munmap(ram.host, ram.size);
	close(vm);
	close(kvm);
	return status;
}
