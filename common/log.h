/*
 * log.h - one-line diagnostics on stderr, shared by every stage.
 *
 * Every message is printed as "<program>: <text>\n" on stderr; callers pass the text without a
 * trailing newline. warn() and die() are always shown; info() needs log_level >= 1 and debug()
 * needs log_level >= 2 (a stage raises it from -v flags). None of them changes errno.
 */
#ifndef VELEIRO_LOG_H
#define VELEIRO_LOG_H

#include <stdint.h>

/* Verbosity: 0 = warnings and errors only (default), 1 = +info, 2 = +debug. */
extern int log_level;

/* Print the message and exit(1); atexit handlers (such as term_restore) still run. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Like die(), with ": <strerror(errno)>" appended, errno taken at the moment of the call. */
__attribute__((noreturn, format(printf, 1, 2))) void die_errno(const char *fmt, ...);

__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

/*
 * A warning the guest can cause as often as it likes (a bad register access, a malformed
 * request): a hostile guest must not be able to flood stderr. *count, one per device, counts
 * every call; only the first WARN_GUEST_SHOWN are printed, the last of them saying so. How many
 * were not printed, over all devices, is reported in one line when the program exits. The count
 * is updated atomically: threads may share it (a device's thread and the vCPUs' register accesses).
 */
#define WARN_GUEST_SHOWN 3
__attribute__((format(printf, 2, 3))) void warn_guest(uint64_t *count, const char *fmt, ...);

__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void debug(const char *fmt, ...);

#endif
