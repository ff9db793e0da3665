/*
 * console.c - the host end of the guest's serial line, polled.
 *
 * Output: each byte the guest sends is written to out_fd as it comes, unbuffered, so a guest that
 * stops (or crashes) has shown everything it sent.
 *
 * Input: this stage has one thread, the vCPU's, so nobody can wait for keys to be typed. Instead,
 * whenever the UART says the guest may be looking for input (it reads UARTFR or UARTDR) we ask
 * poll(2) whether in_fd has bytes, without waiting, and move as many as the receive FIFO has room
 * for. A guest that polls the UART therefore sees keys promptly; one that sleeps would never be
 * woken, which is what stage 05's interrupts and input thread are for.
 *
 * A terminal is put in raw mode (common/term.c), so keys arrive one by one, unechoed, and is put
 * back on every way out.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "term.h"

void console_init(struct console *c, struct pl011 *uart, int in_fd, int out_fd)
{
	int err;

	*c = (struct console){ .uart = uart, .in_fd = in_fd, .out_fd = out_fd };
	err = term_raw(in_fd);
	if (err)
		warn("cannot put the terminal in raw mode (%s): keys reach the guest a line at a "
		     "time",
		     strerror(-err));
	/*
	 * A reader that goes away (`| head`) makes write() fail with EPIPE instead of killing us
	 * with SIGPIPE, so we can leave through exit() and restore the terminal.
	 */
	signal(SIGPIPE, SIG_IGN);
}

void console_tx(void *ctx, uint8_t byte)
{
	struct console *c = ctx;
	struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

	for (;;) {
		ssize_t n = write(c->out_fd, &byte, 1);

		if (n == 1)
			break;
		if (n < 0 && errno == EAGAIN) /* someone made out_fd non-blocking: wait for room */
			poll(&p, 1, -1);
		else if (n < 0 && errno != EINTR)
			die_errno("cannot write the guest's output");
	}
	c->out_bytes++;
}

void console_rx_wanted(void *ctx)
{
	struct console *c = ctx;
	struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
	uint8_t buf[PL011_FIFO_DEPTH];
	size_t room = pl011_rx_room(c->uart);
	ssize_t n;

	if (c->in_done || poll(&p, 1, 0) <= 0)
		return; /* nothing typed yet (or a signal came): the guest will look again */
	n = read(c->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		c->in_bytes += pl011_receive(c->uart, buf, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		/* End of input, or none possible (closed: POLLNVAL, and read() fails: EBADF). */
		info("console: no more input (%s)", n == 0 ? "end of file" : strerror(errno));
		c->in_done = true;
	}
}
