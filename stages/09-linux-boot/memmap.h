/*
 * memmap.h - what the guest sees of this machine: the guest physical address map, after QEMU's
 * "virt" board, and the interrupt numbers (INTIDs) of its devices. Defined here, once; the rest of
 * the VMM (and the device tree, from stage 08) derives from these.
 *
 *   0x04000000 - 0x07ffffff   flash bank 1, read-only zeros (only with --firmware)       stage 09
 *   0x08000000 - 0x0800ffff   GIC distributor (64 KiB; a GICv2's is 4 KiB), in KVM     stage 05
 *   0x08010000 - 0x08011fff   GICv2 CPU interface (only with --gic v2), in KVM         stage 05
 *   0x08080000 - 0x0809ffff   GICv3 ITS (where KVM has one; --no-its: none), in KVM   stage 09
 *   0x080a0000 - ...          GICv3 redistributors, 128 KiB per vCPU, in KVM           stage 05
 *   0x09000000 - 0x09000fff   PL011 UART                                                stage 04
 *   0x09010000 - 0x09010fff   PL031 real-time clock                                     stage 09
 *   0x0a000000 + n * 0x1000   virtio-mmio slot n, n = 0..7, a 0x200-byte window         stage 07
 *   0x40000000 - ...          RAM (--mem); a raw guest image at +0x80000                stage 02
 *
 * Everything below 0x40000000 that no device claims is unclaimed: an access is an MMIO exit that
 * reads as zero.
 */
#ifndef VELEIRO_MEMMAP_H
#define VELEIRO_MEMMAP_H

#define RAM_BASE 0x40000000UL /* QEMU virt: RAM starts at 1 GiB */
#define IMAGE_OFFSET 0x80000UL /* where QEMU's -kernel loads a raw binary, kept for both */

/* QEMU virt's GIC layout (hw/arm/virt.c's memory map, which Linux device trees describe). */
#define GIC_DIST_BASE 0x08000000UL /* distributor, both versions */
#define GIC_CPU_BASE 0x08010000UL /* GICv2 CPU interface */
#define GIC_ITS_BASE 0x08080000UL /* GICv3 ITS: its control and translation frames */
#define GIC_ITS_SIZE 0x20000UL /* two 64 KiB frames: control, and GITS_TRANSLATER's (IHI 0069) */
#define GIC_REDIST_BASE 0x080a0000UL /* GICv3 redistributors, one frame pair per vCPU */
#define GIC_REDIST_SIZE 0x20000UL /* per vCPU: RD_base + SGI_base, 64 KiB each */

/* INTIDs (GIC architecture, IHI 0069, 2.2): 16-31 are PPIs, per CPU; SPI n is INTID 32 + n. */
#define GIC_PPI_INTID(n) (16 + (n))
#define GIC_SPI_INTID(n) (32 + (n))
#define UART_INTID GIC_SPI_INTID(1) /* QEMU virt: the PL011 is SPI 1, level-sensitive */
#define PL031_INTID GIC_SPI_INTID(2) /* QEMU virt: the PL031 is SPI 2, level-sensitive */
#define PMU_INTID GIC_PPI_INTID(7) /* QEMU virt: the PMU's overflow interrupt */

/* The arch timer's PPIs, as QEMU virt wires them (and its device tree states). */
#define TIMER_VIRT_INTID GIC_PPI_INTID(11) /* EL1 virtual timer */
#define TIMER_PHYS_INTID GIC_PPI_INTID(14) /* EL1 physical timer */

#define FLASH_BASE 0x04000000UL /* QEMU virt: its second flash bank, U-Boot's environment */
#define FLASH_SIZE 0x04000000UL /* 64 MiB, as QEMU's */

#define PL011_BASE 0x09000000UL /* QEMU virt: the UART */
#define PL031_BASE 0x09010000UL /* QEMU virt: the RTC */

/*
 * The virtio-mmio slots: our layout, not the virtio spec's (QEMU virt puts 32 slots 0x200 apart):
 * a slot every 4 KiB page, each a 0x200-byte window (registers + configuration).
 */
#define VIRTIO_BASE 0x0a000000UL
#define VIRTIO_STRIDE 0x1000UL
#define VIRTIO_WINDOW 0x200UL
#define VIRTIO_SLOTS 8
#define VIRTIO_INTID(slot) GIC_SPI_INTID(16 + (slot))

#endif
