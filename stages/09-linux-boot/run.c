/*
 * run.c - the run loop: KVM_RUN, and what each exit asks of us (api.rst 5, "The kvm_run
 * structure"). The lesson of stage 03, carried forward and changed only where a stage changes it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
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
 * (and an arm64 host) is. Any vCPU thread may be here: each device's lock makes them take turns at
 * that device (mmio_bus.h), and vCPUs at different devices do not wait for each other.
 */
static void handle_mmio(struct kvm_run *run, struct machine *m)
{
	uint64_t value = 0;
	unsigned int len = run->mmio.len <= sizeof(value) ? run->mmio.len : sizeof(value);

	if (run->mmio.is_write) {
		memcpy(&value, run->mmio.data, len);
		mmio_bus_write(&m->bus, run->mmio.phys_addr, len, value);
	} else {
		value = mmio_bus_read(&m->bus, run->mmio.phys_addr, len);
		memcpy(run->mmio.data, &value, sizeof(run->mmio.data));
	}
}

/*
 * A kick: a signal sent to one vCPU thread. The handler has nothing to do; that a handler ran is
 * what makes a KVM_RUN in progress return EINTR (api.rst 4.10 KVM_RUN: "-EINTR: an unmasked signal
 * is pending"). It cannot be SIG_IGN: an ignored signal never interrupts anything.
 */
static void kick_handler(int sig)
{
}

/*
 * Install the kick's handler. SA_RESTART: whatever else a vCPU thread may be doing when kicked
 * (writing to the terminal, reading the disk) carries on. KVM_RUN is never restarted: it returns
 * EINTR regardless.
 */
void kick_init(void)
{
	struct sigaction kick = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };

	sigemptyset(&kick.sa_mask);
	if (sigaction(KICK_SIGNAL, &kick, NULL) < 0)
		die_errno("sigaction");
}

/*
 * Stop the machine for reason why, unless it is stopping already: then the first reason stands,
 * and this only waits for the stop in progress. Every other vCPU gets immediate_exit, for a thread between two KVM_RUNs (its next
 * one returns at once), and a kick, for a thread inside one: running the guest, in WFI, or powered
 * off waiting for CPU_ON (api.rst 5, "immediate_exit"). Threads end through here too, so none is
 * joined while a kick is on its way to it.
 */
void machine_stop(struct machine *m, enum machine_stop why)
{
	pthread_mutex_lock(&m->stop_lock);
	if (why == STOP_QUIT)
		m->quit = true;
	if (m->stop == STOP_NONE && why != STOP_NONE) {
		phase_mark(m, PHASE_STOP);
		__atomic_store_n(&m->stop, why, __ATOMIC_RELEASE);
		/* A vCPU waiting for a full terminal in the PL011's output gives up its byte. */
		console_output_cancel(&m->console, true);
		for (unsigned int i = 0; m->running && i < m->opt->ncpus; i++) {
			struct vcpu *v = &m->vcpus[i];

			if (pthread_equal(v->thread, pthread_self()))
				continue;
			v->run->immediate_exit = 1;
			pthread_kill(v->thread, KICK_SIGNAL);
		}
		/* And those a debugger holds stopped (--gdb) are let go, to see it too. */
		gdb_machine_stopping();
	}
	pthread_mutex_unlock(&m->stop_lock);
}

/* Ctrl-A x, from the console's input thread. */
void machine_quit(void *ctx)
{
	machine_stop(ctx, STOP_QUIT);
}

/* One vCPU's run loop, until the guest or another thread stops the machine. */
static enum machine_stop vcpu_run(struct vcpu *v)
{
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	const struct options *o = m->opt;

	for (;;) {
		/* First, so a stop of the machine's that comes while gdb holds it is not missed. */
		gdb_vcpu_enter(v->index, v->fd, run);
		enum machine_stop stop = __atomic_load_n(&m->stop, __ATOMIC_ACQUIRE);

		if (stop != STOP_NONE)
			return stop; /* another thread stopped the machine */
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* A signal: a kick (checked above, next time round), or nothing for us. */
			if (errno == EINTR || errno == EAGAIN) {
				v->exits[KVM_EXIT_INTR]++;
				continue;
			}
			/*
			 * KVM itself gave up, e.g. ENOSYS for a device access it cannot decode into
			 * an MMIO exit, such as a load/store pair (stage 08 explains those).
			 */
			warn("vCPU %u: KVM_RUN failed: %s", v->index, strerror(errno));
			regs_dump(v->fd, stderr);
			return STOP_ERROR;
		}
		if (run->exit_reason < sizeof(v->exits) / sizeof(v->exits[0]))
			v->exits[run->exit_reason]++;
		/* The UART's queued bytes go first: this exit may read what they changed. */
		coalesced_drain(&m->coalesced);

		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			handle_mmio(run, m);
			break;

		case KVM_EXIT_SYSTEM_EVENT:
			/*
			 * PSCI SYSTEM_OFF / SYSTEM_RESET (DEN0022 5.10, 5.11) from this vCPU: KVM has
			 * already marked every vCPU of the VM stopped; what happens next is ours to
			 * decide. The other threads may sit in KVM_RUN for ever, so they get kicked.
			 */
			if (o->trace)
				fprintf(stderr, "trace: SYSTEM_EVENT %s (vCPU %u)\n",
					system_event_name(run->system_event.type), v->index);
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				info("the guest powered off (vCPU %u)", v->index);
				return STOP_POWEROFF;
			case KVM_SYSTEM_EVENT_RESET:
				info("the guest asked for a reset (vCPU %u)", v->index);
				return STOP_RESET;
			default:
				warn("vCPU %u: the guest reported a system event of type %u (%s)",
				     v->index, run->system_event.type,
				     system_event_name(run->system_event.type));
				regs_dump(v->fd, stderr);
				return STOP_ERROR;
			}

		case KVM_EXIT_DEBUG:
			/* A breakpoint, watchpoint or step of gdb's (common/gdb.h, --gdb). */
			gdb_vcpu_debug_exit(v->index, run);
			break;

		case KVM_EXIT_ARM_NISV:
			/*
			 * A data abort on device memory whose syndrome is not valid (ESR_EL2.ISV = 0,
			 * Arm ARM D17.2.40): a load/store pair, a write-back addressing mode, or a
			 * SIMD register. KVM cannot tell us which register to read or fill, so it
			 * cannot be an MMIO exit. Real device drivers use single loads and stores.
			 */
			warn("vCPU %u: the guest accessed device memory at 0x%llx with an "
			     "instruction KVM cannot emulate (no valid syndrome, ESR ISS 0x%llx): "
			     "use single loads and stores (ldr/str) for devices",
			     v->index, run->arm_nisv.fault_ipa, run->arm_nisv.esr_iss);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		case KVM_EXIT_FAIL_ENTRY:
			warn("vCPU %u: KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware "
			     "reason 0x%llx)",
			     v->index, run->fail_entry.hardware_entry_failure_reason);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		case KVM_EXIT_INTERNAL_ERROR:
			warn("vCPU %u: KVM hit an internal error running the guest (suberror %u)",
			     v->index, run->internal.suberror);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;

		default:
			warn("vCPU %u: unexpected exit %s (%u): this VMM does not handle it",
			     v->index, exit_name(run->exit_reason), run->exit_reason);
			regs_dump(v->fd, stderr);
			return STOP_ERROR;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	machine_stop(v->m, vcpu_run(v));
	return NULL;
}

/*
 * Run every vCPU in a thread of its own until the machine stops; returns why it stopped. The
 * virtio devices' threads run from before the first vCPU starts until after the last one ends.
 */
enum machine_stop machine_run(struct machine *m)
{
	phase_mark(m, PHASE_RUN);
	virtio_threads_start(m);
	pthread_mutex_lock(&m->stop_lock);
	m->stop = m->quit ? STOP_QUIT : STOP_NONE;
	console_output_cancel(&m->console, m->stop != STOP_NONE);
	if (m->stop != STOP_NONE) /* Ctrl-A x came between two boots: this one never runs */
		phase_mark(m, PHASE_STOP);
	for (unsigned int i = 0; m->stop == STOP_NONE && i < m->opt->ncpus; i++) {
		int err = pthread_create(&m->vcpus[i].thread, NULL, vcpu_thread, &m->vcpus[i]);

		if (err)
			die("cannot start a thread for vCPU %u: %s", i, strerror(err));
	}
	m->running = m->stop == STOP_NONE;
	pthread_mutex_unlock(&m->stop_lock);

	for (unsigned int i = 0; m->running && i < m->opt->ncpus; i++)
		pthread_join(m->vcpus[i].thread, NULL);
	virtio_threads_stop(m);
	coalesced_stop(&m->coalesced); /* the last bytes the guest sent; nobody else drains now */
	pthread_mutex_lock(&m->stop_lock);
	m->running = false;
	/* Ctrl-A x while the machine was stopping anyway still means: no more boots. */
	if (m->quit && m->stop != STOP_ERROR)
		m->stop = STOP_QUIT;
	pthread_mutex_unlock(&m->stop_lock);
	return m->stop;
}
