/*
 * printf.c - a minimal printf for the guest runtime, writing straight to the UART.
 *
 * Conversions: %s %c %d %u %x %p %%, the length modifiers l and ll (so %ld %lu %lx %llu ...),
 * a minimum field width and the 0 flag (as in C11 7.21.6.1). The result is not buffered: each
 * character is one uart_putc(), so output appears even if the guest stops right after.
 */
#include <stdarg.h>
#include <stdint.h>

#include "printf.h"
#include "uart.h"

/* How to lay out one number: base, minimum width, pad character, and a prefix such as "0x". */
struct printf_spec {
	unsigned int base;
	unsigned int width;
	char pad;
	const char *prefix;
};

static int printf_str(const char *s, unsigned int width)
{
	unsigned int len = 0;
	int count = 0;

	while (s[len])
		len++;
	for (; width > len; width--, count++)
		uart_putc(' ');
	for (; *s; s++, count++)
		uart_putc(*s);
	return count;
}

/* Print a magnitude with an optional minus sign, padded to spec->width. */
static int printf_num(uint64_t value, int negative, const struct printf_spec *spec)
{
	char digits[20]; /* 2^64 - 1 has 20 decimal digits; hex needs 16 */
	unsigned int n = 0, len, prefix_len = 0;
	int count = 0;

	do {
		digits[n++] = "0123456789abcdef"[value % spec->base];
		value /= spec->base;
	} while (value);
	while (spec->prefix[prefix_len])
		prefix_len++;
	len = n + prefix_len + (negative ? 1 : 0);

	/* Spaces go before the sign and prefix, zeros after them: "  -42" but "-0042". */
	if (spec->pad == ' ')
		for (; len < spec->width; len++, count++)
			uart_putc(' ');
	if (negative) {
		uart_putc('-');
		count++;
	}
	count += printf_str(spec->prefix, 0);
	if (spec->pad == '0')
		for (; len < spec->width; len++, count++)
			uart_putc('0');
	while (n) {
		uart_putc(digits[--n]);
		count++;
	}
	return count;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int count = 0;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		struct printf_spec spec = { .base = 10, .width = 0, .pad = ' ', .prefix = "" };
		unsigned int longs = 0;
		int64_t sval;
		uint64_t uval;

		if (*fmt != '%') {
			uart_putc(*fmt);
			count++;
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			spec.pad = '0';
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			spec.width = spec.width * 10 + (unsigned int)(*fmt - '0');
		for (; *fmt == 'l'; fmt++)
			longs++;
		if (!*fmt) {
			/* A '%' with nothing after it: print it as it is. */
			uart_putc('%');
			count++;
			break;
		}

		switch (*fmt) {
		case 'd':
			if (longs >= 2)
				sval = va_arg(ap, long long);
			else if (longs == 1)
				sval = va_arg(ap, long);
			else
				sval = va_arg(ap, int);
			uval = sval < 0 ? -(uint64_t)sval : (uint64_t)sval;
			count += printf_num(uval, sval < 0, &spec);
			break;
		case 'u':
		case 'x':
			if (longs >= 2)
				uval = va_arg(ap, unsigned long long);
			else if (longs == 1)
				uval = va_arg(ap, unsigned long);
			else
				uval = va_arg(ap, unsigned int);
			spec.base = *fmt == 'x' ? 16 : 10;
			count += printf_num(uval, 0, &spec);
			break;
		case 'p':
			spec.base = 16;
			spec.prefix = "0x";
			count += printf_num((uintptr_t)va_arg(ap, void *), 0, &spec);
			break;
		case 'c':
			uart_putc((char)va_arg(ap, int));
			count++;
			break;
		case 's':
			count += printf_str(va_arg(ap, const char *), spec.width);
			break;
		case '%':
			uart_putc('%');
			count++;
			break;
		default:
			/* An unknown conversion: show it rather than guess what was meant. */
			uart_putc('%');
			uart_putc(*fmt);
			count += 2;
			break;
		}
	}
	va_end(ap);
	return count;
}
