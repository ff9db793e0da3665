/*
 * options.h - what the command line asks of this stage; options.c reads it.
 */
#ifndef VELEIRO_OPTIONS_H
#define VELEIRO_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "memmap.h"
#include "vcpu_features.h"

struct disk_option {
	const char *path; /* the file, without ",ro" */
	bool read_only;
};

struct options {
	uint64_t ram_size;
	const char *kernel; /* an arm64 Image, or a raw bare-metal binary */
	const char *firmware; /* NULL, or firmware started as QEMU virt starts it (no kernel) */
	const char *initrd; /* NULL: none */
	const char *cmdline; /* the kernel command line */
	const char *dtb_out; /* NULL, or where to save the device tree */
	int gic_version; /* 2 or 3; 0: 3 if the host can, else 2 */
	unsigned int ncpus;
	struct disk_option disks[VIRTIO_SLOTS]; /* in slots 0.. */
	unsigned int ndisks;
	bool virtio_console; /* in the slot after the last disk */
	bool no_reboot;
	bool no_ioeventfd; /* virtio by MMIO exits and KVM_IRQ_LINE, as in stage 07 */
	bool no_coalesced_mmio; /* an MMIO exit for every byte the PL011 sends, as in stage 04 */
	bool no_its; /* no GICv3 ITS, even where KVM offers one */
	bool trace;
	bool stats;
	struct vcpu_feature_options features; /* --pmu, --no-pmu, --sve, --no-sve, --sve-vl */
};

/* Fill o from argv; a mistake gets one line on stderr and a non-zero exit. */
void options_parse(int argc, char **argv, struct options *o);

#endif
