/*
 * pl011.h - the Arm PrimeCell UART (PL011), as the QEMU virt machine has it at 0x09000000.
 *
 * The model knows registers, its receive FIFO and its interrupt status; the host side (where
 * transmitted bytes go, where received bytes come from, what the interrupt line is wired to) is
 * given to it as callbacks, so the same file serves a polling stage, a threaded one and the unit
 * tests.
 */
#ifndef VELEIRO_PL011_H
#define VELEIRO_PL011_H

#include <stddef.h>
#include <stdint.h>

#include "mmio_bus.h"

#define PL011_SIZE 0x1000UL /* one 4 KiB page of registers (TRM 3.1) */
#define PL011_FIFO_DEPTH 32 /* r1p5: 32-entry FIFOs (TRM 1.1, "Features of the UART") */

/* The host side of the UART: tx and irq_set are required, rx_wanted may be NULL. */
struct pl011_host {
	/* A byte the guest transmitted. */
	void (*tx)(void *ctx, uint8_t byte);
	/*
	 * The receive FIFO has room and the guest may be about to look (it read UARTFR or UARTDR,
	 * or enabled the receiver): a host with input waiting may pl011_receive() it now.
	 */
	void (*rx_wanted)(void *ctx);
	void *ctx;
	/* The combined interrupt line UARTINTR; called only when its level changes. */
	irq_set_fn irq_set;
	void *irq_ctx;
};

struct pl011 {
	struct pl011_host host;
	/* Registers that hold what the guest wrote (TRM 3.3). */
	uint16_t ibrd; /* UARTIBRD */
	uint8_t fbrd; /* UARTFBRD */
	uint8_t lcr_h; /* UARTLCR_H */
	uint16_t cr; /* UARTCR */
	uint8_t ifls; /* UARTIFLS */
	uint16_t imsc; /* UARTIMSC */
	uint8_t ilpr; /* UARTILPR */
	uint8_t dmacr; /* UARTDMACR */
	/* Raw interrupt status, except receive timeout, which is computed (see pl011.c). */
	uint16_t ris;
	/* The receive FIFO: rx_count bytes starting at rx_fifo[rx_head], wrapping around. */
	uint8_t rx_fifo[PL011_FIFO_DEPTH];
	unsigned int rx_head, rx_count;
	int irq_level; /* the level last given to host.irq_set */
	uint64_t ignored; /* guest accesses that matched no register, and were dropped */
};

/* Reset the UART to its power-on state (TRM 3.2, Table 3-1) and connect it to host. */
void pl011_init(struct pl011 *u, const struct pl011_host *host);

/* The struct mmio_device callbacks; opaque is the struct pl011. */
uint64_t pl011_read(void *opaque, uint64_t offset, unsigned int size);
void pl011_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value);
const char *pl011_reg_name(uint64_t offset);

/* How many bytes the receiver takes now: 0 while it is disabled or its FIFO is full. */
size_t pl011_rx_room(const struct pl011 *u);

/* Bytes arriving on the line: takes up to pl011_rx_room() of them; returns how many it took. */
size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t len);

#endif
