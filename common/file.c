/*
 * file.c - load a whole file (guest binary, kernel Image, initrd, DTB) into memory.
 *
 * The size comes from fstat() on the open descriptor, so the file checked is the file read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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
