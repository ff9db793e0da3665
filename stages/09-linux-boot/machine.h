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
#include "coalesced.h"
#include "console.h"
#include "device.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "options.h"
#include "timer.h"
#include "vcpu_features.h"
#include "vgic.h"
#include "virtio_mmio.h"
#include "virtio_thread.h"
#include "dtb.h"
#include "guest_mem.h"

#define MAX_CPUS DTB_MAX_CPUS_GICV3 /* the most the memory map has room for */
/* The devices one boot can have: one per virtio slot, the UART, the RTC and the flash bank. */
#define MACHINE_DEVICES (VIRTIO_SLOTS + 3)

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KICK_SIGNAL SIGUSR1

/* Why the machine stopped; the first reason any thread gives wins. */
enum machine_stop {
	STOP_NONE, /* running */
	STOP_POWEROFF, /* PSCI SYSTEM_OFF */
	STOP_RESET, /* PSCI SYSTEM_RESET */
	STOP_QUIT, /* Ctrl-A x */
	STOP_ERROR, /* a vCPU could not go on */
};

/*
 * The steps of one boot, in order, for --stats' times (stats.c): each is marked as it begins, and
 * lasts until the next. START is main()'s first line, or the end of the boot before.
 */
enum phase {
	PHASE_START, /* options, /dev/kvm, the console; after a reset, nothing */
	PHASE_VM, /* KVM_CREATE_VM, guest RAM */
	PHASE_KERNEL, /* the kernel and initrd read into RAM */
	PHASE_VCPUS, /* the vGIC, the vCPUs and their features, the timers */
	PHASE_DEVICES, /* the bus, the UART, the RTC, the virtio slots */
	PHASE_DTB, /* the device tree */
	PHASE_RUN, /* the guest runs: from the first vCPU thread */
	PHASE_STOP, /* the first stop (SYSTEM_OFF, a reset, Ctrl-A x) to every thread joined */
	PHASE_DESTROY, /* taking the boot down */
	PHASE_DOWN, /* the boot is down */
	PHASES
};

/* One vCPU and the thread that runs it. */
struct vcpu {
	struct machine *m;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	uint64_t exits[KVM_EXIT_ARM_NISV + 1]; /* KVM_RUN returns by exit reason, for --stats */
};

/* One device of this boot: its type (device.h) and which of that type it is. */
struct device {
	const struct device_type *type;
	unsigned int index;
};

/* One virtio slot: the device in it (or an empty transport), its interrupts, and its thread. */
struct virtio_slot {
	struct machine *m;
	unsigned int index;
	struct virtio_mmio *dev; /* the transport on the bus: a device's, or `empty`; NULL: free */
	struct virtio_mmio empty; /* the transport of a slot with no device */
	struct virtio_thread thread; /* serves dev, when the slot holds a device */
	struct virtio_mmio_host host; /* its interrupt and notifications (virtio_slot_take) */
	int irqfd; /* KVM_IRQFD's eventfd, or -1: interrupts by KVM_IRQ_LINE */
	uint64_t irqs; /* interrupts raised, for --stats */
};

/* One boot of the machine, and what outlives it (the options, disks, console, stop state). */
struct machine {
	const struct options *opt;
	int kvm, vm, run_size;
	struct guest_mem ram;
	struct vgic gic;
	struct vcpu_features features; /* what every vCPU has this boot */
	struct vcpu vcpus[MAX_CPUS];
	bool eventfds; /* the fast path: KVM_IOEVENTFD and KVM_IRQFD (eventfds.h) */
	int coalesced_page; /* where KVM's coalesced MMIO ring is, or 0: none (coalesced.h) */
	struct coalesced coalesced; /* this boot's, for the UART's data register */
	/*
	 * The lock of the devices that have none of their own, the PL011 and the PL031, held by
	 * whichever thread touches them: a vCPU's on MMIO exits (mmio_bus.h), the console's input
	 * thread, the RTC's alarm thread; and by main() while it builds or takes down the machine.
	 * Each virtio device has its own (virtio_mmio.h), so a vCPU at a disk and one at the UART do
	 * not wait for each other. Where both are taken, this one comes first (the console's input
	 * into virtio-console); a virtio device's thread takes this one only with its own released.
	 */
	pthread_mutex_t lock;
	struct mmio_bus bus;
	struct console console;
	struct device devices[MACHINE_DEVICES]; /* this boot's, in the table's order (devices.c) */
	unsigned int ndevices;
	struct virtio_slot slots[VIRTIO_SLOTS]; /* the first nslots taken by devices, in order */
	unsigned int nslots;
	unsigned int boots;
	uint64_t phase_ns[PHASES]; /* when each step of this boot began (CLOCK_MONOTONIC) */
	/* Stopping: stop_lock orders the kicks against threads starting and ending. */
	pthread_mutex_t stop_lock;
	enum machine_stop stop; /* read without the lock by the vCPU threads (atomics) */
	bool running; /* the vCPU threads exist */
	bool quit; /* Ctrl-A x came, maybe between two boots */
};

/* run.c */
void kick_init(void);
void machine_stop(struct machine *m, enum machine_stop why);
void machine_quit(void *ctx);
enum machine_stop machine_run(struct machine *m);

/* stats.c */
void print_stats(const struct machine *m);
void virtio_slot_print_stats(const struct virtio_slot *s);
void phase_mark(struct machine *m, enum phase p);
void print_times(const struct machine *m);

/* devices.c */
void devices_setup(struct machine *m);
void devices_add(struct machine *m);
int devices_fdt(void *fdt, const void *ctx);
void devices_print_stats(const struct machine *m);
void machine_destroy(struct machine *m);
struct virtio_slot *virtio_slot_take(struct machine *m);
void virtio_slot_plug(struct virtio_slot *s, struct virtio_mmio *dev, const char *name);
void virtio_slot_unplug(struct virtio_slot *s);
void virtio_threads_start(struct machine *m);
void virtio_threads_stop(struct machine *m);
void gic_unavailable(int version, int err);
void check_cpus(int vm, const struct vgic *gic, unsigned int ncpus);
void vcpu_create(struct machine *m, unsigned int i, const struct kvm_vcpu_init *preferred);

/* load.c */
int vm_type_for(int kvm, uint64_t ram_end);
void load_kernel(const struct guest_mem *ram, const struct options *o, struct boot_layout *layout);
bool psci_is_1_0(int vcpu);
void save_dtb(const void *dtb, const char *path);

#endif
