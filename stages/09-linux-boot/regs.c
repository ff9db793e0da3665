/*
 * regs.c - the register dump: what the vCPU was doing when the VMM gave up on it.
 *
 * Registers come from KVM_GET_ONE_REG (api.rst 4.69). A register KVM will not read is shown as
 * "unreadable" rather than hiding the rest of the dump.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/ioctl.h>

#include "arm64.h"
#include "regs.h"

int regs_get(int vcpu, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)value };

	return ioctl(vcpu, KVM_GET_ONE_REG, &reg) < 0 ? -errno : 0;
}

static void dump_one(int vcpu, FILE *f, const char *name, uint64_t id)
{
	uint64_t v;

	if (regs_get(vcpu, id, &v) == 0)
		fprintf(f, "  %-8s %016" PRIx64, name, v);
	else
		fprintf(f, "  %-8s %16s", name, "unreadable");
}

/* PSTATE.M[3:0] names the exception level and stack pointer (Arm ARM, C5.2.19 SPSR_EL1.M). */
static const char *pstate_mode(uint64_t pstate)
{
	static const char *const modes[16] = {
		[0x0] = "EL0t", [0x4] = "EL1t", [0x5] = "EL1h", [0x8] = "EL2t", [0x9] = "EL2h",
	};
	const char *m = modes[pstate & 0xf];

	return m ? m : "?";
}

void regs_dump(int vcpu, FILE *f)
{
	char name[8];
	uint64_t pstate;

	fprintf(f, "vCPU registers:\n");
	for (int i = 0; i <= 30; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		dump_one(vcpu, f, name, REG_X(i));
		if (i % 3 == 2)
			fputc('\n', f);
	}
	dump_one(vcpu, f, "sp", REG_SP);
	fputc('\n', f);
	dump_one(vcpu, f, "pc", REG_PC);
	dump_one(vcpu, f, "pstate", REG_PSTATE);
	if (regs_get(vcpu, REG_PSTATE, &pstate) == 0)
		fprintf(f, "  (%s, DAIF=%c%c%c%c)", pstate_mode(pstate),
			pstate & (1 << 9) ? 'D' : '-', pstate & (1 << 8) ? 'A' : '-',
			pstate & (1 << 7) ? 'I' : '-', pstate & (1 << 6) ? 'F' : '-');
	fputc('\n', f);
	dump_one(vcpu, f, "sp_el1", REG_SP_EL1);
	dump_one(vcpu, f, "elr_el1", REG_ELR_EL1);
	fputc('\n', f);
	dump_one(vcpu, f, "esr_el1", REG_ESR_EL1);
	dump_one(vcpu, f, "far_el1", REG_FAR_EL1);
	fputc('\n', f);
}
