/*
 * coalesced.h - the PL011's data register written without an exit per byte: KVM appends each
 * guest write to UARTDR to a ring (KVM_REGISTER_COALESCED_MMIO), and we hand them to the UART in
 * order, before any other exit is handled and a few milliseconds after they were written.
 */
#ifndef VELEIRO_COALESCED_H
#define VELEIRO_COALESCED_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmio_bus.h"

struct coalesced {
	struct kvm_coalesced_mmio_ring *ring; /* in vCPU 0's kvm_run mapping; NULL: off */
	uint32_t size; /* entries the ring holds */
	struct mmio_bus *bus; /* where the writes go, in the order the guest made them */
	pthread_mutex_t lock; /* one drainer at a time; taken before any device lock */
	pthread_t thread; /* drains while no vCPU exits (a guest idle in WFI, say) */
	bool stop; /* the thread should end (atomics) */
	uint64_t writes; /* writes that took no exit, for --stats */
};

/*
 * Whether this KVM can coalesce: the page of the kvm_run mapping the ring is in (api.rst 4.116,
 * KVM_CAP_COALESCED_MMIO), or 0 for none.
 */
int coalesced_page(int kvm);

/*
 * Each boot, once vCPU 0 exists: coalesce the guest's writes to [addr, addr + len) on vm, the ring
 * found at `page` pages into run (vCPU 0's kvm_run mapping, run_size bytes long), the writes going
 * to bus. 0, or -errno (the VM then takes exits as before).
 */
int coalesced_start(struct coalesced *c, int vm, void *run, int run_size, int page, uint64_t addr,
		    uint32_t len, struct mmio_bus *bus);

/* Hand what the ring holds to the bus. Any thread, no device lock held. */
void coalesced_drain(struct coalesced *c);

/* Once every vCPU has stopped: end the thread and drain the last writes. */
void coalesced_stop(struct coalesced *c);

#endif
