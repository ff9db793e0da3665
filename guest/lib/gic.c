/*
 * gic.c - driver for the Arm Generic Interrupt Controller, GICv2 (Arm IHI 0048B, chapter 4
 * "Programmers' Model") and GICv3 (Arm IHI 0069H, chapter 12 "Programmers' Model"), for the one
 * CPU these guests run on.
 *
 * Both versions have a distributor that holds per-interrupt state (enabled, priority, trigger,
 * target). They differ in the CPU side: GICv2 has a memory-mapped CPU interface (GICC_*) and
 * targets SPIs with a CPU bitmask; GICv3 adds a redistributor per CPU that owns the SGIs and PPIs
 * (INTIDs 0-31), routes SPIs by CPU affinity, and moves the CPU interface into system registers
 * (ICC_*_EL1). The version is found at run time, so one binary works with either.
 *
 * Every INTID is configured with the same priority, so interrupts never preempt each other.
 */
#include <stdint.h>

#include "cpu.h"
#include "gic.h"
#include "mmio.h"

#define GICD_BASE 0x08000000UL /* distributor, both versions */
#define GICC_BASE 0x08010000UL /* GICv2 CPU interface */
#define GICR_BASE 0x080a0000UL /* GICv3 redistributor of CPU 0: its RD_base frame */
#define GICR_SGI_BASE (GICR_BASE + 0x10000) /* ... and its SGI_base frame, the next 64 KiB */

/*
 * Distributor registers (IHI 0048B 4.3, IHI 0069H 12.9). The arrays hold one bit, one byte or two
 * bits per INTID, starting with INTID 0.
 */
#define GICD_CTLR 0x0000 /* Distributor Control Register */
#define GICD_IGROUPR 0x0080 /* Interrupt Group Registers, 1 bit per INTID */
#define GICD_ISENABLER 0x0100 /* Interrupt Set-Enable Registers, 1 bit per INTID */
#define GICD_ICENABLER 0x0180 /* Interrupt Clear-Enable Registers, 1 bit per INTID */
#define GICD_IPRIORITYR 0x0400 /* Interrupt Priority Registers, 1 byte per INTID */
#define GICD_ITARGETSR 0x0800 /* Interrupt Processor Targets Registers (GICv2), 1 byte per INTID */
#define GICD_ICFGR 0x0c00 /* Interrupt Configuration Registers, 2 bits per INTID */
#define GICD_IROUTER 0x6000 /* Interrupt Routing Registers (GICv3), 64 bits per SPI */
#define GICD_PIDR2 0xffe8 /* Peripheral ID2 Register (GICv3 location) */

#define GICD_CTLR_ENABLE (1u << 0) /* GICv2 GICD_CTLR: forward interrupts to CPUs */
#define GICD_CTLR_ENABLE_GRP1_NS (1u << 1) /* GICv3 GICD_CTLR: forward Non-secure Group 1 */
#define GICD_CTLR_ARE_NS (1u << 4) /* GICv3 GICD_CTLR: affinity routing enabled */
#define GICD_CTLR_RWP (1u << 31) /* GICv3 GICD_CTLR: register write pending */
#define GICD_PIDR2_ARCHREV_SHIFT 4 /* GICD_PIDR2 bits [7:4]: GIC architecture revision */
#define GICD_ICFGR_EDGE 2u /* GICD_ICFGR: per-INTID field bit 1 set = edge */

/* Redistributor registers, RD_base frame (IHI 0069H 12.11). */
#define GICR_CTLR 0x0000 /* Redistributor Control Register */
#define GICR_WAKER 0x0014 /* Redistributor Wake Register */

#define GICR_CTLR_RWP (1u << 3) /* GICR_CTLR: register write pending */
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1) /* GICR_WAKER: this CPU is asleep to the GIC */
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2) /* GICR_WAKER: the interface is quiescent */

/*
 * Redistributor registers, SGI_base frame: the distributor's arrays again, at the same offsets,
 * for INTIDs 0-31 of this CPU (IHI 0069H 12.10). gic_bank() picks the frame.
 */
#define GICR_IGROUPR0 0x0080 /* Interrupt Group Register 0 */
#define GICR_ICENABLER0 0x0180 /* Interrupt Clear-Enable Register 0 */

/* GICv2 CPU interface registers (IHI 0048B 4.4). */
#define GICC_CTLR 0x0000 /* CPU Interface Control Register */
#define GICC_PMR 0x0004 /* Interrupt Priority Mask Register */
#define GICC_IAR 0x000c /* Interrupt Acknowledge Register */
#define GICC_EOIR 0x0010 /* End of Interrupt Register */

#define GICC_CTLR_ENABLE (1u << 0) /* GICC_CTLR: signal interrupts to the CPU */
#define GICC_IAR_INTID 0x3ffu /* GICC_IAR bits [9:0]: the INTID */

/* GICv3 CPU interface system registers (IHI 0069H 12.2), fields used. */
#define ICC_SRE_EL1_SRE (1u << 0) /* ICC_SRE_EL1: use the system register interface */
#define ICC_CTLR_EL1_EOIMODE (1u << 1) /* ICC_CTLR_EL1: 1 = EOI does not deactivate */
#define ICC_IGRPEN1_EL1_EN (1u << 0) /* ICC_IGRPEN1_EL1: Group 1 interrupts enabled */
#define ICC_IAR1_EL1_INTID 0xffffffu /* ICC_IAR1_EL1 bits [23:0]: the INTID */

#define ID_AA64PFR0_GIC_SHIFT 24 /* ID_AA64PFR0_EL1 bits [27:24]: GIC system registers */
#define MPIDR_AFFINITY_MASK 0xff00ffffffUL /* MPIDR_EL1 Aff3 [39:32] and Aff2..Aff0 [23:0] */

#define GIC_PRIORITY 0xa0 /* priority of every interrupt (lower value = more urgent) */
#define GIC_PRIORITY_ALL 0xff /* priority mask that lets every priority through */

static int gic_version;

/*
 * GICv3 and GICv2 both put the distributor at 0x08000000, so look at the CPU first: without a
 * GICv3 CPU interface (ID_AA64PFR0_EL1.GIC == 0) it is a GICv2. Only then read GICD_PIDR2 at
 * 0xFFE8, which lies outside a GICv2's 4 KiB distributor. (KVM sets ID_AA64PFR0_EL1.GIC from the
 * host's GIC, so a vGICv2 on a GICv3 host gets here too: the read then goes to the VMM, and
 * anything but ArchRev 3 or 4 means GICv2.)
 */
static int gic_detect(void)
{
	uint32_t archrev;

	if (!((read_sysreg(id_aa64pfr0_el1) >> ID_AA64PFR0_GIC_SHIFT) & 0xf))
		return 2;
	archrev = (mmio_read32(GICD_BASE + GICD_PIDR2) >> GICD_PIDR2_ARCHREV_SHIFT) & 0xf;
	return archrev >= 3 ? 3 : 2;
}

/* GICv3 applies some register writes asynchronously; RWP stays set until they have taken effect. */
static void gic_v3_wait(uintptr_t ctlr, uint32_t rwp)
{
	while (mmio_read32(ctlr) & rwp)
		;
}

static void gic_v3_init(void)
{
	uint64_t ctlr;

	mmio_write32(GICD_BASE + GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_GRP1_NS);
	gic_v3_wait(GICD_BASE + GICD_CTLR, GICD_CTLR_RWP);

	/* A redistributor ignores its CPU until told the CPU is awake (IHI 0069H, GICR_WAKER). */
	mmio_write32(GICR_BASE + GICR_WAKER,
		     mmio_read32(GICR_BASE + GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
	while (mmio_read32(GICR_BASE + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP)
		;

	/* SGIs and PPIs: Group 1 (what the ICC_*1_EL1 registers handle), all off until enabled. */
	mmio_write32(GICR_SGI_BASE + GICR_IGROUPR0, ~0u);
	mmio_write32(GICR_SGI_BASE + GICR_ICENABLER0, ~0u);
	gic_v3_wait(GICR_BASE + GICR_CTLR, GICR_CTLR_RWP);

	write_sysreg(icc_sre_el1, read_sysreg(icc_sre_el1) | ICC_SRE_EL1_SRE);
	isb();
	write_sysreg(icc_pmr_el1, GIC_PRIORITY_ALL);
	ctlr = read_sysreg(icc_ctlr_el1);
	write_sysreg(icc_ctlr_el1, ctlr & ~(uint64_t)ICC_CTLR_EL1_EOIMODE);
	write_sysreg(icc_igrpen1_el1, ICC_IGRPEN1_EL1_EN);
	isb();
}

/*
 * Without the Security Extensions (KVM's and QEMU's virt GICv2) every interrupt resets to Group 0,
 * which GICC_IAR acknowledges and which reaches the CPU as an IRQ while GICC_CTLR.FIQEn is 0, so
 * the groups are left alone.
 */
static void gic_v2_init(void)
{
	mmio_write32(GICD_BASE + GICD_CTLR, GICD_CTLR_ENABLE);
	mmio_write32(GICC_BASE + GICC_PMR, GIC_PRIORITY_ALL);
	mmio_write32(GICC_BASE + GICC_CTLR, GICC_CTLR_ENABLE);
}

/* Find the GIC version and bring it up with every interrupt disabled. Returns 2 or 3. */
int gic_init(void)
{
	gic_version = gic_detect();
	if (gic_version == 3)
		gic_v3_init();
	else
		gic_v2_init();
	return gic_version;
}

/* INTIDs below 32 are private to a CPU: on GICv3 their arrays live in the redistributor. */
static uintptr_t gic_bank(unsigned int intid)
{
	return gic_version == 3 && intid < 32 ? GICR_SGI_BASE : GICD_BASE;
}

/* Replace the width-bit field of INTID intid in a register array of fields that size. */
static void gic_set_field(uintptr_t array, unsigned int intid, unsigned int width, uint32_t value)
{
	unsigned int per_reg = 32 / width;
	uintptr_t reg = array + 4 * (intid / per_reg);
	unsigned int shift = (intid % per_reg) * width;
	uint32_t mask = ((1u << width) - 1) << shift;

	mmio_write32(reg, (mmio_read32(reg) & ~mask) | (value << shift));
}

/*
 * Level or edge. Change it only while the interrupt is disabled (IHI 0069H 12.9 GICD_ICFGR). SGIs
 * are always edge, and whether a PPI's trigger can change is up to the implementation.
 */
void gic_set_trigger(unsigned int intid, enum gic_trigger trigger)
{
	gic_set_field(gic_bank(intid) + GICD_ICFGR, intid, 2,
		      trigger == GIC_EDGE ? GICD_ICFGR_EDGE : 0);
}

/* Give the interrupt its priority, send it to this CPU, and let it through. */
void gic_enable_irq(unsigned int intid)
{
	uintptr_t bank = gic_bank(intid);

	gic_set_field(bank + GICD_IPRIORITYR, intid, 8, GIC_PRIORITY);
	if (intid >= 32 && gic_version == 3) {
		gic_set_field(GICD_BASE + GICD_IGROUPR, intid, 1, 1);
		mmio_write64(GICD_BASE + GICD_IROUTER + 8 * intid,
			     read_sysreg(mpidr_el1) & MPIDR_AFFINITY_MASK);
	} else if (intid >= 32) {
		/* GICD_ITARGETSR0..7 read back this CPU's own bit (IHI 0048B 4.3.12). */
		gic_set_field(GICD_BASE + GICD_ITARGETSR, intid, 8,
			      mmio_read32(GICD_BASE + GICD_ITARGETSR) & 0xff);
	}
	mmio_write32(bank + GICD_ISENABLER + 4 * (intid / 32), 1u << (intid % 32));
}

void gic_disable_irq(unsigned int intid)
{
	uintptr_t bank = gic_bank(intid);

	mmio_write32(bank + GICD_ICENABLER + 4 * (intid / 32), 1u << (intid % 32));
	if (gic_version == 3 && bank == GICR_SGI_BASE)
		gic_v3_wait(GICR_BASE + GICR_CTLR, GICR_CTLR_RWP);
	else if (gic_version == 3)
		gic_v3_wait(GICD_BASE + GICD_CTLR, GICD_CTLR_RWP);
}

/*
 * Take the highest-priority pending interrupt: it becomes active, and stays so until gic_eoi().
 * The value returned is what gic_eoi() needs back; gic_intid() extracts the INTID from it.
 */
uint32_t gic_ack(void)
{
	if (gic_version == 3)
		return (uint32_t)read_sysreg(icc_iar1_el1);
	return mmio_read32(GICC_BASE + GICC_IAR);
}

unsigned int gic_intid(uint32_t ack)
{
	return ack & (gic_version == 3 ? ICC_IAR1_EL1_INTID : GICC_IAR_INTID);
}

/*
 * Signal the end of the interrupt. The DSB first completes the handler's device writes (such as
 * clearing the source), so a level interrupt that was just silenced does not fire again.
 */
void gic_eoi(uint32_t ack)
{
	asm volatile("dsb sy" : : : "memory");
	if (gic_version == 3) {
		write_sysreg(icc_eoir1_el1, ack);
		isb();
	} else {
		mmio_write32(GICC_BASE + GICC_EOIR, ack);
	}
}
