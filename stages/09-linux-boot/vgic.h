/*
 * vgic.h - the in-kernel interrupt controller: KVM emulates an Arm GIC for the guest, and the VMM
 * only creates it, says where it sits in guest physical memory, and drives device lines into it.
 */
#ifndef VELEIRO_VGIC_H
#define VELEIRO_VGIC_H

#include <stdint.h>

#define GIC_NR_IRQS 128 /* INTIDs 0-127: 16 SGIs, 16 PPIs, 96 SPIs */

struct vgic {
	int fd; /* the KVM device */
	int version; /* 2 or 3 */
	int its_fd; /* the GICv3's ITS, another KVM device, or -1: none */
};

/*
 * Create the vGIC (version 3 or 2; 0 picks 3 and falls back to 2) and place it. Call it before any
 * vCPU runs, before or after creating them. 0, or -errno from the step that failed (-ENODEV: KVM
 * cannot emulate that version on this host).
 */
int vgic_create(int vm, int version, struct vgic *gic);

/* KVM_DEV_ARM_VGIC_CTRL_INIT: only once every vCPU has been created. 0 or -errno. */
int vgic_init(const struct vgic *gic);

/*
 * A GICv3's ITS (Interrupt Translation Service, IHI 0069 chapter 5), which turns a device's
 * message-signalled interrupt (a write to GITS_TRANSLATER) into an LPI: KVM emulates one too
 * (Documentation/virt/kvm/devices/arm-vgic-its.rst). Create it and place it at GIC_ITS_BASE,
 * into gic->its_fd; 0 or -errno (-ENODEV: this KVM has none).
 */
int vgic_its_create(int vm, struct vgic *gic);

/* The ITS's KVM_DEV_ARM_VGIC_CTRL_INIT, after the GIC's own. 0 or -errno. */
int vgic_its_init(const struct vgic *gic);

/* Drive the line of SPI intid (32-1019) to level, through KVM_IRQ_LINE. 0 or -errno. */
int vgic_set_spi(int vm, unsigned int intid, int level);

#endif
