/* exception.h - what the vector table (vectors.S) hands to C, and IRQ handler registration. */
#ifndef GUEST_EXCEPTION_H
#define GUEST_EXCEPTION_H

#include <stdint.h>

/* The registers vectors.S saves on the stack, in this order; it restores them on return. */
struct exception_frame {
	uint64_t x[31];
	uint64_t elr;
	uint64_t spsr;
	uint64_t pad; /* keeps the frame a multiple of 16 bytes, as SP must be */
};

void exception_set_irq_handler(void (*handler)(void));
void exception_handle(uint64_t vector, struct exception_frame *frame);

#endif
