/*
 * uart.c - driver for the ARM PrimeCell UART (PL011), Technical Reference Manual DDI 0183,
 * section 3.3 "Register descriptions".
 *
 * Only what a console needs: enable the UART with FIFOs and 8-bit characters, send a byte when
 * the transmit FIFO has room, take a byte when the receive FIFO is not empty, and raise an
 * interrupt when bytes arrive. Baud rate registers are not programmed: an emulated UART has no
 * line to clock.
 */
#include <stdint.h>

#include "mmio.h"
#include "uart.h"

#define PL011_BASE 0x09000000UL /* PL011 on the virt machine */

#define UARTDR 0x000 /* Data Register */
#define UARTFR 0x018 /* Flag Register */
#define UARTLCR_H 0x02c /* Line Control Register */
#define UARTCR 0x030 /* Control Register */
#define UARTIMSC 0x038 /* Interrupt Mask Set/Clear Register */
#define UARTICR 0x044 /* Interrupt Clear Register */

#define UARTFR_RXFE (1u << 4) /* UARTFR: receive FIFO empty */
#define UARTFR_TXFF (1u << 5) /* UARTFR: transmit FIFO full */
#define UARTLCR_H_FEN (1u << 4) /* UARTLCR_H: enable FIFOs */
#define UARTLCR_H_WLEN8 (3u << 5) /* UARTLCR_H: 8 data bits */
#define UARTCR_UARTEN (1u << 0) /* UARTCR: UART enable */
#define UARTCR_TXE (1u << 8) /* UARTCR: transmit enable */
#define UARTCR_RXE (1u << 9) /* UARTCR: receive enable */
#define UART_INT_RX (1u << 4) /* UARTIMSC/UARTICR bit 4: receive interrupt (RXIM/RXIC) */
#define UART_INT_RT (1u << 6) /* UARTIMSC/UARTICR bit 6: receive timeout (RTIM/RTIC) */

static uintptr_t uart_reg(unsigned int offset)
{
	return PL011_BASE + offset;
}

/* The TRM (3.3.8) asks for the UART to be disabled while its line control is changed. */
void uart_init(void)
{
	mmio_write32(uart_reg(UARTCR), 0);
	mmio_write32(uart_reg(UARTLCR_H), UARTLCR_H_FEN | UARTLCR_H_WLEN8);
	mmio_write32(uart_reg(UARTCR), UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE);
}

void uart_putc(char c)
{
	while (mmio_read32(uart_reg(UARTFR)) & UARTFR_TXFF)
		;
	mmio_write32(uart_reg(UARTDR), (uint8_t)c);
}

/* Return the next received byte, or -1 when the receive FIFO is empty. */
int uart_poll(void)
{
	if (mmio_read32(uart_reg(UARTFR)) & UARTFR_RXFE)
		return -1;
	/* Bits 11:8 of UARTDR are error flags; the character is bits 7:0. */
	return mmio_read32(uart_reg(UARTDR)) & 0xff;
}

/* Wait for and return the next received byte. */
int uart_getc(void)
{
	int c;

	do {
		c = uart_poll();
	} while (c < 0);
	return c;
}

/*
 * Interrupt when a byte arrives (RX) and when bytes wait in the FIFO with no more coming (receive
 * timeout, RT): with FIFOs on, RX alone would only fire once the FIFO reaches its trigger level.
 */
void uart_enable_rx_irq(void)
{
	mmio_write32(uart_reg(UARTIMSC), UART_INT_RX | UART_INT_RT);
}

/* Acknowledge the receive interrupts at the UART, so its (level-sensitive) line drops. */
void uart_clear_rx_irq(void)
{
	mmio_write32(uart_reg(UARTICR), UART_INT_RX | UART_INT_RT);
}
