/* unit-test sources: stages/09-linux-boot/dtb.c */
/*
 * test_dtb.c - unit tests for the device tree of stage 09 (dtb.c), which is stage 08's with the
 * PL031 real-time clock and the PMU added.
 *
 * Each test builds a tree for one machine and reads it back with libfdt's read-only API, node
 * by node: what Linux will find is what the test asserts. Every tree is also handed to dtc,
 * which must convert it without a single warning (its checks cover the DT spec and bindings:
 * unit addresses against reg, phandle references, interrupt specifier sizes...).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "check.h"
#include "dtb.h"

/*
 * Stage 09's tree is stage 08's with the PL031 and the PMU added. Built from stage 08's dtb.c (a
 * learner's, by the grader: tests/grade/grade) the test expects neither; stage 09 has pl031.h.
 */
#if __has_include("pl031.h")
#define DTB_PMU_RTC 1
#endif

#define BUF_SIZE 0x10000
/* RAM_BASE: memmap.h, by way of dtb.h */
#define RAM_SIZE 0x40000000ULL

static uint8_t blob[BUF_SIZE];

/*
 * The devices' nodes, as the machine's device table adds them (add_devices): the UART, the RTC
 * where there is one, then a virtio-mmio node per bit of the slots given as ctx, ascending.
 */
static int devices(void *fdt, const void *ctx)
{
	uint32_t slots = *(const uint32_t *)ctx;
	int err = dtb_add_uart(fdt);

#ifdef DTB_PMU_RTC
	if (!err)
		err = dtb_add_rtc(fdt);
#endif
	for (unsigned int slot = 0; !err && slot < 32; slot++)
		if (slots & (1U << slot))
			err = dtb_add_virtio(fdt, slot);
	return err;
}

/* The virtio slots machine() describes: a disk and a console (0x3), unless a test says otherwise. */
static uint32_t virtio_slots;

/* A machine like the one stage 08 starts: GICv3, 2 CPUs, a disk and a console. */
static struct dtb_machine machine(void)
{
	virtio_slots = 0x3;
	return (struct dtb_machine){
		.ram_base = RAM_BASE,
		.ram_size = RAM_SIZE,
		.ncpus = 2,
		.gic_version = 3,
		.psci_1_0 = true,
#ifdef DTB_PMU_RTC
		.pmu = true,
#endif
		.add_devices = devices,
		.devices_ctx = &virtio_slots,
		.bootargs = "console=ttyAMA0 earlycon",
		.initrd_start = 0x7c000000,
		.initrd_end = 0x7c123456,
	};
}

/* Offset of the node at path; a missing node fails the check and yields a negative offset. */
static int node(const char *path)
{
	int off = fdt_path_offset(blob, path);

	if (off < 0)
		fprintf(stderr, "node %s: %s\n", path, fdt_strerror(off));
	CHECK(off >= 0);
	return off;
}

/* Property as an array of big-endian cells; *n receives the number of cells (0 if absent). */
static const fdt32_t *cells(int off, const char *name, int *n)
{
	int len = 0;
	const fdt32_t *p = off >= 0 ? fdt_getprop(blob, off, name, &len) : NULL;

	*n = p ? len / 4 : 0;
	return p;
}

static uint32_t cell(const fdt32_t *p, int i)
{
	return fdt32_to_cpu(p[i]);
}

/* Check that a property holds exactly the cells given. */
static void check_cells(int off, const char *name, const uint32_t *want, int nwant)
{
	int n;
	const fdt32_t *p = cells(off, name, &n);

	if (!p || n != nwant) {
		fprintf(stderr, "property %s: %d cells, want %d\n", name, n, nwant);
		CHECK(0);
		return;
	}
	for (int i = 0; i < n; i++)
		CHECK_EQ(cell(p, i), want[i]);
}

/* Check a "reg" of 64-bit address/size pairs (#address-cells = #size-cells = 2). */
static void check_reg64(int off, const uint64_t *want, int npairs)
{
	uint32_t w[8];

	for (int i = 0; i < 2 * npairs; i++) {
		w[2 * i] = (uint32_t)(want[i] >> 32);
		w[2 * i + 1] = (uint32_t)want[i];
	}
	check_cells(off, "reg", w, 4 * npairs);
}

static void check_u32(int off, const char *name, uint32_t want)
{
	check_cells(off, name, &want, 1);
}

static const char *str(int off, const char *name)
{
	return off >= 0 ? fdt_getprop(blob, off, name, NULL) : NULL;
}

/* Check a string list property (such as compatible) against nstr expected strings. */
static void check_strings(int off, const char *name, const char *const *want, int nstr)
{
	CHECK_EQ(fdt_stringlist_count(blob, off, name), nstr);
	for (int i = 0; i < nstr; i++)
		CHECK_STR(fdt_stringlist_get(blob, off, name, i, NULL), want[i]);
}

static bool has(int off, const char *name)
{
	return off >= 0 && fdt_getprop(blob, off, name, NULL) != NULL;
}

static bool is_empty_prop(int off, const char *name)
{
	int len = -1;

	return off >= 0 && fdt_getprop(blob, off, name, &len) && len == 0;
}

static int count_children(int parent)
{
	int n = 0, child;

	fdt_for_each_subnode(child, blob, parent) n++;
	return n;
}

/* Build m into blob and check the result is a sound tree that dtc accepts without warnings. */
static int build(const struct dtb_machine *m)
{
	char dtb_path[] = "/tmp/test_dtb.XXXXXX";
	char cmd[256], out[256];
	int ret, fd;
	size_t n;
	FILE *p;

	memset(blob, 0xa5, sizeof(blob));
	ret = dtb_build(m, blob, sizeof(blob));
	CHECK_EQ(ret, 0);
	if (ret)
		return ret;
	CHECK_EQ(fdt_check_header(blob), 0);
	CHECK_EQ(fdt_check_full(blob, sizeof(blob)), 0);
	CHECK(fdt_totalsize(blob) <= sizeof(blob));

	fd = mkstemp(dtb_path);
	CHECK(fd >= 0);
	if (fd < 0)
		return -1;
	CHECK_EQ(write(fd, blob, fdt_totalsize(blob)), fdt_totalsize(blob));
	close(fd);
	/* dtc prints warnings on stderr and still succeeds: any output at all fails the check. */
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>&1; echo rc=$?", dtb_path);
	p = popen(cmd, "r");
	n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = '\0';
	if (p)
		pclose(p);
	if (strcmp(out, "rc=0\n") != 0)
		fprintf(stderr, "dtc on %s said:\n%s", dtb_path, out);
	CHECK_STR(out, "rc=0\n");
	unlink(dtb_path);
	return 0;
}

static uint32_t phandle_of(const char *path)
{
	int off = node(path);

	return off >= 0 ? fdt_get_phandle(blob, off) : 0;
}

/* The parts every tree has, whatever the machine. */
static void check_common(const struct dtb_machine *m)
{
	static const char *const uart_compat[] = { "arm,pl011", "arm,primecell" };
#ifdef DTB_PMU_RTC
	static const char *const rtc_compat[] = { "arm,pl031", "arm,primecell" };
#endif
	static const char *const clock_names[] = { "uartclk", "apb_pclk" };
	static const char *const psci_1_0[] = { "arm,psci-1.0", "arm,psci-0.2" };
	static const char *const psci_0_2[] = { "arm,psci-0.2" };
	uint32_t gic = phandle_of("/intc@8000000");
	uint32_t clk = phandle_of("/apb-pclk");
	int root = node("/"), off, n;
	const fdt32_t *p;
	char path[64];

	/* The root: 2-cell addresses and sizes, and the GIC as the default interrupt parent. */
	CHECK_STR(str(root, "compatible"), "linux,dummy-virt");
	CHECK(str(root, "model") != NULL);
	check_u32(root, "#address-cells", 2);
	check_u32(root, "#size-cells", 2);
	CHECK(gic != 0 && gic != 0xffffffff);
	CHECK(clk != 0 && clk != 0xffffffff);
	CHECK(gic != clk);
	check_u32(root, "interrupt-parent", gic);
	CHECK_EQ(fdt_node_offset_by_phandle(blob, gic), node("/intc@8000000"));
	CHECK_EQ(fdt_node_offset_by_phandle(blob, clk), node("/apb-pclk"));

	snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)m->ram_base);
	off = node(path);
	CHECK_STR(str(off, "device_type"), "memory");
	check_reg64(off, (uint64_t[]){ m->ram_base, m->ram_size }, 1);

	/* One cpu node per vCPU, reg = the MPIDR affinity KVM gives it. */
	off = node("/cpus");
	check_u32(off, "#address-cells", 1);
	check_u32(off, "#size-cells", 0);
	CHECK_EQ(count_children(off), m->ncpus);
	for (unsigned int i = 0; i < m->ncpus; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%x", dtb_cpu_mpidr(i));
		off = node(path);
		CHECK_STR(str(off, "device_type"), "cpu");
		CHECK_STR(str(off, "compatible"), "arm,armv8");
		CHECK_STR(str(off, "enable-method"), "psci");
		check_u32(off, "reg", dtb_cpu_mpidr(i));
	}

	off = node("/psci");
	if (m->psci_1_0)
		check_strings(off, "compatible", psci_1_0, 2);
	else
		check_strings(off, "compatible", psci_0_2, 1);
	CHECK_STR(str(off, "method"), "hvc");

	/* Timer: PPIs 13, 14, 11, 10 (INTIDs 29, 30, 27, 26), level-low (8). */
	off = node("/timer");
	CHECK_STR(str(off, "compatible"), "arm,armv8-timer");
	CHECK(is_empty_prop(off, "always-on"));
	p = cells(off, "interrupts", &n);
	CHECK_EQ(n, 12);
	if (n == 12) {
		static const uint32_t ppi[4] = { 13, 14, 11, 10 };
		uint32_t flags = 8;

		if (m->gic_version == 2)
			flags |= ((1U << m->ncpus) - 1) << 8;
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(cell(p, 3 * i), 1);
			CHECK_EQ(cell(p, 3 * i + 1), ppi[i]);
			CHECK_EQ(cell(p, 3 * i + 2), flags);
		}
	}

	/* PMU: as QEMU virt, PPI 7 (INTID 23) level-high, with the CPU mask on a GICv2. */
	off = fdt_path_offset(blob, "/pmu");
#ifdef DTB_PMU_RTC
	if (m->pmu) {
		uint32_t flags = 4;

		if (m->gic_version == 2)
			flags |= ((1U << m->ncpus) - 1) << 8;
		CHECK(off >= 0);
		CHECK_STR(str(off, "compatible"), "arm,armv8-pmuv3");
		check_cells(off, "interrupts", (uint32_t[]){ 1, 7, flags }, 3);
	} else {
		CHECK_EQ(off, -FDT_ERR_NOTFOUND);
	}
#else
	CHECK_EQ(off, -FDT_ERR_NOTFOUND);
#endif

	off = node("/intc@8000000");
	check_u32(off, "#interrupt-cells", 3);
#ifdef DTB_PMU_RTC
	check_u32(off, "#address-cells", m->its ? 2 : 0); /* the ITS, a child, has a reg */
#else
	check_u32(off, "#address-cells", 0);
#endif
	CHECK(is_empty_prop(off, "interrupt-controller"));

	off = node("/apb-pclk");
	CHECK_STR(str(off, "compatible"), "fixed-clock");
	check_u32(off, "#clock-cells", 0);
	check_u32(off, "clock-frequency", 24000000);

	/* PL011: SPI 1 (INTID 33) level-high (4), two clock inputs from apb-pclk. */
	off = node("/pl011@9000000");
	check_strings(off, "compatible", uart_compat, 2);
	check_reg64(off, (uint64_t[]){ 0x09000000, 0x1000 }, 1);
	check_cells(off, "interrupts", (uint32_t[]){ 0, 1, 4 }, 3);
	check_cells(off, "clocks", (uint32_t[]){ clk, clk }, 2);
	check_strings(off, "clock-names", clock_names, 2);

#ifdef DTB_PMU_RTC
	/*
	 * PL031, as QEMU virt describes it: SPI 2 (INTID 34) level-high, the AMBA bus clock only
	 * (rtc/arm,pl031.yaml), one 4 KiB page of registers.
	 */
	off = node("/pl031@9010000");
	check_strings(off, "compatible", rtc_compat, 2);
	check_reg64(off, (uint64_t[]){ 0x09010000, 0x1000 }, 1);
	check_cells(off, "interrupts", (uint32_t[]){ 0, 2, 4 }, 3);
	check_u32(off, "clocks", clk);
	check_strings(off, "clock-names", (const char *const[]){ "apb_pclk" }, 1);
#else
	CHECK_EQ(fdt_path_offset(blob, "/pl031@9010000"), -FDT_ERR_NOTFOUND);
#endif

	/* virtio-mmio: exactly the populated slots, SPI 16 + n edge-rising (1). */
	for (unsigned int slot = 0; slot < DTB_VIRTIO_SLOTS; slot++) {
		uint64_t base = 0x0a000000 + slot * 0x1000ULL;

		snprintf(path, sizeof(path), "/virtio_mmio@%llx", (unsigned long long)base);
		off = fdt_path_offset(blob, path);
		if (!(*(const uint32_t *)m->devices_ctx & (1U << slot))) {
			CHECK_EQ(off, -FDT_ERR_NOTFOUND);
			continue;
		}
		CHECK(off >= 0);
		CHECK_STR(str(off, "compatible"), "virtio,mmio");
		check_reg64(off, (uint64_t[]){ base, 0x200 }, 1);
		check_cells(off, "interrupts", (uint32_t[]){ 0, 16 + slot, 1 }, 3);
		CHECK(is_empty_prop(off, "dma-coherent"));
	}

	/* /chosen and /aliases name the UART by a path that must resolve to it. */
	off = node("/chosen");
	CHECK_STR(str(off, "stdout-path"), "/pl011@9000000");
	CHECK_EQ(fdt_path_offset(blob, str(off, "stdout-path")), node("/pl011@9000000"));
	if (m->bootargs)
		CHECK_STR(str(off, "bootargs"), m->bootargs);
	else
		CHECK(!has(off, "bootargs"));
	if (m->initrd_end) {
		check_cells(off, "linux,initrd-start",
			    (uint32_t[]){ m->initrd_start >> 32, (uint32_t)m->initrd_start }, 2);
		check_cells(off, "linux,initrd-end",
			    (uint32_t[]){ m->initrd_end >> 32, (uint32_t)m->initrd_end }, 2);
	} else {
		CHECK(!has(off, "linux,initrd-start"));
		CHECK(!has(off, "linux,initrd-end"));
	}
	CHECK_STR(str(node("/aliases"), "serial0"), "/pl011@9000000");
	CHECK_STR(fdt_get_alias(blob, "serial0"), "/pl011@9000000");
}

/* Every "interrupts" in the tree is whole 3-cell specifiers of a valid type for the GIC. */
static void check_all_interrupts(void)
{
	int off, n, count = 0;

	for (off = fdt_next_node(blob, -1, NULL); off >= 0; off = fdt_next_node(blob, off, NULL)) {
		const fdt32_t *p = cells(off, "interrupts", &n);

		if (!p)
			continue;
		count++;
		CHECK(n > 0 && n % 3 == 0);
		for (int i = 0; i + 2 < n; i += 3) {
			uint32_t type = cell(p, i), num = cell(p, i + 1),
				 trig = cell(p, i + 2) & 0xf;

			CHECK(type == 0 || type == 1);
			CHECK(type == 0 ? num < 988 : num < 16);
			CHECK(trig == 1 || trig == 4 || trig == 8);
		}
	}
	CHECK(count >= 2);
}

static void test_gicv3(unsigned int ncpus)
{
	struct dtb_machine m = machine();
	static const char *const compat[] = { "arm,gic-v3" };
	int off;

	m.ncpus = ncpus;
	if (build(&m))
		return;
	check_common(&m);
	check_all_interrupts();
	off = node("/intc@8000000");
	check_strings(off, "compatible", compat, 1);
	/* Distributor 64 KiB, then one 128 KiB redistributor per vCPU. */
	check_reg64(off, (uint64_t[]){ 0x08000000, 0x10000, 0x080a0000, ncpus * 0x20000ULL }, 2);
	check_u32(off, "#redistributor-regions", 1);
}

static void test_gicv2(unsigned int ncpus)
{
	struct dtb_machine m = machine();
	int off;

	m.ncpus = ncpus;
	m.gic_version = 2;
	m.psci_1_0 = false;
	if (build(&m))
		return;
	check_common(&m);
	check_all_interrupts();
	off = node("/intc@8000000");
	CHECK_STR(str(off, "compatible"), "arm,cortex-a15-gic");
	/* Distributor 4 KiB, CPU interface 8 KiB, as KVM's vGICv2 maps them. */
	check_reg64(off, (uint64_t[]){ 0x08000000, 0x1000, 0x08010000, 0x2000 }, 2);
	CHECK(!has(off, "#redistributor-regions"));
}

/* No command line, no initrd, no virtio: those properties and nodes are simply absent. */
static void test_minimal(void)
{
	struct dtb_machine m = machine();

	m.ncpus = 1;
	m.bootargs = NULL;
	m.initrd_start = m.initrd_end = 0;
	virtio_slots = 0;
	m.psci_1_0 = false;
#ifdef DTB_PMU_RTC
	m.pmu = false;
#endif
	if (build(&m))
		return;
	check_common(&m);
	CHECK_EQ(count_children(node("/chosen")), 0);
}

/* All eight virtio slots, a different RAM bank, an empty command line and an rng seed. */
static void test_full(void)
{
	static const uint8_t seed[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					  23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	struct dtb_machine m = machine();
	const void *p;
	int len;

	m.ram_base = 0x80000000;
	m.ram_size = 0x100000000ULL;
	virtio_slots = 0xff;
	m.bootargs = "";
	m.initrd_start = 0x100000000ULL;
	m.initrd_end = 0x100200000ULL;
	m.rng_seed = seed;
	m.rng_seed_len = sizeof(seed);
	if (build(&m))
		return;
	check_common(&m);
	p = fdt_getprop(blob, node("/chosen"), "rng-seed", &len);
	CHECK_EQ(len, sizeof(seed));
	CHECK(p && memcmp(p, seed, sizeof(seed)) == 0);
}

#ifdef DTB_PMU_RTC
/* A GICv3 with its ITS: the GIC gets a child, and the address cells a child's reg needs. */
static void test_its(void)
{
	struct dtb_machine m = machine();
	int gic, its;

	m.its = true;
	if (build(&m))
		return;
	check_common(&m);
	gic = node("/intc@8000000");
	check_u32(gic, "#address-cells", 2);
	check_u32(gic, "#size-cells", 2);
	CHECK(is_empty_prop(gic, "ranges"));
	its = node("/intc@8000000/its@8080000");
	CHECK_STR(str(its, "compatible"), "arm,gic-v3-its");
	check_reg64(its, (uint64_t[]){ 0x08080000, 0x20000 }, 1);
	CHECK(is_empty_prop(its, "msi-controller"));
	check_u32(its, "#msi-cells", 1);
	/* Without it, none, and the GIC has no address cells for children. */
	m.its = false;
	if (build(&m))
		return;
	CHECK_EQ(fdt_path_offset(blob, "/intc@8000000/its@8080000"), -FDT_ERR_NOTFOUND);
	check_u32(node("/intc@8000000"), "#address-cells", 0);
	/* A GICv2 has no ITS to describe. */
	m.its = true;
	m.gic_version = 2;
	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), -FDT_ERR_BADVALUE);
}
#endif

/* KVM puts 16 vCPUs in each Aff1 group: vCPU 16 is MPIDR 0x100. */
static void test_mpidr(void)
{
	struct dtb_machine m = machine();

	CHECK_EQ(dtb_cpu_mpidr(0), 0);
	CHECK_EQ(dtb_cpu_mpidr(15), 0xf);
	CHECK_EQ(dtb_cpu_mpidr(16), 0x100);
	CHECK_EQ(dtb_cpu_mpidr(33), 0x201);
	CHECK_EQ(dtb_cpu_mpidr(4096), 0x10000);

	m.ncpus = DTB_MAX_CPUS_GICV3;
	if (build(&m))
		return;
	check_common(&m);
	CHECK(node("/cpus/cpu@f") >= 0);
	CHECK(node("/cpus/cpu@100") >= 0);
	CHECK(node("/cpus/cpu@70a") >= 0); /* vCPU 122 */
	CHECK_EQ(fdt_path_offset(blob, "/cpus/cpu@10"), -FDT_ERR_NOTFOUND);
	/* The largest redistributor region ends exactly where the UART starts. */
	check_reg64(node("/intc@8000000"),
		    (uint64_t[]){ 0x08000000, 0x10000, 0x080a0000, 0xf60000 }, 2);
}

/* Descriptions the fixed layout cannot express are refused before anything is written. */
static void test_invalid(void)
{
	struct dtb_machine m;

#define CHECK_BAD(field, value) \
	do { \
		m = machine(); \
		m.field = value; \
		CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), -FDT_ERR_BADVALUE); \
	} while (0)
	CHECK_BAD(gic_version, 4);
	CHECK_BAD(gic_version, 0);
	CHECK_BAD(ncpus, 0);
	CHECK_BAD(ncpus, DTB_MAX_CPUS_GICV3 + 1);
	CHECK_BAD(ram_size, 0);
	CHECK_BAD(ram_size, UINT64_MAX);
	CHECK_BAD(initrd_end, 0);
	CHECK_BAD(initrd_end, m.initrd_start);
	CHECK_BAD(initrd_start, 0x7d000000);
	CHECK_BAD(rng_seed_len, 16);
#undef CHECK_BAD
	/* A slot the layout does not have: the device's node is refused, and with it the tree. */
	m = machine();
	virtio_slots = 0x100;
	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), -FDT_ERR_BADVALUE);
	virtio_slots = 0x80000000;
	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), -FDT_ERR_BADVALUE);
	virtio_slots = 0x3;
	m = machine();
	m.gic_version = 2;
	m.ncpus = DTB_MAX_CPUS_GICV2 + 1;
	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), -FDT_ERR_BADVALUE);
	m.ncpus = DTB_MAX_CPUS_GICV2;
	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), 0);
}

/* A buffer too small by one byte fails cleanly, without writing past its end. */
static void test_nospace(void)
{
	struct dtb_machine m = machine();
	uint32_t size;
	uint8_t *buf;

	CHECK_EQ(dtb_build(&m, blob, sizeof(blob)), 0);
	size = fdt_totalsize(blob);
	CHECK(size > 0 && size < sizeof(blob));

	/* Exactly-sized heap buffers, so that ASan catches any write past the end. */
	buf = malloc(size);
	CHECK_EQ(dtb_build(&m, buf, size), 0);
	CHECK_EQ(fdt_totalsize(buf), size);
	CHECK(memcmp(buf, blob, size) == 0);
	free(buf);
	buf = malloc(size - 1);
	CHECK_EQ(dtb_build(&m, buf, size - 1), -FDT_ERR_NOSPACE);
	free(buf);
	CHECK_EQ(dtb_build(&m, blob, 16), -FDT_ERR_NOSPACE);
}

int main(void)
{
	test_gicv3(1);
	test_gicv3(2);
	test_gicv3(4);
	test_gicv2(1);
	test_gicv2(2);
	test_gicv2(4);
	test_gicv2(8);
	test_minimal();
	test_full();
	test_mpidr();
	test_invalid();
	test_nospace();
#ifdef DTB_PMU_RTC
	test_its();
#endif
	return CHECK_DONE("dtb");
}
