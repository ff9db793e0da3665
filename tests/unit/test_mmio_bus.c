/* unit-test sources: stages/09-linux-boot/mmio_bus.c */
/*
 * test_mmio_bus.c - the MMIO bus: windows that may not overlap, dispatch by address with the
 * offset inside the window, accesses that do not fit a window, unclaimed addresses, the counts
 * for --stats and the lines of --trace.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mmio_bus.h"

/* A device that remembers its last access and reads back offset + size. */
struct fake {
	uint64_t offset, value;
	unsigned int size, reads, writes;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct fake *f = opaque;

	f->offset = offset;
	f->size = size;
	f->reads++;
	return offset + size;
}

static void fake_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value)
{
	struct fake *f = opaque;

	f->offset = offset;
	f->size = size;
	f->value = value;
	f->writes++;
}

static const char *fake_reg_name(uint64_t offset)
{
	return offset == 0x10 ? "REG10" : NULL;
}

static struct mmio_device fake_dev(const char *name, uint64_t base, uint64_t size, struct fake *f)
{
	return (struct mmio_device){ .name = name,
				     .base = base,
				     .size = size,
				     .opaque = f,
				     .read = fake_read,
				     .write = fake_write };
}

static void test_add(void)
{
	struct mmio_bus bus = { 0 };
	struct fake f;
	struct mmio_device d = fake_dev("a", 0x1000, 0x1000, &f);

	CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	d = fake_dev("b", 0x1800, 0x1000, &f); /* overlaps a's upper half */
	CHECK_EQ(mmio_bus_add(&bus, &d), -EEXIST);
	d = fake_dev("c", 0x0800, 0x1000, &f); /* overlaps a's lower half */
	CHECK_EQ(mmio_bus_add(&bus, &d), -EEXIST);
	d = fake_dev("d", 0x1200, 0x10, &f); /* inside a */
	CHECK_EQ(mmio_bus_add(&bus, &d), -EEXIST);
	d = fake_dev("e", 0x2000, 0x1000, &f); /* right after a: fine */
	CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	d = fake_dev("f", 0x0, 0x1000, &f); /* right before a: fine */
	CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	d = fake_dev("g", 0x5000, 0, &f);
	CHECK_EQ(mmio_bus_add(&bus, &d), -EINVAL);
	d = fake_dev("h", UINT64_MAX - 0xfff, 0x2000, &f); /* wraps around */
	CHECK_EQ(mmio_bus_add(&bus, &d), -EINVAL);
	d = fake_dev("i", UINT64_MAX - 0xfff, 0x1000, &f); /* its end, 2^64, is not a uint64_t */
	CHECK_EQ(mmio_bus_add(&bus, &d), -EINVAL);
	CHECK_EQ(bus.count, 3);
	for (unsigned int i = bus.count; i < MMIO_BUS_MAX_DEVICES; i++) {
		d = fake_dev("x", 0x100000 + i * 0x1000, 0x1000, &f);
		CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	}
	d = fake_dev("y", 0x900000, 0x1000, &f);
	CHECK_EQ(mmio_bus_add(&bus, &d), -ENOSPC);
}

static void test_dispatch(void)
{
	struct mmio_bus bus = { 0 };
	struct fake a = { 0 }, b = { 0 };
	struct mmio_device d = fake_dev("a", 0x09000000, 0x1000, &a);

	CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	d = fake_dev("b", 0x0a000000, 0x200, &b);
	CHECK_EQ(mmio_bus_add(&bus, &d), 0);

	CHECK_EQ(mmio_bus_read(&bus, 0x09000018, 4), 0x18 + 4);
	CHECK_EQ(a.offset, 0x18);
	CHECK_EQ(a.size, 4);
	mmio_bus_write(&bus, 0x0a0001f8, 8, 0x1122334455667788ULL);
	CHECK_EQ(b.offset, 0x1f8);
	CHECK_EQ(b.size, 8);
	CHECK_EQ(b.value, 0x1122334455667788ULL);
	CHECK_EQ(mmio_bus_read(&bus, 0x09000fff, 1), 0xfff + 1); /* the last byte */

	/* Outside every window, or not entirely inside one: unclaimed, reads as 0. */
	CHECK_EQ(mmio_bus_read(&bus, 0x08fffffc, 4), 0);
	CHECK_EQ(mmio_bus_read(&bus, 0x09001000, 4), 0);
	CHECK_EQ(mmio_bus_read(&bus, 0x0a0001fc, 8), 0); /* straddles b's end */
	mmio_bus_write(&bus, 0x0a000200, 4, 1);
	mmio_bus_write(&bus, UINT64_MAX - 3, 8, 1);
	CHECK_EQ(bus.unclaimed_reads, 3);
	CHECK_EQ(bus.unclaimed_writes, 2);
	CHECK_EQ(a.reads, 2);
	CHECK_EQ(a.writes, 0);
	CHECK_EQ(b.reads, 0);
	CHECK_EQ(b.writes, 1);
	CHECK_EQ(bus.reads[0], 2);
	CHECK_EQ(bus.writes[1], 1);
}

static void test_trace_and_stats(void)
{
	struct mmio_bus bus = { 0 };
	struct fake a = { 0 };
	struct mmio_device d = fake_dev("uart", 0x09000000, 0x1000, &a);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	d.reg_name = fake_reg_name;
	CHECK_EQ(mmio_bus_add(&bus, &d), 0);
	bus.trace = f;
	mmio_bus_write(&bus, 0x09000010, 4, 0x48);
	mmio_bus_read(&bus, 0x09000018, 2);
	mmio_bus_read(&bus, 0x0c000000, 4);
	bus.trace = NULL;
	mmio_bus_write(&bus, 0x09000010, 4, 0x49); /* not traced */
	mmio_bus_print_stats(&bus, f);
	fclose(f);
	CHECK_STR(text, "trace: MMIO write 0x09000010 4 bytes <- 0x48 (uart REG10)\n"
			"trace: MMIO read  0x09000018 2 bytes -> 0x1a (uart+0x018)\n"
			"trace: MMIO read  0x0c000000 4 bytes -> 0x0 (unclaimed)\n"
			"stats: MMIO by device:\n"
			"stats:   uart              1 reads        2 writes\n"
			"stats:   unclaimed         1 reads        0 writes\n");
	free(text);
}

int main(void)
{
	test_add();
	test_dispatch();
	test_trace_and_stats();
	return CHECK_DONE("mmio_bus");
}
