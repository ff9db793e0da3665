/*
 * pl011.c - the Arm PrimeCell UART (PL011) r1p5, after its Technical Reference Manual, DDI 0183G:
 * chapter 3 "Programmers Model" for the registers and section 2.8 "Interrupts" for when each
 * interrupt is raised and cleared.
 *
 * What an emulated UART leaves out: there is no serial line, so no baud-rate clock, no parity,
 * framing or break errors, and transmitting takes no time. A byte the guest writes to UARTDR goes
 * to the host at once, so the transmit FIFO is always empty. Received bytes wait in a real FIFO
 * until the guest reads them, and the host only delivers as many as there is room for, so the
 * overrun a real UART suffers when nobody reads it cannot happen here; the error bits stay 0.
 *
 * Registers are 32 bits apart. A driver may read or write them 8, 16 or 32 bits wide (Linux's
 * amba-pl011 uses 16-bit accesses, its early console 8-bit ones); a narrower access reads the
 * low bytes, and a write stores its value as the whole register (the APB bus has no byte
 * strobes). Anything else - an offset that is no register, a misaligned or 64-bit access, a
 * write to a read-only register - is dropped, counted in u->ignored, and reported once.
 */
#include <inttypes.h>
#include <stdbool.h>

#include "log.h"
#include "pl011.h"

#define UARTDR 0x000 /* Data Register */
#define UARTRSR 0x004 /* Receive Status Register (read) / Error Clear Register (write) */
#define UARTFR 0x018 /* Flag Register */
#define UARTILPR 0x020 /* IrDA Low-Power Counter Register */
#define UARTIBRD 0x024 /* Integer Baud Rate Register */
#define UARTFBRD 0x028 /* Fractional Baud Rate Register */
#define UARTLCR_H 0x02c /* Line Control Register */
#define UARTCR 0x030 /* Control Register */
#define UARTIFLS 0x034 /* Interrupt FIFO Level Select Register */
#define UARTIMSC 0x038 /* Interrupt Mask Set/Clear Register */
#define UARTRIS 0x03c /* Raw Interrupt Status Register */
#define UARTMIS 0x040 /* Masked Interrupt Status Register */
#define UARTICR 0x044 /* Interrupt Clear Register */
#define UARTDMACR 0x048 /* DMA Control Register */
#define UARTPERIPHID0 0xfe0 /* UARTPeriphID0-3 at 0xfe0-0xfec, then UARTPCellID0-3 to 0xffc */

#define UARTFR_CTS (1u << 0) /* UARTFR: clear to send */
#define UARTFR_DSR (1u << 1) /* UARTFR: data set ready */
#define UARTFR_DCD (1u << 2) /* UARTFR: data carrier detect */
#define UARTFR_BUSY (1u << 3) /* UARTFR: transmitting */
#define UARTFR_RXFE (1u << 4) /* UARTFR: receive FIFO empty */
#define UARTFR_TXFF (1u << 5) /* UARTFR: transmit FIFO full */
#define UARTFR_RXFF (1u << 6) /* UARTFR: receive FIFO full */
#define UARTFR_TXFE (1u << 7) /* UARTFR: transmit FIFO empty */

#define UARTLCR_H_FEN (1u << 4) /* UARTLCR_H: FIFOs enabled (else 1-byte holding registers) */

#define UARTCR_UARTEN (1u << 0) /* UARTCR: UART enable */
#define UARTCR_RXE (1u << 9) /* UARTCR: receive enable */
#define UARTCR_RESET 0x0300 /* UARTCR at reset: TXE and RXE set, UARTEN clear */
#define UARTCR_MASK 0xff87 /* UARTCR: bits 6:3 are reserved */
#define UARTIFLS_RESET 0x12 /* UARTIFLS at reset: both FIFOs interrupt at half full */
#define UARTIFLS_RXIFLSEL(ifls) (((ifls) >> 3) & 7) /* UARTIFLS bits 5:3: receive level */

/* Interrupt bits, the same in UARTRIS, UARTMIS, UARTIMSC and UARTICR (TRM 3.3.10-3.3.13). */
#define UART_INT_RX (1u << 4) /* receive: the FIFO reached its trigger level */
#define UART_INT_TX (1u << 5) /* transmit: the FIFO drained to its trigger level */
#define UART_INT_RT (1u << 6) /* receive timeout: bytes wait and no more are coming */
#define UART_INT_ALL 0x7ff /* bits 10:0: also modem status and error interrupts */

/*
 * UARTPeriphID0-3 and UARTPCellID0-3 (TRM 3.3.15-3.3.22): part number 0x011, designer 0x41
 * (Arm), revision 3 (r1p5), and the PrimeCell signature 0xB105F00D that AMBA bus drivers, such
 * as Linux's, read to identify the device.
 */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

const char *pl011_reg_name(uint64_t offset)
{
	static const char *const names[] = {
		[UARTDR / 4] = "UARTDR",       [UARTRSR / 4] = "UARTRSR/ECR",
		[UARTFR / 4] = "UARTFR",       [UARTILPR / 4] = "UARTILPR",
		[UARTIBRD / 4] = "UARTIBRD",   [UARTFBRD / 4] = "UARTFBRD",
		[UARTLCR_H / 4] = "UARTLCR_H", [UARTCR / 4] = "UARTCR",
		[UARTIFLS / 4] = "UARTIFLS",   [UARTIMSC / 4] = "UARTIMSC",
		[UARTRIS / 4] = "UARTRIS",     [UARTMIS / 4] = "UARTMIS",
		[UARTICR / 4] = "UARTICR",     [UARTDMACR / 4] = "UARTDMACR",
	};
	static const char *const ids[] = {
		"UARTPeriphID0", "UARTPeriphID1", "UARTPeriphID2", "UARTPeriphID3",
		"UARTPCellID0",	 "UARTPCellID1",  "UARTPCellID2",  "UARTPCellID3",
	};

	if (offset % 4)
		return NULL;
	if (offset >= UARTPERIPHID0 && offset < PL011_SIZE)
		return ids[(offset - UARTPERIPHID0) / 4];
	if (offset / 4 < sizeof(names) / sizeof(names[0]))
		return names[offset / 4];
	return NULL;
}

#define PL011_BAD_ACCESS "registers take 1, 2 or 4 bytes at a multiple of 4"

static bool pl011_access_ok(uint64_t offset, unsigned int size)
{
	return offset % 4 == 0 && (size == 1 || size == 2 || size == 4);
}

static void pl011_ignore(struct pl011 *u, const char *what, uint64_t offset, unsigned int size,
			 const char *why)
{
	if (u->ignored++ == 0)
		warn("pl011: ignored a %s of %u bytes at offset 0x%03" PRIx64 ": %s (further ones "
		     "are only counted, see --stats)",
		     what, size, offset, why);
}

/* How many bytes the receive FIFO holds: 1 in character mode (FEN clear), else all of it. */
static unsigned int pl011_rx_capacity(const struct pl011 *u)
{
	return u->lcr_h & UARTLCR_H_FEN ? PL011_FIFO_DEPTH : 1;
}

/*
 * The receive interrupt's trigger level (UARTIFLS.RXIFLSEL, TRM 3.3.9): 1/8, 1/4, 1/2, 3/4 or 7/8
 * full. The reserved encodings 0b101-0b111 act as the reset value, 1/2. In character mode one
 * byte is enough.
 */
static unsigned int pl011_rx_trigger(const struct pl011 *u)
{
	static const unsigned int eighths[8] = { 1, 2, 4, 6, 7, 4, 4, 4 };

	if (!(u->lcr_h & UARTLCR_H_FEN))
		return 1;
	return PL011_FIFO_DEPTH * eighths[UARTIFLS_RXIFLSEL(u->ifls)] / 8;
}

/*
 * The raw interrupt status. The receive timeout interrupt is asserted when bytes wait in the FIFO
 * and none has arrived for 32 bit periods. Here bytes arrive in bursts and then the line is idle
 * at once, so the timeout holds exactly while the FIFO is not empty; clearing it in UARTICR while
 * bytes remain only restarts a timeout that has already expired. Reading the FIFO empty is what
 * clears it, as the TRM says.
 */
static uint16_t pl011_ris(const struct pl011 *u)
{
	return u->ris | (u->rx_count ? UART_INT_RT : 0);
}

/* UARTINTR, the OR of the masked interrupts (TRM 2.8.6), to the host when it changes. */
static void pl011_update_irq(struct pl011 *u)
{
	int level = (pl011_ris(u) & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		u->host.irq_set(u->host.irq_ctx, level);
	}
}

size_t pl011_rx_room(const struct pl011 *u)
{
	unsigned int cap = pl011_rx_capacity(u);

	if ((u->cr & (UARTCR_UARTEN | UARTCR_RXE)) != (UARTCR_UARTEN | UARTCR_RXE))
		return 0;
	return u->rx_count < cap ? cap - u->rx_count : 0;
}

/* Tell the host the guest may be looking for input, if there is room for any. */
static void pl011_want_rx(struct pl011 *u)
{
	if (u->host.rx_wanted && pl011_rx_room(u))
		u->host.rx_wanted(u->host.ctx);
}

size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t len)
{
	size_t n = pl011_rx_room(u);

	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		u->rx_fifo[(u->rx_head + u->rx_count++) % PL011_FIFO_DEPTH] = buf[i];
	/* The receive interrupt: the FIFO reached its trigger level (TRM 2.8.2). */
	if (n && u->rx_count >= pl011_rx_trigger(u))
		u->ris |= UART_INT_RX;
	pl011_update_irq(u);
	return n;
}

/* A read of UARTDR: the oldest received byte; error bits 11:8 are always 0 here. */
static uint32_t pl011_read_data(struct pl011 *u)
{
	uint8_t byte = 0;

	if (u->rx_count) {
		byte = u->rx_fifo[u->rx_head];
		u->rx_head = (u->rx_head + 1) % PL011_FIFO_DEPTH;
		u->rx_count--;
	}
	/* Reading below the trigger level clears the receive interrupt (TRM 2.8.2). */
	if (u->rx_count < pl011_rx_trigger(u))
		u->ris &= ~UART_INT_RX;
	pl011_update_irq(u);
	pl011_want_rx(u);
	return byte;
}

/*
 * UARTFR. The transmit FIFO is always empty and never busy. The modem inputs read as a terminal
 * that is connected and ready: CTS, DSR and DCD set (they are the inverted nUARTCTS, nUARTDSR
 * and nUARTDCD pins, TRM 3.3.3).
 */
static uint32_t pl011_flags(struct pl011 *u)
{
	uint32_t fr = UARTFR_TXFE | UARTFR_CTS | UARTFR_DSR | UARTFR_DCD;

	pl011_want_rx(u);
	if (u->rx_count == 0)
		fr |= UARTFR_RXFE;
	if (u->rx_count >= pl011_rx_capacity(u))
		fr |= UARTFR_RXFF;
	return fr;
}

uint64_t pl011_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct pl011 *u = opaque;
	uint32_t value;

	if (!pl011_access_ok(offset, size)) {
		pl011_ignore(u, "read", offset, size, PL011_BAD_ACCESS);
		return 0;
	}
	switch (offset) {
	case UARTDR:
		value = pl011_read_data(u);
		break;
	case UARTRSR:
		value = 0; /* no framing, parity, break or overrun errors on an emulated line */
		break;
	case UARTFR:
		value = pl011_flags(u);
		break;
	case UARTILPR:
		value = u->ilpr;
		break;
	case UARTIBRD:
		value = u->ibrd;
		break;
	case UARTFBRD:
		value = u->fbrd;
		break;
	case UARTLCR_H:
		value = u->lcr_h;
		break;
	case UARTCR:
		value = u->cr;
		break;
	case UARTIFLS:
		value = u->ifls;
		break;
	case UARTIMSC:
		value = u->imsc;
		break;
	case UARTRIS:
		value = pl011_ris(u);
		break;
	case UARTMIS:
		value = pl011_ris(u) & u->imsc;
		break;
	case UARTDMACR:
		value = u->dmacr;
		break;
	default:
		if (offset >= UARTPERIPHID0 && offset < PL011_SIZE) {
			value = pl011_id[(offset - UARTPERIPHID0) / 4];
			break;
		}
		pl011_ignore(u, "read", offset, size,
			     offset == UARTICR ? "UARTICR is write-only" : "no register there");
		return 0;
	}
	return size == 4 ? value : value & ((1u << (8 * size)) - 1);
}

/*
 * A write to UARTDR: the byte goes straight to the host and the transmit FIFO is empty again,
 * which asserts the transmit interrupt (TRM 2.8.3; it changes state when the FIFO passes the
 * trigger level, so an idle UART after reset does not assert it). Unlike real hardware the byte
 * goes out even when UARTEN or TXE is clear: firmware normally leaves the console UART enabled,
 * and bare-metal programs and early consoles rely on it without setting UARTCR themselves.
 */
static void pl011_write_data(struct pl011 *u, uint8_t byte)
{
	u->host.tx(u->host.ctx, byte);
	u->ris |= UART_INT_TX;
	pl011_update_irq(u);
}

void pl011_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value)
{
	struct pl011 *u = opaque;

	if (!pl011_access_ok(offset, size)) {
		pl011_ignore(u, "write", offset, size, PL011_BAD_ACCESS);
		return;
	}
	switch (offset) {
	case UARTDR:
		pl011_write_data(u, (uint8_t)value);
		break;
	case UARTRSR:
		break; /* UARTECR: clears the error bits, which are never set here */
	case UARTILPR:
		u->ilpr = (uint8_t)value;
		break;
	case UARTIBRD:
		u->ibrd = (uint16_t)value;
		break;
	case UARTFBRD:
		u->fbrd = value & 0x3f; /* BAUD DIVFRAC, 6 bits */
		break;
	case UARTLCR_H:
		u->lcr_h = (uint8_t)value;
		pl011_want_rx(u);
		break;
	case UARTCR:
		u->cr = value & UARTCR_MASK;
		pl011_want_rx(u);
		break;
	case UARTIFLS:
		u->ifls = value & 0x3f; /* TXIFLSEL bits 2:0, RXIFLSEL bits 5:3 */
		break;
	case UARTIMSC:
		u->imsc = value & UART_INT_ALL;
		pl011_update_irq(u);
		break;
	case UARTICR:
		u->ris &= ~(value & UART_INT_ALL);
		pl011_update_irq(u);
		break;
	case UARTDMACR:
		u->dmacr = value & 0x7; /* RXDMAE, TXDMAE, DMAONERR; no DMA requests are wired */
		break;
	default:
		pl011_ignore(u, "write", offset, size,
			     pl011_reg_name(offset) ? "that register is read-only"
						    : "no register there");
		break;
	}
}

void pl011_init(struct pl011 *u, const struct pl011_host *host)
{
	*u = (struct pl011){
		.host = *host,
		.cr = UARTCR_RESET,
		.ifls = UARTIFLS_RESET,
	};
}
