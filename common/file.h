/*
 * file.h - load a whole file (guest binary, kernel Image, initrd, DTB) into memory.
 */
#ifndef VELEIRO_FILE_H
#define VELEIRO_FILE_H

#include <stddef.h>

/*
 * Read the regular file at path into dst, which holds cap bytes, and store its length in *len.
 * Returns 0, or -errno: -ENOENT etc. from open, -EISDIR for a directory, -EINVAL for any other
 * non-regular file (device, FIFO, socket), -EFBIG when the file is larger than cap (nothing is
 * read then). *len is only written on success.
 */
int file_load(const char *path, void *dst, size_t cap, size_t *len);

#endif
