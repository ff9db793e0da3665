/*
 * vgic_order.c - the rule KVM enforces between vCPUs and the in-kernel GIC, shown on this host.
 *
 * KVM_DEV_ARM_VGIC_CTRL_INIT sizes the vGIC for the vCPUs that exist at that moment, so it must
 * come after every KVM_CREATE_VCPU (Documentation/virt/kvm/devices/arm-vgic-v3.rst), and KVM
 * refuses a KVM_CREATE_VCPU after it with EBUSY. Stage 05 follows the rule; this program breaks it
 * twice, in two fresh VMs, using stage 05's own vgic.c, and prints what KVM answers:
 *  1. the right order (device, vCPU 0, CTRL_INIT), then one vCPU more;
 *  2. the classic mistake: CTRL_INIT straight after creating the device, then vCPU 0.
 * It exits 0 when KVM answered both late KVM_CREATE_VCPU calls with EBUSY.
 *
 * tests/stages/05.bats builds it with stages/05-gic/vgic.c for arm64 and runs it where the VMMs
 * run (natively on arm64, in the lab elsewhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vgic.h"

static const char *result(int ret, int err)
{
	static char buf[64];

	if (ret >= 0)
		return "ok";
	snprintf(buf, sizeof(buf), "%s (%s)", err == EBUSY ? "EBUSY" : "failed", strerror(err));
	return buf;
}

/* A VM with a vGIC of whichever version the host offers; -1 if that is impossible. */
static int vm_with_gic(int kvm, struct vgic *gic)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	int err;

	if (vm < 0) {
		perror("KVM_CREATE_VM");
		return -1;
	}
	err = vgic_create(vm, 0, gic);
	if (err) {
		fprintf(stderr, "cannot create a vGIC: %s\n", strerror(-err));
		close(vm);
		return -1;
	}
	return vm;
}

int main(void)
{
	struct vgic gic;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm, ret, err, late_busy;

	if (kvm < 0) {
		perror("/dev/kvm");
		return 2;
	}

	/* 1. Device, vCPU 0, CTRL_INIT: the order stage 05 uses. Then vCPU 1, too late. */
	vm = vm_with_gic(kvm, &gic);
	if (vm < 0)
		return 2;
	printf("vGICv%d\n", gic.version);
	ret = ioctl(vm, KVM_CREATE_VCPU, 0);
	printf("KVM_CREATE_VCPU 0: %s\n", result(ret, errno));
	err = vgic_init(&gic);
	printf("KVM_DEV_ARM_VGIC_CTRL_INIT: %s\n", result(err, -err));
	ret = ioctl(vm, KVM_CREATE_VCPU, 1);
	late_busy = ret < 0 && errno == EBUSY;
	printf("KVM_CREATE_VCPU 1 after CTRL_INIT: %s\n", result(ret, errno));
	close(gic.fd);
	close(vm);

	/* 2. CTRL_INIT before any vCPU: the VM can never have one. */
	vm = vm_with_gic(kvm, &gic);
	if (vm < 0)
		return 2;
	err = vgic_init(&gic);
	printf("KVM_DEV_ARM_VGIC_CTRL_INIT with no vCPU: %s\n", result(err, -err));
	ret = ioctl(vm, KVM_CREATE_VCPU, 0);
	late_busy = late_busy && ret < 0 && errno == EBUSY;
	printf("KVM_CREATE_VCPU 0 after CTRL_INIT: %s\n", result(ret, errno));
	close(gic.fd);
	close(vm);
	close(kvm);
	return late_busy ? 0 : 1;
}
