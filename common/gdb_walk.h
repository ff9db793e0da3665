/*
 * gdb_walk.h - from a guest virtual address to a guest physical one, as the vCPU's MMU would:
 * the AArch64 stage-1 translation of EL1&0 (Arm ARM DDI 0487, D8 "The AArch64 Virtual Memory
 * System Architecture": D8.1 translation regimes, D8.2 the table walk, D8.3 descriptors).
 *
 * gdb names memory by the addresses the guest's program uses; guest RAM is indexed by physical
 * address. With the MMU off (SCTLR_EL1.M = 0) the two are the same; with it on, the walker reads
 * the guest's own page tables out of guest RAM. Those tables are the guest's, so anything goes:
 * every descriptor is checked, and a table outside RAM ends the walk with an error.
 */
#ifndef VELEIRO_GDB_WALK_H
#define VELEIRO_GDB_WALK_H

#include <stdint.h>

#include "guest_mem.h"

/* The system registers that decide a translation, as KVM_GET_ONE_REG reads them. */
struct gdb_mmu {
	uint64_t sctlr; /* SCTLR_EL1: bit 0 (M) turns the MMU on */
	uint64_t tcr; /* TCR_EL1: sizes, granules and which halves walk */
	uint64_t ttbr0, ttbr1; /* TTBR0_EL1 (low addresses), TTBR1_EL1 (high addresses) */
};

/*
 * Translate va: 0 with *pa and *span, the bytes from va to the end of its page or block (at
 * least 1); -EFAULT when va is not mapped (a translation fault), -ENXIO when a table the walk
 * needs lies outside guest RAM.
 */
int gdb_walk(const struct guest_mem *ram, const struct gdb_mmu *mmu, uint64_t va, uint64_t *pa,
	     uint64_t *span);

#endif
