/*
 * console.h - the host end of the guest's console: our stdin and stdout, joined to a device (the
 * PL011, or virtio-console), with an escape key sequence on a terminal: Ctrl-A x quits.
 */
#ifndef VELEIRO_CONSOLE_H
#define VELEIRO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hand input to the guest's device; returns how many bytes of buf it took (0 when it is full). */
typedef size_t (*console_deliver_fn)(void *device, const uint8_t *buf, size_t len);

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A: the next key is for the VMM, not the guest */
#define CONSOLE_QUIT 'x' /* Ctrl-A x: quit */
/* Input held while the guest takes none: as much as a Linux terminal's input queue (N_TTY). */
#define CONSOLE_HOLD 4096

struct console {
	console_deliver_fn deliver;
	void *device;
	pthread_mutex_t *lock; /* the device lock, held by every thread that touches the device */
	pthread_cond_t room; /* signalled when the receive FIFO may have room */
	int in_fd;
	int out_fd; /* where the guest's output goes: file_writer() of the out_fd given */
	bool out_cancel; /* the machine is stopping: output that would wait is dropped (atomics) */
	uint64_t in_bytes, out_bytes;
	uint64_t out_dropped; /* bytes of output dropped at a stop while the terminal was full */
	uint8_t held[CONSOLE_HOLD]; /* input the device had no room for yet, oldest first */
	size_t held_len;
	uint64_t dropped; /* keys typed while the hold was full, lost (escape on only) */
	/* Ctrl-A x calls quit(quit_ctx), without the lock; NULL: no escape sequence. */
	void (*quit)(void *quit_ctx);
	void *quit_ctx;
	bool escape; /* in_fd is a terminal and quit is set: watch for Ctrl-A */
	bool escape_pending; /* the last key was Ctrl-A */
};

/*
 * Join in_fd and out_fd to a device, which lock protects (NULL: console_connect() names it before
 * the input thread starts); a terminal on in_fd goes into raw mode
 * until we exit. in_fd may be a terminal, a pipe, a file, /dev/null or closed. When in_fd is a
 * terminal and quit is not NULL, Ctrl-A x calls quit(quit_ctx) and ends the input, Ctrl-A Ctrl-A
 * sends one Ctrl-A, and Ctrl-C, Ctrl-\ reach the guest instead of stopping us.
 */
void console_init(struct console *c, console_deliver_fn deliver, void *device,
		  pthread_mutex_t *lock, int in_fd, int out_fd, void (*quit)(void *quit_ctx),
		  void *quit_ctx);

/*
 * Input goes to device from now on (with the lock held): a boot's UART or virtio-console says so
 * as it joins, since each boot has new ones.
 */
void console_connect(struct console *c, console_deliver_fn deliver, void *device);

/* Start the input thread: from now on what arrives on in_fd goes to the device. */
void console_start(struct console *c);

/*
 * Output: write one byte of the guest's to out_fd (the PL011's tx callback); ctx is the console.
 * While the terminal has no room it waits, in slices of 100 ms, unless output is cancelled.
 */
void console_tx(void *ctx, uint8_t byte);

/*
 * The machine is stopping (cancel true) or runs again (false): while cancelled, output that finds
 * the terminal full is dropped instead of waited for. Any thread, any lock.
 */
void console_output_cancel(struct console *c, bool cancel);

/* The device may have room for input again (called with the lock held); ctx is the console. */
void console_rx_wanted(void *ctx);

#endif
