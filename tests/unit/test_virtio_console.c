/* unit-test sources: stages/09-linux-boot/virtio_console.c stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtq.c */
/*
 * test_virtio_console.c - the single-port virtio console (virtio 1.2, 5.3): guest output to
 * a pipe, host input into receive buffers (with and without buffers available), the
 * receive-ready callback, and buffers in the wrong direction.
 */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "join.h"
#include "file.h"
#include "virtio_driver.h"
#include "virtio_console.h"

#define LIVE \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK)

static struct virtio_console con;
static struct irq_line irq;
static struct drv_queue qs[2]; /* receiveq, transmitq */
static int pipe_fds[2];
static int rx_ready_calls;

static void count_rx_ready(void *ctx)
{
	int *calls = ctx;

	(*calls)++;
}

static void start(void)
{
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	rx_ready_calls = 0;
	virtio_console_init(&con, pipe_fds[1], count_rx_ready, &rx_ready_calls, &ram,
			    drv_host(&irq));
}

static void stop(void)
{
	virtio_console_destroy(&con);
}

/* Everything waiting in the pipe, as a string. */
static const char *pipe_drain(void)
{
	static char buf[256];
	ssize_t n = read(pipe_fds[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Make a receive buffer of len bytes at gpa available as descriptor i. */
static void rx_buffer(uint16_t i, uint64_t gpa, uint32_t len)
{
	drv_desc(qs[0].desc, i, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&qs[0], i);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
}

static void test_identity(void)
{
	start();
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_DEVICE_ID), 3);
	drv_w(&con.mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_DEVICE_FEATURES),
		 (uint32_t)(VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)); /* no SIZE/MULTIPORT */
	drv_w(&con.mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	CHECK_EQ(virtio_mmio_read(&con.mmio, VIRTIO_MMIO_CONFIG + 0, 2), 0); /* cols */
	CHECK_EQ(virtio_mmio_read(&con.mmio, VIRTIO_MMIO_CONFIG + 2, 2), 0); /* rows */
	CHECK_EQ(virtio_mmio_read(&con.mmio, VIRTIO_MMIO_CONFIG + 4, 4), 0); /* max_nr_ports */
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_CONSOLE_QUEUE_SIZE);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_SEL, 2);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	stop();
}

static void test_transmit(void)
{
	start();
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	memcpy(ram_at(BUF_GPA), "hel", 3);
	memcpy(ram_at(BUF_GPA + 0x100), "lo\n", 3);
	drv_desc(qs[1].desc, 2, BUF_GPA, 3, VIRTQ_DESC_F_NEXT, 3);
	drv_desc(qs[1].desc, 3, BUF_GPA + 0x100, 3, 0, 0);
	drv_publish(&qs[1], 2);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	CHECK_STR(pipe_drain(), "hello\n");
	CHECK_EQ(drv_used_idx(&qs[1]), 1);
	CHECK_EQ(drv_used_id(&qs[1], 0), 2);
	CHECK_EQ(drv_used_len(&qs[1], 0), 0); /* the device wrote nothing into it */
	CHECK_EQ(irq.raises, 1);

	/* Two buffers, one notification, in order. */
	memcpy(ram_at(BUF_GPA + 0x200), "ab", 2);
	drv_desc(qs[1].desc, 0, BUF_GPA + 0x200, 1, 0, 0);
	drv_desc(qs[1].desc, 1, BUF_GPA + 0x201, 1, 0, 0);
	drv_publish(&qs[1], 0);
	drv_publish(&qs[1], 1);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	CHECK_STR(pipe_drain(), "ab");
	CHECK_EQ(drv_used_idx(&qs[1]), 3);
	stop();
}

static void test_receive(void)
{
	const uint8_t input[] = "abcdefghij";

	start();
	/* Not live yet: nothing is taken. */
	CHECK_EQ(virtio_console_input(&con, input, 10), 0);
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	CHECK_EQ(rx_ready_calls, 1); /* DRIVER_OK: buffers may be waiting */
	/* Live, but no receive buffers. */
	CHECK_EQ(virtio_console_input(&con, input, 10), 0);
	CHECK_EQ(irq.raises, 0);

	/* Two 4-byte buffers: 8 bytes taken, each buffer's used length is what it got. */
	rx_buffer(0, BUF_GPA, 4);
	CHECK_EQ(rx_ready_calls, 2);
	rx_buffer(1, BUF_GPA + 0x100, 4);
	CHECK_EQ(rx_ready_calls, 3);
	CHECK_EQ(virtio_console_input(&con, input, 10), 8);
	CHECK(memcmp(ram_at(BUF_GPA), "abcd", 4) == 0);
	CHECK(memcmp(ram_at(BUF_GPA + 0x100), "efgh", 4) == 0);
	CHECK_EQ(ram_at(BUF_GPA + 4)[0], 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 2);
	CHECK_EQ(drv_used_len(&qs[0], 0), 4);
	CHECK_EQ(drv_used_len(&qs[0], 1), 4);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq.raises, 1);

	/* The rest goes in the next buffer, which is only partly filled. */
	CHECK_EQ(virtio_console_input(&con, input + 8, 2), 0);
	rx_buffer(2, BUF_GPA + 0x200, 64);
	CHECK_EQ(virtio_console_input(&con, input + 8, 2), 2);
	CHECK(memcmp(ram_at(BUF_GPA + 0x200), "ij", 2) == 0);
	CHECK_EQ(drv_used_len(&qs[0], 2), 2);
	CHECK_EQ(virtio_console_input(&con, input, 0), 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 3);

	/* After a reset the device takes nothing. */
	rx_buffer(3, BUF_GPA + 0x300, 64);
	drv_w(&con.mmio, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(virtio_console_input(&con, input, 10), 0);
	stop();
}

static void test_wrong_direction(void)
{
	const uint8_t input[] = "x";

	/* A device-readable buffer in the receiveq. */
	start();
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	drv_desc(qs[0].desc, 0, BUF_GPA, 4, 0, 0);
	drv_publish(&qs[0], 0);
	CHECK_EQ(virtio_console_input(&con, input, 1), 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 0);
	CHECK_EQ(ram_at(BUF_GPA)[0], 0);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_STATUS), LIVE | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* Until reset, nothing more is taken, even from good buffers. */
	rx_buffer(1, BUF_GPA + 0x100, 4);
	CHECK_EQ(virtio_console_input(&con, input, 1), 0);
	stop();

	/* A device-writable buffer in the transmitq: nothing is written out. */
	start();
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	memcpy(ram_at(BUF_GPA), "zz", 2);
	drv_desc(qs[1].desc, 0, BUF_GPA, 2, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&qs[1], 0);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	CHECK_EQ(drv_used_idx(&qs[1]), 0);
	CHECK(drv_r(&con.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_STR(pipe_drain(), "");

	/* A malformed transmit chain (a loop). */
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	drv_desc(qs[1].desc, 0, BUF_GPA, 2, VIRTQ_DESC_F_NEXT, 0);
	drv_publish(&qs[1], 0);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	CHECK_EQ(drv_used_idx(&qs[1]), 0);
	CHECK(drv_r(&con.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_STR(pipe_drain(), "");
	stop();
}

/* Output to a broken pipe is lost, but the buffer is still given back. */
static void test_output_error(void)
{
	int broken[2];

	CHECK_EQ(pipe(broken), 0);
	close(broken[0]);
	memset(ram.host, 0, RAM_SIZE);
	virtio_console_init(&con, broken[1], NULL, NULL, &ram, drv_host(&irq));
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	drv_desc(qs[1].desc, 0, BUF_GPA, 2, 0, 0);
	drv_publish(&qs[1], 0);
	drv_w(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	CHECK_EQ(drv_used_idx(&qs[1]), 1);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_STATUS), LIVE);
	/* Without an rx_ready callback, a receive notification is harmless. */
	rx_buffer(0, BUF_GPA + 0x100, 4);
	CHECK_EQ(virtio_console_input(&con, (const uint8_t *)"k", 1), 1);
	stop();
	close(broken[1]);
}

#define STREAM_LEN 200
#define STREAM_BUFS 64 /* 4-byte receive buffers, at most 8 outstanding */

static uint8_t stream[STREAM_LEN];
static bool stream_done;

/* The VMM's input thread: push the whole stream, retrying while the guest has no buffers. */
static void *input_thread(void *arg)
{
	size_t done = 0;

	while (done < STREAM_LEN) {
		size_t n = virtio_console_input(&con, stream + done, STREAM_LEN - done);

		done += n;
		if (n == 0)
			sched_yield();
	}
	__atomic_store_n(&stream_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Input arrives on its own thread while the guest (this thread) keeps adding buffers. */
static void test_concurrent_input(void)
{
	uint8_t got[STREAM_BUFS * 4];
	size_t total = 0;
	pthread_t t;

	for (int i = 0; i < STREAM_LEN; i++)
		stream[i] = (uint8_t)(i * 7 + 1);
	stream_done = false;
	start();
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	CHECK_EQ(pthread_create(&t, NULL, input_thread, NULL), 0);
	for (uint16_t k = 0; k < STREAM_BUFS && !__atomic_load_n(&stream_done, __ATOMIC_ACQUIRE);
	     k++) {
		/* Descriptor k % 8 is free again once buffer k - 8 has been used. */
		while ((uint16_t)(k - drv_used_idx(&qs[0])) >= 8 &&
		       !__atomic_load_n(&stream_done, __ATOMIC_ACQUIRE))
			sched_yield();
		rx_buffer(k % 8, BUF_GPA + 4ull * k, 4);
	}
	pthread_join(t, NULL);
	for (uint16_t k = 0; k < drv_used_idx(&qs[0]); k++) {
		uint32_t len = drv_used_len(&qs[0], k);

		CHECK(len <= 4 && total + len <= sizeof(got));
		if (len > 4 || total + len > sizeof(got))
			break;
		memcpy(got + total, ram_at(BUF_GPA + 4ull * k), len);
		total += len;
	}
	CHECK_EQ(total, STREAM_LEN);
	CHECK(memcmp(got, stream, STREAM_LEN) == 0);
	CHECK_EQ(drv_r(&con.mmio, VIRTIO_MMIO_STATUS), LIVE);
	stop();
}

static void *serve_thread(void *arg)
{
	drv_serve(&con.mmio);
	return NULL;
}

static void *reset_thread(void *arg)
{
	virtio_mmio_write(&con.mmio, VIRTIO_MMIO_STATUS, 4, 0);
	return NULL;
}

static void *cancel_thread(void *arg)
{
	virtio_mmio_cancel(&con.mmio);
	return NULL;
}

/*
 * Half a megabyte of output to a terminal nobody reads (a pipe here, written through the
 * non-blocking writer the console gives the device): the device's thread waits, and a reset, or
 * a stop, still returns within a bound, the buffer not handed back (it belongs to no queue now).
 */
static void test_output_stalled(void *(*how)(void *))
{
	int stall[2];
	pthread_t server, stopper;

	CHECK_EQ(pipe(stall), 0);
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	virtio_console_init(&con, file_writer(stall[1]), NULL, NULL, &ram, drv_host(&irq));
	CHECK_EQ(drv_setup(&con.mmio, VIRTIO_F_VERSION_1, 2, qs, 8), LIVE);
	drv_desc(qs[1].desc, 0, RAM_GPA + RAM_SIZE / 2, RAM_SIZE / 2, 0, 0);
	drv_publish(&qs[1], 0);
	/* Notified, and served by a thread of its own, as stage 09's device thread does. */
	virtio_mmio_write(&con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 4, VIRTIO_CONSOLE_TX);
	CHECK_EQ(pthread_create(&server, NULL, serve_thread, NULL), 0);
	CHECK(!join_within(server, 300)); /* waiting for a reader, as it should */
	CHECK_EQ(pthread_create(&stopper, NULL, how, NULL), 0);
	CHECK(join_within(stopper, 2000));
	CHECK(join_within(server, 2000));
	CHECK_EQ(drv_used_idx(&qs[1]), 0);
	virtio_console_destroy(&con);
	close(stall[0]);
	close(stall[1]);
}

int main(void)
{
	ram_init();
	/* Writing to a pipe nobody reads must give EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(pipe_fds) != 0) {
		perror("pipe");
		return 1;
	}
	/* Draining an empty pipe must not block. */
	fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
	test_identity();
	test_transmit();
	test_receive();
	test_wrong_direction();
	test_output_error();
	test_concurrent_input();
	test_output_stalled(reset_thread);
	test_output_stalled(cancel_thread);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	ram_free();
	return CHECK_DONE("virtio_console");
}
