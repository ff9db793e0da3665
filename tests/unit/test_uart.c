/* unit-test sources: stages/09-linux-boot/uart.c stages/09-linux-boot/pl011.c stages/09-linux-boot/mmio_bus.c stages/09-linux-boot/console.c stages/09-linux-boot/coalesced.c stages/09-linux-boot/dtb.c */
/*
 * test_uart.c - the PL011 as stage 09's machine adds it (uart.c's device type, as its device table
 * does), reached from two threads at once: a
 * "vCPU" reading it through the MMIO bus, as KVM_EXIT_MMIO does, and the console's real input
 * thread, which feeds it what arrives on a pipe. Built with ThreadSanitizer too (make unit): every
 * access the threads share must be ordered by the machine lock.
 *
 * What the guest reads must be exactly what was typed, in order, and the interrupt line must move
 * only when the UART's interrupt state does (raised when it was low, lowered when it was high).
 * A UART on the bus without the lock loses, repeats and reorders bytes here, and TSan names the
 * race. Nothing is timed: a watchdog only ends a test whose threads never come back.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "device.h"
#include "machine.h"
#include "memmap.h"
#include "vgic.h"

extern const struct device_type uart_device;

#define BYTES 100000 /* typed into the pipe; a race shows within thousands */
#define WATCHDOG_S 120

#define UARTDR 0x000 /* PL011 TRM 3.3: Data Register */
#define UARTFR 0x018 /* Flag Register */
#define UARTCR 0x030 /* Control Register */
#define UARTIMSC 0x038 /* Interrupt Mask Set/Clear Register */
#define UARTFR_RXFE (1u << 4) /* receive FIFO empty */
#define UARTCR_ON 0x0301 /* UARTEN, TXE, RXE */
#define UART_INT_RX_RT 0x50 /* RXIM and RTIM: interrupt when bytes are waiting */

static struct options opt; /* no trace, no virtio-console: the console's input is the UART's */
static struct machine m = { .opt = &opt, .vm = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* The fake vGIC: SPI 1's line, and the changes that were not changes. */
static int line;
static unsigned long line_changes, bad_changes;

int vgic_set_spi(int vm, unsigned int intid, int level)
{
	/* The UART's callers hold the machine lock; TSan checks that they do. */
	if (intid != UART_INTID || level == line)
		bad_changes++;
	line = level;
	line_changes++;
	return 0;
}

static uint8_t pattern(unsigned long i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void *typist(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[997]; /* odd-sized bursts, so reads and FIFO refills interleave unevenly */

	for (unsigned long i = 0; i < BYTES;) {
		size_t n = 0;

		while (n < sizeof(buf) && i + n < BYTES) {
			buf[n] = pattern(i + n);
			n++;
		}
		if (write(fd, buf, n) != (ssize_t)n)
			abort();
		i += n;
	}
	close(fd);
	return NULL;
}

static void watchdog(int sig)
{
	static const char msg[] = "test_uart: the threads never finished (watchdog)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* The guest's receive loop, as a vCPU runs it: poll UARTFR, read UARTDR, compare. */
static void test_two_threads(void)
{
	pthread_t t;
	int in[2];
	unsigned long got = 0, wrong = 0;

	CHECK_EQ(pipe(in), 0);
	pthread_mutex_lock(&m.lock);
	console_init(&m.console, NULL, NULL, &m.lock, in[0], STDOUT_FILENO, NULL, NULL);
	uart_device.add(&m, 0);
	console_start(&m.console);
	pthread_mutex_unlock(&m.lock);
	mmio_bus_write(&m.bus, PL011_BASE + UARTCR, 4, UARTCR_ON);
	mmio_bus_write(&m.bus, PL011_BASE + UARTIMSC, 4, UART_INT_RX_RT);
	CHECK_EQ(pthread_create(&t, NULL, typist, &in[1]), 0);

	while (got < BYTES) {
		if (mmio_bus_read(&m.bus, PL011_BASE + UARTFR, 4) & UARTFR_RXFE)
			continue;
		if ((uint8_t)mmio_bus_read(&m.bus, PL011_BASE + UARTDR, 4) != pattern(got))
			wrong++;
		got++;
	}
	pthread_join(t, NULL);
	CHECK_EQ(wrong, 0);
	pthread_mutex_lock(&m.lock);
	CHECK_EQ(m.console.in_bytes, BYTES);
	CHECK_EQ(bad_changes, 0);
	CHECK(line_changes > 0);
	CHECK_EQ(line, 0); /* every byte read: nothing waits, so no interrupt */
	pthread_mutex_unlock(&m.lock);
}

int main(void)
{
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	test_two_threads();
	return CHECK_DONE("uart");
}
