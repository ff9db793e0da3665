/*
 * run.c - the run loop: KVM_RUN, and what each exit asks of us (api.rst 5, "The kvm_run
 * structure"). The lesson of stage 03, carried forward and changed only where a stage changes it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "exits.h"
#include "gdb.h"
#include "log.h"
#include "machine.h"
#include "regs.h"

/*
 * An MMIO exit: kvm_run->mmio says which address, how many bytes and, for a store, the data. The
 * bus passes it to the device that owns the address. For a load we fill mmio.data and KVM
 * completes the guest's instruction on the next KVM_RUN. The data is little-endian, as the guest
 * (and an arm64 host) is.
 */
static void handle_mmio(struct kvm_run *run, struct machine *m)
{
	uint64_t value = 0;
	unsigned int len = run->mmio.len <= sizeof(value) ? run->mmio.len : sizeof(value);

	pthread_mutex_lock(&m->lock);
	if (run->mmio.is_write) {
		memcpy(&value, run->mmio.data, len);
		mmio_bus_write(&m->bus, run->mmio.phys_addr, len, value);
	} else {
		value = mmio_bus_read(&m->bus, run->mmio.phys_addr, len);
		memcpy(run->mmio.data, &value, sizeof(run->mmio.data));
	}
	pthread_mutex_unlock(&m->lock);
}

/* Runs the vCPU until the guest powers off (0) or cannot go on (1). */
int run_loop(struct machine *m)
{
	int vcpu = m->vcpu;
	struct kvm_run *run = m->run;
	const struct options *o = m->opt;
	struct stats *st = &m->stats;

	for (;;) {
		gdb_vcpu_enter(0, vcpu, run); /* gdb may hold the guest stopped here (--gdb) */
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			/* A signal arrived while the guest ran: nothing to emulate, run again. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/*
			 * KVM itself gave up, e.g. ENOSYS for a device access it cannot decode into
			 * an MMIO exit, such as a load/store pair (stage 08 explains those).
			 */
			warn("KVM_RUN failed: %s", strerror(errno));
			regs_dump(vcpu, stderr);
			return 1;
		}
		if (run->exit_reason < sizeof(st->exits) / sizeof(st->exits[0]))
			st->exits[run->exit_reason]++;

		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			handle_mmio(run, m);
			break;

		case KVM_EXIT_DEBUG:
			/* A breakpoint, watchpoint or step of gdb's (common/gdb.h, --gdb). */
			gdb_vcpu_debug_exit(0, run);
			break;

		case KVM_EXIT_SYSTEM_EVENT:
			/*
			 * PSCI SYSTEM_OFF / SYSTEM_RESET (PSCI spec DEN0022, 5.10/5.11): KVM has
			 * already stopped the vCPU; what happens next is the VMM's decision. This
			 * stage has no way to start the guest afresh, so a reset also stops it.
			 */
			if (o->trace)
				fprintf(stderr, "trace: SYSTEM_EVENT %s\n",
					system_event_name(run->system_event.type));
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				info("the guest powered off");
				return 0;
			case KVM_SYSTEM_EVENT_RESET:
				warn("the guest asked for a reset; this stage cannot restart a guest, "
				     "so it stops here");
				return 0;
			default:
				warn("the guest reported a system event of type %u (%s)",
				     run->system_event.type,
				     system_event_name(run->system_event.type));
				regs_dump(vcpu, stderr);
				return 1;
			}

		case KVM_EXIT_FAIL_ENTRY:
			warn("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx)",
			     run->fail_entry.hardware_entry_failure_reason);
			regs_dump(vcpu, stderr);
			return 1;

		case KVM_EXIT_INTERNAL_ERROR:
			warn("KVM hit an internal error running the guest (suberror %u)",
			     run->internal.suberror);
			regs_dump(vcpu, stderr);
			return 1;

		default:
			warn("unexpected exit %s (%u): this VMM does not handle it",
			     exit_name(run->exit_reason), run->exit_reason);
			regs_dump(vcpu, stderr);
			return 1;
		}
	}
}
