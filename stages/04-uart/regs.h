/*
 * regs.h - reading vCPU registers, and the register dump a VMM prints when a guest goes wrong.
 */
#ifndef VELEIRO_REGS_H
#define VELEIRO_REGS_H

#include <stdint.h>
#include <stdio.h>

/* Read one register by its KVM_GET_ONE_REG ID; 0 or -errno. */
int regs_get(int vcpu, uint64_t id, uint64_t *value);

/* x0-x30, SP, PC, PSTATE (decoded), SP_EL1, ELR_EL1, ESR_EL1, FAR_EL1, each where readable. */
void regs_dump(int vcpu, FILE *f);

#endif
