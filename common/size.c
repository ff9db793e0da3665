/*
 * size.c - parse and print byte counts such as "--mem 512M" or "RAM: 1 GiB".
 *
 * strtoull() is not used on purpose: it accepts leading spaces and a minus sign ("-1" becomes
 * 18446744073709551615), which is exactly the kind of surprise a size option must not have.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "size.h"

/* Unit letters in order: the n-th letter (from 1) multiplies by 2^(10 * n). */
static const char size_units[] = "KMGT";

int size_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	const char *unit;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}

	unit = *s ? strchr(size_units, toupper((unsigned char)*s)) : NULL;
	if (unit) {
		shift = 10 * (unsigned int)(unit - size_units + 1);
		s++;
	}
	/* What may follow: nothing, "B", or after a unit letter "iB". */
	if (*s && strcasecmp(s, "B") != 0 && !(unit && strcasecmp(s, "iB") == 0))
		return -EINVAL;

	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

const char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int i = 0;

	while (bytes && bytes % 1024 == 0 && i + 1 < sizeof(names) / sizeof(names[0])) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%" PRIu64 " %s", bytes, names[i]);
	return buf;
}
