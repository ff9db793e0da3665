/*
 * fuzz_gdb.c - libFuzzer over what gdb sends the stub: the input's bytes go, one at a time, through
 * the RSP framing (common/gdb_packet.c), and every packet that completes is answered
 * (common/gdb_proto.c) by a target whose memory reads and writes walk page tables
 * (common/gdb_walk.c) held in a small guest RAM. The input's first 32 bytes are the MMU's
 * registers (SCTLR, TCR, TTBR0, TTBR1) and the rest is the byte stream from gdb; the same bytes
 * also fill guest RAM, so the fuzzer builds hostile page tables while it writes packets.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "gdb_packet.h"
#include "gdb_proto.h"
#include "gdb_walk.h"

#define RAM_GPA 0x40000000ULL
#define RAM_SIZE 0x4000
#include "fuzz_input.h"

static uint8_t ram_bytes[RAM_SIZE];
static struct guest_mem ram = { .gpa = RAM_GPA, .size = RAM_SIZE, .host = ram_bytes };
static struct gdb_mmu mmu;
static uint8_t regs[GDB_NREGS][16];

static unsigned int f_threads(void *ctx)
{
	return 4;
}

static int f_get_reg(void *ctx, unsigned int t, unsigned int r, uint8_t *buf)
{
	if (t == 0 || t > 4 || r >= GDB_NREGS)
		__builtin_trap(); /* gdb_proto.c must have checked */
	memcpy(buf, regs[r], gdb_reg_size(r));
	return 0;
}

static int f_set_reg(void *ctx, unsigned int t, unsigned int r, const uint8_t *buf)
{
	if (t == 0 || t > 4 || r >= GDB_NREGS)
		__builtin_trap();
	memcpy(regs[r], buf, gdb_reg_size(r));
	return 0;
}

/* As the stub's own: page by page through the walker, stopping at the first unmapped byte. */
static size_t f_mem(uint64_t addr, uint8_t *buf, size_t len, int write)
{
	size_t done = 0;

	while (done < len) {
		uint64_t pa, span;

		if (gdb_walk(&ram, &mmu, addr + done, &pa, &span))
			break;
		if (span == 0)
			__builtin_trap();
		size_t n = span < len - done ? (size_t)span : len - done;
		uint8_t *host = guest_ptr(&ram, pa, n);
		if (!host)
			break;
		if (write)
			memcpy(host, buf + done, n);
		else
			memcpy(buf + done, host, n);
		done += n;
	}
	return done;
}

static size_t f_read_mem(void *ctx, unsigned int t, uint64_t addr, uint8_t *buf, size_t len)
{
	return f_mem(addr, buf, len, 0);
}

static size_t f_write_mem(void *ctx, unsigned int t, uint64_t addr, const uint8_t *buf, size_t len)
{
	return f_mem(addr, (uint8_t *)buf, len, 1);
}

static int f_breakpoint(void *ctx, unsigned int t, enum gdb_bp_type type, bool insert,
			uint64_t addr, uint64_t kind)
{
	return type == GDB_BP_SW && !insert ? -ENOSPC : 0;
}

static void f_resume(void *ctx, unsigned int step)
{
	if (step > 4)
		__builtin_trap();
}

static const struct gdb_target target = { .threads = f_threads,
					  .get_reg = f_get_reg,
					  .set_reg = f_set_reg,
					  .read_mem = f_read_mem,
					  .write_mem = f_write_mem,
					  .breakpoint = f_breakpoint,
					  .resume = f_resume };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gdb_rx rx;
	static struct gdb_tx tx;
	struct gdb_stop stop = { .thread = 1, .signal = 5 };
	struct gdb_session s;
	size_t off = 32;

	mmu = (struct gdb_mmu){ .sctlr = get_le(data, size, 0, 8),
				.tcr = get_le(data, size, 8, 8),
				.ttbr0 = get_le(data, size, 16, 8),
				.ttbr1 = get_le(data, size, 24, 8) };
	memset(ram_bytes, 0, sizeof(ram_bytes));
	memcpy(ram_bytes, data, size < RAM_SIZE ? size : RAM_SIZE);
	gdb_rx_init(&rx);
	gdb_session_init(&s, &stop);
	for (size_t i = off; i < size; i++) {
		if (gdb_rx_byte(&rx, data[i]) != GDB_RX_PACKET)
			continue;
		if (rx.len > GDB_PACKET_MAX || rx.buf[rx.len] != 0)
			__builtin_trap();
		gdb_handle(&s, &target, rx.buf, rx.len, &tx);
		if (tx.len >= sizeof(tx.buf))
			__builtin_trap();
	}
	return 0;
}
