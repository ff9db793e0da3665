/* unit-test sources: stages/09-linux-boot/virtio_rng.c stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtq.c */
/*
 * test_virtio_rng.c - the entropy device (virtio 1.2, 5.4): its identity, buffers filled with
 * random bytes (one, several, chained, larger than the device fills at once), the bound on work
 * per notification, and hostile requestqs: device-readable buffers, chains that loop or leave
 * guest RAM, heads out of range. Each of those fails the device (NEEDS_RESET) without touching
 * guest memory, and a reset brings it back.
 */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "virtio_driver.h"
#include "virtio_rng.h"

#define LIVE \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK)
#define QNUM 64 /* the driver's queue size: QueueNumMax */

static struct virtio_rng rng;
static struct irq_line irq;
static struct drv_queue q;

static void start(void)
{
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	virtio_rng_init(&rng, &ram, drv_host(&irq));
}

static void stop(void)
{
	virtio_rng_destroy(&rng);
}

static void notify(void)
{
	drv_w(&rng.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_RNG_REQUESTQ);
}

/* A device-writable buffer of len bytes at gpa, as descriptor i, made available. */
static void request(uint16_t i, uint64_t gpa, uint32_t len)
{
	drv_desc(q.desc, i, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, i);
}

static bool all_zero(uint64_t gpa, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (ram_at(gpa)[i])
			return false;
	return true;
}

static bool needs_reset(void)
{
	return drv_r(&rng.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

static void test_identity(void)
{
	start();
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_DEVICE_ID), 4);
	drv_w(&rng.mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_DEVICE_FEATURES),
		 (uint32_t)(VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)); /* none of its own */
	drv_w(&rng.mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	drv_w(&rng.mmio, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_QUEUE_NUM_MAX), QNUM);
	drv_w(&rng.mmio, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* one queue only */
	/* No configuration space: reads there are refused and return 0. */
	CHECK_EQ(virtio_mmio_read(&rng.mmio, VIRTIO_MMIO_CONFIG, 4), 0);
	stop();
}

static void test_fill(void)
{
	start();
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);

	/* 64 bytes, as `head -c 64 /dev/hwrng` asks: all of them written, none after. */
	request(0, BUF_GPA, 64);
	notify();
	CHECK_EQ(drv_used_idx(&q), 1);
	CHECK_EQ(drv_used_id(&q, 0), 0);
	CHECK_EQ(drv_used_len(&q, 0), 64);
	CHECK(!all_zero(BUF_GPA, 64));
	CHECK(all_zero(BUF_GPA + 64, 64));
	CHECK_EQ(irq.raises, 1);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	drv_w(&rng.mmio, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	/* Two buffers, one notification: both filled, with different bytes. */
	request(1, BUF_GPA + 0x100, 32);
	request(2, BUF_GPA + 0x200, 32);
	notify();
	CHECK_EQ(drv_used_idx(&q), 3);
	CHECK_EQ(drv_used_len(&q, 1), 32);
	CHECK_EQ(drv_used_len(&q, 2), 32);
	CHECK(memcmp(ram_at(BUF_GPA + 0x100), ram_at(BUF_GPA + 0x200), 32) != 0);

	/* One buffer in two pieces: both pieces filled, the used length covers them. */
	drv_desc(q.desc, 3, BUF_GPA + 0x300, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 4);
	drv_desc(q.desc, 4, BUF_GPA + 0x400, 8, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 3);
	notify();
	CHECK_EQ(drv_used_idx(&q), 4);
	CHECK_EQ(drv_used_id(&q, 3), 3);
	CHECK_EQ(drv_used_len(&q, 3), 16);
	CHECK(!all_zero(BUF_GPA + 0x400, 8));

	/* A buffer larger than the device fills at once: the first VIRTIO_RNG_FILL_MAX bytes. */
	request(5, BUF_GPA + 0x1000, 3 * VIRTIO_RNG_FILL_MAX);
	notify();
	CHECK_EQ(drv_used_idx(&q), 5);
	CHECK_EQ(drv_used_len(&q, 4), VIRTIO_RNG_FILL_MAX);
	CHECK(!all_zero(BUF_GPA + 0x1000 + VIRTIO_RNG_FILL_MAX - 16, 16));
	CHECK(all_zero(BUF_GPA + 0x1000 + VIRTIO_RNG_FILL_MAX, VIRTIO_RNG_FILL_MAX));
	CHECK_EQ(rng.bytes, 64 + 32 + 32 + 16 + VIRTIO_RNG_FILL_MAX);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_STATUS), LIVE);
	stop();
}

/* Before DRIVER_OK nothing is served; a full queue is served in one notification. */
static void test_not_live_and_full_queue(void)
{
	start();
	request(0, BUF_GPA, 16); /* rings not even set up: nothing may happen */
	notify();
	CHECK(all_zero(BUF_GPA, 16));
	CHECK_EQ(irq.raises, 0);

	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	for (uint16_t i = 0; i < QNUM; i++)
		request(i, BUF_GPA + 16ull * i, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), QNUM);
	CHECK(!all_zero(BUF_GPA + 16ull * (QNUM - 1), 16));
	CHECK_EQ(irq.raises, 1);
	stop();
}

/* What a hostile driver can put in the requestq; each one only fails the device. */
static void test_hostile(void)
{
	/* A device-readable buffer (5.4.6.1): not written, not used. */
	start();
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	drv_desc(q.desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&q, 0);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(all_zero(BUF_GPA, 16));
	CHECK(needs_reset());
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* Until reset, good buffers are ignored too. */
	request(1, BUF_GPA + 0x100, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(all_zero(BUF_GPA + 0x100, 16));

	/* A reset and a new setup bring it back. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	request(0, BUF_GPA + 0x200, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), 1);
	CHECK(!all_zero(BUF_GPA + 0x200, 16));

	/* A readable piece, even followed by a writable one: the buffer is device-readable. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	drv_desc(q.desc, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(q.desc, 1, BUF_GPA + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 0);
	memset(ram_at(BUF_GPA), 0, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(all_zero(BUF_GPA, 16));
	CHECK(needs_reset());

	/* A chain that loops on itself. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	drv_desc(q.desc, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	drv_publish(&q, 0);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(all_zero(BUF_GPA, 8));
	CHECK(needs_reset());

	/* A buffer that leaves guest RAM, and one whose address wraps around. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	request(0, RAM_END - 8, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(all_zero(RAM_END - 8, 8));
	CHECK(needs_reset());
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	request(0, UINT64_MAX - 4, 16);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(needs_reset());

	/* A head beyond the queue, and an avail->idx far ahead of what was served. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	drv_publish(&q, QNUM);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(needs_reset());
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	guest_write_u16(&ram, q.avail + 2, 1000);
	notify();
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK(needs_reset());

	/* A notification for a queue that does not exist changes nothing. */
	CHECK_EQ(drv_setup(&rng.mmio, VIRTIO_F_VERSION_1, 1, &q, QNUM), LIVE);
	drv_w(&rng.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_STATUS), LIVE);
	/* Nor does a zero-length writable buffer: it comes back with nothing in it. */
	request(0, BUF_GPA, 0);
	notify();
	CHECK_EQ(drv_used_idx(&q), 1);
	CHECK_EQ(drv_used_len(&q, 0), 0);
	CHECK_EQ(drv_r(&rng.mmio, VIRTIO_MMIO_STATUS), LIVE);
	stop();
}

int main(void)
{
	ram_init();
	test_identity();
	test_fill();
	test_not_live_and_full_queue();
	test_hostile();
	ram_free();
	return CHECK_DONE("virtio_rng");
}
