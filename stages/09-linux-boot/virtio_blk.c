/*
 * virtio_blk.c - a virtio block device backed by a host file (virtio 1.2, section 5.2
 * "Block Device").
 *
 * A request is one descriptor chain: a 16-byte header the device reads (type, sector), then
 * the data (device-readable for a write, device-writable for a read), then one status byte
 * the device writes. The device must not care how the driver cut this into descriptors
 * (2.7.4 "Message Framing"), so the chain is treated as two byte streams: the readable
 * bytes (header, then data to write) and the writable bytes (data read, then status, which
 * is the very last byte).
 *
 * Requests are served in the device's thread without the device lock (virtio_mmio.c), so disk I/O
 * never holds up a vCPU. One request may move as much as the disk holds, so it goes in pieces of
 * at most VIRTIO_BLK_PIECE bytes, and stops early between two when the device is reset or the
 * machine stops.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "virtio_blk.h"

static uint32_t virtio_blk_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t virtio_blk_le64(const uint8_t *p)
{
	return virtio_blk_le32(p) | (uint64_t)virtio_blk_le32(p + 4) << 32;
}

static void virtio_blk_put_le(uint8_t *p, uint64_t val, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

/* The most bytes one pread/pwrite moves: what a reset or a stop may have to wait for. */
#define VIRTIO_BLK_PIECE (1u << 20)

/* A transfer between the disk and guest buffers, one contiguous piece at a time. */
struct virtio_blk_io {
	const struct virtio_blk *blk;
	int fd;
	bool write; /* guest -> disk */
	uint64_t pos; /* byte offset in the disk image */
	uint64_t done; /* bytes transferred so far */
};

static int virtio_blk_io_piece(void *ctx, uint8_t *p, uint32_t n)
{
	struct virtio_blk_io *io = ctx;

	while (n > 0) {
		uint32_t piece = n < VIRTIO_BLK_PIECE ? n : VIRTIO_BLK_PIECE;
		ssize_t r;

		if (virtio_mmio_cancelled(&io->blk->mmio))
			return -ECANCELED;
		r = io->write ? pwrite(io->fd, p, piece, (off_t)io->pos)
			      : pread(io->fd, p, piece, (off_t)io->pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		/* End of file inside the capacity: the image shrank under us. */
		if (r == 0)
			return -EIO;
		p += r;
		n -= (uint32_t)r;
		io->pos += (uint64_t)r;
		io->done += (uint64_t)r;
	}
	return 0;
}

/* VIRTIO_BLK_T_IN / T_OUT of the data bytes between header and status. */
static uint8_t virtio_blk_rw(struct virtio_blk *blk, const struct virtq_chain *c, uint64_t sector,
			     bool write, uint32_t *written)
{
	uint64_t len = write ? c->read_bytes - VIRTIO_BLK_HEADER_LEN : c->write_bytes - 1;
	struct virtio_blk_io io = { .blk = blk, .fd = blk->fd, .write = write };
	int err;

	/* 5.2.6.2: a write to a device offering VIRTIO_BLK_F_RO fails, writing nothing. */
	if (write && blk->read_only) {
		warn_guest(&blk->mmio.warnings, "%s: write to a read-only disk (sector %llu)",
			   blk->ops.name, (unsigned long long)sector);
		return VIRTIO_BLK_S_IOERR;
	}
	if (len % VIRTIO_BLK_SECTOR != 0) {
		warn_guest(&blk->mmio.warnings,
			   "%s: %s of %llu bytes is not a whole number of sectors", blk->ops.name,
			   write ? "write" : "read", (unsigned long long)len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (sector > blk->capacity || len / VIRTIO_BLK_SECTOR > blk->capacity - sector) {
		warn_guest(
			&blk->mmio.warnings,
			"%s: %s of %llu sectors at sector %llu is beyond the disk's %llu sectors",
			blk->ops.name, write ? "write" : "read",
			(unsigned long long)(len / VIRTIO_BLK_SECTOR), (unsigned long long)sector,
			(unsigned long long)blk->capacity);
		return VIRTIO_BLK_S_IOERR;
	}
	io.pos = sector * VIRTIO_BLK_SECTOR;
	err = virtq_chain_each(c, !write, write ? VIRTIO_BLK_HEADER_LEN : 0, len,
			       virtio_blk_io_piece, &io);
	if (!write)
		*written = (uint32_t)io.done;
	if (err == -ECANCELED)
		return VIRTIO_BLK_S_IOERR; /* nobody will see it: the request is dropped */
	if (err) {
		warn_guest(&blk->mmio.warnings, "%s: %s at byte %llu of the disk image: %s",
			   blk->ops.name, write ? "write" : "read", (unsigned long long)io.pos,
			   strerror(-err));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serve one request; returns its status and sets *written to the data bytes put in guest RAM. */
static uint8_t virtio_blk_request(struct virtio_blk *blk, const struct virtq_chain *c,
				  uint32_t *written)
{
	uint8_t header[VIRTIO_BLK_HEADER_LEN];
	uint64_t in_len = c->write_bytes - 1; /* writable bytes before the status byte */
	uint32_t type, n;

	*written = 0;
	if (virtq_chain_read(c, 0, header, sizeof(header)) != 0) {
		warn_guest(&blk->mmio.warnings,
			   "%s: request with %llu readable bytes, less than the 16-byte header",
			   blk->ops.name, (unsigned long long)c->read_bytes);
		return VIRTIO_BLK_S_IOERR;
	}
	type = virtio_blk_le32(header);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return virtio_blk_rw(blk, c, virtio_blk_le64(header + 8), type == VIRTIO_BLK_T_OUT,
				     written);
	case VIRTIO_BLK_T_FLUSH:
		if (fdatasync(blk->fd) != 0) {
			warn_guest(&blk->mmio.warnings, "%s: flush: %s", blk->ops.name,
				   strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		n = in_len < VIRTIO_BLK_ID_BYTES ? (uint32_t)in_len : VIRTIO_BLK_ID_BYTES;
		virtq_chain_write(c, 0, blk->serial, n);
		*written = n;
		return VIRTIO_BLK_S_OK;
	default:
		warn_guest(&blk->mmio.warnings, "%s: unsupported request type %u", blk->ops.name,
			   type);
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * The used length: the driver may trust that many bytes from the start of the writable part to
 * have been written (2.7.8.2). The data fills that part from its start and the status byte is
 * its last byte, so the status only counts when the data reached right up to it: a read cut
 * short, or GET_ID into a buffer longer than 20 bytes, leaves a gap before it.
 */
static uint32_t virtio_blk_used_len(const struct virtq_chain *c, uint32_t written)
{
	return written == c->write_bytes - 1 ? written + 1 : written;
}

/* One request from the request queue (virtio_mmio_ops.request), without the device lock. */
static const char *virtio_blk_serve(void *backend, unsigned int queue, const struct virtq_chain *c,
				    uint32_t *used)
{
	struct virtio_blk *blk = backend;
	uint32_t written;
	uint8_t status;

	/* Without a status byte the driver cannot be told anything: a protocol error. */
	if (c->write_bytes == 0)
		return "no device-writable status byte";
	status = virtio_blk_request(blk, c, &written);
	virtq_chain_write(c, c->write_bytes - 1, &status, 1);
	*used = virtio_blk_used_len(c, written);
	return NULL;
}

int virtio_blk_init(struct virtio_blk *blk, int fd, bool read_only, const char *serial,
		    const struct guest_mem *mem, const struct virtio_mmio_host *host)
{
	/* SEEK_END gives the size of regular files and block devices alike. */
	off_t size = lseek(fd, 0, SEEK_END);

	if (size < 0)
		return -errno;
	memset(blk, 0, sizeof(*blk));
	blk->fd = fd;
	blk->read_only = read_only;
	blk->capacity = (uint64_t)size / VIRTIO_BLK_SECTOR;
	if (size % VIRTIO_BLK_SECTOR)
		warn("virtio-blk: disk size %lld is not a multiple of 512; the last %lld bytes "
		     "are not used",
		     (long long)size, (long long)(size % VIRTIO_BLK_SECTOR));
	memcpy(blk->serial, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));

	virtio_blk_put_le(blk->config + VIRTIO_BLK_CFG_CAPACITY, blk->capacity, 8);
	/* Every request also needs a header and a status descriptor. */
	virtio_blk_put_le(blk->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_QUEUE_SIZE - 2, 4);
	virtio_blk_put_le(blk->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR, 4);

	blk->ops = (struct virtio_mmio_ops){
		.name = "virtio-blk",
		.device_id = VIRTIO_BLK_DEVICE_ID,
		.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
			    (read_only ? VIRTIO_BLK_F_RO : 0),
		.num_queues = 1,
		.queue_size_max = VIRTIO_BLK_QUEUE_SIZE,
		.request = virtio_blk_serve,
	};
	virtio_mmio_init(&blk->mmio, &blk->ops, blk, blk->config, sizeof(blk->config), mem, host);
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	virtio_mmio_destroy(&blk->mmio);
}

/*
 * Open file description locks (fcntl(2), F_OFD_SETLK) on the whole file: they belong to the
 * open file, not to the process, so they also conflict between two opens in one process, and
 * they go away with the last fd of that open file. A conflict gives EAGAIN (or EACCES), and
 * F_OFD_GETLK then names the kind of lock in the way, which says how the other process uses
 * the image.
 */
const char *virtio_blk_lock(int fd, bool read_only)
{
	struct flock fl = { .l_type = read_only ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return NULL;
	if (errno != EAGAIN && errno != EACCES) {
		warn("virtio-blk: cannot lock the disk image (%s): nothing stops another VMM from "
		     "writing it at the same time",
		     strerror(errno));
		return NULL;
	}
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK)
		return "another process is using it read-write";
	if (fl.l_type == F_RDLCK)
		return "another process is using it read-only (add ,ro to share it)";
	return "another process is using it";
}
