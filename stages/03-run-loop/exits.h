/*
 * exits.h - names for the reasons KVM_RUN returns to us, for traces, statistics and errors.
 */
#ifndef VELEIRO_EXITS_H
#define VELEIRO_EXITS_H

#include <stdint.h>

/* "MMIO", "SYSTEM_EVENT", ... for a kvm_run exit_reason; "UNKNOWN" for others. */
const char *exit_name(uint32_t reason);

/* "shutdown", "reset", "crash" for a KVM_EXIT_SYSTEM_EVENT type. */
const char *system_event_name(uint32_t type);

#endif
