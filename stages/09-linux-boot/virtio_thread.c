/*
 * virtio_thread.c - the thread that serves one virtio device: it sleeps in poll(2) on its queues'
 * eventfds, which KVM_IOEVENTFD (or the MMIO exit handler) adds to, and serves what the driver
 * asked for a batch at a time (virtio_mmio_serve()).
 *
 * An eventfd read returns its counter and sets it to 0, so notifications that came while the
 * thread was busy are one wake-up, not many: the queue is looked at once for all of them, which is
 * all a notification means ("look at the available ring", virtio 1.2, 2.7.13.4).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "virtio_thread.h"

int virtio_thread_init(struct virtio_thread *t, struct virtio_mmio *dev, const char *name,
		       FILE *trace)
{
	int err;

	*t = (struct virtio_thread){ .dev = dev, .name = name, .trace = trace, .wake_fd = -1 };
	for (unsigned int q = 0; q < VIRTIO_MMIO_QUEUES_MAX; q++)
		t->queue_fds[q] = -1;
	t->nqueues = dev->ops->num_queues;
	for (unsigned int q = 0; q < t->nqueues; q++) {
		t->queue_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->queue_fds[q] < 0)
			goto fail;
	}
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	virtio_thread_destroy(t);
	return err;
}

/* Add one to an eventfd. It cannot fail short of a counter at 2^64 - 2, which nothing here reaches. */
static void virtio_thread_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die_errno("cannot signal an eventfd");
}

/* Read and reset an eventfd's counter; 0 when nothing was added since the last read. */
static uint64_t virtio_thread_take(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

void virtio_thread_notify(void *ctx, unsigned int queue)
{
	struct virtio_thread *t = ctx;

	virtio_thread_signal(t->queue_fds[queue]);
}

static void *virtio_thread_run(void *arg)
{
	struct virtio_thread *t = arg;
	struct pollfd fds[VIRTIO_MMIO_QUEUES_MAX + 1];
	const unsigned int n = t->nqueues;

	for (unsigned int q = 0; q < n; q++)
		fds[q] = (struct pollfd){ .fd = t->queue_fds[q], .events = POLLIN };
	fds[n] = (struct pollfd){ .fd = t->wake_fd, .events = POLLIN };
	for (;;) {
		uint32_t pending = 0;

		if (poll(fds, n + 1, -1) < 0 && errno != EINTR)
			die_errno("%s: poll", t->name);
		if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
			return NULL;
		if (t->woken)
			t->woken(t->woken_ctx);
		for (unsigned int q = 0; q < n; q++) {
			uint64_t count =
				(fds[q].revents & POLLIN) ? virtio_thread_take(fds[q].fd) : 0;

			if (!count)
				continue;
			pending |= 1u << q;
			t->notifies += count;
			if (t->trace)
				fprintf(t->trace, "trace: NOTIFY %s queue %u: %llu (%s)\n", t->name,
					q, (unsigned long long)count,
					t->in_kernel ? "KVM_IOEVENTFD, no exit"
						     : "from an MMIO exit");
		}
		if ((fds[n].revents & POLLIN) && virtio_thread_take(t->wake_fd))
			pending |= __atomic_exchange_n(&t->again, 0, __ATOMIC_ACQ_REL);
		for (unsigned int q = 0; q < n; q++) {
			if (!(pending & (1u << q)) ||
			    !virtio_mmio_serve(t->dev, q, VIRTIO_THREAD_BATCH))
				continue;
			/* More may be waiting: come back for it, after a look at everything else. */
			__atomic_fetch_or(&t->again, 1u << q, __ATOMIC_ACQ_REL);
			virtio_thread_signal(t->wake_fd);
		}
	}
}

void virtio_thread_start(struct virtio_thread *t)
{
	int err;

	t->stop = false;
	err = pthread_create(&t->thread, NULL, virtio_thread_run, t);
	if (err)
		die("cannot start a thread for %s: %s", t->name, strerror(err));
	t->started = true;
}

void virtio_thread_stop(struct virtio_thread *t)
{
	if (!t->started)
		return;
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
	virtio_mmio_cancel(t->dev);
	virtio_thread_signal(t->wake_fd);
	pthread_join(t->thread, NULL);
	t->started = false;
}

void virtio_thread_destroy(struct virtio_thread *t)
{
	for (unsigned int q = 0; q < VIRTIO_MMIO_QUEUES_MAX; q++)
		if (t->queue_fds[q] >= 0)
			close(t->queue_fds[q]);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->wake_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MMIO_QUEUES_MAX; q++)
		t->queue_fds[q] = -1;
}
