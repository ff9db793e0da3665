/*
 * vgic.c - creating KVM's in-kernel GIC with the device control API (api.rst 4.79
 * KVM_CREATE_DEVICE, 4.80 KVM_SET_DEVICE_ATTR) and raising its interrupt lines (4.25
 * KVM_IRQ_LINE).
 *
 * The attributes are described in Documentation/virt/kvm/devices/arm-vgic-v3.rst (GICv3) and
 * arm-vgic.rst (GICv2); the GIC itself in the Arm GIC architecture specification, IHI 0069. KVM
 * emulates the distributor and redistributors (or the GICv2 CPU interface) in the kernel, so the
 * guest's GIC accesses never reach us: they are not KVM_EXIT_MMIO exits.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "memmap.h"
#include "vgic.h"

static int vgic_set_attr(int fd, uint32_t group, uint64_t attr, const void *value)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)value,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/*
 * Where the GIC's register frames sit in guest physical memory (KVM_DEV_ARM_VGIC_GRP_ADDR): the
 * distributor, then for GICv3 the start of one region that holds every vCPU's redistributor in
 * turn, for GICv2 the CPU interface.
 */
static int vgic_place(const struct vgic *gic)
{
	int v3 = gic->version == 3;
	uint64_t dist = GIC_DIST_BASE, cpu = v3 ? GIC_REDIST_BASE : GIC_CPU_BASE;
	uint64_t dist_type = v3 ? KVM_VGIC_V3_ADDR_TYPE_DIST : KVM_VGIC_V2_ADDR_TYPE_DIST;
	uint64_t cpu_type = v3 ? KVM_VGIC_V3_ADDR_TYPE_REDIST : KVM_VGIC_V2_ADDR_TYPE_CPU;
	int err = vgic_set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist_type, &dist);

	return err ? err : vgic_set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR, cpu_type, &cpu);
}

static int vgic_create_version(int vm, int version, struct vgic *gic)
{
	struct kvm_create_device dev = {
		.type = version == 3 ? KVM_DEV_TYPE_ARM_VGIC_V3 : KVM_DEV_TYPE_ARM_VGIC_V2,
	};
	uint32_t nr_irqs = GIC_NR_IRQS;
	int err;

	if (ioctl(vm, KVM_CREATE_DEVICE, &dev) < 0)
		return -errno;
	*gic = (struct vgic){ .fd = (int)dev.fd, .version = version, .its_fd = -1 };
	err = vgic_place(gic);
	if (!err)
		err = vgic_set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (err) {
		close(gic->fd);
		gic->fd = -1;
	}
	return err;
}

int vgic_create(int vm, int version, struct vgic *gic)
{
	int err;

	if (version)
		return vgic_create_version(vm, version, gic);
	/* A GICv2 host, or a kernel without GICv3 emulation, has no KVM_DEV_TYPE_ARM_VGIC_V3. */
	err = vgic_create_version(vm, 3, gic);
	return err == -ENODEV ? vgic_create_version(vm, 2, gic) : err;
}

/*
 * KVM sizes the GIC's per-CPU state (redistributors, banked registers) for the vCPUs that exist
 * at this moment, so from here on KVM_CREATE_VCPU fails with EBUSY (arm-vgic-v3.rst,
 * KVM_DEV_ARM_VGIC_CTRL_INIT: "Must be called after all VCPUs have been created").
 */
int vgic_init(const struct vgic *gic)
{
	return vgic_set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

int vgic_its_create(int vm, struct vgic *gic)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_ITS };
	uint64_t base = GIC_ITS_BASE;
	int err;

	if (ioctl(vm, KVM_CREATE_DEVICE, &dev) < 0)
		return -errno;
	err = vgic_set_attr((int)dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base);
	if (err) {
		close((int)dev.fd);
		return err;
	}
	gic->its_fd = (int)dev.fd;
	return 0;
}

int vgic_its_init(const struct vgic *gic)
{
	return vgic_set_attr(gic->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
			     NULL);
}

/*
 * KVM_IRQ_LINE's irq field for an in-kernel GIC: the type (SPI) in bits 27:24 and the INTID in
 * bits 15:0 (api.rst 4.25). For a level-sensitive interrupt the vGIC keeps the level we last set:
 * it stays pending while the line is high, however often the guest acknowledges it.
 */
int vgic_set_spi(int vm, unsigned int intid, int level)
{
	struct kvm_irq_level irq = {
		.irq = KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT |
		       (intid & KVM_ARM_IRQ_NUM_MASK) << KVM_ARM_IRQ_NUM_SHIFT,
		.level = level,
	};

	return ioctl(vm, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}
