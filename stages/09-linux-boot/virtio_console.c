/*
 * virtio_console.c - a single-port virtio console (virtio 1.2, section 5.3 "Console Device").
 *
 * Output: each buffer the driver puts in the transmitq is written to out_fd and handed back
 * with used length 0 (the device wrote nothing into it). Input: virtio_console_input() fills
 * buffers from the receiveq, each as far as the input goes, and hands them back with the
 * number of bytes written. The driver must not mix directions (5.3.6.1): a readable buffer
 * in the receiveq or a writable one in the transmitq puts the device in NEEDS_RESET.
 *
 * Output is written in the device's thread without the device lock (virtio_mmio.c), so a
 * terminal that is slow to take it holds up nobody else; out_fd is the console's non-blocking
 * writer (file_writer(), common/file.c), and a buffer (which may be gigabytes) goes out in pieces,
 * so a reset or a stop cuts it short within one piece, or one wait, however slow the reader.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "virtio_console.h"

/* How long output waits for a full non-blocking terminal before looking at `cancel` again. */
#define VIRTIO_CONSOLE_WAIT_MS 100
/* The most one write() takes: a regular file or a slow reader is cut short after this much. */
#define VIRTIO_CONSOLE_PIECE (64u << 10)

/* Write one contiguous run of guest output to the fd; ctx is the struct virtio_console. */
static int virtio_console_out_piece(void *ctx, uint8_t *p, uint32_t n)
{
	const struct virtio_console *con = ctx;
	struct pollfd pfd = { .fd = con->out_fd, .events = POLLOUT };

	while (n > 0) {
		ssize_t r;

		if (virtio_mmio_cancelled(&con->mmio))
			return -ECANCELED;
		r = write(con->out_fd, p, n < VIRTIO_CONSOLE_PIECE ? n : VIRTIO_CONSOLE_PIECE);

		if (r < 0 && errno == EINTR)
			continue;
		/* A terminal that is full: wait for room rather than lose output. */
		if (r < 0 && errno == EAGAIN) {
			poll(&pfd, 1, VIRTIO_CONSOLE_WAIT_MS);
			continue;
		}
		if (r < 0)
			return -errno;
		p += r;
		n -= (uint32_t)r;
	}
	return 0;
}

/* One buffer of output from the transmitq (virtio_mmio_ops.request), without the device lock. */
static const char *virtio_console_transmit(void *backend, unsigned int queue,
					   const struct virtq_chain *c, uint32_t *used)
{
	struct virtio_console *con = backend;
	int err;

	if (c->write_bytes)
		return "transmitq buffer is device-writable";
	err = virtq_chain_each(c, false, 0, c->read_bytes, virtio_console_out_piece, con);
	if (err && err != -ECANCELED)
		warn_guest(&con->mmio.warnings, "virtio-console: output lost: %s", strerror(-err));
	*used = 0;
	return NULL;
}

/* The driver added receive buffers: input held back may go in now. */
static void virtio_console_buffers_added(void *backend, unsigned int queue)
{
	struct virtio_console *con = backend;

	if (con->rx_ready)
		con->rx_ready(con->rx_ctx);
}

static const struct virtio_mmio_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_CONSOLE_DEVICE_ID,
	.features = 0,
	.num_queues = 2,
	.queue_size_max = VIRTIO_CONSOLE_QUEUE_SIZE,
	.request = virtio_console_transmit,
	.input_queues = 1u << VIRTIO_CONSOLE_RX,
	.buffers_added = virtio_console_buffers_added,
};

void virtio_console_init(struct virtio_console *con, int out_fd, void (*rx_ready)(void *ctx),
			 void *rx_ctx, const struct guest_mem *mem,
			 const struct virtio_mmio_host *host)
{
	memset(con, 0, sizeof(*con));
	con->out_fd = out_fd;
	con->rx_ready = rx_ready;
	con->rx_ctx = rx_ctx;
	virtio_mmio_init(&con->mmio, &virtio_console_ops, con, con->config, sizeof(con->config),
			 mem, host);
}

void virtio_console_destroy(struct virtio_console *con)
{
	virtio_mmio_destroy(&con->mmio);
}

size_t virtio_console_input(struct virtio_console *con, const uint8_t *buf, size_t len)
{
	struct virtq *vq = &con->mmio.queues[VIRTIO_CONSOLE_RX];
	struct virtq_chain *c = &con->rx_chain;
	size_t done = 0, n;
	int r = 0;

	pthread_mutex_lock(&con->mmio.lock);
	if (virtio_mmio_live(&con->mmio)) {
		while (done < len && (r = virtq_pop(vq, c)) > 0) {
			if (c->read_bytes) {
				virtio_mmio_fail(&con->mmio,
						 "receiveq buffer (head %u) is device-readable",
						 c->head);
				break;
			}
			n = len - done < c->write_bytes ? len - done : c->write_bytes;
			virtq_chain_write(c, 0, buf + done, n);
			virtq_push(vq, c->head, (uint32_t)n);
			done += n;
		}
		if (r < 0)
			virtio_mmio_fail(&con->mmio, "receiveq: %s", virtq_strerror(r));
		virtio_mmio_signal_used(&con->mmio, VIRTIO_CONSOLE_RX);
	}
	pthread_mutex_unlock(&con->mmio.lock);
	return done;
}
