/*
 * quiet_log.c - common/log.c's interface for the fuzzers: the devices' diagnostics would drown
 * the fuzzer's output, so they are swallowed (counted, for guest-caused warnings), and a fatal
 * error aborts, which libFuzzer reports as a finding with the input that caused it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

int log_level;

void warn(const char *fmt, ...)
{
}

void warn_guest(uint64_t *count, const char *fmt, ...)
{
	++*count;
}

void info(const char *fmt, ...)
{
}

void debug(const char *fmt, ...)
{
}

void die(const char *fmt, ...)
{
	abort();
}

void die_errno(const char *fmt, ...)
{
	abort();
}
