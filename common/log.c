/*
 * log.c - one-line diagnostics on stderr, shared by every stage.
 *
 * The program name comes from glibc's program_invocation_short_name (the basename of argv[0]),
 * so no stage has to pass argv[0] around just to print errors.
 */
#define _GNU_SOURCE
#include <errno.h>
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
