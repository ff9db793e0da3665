/*
 * file.h - load a whole file (guest binary, kernel Image, initrd, DTB) into memory; write to a
 * terminal or pipe without blocking.
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

/* What a file_load() error means, for "cannot load X: ..." (strerror's, but for -EINVAL). */
const char *file_strerror(int err);

/*
 * A descriptor that writes where fd does but never blocks, for output a reader may stop taking
 * (a terminal under Ctrl-S, a pipe nobody reads): for a pipe, FIFO or terminal, a non-blocking
 * open file of its own through /proc/self/fd. O_NONBLOCK belongs to the open file, so the shell
 * that shares fd's sees no change. Anything else (a regular file, which never waits for a reader;
 * a socket, which /proc cannot reopen; no /proc) gets fd itself back. Writes then fail with EAGAIN
 * where they would have waited: the caller polls, and may give up.
 */
int file_writer(int fd);

#endif
