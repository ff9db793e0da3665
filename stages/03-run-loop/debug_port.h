/*
 * debug_port.h - the simplest possible device: bytes written to it appear on our stdout.
 */
#ifndef VELEIRO_DEBUG_PORT_H
#define VELEIRO_DEBUG_PORT_H

#include <stdint.h>

uint64_t debug_port_read(uint64_t offset, unsigned int size);
void debug_port_write(uint64_t offset, unsigned int size, uint64_t value);

#endif
