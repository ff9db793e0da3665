/*
 * virtio-console.c - a bare-metal virtio console driver, run by stage 07 (07-virtio) first.
 *
 * It teaches the two directions of a virtio device (OASIS virtio 1.2, section 5.3): without
 * VIRTIO_CONSOLE_F_MULTIPORT a console has one port and two queues (5.3.2), receiveq 0 and
 * transmitq 1. For output the driver offers a device-readable buffer holding the characters on
 * the transmitq; for input it offers an empty device-writable buffer on the receiveq, and the
 * device hands it back with as many characters as it had (the used entry's len, 2.7.8).
 * guest/lib/virtio.c does the generic part: probe, features, queue setup, chains.
 *
 * What it does: say hello through the transmitq, read one line from the receiveq (up to the
 * first CR or LF; at most 80 characters are kept), send it back, power off.
 *
 * Output through virtio-console (each line ends in LF alone):
 *	console: hello from virtio-console
 *	console: you typed: <the line>
 * Progress on the PL011, so both paths are visible:
 *	virtio-console guest: virtio-console at 0x<register window address>
 *	virtio-console guest: features offered 0x<hex>, accepted 0x<hex>
 *	virtio-console guest: receiveq and transmitq ready, <n> descriptors each
 *	virtio-console guest: said hello on the transmitq
 *	virtio-console guest: waiting for a line on the receiveq
 *	virtio-console guest: received "<the line>"
 *	virtio-console guest: echoed it on the transmitq
 *	virtio-console guest: done
 * Anything going wrong prints one line starting "virtio-console guest: error: " and powers off
 * without "done".
 */
#include <stdint.h>

#include "gic.h"
#include "printf.h"
#include "psci.h"
#include "uart.h"
#include "virtio.h"

#define VIRTIO_CONSOLE_DEVICE_ID 3 /* DeviceID of a console (5.3.1) */
#define VIRTIO_CONSOLE_RECEIVEQ 0 /* receiveq(port0): device -> driver (5.3.2) */
#define VIRTIO_CONSOLE_TRANSMITQ 1 /* transmitq(port0): driver -> device (5.3.2) */

#define CON_LINE_MAX 80 /* characters of the typed line kept */
#define CON_RX_BYTES VIRTIO_ALIGN /* the receive buffer: one whole aligned block */
#define CON_TX_BYTES (2 * VIRTIO_ALIGN) /* the transmit buffer: room for prefix and line */
#define CON_HELLO "console: hello from virtio-console\n"
#define CON_YOU_TYPED "console: you typed: "

static struct virtio_dev con_dev;
static struct virtio_queue con_rxq, con_txq;
/* The device writes con_rx: it gets cache lines of its own (VIRTIO_ALIGN, see virtio.h). */
static char con_rx[CON_RX_BYTES] __attribute__((aligned(VIRTIO_ALIGN)));
static char con_tx[CON_TX_BYTES] __attribute__((aligned(VIRTIO_ALIGN)));
static char con_line[CON_LINE_MAX + 1];

static void con_fail(const char *what, int err)
{
	printf("virtio-console guest: error: %s: %s\n", what, virtio_strerror(err));
	psci_system_off();
}

/* Append string s to con_tx at *len, as much as fits. */
static void con_tx_append(uint32_t *len, const char *s)
{
	for (; *s && *len < CON_TX_BYTES; s++)
		con_tx[(*len)++] = *s;
}

/* Send con_tx[0..len) and wait until the device has taken it. */
static void con_send(uint32_t len)
{
	struct virtio_buf buf = { con_tx, len, 0 };
	uint32_t written;
	int err;

	err = virtio_queue_submit(&con_txq, &buf, 1);
	if (!err)
		err = virtio_queue_wait(&con_txq, &written);
	if (err)
		con_fail("transmitq", err);
}

/*
 * Fill con_line with one line of input. The device returns the receive buffer as soon as it
 * has any input for it, often one keystroke at a time, so offer it again until a CR or LF
 * arrives. Characters after the end of the line are dropped.
 */
static void con_read_line(void)
{
	struct virtio_buf buf = { con_rx, CON_RX_BYTES, 1 };
	unsigned int n = 0;

	for (;;) {
		uint32_t len;
		int err;

		err = virtio_queue_submit(&con_rxq, &buf, 1);
		if (!err)
			err = virtio_queue_wait(&con_rxq, &len);
		if (err)
			con_fail("receiveq", err);
		for (uint32_t i = 0; i < len; i++) {
			if (con_rx[i] == '\r' || con_rx[i] == '\n') {
				con_line[n] = '\0';
				return;
			}
			if (n < CON_LINE_MAX)
				con_line[n++] = con_rx[i];
		}
	}
}

void main(void)
{
	uint32_t len = 0;
	int err;

	uart_init();
	gic_init(); /* the device interrupts when the driver has to wait for it */
	err = virtio_find(&con_dev, VIRTIO_CONSOLE_DEVICE_ID);
	if (err)
		con_fail("probe", err);
	printf("virtio-console guest: virtio-console at 0x%08lx\n", con_dev.base);

	/* No device-specific feature: without MULTIPORT there is exactly one port (5.3.3). */
	err = virtio_negotiate(&con_dev, 0);
	if (err)
		con_fail("feature negotiation", err);
	printf("virtio-console guest: features offered 0x%lx, accepted 0x%lx\n", con_dev.offered,
	       con_dev.features);

	err = virtio_queue_init(&con_dev, &con_rxq, VIRTIO_CONSOLE_RECEIVEQ);
	if (err)
		con_fail("receiveq", err);
	err = virtio_queue_init(&con_dev, &con_txq, VIRTIO_CONSOLE_TRANSMITQ);
	if (err)
		con_fail("transmitq", err);
	virtio_driver_ok(&con_dev);
	printf("virtio-console guest: receiveq and transmitq ready, %u descriptors each\n",
	       con_rxq.num);

	con_tx_append(&len, CON_HELLO);
	con_send(len);
	printf("virtio-console guest: said hello on the transmitq\n");

	printf("virtio-console guest: waiting for a line on the receiveq\n");
	con_read_line();
	printf("virtio-console guest: received \"%s\"\n", con_line);

	len = 0;
	con_tx_append(&len, CON_YOU_TYPED);
	con_tx_append(&len, con_line);
	con_tx_append(&len, "\n");
	con_send(len);
	printf("virtio-console guest: echoed it on the transmitq\n");
	printf("virtio-console guest: done\n");
}
