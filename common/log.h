/*
 * log.h - one-line diagnostics on stderr, shared by every stage.
 *
 * Every message is printed as "<program>: <text>\n" on stderr; callers pass the text without a
 * trailing newline. warn() and die() are always shown; info() needs log_level >= 1 and debug()
 * needs log_level >= 2 (a stage raises it from -v flags). None of them changes errno.
 */
#ifndef VELEIRO_LOG_H
#define VELEIRO_LOG_H

/* Verbosity: 0 = warnings and errors only (default), 1 = +info, 2 = +debug. */
extern int log_level;

/* Print the message and exit(1); atexit handlers (such as term_restore) still run. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Like die(), with ": <strerror(errno)>" appended, errno taken at the moment of the call. */
__attribute__((noreturn, format(printf, 1, 2))) void die_errno(const char *fmt, ...);

__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void debug(const char *fmt, ...);

#endif
