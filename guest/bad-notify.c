/*
 * bad-notify.c - a guest that makes the same mistake 20,000 times, run by stage 09
 * (09-linux-boot): it brings the virtio entropy device (virtio 1.2, 5.4) up properly, then
 * writes QueueNotify (4.2.2) for a queue index the device does not have, BAD_NOTIFY_COUNT times
 * in a row, and powers off.
 *
 * Each of those notifies is a guest error the VMM may want to report, and each is one MMIO exit
 * (a notify that matches no queue cannot be taken by an ioeventfd either). A VMM that prints a
 * line per error lets a guest fill its user's disk through stderr; it should say a few times
 * what is wrong and then only count. The device must stay usable: the mistake does not concern
 * any queue it has.
 *
 * On veleiro the entropy device sits in the first virtio slot no disk or console takes, so this
 * guest needs no option. Output on the PL011:
 *	bad-notify: virtio-rng at 0x<address>, live
 *	bad-notify: 20000 notifies of queue 4294967295 sent; Status 0x<status>
 *	bad-notify: done
 * Status is the device's after them: 0xf (ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
 * unless the device gave up. A failure to bring the device up prints one line starting
 * "bad-notify: error: " and powers off.
 */
#include <stdint.h>

#include "printf.h"
#include "uart.h"
#include "virtio.h"

#define VIRTIO_RNG_DEVICE_ID 4 /* DeviceID of an entropy device (5.4.1) */

#define BAD_NOTIFY_COUNT 20000
/* The entropy device has one queue, index 0 (5.4.2); this index is as far from it as can be. */
#define BAD_NOTIFY_QUEUE 0xffffffffu

static struct virtio_dev rng_dev;
static struct virtio_queue rng_vq;

int main(void)
{
	int err;

	uart_init();
	err = virtio_find(&rng_dev, VIRTIO_RNG_DEVICE_ID);
	if (!err)
		err = virtio_negotiate(&rng_dev, 0);
	if (!err)
		err = virtio_queue_init(&rng_dev, &rng_vq, 0);
	if (err) {
		printf("bad-notify: error: virtio-rng: %s\n", virtio_strerror(err));
		return 0;
	}
	/*
	 * DRIVER_OK without virtio_driver_ok(): this guest never waits for the device, so its
	 * interrupt stays off at the GIC, which is left alone.
	 */
	virtio_set_status(&rng_dev, VIRTIO_STATUS_DRIVER_OK);
	printf("bad-notify: virtio-rng at 0x%lx, live\n", (unsigned long)rng_dev.base);

	for (unsigned int i = 0; i < BAD_NOTIFY_COUNT; i++)
		virtio_write(&rng_dev, VIRTIO_MMIO_QUEUE_NOTIFY, BAD_NOTIFY_QUEUE);
	printf("bad-notify: %u notifies of queue %u sent; Status 0x%x\n", BAD_NOTIFY_COUNT,
	       BAD_NOTIFY_QUEUE, virtio_read(&rng_dev, VIRTIO_MMIO_STATUS));
	printf("bad-notify: done\n");
	return 0;
}
