/*
 * Exercise 4.2 (docs/tutorial/04-uart.md): UART loopback. Built by tests/grade/exercises/04.bats
 * from a learner's pl011.c, with the host's gcc. With UARTCR.LBE set, a byte written to UARTDR
 * goes into the receive FIFO instead of to the host (PL011 TRM 3.3.8); without it, to the host.
 * Prints one line per check that fails, then "loopback: N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pl011.h"

#define UARTDR 0x000
#define UARTFR 0x018
#define UARTCR 0x030
#define FR_RXFE 0x10
#define CR_ON 0x0301 /* UARTEN | TXE | RXE */
#define CR_LBE 0x0080

static int sent, passed, failed;

static void host_tx(void *ctx, uint8_t byte)
{
	sent++;
}

static void host_irq(void *ctx, int level)
{
}

static void check(int ok, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s\n", what);
	}
}

int main(void)
{
	struct pl011 u;

	pl011_init(&u, &(struct pl011_host){ .tx = host_tx, .irq_set = host_irq });
	pl011_write(&u, UARTCR, 4, CR_ON | CR_LBE);
	pl011_write(&u, UARTDR, 4, 'x');
	check(sent == 0, "with UARTCR.LBE set, a byte written to UARTDR does not reach the host");
	check(!(pl011_read(&u, UARTFR, 4) & FR_RXFE),
	      "with UARTCR.LBE set, the byte is in the receive FIFO");
	check((pl011_read(&u, UARTDR, 4) & 0xff) == 'x',
	      "the guest reads the looped-back byte from UARTDR");
	check(pl011_read(&u, UARTFR, 4) & FR_RXFE,
	      "after that read the receive FIFO is empty again");
	pl011_write(&u, UARTCR, 4, CR_ON);
	pl011_write(&u, UARTDR, 4, 'y');
	check(sent == 1, "with UARTCR.LBE clear, a byte written to UARTDR goes to the host again");
	printf("loopback: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
