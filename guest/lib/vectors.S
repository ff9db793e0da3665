/*
 * vectors.S - the EL1 exception vector table (Arm ARM DDI 0487, "Exception vectors").
 *
 * VBAR_EL1 points at a 2 KiB-aligned table of 16 entries, 128 bytes each: for each of 4 sources
 * (EL1 with SP_EL0, EL1 with SP_EL1, lower EL in AArch64, lower EL in AArch32) one entry per kind
 * (synchronous, IRQ, FIQ, SError). Every entry saves x0/x1, puts its own number 0-15 in x0 and
 * joins exception_entry, which saves the rest of the interrupted state on the stack as a struct
 * exception_frame, calls exception_handle(number, frame), restores everything and returns
 * with ERET.
 */
#define FRAME_SIZE	(34 * 8)	/* sizeof(struct exception_frame) */
#define FRAME_ELR	(31 * 8)	/* offsetof(struct exception_frame, elr) */
#define FRAME_SPSR	(32 * 8)	/* offsetof(struct exception_frame, spsr) */

.macro	vector number
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x0, #\number
	b	exception_entry
.endm

	.section .text.vectors, "ax"
	.balign	2048
	.global	exception_vectors
exception_vectors:
	vector	0		// EL1 with SP_EL0: synchronous
	vector	1		//                  IRQ
	vector	2		//                  FIQ
	vector	3		//                  SError
	vector	4		// EL1 with SP_EL1: synchronous
	vector	5		//                  IRQ
	vector	6		//                  FIQ
	vector	7		//                  SError
	vector	8		// EL0 in AArch64:  synchronous
	vector	9		//                  IRQ
	vector	10		//                  FIQ
	vector	11		//                  SError
	vector	12		// EL0 in AArch32:  synchronous
	vector	13		//                  IRQ
	vector	14		//                  FIQ
	vector	15		//                  SError

exception_entry:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	str	x30, [sp, #240]
	mrs	x2, elr_el1		// where the interrupted code resumes
	mrs	x3, spsr_el1		// its PSTATE
	stp	x2, x3, [sp, #FRAME_ELR]

	mov	x1, sp			// x0 = vector number, x1 = the frame
	bl	exception_handle

	ldp	x2, x3, [sp, #FRAME_ELR] // restore them: a nested exception may have changed them
	msr	elr_el1, x2
	msr	spsr_el1, x3
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	ldp	x0, x1, [sp]
	add	sp, sp, #FRAME_SIZE
	eret
