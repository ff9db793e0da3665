/* gic.h - the Arm Generic Interrupt Controller, version 2 or 3, found at run time (see gic.c). */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H

#include <stdint.h>

#define GIC_INTID_SPURIOUS 1020 /* INTIDs 1020-1023 are special: no interrupt to handle */

enum gic_trigger {
	GIC_LEVEL, /* asserted while the device's line is high */
	GIC_EDGE, /* asserted once per rising edge */
};

int gic_init(void);
void gic_set_trigger(unsigned int intid, enum gic_trigger trigger);
void gic_enable_irq(unsigned int intid);
void gic_disable_irq(unsigned int intid);
uint32_t gic_ack(void);
unsigned int gic_intid(uint32_t ack);
void gic_eoi(uint32_t ack);

#endif
