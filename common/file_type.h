/*
 * file_type.h - recognise, by its first bytes, a file given as a guest program or kernel that
 * cannot run as it is: compressed, an ELF, an x86 kernel, or too short to hold one instruction.
 * Loaded anyway, such a file is garbage to the vCPU, which then runs until it is killed.
 */
#ifndef VELEIRO_FILE_TYPE_H
#define VELEIRO_FILE_TYPE_H

#include <stddef.h>

/*
 * NULL when nothing in data (the first len bytes of the file, len > 0) says it is not code to
 * load as it is; otherwise the rest of a sentence that starts with the file's name, saying what
 * it is and what to give instead, e.g. "is gzip-compressed (an Image.gz?): ...".
 */
const char *file_type_refusal(const void *data, size_t len);

#endif
