/*
 * device.h - a device as the machine sees it: one line of the device table (devices.c). Each
 * device's own file fills in a struct device_type and says everything about itself there: what
 * it opens before any VM exists, how many of it the options ask for, how it joins the machine
 * (its window on the bus, its interrupt, or a virtio slot), its node in the device tree, what --stats says of it and how it
 * leaves. The machine walks the table to build each boot, count it and take it down, so adding a
 * device is its file and one line of the table.
 */
#ifndef VELEIRO_DEVICE_H
#define VELEIRO_DEVICE_H

struct machine;

struct device_type {
	const char *name;
	/*
	 * Once, before any VM: open what the device needs from the host, so that a mistake costs
	 * one line and nothing else (NULL: nothing to open).
	 */
	void (*setup)(struct machine *m);
	/*
	 * How many of it the options ask for (NULL: one). Asked in table order: a virtio device
	 * sees how many slots the devices before it left.
	 */
	unsigned int (*count)(const struct machine *m);
	/* Instance i joins the machine. */
	void (*add)(struct machine *m, unsigned int i);
	/* Instance i's node in the device tree, with dtb.c's dtb_add_...() (NULL: none). */
	int (*fdt_node)(const struct machine *m, unsigned int i, void *fdt);
	/* Instance i's --stats lines (NULL: the bus's counts say everything). */
	void (*stats)(const struct machine *m, unsigned int i);
	/* Instance i leaves the boot, with the device lock held (NULL: nothing to undo). */
	void (*remove)(struct machine *m, unsigned int i);
};

#endif
