/*
 * console.h - the host end of the guest's serial line: our stdin and stdout, joined to the PL011.
 */
#ifndef VELEIRO_CONSOLE_H
#define VELEIRO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "pl011.h"

struct console {
	struct pl011 *uart;
	int in_fd, out_fd;
	bool in_done; /* input ended (EOF, or it cannot be read): nothing more will arrive */
	uint64_t in_bytes, out_bytes;
};

/*
 * Join in_fd and out_fd to uart; a terminal on in_fd goes into raw mode until we exit. in_fd may be
 * a terminal, a pipe, a file, /dev/null or closed.
 */
void console_init(struct console *c, struct pl011 *uart, int in_fd, int out_fd);

/* The struct pl011_host callbacks; ctx is the struct console. */
void console_tx(void *ctx, uint8_t byte);
void console_rx_wanted(void *ctx);

#endif
