/*
 * dtb.c - build the device tree (DTB) that describes this machine to Linux.
 *
 * The tree follows the Devicetree Specification v0.4 (root, /memory, /cpus, /chosen, /aliases
 * in chapter 3) and the Linux DT bindings of each device: arm,gic-v3 and arm,cortex-a15-gic
 * (interrupt-controller/arm,gic-v3.yaml, arm,gic.yaml), arm,armv8-timer (timer/arm,arch_timer),
 * arm,psci (arm/psci.yaml), fixed-clock, arm,pl011 + arm,primecell (serial/pl011.yaml),
 * arm,pl031 + arm,primecell (rtc/arm,pl031.yaml), arm,armv8-pmuv3 (arm/pmu.yaml) and
 * virtio,mmio (virtio/mmio.yaml). Addresses and interrupt numbers come from memmap.h, which
 * follows QEMU virt (except that virtio-mmio slots are 4 KiB apart here and 512 bytes apart in
 * QEMU), so a guest finds the same devices at the same places on both.
 *
 * libfdt's sequential-write API builds the blob front to back: fdt_begin_node() opens a node,
 * fdt_property*() add to the node that is open, fdt_end_node() closes it, and all properties
 * of a node must come before its first child. fdt_finish() then writes the string table and
 * leaves a compact, valid blob. Any call can fail when the buffer is full, so each one goes
 * through FDT_TRY, which passes the error on.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include <libfdt.h>

#include "dtb.h"
#include "memmap.h"
#include "pl011.h"
#include "pl031.h"

/* The GIC's frames: sizes fixed by the architecture, addresses in memmap.h. */
#define GIC_DIST_SIZE_V3 0x10000ULL /* GICv3 Distributor: one 64 KiB frame */
#define GIC_DIST_SIZE_V2 0x1000ULL /* GICv2 Distributor: 4 KiB (KVM_VGIC_V2_DIST_SIZE) */
#define GIC_CPU_SIZE 0x2000ULL /* 8 KiB: GICC_DIR sits at 0x1000 (KVM_VGIC_V2_CPU_SIZE) */
#define APB_PCLK_HZ 24000000 /* PL011 reference clock, the value QEMU virt uses */

/*
 * Interrupt specifiers, three cells (GIC bindings): cell 1 is the type (GIC_SPI or GIC_PPI),
 * cell 2 the number within that type (SPI n = INTID 32 + n, PPI n = INTID 16 + n), cell 3 the
 * flags: trigger in bits [3:0] (values of include/dt-bindings/interrupt-controller/irq.h) and,
 * for PPIs on a GICv2 only, the mask of CPUs the PPI is wired to in bits [15:8].
 */
#define GIC_SPI 0
#define GIC_PPI 1
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH 4
#define IRQ_TYPE_LEVEL_LOW 8
#define GIC_PPI_CPU_SHIFT 8

#define UART_SPI (UART_INTID - GIC_SPI_INTID(0))
#define RTC_SPI (PL031_INTID - GIC_SPI_INTID(0))
#define VIRTIO_SPI_FIRST (VIRTIO_INTID(0) - GIC_SPI_INTID(0)) /* slot n: SPI VIRTIO_SPI_FIRST + n */

/* Arch timer PPIs in the order the arm,armv8-timer binding lists them. */
#define TIMER_PPI_SEC_PHYS 13 /* INTID 29: secure EL1 physical timer */
#define TIMER_PPI_PHYS (TIMER_PHYS_INTID - GIC_PPI_INTID(0)) /* non-secure EL1 physical */
#define TIMER_PPI_VIRT (TIMER_VIRT_INTID - GIC_PPI_INTID(0)) /* virtual timer */
#define TIMER_PPI_HYP 10 /* INTID 26: EL2 physical timer */
#define PMU_PPI (PMU_INTID - GIC_PPI_INTID(0)) /* the PMU's overflow interrupt */

/* Any unique values other than 0 and 0xffffffff will do (DT spec 2.3.3). */
#define PHANDLE_GIC 1
#define PHANDLE_APB_PCLK 2

#define UART_NODE "pl011@9000000"
#define UART_PATH "/" UART_NODE

/* Run a libfdt call; on error return it from the calling function. */
#define FDT_TRY(call) \
	do { \
		int fdt_try_err = (call); \
		if (fdt_try_err < 0) \
			return fdt_try_err; \
	} while (0)

uint32_t dtb_cpu_mpidr(unsigned int i)
{
	/*
	 * KVM's reset value of MPIDR_EL1: at most 16 vCPUs in Aff0, because a GICv3 SGI
	 * (ICC_SGI1R_EL1) targets CPUs of one Aff1 group with a 16-bit list. Then Aff1, Aff2.
	 */
	return (i & 0xf) | ((i >> 4) & 0xff) << 8 | ((i >> 12) & 0xff) << 16;
}

/*
 * "reg" with n (at most 2) address/size pairs. The root says #address-cells = #size-cells = 2,
 * so each value is two cells: one big-endian 64-bit number.
 */
static int dtb_prop_reg(void *fdt, const uint64_t *pairs, unsigned int n)
{
	fdt64_t cells[4];

	for (unsigned int i = 0; i < 2 * n; i++)
		cells[i] = cpu_to_fdt64(pairs[i]);
	return fdt_property(fdt, "reg", cells, (int)(2 * n * sizeof(cells[0])));
}

/* "interrupts" for one interrupt of the given type, number and flags. */
static int dtb_prop_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
	fdt32_t cells[3] = { cpu_to_fdt32(type), cpu_to_fdt32(num), cpu_to_fdt32(flags) };

	return fdt_property(fdt, "interrupts", cells, sizeof(cells));
}

static int dtb_add_memory(void *fdt, const struct dtb_machine *m)
{
	uint64_t reg[2] = { m->ram_base, m->ram_size };
	char name[32];

	snprintf(name, sizeof(name), "memory@%" PRIx64, m->ram_base);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
	FDT_TRY(dtb_prop_reg(fdt, reg, 1));
	return fdt_end_node(fdt);
}

static int dtb_add_cpus(void *fdt, const struct dtb_machine *m)
{
	FDT_TRY(fdt_begin_node(fdt, "cpus"));
	/* One cell of reg holds Aff2..Aff0 (MPIDR bits [23:0]); cpus have no size. */
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < m->ncpus; i++) {
		uint32_t mpidr = dtb_cpu_mpidr(i);
		char name[32];

		snprintf(name, sizeof(name), "cpu@%" PRIx32, mpidr);
		FDT_TRY(fdt_begin_node(fdt, name));
		FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,armv8"));
		/* Secondary CPUs start powered off; Linux brings them up with PSCI CPU_ON. */
		FDT_TRY(fdt_property_string(fdt, "enable-method", "psci"));
		FDT_TRY(fdt_property_u32(fdt, "reg", mpidr));
		FDT_TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int dtb_add_psci(void *fdt, const struct dtb_machine *m)
{
	/* A string list: each string keeps its NUL, most specific first. */
	static const char psci_1_0[] = "arm,psci-1.0\0arm,psci-0.2";
	static const char psci_0_2[] = "arm,psci-0.2";

	FDT_TRY(fdt_begin_node(fdt, "psci"));
	if (m->psci_1_0)
		FDT_TRY(fdt_property(fdt, "compatible", psci_1_0, sizeof(psci_1_0)));
	else
		FDT_TRY(fdt_property(fdt, "compatible", psci_0_2, sizeof(psci_0_2)));
	/* KVM implements PSCI in the hypervisor, so calls are HVC (SMC would go to EL3). */
	FDT_TRY(fdt_property_string(fdt, "method", "hvc"));
	return fdt_end_node(fdt);
}

static int dtb_add_timer(void *fdt, const struct dtb_machine *m)
{
	static const uint32_t ppis[] = { TIMER_PPI_SEC_PHYS, TIMER_PPI_PHYS, TIMER_PPI_VIRT,
					 TIMER_PPI_HYP };
	/*
	 * Level-sensitive. A GIC cannot invert a line, so Linux programs a PPI alike for high and
	 * low; low is what the binding's examples and real boards describe.
	 */
	uint32_t flags = IRQ_TYPE_LEVEL_LOW;
	fdt32_t cells[3 * 4];

	/* A GICv2 also wants the CPUs each PPI reaches: every CPU has its own timer. */
	if (m->gic_version == 2)
		flags |= ((1U << m->ncpus) - 1) << GIC_PPI_CPU_SHIFT;
	for (unsigned int i = 0; i < 4; i++) {
		cells[3 * i] = cpu_to_fdt32(GIC_PPI);
		cells[3 * i + 1] = cpu_to_fdt32(ppis[i]);
		cells[3 * i + 2] = cpu_to_fdt32(flags);
	}
	FDT_TRY(fdt_begin_node(fdt, "timer"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	FDT_TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
	/* The timer keeps counting in every power state the guest can enter. */
	FDT_TRY(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

/* The PMU: a PPI, level-sensitive as in QEMU virt, on every CPU (a GICv2 wants the mask). */
static int dtb_add_pmu(void *fdt, const struct dtb_machine *m)
{
	uint32_t flags = IRQ_TYPE_LEVEL_HIGH;

	if (m->gic_version == 2)
		flags |= ((1U << m->ncpus) - 1) << GIC_PPI_CPU_SHIFT;
	FDT_TRY(fdt_begin_node(fdt, "pmu"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "arm,armv8-pmuv3"));
	FDT_TRY(dtb_prop_irq(fdt, GIC_PPI, PMU_PPI, flags));
	return fdt_end_node(fdt);
}

/*
 * The GICv3 ITS (interrupt-controller/arm,gic-v3.yaml): an MSI controller, whose one specifier
 * cell is the writer's device ID.
 */
static int dtb_add_its(void *fdt)
{
	uint64_t reg[2] = { GIC_ITS_BASE, GIC_ITS_SIZE };

	FDT_TRY(fdt_begin_node(fdt, "its@8080000"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
	FDT_TRY(dtb_prop_reg(fdt, reg, 1));
	FDT_TRY(fdt_property(fdt, "msi-controller", NULL, 0));
	FDT_TRY(fdt_property_u32(fdt, "#msi-cells", 1));
	return fdt_end_node(fdt);
}

static int dtb_add_gic(void *fdt, const struct dtb_machine *m)
{
	FDT_TRY(fdt_begin_node(fdt, "intc@8000000"));
	if (m->gic_version == 3) {
		uint64_t reg[4] = { GIC_DIST_BASE, GIC_DIST_SIZE_V3, GIC_REDIST_BASE,
				    m->ncpus * GIC_REDIST_SIZE };

		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		FDT_TRY(dtb_prop_reg(fdt, reg, 2));
		/* All redistributors in one contiguous region, the second reg entry. */
		FDT_TRY(fdt_property_u32(fdt, "#redistributor-regions", 1));
	} else {
		uint64_t reg[4] = { GIC_DIST_BASE, GIC_DIST_SIZE_V2, GIC_CPU_BASE, GIC_CPU_SIZE };

		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		FDT_TRY(dtb_prop_reg(fdt, reg, 2));
	}
	FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	if (m->its) {
		/* The ITS is the GIC's child, in the root's address space (as QEMU virt has it). */
		FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
		FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
		FDT_TRY(fdt_property(fdt, "ranges", NULL, 0));
	} else {
		/*
		 * An interrupt-map that points at the GIC lists a parent unit address of this many
		 * cells (DT spec 2.4.3.1); the GIC has no child nodes, so none.
		 */
		FDT_TRY(fdt_property_u32(fdt, "#address-cells", 0));
	}
	FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	FDT_TRY(fdt_property_u32(fdt, "phandle", PHANDLE_GIC));
	if (m->its)
		FDT_TRY(dtb_add_its(fdt));
	return fdt_end_node(fdt);
}

/* The AMBA bus clock, which the PrimeCell devices name (apb_pclk). */
static int dtb_add_clock(void *fdt)
{
	FDT_TRY(fdt_begin_node(fdt, "apb-pclk"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	FDT_TRY(fdt_property_u32(fdt, "#clock-cells", 0));
	FDT_TRY(fdt_property_u32(fdt, "clock-frequency", APB_PCLK_HZ));
	FDT_TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	FDT_TRY(fdt_property_u32(fdt, "phandle", PHANDLE_APB_PCLK));
	return fdt_end_node(fdt);
}

/* The PL011 needs its reference clock (uartclk) and the AMBA bus clock (apb_pclk). */
int dtb_add_uart(void *fdt)
{
	static const char compatible[] = "arm,pl011\0arm,primecell";
	static const char clock_names[] = "uartclk\0apb_pclk";
	fdt32_t clocks[2] = { cpu_to_fdt32(PHANDLE_APB_PCLK), cpu_to_fdt32(PHANDLE_APB_PCLK) };
	uint64_t reg[2] = { PL011_BASE, PL011_SIZE };

	FDT_TRY(fdt_begin_node(fdt, UART_NODE));
	FDT_TRY(fdt_property(fdt, "compatible", compatible, sizeof(compatible)));
	FDT_TRY(dtb_prop_reg(fdt, reg, 1));
	FDT_TRY(dtb_prop_irq(fdt, GIC_SPI, UART_SPI, IRQ_TYPE_LEVEL_HIGH));
	FDT_TRY(fdt_property(fdt, "clocks", clocks, sizeof(clocks)));
	FDT_TRY(fdt_property(fdt, "clock-names", clock_names, sizeof(clock_names)));
	return fdt_end_node(fdt);
}

/* The PL031 only needs the AMBA bus clock (dtb_add_clock()). */
int dtb_add_rtc(void *fdt)
{
	static const char compatible[] = "arm,pl031\0arm,primecell";
	uint64_t reg[2] = { PL031_BASE, PL031_SIZE };

	FDT_TRY(fdt_begin_node(fdt, "pl031@9010000"));
	FDT_TRY(fdt_property(fdt, "compatible", compatible, sizeof(compatible)));
	FDT_TRY(dtb_prop_reg(fdt, reg, 1));
	FDT_TRY(dtb_prop_irq(fdt, GIC_SPI, RTC_SPI, IRQ_TYPE_LEVEL_HIGH));
	FDT_TRY(fdt_property_u32(fdt, "clocks", PHANDLE_APB_PCLK));
	FDT_TRY(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	return fdt_end_node(fdt);
}

int dtb_add_virtio(void *fdt, unsigned int slot)
{
	uint64_t reg[2] = { VIRTIO_BASE + slot * VIRTIO_STRIDE, VIRTIO_WINDOW };
	char name[32];

	if (slot >= DTB_VIRTIO_SLOTS)
		return -FDT_ERR_BADVALUE;
	snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, reg[0]);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	FDT_TRY(dtb_prop_reg(fdt, reg, 1));
	/* Edge: the device raises the line once per notification (as QEMU virt's are). */
	FDT_TRY(dtb_prop_irq(fdt, GIC_SPI, VIRTIO_SPI_FIRST + slot, IRQ_TYPE_EDGE_RISING));
	/* The device reads guest RAM through the VMM, which sees what the CPUs wrote. */
	FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	return fdt_end_node(fdt);
}

static int dtb_add_chosen(void *fdt, const struct dtb_machine *m)
{
	FDT_TRY(fdt_begin_node(fdt, "chosen"));
	if (m->bootargs)
		FDT_TRY(fdt_property_string(fdt, "bootargs", m->bootargs));
	/* The console (DT spec 3.6): Linux uses it for earlycon and as its default console. */
	FDT_TRY(fdt_property_string(fdt, "stdout-path", UART_PATH));
	if (m->initrd_end) {
		/* u64 each, which Linux reads by length (of/fdt.c accepts 32 or 64 bits). */
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", m->initrd_start));
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", m->initrd_end));
	}
	if (m->rng_seed_len)
		FDT_TRY(fdt_property(fdt, "rng-seed", m->rng_seed, (int)m->rng_seed_len));
	FDT_TRY(fdt_end_node(fdt));

	FDT_TRY(fdt_begin_node(fdt, "aliases"));
	FDT_TRY(fdt_property_string(fdt, "serial0", UART_PATH));
	return fdt_end_node(fdt);
}

/* Refuse what the fixed layout cannot describe, before writing anything. */
static bool dtb_machine_valid(const struct dtb_machine *m)
{
	unsigned int max_cpus;

	if (m->gic_version == 2)
		max_cpus = DTB_MAX_CPUS_GICV2;
	else if (m->gic_version == 3)
		max_cpus = DTB_MAX_CPUS_GICV3;
	else
		return false;
	if (m->ncpus == 0 || m->ncpus > max_cpus)
		return false;
	if (m->its && m->gic_version != 3)
		return false;
	if (m->ram_size == 0 || m->ram_base > UINT64_MAX - m->ram_size)
		return false;
	if ((m->initrd_start || m->initrd_end) && m->initrd_start >= m->initrd_end)
		return false;
	if (m->rng_seed_len > INT_MAX || (m->rng_seed_len && !m->rng_seed))
		return false;
	return true;
}

static int dtb_build_tree(void *fdt, const struct dtb_machine *m)
{
	FDT_TRY(fdt_finish_reservemap(fdt));

	FDT_TRY(fdt_begin_node(fdt, ""));
	FDT_TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	FDT_TRY(fdt_property_string(fdt, "model", "veleiro"));
	/* Children's reg entries: 64-bit address and 64-bit size. */
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
	/* Every interrupt in the tree goes to the GIC unless a node says otherwise. */
	FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", PHANDLE_GIC));

	FDT_TRY(dtb_add_chosen(fdt, m));
	FDT_TRY(dtb_add_memory(fdt, m));
	FDT_TRY(dtb_add_cpus(fdt, m));
	FDT_TRY(dtb_add_psci(fdt, m));
	FDT_TRY(dtb_add_timer(fdt, m));
	if (m->pmu)
		FDT_TRY(dtb_add_pmu(fdt, m));
	FDT_TRY(dtb_add_gic(fdt, m));
	FDT_TRY(dtb_add_clock(fdt));
	/* A node per device, as each device says (dtb_add_uart(), dtb_add_virtio(), ...). */
	if (m->add_devices)
		FDT_TRY(m->add_devices(fdt, m->devices_ctx));
	FDT_TRY(fdt_end_node(fdt));

	return fdt_finish(fdt);
}

int dtb_build(const struct dtb_machine *m, void *buf, size_t bufsize)
{
	if (!dtb_machine_valid(m))
		return -FDT_ERR_BADVALUE;
	/* libfdt sizes are int; a larger buffer is fine, we just use less of it. */
	if (bufsize > INT_MAX)
		bufsize = INT_MAX;
	FDT_TRY(fdt_create(buf, (int)bufsize));
	return dtb_build_tree(buf, m);
}
