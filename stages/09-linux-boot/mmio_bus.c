/*
 * mmio_bus.c - dispatch of KVM_EXIT_MMIO accesses to the device that owns the address.
 *
 * A handful of devices, so a linear search is fast enough: one exit costs microseconds, a few
 * comparisons nanoseconds. Every access is checked to lie entirely inside one device's window
 * before the device sees it, so a device can trust that offset + size <= its size.
 */
#include <errno.h>
#include <inttypes.h>

#include "mmio_bus.h"

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_device *dev)
{
	if (dev->size == 0 || dev->base + dev->size < dev->base)
		return -EINVAL;
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct mmio_device *d = &bus->devices[i];

		if (dev->base < d->base + d->size && d->base < dev->base + dev->size)
			return -EEXIST;
	}
	if (bus->count == MMIO_BUS_MAX_DEVICES)
		return -ENOSPC;
	bus->devices[bus->count++] = *dev;
	return 0;
}

/* The device whose window holds all of [addr, addr + size), or -1. */
static int mmio_bus_find(const struct mmio_bus *bus, uint64_t addr, unsigned int size)
{
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct mmio_device *d = &bus->devices[i];

		if (addr >= d->base && addr - d->base < d->size &&
		    size <= d->size - (addr - d->base))
			return (int)i;
	}
	return -1;
}

static void mmio_bus_trace(const struct mmio_bus *bus, int i, int is_write, uint64_t addr,
			   unsigned int size, uint64_t value)
{
	const struct mmio_device *d = i >= 0 ? &bus->devices[i] : NULL;
	const char *reg = d && d->reg_name ? d->reg_name(addr - d->base) : NULL;
	char where[48] = "unclaimed";

	if (!bus->trace)
		return;
	if (d && reg)
		snprintf(where, sizeof(where), "%s %s", d->name, reg);
	else if (d)
		snprintf(where, sizeof(where), "%s+0x%03" PRIx64, d->name, addr - d->base);
	fprintf(bus->trace, "trace: MMIO %-5s 0x%08" PRIx64 " %u bytes %s 0x%" PRIx64 " (%s)\n",
		is_write ? "write" : "read", addr, size, is_write ? "<-" : "->", value, where);
}

uint64_t mmio_bus_read(struct mmio_bus *bus, uint64_t addr, unsigned int size)
{
	int i = mmio_bus_find(bus, addr, size);
	uint64_t value = 0;

	if (i >= 0) {
		const struct mmio_device *d = &bus->devices[i];

		if (d->lock)
			pthread_mutex_lock(d->lock);
		value = d->read(d->opaque, addr - d->base, size);
		if (d->lock)
			pthread_mutex_unlock(d->lock);
		__atomic_fetch_add(&bus->reads[i], 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&bus->unclaimed_reads, 1, __ATOMIC_RELAXED);
	}
	mmio_bus_trace(bus, i, 0, addr, size, value);
	return value;
}

/*
 * A write is traced before the device acts on it, so whatever it causes (an interrupt line that
 * moves, a byte sent) shows after it; a read can only be traced once the device has answered.
 */
void mmio_bus_write(struct mmio_bus *bus, uint64_t addr, unsigned int size, uint64_t value)
{
	int i = mmio_bus_find(bus, addr, size);

	mmio_bus_trace(bus, i, 1, addr, size, value);
	if (i >= 0) {
		const struct mmio_device *d = &bus->devices[i];

		if (d->lock)
			pthread_mutex_lock(d->lock);
		d->write(d->opaque, addr - d->base, size, value);
		if (d->lock)
			pthread_mutex_unlock(d->lock);
		__atomic_fetch_add(&bus->writes[i], 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&bus->unclaimed_writes, 1, __ATOMIC_RELAXED);
	}
}

void mmio_bus_print_stats(const struct mmio_bus *bus, FILE *f)
{
	fprintf(f, "stats: MMIO by device:\n");
	for (unsigned int i = 0; i < bus->count; i++)
		fprintf(f, "stats:   %-10s %8" PRIu64 " reads %8" PRIu64 " writes\n",
			bus->devices[i].name, bus->reads[i], bus->writes[i]);
	fprintf(f, "stats:   %-10s %8" PRIu64 " reads %8" PRIu64 " writes\n", "unclaimed",
		bus->unclaimed_reads, bus->unclaimed_writes);
}
