/*
 * mmio_bus.h - what sits at guest physical addresses that have no RAM behind them.
 *
 * A load or store the guest makes to such an address leaves KVM_RUN as KVM_EXIT_MMIO (api.rst,
 * 5 "The kvm_run structure", KVM_EXIT_MMIO). The bus finds the device whose window holds the
 * address and hands it the access as an offset into that window. Devices only ever see this
 * interface: they never call KVM, so they can be tested on any host.
 *
 * From stage 09 on, several vCPU threads use the bus at once and there is no lock around it: the
 * devices are fixed while the vCPUs run, each device's own lock (given here, or taken by the device
 * itself) serialises its accesses, and the counts are atomic.
 */
#ifndef VELEIRO_MMIO_BUS_H
#define VELEIRO_MMIO_BUS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

/* A device on the MMIO bus: offset is relative to base; size is 1, 2, 4 or 8 bytes. */
struct mmio_device {
	const char *name;
	uint64_t base, size;
	void *opaque;
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, unsigned int size, uint64_t value);
	/* Optional, for --trace: the name of the register at offset, or NULL if there is none. */
	const char *(*reg_name)(uint64_t offset);
	/* Held around read and write; NULL when the device takes a lock of its own (virtio). */
	pthread_mutex_t *lock;
};

/* Raise/lower a device's interrupt line; level 1 = asserted. */
typedef void (*irq_set_fn)(void *ctx, int level);

#define MMIO_BUS_MAX_DEVICES 16

struct mmio_bus {
	struct mmio_device devices[MMIO_BUS_MAX_DEVICES];
	uint64_t reads[MMIO_BUS_MAX_DEVICES], writes[MMIO_BUS_MAX_DEVICES];
	unsigned int count;
	uint64_t unclaimed_reads, unclaimed_writes;
	FILE *trace; /* where --trace lines go; NULL for none */
};

/* Add a device (copied); 0, or -EINVAL (empty or wrapping window), -EEXIST (overlap), -ENOSPC. */
int mmio_bus_add(struct mmio_bus *bus, const struct mmio_device *dev);

/*
 * One guest access. An address no device claims reads as zero and drops writes, as on a bus with
 * nothing attached; it is counted and traced, never fatal.
 */
uint64_t mmio_bus_read(struct mmio_bus *bus, uint64_t addr, unsigned int size);
void mmio_bus_write(struct mmio_bus *bus, uint64_t addr, unsigned int size, uint64_t value);

/* --stats: accesses per device, and the unclaimed ones. */
void mmio_bus_print_stats(const struct mmio_bus *bus, FILE *f);

#endif
