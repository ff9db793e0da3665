/* unit-test sources: stages/09-linux-boot/pl011.c */
/*
 * test_pl011.c - the PL011 model against its TRM (Arm DDI 0183G): reset values, register
 * read-back and masks, the flag register, the receive FIFO, interrupt status and the interrupt
 * line, and a guest that accesses what is not a register.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "pl011.h"

#define UARTDR 0x000
#define UARTRSR 0x004
#define UARTFR 0x018
#define UARTILPR 0x020
#define UARTIBRD 0x024
#define UARTFBRD 0x028
#define UARTLCR_H 0x02c
#define UARTCR 0x030
#define UARTIFLS 0x034
#define UARTIMSC 0x038
#define UARTRIS 0x03c
#define UARTMIS 0x040
#define UARTICR 0x044
#define UARTDMACR 0x048

#define FR_CTS 0x01
#define FR_DSR 0x02
#define FR_DCD 0x04
#define FR_BUSY 0x08
#define FR_RXFE 0x10
#define FR_TXFF 0x20
#define FR_RXFF 0x40
#define FR_TXFE 0x80

#define INT_RX 0x10
#define INT_TX 0x20
#define INT_RT 0x40

#define CR_ON 0x0301 /* UARTEN | TXE | RXE */
#define LCR_H_FEN 0x10

/* The host side, recorded. */
struct host {
	uint8_t out[256];
	size_t out_len;
	int level, irq_calls, wanted;
};

static void host_tx(void *ctx, uint8_t byte)
{
	struct host *h = ctx;

	if (h->out_len < sizeof(h->out))
		h->out[h->out_len++] = byte;
}

static void host_rx_wanted(void *ctx)
{
	((struct host *)ctx)->wanted++;
}

static void host_irq(void *ctx, int level)
{
	struct host *h = ctx;

	h->level = level;
	h->irq_calls++;
}

static void setup(struct pl011 *u, struct host *h)
{
	memset(h, 0, sizeof(*h));
	pl011_init(u, &(struct pl011_host){ .tx = host_tx,
					    .rx_wanted = host_rx_wanted,
					    .ctx = h,
					    .irq_set = host_irq,
					    .irq_ctx = h });
}

static uint32_t rd(struct pl011 *u, uint64_t offset)
{
	return (uint32_t)pl011_read(u, offset, 4);
}

static void wr(struct pl011 *u, uint64_t offset, uint32_t value)
{
	pl011_write(u, offset, 4, value);
}

static size_t rx(struct pl011 *u, const char *s)
{
	return pl011_receive(u, (const uint8_t *)s, strlen(s));
}

static void test_reset(void)
{
	static const uint8_t id[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl011 u;
	struct host h;

	setup(&u, &h);
	CHECK_EQ(rd(&u, UARTFR), FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD);
	CHECK_EQ(rd(&u, UARTCR), 0x0300);
	CHECK_EQ(rd(&u, UARTIFLS), 0x12);
	CHECK_EQ(rd(&u, UARTLCR_H), 0);
	CHECK_EQ(rd(&u, UARTIBRD), 0);
	CHECK_EQ(rd(&u, UARTFBRD), 0);
	CHECK_EQ(rd(&u, UARTIMSC), 0);
	CHECK_EQ(rd(&u, UARTRIS), 0);
	CHECK_EQ(rd(&u, UARTMIS), 0);
	CHECK_EQ(rd(&u, UARTRSR), 0);
	CHECK_EQ(rd(&u, UARTDMACR), 0);
	CHECK_EQ(rd(&u, UARTILPR), 0);
	for (unsigned int i = 0; i < 8; i++)
		CHECK_EQ(rd(&u, 0xfe0 + 4 * i), id[i]);
	/* Linux's AMBA bus reads these four bytes as one ID: 0x00341011, ARM's PL011 r1p5. */
	CHECK_EQ(rd(&u, 0xfe0) | rd(&u, 0xfe4) << 8 | rd(&u, 0xfe8) << 16 | rd(&u, 0xfec) << 24,
		 0x00341011);
	CHECK_EQ(h.irq_calls, 0);
	CHECK_EQ(u.ignored, 0);
	/* The receiver is off at reset (UARTEN clear): no room for input. */
	CHECK_EQ(pl011_rx_room(&u), 0);
	CHECK_EQ(rx(&u, "x"), 0);
	CHECK_EQ(h.wanted, 0);
}

static void test_registers(void)
{
	struct pl011 u;
	struct host h;

	setup(&u, &h);
	wr(&u, UARTIBRD, 0xffffffff);
	CHECK_EQ(rd(&u, UARTIBRD), 0xffff);
	wr(&u, UARTFBRD, 0xffffffff);
	CHECK_EQ(rd(&u, UARTFBRD), 0x3f);
	wr(&u, UARTLCR_H, 0xffffffff);
	CHECK_EQ(rd(&u, UARTLCR_H), 0xff);
	wr(&u, UARTCR, 0xffffffff);
	CHECK_EQ(rd(&u, UARTCR), 0xff87);
	wr(&u, UARTIFLS, 0xffffffff);
	CHECK_EQ(rd(&u, UARTIFLS), 0x3f);
	wr(&u, UARTDMACR, 0xffffffff);
	CHECK_EQ(rd(&u, UARTDMACR), 0x7);
	wr(&u, UARTILPR, 0x1234);
	CHECK_EQ(rd(&u, UARTILPR), 0x34);
	wr(&u, UARTIMSC, 0xffffffff);
	CHECK_EQ(rd(&u, UARTIMSC), 0x7ff);
	wr(&u, UARTRSR, 0xff); /* UARTECR: accepted, nothing to clear */
	CHECK_EQ(rd(&u, UARTRSR), 0);

	/* 8- and 16-bit accesses read the low bytes and write the whole register. */
	wr(&u, UARTIBRD, 0xabcd);
	CHECK_EQ(pl011_read(&u, UARTIBRD, 2), 0xabcd);
	CHECK_EQ(pl011_read(&u, UARTIBRD, 1), 0xcd);
	pl011_write(&u, UARTIBRD, 1, 0x12);
	CHECK_EQ(rd(&u, UARTIBRD), 0x12);
	pl011_write(&u, UARTCR, 2, 0x0301);
	CHECK_EQ(rd(&u, UARTCR), 0x0301);
	CHECK_EQ(u.ignored, 0);

	CHECK_STR(pl011_reg_name(UARTDR), "UARTDR");
	CHECK_STR(pl011_reg_name(UARTFR), "UARTFR");
	CHECK_STR(pl011_reg_name(UARTLCR_H), "UARTLCR_H");
	CHECK_STR(pl011_reg_name(UARTDMACR), "UARTDMACR");
	CHECK_STR(pl011_reg_name(0xfe8), "UARTPeriphID2");
	CHECK_STR(pl011_reg_name(0xffc), "UARTPCellID3");
	CHECK(pl011_reg_name(0x008) == NULL);
	CHECK(pl011_reg_name(0x04c) == NULL);
	CHECK(pl011_reg_name(0x019) == NULL);
	CHECK(pl011_reg_name(0x1000) == NULL);
}

static void test_transmit(void)
{
	struct pl011 u;
	struct host h;

	setup(&u, &h);
	/* Bytes go out even before the guest enables the UART (see pl011.c), one call each. */
	wr(&u, UARTDR, 'H');
	pl011_write(&u, UARTDR, 1, 'i');
	wr(&u, UARTDR, 0x100 | '!'); /* only bits 7:0 are data */
	CHECK_EQ(h.out_len, 3);
	CHECK(memcmp(h.out, "Hi!", 3) == 0);
	/* Never full, never busy: a guest polling TXFF never waits. */
	CHECK_EQ(rd(&u, UARTFR) & (FR_TXFF | FR_BUSY | FR_TXFE), FR_TXFE);

	/* The FIFO drained past its trigger level: TXRIS, but no line while TXIM is masked. */
	CHECK_EQ(rd(&u, UARTRIS), INT_TX);
	CHECK_EQ(rd(&u, UARTMIS), 0);
	CHECK_EQ(h.irq_calls, 0);
	wr(&u, UARTIMSC, INT_TX);
	CHECK_EQ(rd(&u, UARTMIS), INT_TX);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(h.irq_calls, 1);
	/* A further byte keeps the line up without telling the host again. */
	wr(&u, UARTDR, 'x');
	CHECK_EQ(h.irq_calls, 1);
	/* UARTICR clears it; unmasking and masking move the line too. */
	wr(&u, UARTICR, INT_TX);
	CHECK_EQ(rd(&u, UARTRIS), 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(h.irq_calls, 2);
	wr(&u, UARTDR, 'y');
	CHECK_EQ(h.level, 1);
	wr(&u, UARTIMSC, 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&u, UARTRIS), INT_TX);
	CHECK_EQ(h.irq_calls, 4);
}

static void test_receive(void)
{
	char fill[PL011_FIFO_DEPTH + 8];
	struct pl011 u;
	struct host h;

	setup(&u, &h);
	wr(&u, UARTCR, CR_ON);
	CHECK_EQ(h.wanted, 1); /* enabling the receiver makes room */

	/* Character mode (FEN clear): a one-byte holding register. */
	CHECK_EQ(pl011_rx_room(&u), 1);
	CHECK_EQ(rx(&u, "ab"), 1);
	CHECK_EQ(pl011_rx_room(&u), 0);
	CHECK_EQ(rd(&u, UARTFR) & (FR_RXFE | FR_RXFF), FR_RXFF);
	CHECK_EQ(h.wanted, 1); /* full: nothing to ask the host for */
	CHECK_EQ(rd(&u, UARTDR), 'a');
	CHECK_EQ(h.wanted, 2);
	CHECK_EQ(rd(&u, UARTFR) & (FR_RXFE | FR_RXFF), FR_RXFE);
	CHECK_EQ(h.wanted, 3); /* a UARTFR read with room asks too */
	CHECK_EQ(rd(&u, UARTDR), 0); /* an empty FIFO reads as 0 */

	/* FIFO mode: 32 bytes, first in first out, across the ring's wrap-around. */
	wr(&u, UARTLCR_H, LCR_H_FEN | 0x60);
	CHECK_EQ(pl011_rx_room(&u), PL011_FIFO_DEPTH);
	CHECK_EQ(rx(&u, "0123456789"), 10);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(rd(&u, UARTDR), '0' + i);
	for (size_t i = 0; i < sizeof(fill); i++)
		fill[i] = (char)('A' + i % 26);
	CHECK_EQ(pl011_receive(&u, (const uint8_t *)fill, sizeof(fill)), PL011_FIFO_DEPTH);
	CHECK_EQ(pl011_rx_room(&u), 0);
	CHECK_EQ(rd(&u, UARTFR) & (FR_RXFE | FR_RXFF), FR_RXFF);
	CHECK_EQ(rx(&u, "z"), 0);
	for (int i = 0; i < PL011_FIFO_DEPTH; i++)
		CHECK_EQ(pl011_read(&u, UARTDR, 2), (uint32_t)fill[i]);
	CHECK_EQ(rd(&u, UARTFR) & (FR_RXFE | FR_RXFF), FR_RXFE);

	/* Disabling the receiver (or the UART) leaves no room; what is there can still be read. */
	CHECK_EQ(rx(&u, "k"), 1);
	wr(&u, UARTCR, 0x0101);
	CHECK_EQ(pl011_rx_room(&u), 0);
	CHECK_EQ(rx(&u, "l"), 0);
	CHECK_EQ(rd(&u, UARTDR), 'k');
	wr(&u, UARTCR, 0x0300);
	CHECK_EQ(pl011_rx_room(&u), 0);
}

/* Interrupt status on receive (TRM 2.8.2 receive, 2.8.4 receive timeout). */
static void test_receive_interrupts(void)
{
	char sixteen[17] = "0123456789abcdef";
	struct pl011 u;
	struct host h;

	setup(&u, &h);
	wr(&u, UARTCR, CR_ON);
	wr(&u, UARTLCR_H, LCR_H_FEN);
	wr(&u, UARTIMSC, INT_RX);

	/* Trigger level 1/2 (reset UARTIFLS): 16 of 32. Below it only the timeout is raised. */
	CHECK_EQ(pl011_receive(&u, (const uint8_t *)sixteen, 15), 15);
	CHECK_EQ(rd(&u, UARTRIS), INT_RT);
	CHECK_EQ(rd(&u, UARTMIS), 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rx(&u, "f"), 1);
	CHECK_EQ(rd(&u, UARTRIS), INT_RX | INT_RT);
	CHECK_EQ(rd(&u, UARTMIS), INT_RX);
	CHECK_EQ(h.level, 1);
	/* Reading below the trigger level clears RX. */
	CHECK_EQ(rd(&u, UARTDR), '0');
	CHECK_EQ(rd(&u, UARTRIS), INT_RT);
	CHECK_EQ(h.level, 0);
	/* Clearing RX in UARTICR sticks until the next byte arrives at or over the level. */
	CHECK_EQ(rx(&u, "g"), 1);
	CHECK_EQ(h.level, 1);
	wr(&u, UARTICR, INT_RX);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&u, UARTRIS), INT_RT);
	CHECK_EQ(rx(&u, "h"), 1);
	CHECK_EQ(h.level, 1);

	/* The timeout: set while bytes wait, UARTICR cannot change that; reading them all can. */
	wr(&u, UARTIMSC, INT_RT);
	CHECK_EQ(h.level, 1);
	wr(&u, UARTICR, INT_RT | INT_RX);
	CHECK_EQ(rd(&u, UARTRIS), INT_RT);
	CHECK_EQ(h.level, 1);
	for (int i = 0; i < 17; i++)
		rd(&u, UARTDR);
	CHECK_EQ(rd(&u, UARTFR) & FR_RXFE, FR_RXFE);
	CHECK_EQ(rd(&u, UARTRIS), 0);
	CHECK_EQ(h.level, 0);

	/* Trigger level 1/8 = 4 bytes (RXIFLSEL 0b000). */
	wr(&u, UARTIFLS, 0);
	wr(&u, UARTIMSC, INT_RX);
	CHECK_EQ(rx(&u, "abc"), 3);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, 0);
	CHECK_EQ(rx(&u, "d"), 1);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, INT_RX);
	/* 7/8 = 28 bytes (0b100); a reserved encoding (0b111) acts as 1/2 = 16. */
	for (int i = 0; i < 4; i++)
		rd(&u, UARTDR);
	wr(&u, UARTICR, INT_RX);
	wr(&u, UARTIFLS, 4 << 3);
	CHECK_EQ(pl011_receive(&u, (const uint8_t *)sixteen, 16), 16);
	CHECK_EQ(rx(&u, "0123456789a"), 11);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, 0);
	CHECK_EQ(rx(&u, "b"), 1);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, INT_RX);
	for (int i = 0; i < 28; i++)
		rd(&u, UARTDR);
	wr(&u, UARTIFLS, 7 << 3);
	CHECK_EQ(pl011_receive(&u, (const uint8_t *)sixteen, 15), 15);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, 0);
	CHECK_EQ(rx(&u, "x"), 1);
	CHECK_EQ(rd(&u, UARTRIS) & INT_RX, INT_RX);

	/* Character mode: every byte is at the trigger level. */
	for (int i = 0; i < 16; i++)
		rd(&u, UARTDR);
	wr(&u, UARTICR, 0x7ff);
	wr(&u, UARTLCR_H, 0);
	CHECK_EQ(rx(&u, "y"), 1);
	CHECK_EQ(rd(&u, UARTRIS), INT_RX | INT_RT);
	CHECK_EQ(rd(&u, UARTDR), 'y');
	CHECK_EQ(rd(&u, UARTRIS), 0);
	CHECK_EQ(h.level, 0);
}

/* A guest that gets it wrong: nothing changes, nothing crashes, each access is counted. */
static void test_bad_accesses(void)
{
	struct pl011 u, before;
	struct host h;

	setup(&u, &h);
	wr(&u, UARTCR, CR_ON);
	wr(&u, UARTIBRD, 0x55);
	memcpy(&before, &u, sizeof(u));

	CHECK_EQ(rd(&u, 0x008), 0); /* a reserved offset */
	CHECK_EQ(rd(&u, 0x800), 0); /* the middle of the page */
	CHECK_EQ(rd(&u, UARTICR), 0); /* write-only */
	CHECK_EQ(pl011_read(&u, UARTIBRD, 8), 0); /* 64 bits wide */
	CHECK_EQ(pl011_read(&u, UARTIBRD + 1, 1), 0); /* not at a register's start */
	CHECK_EQ(pl011_read(&u, UARTIBRD, 3), 0); /* no such width */
	CHECK_EQ(u.ignored, 6);

	wr(&u, 0x008, 0xff);
	wr(&u, 0xffc, 0); /* UARTPCellID3 is read-only */
	wr(&u, UARTFR, 0); /* so is UARTFR */
	wr(&u, UARTRIS, 0x7ff);
	wr(&u, UARTMIS, 0x7ff);
	pl011_write(&u, UARTIBRD, 8, 0x1111);
	pl011_write(&u, UARTIBRD + 2, 2, 0x2222);
	pl011_write(&u, UARTDR, 8, 'X'); /* a 64-bit store to UARTDR sends nothing */
	CHECK_EQ(u.ignored, 14);
	CHECK_EQ(rd(&u, 0xffc), 0xb1);
	CHECK_EQ(rd(&u, UARTIBRD), 0x55);
	CHECK_EQ(rd(&u, UARTRIS), 0);
	CHECK_EQ(h.out_len, 0);
	CHECK_EQ(h.irq_calls, 0);
	u.ignored = before.ignored;
	CHECK(memcmp(&u, &before, sizeof(u)) == 0);
}

int main(void)
{
	test_reset();
	test_registers();
	test_transmit();
	test_receive();
	test_receive_interrupts();
	test_bad_accesses();
	return CHECK_DONE("pl011");
}
