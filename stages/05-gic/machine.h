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

#include "console.h"
#include "device.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "vgic.h"
#include "guest_mem.h"

/* What --stats reports besides the bus's and the devices' own counts: exits by reason. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
};

/* The machine: KVM's handles, guest RAM, and what the run loop and the devices work with. */
struct machine {
	const struct options *opt;
	int kvm, vm, vcpu, run_size;
	struct kvm_run *run;
	struct guest_mem ram;
	struct vgic gic;
	/* Held by whichever thread touches a device: the vCPU's on MMIO exits, the console's. */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct console console;
	struct stats stats;
};

/* run.c */
int run_loop(struct machine *m);

/* stats.c */
void print_stats(const struct machine *m);

/* devices.c */
void devices_add(struct machine *m);
void devices_print_stats(const struct machine *m);
void gic_unavailable(int version, int err);

/* load.c */
void load_guest(const struct guest_mem *ram, const char *path);

#endif
