/*
 * memmap.h - the guest physical address map, after QEMU's "virt" board; every address and
 * interrupt number the guest sees is defined here and nowhere else.
 *
 *   0x00000000 - 0x3fffffff   nothing (an access is an MMIO exit)
 *   0x40000000 - ...          RAM (--mem); a raw guest image is loaded at +0x80000
 */
#ifndef VELEIRO_MEMMAP_H
#define VELEIRO_MEMMAP_H

#define RAM_BASE     0x40000000UL /* QEMU virt: RAM starts at 1 GiB */
#define IMAGE_OFFSET 0x80000UL	  /* where QEMU's -kernel loads a raw binary, kept for both */
#define UART_INTID   33		  /* QEMU virt: the PL011 is SPI 1, level-sensitive */

/*
 * The virtio-mmio slots: our layout, not the virtio spec's (QEMU virt puts 32 slots 0x200 apart):
 * a slot every 4 KiB page, each a 0x200-byte window (registers + configuration).
 */
#define VIRTIO_BASE	   0x0a000000UL
#define VIRTIO_STRIDE	   0x1000UL
#define VIRTIO_WINDOW	   0x200UL
#define VIRTIO_SLOTS	   8
#define VIRTIO_INTID(slot) (48 + (slot)) /* SPI 16 + slot */

#endif
