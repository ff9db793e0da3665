/*
 * fuzz_virtq_blk.c - libFuzzer target for the virtio-blk device (stage 07 on; `make fuzz`
 * builds it from the most complete stage's files): the input is what a hostile guest controls
 * (its RAM, the queue setup, register accesses), the device is served by a small in-memory
 * disk. Sanitizers are the oracle, plus one invariant: a device that is not in NEEDS_RESET has
 * handed back every chain it took.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Istages/09-linux-boot \
 *     tests/fuzz/fuzz_virtq_blk.c common/guest_mem.c stages/09-linux-boot/virtq.c \
 *     stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtio_blk.c -o /tmp/fz && \
 *     /tmp/fz -max_total_time=10
 *
 * Random bytes almost never form a valid descriptor chain, so an all-zero input means a
 * well-behaved guest: guest RAM is a built-in image of four good requests (read, write, an
 * indirect GET_ID, flush) XORed with the input's RAM bytes, and every header field's zero
 * value is the ordinary choice. Every guest state is still reachable; mutations start from
 * a working queue instead of from noise.
 *
 * Input layout (little-endian; missing bytes read as 0):
 *   0   u8   flags: 1 read-only disk, 2 no EVENT_IDX, 4 no INDIRECT_DESC, 8 no VERSION_1,
 *            16 QueueNum raw from `num` (else 1 << ((num + 4) % 9): 16 for 0),
 *            32 ring addresses raw 64-bit GPAs (else offsets from their usual places),
 *            bits 6-7 requests served per batch of the device's "thread" (0 counting as 1)
 *   1   u8   register accesses to make after the first notification (% 9)
 *   2   u16  num
 *   4   u64  desc, avail, used (24 bytes)
 *   28  u32  extra device-specific feature bits to accept (low word)
 *   32  8 x 8 bytes of register accesses: u16 offset, u8 op (bit 7 write, bits 0-1 size
 *       1/2/4/8), u8 unused, u32 value
 *   96  guest RAM, XORed into the built-in image from its first byte
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "virtio_blk.h"
#include "virtio_host.h"

/* Low in the address space, so that small numbers the fuzzer tries are guest addresses. */
#define RAM_GPA 0x10000ull
#define RAM_SIZE 0x10000
#define DISK_SECTORS 64
#define HEADER_LEN 32
#define ACCESS_LEN 8
#define ACCESSES_MAX 8
#define RAM_IMAGE (HEADER_LEN + ACCESSES_MAX * ACCESS_LEN)

#include "fuzz_input.h" /* needs RAM_GPA */

/* Where the built-in image puts things, as offsets into RAM. */
#define IMG_DESC 0x000 /* 16 descriptors */
#define IMG_AVAIL 0x100
#define IMG_USED 0x200
#define IMG_HEADERS 0x400 /* 16 bytes per request */
#define IMG_STATUS 0x500 /* 1 byte per request */
#define IMG_TABLE 0x600 /* indirect table */
#define IMG_DATA 0x800

/* The log functions are tests/fuzz/quiet_log.c's: silent, and abort() for die(). */

static uint8_t image[RAM_SIZE];
static uint8_t *ram_host;
static struct guest_mem ram;
static int disk_fd = -1;
static struct virtio_blk blk;

/* Request r: header (type, sector) at IMG_HEADERS + 16 r, status at IMG_STATUS + r. */
static void image_header(unsigned int r, uint32_t type, uint64_t sector)
{
	put_le(image, IMG_HEADERS + 16 * r, type, 4);
	put_le(image, IMG_HEADERS + 16 * r + 8, sector, 8);
}

static void image_build(void)
{
	const uint16_t next = VIRTQ_DESC_F_NEXT, wr = VIRTQ_DESC_F_WRITE;

	/* Read sectors 0-1. */
	image_header(0, VIRTIO_BLK_T_IN, 0);
	image_desc(image, IMG_DESC, 0, IMG_HEADERS, 16, next, 1);
	image_desc(image, IMG_DESC, 1, IMG_DATA, 1024, next | wr, 2);
	image_desc(image, IMG_DESC, 2, IMG_STATUS, 1, wr, 0);
	/* Write sector 2, the data split in two. */
	image_header(1, VIRTIO_BLK_T_OUT, 2);
	image_desc(image, IMG_DESC, 3, IMG_HEADERS + 16, 16, next, 4);
	image_desc(image, IMG_DESC, 4, IMG_DATA + 0x400, 256, next, 5);
	image_desc(image, IMG_DESC, 5, IMG_DATA + 0x600, 256, next, 6);
	image_desc(image, IMG_DESC, 6, IMG_STATUS + 1, 1, wr, 0);
	/* GET_ID through an indirect table. */
	image_header(2, VIRTIO_BLK_T_GET_ID, 0);
	image_desc(image, IMG_DESC, 7, IMG_TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	image_desc(image, IMG_TABLE, 0, IMG_HEADERS + 32, 16, next, 1);
	image_desc(image, IMG_TABLE, 1, IMG_DATA + 0x800, 20, next | wr, 2);
	image_desc(image, IMG_TABLE, 2, IMG_STATUS + 2, 1, wr, 0);
	/* Flush. */
	image_header(3, VIRTIO_BLK_T_FLUSH, 0);
	image_desc(image, IMG_DESC, 8, IMG_HEADERS + 48, 16, next, 9);
	image_desc(image, IMG_DESC, 9, IMG_STATUS + 3, 1, wr, 0);

	put_le(image, IMG_AVAIL + 2, 4, 2); /* avail->idx */
	put_le(image, IMG_AVAIL + 4, 0, 2);
	put_le(image, IMG_AVAIL + 6, 3, 2);
	put_le(image, IMG_AVAIL + 8, 7, 2);
	put_le(image, IMG_AVAIL + 10, 8, 2);
}

static void setup(void)
{
	ram_host = malloc(RAM_SIZE);
	disk_fd = memfd_create("fuzz-disk", 0);
	if (!ram_host || disk_fd < 0)
		abort();
	ram = (struct guest_mem){ .gpa = RAM_GPA, .size = RAM_SIZE, .host = ram_host };
	image_build();
}

static struct fuzz_host host;

/* A register write, and whatever it made the device's thread do. */
static void reg_write(uint64_t off, uint32_t val)
{
	virtio_mmio_write(&blk.mmio, off, 4, val);
	fuzz_serve(&blk.mmio, &host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t ring_base[3] = { IMG_DESC, IMG_AVAIL, IMG_USED };
	uint8_t flags = (uint8_t)get_le(data, size, 0, 1);
	unsigned int accesses = (unsigned int)get_le(data, size, 1, 1) % (ACCESSES_MAX + 1);
	uint64_t num = get_le(data, size, 2, 2), addr[3], features;
	struct virtio_mmio_host vh;
	struct virtq *vq;

	if (!ram_host)
		setup();
	memcpy(ram_host, image, RAM_SIZE);
	for (size_t i = RAM_IMAGE; i < size && i - RAM_IMAGE < RAM_SIZE; i++)
		ram_host[i - RAM_IMAGE] ^= data[i];
	/* A fresh disk each time, so that runs are reproducible. */
	if (ftruncate(disk_fd, 0) || ftruncate(disk_fd, DISK_SECTORS * VIRTIO_BLK_SECTOR))
		abort();
	vh = fuzz_host_init(&host, flags >> 6);
	if (virtio_blk_init(&blk, disk_fd, flags & 1, "fuzz", &ram, &vh))
		abort();

	/* The driver's side of 3.1.1, with the fuzzer's choices. */
	features = get_le(data, size, 28, 4);
	features |= (flags & 2 ? 0 : VIRTIO_F_EVENT_IDX) | (flags & 4 ? 0 : VIRTIO_F_INDIRECT_DESC);
	features |= flags & 8 ? 0 : VIRTIO_F_VERSION_1;
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg_write(VIRTIO_MMIO_STATUS,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (int i = 0; i < 3; i++) {
		addr[i] = get_le(data, size, 4 + 8 * (size_t)i, 8);
		if (!(flags & 32))
			addr[i] = RAM_GPA + (ring_base[i] + addr[i]) % RAM_SIZE;
	}
	reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(VIRTIO_MMIO_QUEUE_NUM, (uint32_t)(flags & 16 ? num : 1u << ((num + 4) % 9)));
	reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)addr[0]);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(addr[0] >> 32));
	reg_write(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)addr[1]);
	reg_write(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(addr[1] >> 32));
	reg_write(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)addr[2]);
	reg_write(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(addr[2] >> 32));
	reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

	for (unsigned int a = 0; a < accesses; a++) {
		size_t at = HEADER_LEN + (size_t)a * ACCESS_LEN;
		uint64_t off = get_le(data, size, at, 2) % 0x200;
		uint8_t op = (uint8_t)get_le(data, size, at + 2, 1);
		unsigned int len = 1u << (op & 3);

		if (op & 0x80)
			virtio_mmio_write(&blk.mmio, off, len, get_le(data, size, at + 4, 4));
		else
			virtio_mmio_read(&blk.mmio, off, len);
		fuzz_serve(&blk.mmio, &host);
	}
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

	vq = &blk.mmio.queues[0];
	if (!(blk.mmio.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && vq->used_idx != vq->last_avail)
		abort();
	virtio_blk_destroy(&blk);
	return 0;
}
