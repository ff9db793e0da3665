/*
 * pmu-check.c - does the guest's PMU count? A static arm64 Linux program for the guest's
 * initramfs (/bin/pmu-check).
 *
 * It asks the kernel for the CPU cycles this process spends in user space (perf_event_open(2),
 * PERF_COUNT_HW_CPU_CYCLES), which the armv8_pmuv3 driver puts on the PMU's cycle counter
 * (PMCCNTR_EL0) or an event counter, spins, reads the count, spins again and reads it again.
 * Prints "pmu-check: cycles A, then B" and exits 0 when 0 < A < B; exits 1 if the count does not
 * grow, 2 when there is no PMU to ask.
 */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPINS 20000000UL

static void spin(void)
{
	for (volatile unsigned long i = 0; i < SPINS; i++)
		;
}

static uint64_t count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

int main(void)
{
	struct perf_event_attr attr;
	uint64_t a, b;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_CPU_CYCLES;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0) {
		perror("pmu-check: perf_event_open(PERF_COUNT_HW_CPU_CYCLES)");
		return 2;
	}
	spin();
	a = count(fd);
	spin();
	b = count(fd);
	printf("pmu-check: cycles %llu, then %llu\n", (unsigned long long)a, (unsigned long long)b);
	return a > 0 && b > a ? 0 : 1;
}
