/*
 * memmap.h - what the guest sees of this machine: the guest physical address map, after QEMU's
 * "virt" board, and the interrupt numbers (INTIDs) of its devices. Defined here, once; the rest of
 * the VMM (and the device tree, from stage 08) derives from these.
 *
 *   0x40000000 - ...          RAM (--mem); a raw guest image at +0x80000                stage 02
 *
 * Everything below 0x40000000 that no device claims is unclaimed: an access is an MMIO exit that
 * reads as zero.
 */
#ifndef VELEIRO_MEMMAP_H
#define VELEIRO_MEMMAP_H

#define RAM_BASE 0x40000000UL /* QEMU virt: RAM starts at 1 GiB */
#define IMAGE_OFFSET 0x80000UL /* where QEMU's -kernel loads a raw binary, kept for both */

#endif
