/*
 * vcpu_features.h - the optional CPU features KVM may give every vCPU: the PMUv3 performance
 * monitors (cycle and event counters, perf in the guest) and SVE, the scalable vector extension.
 *
 * Each is asked for in KVM_ARM_VCPU_INIT's feature bits and then needs steps of its own, in an
 * order KVM fixes (Documentation/virt/kvm/api.rst 4.82 KVM_ARM_VCPU_INIT, and its
 * KVM_ARM_VCPU_FINALIZE and KVM_REG_ARM64_SVE_VLS; devices/vcpu.rst 1 "GROUP:
 * KVM_ARM_VCPU_PMU_V3_CTRL"):
 *  0. vcpu_features_check(), before any VM: what the options require is offered (/dev/kvm's
 *     KVM_CHECK_EXTENSION; --sve-vl's length, by a probe vCPU), or the VMM ends with one line.
 *  1. vcpu_features_choose(): what KVM offers (KVM_CHECK_EXTENSION), what the options allow;
 *     the feature bits go into the kvm_vcpu_init every vCPU is initialised with.
 *  2. KVM_ARM_VCPU_INIT of each vCPU, then at once vcpu_features_finalize(): SVE's vector
 *     lengths (KVM_REG_ARM64_SVE_VLS), then KVM_ARM_VCPU_FINALIZE. Until then KVM refuses
 *     every other register access on that vCPU.
 *  3. The vGIC's KVM_DEV_ARM_VGIC_CTRL_INIT, then vcpu_features_start_pmu() on each vCPU: the
 *     PMU's overflow interrupt (KVM_ARM_VCPU_PMU_V3_IRQ), then KVM_ARM_VCPU_PMU_V3_INIT.
 * All of it before the first KVM_RUN.
 */
#ifndef VELEIRO_VCPU_FEATURES_H
#define VELEIRO_VCPU_FEATURES_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* What the command line asks for. */
enum feature_want {
	FEATURE_AUTO, /* if KVM offers it (the default) */
	FEATURE_ON, /* required: no VM without it */
	FEATURE_OFF, /* never */
};

struct vcpu_feature_options {
	enum feature_want pmu, sve;
	unsigned int sve_max_vl; /* --sve-vl: the longest vector length, in bits; 0: KVM's */
};

/*
 * KVM_ARM64_SVE_VLS_WORDS (api.rst 4.68, KVM_REG_ARM64_SVE_VLS), spelled out so that this header,
 * and machine.h with it, compiles on any host: the devices' files include machine.h, and their
 * unit tests run natively (vcpu_features.c checks that the two agree).
 */
#define VCPU_SVE_VLS_WORDS 8

struct kvm_vcpu_init;

/* What every vCPU of this boot has. */
struct vcpu_features {
	bool pmu, sve;
	uint64_t sve_vqs[VCPU_SVE_VLS_WORDS]; /* bit vq-1: vector length vq * 128 bits */
};

/* Parse --sve-vl BITS (a multiple of 128 from 128 to 2048); dies with one line if it is not. */
unsigned int vcpu_features_parse_vl(const char *s);

/*
 * Step 0, on the /dev/kvm fd: a feature o requires (FEATURE_ON, or --sve-vl and its vector
 * length) that this host's KVM cannot give, or options that contradict each other, end the VMM
 * with one line before anything is built.
 */
void vcpu_features_check(int kvm, const struct vcpu_feature_options *o);

/*
 * Step 1: decide each feature from what KVM (vm) offers and what o asks, add its bits to init.
 * A default one that KVM lacks is left out with an info line.
 */
void vcpu_features_choose(int vm, const struct vcpu_feature_options *o, struct vcpu_features *f,
			  struct kvm_vcpu_init *init);

/*
 * Step 2, right after KVM_ARM_VCPU_INIT of vCPU index (fd vcpu): with SVE, restrict its vector
 * lengths to --sve-vl and finalise it. Dies with one line if KVM refuses.
 */
void vcpu_features_finalize(int vcpu, unsigned int index, const struct vcpu_feature_options *o,
			    struct vcpu_features *f);

/* Step 3, after the vGIC's init: the PMU's interrupt, then its init. Dies if KVM refuses. */
void vcpu_features_start_pmu(int vcpu, unsigned int index, const struct vcpu_features *f);

#endif
