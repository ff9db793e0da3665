/* unit-test sources: stages/09-linux-boot/virtio_mmio.c stages/09-linux-boot/virtq.c */
/*
 * test_virtio_mmio.c - the virtio-mmio transport (virtio 1.2, 4.2.2) with a fake two-queue
 * device behind it: register file, status state machine, feature negotiation, queue setup
 * rules, reset, interrupts, the empty slot and NEEDS_RESET.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "virtio_driver.h"

#define FAKE_ID 0x2a
#define FAKE_FEATURES (1ull << 3 | 1ull << 40) /* device-specific bits the fake offers */
#define FAKE_QMAX 16
#define ALL_FEATURES (FAKE_FEATURES | VIRTIO_MMIO_TRANSPORT_FEATURES)
#define STATUS_SETUP (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)
#define STATUS_FEAT (STATUS_SETUP | VIRTIO_STATUS_FEATURES_OK)
#define STATUS_LIVE (STATUS_FEAT | VIRTIO_STATUS_DRIVER_OK)

/* The fake backend: completes every request with 7 bytes written, and counts them. */
static struct fake {
	struct virtio_mmio mmio;
	int served[2];
} fake;

static const uint8_t fake_config[10] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa
};
static struct irq_line irq;
static struct drv_queue qs[2];

static const char *fake_request(void *backend, unsigned int queue, const struct virtq_chain *c,
				uint32_t *used)
{
	struct fake *f = backend;

	f->served[queue]++;
	*used = 7;
	return NULL;
}

static const struct virtio_mmio_ops fake_ops = {
	.name = "fake",
	.device_id = FAKE_ID,
	.features = FAKE_FEATURES,
	.num_queues = 2,
	.queue_size_max = FAKE_QMAX,
	.request = fake_request,
};

static struct virtio_mmio *fresh(void)
{
	memset(&irq, 0, sizeof(irq));
	memset(&fake, 0, sizeof(fake));
	memset(ram.host, 0, RAM_SIZE);
	virtio_mmio_init(&fake.mmio, &fake_ops, &fake, fake_config, sizeof(fake_config), &ram,
			 drv_host(&irq));
	return &fake.mmio;
}

static void done(void)
{
	virtio_mmio_destroy(&fake.mmio);
}

static void test_identity(void)
{
	struct virtio_mmio *d = fresh();

	CHECK_EQ(drv_r(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff); /* no such region */
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffff);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_RESET), 0);
	/* Write-only and reserved registers read as 0. */
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	CHECK_EQ(drv_r(d, 0x0f0), 0);
	/* Read-only registers ignore writes. */
	drv_w(d, VIRTIO_MMIO_MAGIC_VALUE, 0);
	drv_w(d, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	done();
}

static void test_empty_slot(void)
{
	struct virtio_mmio empty;

	virtio_mmio_init_empty(&empty);
	CHECK_EQ(drv_r(&empty, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(drv_r(&empty, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(drv_r(&empty, VIRTIO_MMIO_DEVICE_ID), 0);
	CHECK_EQ(drv_r(&empty, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	CHECK_EQ(virtio_mmio_read(&empty, VIRTIO_MMIO_CONFIG, 4), 0);
	drv_w(&empty, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w(&empty, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_r(&empty, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(empty.status, 0);
	virtio_mmio_destroy(&empty);
}

static void test_access_size(void)
{
	struct virtio_mmio *d = fresh();

	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0); /* unaligned */
	virtio_mmio_write(d, VIRTIO_MMIO_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_write(d, VIRTIO_MMIO_STATUS, 2, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_write(d, VIRTIO_MMIO_STATUS, 8, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_write(d, VIRTIO_MMIO_STATUS + 1, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_write(d, VIRTIO_MMIO_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);

	/* The configuration space takes naturally aligned 1/2/4/8-byte accesses. */
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 1, 1), 0x22);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 2, 2), 0x4433);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 4, 4), 0x88776655);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, 8), 0x8877665544332211ull);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 9, 1), 0xaa);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 1, 2), 0); /* misaligned */
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 8, 4), 0); /* runs past the end */
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG + 10, 1), 0); /* past the end */
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, 3), 0); /* odd size */
	CHECK_EQ(virtio_mmio_read(d, 0xfff, 1), 0);
	virtio_mmio_write(d, VIRTIO_MMIO_CONFIG, 1, 0);
	CHECK_EQ(virtio_mmio_read(d, VIRTIO_MMIO_CONFIG, 1), 0x11);
	done();
}

static void test_features(void)
{
	struct virtio_mmio *d = fresh();

	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)ALL_FEATURES);
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(ALL_FEATURES >> 32));
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES), 0x101); /* VERSION_1 and bit 40 */
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* Without VERSION_1: refused, the driver sees FEATURES_OK clear. */
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, FAKE_FEATURES);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_SETUP);

	/* With a bit the device does not offer: refused. */
	drv_features(d, VIRTIO_F_VERSION_1 | 1ull << 0);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_SETUP);

	/* With a bit in word 2 (features 64..95): refused. */
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_SETUP);

	/* After a reset, a subset with VERSION_1 is accepted... */
	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | 1ull << 40);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_FEAT);
	CHECK_EQ(d->driver_features, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | 1ull << 40);
	/* ...and frozen: later DriverFeatures writes are ignored. */
	drv_features(d, VIRTIO_F_VERSION_1);
	CHECK_EQ(d->driver_features, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | 1ull << 40);
	done();
}

static void test_status_order(void)
{
	struct virtio_mmio *d = fresh();

	/* FEATURES_OK without DRIVER: not taken. */
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	/* DRIVER_OK without FEATURES_OK: not taken, the device stays off. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_SETUP);
	CHECK(!virtio_mmio_live(d));
	/* DRIVER alone, as U-Boot sets it after a reset: taken with the ACKNOWLEDGE it implies. */
	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_SETUP);
	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	drv_features(d, VIRTIO_F_VERSION_1);
	/* Several steps in one write are fine. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	CHECK(virtio_mmio_live(d));
	/* Clearing a bit is not a thing a driver may do: ignored. */
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	/* Reserved bits are dropped; the driver cannot set DEVICE_NEEDS_RESET itself. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE | 0x30 | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	/* FAILED: the driver gave up; the device is no longer live. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_FAILED);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE | VIRTIO_STATUS_FAILED);
	CHECK(!virtio_mmio_live(d));
	done();
}

static void test_queue_registers(void)
{
	struct virtio_mmio *d = fresh();
	struct virtq *vq0 = &d->queues[0], *vq1 = &d->queues[1];

	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_NUM_MAX), FAKE_QMAX);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	drv_w(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(vq0->num, FAKE_QMAX);
	CHECK_EQ(vq1->num, FAKE_QMAX);

	/* Enabling a queue needs FEATURES_OK first. */
	drv_queue_layout(&qs[0], QUEUE_AREA(0), 8);
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(!vq0->ready);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 0);

	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	/* The 64-bit addresses are assembled from their halves. */
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x12);
	CHECK_EQ(vq0->desc, 0x12ull << 32 | QUEUE_AREA(0));
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(vq0->ready);
	CHECK_EQ(vq0->num, 8);
	CHECK_EQ(vq0->desc, QUEUE_AREA(0));
	CHECK_EQ(vq0->avail, QUEUE_AREA(0) + 0x1000);
	CHECK_EQ(vq0->used, QUEUE_AREA(0) + 0x2000);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 1);

	/* While ready, the queue's registers cannot change. */
	drv_w(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	drv_w(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 1);
	drv_w(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0);
	CHECK_EQ(vq0->num, 8);
	CHECK_EQ(vq0->desc, QUEUE_AREA(0));
	CHECK_EQ(vq0->avail, QUEUE_AREA(0) + 0x1000);
	CHECK_EQ(vq0->used, QUEUE_AREA(0) + 0x2000);
	drv_w(d, VIRTIO_MMIO_QUEUE_READY, 2); /* undefined value: ignored */
	CHECK(vq0->ready);

	/* After DRIVER_OK, neither can those of a queue that is not ready, nor can it start. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	drv_w(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ(vq1->num, FAKE_QMAX);
	drv_queue_layout(&qs[1], QUEUE_AREA(1), 8);
	drv_queue_enable(d, 1, &qs[1]);
	CHECK(!vq1->ready);
	CHECK_EQ(vq1->desc, 0);

	/* Turning a queue off is always allowed. */
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK(!vq0->ready);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	done();
}

/* A queue with a bad layout fails at QueueReady: NEEDS_RESET, before DRIVER_OK no interrupt. */
static void test_bad_queue_layout(void)
{
	struct virtio_mmio *d = fresh();

	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	drv_queue_layout(&qs[0], QUEUE_AREA(0) + 8, 8); /* descriptors not 16-aligned */
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(!d->queues[0].ready);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_FEAT | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(irq.raises, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Still broken after DRIVER_OK: not live. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(!virtio_mmio_live(d));

	/* Sizes: not a power of 2, above QueueNumMax; ring outside RAM. */
	done();
	fresh();
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	drv_queue_layout(&qs[0], QUEUE_AREA(0), 12);
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(drv_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), 0);

	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	drv_queue_layout(&qs[0], QUEUE_AREA(0), 32);
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(drv_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	drv_w(d, VIRTIO_MMIO_STATUS, 0);

	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	drv_queue_layout(&qs[0], RAM_END - 0x2000, 8); /* used ring beyond the end of RAM */
	drv_queue_enable(d, 0, &qs[0]);
	CHECK(drv_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(!d->queues[0].ready);
	done();
}

static void test_notify(void)
{
	struct virtio_mmio *d = fresh();

	/* Buffers made available before DRIVER_OK are served when it is set. */
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_SETUP);
	drv_features(d, VIRTIO_F_VERSION_1);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_FEAT);
	drv_queue_layout(&qs[1], QUEUE_AREA(1), 8);
	drv_queue_enable(d, 1, &qs[1]);
	drv_desc(qs[1].desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&qs[1], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	/* Passed on, as KVM_IOEVENTFD would pass it; the serving side finds it not yet live. */
	CHECK_EQ(drv_notifies, 1);
	CHECK_EQ(fake.served[1], 0);
	drv_w(d, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(drv_notifies, 2); /* DRIVER_OK notifies every ready queue: queue 1 */
	CHECK_EQ(fake.served[0], 0);
	CHECK_EQ(fake.served[1], 1);
	CHECK_EQ(drv_used_idx(&qs[1]), 1);

	drv_publish(&qs[1], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(fake.served[1], 2);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* not ready: passed on, not served */
	CHECK_EQ(drv_notifies, 4);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 2); /* no such queue: refused here */
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0x10001);
	CHECK_EQ(drv_notifies, 4);
	CHECK_EQ(d->mmio_notifies, 4);
	CHECK_EQ(fake.served[0], 0);
	CHECK_EQ(fake.served[1], 2);
	CHECK_EQ(d->requests, 2);
	done();
}

/*
 * Work per call is bounded: a driver that made five requests available gets them served two at a
 * time, and the caller is told to come back until none is left.
 */
static void test_batches(void)
{
	struct virtio_mmio *d = fresh();

	CHECK_EQ(drv_setup(d, VIRTIO_F_VERSION_1, 1, qs, 8), STATUS_LIVE);
	for (int i = 0; i < 5; i++) {
		drv_desc(qs[0].desc, (uint16_t)i, BUF_GPA + 16 * i, 16, 0, 0);
		drv_publish(&qs[0], (uint16_t)i);
	}
	CHECK(virtio_mmio_serve(d, 0, 2));
	CHECK_EQ(drv_used_idx(&qs[0]), 2);
	CHECK(virtio_mmio_serve(d, 0, 2));
	CHECK_EQ(drv_used_idx(&qs[0]), 4);
	CHECK(!virtio_mmio_serve(d, 0, 2));
	CHECK_EQ(drv_used_idx(&qs[0]), 5);
	CHECK(!virtio_mmio_serve(d, 0, 2)); /* nothing left */
	CHECK_EQ(fake.served[0], 5);
	/* A queue the device does not have is never served, whoever asks. */
	CHECK(!virtio_mmio_serve(d, 7, 2));
	done();
}

/* stderr lines the guest's next accesses produce, and how many it counted meanwhile. */
static int stderr_to(FILE *f)
{
	int saved = dup(STDERR_FILENO);

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	return saved;
}

static int lines_since(FILE *f, int saved)
{
	int lines = 0, c;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

/* A guest hammering a queue that does not exist cannot flood stderr: a few lines, a count. */
static void test_warning_flood(void)
{
	struct virtio_mmio *d = fresh();
	FILE *f = tmpfile();
	int saved;

	CHECK(f != NULL);
	if (!f)
		return;
	saved = stderr_to(f);
	for (int i = 0; i < 100000; i++)
		drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	drv_w(d, 0x0f0, 1); /* another kind of mistake is only counted too */
	CHECK_EQ(lines_since(f, saved), WARN_GUEST_SHOWN);
	CHECK_EQ(d->warnings, 100001);
	done();
}

static void test_interrupts(void)
{
	struct virtio_mmio *d = fresh();

	CHECK_EQ(drv_setup(d, VIRTIO_F_VERSION_1, 2, qs, 8), STATUS_LIVE);
	CHECK_EQ(irq.raises, 0);

	drv_desc(qs[0].desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 1);
	CHECK_EQ(drv_used_len(&qs[0], 0), 7);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq.level, 1);
	CHECK_EQ(irq.raises, 1);

	/* A second completion before the ACK drives the line again (a new edge for KVM). */
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(irq.raises, 2);
	CHECK_EQ(irq.lowers, 0);

	/* Acknowledging other bits changes nothing; acknowledging bit 0 lowers the line. */
	drv_w(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq.level, 1);
	drv_w(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(irq.level, 0);
	CHECK_EQ(irq.lowers, 1);
	drv_w(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING); /* nothing pending */
	CHECK_EQ(irq.lowers, 1);

	/* The driver asked for no interrupts: none. */
	guest_write_u16(&ram, qs[0].avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 3);
	CHECK_EQ(irq.raises, 2);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* A hostile chain: NEEDS_RESET, configuration change interrupt, queues ignored. */
	drv_desc(qs[0].desc, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	drv_publish(&qs[0], 1);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), STATUS_LIVE | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq.level, 1);
	CHECK_EQ(irq.raises, 3);
	CHECK_EQ(drv_used_idx(&qs[0]), 3);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(fake.served[0], 3); /* neither the broken chain nor the last notify was served */
	/* A second failure does not interrupt again. */
	virtio_mmio_fail(d, "test");
	CHECK_EQ(irq.raises, 3);

	/* Reset: everything back to the start, and the line goes low. */
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(irq.level, 0);
	CHECK_EQ(irq.lowers, 2);
	CHECK(!d->queues[0].ready);
	CHECK(!d->queues[1].ready);
	CHECK_EQ(d->queues[0].num, FAKE_QMAX);
	CHECK_EQ(d->queues[0].desc, 0);
	CHECK_EQ(d->queues[0].last_avail, 0);
	CHECK_EQ(d->driver_features, 0);
	CHECK_EQ(d->queue_sel, 0);
	CHECK_EQ(d->device_features_sel, 0);
	CHECK_EQ(drv_r(d, VIRTIO_MMIO_QUEUE_READY), 0);

	/* ...and the device works again after a fresh initialisation. */
	CHECK_EQ(drv_setup(d, VIRTIO_F_VERSION_1, 2, qs, 8), STATUS_LIVE);
	drv_desc(qs[0].desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 1);
	CHECK_EQ(irq.level, 1);
	done();
}

static void test_event_idx(void)
{
	struct virtio_mmio *d = fresh();

	CHECK_EQ(drv_setup(d, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX, 1, qs, 8), STATUS_LIVE);
	CHECK(d->queues[0].event_idx);
	CHECK(!d->queues[0].indirect);
	drv_set_used_event(&qs[0], 1); /* interrupt me at the second completion */
	drv_desc(qs[0].desc, 0, BUF_GPA, 16, 0, 0);
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(drv_used_idx(&qs[0]), 1);
	CHECK_EQ(irq.raises, 0);
	CHECK_EQ(drv_avail_event(&qs[0]), 1); /* the device went idle at slot 1 */
	drv_publish(&qs[0], 0);
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(irq.raises, 1);
	done();
}

int main(void)
{
	ram_init();
	test_identity();
	test_empty_slot();
	test_access_size();
	test_features();
	test_status_order();
	test_queue_registers();
	test_bad_queue_layout();
	test_notify();
	test_batches();
	test_warning_flood();
	test_interrupts();
	test_event_idx();
	ram_free();
	return CHECK_DONE("virtio_mmio");
}
