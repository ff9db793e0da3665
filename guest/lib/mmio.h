/*
 * mmio.h - device register access for the guest runtime.
 *
 * Every access goes through a volatile pointer so the compiler emits exactly one load or store of
 * the stated width, in program order: a device register is not memory, and reading or writing it
 * has effects (on KVM each access the kernel does not handle is one KVM_EXIT_MMIO). With the MMU
 * off all data accesses are Device-nGnRnE (Arm ARM DDI 0487, "Behavior of caches when the stage 1
 * translation is disabled"), so they also reach the device in order.
 */
#ifndef GUEST_MMIO_H
#define GUEST_MMIO_H

#include <stdint.h>

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t value)
{
	*(volatile uint32_t *)addr = value;
}

static inline void mmio_write64(uintptr_t addr, uint64_t value)
{
	*(volatile uint64_t *)addr = value;
}

#endif
