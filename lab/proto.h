/*
 * proto.h - the wire protocol between lab/client (on the host) and lab/agent (PID 1 of the lab).
 *
 * One TCP connection per command, carried by QEMU's user-mode network from 127.0.0.1 on the host
 * to the agent. Every message is a frame: a type byte, the payload's length as a 32-bit
 * little-endian number, then the payload. lab/README.md explains why this transport.
 *
 *   client                                  agent
 *   HELLO token                      ->     (closes the connection unless the token matches)
 *   RUN mode rows cols term cwd argv ->     starts the command
 *   STDIN ... STDIN_EOF, WINSIZE,    ->     to the command
 *   SIGNAL
 *                                    <-     STDOUT, STDERR ... EXIT status
 * or, instead of RUN:
 *   STATUS                           ->
 *                                    <-     INFO "commands=N idle=S uptime=S"
 * or, instead of RUN, to reach a TCP port a command listens on in the lab (a stage's --gdb):
 *   FORWARD port                     ->     connects to 127.0.0.1:port in the lab
 *                                    <-     INFO "ok" (or ERROR text, and the end)
 *   then the connection carries that TCP stream's bytes both ways, unframed.
 */
#ifndef LAB_PROTO_H
#define LAB_PROTO_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum lab_msg {
	/* client -> agent */
	LAB_HELLO = 'H', /* the token from the lab's state directory; always the first frame */
	LAB_RUN =
		'R', /* NUL-terminated strings: "tty" or "batch", rows, cols, TERM, cwd, argv... */
	LAB_STATUS = 'Q', /* instead of RUN: is the lab alive, and how busy */
	LAB_STDIN = 'i', /* bytes for the command's standard input */
	LAB_STDIN_EOF = 'e', /* the host's standard input ended */
	LAB_WINSIZE = 'w', /* the terminal's size: rows and columns, two 16-bit numbers */
	LAB_SIGNAL = 's', /* one byte: a signal for the command's process group */
	LAB_FORWARD = 'F', /* instead of RUN: a TCP port in the lab, in decimal, to be joined to */
	/* agent -> client */
	LAB_STDOUT = '1',
	LAB_STDERR = '2',
	LAB_EXIT = 'x', /* one byte: the exit status, 128+N when signal N ended the command */
	LAB_ERROR = '!', /* text: the command could not be started */
	LAB_INFO = 'q', /* text: the answer to STATUS */
};

/* No frame is larger; a peer that announces more is broken and the connection is dropped. */
#define LAB_FRAME_MAX (1u << 20)
#define LAB_HEADER 5
/* The token is this many hex digits (128 bits from the host's getrandom). */
#define LAB_TOKEN_LEN 32
/* The port the agent listens on inside the lab; the host's port is chosen when the lab starts. */
#define LAB_AGENT_PORT 7000

static inline void lab_put_header(uint8_t *h, int type, uint32_t len)
{
	h[0] = (uint8_t)type;
	h[1] = len & 0xff;
	h[2] = (len >> 8) & 0xff;
	h[3] = (len >> 16) & 0xff;
	h[4] = (len >> 24) & 0xff;
}

static inline uint32_t lab_get_len(const uint8_t *h)
{
	return (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
}

/* A growing byte buffer: frames arriving in pieces, or frames waiting to be sent. */
struct lab_buf {
	uint8_t *data;
	size_t len, cap;
};

static inline int lab_buf_reserve(struct lab_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	while (cap - b->len < more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static inline int lab_buf_append(struct lab_buf *b, const void *p, size_t n)
{
	if (lab_buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static inline void lab_buf_consume(struct lab_buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

static inline int lab_buf_frame(struct lab_buf *b, int type, const void *p, uint32_t n)
{
	uint8_t h[LAB_HEADER];

	lab_put_header(h, type, n);
	return lab_buf_append(b, h, sizeof(h)) || lab_buf_append(b, p, n) ? -1 : 0;
}

/* Reads what fd has into b: read's result (0 at end of file, -1 with errno). */
static inline ssize_t lab_buf_read(struct lab_buf *b, int fd)
{
	ssize_t n;

	if (lab_buf_reserve(b, 65536))
		return -1;
	do
		n = read(fd, b->data + b->len, b->cap - b->len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}

/*
 * The first complete frame in b: 1 with *type, *payload and *len set (lab_buf_consume(b,
 * LAB_HEADER + *len) when done with it), 0 when more bytes are needed, -1 for a frame over
 * LAB_FRAME_MAX.
 */
static inline int lab_buf_next(struct lab_buf *b, int *type, uint8_t **payload, uint32_t *len)
{
	if (b->len < LAB_HEADER)
		return 0;
	*len = lab_get_len(b->data);
	if (*len > LAB_FRAME_MAX)
		return -1;
	if (b->len < LAB_HEADER + (size_t)*len)
		return 0;
	*type = b->data[0];
	*payload = b->data + LAB_HEADER;
	return 1;
}

/* Sends as much of b as the socket takes now without blocking: -1 when the peer is gone. */
static inline int lab_buf_flush(struct lab_buf *b, int sock)
{
	while (b->len) {
		ssize_t n = send(sock, b->data, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		lab_buf_consume(b, (size_t)n);
	}
	return 0;
}

/*
 * Copy bytes both ways between two connected sockets until either side ends: a forwarded TCP
 * connection, once its FORWARD frame is answered. Each direction's end is passed on as a
 * shutdown, so a peer that closes is seen closing on the far side too.
 */
static inline void lab_splice(int a, int b)
{
	int open_ab = 1, open_ba = 1;

	while (open_ab || open_ba) {
		struct pollfd p[2] = { { .fd = open_ab ? a : -1, .events = POLLIN },
				       { .fd = open_ba ? b : -1, .events = POLLIN } };
		uint8_t buf[16384];

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			int from = i ? b : a, to = i ? a : b;
			ssize_t n, w;

			if (!p[i].revents)
				continue;
			n = read(from, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (i)
					open_ba = 0;
				else
					open_ab = 0;
				/* A peer that reset the connection ends both directions. */
				if (n < 0)
					return;
				continue;
			}
			for (ssize_t off = 0; off < n; off += w) {
				w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
				if (w < 0 && errno == EINTR)
					w = 0;
				else if (w < 0)
					return;
			}
		}
	}
}

#endif
