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

#include "console.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "pl011.h"
#include "timer.h"
#include "vgic.h"
#include "guest_mem.h"

/* What --stats reports besides the bus's own counts: exits by reason, interrupt line changes. */
struct stats {
	uint64_t exits[KVM_EXIT_ARM_NISV + 1];
	uint64_t irq_raised, irq_lowered;
};

/* What the run loop and the input thread work with. */
struct machine {
	int vm, vcpu;
	struct kvm_run *run;
	/* Held by whichever thread touches a device: the vCPU's on MMIO exits, the console's. */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct pl011 uart;
	struct console console;
	const struct options *opt;
	struct stats stats;
};

/* run.c */
int run_loop(struct machine *m);

/* stats.c */
void print_stats(const struct machine *m);

/* devices.c */
void uart_irq_set(void *ctx, int level);
void gic_unavailable(int version, int err);

/* load.c */
void load_guest(const struct guest_mem *ram, const char *path);

#endif
