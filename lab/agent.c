/*
 * agent.c - PID 1 of the lab, once lab/init has set the machine up: runs the commands that
 * lab/client sends from the host, one TCP connection each, several at once.
 *
 *   agent TOP TOKEN_FILE IDLE_SECONDS
 *
 * TOP is the checkout (shared at the same path); TOKEN_FILE holds the secret a client must send
 * first (lab/proto.h); after IDLE_SECONDS with no command running, the agent powers the lab off.
 *
 * Each connection gets a process of its own (a session) that starts the command with pipes for
 * its standard input, output and error (batch mode) or on a new pseudo-terminal (terminal mode),
 * in a process group of its own, and relays bytes both ways. When the host side goes away (the
 * client was killed, the user's timeout fired), the session kills the whole process group, so a
 * command never outlives the host command that started it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define MAX_SESSIONS 64
/* Stop reading from one side while this much waits to be written to the other. */
#define BACKLOG_MAX (4u << 20)
/* After the command exits, how long its output may still arrive (from children it left). */
#define DRAIN_MS 2000

/* What the sessions and PID 1 share: which sessions run a command, and since when all are idle. */
struct shared {
	pid_t pid[MAX_SESSIONS];
	int running[MAX_SESSIONS];
	time_t idle_since;
	time_t boot;
};
static struct shared *sh;
static const char *top;
static char token[LAB_TOKEN_LEN + 1];

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("lab-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int commands_running(void)
{
	int n = 0;

	for (int i = 0; i < MAX_SESSIONS; i++)
		n += sh->pid[i] && __atomic_load_n(&sh->running[i], __ATOMIC_RELAXED);
	return n;
}

/* --- one session: the command and the relay -------------------------------------------------- */

struct session {
	int sock, slot;
	struct lab_buf in, out; /* frames from the client; frames for the client */
	struct lab_buf stdin_bytes; /* for the command, not yet written */
	int stdin_eof;
	int tty;
	int master; /* terminal mode: the pseudo-terminal's master side */
	int to_cmd, from_out, from_err; /* batch mode: the pipes */
	pid_t pid;
	int pidfd, exited, status;
};

static void send_frame(struct session *s, int type, const void *p, size_t n)
{
	if (lab_buf_frame(&s->out, type, p, (uint32_t)n))
		_exit(1);
}

static void send_error(struct session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_frame(s, LAB_ERROR, msg, strlen(msg));
}

/* Blocks until everything queued for the client is sent (or the client is gone). */
static void flush_all(struct session *s)
{
	while (s->out.len) {
		struct pollfd p = { .fd = s->sock, .events = POLLOUT };

		if (lab_buf_flush(&s->out, s->sock) < 0)
			return;
		if (s->out.len && poll(&p, 1, 5000) <= 0)
			return;
	}
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/*
 * The command runs in the host's directory, at the same path. The checkout is mounted at its own
 * path for every command; any other directory is taken from the host's root (mounted at /host)
 * and bound at its path in a mount namespace of this command's own, so commands in different
 * directories do not see each other's mounts.
 */
static int enter_cwd(const char *cwd)
{
	size_t n = strlen(top);
	char host[4096 + 8], path[4096];

	if (strncmp(cwd, top, n) || (cwd[n] && cwd[n] != '/')) {
		if (snprintf(host, sizeof(host), "/host%s", cwd) >= (int)sizeof(host) ||
		    snprintf(path, sizeof(path), "%s", cwd) >= (int)sizeof(path))
			return errno = ENAMETOOLONG, -1;
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mkdir_p(path) || mount(host, cwd, NULL, MS_BIND | MS_REC, NULL))
			return -1;
	}
	return chdir(cwd);
}

/* In the child: set up the process and exec the command. Failures go to its stderr. */
static void exec_command(struct session *s, char *mode_term, char *cwd, char **argv)
{
	setsid();
	if (s->tty) {
		char *name = ptsname(s->master);
		int fd = name ? open(name, O_RDWR) : -1;

		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0))
			_exit(126);
		dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		if (fd > 2)
			close(fd);
	} else {
		dup2(s->to_cmd, 0), dup2(s->from_out, 1), dup2(s->from_err, 2);
	}
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	clearenv();
	setenv("PATH", "/bin:/sbin", 1);
	setenv("HOME", "/tmp", 1);
	setenv("TERM", mode_term, 1);
	if (enter_cwd(cwd)) {
		fprintf(stderr, "lab: cannot enter %s: %s\n", cwd, strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "lab: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* RUN's payload: NUL-terminated strings. Returns argv (NULL-terminated) or NULL if malformed. */
static char **parse_run(uint8_t *p, uint32_t len, char **field, int nfields)
{
	char **argv;
	int n = 0, argc = 0;

	if (!len || p[len - 1] != '\0')
		return NULL;
	for (uint32_t i = 0; i < len; i++)
		n += p[i] == '\0';
	if (n <= nfields)
		return NULL;
	argv = calloc((size_t)(n - nfields + 1), sizeof(*argv));
	if (!argv)
		return NULL;
	for (char *q = (char *)p; q < (char *)p + len; q += strlen(q) + 1) {
		if (nfields) {
			*field++ = q;
			nfields--;
		} else {
			argv[argc++] = q;
		}
	}
	return argv;
}

static int start_command(struct session *s, uint8_t *p, uint32_t len)
{
	char *f[5]; /* mode, rows, cols, TERM, cwd */
	char **argv = parse_run(p, len, f, 5);
	int in[2], out[2], err[2];

	if (!argv || !argv[0]) {
		send_error(s, "malformed request");
		return -1;
	}
	s->tty = !strcmp(f[0], "tty");
	if (s->tty) {
		struct winsize ws = { .ws_row = (unsigned short)atoi(f[1]),
				      .ws_col = (unsigned short)atoi(f[2]) };

		s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s->master < 0 || grantpt(s->master) || unlockpt(s->master)) {
			send_error(s, "no pseudo-terminal: %s", strerror(errno));
			return -1;
		}
		ioctl(s->master, TIOCSWINSZ, &ws);
	} else if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		send_error(s, "no pipes: %s", strerror(errno));
		return -1;
	}
	if (!s->tty) {
		s->to_cmd = in[0], s->from_out = out[1], s->from_err = err[1];
	}
	s->pid = fork();
	if (s->pid == 0)
		exec_command(s, f[3], f[4], argv);
	if (s->pid < 0) {
		send_error(s, "cannot fork: %s", strerror(errno));
		return -1;
	}
	if (!s->tty) {
		close(in[0]), close(out[1]), close(err[1]);
		s->to_cmd = in[1], s->from_out = out[0], s->from_err = err[0];
		fcntl(s->to_cmd, F_SETFL, O_NONBLOCK);
	} else {
		s->to_cmd = s->master;
		fcntl(s->master, F_SETFL, O_NONBLOCK);
	}
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (s->pidfd < 0) {
		send_error(s, "pidfd_open: %s", strerror(errno));
		kill(s->pid, SIGKILL);
		return -1;
	}
	__atomic_store_n(&sh->running[s->slot], 1, __ATOMIC_RELAXED);
	free(argv);
	return 0;
}

/* Handles the frames that have arrived. Returns -1 when the session must end. */
static int handle_frames(struct session *s)
{
	int type, r;
	uint8_t *p;
	uint32_t len;

	while ((r = lab_buf_next(&s->in, &type, &p, &len)) > 0) {
		switch (type) {
		case LAB_STDIN:
			if (!s->stdin_eof && lab_buf_append(&s->stdin_bytes, p, len))
				return -1;
			break;
		case LAB_STDIN_EOF:
			s->stdin_eof = 1;
			break;
		case LAB_WINSIZE:
			if (s->tty && len == 4) {
				struct winsize ws = { .ws_row = (unsigned short)(p[0] | p[1] << 8),
						      .ws_col =
							      (unsigned short)(p[2] | p[3] << 8) };

				/* The kernel sends SIGWINCH to the terminal's foreground group. */
				ioctl(s->master, TIOCSWINSZ, &ws);
			}
			break;
		case LAB_SIGNAL:
			if (len == 1 && s->pid > 0 && !s->exited)
				kill(-s->pid, p[0]);
			break;
		default:
			return -1;
		}
		lab_buf_consume(&s->in, LAB_HEADER + len);
	}
	return r < 0 ? -1 : 0;
}

/* Moves pending standard input to the command; at its end, the command sees end of file. */
static void feed_stdin(struct session *s)
{
	while (s->stdin_bytes.len && s->to_cmd >= 0) {
		ssize_t n = write(s->to_cmd, s->stdin_bytes.data, s->stdin_bytes.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) { /* the command closed its input: what is left has no reader */
			s->stdin_bytes.len = 0;
			break;
		}
		lab_buf_consume(&s->stdin_bytes, (size_t)n);
	}
	if (s->stdin_eof && !s->stdin_bytes.len && !s->tty && s->to_cmd >= 0) {
		close(s->to_cmd);
		s->to_cmd = -1;
	}
}

/* Reads command output from fd into a frame of the given type; -1 at its end. */
static int relay_output(struct session *s, int fd, int type)
{
	uint8_t buf[65536];
	ssize_t n;

	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) /* end of file; EIO on a master whose terminal every process closed */
		return -1;
	send_frame(s, type, buf, (size_t)n);
	return 0;
}

static void end_session(struct session *s, int status)
{
	uint8_t code = (uint8_t)status;

	if (s->pid > 0)
		kill(-s->pid, SIGKILL); /* whatever the command left behind */
	/* Idle from now on, before the client hears of it: a status right after must say so. */
	sh->idle_since = now();
	__atomic_store_n(&sh->running[s->slot], 0, __ATOMIC_RELEASE);
	send_frame(s, LAB_EXIT, &code, 1);
	flush_all(s);
	_exit(0);
}

static void relay(struct session *s)
{
	long drain_until = 0;
	int out_open = 1, err_open = !s->tty;

	for (;;) {
		struct pollfd p[5];
		int n = 0, i_sock, i_out = -1, i_err = -1, i_in = -1, i_pid = -1;

		if (s->exited && (!(out_open || err_open) || now_ms() > drain_until))
			end_session(s, s->status);
		i_sock = n;
		p[n++] = (struct pollfd){
			.fd = s->sock,
			.events = (short)(POLLRDHUP |
					  (s->stdin_bytes.len < BACKLOG_MAX ? POLLIN : 0) |
					  (s->out.len ? POLLOUT : 0))
		};
		if (s->out.len < BACKLOG_MAX) {
			if (out_open) {
				i_out = n;
				p[n++] = (struct pollfd){ .fd = s->tty ? s->master : s->from_out,
							  .events = POLLIN };
			}
			if (err_open) {
				i_err = n;
				p[n++] = (struct pollfd){ .fd = s->from_err, .events = POLLIN };
			}
		}
		if (s->stdin_bytes.len && s->to_cmd >= 0) {
			i_in = n;
			p[n++] = (struct pollfd){ .fd = s->to_cmd, .events = POLLOUT };
		}
		if (!s->exited) {
			i_pid = n;
			p[n++] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
		}
		if (poll(p, (nfds_t)n, s->exited ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			end_session(s, 125);
		}
		if (p[i_sock].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) {
			ssize_t r = lab_buf_read(&s->in, s->sock);

			/* The host side is gone: so is the command, all of it. */
			if ((r <= 0 && !(r < 0 && errno == EAGAIN)) || handle_frames(s) < 0) {
				if (s->pid > 0)
					kill(-s->pid, SIGKILL);
				_exit(0);
			}
			if (s->to_cmd >= 0)
				feed_stdin(s);
		}
		if ((p[i_sock].revents & POLLOUT) && lab_buf_flush(&s->out, s->sock) < 0) {
			kill(-s->pid, SIGKILL);
			_exit(0);
		}
		if (i_out >= 0 && p[i_out].revents && relay_output(s, p[i_out].fd, LAB_STDOUT) < 0)
			out_open = 0;
		if (i_err >= 0 && p[i_err].revents && relay_output(s, s->from_err, LAB_STDERR) < 0)
			err_open = 0;
		if (i_in >= 0 && p[i_in].revents)
			feed_stdin(s);
		if (i_pid >= 0 && p[i_pid].revents) {
			int st;

			if (waitpid(s->pid, &st, 0) == s->pid) {
				s->exited = 1;
				s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				drain_until = now_ms() + DRAIN_MS;
			}
		}
		lab_buf_flush(&s->out, s->sock);
	}
}

/*
 * FORWARD: join the client to a TCP port a command listens on in the lab. The command may still be
 * starting (a VMM opens its --gdb port after the lab started it), so the connection is retried
 * for a few seconds before the client is told it failed.
 */
static void forward(struct session *s, const uint8_t *p, uint32_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char port[8] = "";
	int fd = -1;
	long n;

	if (len == 0 || len >= sizeof(port))
		_exit(0);
	memcpy(port, p, len);
	n = strtol(port, NULL, 10);
	if (n < 1 || n > 65535)
		_exit(0);
	a.sin_port = htons((uint16_t)n);
	for (int try = 0; try < 50; try++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(100000);
	}
	if (fd < 0) {
		send_error(s, "nothing listens on port %ld in the lab", n);
		flush_all(s);
		_exit(0);
	}
	send_frame(s, LAB_INFO, "ok", 2);
	flush_all(s);
	lab_splice(s->sock, fd);
	_exit(0);
}

static void session(int sock, int slot)
{
	struct session s = { .sock = sock, .slot = slot, .master = -1, .to_cmd = -1 };
	long deadline = now_ms() + 10000;
	int type, r;
	uint8_t *p;
	uint32_t len;

	signal(SIGPIPE, SIG_IGN);
	/* The greeting and the request, within a bound: a stuck client must not hold a slot. */
	for (int stage = 0; stage < 2;) {
		struct pollfd pf = { .fd = sock, .events = POLLIN };

		while (stage < 2 && (r = lab_buf_next(&s.in, &type, &p, &len)) > 0) {
			if (stage == 0) {
				if (type != LAB_HELLO || len != LAB_TOKEN_LEN ||
				    memcmp(p, token, len))
					_exit(0);
			} else if (type == LAB_STATUS) {
				char msg[128];
				int m = snprintf(
					msg, sizeof(msg), "commands=%d idle=%ld uptime=%ld",
					commands_running(),
					commands_running() ? 0L : (long)(now() - sh->idle_since),
					(long)(now() - sh->boot));

				send_frame(&s, LAB_INFO, msg, (size_t)m);
				flush_all(&s);
				_exit(0);
			} else if (type == LAB_FORWARD) {
				forward(&s, p, len);
			} else if (type == LAB_RUN) {
				if (start_command(&s, p, len)) {
					send_frame(&s, LAB_EXIT, "\x7d",
						   1); /* 125: the lab failed */
					flush_all(&s);
					_exit(0);
				}
			} else {
				_exit(0);
			}
			lab_buf_consume(&s.in, LAB_HEADER + len);
			stage++;
		}
		if (stage == 2)
			break;
		if (r < 0 || poll(&pf, 1, (int)(deadline - now_ms())) <= 0 ||
		    lab_buf_read(&s.in, sock) <= 0)
			_exit(0);
	}
	if (handle_frames(&s) < 0) {
		kill(-s.pid, SIGKILL);
		_exit(0);
	}
	feed_stdin(&s);
	relay(&s);
}

/* --- PID 1: accept, fork, reap, and power off when idle --------------------------------------- */

static void reap(void)
{
	pid_t pid;

	/* As PID 1, every orphan in the lab ends up here too. */
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_SESSIONS; i++) {
			if (sh->pid[i] != pid)
				continue;
			/*
			 * Any connection counts as use: lab/run asks for the status just before it
			 * sends a command, and the lab must not power off in between.
			 */
			sh->idle_since = now();
			sh->pid[i] = 0;
			sh->running[i] = 0;
		}
	}
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64))
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	long idle;
	int lfd, fd, served = 0;
	FILE *f;

	if (argc != 4) {
		say("usage: agent TOP TOKEN_FILE IDLE_SECONDS");
		return 2;
	}
	top = argv[1];
	idle = atol(argv[3]);
	f = fopen(argv[2], "r");
	if (!f || !fgets(token, sizeof(token), f) || strlen(token) != LAB_TOKEN_LEN) {
		say("cannot read the token from %s", argv[2]);
		return 1;
	}
	fclose(f);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	lfd = listen_on(LAB_AGENT_PORT);
	if (sh == MAP_FAILED || lfd < 0) {
		say("cannot listen on port %d: %s", LAB_AGENT_PORT, strerror(errno));
		return 1;
	}
	sh->boot = sh->idle_since = now();
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int slot = -1;

		reap();
		/*
		 * Before its first connection a lab is still being started: lab/run may need a
		 * few tries to reach it on a busy host, and must not find it powered off.
		 */
		if (idle > 0 && !commands_running() &&
		    now() - sh->idle_since >= (served || idle > 120 ? idle : 120)) {
			say("idle for %ld s: powering off", idle);
			sync();
			reboot(RB_POWER_OFF);
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		served = 1;
		for (int i = 0; i < MAX_SESSIONS && slot < 0; i++)
			if (!sh->pid[i])
				slot = i;
		if (slot < 0) {
			close(fd);
			continue;
		}
		sh->pid[slot] = fork();
		if (sh->pid[slot] == 0) {
			close(lfd);
			session(fd, slot);
		}
		if (sh->pid[slot] < 0)
			sh->pid[slot] = 0;
		close(fd);
	}
}
