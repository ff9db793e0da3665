/* unit-test sources: stages/09-linux-boot/console.c */
/*
 * test_console.c - the console of the last stage (console.c): output to out_fd, input from a
 * pipe passed through untouched, and on a terminal (a pseudo-terminal here, posix_openpt(3)) the
 * Ctrl-A escape: Ctrl-A x quits and drops what follows, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A
 * and any other key send both, a Ctrl-A at the end of one read pairs with the next read's first
 * key, and Ctrl-A x still quits while the guest takes no input, even when the guest wakes the
 * console all the time (as every UARTFR read does); the keys typed meanwhile are held, in order,
 * not lost. Output to a terminal nobody reads waits, and gives up its byte once the machine stops.
 * Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "join.h"
#include "console.h"
#include "file.h"

/* A fake device: what the console delivered, and whether it has room. */
struct device {
	uint8_t got[256];
	size_t len;
	bool full; /* take nothing, as a guest that reads no input */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int quits;

/* Called with the lock held, as the device's receive function is. */
static size_t deliver(void *device, const uint8_t *buf, size_t len)
{
	struct device *d = device;

	if (d->full)
		return 0;
	if (len > sizeof(d->got) - d->len)
		len = sizeof(d->got) - d->len;
	memcpy(d->got + d->len, buf, len);
	d->len += len;
	return len;
}

static void quit(void *ctx)
{
	pthread_mutex_lock(&lock);
	quits++;
	pthread_mutex_unlock(&lock);
}

static void sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Wait up to 5 s for the device to hold want bytes; true if it does (and exactly them). */
static bool wait_for(struct device *d, const char *want, size_t len)
{
	bool ok = false;

	for (int i = 0; i < 500 && !ok; i++) {
		pthread_mutex_lock(&lock);
		ok = d->len == len && memcmp(d->got, want, len) == 0;
		if (d->len > len)
			i = 500;
		pthread_mutex_unlock(&lock);
		if (!ok)
			sleep_ms(10);
	}
	return ok;
}

/* Wait up to timeout_ms for quit() to have been called n times. */
static bool wait_quits(int n, long timeout_ms)
{
	bool ok = false;

	for (long t = 0; t <= timeout_ms && !ok; t += 10) {
		pthread_mutex_lock(&lock);
		ok = quits == n;
		pthread_mutex_unlock(&lock);
		if (!ok)
			sleep_ms(10);
	}
	return ok;
}

static void put(int fd, const char *s, size_t len)
{
	CHECK_EQ(write(fd, s, len), len);
}

/* A pseudo-terminal: *master is the keyboard end, the returned fd the terminal the VMM reads. */
static int open_terminal(int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(*master >= 0);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0)
		return -1;
	return open(ptsname(*master), O_RDWR | O_NOCTTY);
}

static void test_output(void)
{
	struct console c;
	struct device d = { 0 };
	int out[2];
	char buf[8] = { 0 };

	CHECK_EQ(pipe(out), 0);
	console_init(&c, deliver, &d, &lock, -1, out[1], NULL, NULL);
	CHECK(!c.escape);
	console_tx(&c, 'o');
	console_tx(&c, 'k');
	CHECK_EQ(c.out_bytes, 2);
	CHECK_EQ(read(out[0], buf, sizeof(buf)), 2);
	CHECK_STR(buf, "ok");
	close(out[0]);
	close(out[1]);
}

/* A pipe is not a terminal: Ctrl-A and x are bytes like any other, and nothing quits. */
static void test_pipe_passes_through(void)
{
	static struct console c;
	static struct device d;
	int in[2];

	quits = 0;
	CHECK_EQ(pipe(in), 0);
	console_init(&c, deliver, &d, &lock, in[0], STDOUT_FILENO, quit, NULL);
	CHECK(!c.escape);
	console_start(&c);
	put(in[1], "a\001xb", 4);
	CHECK(wait_for(&d, "a\001xb", 4));
	close(in[1]); /* end of input: the thread ends */
	CHECK(wait_quits(0, 100));
	CHECK_EQ(c.in_bytes, 4);
}

static void test_terminal_escape(void)
{
	static struct console c;
	static struct device d;
	int master, tty = open_terminal(&master);
	struct termios t;

	quits = 0;
	CHECK(tty >= 0);
	if (tty < 0)
		return;
	console_init(&c, deliver, &d, &lock, tty, STDOUT_FILENO, quit, NULL);
	CHECK(c.escape);
	/* Raw, and no signals from the keyboard: Ctrl-C is the guest's. */
	CHECK_EQ(tcgetattr(tty, &t), 0);
	CHECK_EQ(t.c_lflag & (ISIG | ICANON | ECHO), 0);
	console_start(&c);

	/* Plain keys, Ctrl-C included, go as they are. */
	put(master, "ab\003", 3);
	CHECK(wait_for(&d, "ab\003", 3));
	/* Ctrl-A Ctrl-A: one Ctrl-A. Ctrl-A z: both. */
	put(master, "\001\001c\001z", 5);
	CHECK(wait_for(&d, "ab\003\001c\001z", 7));
	/* A Ctrl-A at the end of one read waits for the next key, here not x. */
	put(master, "\001", 1);
	sleep_ms(100);
	CHECK(wait_for(&d, "ab\003\001c\001z", 7));
	put(master, "q", 1);
	CHECK(wait_for(&d, "ab\003\001c\001z\001q", 9));
	CHECK(wait_quits(0, 0));
	/* Ctrl-A x: quit, and what follows it in the same read is dropped. */
	put(master, "d\001xe", 4);
	CHECK(wait_quits(1, 5000));
	CHECK(wait_for(&d, "ab\003\001c\001z\001qd", 10));
	CHECK_EQ(c.in_bytes, 10);
	close(tty);
	close(master);
}

/* The guest takes no input: Ctrl-A x, typed after other keys, still quits, within seconds. */
static void test_quit_while_full(void)
{
	static struct console c;
	static struct device d = { .full = true };
	int master, tty = open_terminal(&master);
	struct termios t;

	quits = 0;
	CHECK(tty >= 0);
	if (tty < 0)
		return;
	/* term.c puts one terminal per process in raw mode, the first: do it for this one. */
	CHECK_EQ(tcgetattr(tty, &t), 0);
	t.c_lflag &= ~(ICANON | ECHO);
	CHECK_EQ(tcsetattr(tty, TCSANOW, &t), 0);
	console_init(&c, deliver, &d, &lock, tty, STDOUT_FILENO, quit, NULL);
	CHECK(c.escape);
	CHECK_EQ(tcgetattr(tty, &t), 0);
	CHECK_EQ(t.c_lflag & ISIG, 0);
	console_start(&c);
	put(master, "abc", 3);
	sleep_ms(100);
	put(master, "de\001x", 4);
	CHECK(wait_quits(1, 5000));
	pthread_mutex_lock(&lock);
	CHECK_EQ(d.len, 0);
	/* "abc" waited to be delivered, "de" was read looking for Ctrl-A x: both held, none lost. */
	CHECK_EQ(c.held_len, 5);
	CHECK(memcmp(c.held, "abcde", 5) == 0);
	CHECK_EQ(c.dropped, 0);
	pthread_mutex_unlock(&lock);
	close(tty);
	close(master);
}

/* A terminal for the console of one test: raw as term.c makes only the first one. */
static int open_raw_terminal(int *master)
{
	int tty = open_terminal(master);
	struct termios t;

	CHECK(tty >= 0);
	if (tty < 0)
		return -1;
	CHECK_EQ(tcgetattr(tty, &t), 0);
	t.c_lflag &= ~(ICANON | ECHO);
	CHECK_EQ(tcsetattr(tty, TCSANOW, &t), 0);
	return tty;
}

/* A guest that polls the UART every few milliseconds: each poll wakes the console. */
static bool polling;

static void *poller(void *arg)
{
	struct console *c = arg;

	for (;;) {
		pthread_mutex_lock(&lock);
		bool go_on = polling;
		console_rx_wanted(c);
		pthread_mutex_unlock(&lock);
		if (!go_on)
			return NULL;
		sleep_ms(3);
	}
}

/*
 * The guest takes no input but reads UARTFR all the time, as a printk does: Ctrl-A x quits
 * within about a second all the same (a wake-up must not put the look at the keyboard off).
 */
static void test_quit_while_polled(void)
{
	static struct console c;
	static struct device d = { .full = true };
	int master, tty = open_raw_terminal(&master);
	pthread_t t;

	quits = 0;
	if (tty < 0)
		return;
	console_init(&c, deliver, &d, &lock, tty, STDOUT_FILENO, quit, NULL);
	CHECK(c.escape);
	console_start(&c);
	polling = true;
	CHECK_EQ(pthread_create(&t, NULL, poller, &c), 0);
	put(master, "abc", 3);
	sleep_ms(100);
	put(master, "\001x", 2);
	CHECK(wait_quits(1, 1500));
	pthread_mutex_lock(&lock);
	polling = false;
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);
	close(tty);
	close(master);
}

/* Keys typed while the guest takes none for seconds arrive, in order, once it has room. */
static void test_keys_held_while_full(void)
{
	static struct console c;
	static struct device d = { .full = true };
	int master, tty = open_raw_terminal(&master);

	quits = 0;
	if (tty < 0)
		return;
	console_init(&c, deliver, &d, &lock, tty, STDOUT_FILENO, quit, NULL);
	console_start(&c);
	put(master, "abc", 3);
	sleep_ms(100);
	put(master, "def", 3);
	sleep_ms(1500); /* past the once-a-second look at the keyboard */
	put(master, "gh", 2);
	sleep_ms(1200);
	pthread_mutex_lock(&lock);
	d.full = false;
	console_rx_wanted(&c);
	pthread_mutex_unlock(&lock);
	CHECK(wait_for(&d, "abcdefgh", 8));
	CHECK_EQ(c.dropped, 0);
	CHECK(wait_quits(0, 0));
	close(tty);
	close(master);
}

static void *tx_thread(void *arg)
{
	console_tx(arg, 'z');
	return NULL;
}

/*
 * Output to a pipe nobody reads: the PL011's byte waits (it is not lost while the machine runs),
 * and the wait ends when the machine stops, the byte dropped and counted.
 */
static void test_output_stalled(void)
{
	static struct console c;
	static struct device d;
	static char junk[64 << 10];
	int out[2];
	pthread_t t;

	CHECK_EQ(pipe(out), 0);
	console_init(&c, deliver, &d, &lock, -1, out[1], NULL, NULL);
	/* Fill the pipe through a non-blocking writer of our own. */
	int w = file_writer(out[1]);
	CHECK(w != out[1]);
	while (write(w, junk, sizeof(junk)) > 0)
		;
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(pthread_create(&t, NULL, tx_thread, &c), 0);
	CHECK(!join_within(t, 300)); /* waiting for room, as it should while the machine runs */
	console_output_cancel(&c, true);
	CHECK(join_within(t, 2000));
	CHECK_EQ(c.out_dropped, 1);
	CHECK_EQ(c.out_bytes, 0);
	/* The next boot: output flows again once there is room. */
	console_output_cancel(&c, false);
	CHECK_EQ(fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
	while (read(out[0], junk, sizeof(junk)) > 0)
		;
	console_tx(&c, 'y');
	CHECK_EQ(c.out_bytes, 1);
	close(w);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	test_output();
	test_pipe_passes_through();
	test_terminal_escape();
	test_quit_while_full();
	test_quit_while_polled();
	test_keys_held_while_full();
	test_output_stalled();
	return CHECK_DONE("console");
}
