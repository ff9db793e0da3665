/*
 * eventfds.c - KVM_IOEVENTFD and KVM_IRQFD (api.rst 4.59 and 4.75): the fast path between a
 * virtio device's thread and the guest.
 *
 * Slow path (stage 07): the guest's QueueNotify store is an MMIO exit; the vCPU thread comes out
 * of KVM_RUN, finds the device, passes the notification on, and goes back in. The device raises
 * its interrupt with KVM_IRQ_LINE, a system call per interrupt.
 * Fast path: KVM matches the store against the registered address and value itself, signals the
 * eventfd, and resumes the guest at once: no exit to userspace at all. For the interrupt, writing
 * to an eventfd KVM watches (irqfd) makes KVM raise the SPI, with no ioctl of ours.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "eventfds.h"
#include "log.h"
#include "memmap.h"

bool eventfds_choose(int kvm, bool no_ioeventfd)
{
	if (no_ioeventfd) {
		info("virtio: notifications by MMIO exit, interrupts by KVM_IRQ_LINE "
		     "(--no-ioeventfd)");
		return false;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0 ||
	    ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0) {
		warn("this KVM has no KVM_CAP_IOEVENTFD or KVM_CAP_IRQFD: virtio notifications take "
		     "MMIO exits and interrupts KVM_IRQ_LINE");
		return false;
	}
	info("virtio: notifications by KVM_IOEVENTFD, interrupts by KVM_IRQFD");
	return true;
}

int ioeventfd_attach(int vm, uint64_t addr, uint32_t queue, int fd)
{
	/* DATAMATCH: one eventfd per queue index; len 4: QueueNotify is a 32-bit register. */
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = 4,
		.datamatch = queue,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioctl(vm, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int irqfd_attach(int vm, int intid, int fd)
{
	/*
	 * An arm64 irqfd names its interrupt by GSI, which KVM's default routing (set up when the
	 * vGIC is initialised) maps to SPI INTID GSI + 32 (api.rst 4.75, KVM_IRQFD). Each signal
	 * drives the line high then low: a rising edge, which is what the device tree's
	 * edge-triggered virtio interrupts take as one interrupt each.
	 */
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd,
				   .gsi = (uint32_t)(intid - GIC_SPI_INTID(0)) };

	return ioctl(vm, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}
