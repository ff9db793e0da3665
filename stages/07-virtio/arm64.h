/*
 * arm64.h - names for the arm64 registers a VMM reads and writes through KVM_{GET,SET}_ONE_REG.
 *
 * arm64 KVM has no KVM_GET_REGS/KVM_SET_REGS: every register is addressed by a 64-bit ID
 * (Documentation/virt/kvm/api.rst, 4.68 KVM_SET_ONE_REG, "ARM64 registers"). A core register's ID
 * is its offset in struct kvm_regs counted in 32-bit words, tagged as arm64, core and 64 bits wide.
 */
#ifndef VELEIRO_ARM64_H
#define VELEIRO_ARM64_H

#include <linux/kvm.h>
#include <stddef.h>

#define ARM64_CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

#define REG_X(n) ARM64_CORE_REG(regs.regs[n]) /* general-purpose register Xn */
#define REG_SP ARM64_CORE_REG(regs.sp) /* SP_EL0 */
#define REG_PC ARM64_CORE_REG(regs.pc) /* program counter */
#define REG_PSTATE ARM64_CORE_REG(regs.pstate) /* processor state, as in SPSR */
#define REG_SP_EL1 ARM64_CORE_REG(sp_el1) /* stack pointer of EL1 */
#define REG_ELR_EL1 ARM64_CORE_REG(elr_el1) /* exception link register: where EL1 came from */

/*
 * System registers are addressed by their MRS/MSR encoding (op0, op1, CRn, CRm, op2), as in the
 * Arm ARM's register descriptions (DDI 0487, D19 "AArch64 System Register Descriptions").
 */
#define REG_ESR_EL1 ARM64_SYS_REG(3, 0, 5, 2, 0) /* ESR_EL1: why the last exception was taken */
#define REG_FAR_EL1 ARM64_SYS_REG(3, 0, 6, 0, 0) /* FAR_EL1: the faulting address */

/*
 * PSTATE at entry (Linux Documentation/arch/arm64/booting.rst, "CPU mode"): EL1 using SP_EL1
 * (M[3:0] = 0b0101, "EL1h") with debug, SError, IRQ and FIQ masked (D, A, I, F = bits 9..6).
 */
#define PSTATE_MODE_EL1H 0x5
#define PSTATE_DAIF_MASK (0xfUL << 6)
#define PSTATE_BOOT (PSTATE_DAIF_MASK | PSTATE_MODE_EL1H) /* 0x3c5 */

#endif
