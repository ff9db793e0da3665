/* unit-test sources: stages/09-linux-boot/virtio_thread.c stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtio_blk.c stages/09-linux-boot/virtq.c */
/*
 * test_virtio_thread.c - a virtio device served by its own thread (stage 09), as the machine runs
 * it: notifications arrive on the queues' eventfds, as KVM_IOEVENTFD delivers them, and the
 * driver's register accesses come from other threads, as vCPUs make them. Built with ThreadSanitizer
 * too (make unit), which checks that every access the threads share is ordered by a lock or an
 * atomic.
 *
 * A fake device whose requests can be made to run until they are cancelled stands for a disk
 * that is slow, or a request as large as the disk: a reset and a stop must cancel such a request,
 * wait for it, and drop its result. A real virtio-blk then serves a driver that re-posts requests
 * without pause while another thread keeps using the registers.
 *
 * Nothing here is timed: a watchdog only ends the test if a thread never comes back at all.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "virtio_blk.h"
#include "virtio_driver.h"
#include "virtio_thread.h"

#define LIVE \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK)
#define WATCHDOG_S 60 /* far more than any of this takes: only a hang gets there */
#define HAMMER 2000 /* requests the hammering driver makes */

static struct irq_line irq;
static struct drv_queue qs[1];

/* The fake device: a request either completes at once, or runs until it is cancelled. */
static struct fake {
	struct virtio_mmio mmio;
	bool slow; /* the next requests run until cancelled */
	int in_request; /* a slow request has started (atomics) */
	int cancels_seen; /* slow requests that saw the cancel (atomics) */
	int served; /* requests that completed normally (atomics) */
} fake;

static void pause_briefly(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
}

static const char *fake_request(void *backend, unsigned int queue, const struct virtq_chain *c,
				uint32_t *used)
{
	struct fake *f = backend;

	*used = 3;
	if (!__atomic_load_n(&f->slow, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&f->served, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	__atomic_store_n(&f->in_request, 1, __ATOMIC_RELEASE);
	while (!virtio_mmio_cancelled(&f->mmio))
		pause_briefly();
	__atomic_fetch_add(&f->cancels_seen, 1, __ATOMIC_RELAXED);
	return NULL;
}

static const struct virtio_mmio_ops fake_ops = {
	.name = "fake",
	.device_id = 0x2a,
	.num_queues = 1,
	.queue_size_max = 16,
	.request = fake_request,
};

static void watchdog(int sig)
{
	static const char msg[] = "test_virtio_thread: a thread never came back (watchdog)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* The driver's side of a ring another thread serves: atomic, as the index fields are (2.7). */
static void publish(struct drv_queue *q, uint16_t head)
{
	guest_write_u16(&ram, q->avail + 4 + 2ull * (q->avail_idx % q->num), head);
	q->avail_idx++;
	__atomic_store_n((uint16_t *)ram_at(q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t used_idx(const struct drv_queue *q)
{
	return __atomic_load_n((uint16_t *)ram_at(q->used + 2), __ATOMIC_ACQUIRE);
}

/* Wait until the used ring reaches n; the watchdog ends a wait that never does. */
static void wait_used(const struct drv_queue *q, uint16_t n)
{
	while (used_idx(q) != n)
		pause_briefly();
}

static void wait_in_request(void)
{
	while (!__atomic_load_n(&fake.in_request, __ATOMIC_ACQUIRE))
		pause_briefly();
	__atomic_store_n(&fake.in_request, 0, __ATOMIC_RELAXED);
}

static struct virtio_thread thread;

/* The host side as stage 09 wires it: notifications go to the thread's eventfds. */
static const struct virtio_mmio_host host = { .irq_set = irq_line_set,
					      .irq_ctx = &irq,
					      .notify = virtio_thread_notify,
					      .notify_ctx = &thread };

/* A live fake device with its thread running. */
static void start_fake(void)
{
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	memset(&fake, 0, sizeof(fake));
	virtio_mmio_init(&fake.mmio, &fake_ops, &fake, NULL, 0, &ram, &host);
	CHECK_EQ(virtio_thread_init(&thread, &fake.mmio, "fake", NULL), 0);
	virtio_thread_start(&thread);
	CHECK_EQ(drv_setup(&fake.mmio, VIRTIO_F_VERSION_1, 1, qs, 16), LIVE);
	drv_desc(qs[0].desc, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
}

static void stop_fake(void)
{
	virtio_thread_stop(&thread);
	virtio_thread_destroy(&thread);
	virtio_mmio_destroy(&fake.mmio);
}

/* What KVM does on the fast path: add one to the queue's eventfd. */
static void kvm_notify(unsigned int queue)
{
	uint64_t one = 1;

	CHECK_EQ(write(thread.queue_fds[queue], &one, sizeof(one)), sizeof(one));
}

static void test_served_by_the_thread(void)
{
	start_fake();
	publish(&qs[0], 0);
	kvm_notify(0);
	wait_used(&qs[0], 1);
	publish(&qs[0], 0);
	virtio_thread_notify(&thread, 0); /* the slow path's way in */
	wait_used(&qs[0], 2);
	stop_fake();
	CHECK_EQ(fake.served, 2);
	CHECK_EQ(drv_used_len(&qs[0], 1), 3);
	CHECK_EQ(irq.raises, 2);
	/* The two notifications, and the one DRIVER_OK made for the ready queue (2.1.2). */
	CHECK_EQ(thread.notifies, 3);
	CHECK_EQ(fake.mmio.requests, 2);
}

/*
 * A reset while a request runs: the request is cancelled and waited for, its result dropped (the
 * used ring stays as it was), and the reset is complete when the register write returns.
 */
static void test_reset_while_busy(void)
{
	start_fake();
	__atomic_store_n(&fake.slow, true, __ATOMIC_RELEASE);
	publish(&qs[0], 0);
	kvm_notify(0);
	wait_in_request();
	drv_w(&fake.mmio, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(__atomic_load_n(&fake.cancels_seen, __ATOMIC_RELAXED), 1);
	CHECK_EQ(drv_r(&fake.mmio, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(used_idx(&qs[0]), 0);
	CHECK(!fake.mmio.busy);

	/* The device works again after the driver sets it up afresh. */
	__atomic_store_n(&fake.slow, false, __ATOMIC_RELEASE);
	CHECK_EQ(drv_setup(&fake.mmio, VIRTIO_F_VERSION_1, 1, qs, 16), LIVE);
	drv_desc(qs[0].desc, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	publish(&qs[0], 0);
	kvm_notify(0);
	wait_used(&qs[0], 1);
	stop_fake();
	CHECK_EQ(fake.served, 1);
}

/*
 * QueueReady = 0 while a request of that queue runs: as for a reset, the request is cancelled and
 * over before the write returns (the driver may reuse the queue's memory once it reads 0 back,
 * virtio 1.2, 4.2.2.2), and its result is dropped.
 */
static void test_queue_ready_0_while_busy(void)
{
	start_fake();
	__atomic_store_n(&fake.slow, true, __ATOMIC_RELEASE);
	publish(&qs[0], 0);
	kvm_notify(0);
	wait_in_request();
	drv_w(&fake.mmio, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_w(&fake.mmio, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(__atomic_load_n(&fake.cancels_seen, __ATOMIC_RELAXED), 1);
	pthread_mutex_lock(&fake.mmio.lock);
	CHECK(!fake.mmio.busy);
	pthread_mutex_unlock(&fake.mmio.lock);
	CHECK_EQ(drv_r(&fake.mmio, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(used_idx(&qs[0]), 0);
	/* The device itself stays live: only the request of that queue was cancelled. */
	CHECK_EQ(drv_r(&fake.mmio, VIRTIO_MMIO_STATUS), LIVE);
	__atomic_store_n(&fake.slow, false, __ATOMIC_RELEASE);
	stop_fake();
	CHECK_EQ(fake.mmio.requests, 0);
}

/* The machine stops while a request runs, as at Ctrl-A x: the thread comes back, result dropped. */
static void test_stop_while_busy(void)
{
	start_fake();
	__atomic_store_n(&fake.slow, true, __ATOMIC_RELEASE);
	publish(&qs[0], 0);
	kvm_notify(0);
	wait_in_request();
	stop_fake();
	CHECK_EQ(fake.cancels_seen, 1);
	CHECK_EQ(used_idx(&qs[0]), 0);
	CHECK_EQ(fake.mmio.requests, 0);
}

/* A driver that re-posts a read as soon as it comes back, for as long as it is let. */
static struct {
	struct virtio_blk blk;
	struct drv_queue q;
	bool stop;
	unsigned int done;
} hammer;

#define H_HDR (BUF_GPA + 0x0000) /* request header */
#define H_DATA (BUF_GPA + 0x1000) /* 4 KiB read into here */
#define H_STAT (BUF_GPA + 0x3000) /* status byte */

static bool hammer_stopped(void)
{
	return __atomic_load_n(&hammer.stop, __ATOMIC_ACQUIRE);
}

static void *hammer_driver(void *arg)
{
	(void)arg;
	for (uint16_t n = 1; !hammer_stopped(); n++) {
		publish(&hammer.q, 0);
		virtio_thread_notify(&thread, 0);
		while (used_idx(&hammer.q) != n && !hammer_stopped())
			pause_briefly();
		__atomic_store_n(&hammer.done, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * virtio-blk under a driver that never lets up, on a second thread: the registers stay usable
 * (as another vCPU uses them), the device's thread stops when asked, and everything the driver
 * got back was a good read.
 */
static void test_hammered_disk(void)
{
	char path[] = "/tmp/veleiro-thread-XXXXXX";
	int fd = mkstemp(path);
	pthread_t driver;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	CHECK_EQ(ftruncate(fd, 1 << 20), 0);
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	CHECK_EQ(virtio_blk_init(&hammer.blk, fd, false, "hammer", &ram, &host), 0);
	CHECK_EQ(virtio_thread_init(&thread, &hammer.blk.mmio, "virtio-blk", NULL), 0);
	virtio_thread_start(&thread);
	CHECK_EQ(drv_setup(&hammer.blk.mmio, VIRTIO_F_VERSION_1, 1, &hammer.q, 16), LIVE);
	guest_write_u32(&ram, H_HDR, VIRTIO_BLK_T_IN);
	guest_write_u64(&ram, H_HDR + 8, 8); /* sector 8 */
	drv_desc(hammer.q.desc, 0, H_HDR, VIRTIO_BLK_HEADER_LEN, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(hammer.q.desc, 1, H_DATA, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	drv_desc(hammer.q.desc, 2, H_STAT, 1, VIRTQ_DESC_F_WRITE, 0);

	CHECK_EQ(pthread_create(&driver, NULL, hammer_driver, NULL), 0);
	/* Another vCPU meanwhile: register reads and acknowledgements, none of which may block. */
	for (int i = 0; i < HAMMER; i++) {
		uint32_t status = drv_r(&hammer.blk.mmio, VIRTIO_MMIO_INTERRUPT_STATUS);

		drv_w(&hammer.blk.mmio, VIRTIO_MMIO_INTERRUPT_ACK, status);
		if (drv_r(&hammer.blk.mmio, VIRTIO_MMIO_STATUS) != LIVE)
			break;
	}
	while (__atomic_load_n(&hammer.done, __ATOMIC_ACQUIRE) < HAMMER)
		pause_briefly();
	/* Stop the device's thread while the driver still hammers, then the driver. */
	virtio_thread_stop(&thread);
	__atomic_store_n(&hammer.stop, true, __ATOMIC_RELEASE);
	pthread_join(driver, NULL);
	CHECK_EQ(drv_r(&hammer.blk.mmio, VIRTIO_MMIO_STATUS), LIVE);
	CHECK_EQ(ram_at(H_STAT)[0], VIRTIO_BLK_S_OK);
	CHECK(hammer.blk.mmio.requests >= HAMMER);
	virtio_thread_destroy(&thread);
	virtio_blk_destroy(&hammer.blk);
	close(fd);
}

int main(void)
{
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	ram_init();
	test_served_by_the_thread();
	test_reset_while_busy();
	test_queue_ready_0_while_busy();
	test_stop_while_busy();
	test_hammered_disk();
	ram_free();
	return CHECK_DONE("virtio_thread");
}
