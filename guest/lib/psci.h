/* psci.h - power control through the hypervisor's PSCI implementation (see psci.c). */
#ifndef GUEST_PSCI_H
#define GUEST_PSCI_H

#include <stdint.h>

void psci_system_off(void) __attribute__((noreturn));
void psci_system_reset(void) __attribute__((noreturn));
int64_t psci_cpu_on(uint64_t target_mpidr, uint64_t entry, uint64_t context);

#endif
