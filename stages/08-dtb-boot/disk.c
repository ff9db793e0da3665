/*
 * disk.c - the machine's disk (device.h): with --disk FILE[,ro], a virtio-blk device
 * (virtio_blk.c) in virtio slot VIRTIO_DISK_SLOT. The file is opened before any VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "virtio_blk.h"

static int disk_fd = -1;
static struct virtio_blk disk;
static struct virtio_slot *disk_slot;

/*
 * Open the disk before there is a VM, so a mistake costs one clear line and nothing else. A
 * writable disk must be writable: finding out at the guest's first write would be too late.
 * O_NONBLOCK: opening a FIFO read-only must not wait for a writer before we can refuse it; the
 * flag is cleared once we know it is a file (it means nothing to one).
 */
static int open_disk(const char *path, bool read_only)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	const char *in_use;
	struct stat st;

	if (fd < 0 && !read_only && (errno == EACCES || errno == EROFS || errno == EPERM))
		die("cannot open disk %s for writing: %s (add ,ro to use it read-only)", path,
		    strerror(errno));
	if (fd < 0)
		die("cannot open disk %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die_errno("cannot stat disk %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		die("disk %s is not a file or a block device", path);
	if (fcntl(fd, F_SETFL, 0) < 0)
		die_errno("cannot use disk %s", path);
	in_use = virtio_blk_lock(fd, read_only);
	if (in_use)
		die("cannot use disk %s: %s", path, in_use);
	return fd;
}

static void disk_setup(struct machine *m)
{
	if (m->opt->disk)
		disk_fd = open_disk(m->opt->disk, m->opt->disk_ro);
}

static unsigned int disk_count(const struct machine *m)
{
	return m->opt->disk != NULL;
}

static void disk_add(struct machine *m, unsigned int i)
{
	struct virtio_slot *s = virtio_slot_take(m, VIRTIO_DISK_SLOT);
	int err = virtio_blk_init(&disk, disk_fd, m->opt->disk_ro, "veleiro-disk0", &m->ram,
				  virtio_irq_set, s);

	if (err)
		die("disk %s: %s", m->opt->disk, strerror(-err));
	virtio_slot_plug(s, &disk.mmio, "virtio-blk");
	disk_slot = s;
	info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", m->opt->disk,
	     m->opt->disk_ro ? " (read-only)" : "", disk.capacity, s->index);
}

static int disk_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_virtio(fdt, disk_slot->index);
}

static void disk_stats(const struct machine *m, unsigned int i)
{
	virtio_slot_print_stats(disk_slot);
}

const struct device_type disk_device = {
	.name = "virtio-blk",
	.setup = disk_setup,
	.count = disk_count,
	.add = disk_add,
	.fdt_node = disk_fdt_node,
	.stats = disk_stats,
};
