/* unit-test sources: stages/09-linux-boot/virtio_blk.c stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtq.c */
/*
 * test_virtio_blk.c - the virtio block device (virtio 1.2, 5.2) over a 16-sector temporary
 * disk image, driven through its MMIO registers like a guest driver would: reads, writes,
 * flush, GET_ID, every kind of malformed request, read-only disks and host I/O errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "virtio_driver.h"
#include "virtio_blk.h"

#define SECTORS 16
#define SERIAL "0123456789abcdefghijKLMN" /* longer than 20 bytes: truncated */
#define FEATURES VIRTIO_F_VERSION_1
#define LIVE \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK)

/* Buffers of one request at `base`: header, status byte, data. */
#define HDR(base) (base)
#define STATUS(base) ((base) + 0x100)
#define DATA(base) ((base) + 0x1000)
#define REQ BUF_GPA

static struct virtio_blk blk;
static struct irq_line irq;
static struct drv_queue rq;
static char disk_path[] = "/tmp/test_virtio_blk.XXXXXX";
static int disk_fd = -1;

/* Sector s of a fresh disk is filled with the byte 'A' + s. */
static void disk_fill(void)
{
	uint8_t sector[VIRTIO_BLK_SECTOR];

	CHECK_EQ(ftruncate(disk_fd, 0), 0);
	for (int s = 0; s < SECTORS; s++) {
		memset(sector, 'A' + s, sizeof(sector));
		CHECK_EQ(pwrite(disk_fd, sector, sizeof(sector), s * VIRTIO_BLK_SECTOR),
			 VIRTIO_BLK_SECTOR);
	}
}

static uint8_t disk_byte(uint64_t off)
{
	uint8_t b = 0;

	CHECK_EQ(pread(disk_fd, &b, 1, (off_t)off), 1);
	return b;
}

/* A live device on a fresh disk (or on fd, if not -1), request queue of 16 entries. */
static void start_on(int fd, bool read_only, uint64_t features)
{
	memset(ram.host, 0, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	disk_fill();
	CHECK_EQ(virtio_blk_init(&blk, fd < 0 ? disk_fd : fd, read_only, SERIAL, &ram,
				 drv_host(&irq)),
		 0);
	CHECK_EQ(drv_setup(&blk.mmio, features, 1, &rq, 16), LIVE);
}

static void start(bool read_only, uint64_t features)
{
	start_on(-1, read_only, features);
}

static void stop(void)
{
	virtio_blk_destroy(&blk);
}

static void put_header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	guest_write_u32(&ram, gpa, type);
	guest_write_u32(&ram, gpa + 4, 0);
	guest_write_u64(&ram, gpa + 8, sector);
}

/*
 * Descriptors first, first+1, first+2: a 16-byte header, data_len bytes of data (device-
 * writable for a read; none if data_len is 0) and a 1-byte status. Returns the head.
 */
static uint16_t build(uint16_t first, uint64_t base, uint32_t type, uint64_t sector,
		      uint32_t data_len)
{
	uint16_t next = first + 1;

	put_header(HDR(base), type, sector);
	ram_at(STATUS(base))[0] = 0xee;
	drv_desc(rq.desc, first, HDR(base), 16, VIRTQ_DESC_F_NEXT, next);
	if (data_len) {
		drv_desc(rq.desc, next, DATA(base), data_len,
			 VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE),
			 next + 1);
		next++;
	}
	drv_desc(rq.desc, next, STATUS(base), 1, VIRTQ_DESC_F_WRITE, 0);
	return first;
}

static void kick(uint16_t head)
{
	drv_publish(&rq, head);
	drv_w(&blk.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* One request; returns its status byte (0xee if the device did not write one). */
static uint8_t submit(uint32_t type, uint64_t sector, uint32_t data_len)
{
	kick(build(0, REQ, type, sector, data_len));
	return ram_at(STATUS(REQ))[0];
}

static uint32_t last_used_len(void)
{
	return drv_used_len(&rq, drv_used_idx(&rq) - 1);
}

static void test_config(void)
{
	struct virtio_mmio *d;
	uint64_t f;

	start(false, FEATURES);
	d = &blk.mmio;
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_ID), 2);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, 8), SECTORS);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_CONFIG + 0), SECTORS);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_CONFIG + 4), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX), 254);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES);
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	CHECK_EQ(f, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC |
			    VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_SEG_MAX);
	stop();

	start(true, FEATURES | VIRTIO_BLK_F_RO);
	drv_w(&blk.mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(drv_r(&blk.mmio, VIRTIO_MMIO_DEVICE_FEATURES) & VIRTIO_BLK_F_RO);
	stop();
}

static void test_read(void)
{
	start(false, FEATURES);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 2, 1024), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'C');
	CHECK_EQ(ram_at(DATA(REQ))[511], 'C');
	CHECK_EQ(ram_at(DATA(REQ))[512], 'D');
	CHECK_EQ(ram_at(DATA(REQ))[1023], 'D');
	CHECK_EQ(ram_at(DATA(REQ))[1024], 0); /* nothing beyond the buffer */
	CHECK_EQ(drv_used_idx(&rq), 1);
	CHECK_EQ(drv_used_id(&rq, 0), 0);
	CHECK_EQ(drv_used_len(&rq, 0), 1025); /* data + status */
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq.level, 1);

	/* The last sector. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, SECTORS - 1, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'A' + SECTORS - 1);
	stop();
}

static void test_write(void)
{
	start(false, FEATURES);
	memset(ram_at(DATA(REQ)), 0x5a, 1024);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 5, 1024), VIRTIO_BLK_S_OK);
	CHECK_EQ(last_used_len(), 1); /* only the status byte was written to the guest */
	CHECK_EQ(disk_byte(5 * 512 - 1), 'A' + 4);
	CHECK_EQ(disk_byte(5 * 512), 0x5a);
	CHECK_EQ(disk_byte(7 * 512 - 1), 0x5a);
	CHECK_EQ(disk_byte(7 * 512), 'A' + 7);
	/* Read it back through the device. */
	memset(ram_at(DATA(REQ)), 0, 1024);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 6, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[100], 0x5a);
	stop();
}

/* The device must not care how the request is cut into descriptors (2.7.4). */
static void test_framing(void)
{
	uint64_t data = DATA(REQ);

	start(false, FEATURES);
	put_header(HDR(REQ), VIRTIO_BLK_T_IN, 1);
	drv_desc(rq.desc, 0, HDR(REQ), 8, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(rq.desc, 1, HDR(REQ) + 8, 8, VIRTQ_DESC_F_NEXT, 2);
	drv_desc(rq.desc, 2, data, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	drv_desc(rq.desc, 3, data + 0x400, 412, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	/* The second sector and the status byte share one descriptor. */
	drv_desc(rq.desc, 4, data + 0x800, 513, VIRTQ_DESC_F_WRITE, 0);
	kick(0);
	CHECK_EQ(ram_at(data)[99], 'B');
	CHECK_EQ(ram_at(data)[100], 0);
	CHECK_EQ(ram_at(data + 0x400)[0], 'B');
	CHECK_EQ(ram_at(data + 0x400)[411], 'B');
	CHECK_EQ(ram_at(data + 0x800)[0], 'C');
	CHECK_EQ(ram_at(data + 0x800)[511], 'C');
	CHECK_EQ(ram_at(data + 0x800)[512], VIRTIO_BLK_S_OK);
	CHECK_EQ(last_used_len(), 1025);

	/* A write whose data follows the header in the same descriptor. */
	put_header(HDR(REQ), VIRTIO_BLK_T_OUT, 3);
	memset(ram_at(HDR(REQ) + 16), 0x77, 512);
	drv_desc(rq.desc, 0, HDR(REQ), 16 + 512, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(rq.desc, 1, STATUS(REQ) + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	kick(0);
	CHECK_EQ(ram_at(STATUS(REQ) + 0x400)[0], VIRTIO_BLK_S_OK);
	CHECK_EQ(disk_byte(3 * 512), 0x77);
	CHECK_EQ(disk_byte(4 * 512 - 1), 0x77);
	stop();
}

static void test_indirect(void)
{
	uint64_t table = BUF_GPA + 0x8000;

	start(false, FEATURES | VIRTIO_F_INDIRECT_DESC);
	put_header(HDR(REQ), VIRTIO_BLK_T_IN, 9);
	drv_desc(table, 0, HDR(REQ), 16, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(table, 1, DATA(REQ), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	drv_desc(table, 2, STATUS(REQ), 1, VIRTQ_DESC_F_WRITE, 0);
	drv_desc(rq.desc, 5, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	kick(5);
	CHECK_EQ(ram_at(STATUS(REQ))[0], VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'A' + 9);
	CHECK_EQ(drv_used_id(&rq, 0), 5);
	CHECK_EQ(drv_used_len(&rq, 0), 513);
	stop();
}

static void test_out_of_range(void)
{
	start(false, FEATURES);
	memset(ram_at(DATA(REQ)), 0xcc, 1024);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, SECTORS, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(last_used_len(), 0); /* the status byte is 512 bytes in: nothing before it */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, SECTORS - 1, 1024), VIRTIO_BLK_S_IOERR); /* crosses */
	CHECK_EQ(ram_at(DATA(REQ))[0], 0xcc); /* nothing read */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, UINT64_MAX, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, SECTORS - 1, 1024), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk_byte((SECTORS - 1) * 512), 'A' + SECTORS - 1); /* nothing written */
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, SECTORS, 0), VIRTIO_BLK_S_OK); /* empty, at the end */
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, SECTORS + 1, 0), VIRTIO_BLK_S_IOERR); /* beyond it */
	/* Data lengths must be whole sectors. */
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 500), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 513), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk_byte(0), 'A');
	CHECK_EQ(drv_used_idx(&rq), 9);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE); /* request errors, not device ones */
	stop();
}

static void test_read_only(void)
{
	start(true, FEATURES | VIRTIO_BLK_F_RO);
	memset(ram_at(DATA(REQ)), 0x5a, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk_byte(0), 'A');
	CHECK_EQ(last_used_len(), 1);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 1, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'B');
	CHECK_EQ(submit(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	stop();
}

static void test_other_requests(void)
{
	start(false, FEATURES | VIRTIO_BLK_F_FLUSH);
	CHECK_EQ(submit(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(last_used_len(), 1);

	memset(ram_at(DATA(REQ)), 0xcc, 32);
	CHECK_EQ(submit(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram_at(DATA(REQ)), "0123456789abcdefghij", 20) == 0);
	CHECK_EQ(ram_at(DATA(REQ))[20], 0xcc);
	CHECK_EQ(last_used_len(), 21);
	/* A short buffer gets what fits. */
	memset(ram_at(DATA(REQ)), 0xcc, 32);
	CHECK_EQ(submit(VIRTIO_BLK_T_GET_ID, 0, 8), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram_at(DATA(REQ)), "01234567", 8) == 0);
	CHECK_EQ(ram_at(DATA(REQ))[8], 0xcc);
	CHECK_EQ(last_used_len(), 9);
	/*
	 * A longer buffer: 20 bytes of ID, then bytes the device never wrote, then the status.
	 * The used length covers only what was written from the start (2.7.8.2).
	 */
	memset(ram_at(DATA(REQ)), 0xcc, 64);
	CHECK_EQ(submit(VIRTIO_BLK_T_GET_ID, 0, 32), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram_at(DATA(REQ)), "0123456789abcdefghij", 20) == 0);
	CHECK_EQ(ram_at(DATA(REQ))[20], 0xcc);
	CHECK_EQ(last_used_len(), 20);

	CHECK_EQ(submit(99, 0, 0), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(last_used_len(), 1);
	CHECK_EQ(submit(11 /* DISCARD, not offered */, 0, 16), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE);
	stop();

	/* A short serial is NUL-padded. */
	memset(ram.host, 0, RAM_SIZE);
	CHECK_EQ(virtio_blk_init(&blk, disk_fd, false, "disk0", &ram, drv_host(&irq)), 0);
	CHECK_EQ(drv_setup(&blk.mmio, FEATURES, 1, &rq, 16), LIVE);
	memset(ram_at(DATA(REQ)), 0xcc, 32);
	CHECK_EQ(submit(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram_at(DATA(REQ)), "disk0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
	stop();
}

static void test_bad_requests(void)
{
	/* A header of 8 bytes: the request fails, the device carries on. */
	start(false, FEATURES);
	drv_desc(rq.desc, 0, HDR(REQ), 8, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(rq.desc, 1, STATUS(REQ), 1, VIRTQ_DESC_F_WRITE, 0);
	ram_at(STATUS(REQ))[0] = 0xee;
	kick(0);
	CHECK_EQ(ram_at(STATUS(REQ))[0], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(last_used_len(), 1);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE);

	/* A status descriptor of length 0: the last writable byte is the data's last. */
	build(0, REQ, VIRTIO_BLK_T_IN, 0, 512);
	drv_desc(rq.desc, 2, STATUS(REQ), 0, VIRTQ_DESC_F_WRITE, 0);
	kick(0);
	CHECK_EQ(ram_at(STATUS(REQ))[0], 0xee);
	CHECK_EQ(ram_at(DATA(REQ))[511], VIRTIO_BLK_S_IOERR); /* 511 data bytes: not sectors */
	CHECK_EQ(ram_at(DATA(REQ))[0], 0);
	CHECK_EQ(last_used_len(), 0); /* the status is byte 511, with 511 unwritten before it */
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE);
	stop();

	/* No writable byte at all: the driver cannot be answered, the device needs reset. */
	start(false, FEATURES);
	build(0, REQ, VIRTIO_BLK_T_IN, 0, 0);
	drv_desc(rq.desc, 1, STATUS(REQ), 1, 0, 0); /* read-only "status" */
	kick(0);
	CHECK_EQ(ram_at(STATUS(REQ))[0], 0xee);
	CHECK_EQ(drv_used_idx(&rq), 0);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq.level, 1);
	stop();

	/* A read-only status byte after writable data: readable after writable. */
	start(false, FEATURES);
	build(0, REQ, VIRTIO_BLK_T_IN, 0, 512);
	drv_desc(rq.desc, 2, STATUS(REQ), 1, 0, 0);
	kick(0);
	CHECK_EQ(ram_at(DATA(REQ))[0], 0); /* nothing read */
	CHECK_EQ(drv_used_idx(&rq), 0);
	CHECK(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	stop();
}

static void test_bad_chain_and_recovery(void)
{
	start(false, FEATURES);
	build(0, REQ, VIRTIO_BLK_T_IN, 0, 512);
	drv_desc(rq.desc, 1, RAM_END - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	kick(0);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(drv_used_idx(&rq), 0);
	CHECK_EQ(ram_at(STATUS(REQ))[0], 0xee);
	/* Until reset, the queue is not looked at, even with a good request. */
	build(0, REQ, VIRTIO_BLK_T_IN, 0, 512);
	kick(0);
	CHECK_EQ(drv_used_idx(&rq), 0);

	/* The driver resets and starts over: the device works again. */
	CHECK_EQ(drv_setup(&blk.mmio, FEATURES, 1, &rq, 16), LIVE);
	CHECK_EQ(irq.level, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'A');
	stop();
}

static void test_batch_and_event_idx(void)
{
	start(false, FEATURES);
	drv_publish(&rq, build(0, REQ, VIRTIO_BLK_T_IN, 0, 512));
	drv_publish(&rq, build(3, REQ + 0x2000, VIRTIO_BLK_T_IN, 1, 512));
	drv_publish(&rq, build(6, REQ + 0x4000, VIRTIO_BLK_T_GET_ID, 0, 20));
	drv_w(&blk.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_used_idx(&rq), 3);
	CHECK_EQ(drv_used_id(&rq, 0), 0);
	CHECK_EQ(drv_used_id(&rq, 1), 3);
	CHECK_EQ(drv_used_id(&rq, 2), 6);
	CHECK_EQ(drv_used_len(&rq, 2), 21);
	CHECK_EQ(ram_at(DATA(REQ + 0x2000))[0], 'B');
	CHECK_EQ(irq.raises, 1); /* one interrupt for the batch */
	stop();

	/* With EVENT_IDX the driver asks for an interrupt at the third completion only. */
	start(false, FEATURES | VIRTIO_F_EVENT_IDX);
	drv_set_used_event(&rq, 2);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(irq.raises, 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(irq.raises, 1);
	stop();
}

static void test_io_errors(void)
{
	int ro_fd;

	/* The image shrinks under the device: the read fails with IOERR. */
	start(false, FEATURES);
	CHECK_EQ(ftruncate(disk_fd, 4 * 512), 0);
	memset(ram_at(DATA(REQ)), 0xcc, 512);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 8, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(last_used_len(), 0);
	CHECK_EQ(drv_r(&blk.mmio, VIRTIO_MMIO_STATUS), LIVE);
	/* Partly there: the bytes read so far are the used length; the status is not next to them. */
	CHECK_EQ(ftruncate(disk_fd, 4 * 512 + 100), 0);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 4, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(last_used_len(), 100);
	stop();

	/* The host refuses the write (fd opened read-only, device not marked read-only). */
	ro_fd = open(disk_path, O_RDONLY);
	CHECK(ro_fd >= 0);
	start_on(ro_fd, false, FEATURES);
	CHECK_EQ(submit(VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(submit(VIRTIO_BLK_T_IN, 2, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(ram_at(DATA(REQ))[0], 'C');
	stop();
	close(ro_fd);

	/* An fd whose size cannot be found. */
	CHECK(virtio_blk_init(&blk, -1, false, "x", &ram, drv_host(&irq)) < 0);
}

/* Two opens of one image, as two VMMs would have: one writer, or any number of readers. */
static void test_lock(void)
{
	int rw1 = open(disk_path, O_RDWR), rw2 = open(disk_path, O_RDWR);
	int ro1 = open(disk_path, O_RDONLY), ro2 = open(disk_path, O_RDONLY);

	CHECK(rw1 >= 0 && rw2 >= 0 && ro1 >= 0 && ro2 >= 0);
	/* A writer keeps out other writers and readers, and says it writes. */
	CHECK(virtio_blk_lock(rw1, false) == NULL);
	CHECK_STR(virtio_blk_lock(rw2, false), "another process is using it read-write");
	CHECK_STR(virtio_blk_lock(ro1, true), "another process is using it read-write");
	close(rw1); /* the lock goes with it */
	/* Readers share; a writer is kept out and told the others only read. */
	CHECK(virtio_blk_lock(ro1, true) == NULL);
	CHECK(virtio_blk_lock(ro2, true) == NULL);
	CHECK_STR(virtio_blk_lock(rw2, false),
		  "another process is using it read-only (add ,ro to share it)");
	close(ro1);
	close(ro2);
	CHECK(virtio_blk_lock(rw2, false) == NULL);
	close(rw2);
}

static void test_odd_size(void)
{
	/* 3.5 sectors: the half sector at the end is not part of the disk. */
	CHECK_EQ(ftruncate(disk_fd, 3 * 512 + 256), 0);
	CHECK_EQ(virtio_blk_init(&blk, disk_fd, false, "x", &ram, drv_host(&irq)), 0);
	CHECK_EQ(blk.capacity, 3);
	CHECK_EQ(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG, 8), 3);
	stop();
}

int main(void)
{
	ram_init();
	disk_fd = mkstemp(disk_path);
	if (disk_fd < 0) {
		perror("mkstemp");
		return 1;
	}
	test_config();
	test_read();
	test_write();
	test_framing();
	test_indirect();
	test_out_of_range();
	test_read_only();
	test_other_requests();
	test_bad_requests();
	test_bad_chain_and_recovery();
	test_batch_and_event_idx();
	test_io_errors();
	test_lock();
	test_odd_size();
	close(disk_fd);
	unlink(disk_path);
	ram_free();
	return CHECK_DONE("virtio_blk");
}
