/*
 * machine.h - the machine this stage builds: its parts (struct machine), shared by main.c and
 * the files that run it (run.c, stats.c, devices.c, load.c).
 */
#ifndef VELEIRO_MACHINE_H
#define VELEIRO_MACHINE_H

#include <stdbool.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>

#include "boot.h"
#include "console.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "pl011.h"
#include "timer.h"
#include "vgic.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"
#include "guest_mem.h"

/* What --stats reports besides the bus's own counts: exits by reason, interrupt line changes. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
	uint64_t irq_raised, irq_lowered;
	uint64_t virtio_irqs[VIRTIO_SLOTS];
};

/* What a virtio slot's interrupt callback needs: the machine, and which slot it is. */
struct virtio_line {
	struct machine *m;
	unsigned int slot;
};

/* What the run loop and the input thread work with. */
struct machine {
	int vm, vcpu;
	struct kvm_run *run;
	/*
	 * Held by whichever thread touches a device: the vCPU's on MMIO exits, the console's.
	 * A virtio device also takes a lock of its own (virtio_mmio.c): here it is never
	 * contended, since this one is held around it, but it keeps the virtio model safe on its
	 * own, as the unit tests and the fuzzer drive it, without a machine around it.
	 */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct pl011 uart;
	struct console console;
	struct virtio_blk blk;
	struct virtio_console vcon;
	struct virtio_mmio empty[VIRTIO_SLOTS];
	struct virtio_line lines[VIRTIO_SLOTS];
	const struct options *opt;
	struct stats stats;
};

/* run.c */
int run_loop(struct machine *m);

/* stats.c */
void print_stats(const struct machine *m);

/* devices.c */
void virtio_slots_add(struct machine *m, const struct guest_mem *ram, int disk_fd);
void uart_irq_set(void *ctx, int level);
void virtio_irq_set(void *ctx, int level);
size_t uart_deliver(void *device, const uint8_t *buf, size_t len);
size_t vcon_deliver(void *device, const uint8_t *buf, size_t len);
int open_disk(const char *path, bool read_only);
void gic_unavailable(int version, int err);

/* load.c */
int vm_type_for(int kvm, uint64_t ram_end);
void load_kernel(const struct guest_mem *ram, const struct options *o, struct boot_layout *layout);
bool psci_is_1_0(int vcpu);
void save_dtb(const void *dtb, const char *path);

#endif
