/*
 * console.c - the host end of the guest's console, with an input thread.
 *
 * Output: each byte the guest sends is written to out_fd as it comes, unbuffered, so a guest that
 * stops (or crashes) has shown everything it sent. A terminal or pipe is written through a
 * non-blocking open file of its own (file_writer(), common/file.c), so a reader that stops reading
 * (Ctrl-S, a full pipe) makes a write wait in slices, between which a machine that is stopping
 * (console_output_cancel) drops the byte: a stalled terminal holds up no stop, reboot or Ctrl-A x.
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
#include "file.h"
#include "log.h"
#include "term.h"

/* How long output waits for a full terminal before looking at whether the machine stops. */
#define CONSOLE_OUT_WAIT_MS 100

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
			       .out_fd = file_writer(out_fd),
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
		if (n < 0 && errno == EAGAIN) {
			/* Full: wait for room, unless the machine is stopping (then drop the byte). */
			if (__atomic_load_n(&c->out_cancel, __ATOMIC_ACQUIRE)) {
				c->out_dropped++;
				return;
			}
			poll(&p, 1, CONSOLE_OUT_WAIT_MS);
		} else if (n < 0 && errno != EINTR) {
			die_errno("cannot write the guest's output");
		}
	}
	c->out_bytes++;
}

void console_output_cancel(struct console *c, bool cancel)
{
	__atomic_store_n(&c->out_cancel, cancel, __ATOMIC_RELEASE);
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

/* Keep n bytes of input for the guest, as far as the hold has room; the rest is lost (an overrun). */
static void console_hold(struct console *c, const uint8_t *buf, size_t n)
{
	size_t room = sizeof(c->held) - c->held_len;
	size_t take = n < room ? n : room;

	memcpy(c->held + c->held_len, buf, take);
	c->held_len += take;
	c->dropped += n - take;
}

/*
 * The guest has no room for the input held: read what was typed meanwhile, without waiting, and
 * hold it behind the rest. Returns true when Ctrl-A x was among it (what follows it is dropped).
 */
static bool console_keys_meanwhile(struct console *c)
{
	struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
	uint8_t buf[64], out[sizeof(buf) + 1];
	bool quit = false;
	ssize_t n;

	while (!quit && poll(&p, 1, 0) == 1 && (n = read(c->in_fd, buf, sizeof(buf))) > 0)
		console_hold(c, out, console_escape(c, buf, (size_t)n, out, &quit));
	return quit;
}

/*
 * Give the device all of buf, and what is typed meanwhile, waiting for the guest to make room as
 * often as needed; with wait false, only what it takes at once. With the escape on, a guest that
 * takes no input (hung, or interrupts off) must not keep Ctrl-A x from reaching us, however often
 * it wakes us (every UARTFR read does): the keyboard is looked at after every wake-up, and at
 * least once a second. Returns true at Ctrl-A x.
 */
static bool console_deliver(struct console *c, const uint8_t *buf, size_t len, bool wait)
{
	bool quit = false;

	pthread_mutex_lock(c->lock);
	console_hold(c, buf, len);
	while (c->held_len) {
		size_t n = c->deliver(c->device, c->held, c->held_len);
		struct timespec deadline;

		memmove(c->held, c->held + n, c->held_len - n);
		c->held_len -= n;
		c->in_bytes += n;
		if (!c->held_len || !wait)
			break;
		if (!c->escape) {
			pthread_cond_wait(&c->room, c->lock);
			continue;
		}
		/* pthread_cond_timedwait() takes a CLOCK_REALTIME time, not a duration. */
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		pthread_cond_timedwait(&c->room, c->lock, &deadline);
		if (console_keys_meanwhile(c)) {
			quit = true;
			break;
		}
	}
	if (!wait)
		c->held_len = 0;
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

			/* Keys before a Ctrl-A x go in if there is room; nobody waits for it. */
			if (console_deliver(c, out, len, !quit))
				quit = true;
		} else if (n > 0) {
			console_deliver(c, buf, (size_t)n, true);
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

void console_connect(struct console *c, console_deliver_fn deliver, void *device)
{
	c->deliver = deliver;
	c->device = device;
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
