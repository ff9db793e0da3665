/* uart.h - polled and interrupt-driven use of the PL011 UART at 0x09000000 (see uart.c). */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#define UART_INTID 33 /* the PL011's interrupt line: SPI 1 on the virt machine, level-sensitive */

void uart_init(void);
void uart_putc(char c);
int uart_getc(void);
int uart_poll(void);
void uart_enable_rx_irq(void);
void uart_clear_rx_irq(void);

#endif
