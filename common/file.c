/*
 * file.c - load a whole file (guest binary, kernel Image, initrd, DTB) into memory, say why one
 * cannot be, and write to a terminal or pipe without ever blocking.
 *
 * The size comes from fstat() on the open descriptor, so the file checked is the file read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int file_load(const char *path, void *dst, size_t cap, size_t *len)
{
	struct stat st;
	size_t done = 0;
	int fd, err = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer before we can reject it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > cap) {
		err = -EFBIG;
		goto out;
	}

	/* read() may return less than asked (signals, network file systems): loop until done. */
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)dst + done, (size_t)st.st_size - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0) /* the file shrank since fstat(): keep what is there */
			break;
		done += (size_t)n;
	}
	*len = done;
out:
	close(fd);
	return err;
}

const char *file_strerror(int err)
{
	if (err == -EINVAL)
		return "not a regular file (a device, FIFO or socket)";
	return strerror(-err);
}

int file_writer(int fd)
{
	char path[32];
	struct stat st;
	int w;

	if (fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return w < 0 ? fd : w;
}
