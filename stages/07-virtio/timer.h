/*
 * timer.h - the Arm Generic Timer each vCPU has. KVM emulates it and delivers its interrupts
 * through the vGIC on its own; the VMM says which interrupt IDs those are, and can look at the
 * timer's registers.
 */
#ifndef VELEIRO_TIMER_H
#define VELEIRO_TIMER_H

#include <stdio.h>

/*
 * Tell KVM which PPIs the virtual and physical timers raise (KVM_ARM_VCPU_TIMER_CTRL). Once the
 * vGIC and every vCPU exist, before any vCPU runs. 0, or -errno: -ENXIO when the kernel has no
 * such attributes (it then uses its defaults, which are these same numbers).
 */
int timer_set_irqs(int vcpu, int virt_intid, int phys_intid);

/* The PPIs KVM will use for the vCPU's virtual and physical timers. 0 or -errno. */
int timer_get_irqs(int vcpu, int *virt_intid, int *phys_intid);

/* For --stats: the virtual timer's registers, read with KVM_GET_ONE_REG. */
void timer_print_state(int vcpu, FILE *f);

#endif
