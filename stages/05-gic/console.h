/*
 * console.h - the host end of the guest's serial line: our stdin and stdout, joined to the PL011.
 */
#ifndef VELEIRO_CONSOLE_H
#define VELEIRO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pl011.h"

struct console {
	struct pl011 *uart;
	pthread_mutex_t *lock; /* the device lock, held by every thread that touches the UART */
	pthread_cond_t room; /* signalled when the receive FIFO may have room */
	int in_fd, out_fd;
	uint64_t in_bytes, out_bytes;
};

/*
 * Join in_fd and out_fd to uart, which lock protects; a terminal on in_fd goes into raw mode until
 * we exit. in_fd may be a terminal, a pipe, a file, /dev/null or closed.
 */
void console_init(struct console *c, struct pl011 *uart, pthread_mutex_t *lock, int in_fd,
		  int out_fd);

/* Start the input thread: from now on what arrives on in_fd goes to the UART. */
void console_start(struct console *c);

/* The struct pl011_host callbacks, called with the lock held; ctx is the struct console. */
void console_tx(void *ctx, uint8_t byte);
void console_rx_wanted(void *ctx);

#endif
