/*
 * timer.c - the vCPU's Arm Generic Timer as KVM exposes it (Arm ARM DDI 0487, "The Generic Timer
 * in AArch64 state").
 *
 * The counter (CNTVCT_EL0) and the timers (CNTV_* for the virtual one, CNTP_* for the EL1
 * physical one) are the host CPU's own hardware, which KVM saves and restores with the vCPU, so a
 * guest reads and programs them without exits. When a timer fires KVM injects its interrupt into
 * the vGIC itself, as a level-sensitive PPI: nothing here runs per tick. What the VMM sets is the
 * PPI numbers, through the vCPU's device attributes (Documentation/virt/kvm/devices/vcpu.rst,
 * "GROUP: KVM_ARM_VCPU_TIMER_CTRL"): they must agree with what the guest is told (stage 08's
 * device tree), be the same on every vCPU, and be set before any vCPU runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "regs.h"
#include "timer.h"

#define CNTV_CTL_ENABLE (1u << 0) /* CNTV_CTL_EL0: timer enabled */
#define CNTV_CTL_IMASK (1u << 1) /* CNTV_CTL_EL0: interrupt masked */
#define CNTV_CTL_ISTATUS (1u << 2) /* CNTV_CTL_EL0: the timer condition is met */

static int timer_attr(int vcpu, unsigned long request, uint64_t attr, int *intid)
{
	struct kvm_device_attr a = {
		.group = KVM_ARM_VCPU_TIMER_CTRL,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)intid,
	};

	return ioctl(vcpu, request, &a) < 0 ? -errno : 0;
}

int timer_set_irqs(int vcpu, int virt_intid, int phys_intid)
{
	int err = timer_attr(vcpu, KVM_SET_DEVICE_ATTR, KVM_ARM_VCPU_TIMER_IRQ_VTIMER, &virt_intid);

	if (err)
		return err;
	return timer_attr(vcpu, KVM_SET_DEVICE_ATTR, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, &phys_intid);
}

int timer_get_irqs(int vcpu, int *virt_intid, int *phys_intid)
{
	int err = timer_attr(vcpu, KVM_GET_DEVICE_ATTR, KVM_ARM_VCPU_TIMER_IRQ_VTIMER, virt_intid);

	if (err)
		return err;
	return timer_attr(vcpu, KVM_GET_DEVICE_ATTR, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, phys_intid);
}

/*
 * KVM_REG_ARM_TIMER_CNT and KVM_REG_ARM_TIMER_CVAL carry each other's system register encodings,
 * a historical mistake kept for compatibility (see the comment in the kernel's uapi asm/kvm.h);
 * the names, not the encodings, say which register is which.
 */
void timer_print_state(int vcpu, FILE *f)
{
	uint64_t ctl, cval, cnt;

	if (regs_get(vcpu, KVM_REG_ARM_TIMER_CTL, &ctl) ||
	    regs_get(vcpu, KVM_REG_ARM_TIMER_CVAL, &cval) ||
	    regs_get(vcpu, KVM_REG_ARM_TIMER_CNT, &cnt)) {
		fprintf(f, "stats: virtual timer: unreadable\n");
		return;
	}
	fprintf(f,
		"stats: virtual timer: CNTV_CTL_EL0 0x%" PRIx64
		" (%s, %s%s), CNTV_CVAL_EL0 %" PRIu64 ", CNTVCT_EL0 %" PRIu64 "\n",
		ctl, ctl & CNTV_CTL_ENABLE ? "enabled" : "disabled",
		ctl & CNTV_CTL_IMASK ? "masked" : "unmasked",
		ctl & CNTV_CTL_ENABLE && ctl & CNTV_CTL_ISTATUS ? ", firing" : "", cval, cnt);
}
