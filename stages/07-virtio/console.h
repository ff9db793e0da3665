/*
 * console.h - the host end of the guest's console: our stdin and stdout, joined to a device (the
 * PL011, or virtio-console).
 */
#ifndef VELEIRO_CONSOLE_H
#define VELEIRO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hand input to the guest's device; returns how many bytes of buf it took (0 when it is full). */
typedef size_t (*console_deliver_fn)(void *device, const uint8_t *buf, size_t len);

struct console {
	console_deliver_fn deliver;
	void *device;
	pthread_mutex_t *lock; /* the device lock, held by every thread that touches the device */
	pthread_cond_t room; /* signalled when the receive FIFO may have room */
	int in_fd, out_fd;
	uint64_t in_bytes, out_bytes;
};

/*
 * Join in_fd and out_fd to a device, which lock protects; a terminal on in_fd goes into raw mode
 * until we exit. in_fd may be a terminal, a pipe, a file, /dev/null or closed.
 */
void console_init(struct console *c, console_deliver_fn deliver, void *device,
		  pthread_mutex_t *lock, int in_fd, int out_fd);

/* Start the input thread: from now on what arrives on in_fd goes to the device. */
void console_start(struct console *c);

/* Output: write one byte of the guest's to out_fd (the PL011's tx callback); ctx is the console. */
void console_tx(void *ctx, uint8_t byte);

/* The device may have room for input again (called with the lock held); ctx is the console. */
void console_rx_wanted(void *ctx);

#endif
