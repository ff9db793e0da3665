/*
 * uart.h - the machine's UART: the PL011 model (pl011.c) with what the machine gives it, the
 * console and an interrupt line.
 */
#ifndef VELEIRO_UART_H
#define VELEIRO_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "pl011.h"

struct uart {
	struct pl011 dev;
	int vm; /* for KVM_IRQ_LINE */
	bool trace;
	uint64_t irq_raised, irq_lowered; /* the edges of its interrupt line, for --stats */
};

#endif
