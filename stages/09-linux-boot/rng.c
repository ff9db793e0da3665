/*
 * rng.c - the entropy device (virtio_rng.c) as a device of this machine (device.h): always
 * there, in the first virtio slot the disks and the console leave; with every slot taken there
 * is none, so a command line that worked before keeps working.
 */
#include <inttypes.h>
#include <stdio.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "virtio_rng.h"

static struct virtio_rng rng;
static struct virtio_slot *rng_slot;

static unsigned int rng_count(const struct machine *m)
{
	return m->nslots < VIRTIO_SLOTS;
}

static void rng_add(struct machine *m, unsigned int i)
{
	struct virtio_slot *s = virtio_slot_take(m);

	virtio_rng_init(&rng, &m->ram, &s->host);
	virtio_slot_plug(s, &rng.mmio, "virtio-rng");
	rng_slot = s;
	info("virtio-rng: slot %u", s->index);
}

static int rng_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_virtio(fdt, rng_slot->index);
}

static void rng_stats(const struct machine *m, unsigned int i)
{
	virtio_slot_print_stats(rng_slot);
	fprintf(stderr, "stats: virtio-rng: %" PRIu64 " random bytes given", rng.bytes);
	if (rng.host_errors)
		fprintf(stderr, ", %" PRIu64 " buffers returned empty (getrandom failed)",
			rng.host_errors);
	fputc('\n', stderr);
}

static void rng_remove(struct machine *m, unsigned int i)
{
	virtio_slot_unplug(rng_slot);
	virtio_rng_destroy(&rng);
}

const struct device_type rng_device = {
	.name = "virtio-rng",
	.count = rng_count,
	.add = rng_add,
	.fdt_node = rng_fdt_node,
	.stats = rng_stats,
	.remove = rng_remove,
};
