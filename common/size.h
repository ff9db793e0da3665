/*
 * size.h - parse and print byte counts such as "--mem 512M" or "RAM: 1 GiB".
 *
 * Suffixes are binary multiples, as for QEMU's -m: K = 2^10, M = 2^20, G = 2^30, T = 2^40.
 */
#ifndef VELEIRO_SIZE_H
#define VELEIRO_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* A buffer this large holds any size_format() result ("18446744073709551615 B"). */
#define SIZE_FORMAT_LEN 24

/*
 * Parse a decimal integer with an optional suffix K, M, G or T, each optionally followed by "iB"
 * or "B", case-insensitive ("4096", "256M", "1GiB", "2kb"; a bare "B" means bytes). Nothing else
 * is allowed: no sign, no spaces, no fraction. Returns 0 and sets *out, or -EINVAL for malformed
 * text, -ERANGE when the value does not fit in 64 bits (*out untouched on error).
 */
int size_parse(const char *s, uint64_t *out);

/*
 * Write bytes in the largest binary unit that divides it exactly ("1 GiB", "3076 KiB",
 * "1000 B") into buf of len bytes (truncated to fit, always terminated if len > 0).
 * Returns buf.
 */
const char *size_format(uint64_t bytes, char *buf, size_t len);

#endif
