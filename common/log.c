/*
 * log.c - one-line diagnostics on stderr, shared by every stage.
 *
 * The program name comes from glibc's program_invocation_short_name (the basename of argv[0]),
 * so no stage has to pass argv[0] around just to print errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int log_level;

/*
 * Print "<program>: <fmt...>[: <strerror(err)>]\n". err == 0 means no error text. Locking the
 * stream keeps one message in one piece when several vCPU threads log at the same time, and
 * errno is preserved so that a caller can log first and then return -errno.
 */
static void log_vprint(int err, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char buf[128];

	flockfile(stderr);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror_r(err, buf, sizeof(buf))); /* GNU, thread-safe */
	fputc('\n', stderr);
	funlockfile(stderr);
	errno = saved_errno;
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(0, fmt, ap);
	va_end(ap);
	exit(1);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vprint(err, fmt, ap);
	va_end(ap);
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(0, fmt, ap);
	va_end(ap);
}

/* Guest warnings counted but not shown, over all devices; updated by several threads. */
static uint64_t warn_guest_unshown;

static void warn_guest_report(void)
{
	uint64_t n = __atomic_load_n(&warn_guest_unshown, __ATOMIC_RELAXED);

	warn("%" PRIu64 " more warning%s caused by the guest %s counted but not shown", n,
	     n == 1 ? "" : "s", n == 1 ? "was" : "were");
}

void warn_guest(uint64_t *count, const char *fmt, ...)
{
	uint64_t n = __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	char text[256];
	va_list ap;

	if (n > WARN_GUEST_SHOWN) {
		/* The first one not shown arranges for the report at exit. */
		if (__atomic_fetch_add(&warn_guest_unshown, 1, __ATOMIC_RELAXED) == 0)
			atexit(warn_guest_report);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	warn("%s%s", text,
	     n == WARN_GUEST_SHOWN ? " (further warnings about this device are only counted)" : "");
}

void info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vprint(0, fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_vprint(0, fmt, ap);
	va_end(ap);
}
