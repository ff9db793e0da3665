/*
 * uart.h - the machine's UART: the PL011 model (pl011.c) wired to the console (console.c), to SPI 1
 * of the vGIC, and to the machine lock that every thread touching it holds.
 */
#ifndef VELEIRO_UART_H
#define VELEIRO_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "mmio_bus.h"
#include "pl011.h"

struct uart {
	struct pl011 dev;
	int vm; /* this boot's VM, for KVM_IRQ_LINE */
	bool trace;
	uint64_t irq_raised, irq_lowered; /* this boot's edges of SPI 1, for --stats */
};

/*
 * Each boot, with lock held: reset the PL011 and put it on the bus at PL011_BASE behind lock (the
 * vCPUs' MMIO exits and the console's input thread both reach it), its bytes going to console, its
 * interrupt on vm's SPI 1; trace: a line for each edge.
 */
void uart_attach(struct uart *u, struct mmio_bus *bus, pthread_mutex_t *lock,
		 struct console *console, int vm, bool trace);

/* The console's input into the UART's receive FIFO (a console_deliver_fn; device: the uart). */
size_t uart_deliver(void *device, const uint8_t *buf, size_t len);

#endif
