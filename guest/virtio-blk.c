/*
 * virtio-blk.c - a bare-metal virtio block driver, run by stage 07 (07-virtio) first.
 *
 * It teaches the driver side of a virtio block device (OASIS virtio 1.2, section 5.2): find the
 * device, negotiate features, set up its one request queue (guest/lib/virtio.c does the generic
 * part), then send requests. A request is one descriptor chain of three buffers (5.2.6): a
 * 16-byte header the device reads (type, sector), the data (written by the device for a read,
 * read by it for a write), and one status byte the device writes last.
 *
 * What it does: read sector 0 and print its first line; write sector 1 with a pattern, flush,
 * read it back and compare; ask for the device's ID string; power off. Sector 1 afterwards holds
 * "veleiro sector 1" in bytes 0-15 and (i * 7 + 1) & 0xff in every other byte i (0-511); no
 * other sector is written. On a read-only disk (the device offers VIRTIO_BLK_F_RO) it still
 * tries the write, which the device must refuse with VIRTIO_BLK_S_IOERR (5.2.6.2), and reports
 * the status it got.
 *
 * Output on the PL011, in this order (the lines in brackets only in the case named):
 *	blk: virtio-blk at 0x<register window address>
 *	blk: features offered 0x<hex>, accepted 0x<hex>
 *	blk: capacity <sectors> sectors (<bytes> bytes)
 *	[blk: read-only disk (VIRTIO_BLK_F_RO)]
 *	blk: sector 0 says: <sector 0 up to its first NUL, CR or LF, at most 64 characters>
 *	[writable disk:   blk: sector 1 written, flushed, read back: match]
 *	[...without VIRTIO_BLK_F_FLUSH:   blk: sector 1 written, read back: match]
 *	[read-only disk:  blk: write refused: status <OK|IOERR|UNSUPP|...> (read-only disk)]
 *	blk: id "<device ID string>"
 *	blk: done
 * Anything going wrong (no device, a status other than the one expected, a read-back mismatch,
 * a read-only disk accepting the write) prints one line starting "blk: error: " and powers off
 * without "blk: done".
 */
#include <stdint.h>

#include "gic.h"
#include "printf.h"
#include "psci.h"
#include "uart.h"
#include "virtio.h"

#define VIRTIO_BLK_DEVICE_ID 2 /* DeviceID of a block device (5.2.1) */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2) /* seg_max in the config space is valid */
#define VIRTIO_BLK_F_RO (1ull << 5) /* the disk is read-only */
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6) /* blk_size in the config space is valid */
#define VIRTIO_BLK_F_FLUSH (1ull << 9) /* VIRTIO_BLK_T_FLUSH is supported */

/* Configuration space (5.2.4): only the first field is needed. */
#define VIRTIO_BLK_CFG_CAPACITY 0 /* le64 capacity, in 512-byte sectors */

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0 /* read sectors */
#define VIRTIO_BLK_T_OUT 1 /* write sectors */
#define VIRTIO_BLK_T_FLUSH 4 /* make completed writes durable */
#define VIRTIO_BLK_T_GET_ID 8 /* the device ID string */
#define VIRTIO_BLK_S_OK 0 /* status: success */
#define VIRTIO_BLK_S_IOERR 1 /* status: device or driver error */
#define VIRTIO_BLK_S_UNSUPP 2 /* status: request type not supported */

#define BLK_SECTOR 512 /* the protocol's unit, whatever the disk's block size (5.2.5) */
#define BLK_ID_BYTES 20 /* GET_ID data: an ASCII string NUL-padded to 20 bytes (5.2.6) */
#define BLK_NO_STATUS 0xff /* put in the status byte first: no status the device can give */
#define BLK_LINE_MAX 64 /* most characters of sector 0 printed */
#define BLK_STAMP "veleiro sector 1"
#define BLK_STAMP_LEN 16

/*
 * Everything the device reads or writes, each part on cache lines of its own (VIRTIO_ALIGN):
 * the device writes data (on a read) and status while the guest keeps out of them.
 */
struct blk_request {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} header;
	uint8_t data[BLK_SECTOR] __attribute__((aligned(VIRTIO_ALIGN)));
	uint8_t status __attribute__((aligned(VIRTIO_ALIGN)));
};

static struct virtio_dev blk_dev;
static struct virtio_queue blk_vq;
static struct blk_request blk_req __attribute__((aligned(VIRTIO_ALIGN)));

static void blk_fail(const char *what, const char *why)
{
	printf("blk: error: %s: %s\n", what, why);
	psci_system_off();
}

static const char *blk_status_name(unsigned int status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return "OK";
	case VIRTIO_BLK_S_IOERR:
		return "IOERR";
	case VIRTIO_BLK_S_UNSUPP:
		return "UNSUPP";
	case BLK_NO_STATUS:
		return "none (the device did not write the status byte)";
	default:
		return "unknown";
	}
}

/*
 * Send one request and wait for it: the header, then data_len bytes of blk_req.data (written
 * by the device when data_writable) if data_len is not 0, then the status byte. Returns the
 * status; *written is how many bytes the device says it wrote (data and status).
 */
static uint8_t blk_request(const char *what, uint32_t type, uint64_t sector, uint32_t data_len,
			   int data_writable, uint32_t *written)
{
	struct virtio_buf bufs[3];
	unsigned int n = 0;
	int err;

	blk_req.header.type = type;
	blk_req.header.reserved = 0;
	blk_req.header.sector = sector;
	blk_req.status = BLK_NO_STATUS;

	bufs[n++] = (struct virtio_buf){ &blk_req.header, sizeof(blk_req.header), 0 };
	if (data_len)
		bufs[n++] = (struct virtio_buf){ blk_req.data, data_len, data_writable };
	bufs[n++] = (struct virtio_buf){ &blk_req.status, 1, 1 };

	err = virtio_queue_submit(&blk_vq, bufs, n);
	if (!err)
		err = virtio_queue_wait(&blk_vq, written);
	if (err)
		blk_fail(what, virtio_strerror(err));
	return blk_req.status;
}

/* A request that must succeed; a read must also fill the whole buffer (2.7.8: used len). */
static void blk_request_ok(const char *what, uint32_t type, uint64_t sector, uint32_t data_len,
			   int data_writable)
{
	uint32_t written;
	uint8_t status = blk_request(what, type, sector, data_len, data_writable, &written);

	if (status != VIRTIO_BLK_S_OK) {
		printf("blk: error: %s: status %s (%u)\n", what, blk_status_name(status), status);
		psci_system_off();
	}
	if (type == VIRTIO_BLK_T_IN && written < data_len + 1) {
		printf("blk: error: %s: the device wrote %u bytes, expected %u\n", what, written,
		       data_len + 1);
		psci_system_off();
	}
}

/* Print data[0..max) up to the first NUL, CR or LF, with anything unprintable as '.'. */
static void blk_print_text(const uint8_t *data, unsigned int max)
{
	for (unsigned int i = 0; i < max; i++) {
		uint8_t c = data[i];

		if (c == '\0' || c == '\n' || c == '\r')
			break;
		uart_putc(c >= 0x20 && c < 0x7f ? (char)c : '.');
	}
}

static uint8_t blk_pattern(unsigned int i)
{
	return i < BLK_STAMP_LEN ? (uint8_t)BLK_STAMP[i] : (uint8_t)((i * 7 + 1) & 0xff);
}

static void blk_fill(uint8_t value)
{
	for (unsigned int i = 0; i < BLK_SECTOR; i++)
		blk_req.data[i] = value;
}

/* Write sector 1, flush if the device can, read it back and compare. */
static void blk_write_and_verify(void)
{
	int flush = (blk_dev.features & VIRTIO_BLK_F_FLUSH) != 0;

	for (unsigned int i = 0; i < BLK_SECTOR; i++)
		blk_req.data[i] = blk_pattern(i);
	blk_request_ok("write sector 1", VIRTIO_BLK_T_OUT, 1, BLK_SECTOR, 0);
	/* 5.2.6.1: a flush has sector 0 and no data. */
	if (flush)
		blk_request_ok("flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0);

	/* Clear the buffer first, so a read that transfers nothing cannot look like a match. */
	blk_fill(0);
	blk_request_ok("read sector 1", VIRTIO_BLK_T_IN, 1, BLK_SECTOR, 1);
	for (unsigned int i = 0; i < BLK_SECTOR; i++) {
		if (blk_req.data[i] != blk_pattern(i)) {
			printf("blk: error: sector 1 read back differs at byte %u: wrote 0x%02x, "
			       "read 0x%02x\n",
			       i, blk_pattern(i), blk_req.data[i]);
			psci_system_off();
		}
	}
	printf("blk: sector 1 written, %sread back: match\n", flush ? "flushed, " : "");
}

/* On a read-only disk the write must fail with IOERR and change nothing (5.2.6.2). */
static void blk_write_refused(void)
{
	uint32_t written;
	uint8_t status;

	for (unsigned int i = 0; i < BLK_SECTOR; i++)
		blk_req.data[i] = blk_pattern(i);
	status = blk_request("write sector 1", VIRTIO_BLK_T_OUT, 1, BLK_SECTOR, 0, &written);
	if (status == VIRTIO_BLK_S_OK) {
		printf("blk: error: the read-only disk accepted a write to sector 1\n");
		psci_system_off();
	}
	printf("blk: write refused: status %s (read-only disk)\n", blk_status_name(status));
}

void main(void)
{
	uint64_t capacity;
	int err;

	uart_init();
	gic_init(); /* the device interrupts when the driver has to wait for it */
	err = virtio_find(&blk_dev, VIRTIO_BLK_DEVICE_ID);
	if (err)
		blk_fail("probe", virtio_strerror(err));
	printf("blk: virtio-blk at 0x%08lx\n", blk_dev.base);

	/*
	 * Accept what this driver understands: FLUSH (it sends T_FLUSH), RO ("SHOULD accept",
	 * 5.2.6.1), and BLK_SIZE and SEG_MAX, which only make config fields valid. Not
	 * EVENT_IDX or INDIRECT_DESC: one short request at a time needs neither.
	 */
	err = virtio_negotiate(&blk_dev, VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO |
						 VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_SEG_MAX);
	if (err)
		blk_fail("feature negotiation", virtio_strerror(err));
	printf("blk: features offered 0x%lx, accepted 0x%lx\n", blk_dev.offered, blk_dev.features);

	capacity = virtio_config_read64(&blk_dev, VIRTIO_BLK_CFG_CAPACITY);
	printf("blk: capacity %lu sectors (%lu bytes)\n", capacity, capacity * BLK_SECTOR);
	if (blk_dev.features & VIRTIO_BLK_F_RO)
		printf("blk: read-only disk (VIRTIO_BLK_F_RO)\n");
	/* 5.2.6.1: no request may go beyond capacity, and this driver uses sectors 0 and 1. */
	if (capacity < 2)
		blk_fail("disk too small", "sectors 0 and 1 are needed");

	err = virtio_queue_init(&blk_dev, &blk_vq, 0);
	if (err)
		blk_fail("request queue", virtio_strerror(err));
	virtio_driver_ok(&blk_dev);

	blk_fill(0);
	blk_request_ok("read sector 0", VIRTIO_BLK_T_IN, 0, BLK_SECTOR, 1);
	printf("blk: sector 0 says: ");
	blk_print_text(blk_req.data, BLK_LINE_MAX);
	printf("\n");

	if (blk_dev.features & VIRTIO_BLK_F_RO)
		blk_write_refused();
	else
		blk_write_and_verify();

	/* 5.2.6.1: GET_ID data is exactly 20 bytes; the string has no NUL if it fills them. */
	blk_fill(0);
	blk_request_ok("GET_ID", VIRTIO_BLK_T_GET_ID, 0, BLK_ID_BYTES, 1);
	printf("blk: id \"");
	blk_print_text(blk_req.data, BLK_ID_BYTES);
	printf("\"\n");

	printf("blk: done\n");
}
