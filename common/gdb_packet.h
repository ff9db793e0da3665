/*
 * gdb_packet.h - the framing of gdb's remote serial protocol (RSP): what travels on the socket
 * between gdb and the stub (GDB manual, appendix "Remote Serial Protocol": "Overview" for packets,
 * checksums, acknowledgments and escapes; "Interrupts" for the Ctrl-C byte).
 *
 * A packet is `$body#cc`: cc is the sum of the body's bytes modulo 256 in two hex digits, and the
 * receiver answers `+` (good) or `-` (send it again). Inside a body, `}` escapes the next byte,
 * which is XORed with 0x20 (binary data of X packets and qXfer replies). Outside a packet, the
 * byte 0x03 asks the stub to stop the target: gdb sends it when the user presses Ctrl-C.
 *
 * Everything here is bounded: gdb is outside input, and a body longer than GDB_PACKET_MAX is
 * dropped (and NAKed), never written past a buffer.
 */
#ifndef VELEIRO_GDB_PACKET_H
#define VELEIRO_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest body, unescaped, we accept or send; gdb is told so in qSupported (PacketSize). */
#define GDB_PACKET_MAX 4096

/* What one byte from gdb completed. */
enum gdb_rx_event {
	GDB_RX_NONE, /* nothing yet: the byte was part of a packet, or noise between packets */
	GDB_RX_PACKET, /* a whole packet with a good checksum: rx->buf, rx->len (answer `+`) */
	GDB_RX_BAD, /* a whole packet with a bad checksum or too long a body (answer `-`) */
	GDB_RX_INTERRUPT, /* 0x03 between packets: Ctrl-C in gdb */
	GDB_RX_ACK, /* `+`: gdb got our last packet */
	GDB_RX_NAK, /* `-`: gdb wants our last packet again */
};

/* The receiving side: a state machine fed one byte at a time, so no read ever splits a packet. */
struct gdb_rx {
	int state;
	uint8_t sum; /* the checksum of the body so far */
	uint8_t want; /* the checksum the packet announces */
	bool overflow; /* the body outgrew buf: the packet is dropped when it ends */
	size_t len;
	char buf[GDB_PACKET_MAX + 1]; /* the unescaped body, NUL-terminated after GDB_RX_PACKET */
};

void gdb_rx_init(struct gdb_rx *rx);
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c);

/*
 * The sending side: one framed packet built in place. Escaped, a body can be twice as long as
 * GDB_PACKET_MAX; what does not fit sets overflow, and the caller sends an error instead.
 */
struct gdb_tx {
	size_t len;
	bool overflow;
	uint8_t sum;
	char buf[2 * GDB_PACKET_MAX + 8];
};

void gdb_tx_begin(struct gdb_tx *tx);
/* Body bytes, escaped where the protocol needs it ($, #, } and *). */
void gdb_tx_bytes(struct gdb_tx *tx, const void *p, size_t n);
void gdb_tx_str(struct gdb_tx *tx, const char *s);
/* Each byte of p as two lower-case hex digits. */
void gdb_tx_hex(struct gdb_tx *tx, const void *p, size_t n);
__attribute__((format(printf, 2, 3))) void gdb_tx_printf(struct gdb_tx *tx, const char *fmt, ...);
/* Closes the packet with #cc; returns its length, which stays in tx->buf. */
size_t gdb_tx_end(struct gdb_tx *tx);
/* The whole packet `$body#cc` for a body that is a plain string, in one call. */
size_t gdb_tx_packet(struct gdb_tx *tx, const char *body);

/*
 * A hex number at *p, at most 16 digits, with *p moved past it: 0, or -1 when there is no digit
 * or more than 64 bits' worth.
 */
int gdb_hex_u64(const char **p, uint64_t *v);
/* 2n hex digits at s into n bytes at out: 0, or -1 for a character that is not a hex digit. */
int gdb_unhex(const char *s, size_t n, uint8_t *out);

#endif
