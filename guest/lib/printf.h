/* printf.h - formatted output to the PL011 (see printf.c for the conversions supported). */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
