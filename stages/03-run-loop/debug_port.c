/*
 * debug_port.c - a one-register output device at the PL011's address.
 *
 * A write to offset 0 prints its low byte on stdout; every read returns 0. It is deliberately the
 * part of a PL011 UART (Arm PrimeCell UART TRM, DDI 0183) a polling guest needs to print: UARTDR at
 * offset 0x000 takes the byte, and UARTFR at 0x018 reading 0 means "transmit FIFO not full", so a
 * guest that waits for room never waits. Stage 04 replaces it with the whole UART.
 */
#include <stdio.h>

#include "debug_port.h"

#define DEBUG_PORT_DATA 0x000 /* UARTDR in a real PL011 */

uint64_t debug_port_read(uint64_t offset, unsigned int size)
{
	return 0;
}

void debug_port_write(uint64_t offset, unsigned int size, uint64_t value)
{
	if (offset != DEBUG_PORT_DATA)
		return;
	putchar((int)(value & 0xff));
	fflush(stdout);
}
