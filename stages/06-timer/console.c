/*
 * console.c - the host end of the guest's serial line, with an input thread.
 *
 * Output: each byte the guest sends is written to out_fd as it comes, unbuffered, so a guest that
 * stops (or crashes) has shown everything it sent.
 *
 * Input: a thread of its own blocks in read(2) on in_fd, so it costs nothing while nobody types,
 * and hands each burst to the UART, whose interrupt line (through KVM_IRQ_LINE) wakes a guest
 * sleeping in WFI. The vCPU thread touches the UART too, from its MMIO exits, so both take the
 * device lock first. The thread holds at most one FIFO's worth of input; when the FIFO is full it
 * waits on a condition variable that the UART's rx_wanted callback signals as the guest reads.
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

void console_init(struct console *c, struct pl011 *uart, pthread_mutex_t *lock, int in_fd,
		  int out_fd)
{
	int err;

	*c = (struct console){ .uart = uart, .lock = lock, .in_fd = in_fd, .out_fd = out_fd };
	pthread_cond_init(&c->room, NULL);
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

	pthread_cond_signal(&c->room);
}

/* Give the UART all of buf, waiting for the guest to make room as often as needed. */
static void console_deliver(struct console *c, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(c->lock);
	for (size_t done = 0;;) {
		size_t n = pl011_receive(c->uart, buf + done, len - done);

		done += n;
		c->in_bytes += n;
		if (done == len)
			break;
		pthread_cond_wait(&c->room, c->lock);
	}
	pthread_mutex_unlock(c->lock);
}

static void *console_input(void *arg)
{
	struct console *c = arg;
	struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
	uint8_t buf[PL011_FIFO_DEPTH];

	for (;;) {
		ssize_t n = read(c->in_fd, buf, sizeof(buf));

		if (n > 0) {
			console_deliver(c, buf, (size_t)n);
		} else if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, -1); /* someone made in_fd non-blocking: wait for input */
		} else if (n == 0 || errno != EINTR) {
			/* End of input, or none possible (closed: EBADF). The guest runs on. */
			info("console: no more input (%s)",
			     n == 0 ? "end of file" : strerror(errno));
			return NULL;
		}
	}
}

void console_start(struct console *c)
{
	pthread_t thread;
	int err = pthread_create(&thread, NULL, console_input, c);

	if (err)
		die("cannot start the console input thread: %s", strerror(err));
	/* Nobody waits for it: it ends with its input, or with the process. */
	pthread_detach(thread);
}
