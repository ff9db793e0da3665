/*
 * dtb.h - build the flattened device tree (DTB) that describes this machine to Linux.
 *
 * A DTB is how an arm64 OS learns what hardware exists and where (Devicetree Specification
 * v0.4; Linux Documentation/arch/arm64/booting.rst section 2 requires one). The VMM writes it
 * into guest RAM and passes its address in x0. Addresses and interrupts are fixed by the
 * machine layout in memmap.h; what varies per run is described by struct dtb_machine.
 *
 * dtb_build() is this project's function, built on libfdt. The file is called dtb, not fdt,
 * because libfdt.h includes its own <fdt.h>, which a header of that name here would hide.
 */
#ifndef VELEIRO_DTB_H
#define VELEIRO_DTB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

/* Limits of the machine layout, see dtb_build() for where they come from. */
#define DTB_MAX_CPUS_GICV2 8 /* a GICv2 has at most 8 CPU interfaces */
/* The GICv3 redistributors, one frame pair per vCPU from GIC_REDIST_BASE, end before the UART. */
#define DTB_MAX_CPUS_GICV3 ((unsigned int)((PL011_BASE - GIC_REDIST_BASE) / GIC_REDIST_SIZE))
#define DTB_VIRTIO_SLOTS VIRTIO_SLOTS

/* What the device tree describes; everything not here is fixed by the machine layout. */
struct dtb_machine {
	uint64_t ram_base, ram_size; /* the one RAM bank */
	unsigned int ncpus; /* 1..DTB_MAX_CPUS_GICV{2,3} */
	int gic_version; /* 2 or 3, as created in KVM */
	bool psci_1_0; /* KVM offers PSCI 1.0 (else 0.2 is described) */
	bool pmu; /* every CPU has a PMUv3 (an arm,armv8-pmuv3 node) */
	bool its; /* the GICv3 has an ITS at GIC_ITS_BASE (an arm,gic-v3-its node); GICv3 only */
	const char *bootargs; /* kernel command line, or NULL for none */
	uint64_t initrd_start; /* initrd at [start, end) in guest RAM; both 0 = none */
	uint64_t initrd_end;
	const void *rng_seed; /* random bytes for /chosen/rng-seed, or NULL */
	size_t rng_seed_len;
	/*
	 * Called once the machine's own nodes are written (memory, CPUs, PSCI, timer, GIC, the bus
	 * clock) to add the devices' nodes with the functions below, or NULL: no devices. Virtio
	 * slots in ascending order, so that Linux probes slot 0 first (/dev/vda, or hvc0).
	 */
	int (*add_devices)(void *fdt, const void *ctx);
	const void *devices_ctx;
};

/*
 * Write the device tree for m into buf (bufsize bytes, for example the 2 MiB DTB slot in guest
 * RAM). Returns 0, or a negative libfdt error code: fdt_strerror() turns it into a message.
 * -FDT_ERR_NOSPACE: buf is too small; -FDT_ERR_BADVALUE: m is not a machine we can describe;
 * or add_devices' error.
 * The finished blob is fdt_totalsize(buf) bytes long.
 */
int dtb_build(const struct dtb_machine *m, void *buf, size_t bufsize);

/* The devices' nodes, for add_devices. The PL011 at PL011_BASE, which /chosen names. */
int dtb_add_uart(void *fdt);
/* The PL031 at PL031_BASE. */
int dtb_add_rtc(void *fdt);
/* A virtio-mmio transport in virtio slot `slot` (-FDT_ERR_BADVALUE: no such slot). */
int dtb_add_virtio(void *fdt, unsigned int slot);

/* The MPIDR affinity KVM gives vCPU index i, which is also its cpu node's reg. */
uint32_t dtb_cpu_mpidr(unsigned int i);

#endif
