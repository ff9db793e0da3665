/*
 * stats.c - what --stats prints when the guest stops: exits by reason, what the devices counted,
 * and where the time of a boot went, step by step.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "exits.h"
#include "machine.h"

/* How many exits of this reason all vCPUs had together. */
static uint64_t exit_total(const struct machine *m, size_t reason)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < m->opt->ncpus; i++)
		n += m->vcpus[i].exits[reason];
	return n;
}

/*
 * Which path a virtio device's notifications and interrupts took. Every notification passes
 * through the device's eventfds; those that were MMIO exits (a QueueNotify write, or the DRIVER_OK
 * that stands for one at start-up) the transport counted too, and the rest KVM signalled itself
 * (KVM_IOEVENTFD) without the guest leaving KVM_RUN.
 */
void virtio_slot_print_stats(const struct virtio_slot *s)
{
	const struct virtio_mmio *dev = s->dev;
	uint64_t exits = dev->mmio_notifies;

	fprintf(stderr,
		"stats: virtio slot %u, %s: %" PRIu64 " requests; notifications %" PRIu64
		" by KVM_IOEVENTFD, %" PRIu64 " by MMIO exit; %" PRIu64 " interrupts by %s\n",
		s->index, s->thread.name, dev->requests,
		s->thread.notifies > exits ? s->thread.notifies - exits : 0, exits, s->irqs,
		s->irqfd >= 0 ? "KVM_IRQFD" : "KVM_IRQ_LINE");
}

void print_stats(const struct machine *m)
{
	const size_t reasons = sizeof(m->vcpus[0].exits) / sizeof(m->vcpus[0].exits[0]);
	uint64_t total = 0;

	for (size_t r = 0; r < reasons; r++)
		total += exit_total(m, r);
	fprintf(stderr, "stats: %" PRIu64 " exits\n", total);
	for (size_t r = 0; r < reasons; r++)
		if (exit_total(m, r))
			fprintf(stderr, "stats:   %-14s %8" PRIu64 "\n", exit_name(r),
				exit_total(m, r));
	for (unsigned int i = 0; i < m->opt->ncpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		const char *sep = "";
		uint64_t n = 0;

		for (size_t r = 0; r < reasons; r++)
			n += v->exits[r];
		fprintf(stderr, "stats: vCPU %u: %" PRIu64 " exits (", i, n);
		for (size_t r = 0; r < reasons; r++)
			if (v->exits[r]) {
				fprintf(stderr, "%s%s %" PRIu64, sep, exit_name(r), v->exits[r]);
				sep = ", ";
			}
		fprintf(stderr, ")\n");
		timer_print_state(v->fd, stderr);
	}
	mmio_bus_print_stats(&m->bus, stderr);
	fprintf(stderr, "stats: console: %" PRIu64 " bytes in, %" PRIu64 " bytes out",
		m->console.in_bytes, m->console.out_bytes);
	if (m->console.dropped)
		fprintf(stderr, ", %" PRIu64 " typed while the guest took none, dropped",
			m->console.dropped);
	fputc('\n', stderr);
	devices_print_stats(m);
}

void phase_mark(struct machine *m, enum phase p)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	m->phase_ns[p] = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Milliseconds from the start of step `from` to the start of step `to`. */
static double phase_ms(const struct machine *m, enum phase from, enum phase to)
{
	return (double)(m->phase_ns[to] - m->phase_ns[from]) / 1e6;
}

/*
 * The VMM's own share of a boot: what it takes to get the guest going, and to take it down once
 * it stopped. Printed after the boot is down, so that the taking down is counted too.
 */
void print_times(const struct machine *m)
{
	static const char *const names[PHASE_RUN] = {
		[PHASE_START] = "start",     [PHASE_VM] = "VM and RAM",
		[PHASE_KERNEL] = "kernel",   [PHASE_VCPUS] = "vGIC and vCPUs",
		[PHASE_DEVICES] = "devices", [PHASE_DTB] = "device tree",
	};

	fprintf(stderr, "stats: time: %.1f ms to the first KVM_RUN (",
		phase_ms(m, PHASE_START, PHASE_RUN));
	for (enum phase p = PHASE_START; p < PHASE_RUN; p++)
		fprintf(stderr, "%s%s %.1f", p == PHASE_START ? "" : ", ", names[p],
			phase_ms(m, p, p + 1));
	fprintf(stderr, ")\n");
	fprintf(stderr,
		"stats: time: the guest ran %.1f ms; from its stop, %.1f ms to taken down (threads "
		"joined %.1f, the boot taken down %.1f)\n",
		phase_ms(m, PHASE_RUN, PHASE_STOP), phase_ms(m, PHASE_STOP, PHASE_DOWN),
		phase_ms(m, PHASE_STOP, PHASE_DESTROY), phase_ms(m, PHASE_DESTROY, PHASE_DOWN));
}
