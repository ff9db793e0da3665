/*
 * echo.c - a polled console, run by stage 04 (04-uart) first.
 *
 * It teaches the receive side of the PL011: the guest asks the flag register whether the receive
 * FIFO is empty (UARTFR.RXFE) over and over, and reads the data register when it is not, so the
 * VMM must feed what is typed on the terminal into its UART model. Each byte is echoed back (a CR,
 * what the Enter key sends on a raw terminal, as CR LF) until 'q', then the guest powers off.
 */
#include "printf.h"
#include "uart.h"

void main(void)
{
	int c;

	uart_init();
	printf("echo: type, q to quit\n");
	while ((c = uart_getc()) != 'q') {
		uart_putc((char)c);
		if (c == '\r')
			uart_putc('\n');
	}
	printf("\nbye\n");
}
