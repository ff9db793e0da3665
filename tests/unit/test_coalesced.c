/* unit-test sources: stages/09-linux-boot/coalesced.c stages/09-linux-boot/mmio_bus.c */
/*
 * test_coalesced.c - stage 09's drain of KVM's coalesced MMIO ring (coalesced.c), on a ring laid
 * out in memory as KVM lays it out in the kvm_run mapping's page: the writes reach the device in
 * the order the guest made them, across the ring's end, an entry of a length KVM never writes is
 * skipped, and an empty ring costs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coalesced.h"

#define DEV_BASE 0x09000000ull
#define SIZE 8 /* a small ring, so that it wraps */

static uint8_t got[64];
static unsigned int ngot;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned int size)
{
	return 0;
}

static void dev_write(void *opaque, uint64_t off, unsigned int size, uint64_t value)
{
	if (ngot < sizeof(got))
		got[ngot++] = (uint8_t)value;
}

/* What KVM does for a write in the zone: fill the entry at `last`, then move `last` on. */
static void kvm_append(struct kvm_coalesced_mmio_ring *ring, uint64_t addr, uint32_t len,
		       uint8_t byte)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->data[0] = byte;
	__atomic_store_n(&ring->last, (ring->last + 1) % SIZE, __ATOMIC_RELEASE);
}

int main(void)
{
	struct mmio_bus bus = { 0 };
	struct mmio_device dev = { .name = "uart",
				   .base = DEV_BASE,
				   .size = 0x1000,
				   .read = dev_read,
				   .write = dev_write };
	struct kvm_coalesced_mmio_ring *ring =
		calloc(1, sizeof(*ring) + SIZE * sizeof(ring->coalesced_mmio[0]));
	struct coalesced c = { .ring = ring, .size = SIZE, .bus = &bus };

	CHECK_EQ(mmio_bus_add(&bus, &dev), 0);
	pthread_mutex_init(&c.lock, NULL);

	coalesced_drain(&c); /* empty: nothing happens */
	CHECK_EQ(ngot, 0);

	/* Two rounds of five: the second crosses the end of the ring. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5; i++)
			kvm_append(ring, DEV_BASE, 4, (uint8_t)('a' + round * 5 + i));
		coalesced_drain(&c);
	}
	CHECK_EQ(ngot, 10);
	CHECK(memcmp(got, "abcdefghij", 10) == 0);
	CHECK_EQ(ring->first, ring->last);
	CHECK_EQ(c.writes, 10);
	CHECK_EQ(bus.writes[0], 10);

	/* A length KVM never writes (0, or more than data[] holds) is passed over, not used. */
	kvm_append(ring, DEV_BASE, 0, 'x');
	kvm_append(ring, DEV_BASE, 9, 'y');
	kvm_append(ring, DEV_BASE, 1, 'k');
	coalesced_drain(&c);
	CHECK_EQ(ngot, 11);
	CHECK_EQ(got[10], 'k');
	CHECK_EQ(ring->first, ring->last);

	/* An index beyond the ring (never KVM's) stops the drain instead of reading past it. */
	ring->first = ring->last = SIZE + 3;
	__atomic_store_n(&ring->last, 1, __ATOMIC_RELEASE);
	coalesced_drain(&c);
	CHECK_EQ(ngot, 11);
	free(ring);
	return CHECK_DONE("coalesced");
}
