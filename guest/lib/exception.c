/*
 * exception.c - where the vector table (vectors.S) calls into C (Arm ARM DDI 0487, "Exception
 * vectors" and "ESR_EL1, Exception Syndrome Register (EL1)").
 *
 * IRQs taken at EL1 go to the handler the guest registered. Anything else is a bug in the guest
 * (or a VMM answering an access the guest did not expect): report the syndrome, the faulting
 * instruction and address, and power off instead of running on.
 */
#include <stdint.h>

#include "cpu.h"
#include "exception.h"
#include "printf.h"
#include "psci.h"

/* vectors.S numbers its 16 entries 0-15: 4 sources of 4 kinds each (see exception_sources). */
#define VECTOR_KIND(v) ((v) % 4)
#define VECTOR_SOURCE(v) ((v) / 4)
#define VECTOR_SYNC 0 /* kind: synchronous exception */
#define VECTOR_IRQ 1 /* kind: IRQ */
#define VECTOR_SERROR 3 /* kind: SError */
#define VECTOR_EL1_SPX 1 /* source: EL1 using SP_EL1, the state these guests always run in */

#define ESR_EC_SHIFT 26 /* ESR_EL1 bits [31:26]: Exception Class */

static const char *const exception_kinds[] = { "synchronous", "IRQ", "FIQ", "SError" };
static const char *const exception_sources[] = { "EL1 using SP_EL0", "EL1 using SP_EL1",
						 "EL0 in AArch64", "EL0 in AArch32" };

static void (*exception_irq_handler)(void);

/* Call handler for every IRQ; it must acknowledge the interrupt at the GIC. */
void exception_set_irq_handler(void (*handler)(void))
{
	exception_irq_handler = handler;
}

/* Names for the exception classes a bare-metal guest is likely to meet. */
static const char *exception_class_name(uint64_t ec)
{
	switch (ec) {
	case 0x00:
		return "unknown reason (undefined instruction?)";
	case 0x07:
		return "SIMD/FP access trapped";
	case 0x0e:
		return "illegal execution state";
	case 0x15:
		return "SVC";
	case 0x18:
		return "system register access trapped";
	case 0x21:
		return "instruction abort";
	case 0x22:
		return "PC alignment fault";
	case 0x25:
		return "data abort";
	case 0x26:
		return "SP alignment fault";
	case 0x2f:
		return "SError";
	case 0x3c:
		return "BRK instruction";
	default:
		return "see the ESR_EL1 EC table in the Arm ARM";
	}
}

/* FAR_EL1 holds the faulting address only for aborts and PC alignment faults. */
static int exception_has_far(uint64_t ec)
{
	switch (ec) {
	case 0x20: /* instruction abort from a lower EL */
	case 0x21: /* instruction abort */
	case 0x22: /* PC alignment fault */
	case 0x24: /* data abort from a lower EL */
	case 0x25: /* data abort */
		return 1;
	default:
		return 0;
	}
}

void exception_handle(uint64_t vector, struct exception_frame *frame)
{
	uint64_t kind = VECTOR_KIND(vector);

	if (kind == VECTOR_IRQ && VECTOR_SOURCE(vector) == VECTOR_EL1_SPX &&
	    exception_irq_handler) {
		exception_irq_handler();
		return;
	}

	printf("\nguest: unexpected %s exception from %s\n", exception_kinds[kind],
	       exception_sources[VECTOR_SOURCE(vector)]);
	if (kind == VECTOR_SYNC || kind == VECTOR_SERROR) {
		uint64_t esr = read_sysreg(esr_el1);
		uint64_t ec = (esr >> ESR_EC_SHIFT) & 0x3f;

		printf("  ESR_EL1  = 0x%lx (EC 0x%lx: %s)\n", esr, ec, exception_class_name(ec));
		if (exception_has_far(ec))
			printf("  FAR_EL1  = 0x%lx\n", read_sysreg(far_el1));
	}
	printf("  ELR_EL1  = 0x%lx\n", frame->elr);
	printf("  SPSR_EL1 = 0x%lx\n", frame->spsr);
	psci_system_off();
}
