/* unit-test sources: */
/*
 * test_gdb.c - the gdb stub's host-testable parts: the RSP framing (common/gdb_packet.c), the
 * packets against a fake target (common/gdb_proto.c), and the stage-1 table walk
 * (common/gdb_walk.c) over every granule, block sizes, bad descriptors and tables outside RAM.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gdb_packet.h"
#include "gdb_proto.h"
#include "gdb_walk.h"

/* Feed a string; the last event, and how many packets completed. */
static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s, size_t n, int *packets)
{
	enum gdb_rx_event ev = GDB_RX_NONE, last = GDB_RX_NONE;

	for (size_t i = 0; i < n; i++) {
		ev = gdb_rx_byte(rx, (uint8_t)s[i]);
		if (ev != GDB_RX_NONE)
			last = ev;
		if (ev == GDB_RX_PACKET && packets)
			++*packets;
	}
	return last;
}

static void test_framing(void)
{
	struct gdb_rx rx;
	struct gdb_tx tx;
	int packets = 0;

	gdb_rx_init(&rx);
	CHECK_EQ(feed(&rx, "$g#67", 5, &packets), GDB_RX_PACKET);
	CHECK_STR(rx.buf, "g");
	CHECK_EQ(feed(&rx, "$g#68", 5, NULL), GDB_RX_BAD);
	CHECK_EQ(feed(&rx, "$g#6z", 5, NULL), GDB_RX_BAD);
	CHECK_EQ(feed(&rx, "\x03", 1, NULL), GDB_RX_INTERRUPT);
	CHECK_EQ(feed(&rx, "+", 1, NULL), GDB_RX_ACK);
	CHECK_EQ(feed(&rx, "-", 1, NULL), GDB_RX_NAK);
	/* An escaped '#' (} then '#' ^ 0x20 = 0x03) inside a binary packet. */
	CHECK_EQ(feed(&rx, "$X}\x03#d8", 8, NULL), GDB_RX_PACKET);
	CHECK_EQ(rx.len, 2);
	CHECK_EQ((uint8_t)rx.buf[1], '#');
	/* A '$' restarts: the first packet was abandoned. */
	CHECK_EQ(feed(&rx, "$qfoo$g#67", 10, NULL), GDB_RX_PACKET);
	CHECK_STR(rx.buf, "g");

	/* A huge body: dropped whole and NAKed, nothing written past the buffer. */
	size_t big = GDB_PACKET_MAX * 3;
	char *p = malloc(big + 4);
	p[0] = '$';
	memset(p + 1, 'a', big - 1);
	memcpy(p + big, "#00", 3);
	CHECK_EQ(feed(&rx, p, big + 3, NULL), GDB_RX_BAD);
	free(p);
	CHECK_EQ(feed(&rx, "$g#67", 5, NULL), GDB_RX_PACKET);

	/* Replies: checksums and escapes. */
	gdb_tx_packet(&tx, "OK");
	CHECK_STR(tx.buf, "$OK#9a");
	gdb_tx_begin(&tx);
	gdb_tx_bytes(&tx, "a#b", 3);
	gdb_tx_end(&tx);
	CHECK_STR(tx.buf, "$a}\x03"
			  "b#43");
	/* What does not fit marks the reply as overflowed, within the buffer. */
	gdb_tx_begin(&tx);
	for (int i = 0; i < 3 * GDB_PACKET_MAX; i++)
		gdb_tx_str(&tx, "#");
	gdb_tx_end(&tx);
	CHECK(tx.overflow);
	CHECK(tx.len < sizeof(tx.buf));

	const char *s = "ffffffffffffffff,";
	uint64_t v;
	CHECK_EQ(gdb_hex_u64(&s, &v), 0);
	CHECK_EQ(v, ~0ULL);
	CHECK_EQ(*s, ',');
	s = "10000000000000000";
	CHECK_EQ(gdb_hex_u64(&s, &v), -1);
	s = "x";
	CHECK_EQ(gdb_hex_u64(&s, &v), -1);
	uint8_t b[2];
	CHECK_EQ(gdb_unhex("0aFf", 2, b), 0);
	CHECK_EQ(b[1], 0xff);
	CHECK_EQ(gdb_unhex("0", 1, b), -1);
}

/* A fake target: two threads, registers in arrays, 64 KiB of flat memory at 0x1000. */
static struct fake {
	uint8_t regs[3][GDB_NREGS][16];
	uint8_t mem[0x10000];
	int bps, resumed_step, resumes;
} fk;

static unsigned int f_threads(void *ctx)
{
	return 2;
}
static int f_get_reg(void *ctx, unsigned int t, unsigned int r, uint8_t *buf)
{
	if (r == GDB_REG_FPCR)
		return -EINVAL; /* one unreadable register */
	memcpy(buf, fk.regs[t][r], gdb_reg_size(r));
	return 0;
}
static int f_set_reg(void *ctx, unsigned int t, unsigned int r, const uint8_t *buf)
{
	memcpy(fk.regs[t][r], buf, gdb_reg_size(r));
	return 0;
}
static size_t f_mem(uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	if (addr < 0x1000 || addr >= 0x1000 + sizeof(fk.mem))
		return 0;
	size_t n = 0x1000 + sizeof(fk.mem) - addr < len ? 0x1000 + sizeof(fk.mem) - addr : len;
	if (write)
		memcpy(fk.mem + addr - 0x1000, buf, n);
	else
		memcpy(buf, fk.mem + addr - 0x1000, n);
	return n;
}
static size_t f_read_mem(void *ctx, unsigned int t, uint64_t addr, uint8_t *buf, size_t len)
{
	return f_mem(addr, buf, len, false);
}
static size_t f_write_mem(void *ctx, unsigned int t, uint64_t addr, const uint8_t *buf, size_t len)
{
	return f_mem(addr, (uint8_t *)buf, len, true);
}
static int f_breakpoint(void *ctx, unsigned int t, enum gdb_bp_type type, bool insert,
			uint64_t addr, uint64_t kind)
{
	if (insert && fk.bps == 2)
		return -ENOSPC;
	fk.bps += insert ? 1 : -1;
	return 0;
}
static void f_resume(void *ctx, unsigned int step)
{
	fk.resumes++;
	fk.resumed_step = (int)step;
}

static const struct gdb_target fake = { .threads = f_threads,
					.get_reg = f_get_reg,
					.set_reg = f_set_reg,
					.read_mem = f_read_mem,
					.write_mem = f_write_mem,
					.breakpoint = f_breakpoint,
					.resume = f_resume };

/* The reply's body to packet body pkt, without $ and #cc. */
static const char *ask(struct gdb_session *s, const char *pkt, enum gdb_action *a)
{
	static struct gdb_tx tx;
	static char body[sizeof(tx.buf)];

	tx.len = 0;
	enum gdb_action act = gdb_handle(s, &fake, pkt, strlen(pkt), &tx);
	if (a)
		*a = act;
	if (tx.len < 4)
		return "";
	memcpy(body, tx.buf + 1, tx.len - 4);
	body[tx.len - 4] = 0;
	return body;
}

static void test_packets(void)
{
	struct gdb_stop stop = { .thread = 1, .signal = 5 };
	struct gdb_session s;
	enum gdb_action a;

	gdb_session_init(&s, &stop);
	CHECK_STR(ask(&s, "?", NULL), "T05thread:1;");
	CHECK(strstr(ask(&s, "qSupported:multiprocess+;xmlRegisters=i386", NULL),
		     "qXfer:features:read+"));
	CHECK_STR(ask(&s, "qfThreadInfo", NULL), "m1,2");
	CHECK_STR(ask(&s, "qsThreadInfo", NULL), "l");
	CHECK_STR(ask(&s, "qThreadExtraInfo,2", NULL), "764350552031"); /* "vCPU 1" */
	CHECK_STR(ask(&s, "qThreadExtraInfo,3", NULL), "E16");
	CHECK_STR(ask(&s, "Hg3", NULL), "E16");
	CHECK_STR(ask(&s, "Hg2", NULL), "OK");
	CHECK_STR(ask(&s, "qC", NULL), "QC2");
	CHECK_STR(ask(&s, "T2", NULL), "OK");
	CHECK_STR(ask(&s, "T0", NULL), "E16");

	/* The target description, read in pieces as gdb does. */
	const char *x = ask(&s, "qXfer:features:read:target.xml:0,40", NULL);
	CHECK(x[0] == 'm' && strlen(x) == 0x41);
	static char whole[16384];
	size_t got = 0;
	for (int i = 0; i < 16 && x[0] == 'm'; i++) {
		char req[64];

		snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,ffff", got);
		x = ask(&s, req, NULL);
		CHECK(strlen(x) - 1 <= GDB_PACKET_MAX / 2);
		memcpy(whole + got, x + 1, strlen(x) - 1);
		got += strlen(x) - 1;
	}
	CHECK_EQ(x[0], 'l');
	CHECK(strstr(whole, "org.gnu.gdb.aarch64.fpu") && strstr(whole, "name=\"v31\"") &&
	      strstr(whole, "</target>"));
	CHECK_STR(ask(&s, "qXfer:features:read:target.xml:100000,10", NULL), "l");
	CHECK_STR(ask(&s, "qXfer:features:read:other.xml:0,10", NULL), "E02");

	/* Registers of thread 2: P then p, g with an unreadable fpcr. */
	CHECK_STR(ask(&s, "P20=0800084000000000", NULL), "OK");
	CHECK_EQ(fk.regs[2][GDB_REG_PC][3], 0x40);
	CHECK_STR(ask(&s, "p20", NULL), "0800084000000000");
	CHECK_STR(ask(&s, "p44", NULL), "E16");
	CHECK_STR(ask(&s, "P20=08", NULL), "E16");
	const char *g = ask(&s, "g", NULL);
	CHECK_EQ(strlen(g), 2 * (33 * 8 + 4 + 32 * 16 + 4 + 4));
	CHECK_STR(g + strlen(g) - 8, "xxxxxxxx");
	CHECK_STR(ask(&s, "G00", NULL), "OK");

	/* Memory: reads cut to what a reply carries, partial at the end, errors where nothing is. */
	fk.mem[0] = 0xab;
	CHECK_STR(ask(&s, "m1000,2", NULL), "ab00");
	CHECK_EQ(strlen(ask(&s, "m1000,ffffffff", NULL)), 2 * (GDB_PACKET_MAX / 2 - 16));
	CHECK_EQ(strlen(ask(&s, "m10ffe,10", NULL)), 4);
	CHECK_STR(ask(&s, "m0,4", NULL), "E0e");
	CHECK_STR(ask(&s, "m1000", NULL), "E16");
	CHECK_STR(ask(&s, "M1000,2:cdef", NULL), "OK");
	CHECK_EQ(fk.mem[1], 0xef);
	CHECK_STR(ask(&s, "M1000,2:cd", NULL), "E16");
	CHECK_STR(ask(&s, "M0,1:00", NULL), "E0e");
	CHECK_STR(ask(&s, "X1000,1:$", NULL), "OK");
	CHECK_EQ(fk.mem[0], '$');
	CHECK_STR(ask(&s, "X1000,ffffffffff:", NULL), "E16");

	/* Breakpoints: more than the target has is an error reply. */
	CHECK_STR(ask(&s, "Z1,40080000,4", NULL), "OK");
	CHECK_STR(ask(&s, "Z2,40080000,4", NULL), "OK");
	CHECK_STR(ask(&s, "Z1,40080004,4", NULL), "E1c");
	CHECK_STR(ask(&s, "z1,40080000,4", NULL), "OK");
	CHECK_STR(ask(&s, "Z9,0,4", NULL), "E16");
	CHECK_STR(ask(&s, "Z0,0", NULL), "E16");

	/* Resuming: no reply until the stop; s steps the thread Hc names. */
	CHECK_STR(ask(&s, "Hc2", NULL), "OK");
	ask(&s, "s", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 2);
	ask(&s, "c", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 0);
	CHECK_STR(ask(&s, "czz", &a), "E16");
	CHECK_EQ(a, GDB_REPLY);
	/* Hc "any thread", as gdb sends it: s steps the thread Hg chose (`thread 2` in gdb). */
	CHECK_STR(ask(&s, "Hc0", NULL), "OK");
	CHECK_STR(ask(&s, "Hg2", NULL), "OK");
	ask(&s, "s", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 2);
	CHECK_STR(ask(&s, "Hg1", NULL), "OK");
	ask(&s, "s", NULL);
	CHECK_EQ(fk.resumed_step, 1);
	/* vCont names the thread to step; without one, every thread continues. */
	CHECK_STR(ask(&s, "vCont?", NULL), "vCont;c;C;s;S");
	ask(&s, "vCont;s:2;c", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 2);
	ask(&s, "vCont;c", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 0);
	ask(&s, "vCont;S05:2;C02", &a);
	CHECK_EQ(a, GDB_RESUMED);
	CHECK_EQ(fk.resumed_step, 2);
	ask(&s, "vCont;s", NULL);
	CHECK_EQ(fk.resumed_step, 1);
	fk.resumed_step = -1;
	CHECK_STR(ask(&s, "vCont;s:3;c", &a), "E16");
	CHECK_EQ(a, GDB_REPLY);
	CHECK_STR(ask(&s, "vCont;", NULL), "E16");
	CHECK_STR(ask(&s, "vCont;t:1", NULL), "E16");
	CHECK_STR(ask(&s, "vCont;S", NULL), "E16");
	CHECK_STR(ask(&s, "vCont;c:1x", NULL), "E16");
	CHECK_STR(ask(&s, "vCont", NULL), "E16");
	CHECK_STR(ask(&s, "vCont;c;", NULL), "E16");
	CHECK_EQ(fk.resumed_step, -1);
	struct gdb_tx tx;
	stop = (struct gdb_stop){ .thread = 2, .signal = 5, .watch = GDB_WP_WRITE, .addr = 0x1234 };
	gdb_stop_reply(&s, &stop, &tx);
	CHECK(strstr(tx.buf, "T05thread:2;watch:1234;"));
	CHECK_STR(ask(&s, "?", NULL), "T05thread:2;watch:1234;");

	CHECK_STR(ask(&s, "vMustReplyEmpty", NULL), "");
	CHECK_STR(ask(&s, "QStartNoAckMode", NULL), "OK");
	CHECK(s.no_ack);
	CHECK_STR(ask(&s, "D", &a), "OK");
	CHECK_EQ(a, GDB_DETACH);
	/* vKill is answered OK before the end (gdb waits for it); k has no reply at all. */
	CHECK_STR(ask(&s, "vKill;a410", &a), "OK");
	CHECK_EQ(a, GDB_KILL);
	CHECK_EQ(gdb_handle(&s, &fake, "k", 1, &tx), GDB_KILL);
	CHECK_EQ(tx.len, 0);
}

/* --- the walker: page tables built in a small RAM ------------------------------------------- */

#define RAM_GPA 0x40000000ULL
static uint8_t ram_bytes[1 << 20];
static struct guest_mem ram = { .gpa = RAM_GPA, .size = sizeof(ram_bytes), .host = ram_bytes };

static void put_desc(uint64_t table, uint64_t index, uint64_t desc)
{
	memcpy(ram_bytes + (table - RAM_GPA) + index * 8, &desc, 8);
}

/* TCR_EL1 for TTBR0 with granule g (12, 14, 16) and va_bits, TTBR1 the same. */
static uint64_t tcr_for(unsigned int g, unsigned int va_bits)
{
	uint64_t tg0 = g == 12 ? 0 : g == 16 ? 1 : 2, tg1 = g == 12 ? 2 : g == 16 ? 3 : 1;
	uint64_t tsz = 64 - va_bits;

	return tsz | tg0 << 14 | tsz << 16 | tg1 << 30 | 5ULL << 32;
}

/* A full walk to a page with granule g and va_bits, for an address in the low or high half. */
static void walk_pages(unsigned int g, unsigned int va_bits, bool upper)
{
	unsigned int stride = g - 3;
	int first = 4 - (int)((va_bits - g + stride - 1) / stride);
	uint64_t gsize = 1ULL << g, next = RAM_GPA + 4 * gsize, va = upper ? ~0ULL << va_bits : 0;
	uint64_t root = RAM_GPA + gsize, table = root, target = RAM_GPA + 2 * gsize;
	struct gdb_mmu mmu = { .sctlr = 1, .tcr = tcr_for(g, va_bits) };

	memset(ram_bytes, 0, sizeof(ram_bytes));
	va |= 0x123ULL << g | 0x10; /* index 0x123 at level 3 (masked to the level's bits) */
	for (int level = first; level <= 3; level++) {
		unsigned int shift = g + stride * (unsigned int)(3 - level);
		unsigned int nbits = level == first ? va_bits - shift : stride;
		uint64_t index = (va >> shift) & ((1ULL << nbits) - 1);

		if (level == 3) {
			put_desc(table, index, target | 3 | 1 << 10);
		} else {
			put_desc(table, index, next | 3);
			table = next;
			next += gsize;
		}
	}
	if (upper)
		mmu.ttbr1 = root;
	else
		mmu.ttbr0 = root;
	uint64_t pa = 0, span = 0;
	CHECK_EQ(gdb_walk(&ram, &mmu, va, &pa, &span), 0);
	CHECK_EQ(pa, target + 0x10);
	CHECK_EQ(span, gsize - 0x10);
	/* The neighbouring page has an invalid descriptor: a fault, not a crash. */
	CHECK_EQ(gdb_walk(&ram, &mmu, va + gsize, &pa, &span), -EFAULT);
	/* The other half walks from an empty TTBR (0, outside RAM). */
	CHECK_EQ(gdb_walk(&ram, &mmu, va ^ (~0ULL << va_bits), &pa, &span), -ENXIO);
	/* A level-3 descriptor of type 0b01 is reserved: a fault. */
	put_desc(table, (va >> g) & ((1ULL << stride) - 1), target | 1);
	CHECK_EQ(gdb_walk(&ram, &mmu, va, &pa, &span), -EFAULT);
	/* A table outside RAM. */
	put_desc(root,
		 (va >> (g + stride * (unsigned int)(3 - first))) &
			 ((1ULL << (va_bits - g - stride * (unsigned int)(3 - first))) - 1),
		 0x7000000000ULL | 3);
	CHECK_EQ(gdb_walk(&ram, &mmu, va, &pa, &span), -ENXIO);
}

static void test_walk(void)
{
	struct gdb_mmu off = { 0 };
	uint64_t pa, span;

	CHECK_EQ(gdb_walk(&ram, &off, 0x40080004, &pa, &span), 0);
	CHECK_EQ(pa, 0x40080004);
	CHECK_EQ(span, 0xffc);

	walk_pages(12, 48, false);
	walk_pages(12, 39, false);
	walk_pages(12, 48, true);
	walk_pages(14, 47, false);
	walk_pages(14, 36, true);
	walk_pages(16, 48, false);
	walk_pages(16, 42, true);

	/* A 2 MiB block at level 2 (4K granule, 39 bits: levels 1-3). */
	struct gdb_mmu mmu = { .sctlr = 1, .tcr = tcr_for(12, 39), .ttbr0 = RAM_GPA + 0x1000 };
	memset(ram_bytes, 0, sizeof(ram_bytes));
	put_desc(RAM_GPA + 0x1000, 1, (RAM_GPA + 0x2000) | 3); /* VA 1G.. */
	put_desc(RAM_GPA + 0x2000, 3, 0x80000000ULL | 1); /* VA 1G + 6M: a block */
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x40000000ULL + 0x600000 + 0x1234, &pa, &span), 0);
	CHECK_EQ(pa, 0x80001234);
	CHECK_EQ(span, 0x200000 - 0x1234);
	/* A 1 GiB block at level 1. */
	put_desc(RAM_GPA + 0x1000, 2, 0xc0000000ULL | 1);
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x80000000ULL + 0x5000, &pa, &span), 0);
	CHECK_EQ(pa, 0xc0005000);
	/* Bits above the VA size: a fault; with TBI0 the top byte is ignored. */
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x0100008000005000ULL, &pa, &span), -EFAULT);
	mmu.tcr |= 1ULL << 37;
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x5a00000080005000ULL, &pa, &span), 0);
	CHECK_EQ(pa, 0xc0005000);
	/* EPD0: walks of the low half are disabled. */
	mmu.tcr |= 1ULL << 7;
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x80005000ULL, &pa, &span), -EFAULT);

	/* A level-1 block with 64K pages (and no 52-bit PAs) is reserved: a fault. */
	mmu = (struct gdb_mmu){ .sctlr = 1, .tcr = tcr_for(16, 48), .ttbr0 = RAM_GPA + 0x10000 };
	memset(ram_bytes, 0, sizeof(ram_bytes));
	put_desc(RAM_GPA + 0x10000, 0, 0x40000000ULL | 1);
	CHECK_EQ(gdb_walk(&ram, &mmu, 0x1000, &pa, &span), -EFAULT);
	/* 52-bit VAs with 4K pages (TCR.DS): a level -1 table, then levels 0-3. */
	mmu = (struct gdb_mmu){ .sctlr = 1,
				.tcr = 12 | 6ULL << 32 | 1ULL << 59 | (12ULL << 16) | 2ULL << 30,
				.ttbr0 = RAM_GPA + 0x1000 };
	uint64_t va = 1ULL << 51 | 0x7000;
	uint64_t t = RAM_GPA + 0x1000;
	for (int level = -1; level <= 3; level++) {
		unsigned int shift = 12 + 9 * (unsigned int)(3 - level);
		uint64_t index = (va >> shift) & (level == -1 ? 0xf : 0x1ff);

		put_desc(t, index, level == 3 ? (RAM_GPA + 0x9000) | 3 : (t + 0x1000) | 3);
		t += 0x1000;
	}
	CHECK_EQ(gdb_walk(&ram, &mmu, va | 0x8, &pa, &span), 0);
	CHECK_EQ(pa, RAM_GPA + 0x9008);
}

int main(void)
{
	test_framing();
	test_packets();
	test_walk();
	return CHECK_DONE("test_gdb");
}
