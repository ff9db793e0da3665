/*
 * client.c - the host side of lab/run: sends one command to the lab's agent and relays its
 * standard input, output, error, terminal size, signals and exit status (lab/proto.h).
 *
 *   client PORT TOKEN_FILE status          print what the agent says of itself; exit 0 if it answers
 *   client PORT TOKEN_FILE run CWD CMD...  run CMD in CWD inside the lab; exit with its status
 *
 * Terminal mode (stdin and stdout are terminals): the command gets a terminal of its own inside
 * the lab, ours goes raw, and every key goes to it (Ctrl-C included, so the command's terminal
 * turns it into SIGINT). Ctrl-A x ends the command (status 130); Ctrl-A Ctrl-A sends one Ctrl-A.
 * With LAB_ESCAPE=command in the environment, the command has a Ctrl-A escape of its own (stage 09
 * does): every key goes to it, Ctrl-A included, so it sees Ctrl-A x and ends as it would outside
 * the lab, with its own status. Should it still be running 3 s later, we end it (status 130).
 * Batch mode (anything else): bytes pass through untouched, and SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT sent to us are sent on to the command, whose status then comes back as usual.
 * Status 125 means the lab failed, not the command.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define CTRL_A 0x01
/* With LAB_ESCAPE=command: how long the command has to end after Ctrl-A x before we end it. */
#define QUIT_GRACE_MS 3000
/* Stop reading our stdin while this much of it waits to be sent. */
#define BACKLOG_MAX (256u << 10)

static struct termios saved;
static int raw;
static int sigpipe[2] = { -1, -1 };

static void restore_terminal(void)
{
	if (raw)
		tcsetattr(0, TCSAFLUSH, &saved);
	raw = 0;
}

static void die(int status, const char *fmt, const char *arg)
{
	restore_terminal();
	fprintf(stderr, "lab: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(status);
}

/* Signals become bytes on a pipe, read by the main loop (the self-pipe trick). */
static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;

	if (write(sigpipe[1], &c, 1) < 0) {
		/* the pipe is full: the loop has plenty to read already */
	}
	errno = e;
}

static int connect_agent(int port, const char *token_file)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char token[LAB_TOKEN_LEN + 2] = "";
	uint8_t h[LAB_HEADER];
	int one = 1, fd;
	FILE *f = fopen(token_file, "r");

	if (!f || !fgets(token, sizeof(token), f) || strlen(token) < LAB_TOKEN_LEN)
		die(125, "cannot read the lab's token from %s", token_file);
	fclose(f);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	/* Key presses are small writes that must not wait for more (Nagle's algorithm). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lab_put_header(h, LAB_HELLO, LAB_TOKEN_LEN);
	if (send(fd, h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    send(fd, token, LAB_TOKEN_LEN, MSG_NOSIGNAL) != LAB_TOKEN_LEN)
		return -1;
	return fd;
}

/* status: the agent answers within a few seconds, or the lab is not (yet) up. */
static int status(int fd)
{
	struct lab_buf in = { 0 };
	uint8_t h[LAB_HEADER];
	uint8_t *p;
	uint32_t len;
	int type;

	lab_put_header(h, LAB_STATUS, 0);
	if (send(fd, h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
		return 1;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (lab_buf_next(&in, &type, &p, &len) > 0 && type == LAB_INFO) {
			printf("%.*s\n", (int)len, (char *)p);
			return 0;
		}
		if (poll(&pf, 1, 3000) <= 0 || lab_buf_read(&in, fd) <= 0)
			return 1;
	}
}

static void put_u16(uint8_t *p, unsigned int v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static int window_size(struct lab_buf *out, unsigned short *rows, unsigned short *cols)
{
	struct winsize ws;
	uint8_t p[4];

	if (ioctl(1, TIOCGWINSZ, &ws) || !ws.ws_row)
		ws.ws_row = 24, ws.ws_col = 80;
	*rows = ws.ws_row, *cols = ws.ws_col;
	put_u16(p, ws.ws_row);
	put_u16(p + 2, ws.ws_col);
	return out ? lab_buf_frame(out, LAB_WINSIZE, p, 4) : 0;
}

static int send_request(struct lab_buf *out, int tty, const char *cwd, char **argv)
{
	char num[32];
	unsigned short rows = 0, cols = 0;
	const char *term = getenv("TERM");
	struct lab_buf req = { 0 };
	int r;

	if (tty)
		window_size(NULL, &rows, &cols);
	lab_buf_append(&req, tty ? "tty" : "batch", tty ? 4 : 6);
	snprintf(num, sizeof(num), "%u", rows);
	lab_buf_append(&req, num, strlen(num) + 1);
	snprintf(num, sizeof(num), "%u", cols);
	lab_buf_append(&req, num, strlen(num) + 1);
	term = term && *term ? term : "vt100";
	lab_buf_append(&req, term, strlen(term) + 1);
	lab_buf_append(&req, cwd, strlen(cwd) + 1);
	for (; *argv; argv++)
		lab_buf_append(&req, *argv, strlen(*argv) + 1);
	r = req.len > LAB_FRAME_MAX ? -1 : lab_buf_frame(out, LAB_RUN, req.data, (uint32_t)req.len);
	free(req.data);
	return r;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			poll(&pf, 1, -1);
			continue;
		}
		if (w < 0)
			return; /* stdout closed (EPIPE with SIGPIPE ignored): drop it, like a pipe would */
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Terminal input with the Ctrl-A escape: returns 1 when the user asked to quit. `pending`
 * remembers a Ctrl-A at the end of one read for the next. With `through` (the command has an
 * escape of its own), every key goes to the command, Ctrl-A x included, and 1 still says it came.
 */
static int keys(struct lab_buf *out, const uint8_t *p, size_t n, int *pending, int through)
{
	uint8_t buf[2 * 4096];
	size_t m = 0;
	int quit = 0;

	for (size_t i = 0; i < n; i++) {
		int escaped = *pending;

		*pending = !escaped && p[i] == CTRL_A;
		if (escaped && (p[i] == 'x' || p[i] == 'X')) {
			quit = 1;
			if (!through)
				break;
		}
		/* Ours: a Ctrl-A waits for the next key; Ctrl-A Ctrl-A is one, Ctrl-A y both. */
		if (!through && *pending)
			continue;
		if (!through && escaped && p[i] != CTRL_A)
			buf[m++] = CTRL_A;
		buf[m++] = p[i];
	}
	if (m)
		lab_buf_frame(out, LAB_STDIN, buf, (uint32_t)m);
	return quit;
}

/* Milliseconds on a clock that never jumps. */
static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int run(int fd, const char *cwd, char **argv)
{
	struct lab_buf in = { 0 }, out = { 0 };
	int tty = isatty(0) && isatty(1);
	int stdin_open = 1, pending_ctrl_a = 0;
	const char *escape = getenv("LAB_ESCAPE");
	int through = escape && !strcmp(escape, "command");
	long long quit_by = -1; /* with `through`: when Ctrl-A x came, plus the grace */
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK))
		die(125, "%s", strerror(errno));
	for (unsigned int i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(forwarded[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	if (send_request(&out, tty, cwd, argv))
		die(125, "%s", "the command line is too long");
	if (tty && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;

		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		atexit(restore_terminal);
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = fd, .events = (short)(POLLIN | (out.len ? POLLOUT : 0)) },
			{ .fd = sigpipe[0], .events = POLLIN },
			{ .fd = stdin_open && out.len < BACKLOG_MAX ? 0 : -1, .events = POLLIN },
		};
		int type, r;
		uint8_t *payload;
		uint32_t len;

		int wait = quit_by < 0 ? -1 : (int)(quit_by > now_ms() ? quit_by - now_ms() : 0);

		if (poll(p, 3, wait) < 0 && errno != EINTR)
			die(125, "poll: %s", strerror(errno));
		if (quit_by >= 0 && now_ms() >= quit_by) {
			restore_terminal();
			fprintf(stderr, "lab: the command did not end at Ctrl-A x; ended it\n");
			exit(130);
		}
		if (p[1].revents & POLLIN) {
			unsigned char sig;

			while (read(sigpipe[0], &sig, 1) == 1) {
				if (sig == SIGWINCH) {
					unsigned short rows, cols;

					if (tty)
						window_size(&out, &rows, &cols);
				} else {
					lab_buf_frame(&out, LAB_SIGNAL, &sig, 1);
				}
			}
		}
		if (p[2].revents) {
			uint8_t buf[4096];
			ssize_t n = read(0, buf, sizeof(buf));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				n = -2;
			if (n > 0 && raw) {
				if (keys(&out, buf, (size_t)n, &pending_ctrl_a, through)) {
					if (!through) {
						restore_terminal();
						exit(130);
					}
					if (quit_by < 0)
						quit_by = now_ms() + QUIT_GRACE_MS;
				}
			} else if (n > 0) {
				lab_buf_frame(&out, LAB_STDIN, buf, (uint32_t)n);
			} else if (n != -2) {
				stdin_open = 0;
				lab_buf_frame(&out, LAB_STDIN_EOF, NULL, 0);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = lab_buf_read(&in, fd);

			if (n <= 0 && !(n < 0 && errno == EAGAIN))
				die(125, "%s",
				    "the lab stopped before the command finished (make lab-status; "
				    "its console log is in build/lab/)");
		}
		while ((r = lab_buf_next(&in, &type, &payload, &len)) > 0) {
			if (type == LAB_STDOUT)
				write_all(1, payload, len);
			else if (type == LAB_STDERR)
				write_all(2, payload, len);
			else if (type == LAB_EXIT && len == 1) {
				restore_terminal();
				exit(payload[0]);
			} else if (type == LAB_ERROR) {
				restore_terminal();
				fprintf(stderr, "lab: %.*s\n", (int)len, (char *)payload);
			}
			lab_buf_consume(&in, LAB_HEADER + len);
		}
		if (r < 0)
			die(125, "%s", "the lab sent a malformed frame");
		if (lab_buf_flush(&out, fd) < 0)
			die(125, "%s", "the connection to the lab broke");
	}
}

/* One forwarded connection: a FORWARD frame, the agent's answer, then bytes both ways. */
static void forward_one(int conn, int port, const char *token_file, int lab_port)
{
	struct lab_buf in = { 0 }, out = { 0 };
	char text[8];
	int fd = connect_agent(port, token_file), type, n;
	uint8_t *payload;
	uint32_t len;

	n = snprintf(text, sizeof(text), "%d", lab_port);
	if (fd < 0 || lab_buf_frame(&out, LAB_FORWARD, text, (uint32_t)n) ||
	    send(fd, out.data, out.len, MSG_NOSIGNAL) != (ssize_t)out.len)
		_exit(0);
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (lab_buf_next(&in, &type, &payload, &len) > 0)
			break;
		if (poll(&pf, 1, 10000) <= 0 || lab_buf_read(&in, fd) <= 0)
			_exit(0);
	}
	/* Nothing listens there (yet): gdb sees the connection close and can try again. */
	if (type != LAB_INFO)
		_exit(0);
	lab_splice(conn, fd);
	_exit(0);
}

/*
 * LAB_FORWARD=PORT (lab/run sets it for a stage's --gdb PORT): listen on the host's 127.0.0.1:PORT,
 * and carry each connection to the same port in the lab, in a process of its own. The listener
 * ends with this client (PR_SET_PDEATHSIG); a connection in progress ends when either side
 * closes it, so gdb still gets the last words of a guest that powers off.
 */
static void start_forwarding(int port, const char *token_file)
{
	const char *v = getenv("LAB_FORWARD");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, lfd, lab_port = v ? atoi(v) : 0;
	pid_t parent = getpid();

	if (lab_port < 1 || lab_port > 65535)
		return;
	a.sin_port = htons((uint16_t)lab_port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4)) {
		fprintf(stderr, "lab: cannot forward port %d for gdb: 127.0.0.1:%d: %s\n", lab_port,
			lab_port, strerror(errno));
		exit(125);
	}
	if (fork() != 0) {
		close(lfd);
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* Our output is the command's: a test that waits for it to close must not wait for us. */
	int null = open("/dev/null", O_RDWR);
	for (int std = 0; std <= 2; std++)
		dup2(null, std);
	signal(SIGCHLD, SIG_IGN); /* the connections' processes reap themselves */
	for (;;) {
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (conn < 0)
			continue;
		if (fork() == 0) {
			close(lfd);
			setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			forward_one(conn, port, token_file, lab_port);
		}
		close(conn);
	}
}

int main(int argc, char **argv)
{
	int port, fd;

	if (argc < 4 || (strcmp(argv[3], "status") && (strcmp(argv[3], "run") || argc < 6))) {
		fprintf(stderr, "usage: client PORT TOKEN_FILE status | run CWD CMD [ARG...]\n");
		return 2;
	}
	/* A standard stream closed by our caller must not become the socket (as in `lab/run <&-`). */
	for (int std = 0; std <= 2; std++)
		if (fcntl(std, F_GETFD) < 0 && open("/dev/null", O_RDWR) != std)
			return 125;
	port = atoi(argv[1]);
	fd = connect_agent(port, argv[2]);
	if (!strcmp(argv[3], "status"))
		return fd < 0 ? 1 : status(fd);
	if (fd < 0)
		die(125, "cannot reach the lab's agent: %s", strerror(errno));
	start_forwarding(port, argv[2]);
	return run(fd, argv[4], argv + 5);
}
