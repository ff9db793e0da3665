/*
 * disk.c - the machine's disks (device.h): each --disk FILE[,ro] is a virtio-blk device
 * (virtio_blk.c) in a virtio slot, in the order given, so that Linux names them vda, vdb, ... as
 * given. The files are opened once, before any VM, and kept across reboots; each boot gives
 * every disk a new device in its slot.
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

static int disk_fds[VIRTIO_SLOTS];
static struct virtio_blk disks[VIRTIO_SLOTS];
static struct virtio_slot *disk_slots[VIRTIO_SLOTS];

/*
 * Open the disk before there is a VM, so a mistake costs one clear line and nothing else. A
 * writable disk must be writable: finding out at the guest's first write would be too late.
 * O_NONBLOCK: opening a FIFO read-only must not wait for a writer before we can refuse it; the
 * flag is cleared once we know it is a file (it means nothing to one). Disk i of the options.
 */
static int open_disk(const struct options *o, unsigned int i)
{
	const char *path = o->disks[i].path;
	bool read_only = o->disks[i].read_only;
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
	/*
	 * The same file given twice, once writable, would be two disks the guest can write behind
	 * each other's back. Say so before the lock does (it would blame "another process").
	 * Read-only twice is harmless, and allowed.
	 */
	for (unsigned int j = 0; j < i; j++) {
		struct stat other;

		if (fstat(disk_fds[j], &other) == 0 && other.st_dev == st.st_dev &&
		    other.st_ino == st.st_ino && !(read_only && o->disks[j].read_only))
			die("--disk %s is the same file as --disk %s: a disk the guest may write can "
			    "be given only once",
			    path, o->disks[j].path);
	}
	in_use = virtio_blk_lock(fd, read_only);
	if (in_use)
		die("cannot use disk %s: %s", path, in_use);
	return fd;
}

/* Every --disk, in order, before there is a VM. */
static void disk_setup(struct machine *m)
{
	for (unsigned int i = 0; i < m->opt->ndisks; i++)
		disk_fds[i] = open_disk(m->opt, i);
}

static unsigned int disk_count(const struct machine *m)
{
	return m->opt->ndisks;
}

static void disk_add(struct machine *m, unsigned int i)
{
	const struct disk_option *d = &m->opt->disks[i];
	struct virtio_slot *s = virtio_slot_take(m);
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	int err;

	snprintf(serial, sizeof(serial), "veleiro-disk%u", i);
	err = virtio_blk_init(&disks[i], disk_fds[i], d->read_only, serial, &m->ram, &s->host);
	if (err)
		die("disk %s: %s", d->path, strerror(-err));
	virtio_slot_plug(s, &disks[i].mmio, "virtio-blk");
	disk_slots[i] = s;
	info("virtio-blk: %s%s, %" PRIu64 " sectors, slot %u", d->path,
	     d->read_only ? " (read-only)" : "", disks[i].capacity, s->index);
}

static int disk_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_virtio(fdt, disk_slots[i]->index);
}

static void disk_stats(const struct machine *m, unsigned int i)
{
	virtio_slot_print_stats(disk_slots[i]);
}

static void disk_remove(struct machine *m, unsigned int i)
{
	virtio_slot_unplug(disk_slots[i]);
	virtio_blk_destroy(&disks[i]);
}

const struct device_type disk_device = {
	.name = "virtio-blk",
	.setup = disk_setup,
	.count = disk_count,
	.add = disk_add,
	.fdt_node = disk_fdt_node,
	.stats = disk_stats,
	.remove = disk_remove,
};
