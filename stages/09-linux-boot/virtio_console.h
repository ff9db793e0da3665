/*
 * virtio_console.h - a single-port virtio console (virtio 1.2, section 5.3 "Console Device"),
 * on the virtio-mmio transport.
 *
 * Queue 0 (receiveq) carries input to the guest: the driver fills it with empty buffers and
 * the device writes characters into them. Queue 1 (transmitq) carries output: the driver
 * puts characters there and the device writes them to out_fd. No optional feature is
 * offered (no VIRTIO_CONSOLE_F_SIZE, MULTIPORT or EMERG_WRITE).
 */
#ifndef VELEIRO_VIRTIO_CONSOLE_H
#define VELEIRO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_CONSOLE_DEVICE_ID 3 /* DeviceID of a console (5.3.1) */
#define VIRTIO_CONSOLE_RX 0 /* receiveq(port0) */
#define VIRTIO_CONSOLE_TX 1 /* transmitq(port0) */
#define VIRTIO_CONSOLE_QUEUE_SIZE 64 /* QueueNumMax of both queues */

/* le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr (5.3.4); all 0, none is valid. */
#define VIRTIO_CONSOLE_CONFIG_LEN 12

struct virtio_console {
	struct virtio_mmio mmio; /* register this on the MMIO bus */
	int out_fd;
	void (*rx_ready)(void *ctx);
	void *rx_ctx;
	uint8_t config[VIRTIO_CONSOLE_CONFIG_LEN];
	struct virtq_chain rx_chain; /* the receive buffer being filled */
};

/*
 * Set up a console writing guest output to out_fd, which should not block (file_writer(),
 * common/file.h): where a write would wait, the device polls and looks at whether its request
 * is cancelled meanwhile. rx_ready(rx_ctx), if not NULL, is called
 * whenever the driver notifies the receive queue, i.e. may have added receive buffers: a
 * caller holding input that virtio_console_input() could not take should try again. It is
 * called from the serving thread, without the device lock. host is where the device's
 * interrupts and notifications go (virtio_mmio.h).
 */
void virtio_console_init(struct virtio_console *con, int out_fd, void (*rx_ready)(void *ctx),
			 void *rx_ctx, const struct guest_mem *mem,
			 const struct virtio_mmio_host *host);

void virtio_console_destroy(struct virtio_console *con);

/*
 * Give input (e.g. keys from the VMM's stdin thread) to the guest. Returns how many bytes
 * were taken, from the start of buf: fewer than len (maybe 0) when the guest has not made
 * enough receive buffers available, or the device is not live.
 */
size_t virtio_console_input(struct virtio_console *con, const uint8_t *buf, size_t len);

#endif
