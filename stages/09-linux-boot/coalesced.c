/*
 * coalesced.c - coalesced MMIO for the PL011's data register (api.rst 4.116,
 * KVM_REGISTER_COALESCED_MMIO).
 *
 * A guest that prints makes one MMIO exit per character: for Linux's boot log, thousands of trips
 * out of the guest and back, each costing far more than the byte. For a register whose writes
 * need no answer, KVM can do better: it appends each write in a registered zone to a ring in a
 * page that every vCPU's kvm_run mapping shares, and lets the guest run on. The VMM must replay
 * them, in order, before anything that could see their effect. So the ring is drained at every
 * exit, before it is handled (a read of UARTFR must see the bytes before it sent), when a virtio
 * device's thread wakes (virtio-console's output shares our stdout, and must follow what the
 * guest printed before it notified), when the vCPUs have stopped, and by a thread every few
 * milliseconds, since a guest that prints and then waits in WFI makes no exit at all. A full ring is no error: KVM then makes an ordinary MMIO exit.
 *
 * Only UARTDR is in the zone: a write anywhere else in the PL011 may change what its next read
 * returns, and reads always exit. The cost is that a transmit interrupt comes up to one drain
 * late, which the PL011's protocol allows (the FIFO is "not yet empty" meanwhile).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "coalesced.h"
#include "log.h"

/* How often the thread looks at the ring: the most a byte waits while no vCPU exits. */
#define COALESCED_DRAIN_MS 10

int coalesced_page(int kvm)
{
	int page = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	return page > 0 ? page : 0;
}

static void *coalesced_thread(void *arg)
{
	struct coalesced *c = arg;
	const struct timespec period = { .tv_nsec = COALESCED_DRAIN_MS * 1000000L };

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&period, NULL);
		coalesced_drain(c);
	}
	return NULL;
}

int coalesced_start(struct coalesced *c, int vm, void *run, int run_size, int page, uint64_t addr,
		    uint32_t len, struct mmio_bus *bus)
{
	long page_size = sysconf(_SC_PAGESIZE);
	struct kvm_coalesced_mmio_zone zone = { .addr = addr, .size = len };
	int err;

	*c = (struct coalesced){ .bus = bus };
	if (page <= 0 || (long)(page + 1) * page_size > run_size)
		return -ENOSYS;
	if (ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	c->ring = (struct kvm_coalesced_mmio_ring *)((char *)run + page * page_size);
	/* KVM_COALESCED_MMIO_MAX, with the page size of this host rather than of the headers. */
	c->size = (uint32_t)((page_size - sizeof(*c->ring)) / sizeof(c->ring->coalesced_mmio[0]));
	pthread_mutex_init(&c->lock, NULL);
	err = pthread_create(&c->thread, NULL, coalesced_thread, c);
	if (err)
		die("cannot start the coalesced MMIO thread: %s", strerror(err));
	return 0;
}

void coalesced_drain(struct coalesced *c)
{
	struct kvm_coalesced_mmio_ring *ring = c->ring;

	/* KVM writes `last` after the entry; we free an entry by writing `first` after using it. */
	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
			     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
		struct kvm_coalesced_mmio *e;
		uint64_t value = 0;

		if (first == __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE) || first >= c->size)
			break;
		e = &ring->coalesced_mmio[first];
		if (e->len >= 1 &&
		    e->len <= sizeof(e->data)) { /* KVM takes writes of 1 to 8 bytes */
			memcpy(&value, e->data, e->len);
			mmio_bus_write(c->bus, e->phys_addr, e->len, value);
			c->writes++;
		}
		__atomic_store_n(&ring->first, (first + 1) % c->size, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
}

void coalesced_stop(struct coalesced *c)
{
	if (!c->ring)
		return;
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_join(c->thread, NULL);
	coalesced_drain(c);
	pthread_mutex_destroy(&c->lock);
	c->ring = NULL;
}
