/*
 * rtc.c - the host side of the PL031: its clock is the host's CLOCK_REALTIME, so the guest's date
 * is the host's, and its alarm is a timerfd on that same clock (timerfd_create(2), with
 * TFD_TIMER_ABSTIME: it fires when the clock reaches the second the PL031 asked for, even if
 * the host's clock is set meanwhile). One thread per process waits on it; a guest that never
 * sets an alarm costs nothing, and one that does costs one wake-up and one KVM_IRQ_LINE.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dtb.h"
#include "log.h"
#include "machine.h"
#include "memmap.h"
#include "rtc.h"
#include "vgic.h"

static uint64_t rtc_now(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static void rtc_alarm(void *ctx, uint64_t when)
{
	struct rtc *rtc = ctx;
	/* A time_t cannot hold every 64-bit second; the far future is "never" for this process. */
	struct itimerspec its = { .it_value.tv_sec = when > INT64_MAX ? INT64_MAX : (time_t)when };

	if (timerfd_settime(rtc->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		warn("pl031: cannot arm the alarm for %" PRIu64 ": %s", when, strerror(errno));
}

/* RTCINTR, level-sensitive like every PrimeCell interrupt, on SPI 2. */
static void rtc_irq_set(void *ctx, int level)
{
	struct rtc *rtc = ctx;
	int err = vgic_set_spi(rtc->vm, PL031_INTID, level);

	if (err)
		die("KVM_IRQ_LINE (INTID %d, level %d): %s", PL031_INTID, level, strerror(-err));
	if (level)
		rtc->irq_raised++;
	else
		rtc->irq_lowered++;
	if (rtc->trace)
		fprintf(stderr, "trace: IRQ   pl031 line %s (KVM_IRQ_LINE, INTID %d)\n",
			level ? "raised" : "lowered", PL031_INTID);
}

static void *rtc_thread(void *arg)
{
	struct rtc *rtc = arg;
	uint64_t expirations;

	for (;;) {
		ssize_t n = read(rtc->timerfd, &expirations, sizeof(expirations));

		/* ECANCELED cannot happen without TFD_TIMER_CANCEL_ON_SET; EINTR: try again. */
		if (n != sizeof(expirations))
			continue;
		pthread_mutex_lock(rtc->lock);
		pl031_alarm_expired(&rtc->dev);
		pthread_mutex_unlock(rtc->lock);
	}
	return NULL;
}

void rtc_start(struct rtc *rtc, pthread_mutex_t *lock)
{
	int err;

	rtc->lock = lock;
	rtc->timerfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	if (rtc->timerfd < 0)
		die_errno("cannot create the RTC's timer (timerfd_create)");
	err = pthread_create(&rtc->thread, NULL, rtc_thread, rtc);
	if (err)
		die("cannot start the RTC's thread: %s", strerror(err));
}

void rtc_attach(struct rtc *rtc, struct mmio_bus *bus, int vm, bool trace)
{
	struct mmio_device dev = {
		.name = "pl031",
		.base = PL031_BASE,
		.size = PL031_SIZE,
		.opaque = &rtc->dev,
		.read = pl031_read,
		.write = pl031_write,
		.reg_name = pl031_reg_name,
		.lock = rtc->lock,
	};

	rtc->vm = vm;
	rtc->trace = trace;
	rtc->irq_raised = rtc->irq_lowered = 0;
	pl031_init(&rtc->dev, &(struct pl031_host){ .now = rtc_now,
						    .alarm = rtc_alarm,
						    .ctx = rtc,
						    .irq_set = rtc_irq_set,
						    .irq_ctx = rtc });
	if (mmio_bus_add(bus, &dev) < 0)
		die("cannot put the RTC on the bus");
}

/*
 * The RTC as a device of this machine (device.h): one, always there. Its thread and timerfd are
 * the process's, made before any VM; each boot resets the PL031 and puts it on the new bus.
 */
static struct rtc rtc;

static void rtc_setup(struct machine *m)
{
	rtc_start(&rtc, &m->lock);
}

static void rtc_add(struct machine *m, unsigned int i)
{
	rtc_attach(&rtc, &m->bus, m->vm, m->opt->trace);
}

static int rtc_fdt_node(const struct machine *m, unsigned int i, void *fdt)
{
	return dtb_add_rtc(fdt);
}

static void rtc_stats(const struct machine *m, unsigned int i)
{
	fprintf(stderr,
		"stats: pl031: %" PRIu64 " accesses ignored; interrupt line raised %" PRIu64
		", lowered %" PRIu64 "\n",
		rtc.dev.ignored, rtc.irq_raised, rtc.irq_lowered);
}

const struct device_type rtc_device = {
	.name = "pl031",
	.setup = rtc_setup,
	.add = rtc_add,
	.fdt_node = rtc_fdt_node,
	.stats = rtc_stats,
};
