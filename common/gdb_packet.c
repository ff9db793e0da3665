/*
 * gdb_packet.c - framing, checksums and escapes of gdb's remote serial protocol (see
 * gdb_packet.h; GDB manual, "Remote Serial Protocol", "Overview").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gdb_packet.h"

enum { RX_IDLE, RX_BODY, RX_ESCAPE, RX_SUM_HI, RX_SUM_LO };

void gdb_rx_init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->len = 0;
	rx->overflow = false;
	rx->sum = 0;
	rx->buf[0] = 0;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One unescaped body byte: kept while there is room, else the packet is marked for dropping. */
static void rx_keep(struct gdb_rx *rx, uint8_t c)
{
	if (rx->len < GDB_PACKET_MAX)
		rx->buf[rx->len++] = (char)c;
	else
		rx->overflow = true;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c)
{
	int d;

	switch (rx->state) {
	case RX_IDLE:
		if (c == '$') {
			rx->state = RX_BODY;
			rx->len = 0;
			rx->sum = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		}
		if (c == 0x03)
			return GDB_RX_INTERRUPT;
		if (c == '+')
			return GDB_RX_ACK;
		if (c == '-')
			return GDB_RX_NAK;
		return GDB_RX_NONE; /* noise between packets is ignored, as gdb itself does */
	case RX_BODY:
		if (c == '#') {
			rx->state = RX_SUM_HI;
			return GDB_RX_NONE;
		}
		/* A `$` inside a body means gdb gave up on this packet and started another. */
		if (c == '$') {
			rx->len = 0;
			rx->sum = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		}
		rx->sum += c;
		if (c == '}')
			rx->state = RX_ESCAPE;
		else
			rx_keep(rx, c);
		return GDB_RX_NONE;
	case RX_ESCAPE:
		rx->sum += c;
		rx_keep(rx, c ^ 0x20);
		rx->state = RX_BODY;
		return GDB_RX_NONE;
	case RX_SUM_HI:
		d = hex_digit(c);
		rx->want = (uint8_t)((d < 0 ? 0 : d) << 4);
		/* A bad digit still ends the packet: it is counted as a wrong checksum. */
		rx->overflow |= d < 0;
		rx->state = RX_SUM_LO;
		return GDB_RX_NONE;
	default: /* RX_SUM_LO */
		d = hex_digit(c);
		rx->state = RX_IDLE;
		if (d < 0 || rx->overflow || (uint8_t)(rx->want | d) != rx->sum) {
			rx->len = 0;
			rx->buf[0] = 0;
			return GDB_RX_BAD;
		}
		rx->buf[rx->len] = 0;
		return GDB_RX_PACKET;
	}
}

void gdb_tx_begin(struct gdb_tx *tx)
{
	tx->buf[0] = '$';
	tx->len = 1;
	tx->sum = 0;
	tx->overflow = false;
}

/* Room is kept for the closing #cc and a NUL. */
static void tx_raw(struct gdb_tx *tx, char c)
{
	if (tx->len + 4 >= sizeof(tx->buf)) {
		tx->overflow = true;
		return;
	}
	tx->buf[tx->len++] = c;
	tx->sum += (uint8_t)c;
}

void gdb_tx_bytes(struct gdb_tx *tx, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '$' || b[i] == '#' || b[i] == '}' || b[i] == '*') {
			tx_raw(tx, '}');
			tx_raw(tx, (char)(b[i] ^ 0x20));
		} else {
			tx_raw(tx, (char)b[i]);
		}
	}
}

void gdb_tx_str(struct gdb_tx *tx, const char *s)
{
	gdb_tx_bytes(tx, s, strlen(s));
}

void gdb_tx_hex(struct gdb_tx *tx, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		tx_raw(tx, digits[b[i] >> 4]);
		tx_raw(tx, digits[b[i] & 0xf]);
	}
}

void gdb_tx_printf(struct gdb_tx *tx, const char *fmt, ...)
{
	char s[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s))
		tx->overflow = true;
	else
		gdb_tx_bytes(tx, s, (size_t)n);
}

size_t gdb_tx_end(struct gdb_tx *tx)
{
	uint8_t sum = tx->sum;

	/* tx_raw always leaves room for these three bytes and the NUL. */
	snprintf(tx->buf + tx->len, 4, "#%02x", sum);
	tx->len += 3;
	return tx->len;
}

size_t gdb_tx_packet(struct gdb_tx *tx, const char *body)
{
	gdb_tx_begin(tx);
	gdb_tx_str(tx, body);
	return gdb_tx_end(tx);
}

int gdb_hex_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0, d;

	while ((d = hex_digit((unsigned char)*s)) >= 0) {
		if (++n > 16)
			return -1;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return -1;
	*v = x;
	*p = s;
	return 0;
}

int gdb_unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit((unsigned char)s[2 * i]);
		int lo = hi < 0 ? -1 : hex_digit((unsigned char)s[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
