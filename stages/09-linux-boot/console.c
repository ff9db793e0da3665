/*
 * console.c - the host end of the guest's console, with an input thread.
 *
 * Output: each byte the guest sends is written to out_fd as it comes, unbuffered, so a guest that
 * stops (or crashes) has shown everything it sent.
 *
 * Input: a thread of its own blocks in read(2) on in_fd, so it costs nothing while nobody types,
 * and hands each burst to the device (the PL011's receive FIFO, or virtio-console's receive
 * queue), whose interrupt (through KVM_IRQ_LINE) wakes a guest sleeping in WFI. The vCPU threads
 * touch the device too, from their MMIO exits, so all take the device lock first. When the device
 * has no room the thread waits on a condition variable that the device's "room again" callback
 * (console_rx_wanted) signals as the guest takes input or gives buffers.
 *
 * A terminal is put in raw mode (common/term.c), so keys arrive one by one, unechoed, and is put
 * back on every way out.
 *
 * The guest is an operating system now, and Ctrl-C belongs to it: a shell there interrupts its
 * command. So on a terminal the VMM keeps one key for itself, Ctrl-A, as QEMU (-nographic) and
 * screen do: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A and any other key send both.
 * With that way out, the terminal stops turning Ctrl-C and Ctrl-\ into signals (ISIG off), and
 * those keys reach the guest too. Input that is not a terminal passes through untouched.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "term.h"

/*
 * On top of term_raw(): no signals from the keyboard (termios(3), ISIG), since Ctrl-A x is the way
 * out. term_restore() still puts back the settings term_raw() saved, ISIG included.
 */
static int console_keys_to_guest(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	t.c_lflag &= ~ISIG;
	return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

void console_init(struct console *c, console_deliver_fn deliver, void *device,
		  pthread_mutex_t *lock, int in_fd, int out_fd, void (*quit)(void *quit_ctx),
		  void *quit_ctx)
{
	int err;

	*c = (struct console){ .deliver = deliver,
			       .device = device,
			       .lock = lock,
			       .in_fd = in_fd,
			       .out_fd = out_fd,
			       .quit = quit,
			       .quit_ctx = quit_ctx };
	pthread_cond_init(&c->room, NULL);
	err = term_raw(in_fd);
	if (err)
		warn("cannot put the terminal in raw mode (%s): keys reach the guest a line at a "
		     "time",
		     strerror(-err));
	else if (quit && isatty(in_fd))
		c->escape = console_keys_to_guest(in_fd) == 0;
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

/*
 * Take the escape sequences out of the n bytes in buf, leaving what goes to the guest in out (room
 * for n + 1 bytes: a Ctrl-A held back at the end of the last read comes out with the key after
 * it). Returns how many bytes that is; *quit is set at Ctrl-A x, and what follows it is dropped.
 */
static size_t console_escape(struct console *c, const uint8_t *buf, size_t n, uint8_t *out,
			     bool *quit)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c->escape_pending && buf[i] == CONSOLE_ESCAPE) {
			c->escape_pending = true;
			continue;
		}
		if (c->escape_pending) {
			c->escape_pending = false;
			if (buf[i] == CONSOLE_QUIT) {
				*quit = true;
				break;
			}
			if (buf[i] != CONSOLE_ESCAPE)
				out[len++] = CONSOLE_ESCAPE;
		}
		out[len++] = buf[i];
	}
	return len;
}

/*
 * The guest has taken no input for a while: read what was typed meanwhile, without waiting, and
 * drop it, as a UART whose FIFO is full loses what arrives (an overrun). Only Ctrl-A x counts:
 * returns true when it was among it.
 */
static bool console_overrun(struct console *c)
{
	struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
	uint8_t buf[64], out[sizeof(buf) + 1];
	bool quit = false;
	ssize_t n;

	while (!quit && poll(&p, 1, 0) == 1 && (n = read(c->in_fd, buf, sizeof(buf))) > 0)
		c->dropped += console_escape(c, buf, (size_t)n, out, &quit);
	return quit;
}

/*
 * Give the device all of buf, waiting for the guest to make room as often as needed. With the
 * escape on, a guest that takes no input (hung, or interrupts off) must not keep Ctrl-A x from
 * reaching us, so every second without room the keyboard is looked at. Returns true at Ctrl-A x.
 */
static bool console_deliver(struct console *c, const uint8_t *buf, size_t len)
{
	bool quit = false;

	pthread_mutex_lock(c->lock);
	for (size_t done = 0;;) {
		size_t n = c->deliver(c->device, buf + done, len - done);
		struct timespec deadline;

		done += n;
		c->in_bytes += n;
		if (done == len)
			break;
		if (!c->escape) {
			pthread_cond_wait(&c->room, c->lock);
			continue;
		}
		/* pthread_cond_timedwait() takes a CLOCK_REALTIME time, not a duration. */
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		if (pthread_cond_timedwait(&c->room, c->lock, &deadline) == ETIMEDOUT &&
		    console_overrun(c)) {
			quit = true;
			break;
		}
	}
	pthread_mutex_unlock(c->lock);
	return quit;
}

static void *console_input(void *arg)
{
	struct console *c = arg;
	struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
	uint8_t buf[64], out[sizeof(buf) + 1];

	for (;;) {
		ssize_t n = read(c->in_fd, buf, sizeof(buf));
		bool quit = false;

		if (n > 0 && c->escape) {
			size_t len = console_escape(c, buf, (size_t)n, out, &quit);

			if (len && console_deliver(c, out, len))
				quit = true;
		} else if (n > 0) {
			console_deliver(c, buf, (size_t)n);
		} else if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, -1); /* someone made in_fd non-blocking: wait for input */
		} else if (n == 0 || errno != EINTR) {
			/* End of input, or none possible (closed: EBADF). The guest runs on. */
			info("console: no more input (%s)",
			     n == 0 ? "end of file" : strerror(errno));
			return NULL;
		}
		if (quit) {
			c->quit(c->quit_ctx);
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
