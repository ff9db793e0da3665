/* unit-test sources: stages/09-linux-boot/virtq.c */
/*
 * test_virtq.c - the split virtqueue (virtio 1.2, 2.7) against well-formed and hostile
 * rings in a fake guest RAM: every malformed chain must give its VIRTQ_E_* code.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "virtio_driver.h"
#include "virtq.h"

#define NUM 8

static struct virtq vq;
static struct drv_queue q;
static struct virtq_chain chain;

/* A ready queue of NUM entries at QUEUE_AREA(0), clean rings and buffers. */
static void fresh_queue(bool event_idx, bool indirect)
{
	memset(ram.host, 0, RAM_SIZE);
	drv_queue_layout(&q, QUEUE_AREA(0), NUM);
	virtq_init(&vq, &ram, NUM);
	vq.desc = q.desc;
	vq.avail = q.avail;
	vq.used = q.used;
	CHECK_EQ(virtq_enable(&vq, event_idx, indirect), 0);
}

static void test_enable(void)
{
	virtq_init(&vq, &ram, NUM);
	CHECK_EQ(vq.num, NUM); /* QueueNum starts at QueueNumMax */
	CHECK(!vq.ready);
	vq.desc = QUEUE_AREA(0);
	vq.avail = QUEUE_AREA(0) + 0x1000;
	vq.used = QUEUE_AREA(0) + 0x2000;

	vq.num = 0;
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_SIZE);
	vq.num = 6;
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_SIZE);
	vq.num = 16; /* above QueueNumMax */
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_SIZE);
	CHECK(!vq.ready);
	vq.num = 4; /* smaller than the maximum is fine */
	CHECK_EQ(virtq_enable(&vq, false, false), 0);
	CHECK(vq.ready);

	vq.ready = false;
	vq.num = NUM;
	vq.desc += 8;
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_ALIGN);
	vq.desc -= 8;
	vq.avail += 1;
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_ALIGN);
	vq.avail -= 1;
	vq.used += 2;
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_ALIGN);
	vq.used -= 2;

	vq.desc = RAM_GPA - 0x1000; /* below RAM */
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_RING);
	vq.desc = 0xfffffffffffffff0ull; /* desc + 16 * num wraps */
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_RING);
	vq.desc = QUEUE_AREA(0);
	vq.used = RAM_END - 8; /* 6 + 8 * 8 bytes do not fit */
	CHECK_EQ(virtq_enable(&vq, false, false), -VIRTQ_E_RING);
	vq.used = RAM_END - (6 + 8 * NUM) - 2; /* fits, 4-aligned */
	CHECK_EQ(virtq_enable(&vq, false, false), 0);
	CHECK(vq.ready);

	virtq_reset(&vq);
	CHECK(!vq.ready);
	CHECK_EQ(vq.desc, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), 0); /* not ready: nothing to take */
}

static void test_direct_chain(void)
{
	fresh_queue(false, false);
	CHECK_EQ(virtq_pop(&vq, &chain), 0);

	drv_desc(q.desc, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 5);
	drv_desc(q.desc, 5, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	drv_desc(q.desc, 0, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 3);

	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.nseg, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.read_bytes, 16);
	CHECK_EQ(chain.write_bytes, 513);
	CHECK_EQ(chain.seg[0].gpa, BUF_GPA);
	CHECK(!chain.seg[0].writable);
	CHECK_EQ(chain.seg[1].gpa, BUF_GPA + 0x100);
	CHECK_EQ(chain.seg[1].len, 512);
	CHECK(chain.seg[1].writable);
	CHECK_EQ(chain.seg[2].gpa, BUF_GPA + 0x400);
	CHECK_EQ(virtq_pop(&vq, &chain), 0); /* only one was made available */

	virtq_push(&vq, 3, 513);
	CHECK_EQ(drv_used_idx(&q), 1);
	CHECK_EQ(drv_used_id(&q, 0), 3);
	CHECK_EQ(drv_used_len(&q, 0), 513);

	/* A buffer ending exactly at the end of RAM, and a zero-length one, are fine. */
	drv_desc(q.desc, 1, RAM_END - 64, 64, VIRTQ_DESC_F_NEXT, 2);
	drv_desc(q.desc, 2, RAM_END, 0, 0, 0);
	drv_publish(&q, 1);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(chain.nseg, 2);
	CHECK_EQ(chain.read_bytes, 64);
}

/* One single-descriptor chain per case; each must be refused with `err`. */
static void expect_bad_desc(uint64_t addr, uint32_t len, int err)
{
	fresh_queue(false, false);
	drv_desc(q.desc, 0, addr, len, 0, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), err);
	CHECK_EQ(vq.last_avail, 0); /* nothing was consumed */
}

static void test_bad_buffers(void)
{
	expect_bad_desc(RAM_GPA - 16, 16, -VIRTQ_E_BUF); /* before RAM */
	expect_bad_desc(RAM_END - 8, 16, -VIRTQ_E_BUF); /* straddles the end */
	expect_bad_desc(RAM_END + 0x1000, 1, -VIRTQ_E_BUF); /* after RAM */
	expect_bad_desc(0xffffffffffffff00ull, 0x200, -VIRTQ_E_BUF); /* addr + len wraps */
	expect_bad_desc(RAM_GPA, 0xffffffff, -VIRTQ_E_BUF); /* longer than RAM */
}

static void test_bad_indices(void)
{
	fresh_queue(false, false);
	drv_publish(&q, NUM); /* head beyond the table */
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_HEAD);

	fresh_queue(false, false);
	drv_desc(q.desc, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 200);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_NEXT);

	/* 0 -> 1 -> 0: a loop. */
	fresh_queue(false, false);
	drv_desc(q.desc, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(q.desc, 1, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_LOOP);

	/* A descriptor that is its own successor. */
	fresh_queue(false, false);
	drv_desc(q.desc, 4, BUF_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	drv_publish(&q, 4);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_LOOP);

	/* Readable after writable. */
	fresh_queue(false, false);
	drv_desc(q.desc, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	drv_desc(q.desc, 1, BUF_GPA, 8, 0, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_ORDER);
}

static void test_avail_idx(void)
{
	/* Exactly a queue's worth outstanding is legal... */
	fresh_queue(false, false);
	for (uint16_t i = 0; i < NUM; i++) {
		drv_desc(q.desc, i, BUF_GPA + 16 * i, 16, 0, 0);
		drv_publish(&q, i);
	}
	for (uint16_t i = 0; i < NUM; i++) {
		CHECK_EQ(virtq_pop(&vq, &chain), 1);
		CHECK_EQ(chain.head, i);
	}
	CHECK_EQ(virtq_pop(&vq, &chain), 0);

	/* ...one more is not. */
	fresh_queue(false, false);
	guest_write_u16(&ram, q.avail + 2, NUM + 1);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_AVAIL_IDX);
	/* Going backwards looks like a jump of almost 65536. */
	guest_write_u16(&ram, q.avail + 2, 0xffff);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_AVAIL_IDX);

	/* The 16-bit indices wrap around. */
	fresh_queue(false, false);
	vq.last_avail = 0xffff;
	vq.used_idx = 0xffff;
	drv_desc(q.desc, 2, BUF_GPA, 16, 0, 0);
	guest_write_u16(&ram, q.avail + 4 + 2 * (0xffff % NUM), 2);
	guest_write_u16(&ram, q.avail + 4 + 2 * 0, 2);
	guest_write_u16(&ram, q.avail + 2, 1); /* 0xffff and 0x0000 are available */
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(vq.last_avail, 1);
	CHECK_EQ(virtq_pop(&vq, &chain), 0);
	virtq_push(&vq, 2, 0);
	CHECK_EQ(drv_used_idx(&q), 0);
	CHECK_EQ(drv_used_id(&q, 0xffff), 2);
}

#define TABLE (BUF_GPA + 0x1000)

static void test_indirect(void)
{
	/* A single indirect descriptor (its WRITE flag means nothing). */
	fresh_queue(false, true);
	drv_desc(TABLE, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	drv_desc(TABLE, 2, BUF_GPA + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	drv_desc(TABLE, 1, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	drv_desc(q.desc, 6, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 6);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(chain.head, 6);
	CHECK_EQ(chain.nseg, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.seg[1].gpa, BUF_GPA + 0x200);
	CHECK_EQ(chain.seg[2].gpa, BUF_GPA + 0x400);
	CHECK_EQ(chain.write_bytes, 513);

	/* Direct descriptors followed by an indirect one (2.7.5.3.2). */
	fresh_queue(false, true);
	drv_desc(q.desc, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(q.desc, 1, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drv_desc(TABLE, 0, BUF_GPA + 0x100, 8, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(TABLE, 1, BUF_GPA + 0x200, 4, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(chain.nseg, 3);
	CHECK_EQ(chain.read_bytes, 24);
	CHECK_EQ(chain.write_bytes, 4);
}

/* A chain whose head is an indirect descriptor (addr, len, flags); expect `err`. */
static void expect_bad_indirect(bool feature, uint64_t addr, uint32_t len, uint16_t flags, int err)
{
	fresh_queue(false, feature);
	drv_desc(TABLE, 0, BUF_GPA, 16, 0, 0);
	drv_desc(q.desc, 0, addr, len, VIRTQ_DESC_F_INDIRECT | flags, 1);
	drv_desc(q.desc, 1, BUF_GPA, 16, 0, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), err);
}

static void test_bad_indirect(void)
{
	expect_bad_indirect(false, TABLE, 16, 0, -VIRTQ_E_INDIRECT);
	expect_bad_indirect(true, TABLE, 16, VIRTQ_DESC_F_NEXT, -VIRTQ_E_INDIRECT_NEXT);
	expect_bad_indirect(true, TABLE, 0, 0, -VIRTQ_E_INDIRECT_LEN);
	expect_bad_indirect(true, TABLE, 24, 0, -VIRTQ_E_INDIRECT_LEN);
	expect_bad_indirect(true, RAM_END - 16, 32, 0, -VIRTQ_E_INDIRECT_RANGE);
	expect_bad_indirect(true, RAM_GPA - 32, 32, 0, -VIRTQ_E_INDIRECT_RANGE);
	expect_bad_indirect(true, 0xfffffffffffffff0ull, 32, 0, -VIRTQ_E_INDIRECT_RANGE);
	expect_bad_indirect(true, TABLE, 16, 0, 1); /* the same, well-formed, works */

	/* An indirect descriptor inside the table. */
	fresh_queue(false, true);
	drv_desc(TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	drv_desc(q.desc, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_NESTED);

	/* `next` beyond the end of the table (though inside the queue size). */
	fresh_queue(false, true);
	drv_desc(TABLE, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	drv_desc(TABLE, 1, BUF_GPA, 16, 0, 0);
	drv_desc(q.desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_NEXT);

	/* A loop inside the table. */
	fresh_queue(false, true);
	drv_desc(TABLE, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(TABLE, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	drv_desc(q.desc, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_LOOP);

	/* A well-formed table with more buffers than the queue size (2.7.5.3.1). */
	fresh_queue(false, true);
	for (uint16_t i = 0; i < NUM + 1; i++)
		drv_desc(TABLE, i, BUF_GPA, 16, i < NUM ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	drv_desc(q.desc, 0, TABLE, 16 * (NUM + 1), VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_CHAIN_LEN);

	/* A buffer outside RAM inside the table. */
	fresh_queue(false, true);
	drv_desc(TABLE, 0, RAM_END, 1, 0, 0);
	drv_desc(q.desc, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_BUF);
}

/* 2^32 bytes in one chain: 256 buffers of 16 MiB, all over the same (big) guest RAM. */
static void test_chain_bytes(void)
{
	struct guest_mem big = { .gpa = RAM_GPA, .size = 32ull << 20 };
	uint64_t table = RAM_GPA + (16ull << 20), ring = table + 0x1000;

	big.host = calloc(1, big.size);
	CHECK(big.host != NULL);
	if (!big.host)
		return;
	virtq_init(&vq, &big, VIRTQ_SIZE_MAX);
	vq.desc = ring;
	vq.avail = ring + 0x1000;
	vq.used = ring + 0x2000;
	CHECK_EQ(virtq_enable(&vq, false, true), 0);
	for (uint16_t i = 0; i < VIRTQ_SIZE_MAX; i++) {
		uint64_t d = table + 16ull * i;

		guest_write_u64(&big, d, RAM_GPA);
		guest_write_u32(&big, d + 8, 16u << 20);
		guest_write_u16(&big, d + 12, i + 1 < VIRTQ_SIZE_MAX ? VIRTQ_DESC_F_NEXT : 0);
		guest_write_u16(&big, d + 14, i + 1);
	}
	guest_write_u64(&big, ring, table);
	guest_write_u32(&big, ring + 8, 16 * VIRTQ_SIZE_MAX);
	guest_write_u16(&big, ring + 12, VIRTQ_DESC_F_INDIRECT);
	guest_write_u16(&big, vq.avail + 2, 1);
	CHECK_EQ(virtq_pop(&vq, &chain), -VIRTQ_E_CHAIN_BYTES);

	/* One byte less in the last buffer fits in 32 bits. */
	guest_write_u32(&big, table + 16ull * (VIRTQ_SIZE_MAX - 1) + 8, (16u << 20) - 1);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(chain.read_bytes, 0xffffffffull);
	free(big.host);
}

static void test_notify_flags(void)
{
	fresh_queue(false, false);
	CHECK(!virtq_should_notify(&vq)); /* nothing used yet */
	virtq_push(&vq, 0, 0);
	CHECK(virtq_should_notify(&vq));
	CHECK(!virtq_should_notify(&vq)); /* nothing new since */
	guest_write_u16(&ram, q.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&vq, 0, 0);
	CHECK(!virtq_should_notify(&vq));
	/* used_event means nothing without VIRTIO_F_EVENT_IDX. */
	guest_write_u16(&ram, q.avail, 0);
	drv_set_used_event(&q, 100);
	virtq_push(&vq, 0, 0);
	CHECK(virtq_should_notify(&vq));
}

static void test_event_idx(void)
{
	fresh_queue(true, false);
	/* used_event 0: interrupt when entry 0 is used. */
	drv_set_used_event(&q, 0);
	virtq_push(&vq, 0, 0);
	CHECK(virtq_should_notify(&vq));
	/* used_event 4: not for entries 1..3, but for the batch that includes entry 4. */
	drv_set_used_event(&q, 4);
	virtq_push(&vq, 0, 0);
	CHECK(!virtq_should_notify(&vq));
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0);
	CHECK(!virtq_should_notify(&vq));
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0);
	CHECK(virtq_should_notify(&vq));
	/* The NO_INTERRUPT flag is ignored with EVENT_IDX. */
	guest_write_u16(&ram, q.avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	drv_set_used_event(&q, 6);
	virtq_push(&vq, 0, 0);
	CHECK(virtq_should_notify(&vq));

	/* Going idle publishes avail_event = the next slot we will look at. */
	fresh_queue(true, false);
	drv_desc(q.desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&q, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);
	CHECK_EQ(drv_avail_event(&q), 0); /* not idle yet: untouched */
	CHECK_EQ(virtq_pop(&vq, &chain), 0);
	CHECK_EQ(drv_avail_event(&q), 2);
}

static void test_chain_copy(void)
{
	uint8_t out[8], in[6] = { 'a', 'b', 'c', 'd', 'e', 'f' };

	fresh_queue(false, false);
	memcpy(ram_at(BUF_GPA), "0123", 4);
	memcpy(ram_at(BUF_GPA + 0x100), "456789", 6);
	drv_desc(q.desc, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(q.desc, 1, BUF_GPA + 0x100, 6, VIRTQ_DESC_F_NEXT, 2);
	drv_desc(q.desc, 2, BUF_GPA + 0x200, 3, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	drv_desc(q.desc, 3, BUF_GPA + 0x300, 3, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&q, 0);
	CHECK_EQ(virtq_pop(&vq, &chain), 1);

	/* Reads cross segment boundaries and start anywhere. */
	CHECK_EQ(virtq_chain_read(&chain, 2, out, 6), 0);
	CHECK(memcmp(out, "234567", 6) == 0);
	CHECK_EQ(virtq_chain_read(&chain, 4, out, 6), 0);
	CHECK(memcmp(out, "456789", 6) == 0);
	CHECK_EQ(virtq_chain_read(&chain, 5, out, 6), -EFAULT); /* one beyond */
	CHECK_EQ(virtq_chain_read(&chain, 0xffffffffffffffffull, out, 2), -EFAULT);

	/* Writes go to the writable part only. */
	CHECK_EQ(virtq_chain_write(&chain, 1, in, 4), 0);
	CHECK(memcmp(ram_at(BUF_GPA + 0x201), "ab", 2) == 0);
	CHECK(memcmp(ram_at(BUF_GPA + 0x300), "cd", 2) == 0);
	CHECK_EQ(ram_at(BUF_GPA + 0x200)[0], 0);
	CHECK_EQ(virtq_chain_write(&chain, 0, in, 7), -EFAULT);
	CHECK_EQ(ram_at(BUF_GPA + 0x200)[0], 0); /* nothing copied on failure */
	CHECK(memcmp(ram_at(BUF_GPA), "0123", 4) == 0);
}

/*
 * The ring indices are shared with driver CPUs that update them while the device reads (and
 * the other way round): a 16-bit index read or written as two bytes can be seen half old,
 * half new. These two tests race a "driver" thread against the device across the 0x00ff ->
 * 0x0100 boundary, where a torn access gives 0x0000 or 0x01ff, far from either real value.
 */
#define RACE_ROUNDS 2000000

static volatile int racing;

/* The driver toggles avail->idx between 0x00ff and 0x0100 with whole 16-bit stores. */
static void *race_avail_idx(void *arg)
{
	uint16_t *idx = (uint16_t *)ram_at(q.avail + 2);

	while (__atomic_load_n(&racing, __ATOMIC_RELAXED))
		for (int i = 0; i < 1000; i++)
			__atomic_store_n(idx, (i & 1) ? 0x0100 : 0x00ff, __ATOMIC_RELAXED);
	return NULL;
}

static void test_avail_idx_race(void)
{
	unsigned long bad = 0;
	pthread_t t;

	fresh_queue(false, false);
	/* Whatever slot 0xff or 0x0100 points at: descriptor 0, a valid one-byte buffer. */
	drv_desc(q.desc, 0, BUF_GPA, 1, 0, 0);
	guest_write_u16(&ram, q.avail + 2, 0x00ff);
	racing = 1;
	CHECK_EQ(pthread_create(&t, NULL, race_avail_idx, NULL), 0);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		/* 0x00ff taken so far: idx is 0 or 1 chains ahead; anything else was torn. */
		vq.last_avail = 0x00ff;
		if (virtq_pop(&vq, &chain) < 0)
			bad++;
	}
	__atomic_store_n(&racing, 0, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
}

/* The driver watches used->idx, which the device toggles between 0x00ff and 0x0100. */
static void *race_used_idx(void *arg)
{
	uint16_t *idx = (uint16_t *)ram_at(q.used + 2);
	unsigned long *torn = arg;
	uint16_t now;

	while (__atomic_load_n(&racing, __ATOMIC_RELAXED)) {
		now = __atomic_load_n(idx, __ATOMIC_RELAXED);
		if (now != 0x00ff && now != 0x0100)
			(*torn)++;
	}
	return NULL;
}

static void test_used_idx_race(void)
{
	unsigned long torn = 0;
	pthread_t t;

	fresh_queue(false, false);
	guest_write_u16(&ram, q.used + 2, 0x00ff);
	racing = 1;
	CHECK_EQ(pthread_create(&t, NULL, race_used_idx, &torn), 0);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		/* virtq_push() publishes used_idx + 1. */
		vq.used_idx = (i & 1) ? 0x00ff : 0x00fe;
		virtq_push(&vq, 0, 0);
	}
	__atomic_store_n(&racing, 0, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CHECK_EQ(torn, 0);
	CHECK_EQ(drv_used_idx(&q), 0x0100);
}

static void test_strerror(void)
{
	CHECK_STR(virtq_strerror(-VIRTQ_E_LOOP), "loop in descriptor chain");
	CHECK_STR(virtq_strerror(VIRTQ_E_LOOP), "loop in descriptor chain");
	CHECK_STR(virtq_strerror(-1000), "unknown virtqueue error");
}

int main(void)
{
	ram_init();
	test_enable();
	test_direct_chain();
	test_bad_buffers();
	test_bad_indices();
	test_avail_idx();
	test_indirect();
	test_bad_indirect();
	test_chain_bytes();
	test_notify_flags();
	test_event_idx();
	test_chain_copy();
	test_avail_idx_race();
	test_used_idx_race();
	test_strerror();
	ram_free();
	return CHECK_DONE("virtq");
}
