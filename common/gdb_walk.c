/*
 * gdb_walk.c - the AArch64 stage-1 table walk for EL1&0 (see gdb_walk.h; Arm ARM DDI 0487, D8.2
 * "Translation process" and D8.3 "Translation table descriptor formats"; TCR_EL1 in D19.2).
 *
 * A walk starts at the table TTBR0_EL1 or TTBR1_EL1 points to, chosen by VA bit 55. Each level
 * takes (granule bits - 3) bits of the VA as an index into a table of 8-byte descriptors, from the
 * top: a table descriptor points to the next level's table, a block or page descriptor gives the
 * output address. The granule (4K, 16K or 64K) and the VA size (64 - TnSZ bits) decide how many
 * levels there are and at which one the walk starts: level 0 for 48-bit VAs with 4K pages, level
 * 1 for 39-bit ones, level -1 for 52-bit VAs with 4K pages (FEAT_LPA2, TCR_EL1.DS = 1).
 */
#include <errno.h>

#include "gdb_walk.h"

/* TCR_EL1 fields (D19.2.139). */
#define TCR_T0SZ(t) ((t)&0x3f)
#define TCR_EPD0 (1ULL << 7)
#define TCR_TG0(t) (((t) >> 14) & 3)
#define TCR_T1SZ(t) (((t) >> 16) & 0x3f)
#define TCR_EPD1 (1ULL << 23)
#define TCR_TG1(t) (((t) >> 30) & 3)
#define TCR_IPS(t) (((t) >> 32) & 7)
#define TCR_TBI0 (1ULL << 37)
#define TCR_TBI1 (1ULL << 38)
#define TCR_DS (1ULL << 59)

#define SCTLR_M 1ULL
#define IPS_52 6 /* TCR_EL1.IPS = 0b110: 52-bit physical addresses */

/* Bits hi..lo set. */
static uint64_t bits(unsigned int hi, unsigned int lo)
{
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

/* The granule's size as a power of two, from TG0's or TG1's encoding (they differ). */
static unsigned int granule_bits(uint64_t tcr, int upper)
{
	if (upper) {
		static const unsigned int tg1[4] = { 12, 14, 12, 16 }; /* 0b00 is reserved: 4K */
		return tg1[TCR_TG1(tcr)];
	}
	static const unsigned int tg0[4] = { 12, 16, 14, 12 }; /* 0b11 is reserved: 4K */
	return tg0[TCR_TG0(tcr)];
}

/*
 * The output address in a table, block or page descriptor, or in a TTBR (D8.3.1): bits 47 down to
 * the granule, plus bits 51:48 (or 51:50) where 52-bit addresses keep them.
 */
static uint64_t output_address(uint64_t desc, unsigned int g, int ds, int pa52)
{
	if (ds) /* 4K and 16K with FEAT_LPA2: OA[51:50] in bits 9:8, OA[49:g] in place */
		return (desc & bits(49, g)) | ((desc >> 8) & 3) << 50;
	if (pa52 && g == 16) /* 64K with FEAT_LPA: OA[51:48] in bits 15:12 */
		return (desc & bits(47, g)) | ((desc >> 12) & 0xf) << 48;
	return desc & bits(47, g);
}

int gdb_walk(const struct guest_mem *ram, const struct gdb_mmu *mmu, uint64_t va, uint64_t *pa,
	     uint64_t *span)
{
	uint64_t tcr = mmu->tcr;

	if (!(mmu->sctlr & SCTLR_M)) {
		/* MMU off: flat, and a "page" ends every 4 KiB for the callers' loop. */
		*pa = va;
		*span = 0x1000 - (va & 0xfff);
		return 0;
	}

	int upper = (va >> 55) & 1;
	unsigned int tsz = upper ? TCR_T1SZ(tcr) : TCR_T0SZ(tcr);
	int tbi = upper ? !!(tcr & TCR_TBI1) : !!(tcr & TCR_TBI0);
	unsigned int g = granule_bits(tcr, upper);
	int ds = (tcr & TCR_DS) && g != 16;
	int pa52 = TCR_IPS(tcr) == IPS_52;

	if (tcr & (upper ? TCR_EPD1 : TCR_EPD0))
		return -EFAULT; /* walks of this half are disabled: every access faults */
	/* Out-of-range sizes are treated as the nearest allowed one (D8.1.5 allows that choice). */
	if (tsz < 12)
		tsz = 12;
	if (tsz < 16 && !ds && !(pa52 && g == 16))
		tsz = 16;
	if (tsz > 48)
		tsz = 48;
	unsigned int ia = 64 - tsz;

	/* The bits above the VA size must all equal bit 55; the top byte is ignored with TBI. */
	uint64_t top = bits(63, ia) & (tbi ? bits(55, 0) : ~0ULL);
	if ((va & top) != (upper ? top : 0))
		return -EFAULT;

	unsigned int stride = g - 3;
	int first = 4 - (int)((ia - g + stride - 1) / stride);
	uint64_t ttbr = upper ? mmu->ttbr1 : mmu->ttbr0;
	/* The first table holds 2^(ia - shift) descriptors, aligned to its size (at least 64). */
	unsigned int shift = g + stride * (unsigned int)(3 - first);
	unsigned int align = ia - shift + 3 < 6 ? 6 : ia - shift + 3;
	uint64_t table = ttbr & bits(47, align);
	uint64_t desc;
	int level;

	if (ds || (pa52 && g == 16))
		table |= ((ttbr >> 2) & 0xf) << 48; /* TTBR BADDR[51:48] in bits 5:2 */

	for (level = first;; level++) {
		shift = g + stride * (unsigned int)(3 - level);
		unsigned int nbits = level == first ? ia - shift : stride;
		uint64_t index = (va >> shift) & ((1ULL << nbits) - 1);

		if (guest_read_u64(ram, table + index * 8, &desc))
			return -ENXIO;
		if (!(desc & 1))
			return -EFAULT; /* invalid */
		if (level == 3) {
			if (!(desc & 2))
				return -EFAULT; /* 0b01 at level 3 is reserved, which faults */
			break;
		}
		if (!(desc & 2))
			break; /* a block */
		table = output_address(desc, g, ds, pa52); /* a table: the next level's */
	}
	/*
	 * A block (D8.3.1): 1G and 2M with 4K pages (512G at level 0 with DS), 32M with 16K (64G at
	 * level 1 with DS), 512M with 64K (4T at level 1 with 52-bit PAs). Anywhere else a block
	 * descriptor is reserved, and faults.
	 */
	int lowest_block = g == 12 ? (ds ? 0 : 1) : (ds || (g == 16 && pa52) ? 1 : 2);
	if (level < lowest_block)
		return -EFAULT;

	uint64_t offset = va & bits(shift - 1, 0);
	*pa = (output_address(desc, g, ds, pa52) & ~bits(shift - 1, 0)) | offset;
	*span = (1ULL << shift) - offset;
	return 0;
}
