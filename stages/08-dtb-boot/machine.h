/*
 * machine.h - the machine this stage builds: its parts (struct machine), shared by main.c and
 * the files that run it (run.c, stats.c, devices.c, load.c) and the devices' own files.
 */
#ifndef VELEIRO_MACHINE_H
#define VELEIRO_MACHINE_H

#include <stdbool.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>

#include "boot.h"
#include "console.h"
#include "device.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "timer.h"
#include "virtio_mmio.h"
#include "vgic.h"
#include "guest_mem.h"

/* What --stats reports besides the bus's and the devices' own counts: exits by reason. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
};

/* One virtio slot: the device in it (or an empty transport), and its interrupts. */
struct virtio_slot {
	struct machine *m;
	unsigned int index;
	struct virtio_mmio *dev; /* the transport on the bus: a device's, or `empty`; NULL: free */
	struct virtio_mmio empty; /* the transport of a slot with no device */
	uint64_t irqs; /* interrupts raised, for --stats */
};

/* The machine: KVM's handles, guest RAM, and what the run loop and the devices work with. */
struct machine {
	const struct options *opt;
	int kvm, vm, vcpu, run_size;
	struct kvm_run *run;
	struct guest_mem ram;
	struct vgic gic;
	/*
	 * Held by whichever thread touches a device: the vCPU's on MMIO exits, the console's.
	 * A virtio device also takes a lock of its own (virtio_mmio.c): here it is never
	 * contended, since this one is held around it, but it keeps the virtio model safe on its
	 * own, as the unit tests and the fuzzer drive it, without a machine around it.
	 */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct console console;
	struct virtio_slot slots[VIRTIO_SLOTS];
	struct stats stats;
};

/* run.c */
int run_loop(struct machine *m);

/* stats.c */
void print_stats(const struct machine *m);
void virtio_slot_print_stats(const struct virtio_slot *s);

/* devices.c */
void devices_setup(struct machine *m);
void devices_add(struct machine *m);
int devices_fdt(void *fdt, const void *ctx);
void devices_print_stats(const struct machine *m);
void virtio_irq_set(void *ctx, int level);
struct virtio_slot *virtio_slot_take(struct machine *m, unsigned int index);
void virtio_slot_plug(struct virtio_slot *s, struct virtio_mmio *dev, const char *name);
void gic_unavailable(int version, int err);

/* load.c */
int vm_type_for(int kvm, uint64_t ram_end);
void load_kernel(const struct guest_mem *ram, const struct options *o, struct boot_layout *layout);
bool psci_is_1_0(int vcpu);
void save_dtb(const void *dtb, const char *path);

#endif
