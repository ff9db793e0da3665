/*
 * vcpu_features.c - the PMUv3 and SVE for every vCPU, in the order KVM requires (see
 * vcpu_features.h for the steps and where api.rst and devices/vcpu.rst state them).
 *
 * Neither costs exits to this VMM. The guest's PMU register accesses trap to KVM, which backs
 * each counter with a host perf event; overflows come as the PPI KVM injects itself. SVE state
 * is saved and restored by KVM on its own, lazily, when a vCPU thread is scheduled out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "memmap.h"
#include "vcpu_features.h"

_Static_assert(VCPU_SVE_VLS_WORDS == KVM_ARM64_SVE_VLS_WORDS,
	       "the SVE vector-length bitmap's size");

#define SVE_VQ_BITS 128 /* a vector length is a multiple of 128 bits: vq quadwords */
#define SVE_VL_MAX 2048 /* the longest the architecture allows (Arm ARM, SVE's ZCR_EL1.LEN) */

unsigned int vcpu_features_parse_vl(const char *s)
{
	char *end;
	unsigned long bits;

	errno = 0;
	bits = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || bits % SVE_VQ_BITS || bits == 0 ||
	    bits > SVE_VL_MAX)
		die("--sve-vl takes a vector length in bits, a multiple of 128 from 128 to %d, not "
		    "'%s'",
		    SVE_VL_MAX, s);
	return (unsigned int)bits;
}

/* Whether KVM offers cap: asked of /dev/kvm before there is a VM, of the VM once there is. */
static bool offered(int fd, long cap)
{
	return ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0;
}

/* Bit vq-1 of the KVM_REG_ARM64_SVE_VLS words: vector length vq * 128 bits (api.rst). */
static bool vq_set(const uint64_t *vqs, unsigned int vq)
{
	return vqs[(vq - 1) / 64] >> ((vq - 1) % 64) & 1;
}

/* "128, 256, 512": the vector lengths in vqs, in bits. */
static const char *vl_list(const uint64_t *vqs, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int vq = KVM_ARM64_SVE_VQ_MIN; vq <= KVM_ARM64_SVE_VQ_MAX && n < len; vq++)
		if (vq_set(vqs, vq))
			n += (size_t)snprintf(buf + n, len - n, "%s%u", n ? ", " : "",
					      vq * SVE_VQ_BITS);
	return buf;
}

/*
 * The SVE vector lengths KVM offers a vCPU. No capability tells them: only a vCPU's
 * KVM_REG_ARM64_SVE_VLS does, readable between KVM_ARM_VCPU_INIT with SVE and
 * KVM_ARM_VCPU_FINALIZE (api.rst). So this builds a throwaway VM with one vCPU, without memory,
 * reads the register and closes both: the machine itself is built only once the lengths asked
 * for are known to be there. The smallest address space (32 bits) needs nothing of the host.
 */
static void probe_sve_vls(int kvm, uint64_t *vqs)
{
	int type = offered(kvm, KVM_CAP_ARM_VM_IPA_SIZE) ? KVM_VM_TYPE_ARM_IPA_SIZE(32) : 0;
	struct kvm_one_reg reg = { .id = KVM_REG_ARM64_SVE_VLS, .addr = (uint64_t)vqs };
	struct kvm_vcpu_init init;
	int vm, vcpu;

	vm = ioctl(kvm, KVM_CREATE_VM, type);
	if (vm < 0)
		die_errno("KVM_CREATE_VM (to ask which SVE vector lengths KVM offers)");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die_errno("KVM_CREATE_VCPU (to ask which SVE vector lengths KVM offers)");
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die_errno("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_SVE;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		die_errno("KVM_ARM_VCPU_INIT with SVE");
	if (ioctl(vcpu, KVM_GET_ONE_REG, &reg) < 0)
		die_errno("KVM_GET_ONE_REG(KVM_REG_ARM64_SVE_VLS)");
	close(vcpu);
	close(vm);
}

void vcpu_features_check(int kvm, const struct vcpu_feature_options *o)
{
	const char *sve_option = o->sve_max_vl ? "--sve-vl" : "--sve";
	uint64_t vqs[KVM_ARM64_SVE_VLS_WORDS];
	char list[256];

	if (o->sve_max_vl && o->sve == FEATURE_OFF)
		die("--sve-vl and --no-sve contradict each other: give one of them");
	if (o->pmu == FEATURE_ON && !offered(kvm, KVM_CAP_ARM_PMU_V3))
		die("--pmu: this host's KVM offers no PMU (KVM_CAP_ARM_PMU_V3)");
	if ((o->sve == FEATURE_ON || o->sve_max_vl) && !offered(kvm, KVM_CAP_ARM_SVE))
		die("%s: this host's KVM offers no SVE (KVM_CAP_ARM_SVE)", sve_option);
	if (!o->sve_max_vl)
		return;
	probe_sve_vls(kvm, vqs);
	if (!vq_set(vqs, o->sve_max_vl / SVE_VQ_BITS))
		die("--sve-vl %u: this host's KVM offers SVE vector lengths %s bits, not %u",
		    o->sve_max_vl, vl_list(vqs, list, sizeof(list)), o->sve_max_vl);
}

/* One feature the options leave to KVM (or require: then vcpu_features_check() found it). */
static bool choose(int vm, enum feature_want want, long cap, const char *what)
{
	if (want == FEATURE_OFF)
		return false;
	if (offered(vm, cap))
		return true;
	info("this host's KVM offers no %s: the guest runs without it", what);
	return false;
}

void vcpu_features_choose(int vm, const struct vcpu_feature_options *o, struct vcpu_features *f,
			  struct kvm_vcpu_init *init)
{
	*f = (struct vcpu_features){
		.pmu = choose(vm, o->pmu, KVM_CAP_ARM_PMU_V3, "PMU (KVM_CAP_ARM_PMU_V3)"),
		.sve = choose(vm, o->sve, KVM_CAP_ARM_SVE, "SVE (KVM_CAP_ARM_SVE)"),
	};
	if (f->pmu)
		init->features[0] |= 1U << KVM_ARM_VCPU_PMU_V3;
	if (f->sve)
		init->features[0] |= 1U << KVM_ARM_VCPU_SVE;
}

void vcpu_features_finalize(int vcpu, unsigned int index, const struct vcpu_feature_options *o,
			    struct vcpu_features *f)
{
	uint64_t vqs[KVM_ARM64_SVE_VLS_WORDS];
	struct kvm_one_reg reg = { .id = KVM_REG_ARM64_SVE_VLS, .addr = (uint64_t)vqs };
	int feature = KVM_ARM_VCPU_SVE;
	char list[256];

	if (!f->sve)
		return;
	/* What KVM offers this vCPU: every length the host's CPUs all have, up to its limit. */
	if (ioctl(vcpu, KVM_GET_ONE_REG, &reg) < 0)
		die_errno("vCPU %u: KVM_GET_ONE_REG(KVM_REG_ARM64_SVE_VLS)", index);
	if (o->sve_max_vl) {
		unsigned int max_vq = o->sve_max_vl / SVE_VQ_BITS;

		/*
		 * Keep every length up to the maximum (vcpu_features_check() found it offered): a
		 * CPU cannot leave out a shorter length it has, so KVM only takes a set that does
		 * not either.
		 */
		for (unsigned int vq = max_vq + 1; vq <= KVM_ARM64_SVE_VQ_MAX; vq++)
			vqs[(vq - 1) / 64] &= ~(1ULL << ((vq - 1) % 64));
		if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
			die_errno("vCPU %u: KVM_SET_ONE_REG(KVM_REG_ARM64_SVE_VLS)", index);
	}
	if (ioctl(vcpu, KVM_ARM_VCPU_FINALIZE, &feature) < 0)
		die_errno("vCPU %u: KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)", index);
	memcpy(f->sve_vqs, vqs, sizeof(vqs));
	if (index == 0)
		info("SVE on every vCPU: vector lengths %s bits", vl_list(vqs, list, sizeof(list)));
}

void vcpu_features_start_pmu(int vcpu, unsigned int index, const struct vcpu_features *f)
{
	int irq = PMU_INTID;
	struct kvm_device_attr attr = {
		.group = KVM_ARM_VCPU_PMU_V3_CTRL,
		.attr = KVM_ARM_VCPU_PMU_V3_IRQ,
		.addr = (uint64_t)&irq,
	};

	if (!f->pmu)
		return;
	/* A PPI, the same INTID on every vCPU (devices/vcpu.rst 1.1), before INIT (1.2). */
	if (ioctl(vcpu, KVM_SET_DEVICE_ATTR, &attr) < 0)
		die_errno("vCPU %u: KVM_ARM_VCPU_PMU_V3_IRQ (INTID %d)", index, irq);
	attr.attr = KVM_ARM_VCPU_PMU_V3_INIT;
	attr.addr = 0;
	if (ioctl(vcpu, KVM_SET_DEVICE_ATTR, &attr) < 0)
		die_errno("vCPU %u: KVM_ARM_VCPU_PMU_V3_INIT", index);
	if (index == 0)
		info("PMUv3 on every vCPU: overflow interrupt INTID %d", irq);
}
