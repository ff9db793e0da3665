/*
 * stats.c - what --stats prints when the guest stops: exits by reason, and what the devices
 * counted.
 */
#include <inttypes.h>
#include <stdio.h>

#include "exits.h"
#include "machine.h"

/* A virtio device's interrupts. */
void virtio_slot_print_stats(const struct virtio_slot *s)
{
	fprintf(stderr, "stats: virtio slot %u: %" PRIu64 " interrupts\n", s->index, s->irqs);
}

void print_stats(const struct machine *m)
{
	const struct stats *st = &m->stats;
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		total += st->exits[i];
	fprintf(stderr, "stats: %" PRIu64 " exits\n", total);
	for (size_t i = 0; i < sizeof(st->exits) / sizeof(st->exits[0]); i++)
		if (st->exits[i])
			fprintf(stderr, "stats:   %-14s %8" PRIu64 "\n", exit_name(i),
				st->exits[i]);
	mmio_bus_print_stats(&m->bus, stderr);
	fprintf(stderr, "stats: console: %" PRIu64 " bytes in, %" PRIu64 " bytes out\n",
		m->console.in_bytes, m->console.out_bytes);
	devices_print_stats(m);
	timer_print_state(m->vcpu, stderr);
}
