/*
 * exits.c - names for KVM exit reasons (linux/kvm.h, KVM_EXIT_*; api.rst 5, "struct kvm_run").
 */
#include <linux/kvm.h>

#include "exits.h"

#define NAME(x) [KVM_EXIT_##x] = #x

static const char *const exit_names[] = {
	NAME(UNKNOWN),
	NAME(EXCEPTION),
	NAME(IO),
	NAME(HYPERCALL),
	NAME(DEBUG),
	NAME(HLT),
	NAME(MMIO),
	NAME(IRQ_WINDOW_OPEN),
	NAME(SHUTDOWN),
	NAME(FAIL_ENTRY),
	NAME(INTR),
	NAME(SET_TPR),
	NAME(TPR_ACCESS),
	NAME(S390_SIEIC),
	NAME(S390_RESET),
	NAME(DCR),
	NAME(NMI),
	NAME(INTERNAL_ERROR),
	NAME(OSI),
	NAME(PAPR_HCALL),
	NAME(S390_UCONTROL),
	NAME(WATCHDOG),
	NAME(S390_TSCH),
	NAME(EPR),
	NAME(SYSTEM_EVENT),
	NAME(S390_STSI),
	NAME(IOAPIC_EOI),
	NAME(HYPERV),
	NAME(ARM_NISV),
};

const char *exit_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	return "UNKNOWN";
}

const char *system_event_name(uint32_t type)
{
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return "shutdown";
	case KVM_SYSTEM_EVENT_RESET:
		return "reset";
	case KVM_SYSTEM_EVENT_CRASH:
		return "crash";
	default:
		return "unknown";
	}
}
