/*
 * virtio_thread.h - the thread that serves one virtio device, woken through eventfds.
 *
 * An eventfd (eventfd(2)) is a counter in the kernel that one side adds to and the other sleeps
 * on. Each queue of the device has one. On the fast path KVM adds to it itself when the guest
 * writes that queue's index to QueueNotify (KVM_IOEVENTFD, api.rst 4.59): the guest goes on
 * running and no vCPU thread hears of it. On the slow path the guest's write is an MMIO exit, and
 * the vCPU thread adds to the same counter (virtio_thread_notify). Either way this thread wakes in
 * poll(2) and serves the queues, VIRTIO_THREAD_BATCH requests at a time: a driver that keeps
 * adding requests keeps the thread busy, but between two batches it looks at whether to stop.
 *
 * One thread per device, not one for all: a disk whose host file is slow (a flush to a busy
 * disk) then delays only itself, never the console or another disk. This file knows nothing of
 * KVM (devices.c and eventfds.c tie the eventfds to it), so the unit tests run it on any host.
 */
#ifndef VELEIRO_VIRTIO_THREAD_H
#define VELEIRO_VIRTIO_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "virtio_mmio.h"

/* Requests served per queue before the thread looks at its eventfds (and a stop) again. */
#define VIRTIO_THREAD_BATCH 32

struct virtio_thread {
	struct virtio_mmio *dev;
	unsigned int nqueues;
	int queue_fds[VIRTIO_MMIO_QUEUES_MAX]; /* one eventfd per queue: its notifications */
	int wake_fd; /* an eventfd of our own: stop, or come back for requests left over */
	uint32_t again; /* queues (a bit each) with requests left after a batch (atomics) */
	bool stop; /* atomics */
	bool started;
	pthread_t thread;
	const char *name; /* for --trace */
	FILE *trace; /* NULL: no trace */
	bool in_kernel; /* KVM adds to queue_fds itself (KVM_IOEVENTFD): said in the trace */
	uint64_t notifies; /* what the queue eventfds counted: notifications, by either path */
	/*
	 * Called at each wake-up, before anything is served, if not NULL: the machine hands out
	 * the UART's coalesced writes there, so that what the guest printed before it notified
	 * comes out before the request's own output (coalesced.c).
	 */
	void (*woken)(void *woken_ctx);
	void *woken_ctx;
};

/*
 * Make the eventfds for dev's queues; the thread starts later. name and trace are for --trace.
 * 0, or -errno when there are no eventfds to be had.
 */
int virtio_thread_init(struct virtio_thread *t, struct virtio_mmio *dev, const char *name,
		       FILE *trace);

/* The slow path (virtio_mmio_host.notify): the guest notified `queue` by an MMIO exit. */
void virtio_thread_notify(void *ctx, unsigned int queue);

void virtio_thread_start(struct virtio_thread *t);

/*
 * Stop the thread: the request in flight is cancelled (virtio_mmio_cancel()), then the thread is
 * joined. Takes at most one request piece's time, whatever the guest does to the rings.
 */
void virtio_thread_stop(struct virtio_thread *t);

/* Close the eventfds (stopped or never started). */
void virtio_thread_destroy(struct virtio_thread *t);

#endif
