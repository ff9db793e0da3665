/*
 * disk-bench.c - how fast is the guest's virtio disk? A static arm64 Linux program for the guest's
 * initramfs (/bin/disk-bench), run by `make bench` (tests/bench).
 *
 *   disk-bench [-d DEVICE] [-t SECONDS] [-l] TEST...
 *
 * Each TEST runs for SECONDS (default 3) on DEVICE (default /dev/vda), a raw block device with no
 * file system, opened with O_DIRECT so that every read and write is a request to the device and the
 * guest's page cache plays no part (open(2): O_DIRECT wants buffers, offsets and lengths aligned to
 * the logical block size; 4096 covers every block size Linux allows):
 *   seq-read   1 MiB reads, one after another from the start, wrapping at the end of the device
 *   seq-write  1 MiB writes the same way, then one fdatasync, counted in the time (the disk offers
 *              a write cache, virtio 1.2, 5.2.3 VIRTIO_BLK_F_FLUSH: the data is not safe before it)
 *   rand-read  4 KiB reads at random 4 KiB-aligned offsets, one at a time (queue depth 1: each
 *              read waits for the one before, so the rate is one over the round trip)
 * Each prints one line, "disk-bench TEST RATE UNIT BYTES bytes OPS ops SECONDS s", where UNIT is
 * MB/s (10^6 bytes a second) for the sequential tests and IOPS for rand-read.
 *
 * -l (2 CPUs or more): a CPU loop beside the disk. A child process pinned to CPU 1
 * (sched_setaffinity(2)) counts loop iterations while this process, pinned to CPU 0, first sleeps
 * for SECONDS ("disk-bench loop-alone RATE it/s ...") and then runs each TEST ("disk-bench
 * loop-with-TEST RATE it/s ...", after the TEST's own line). What the loop loses beside the disk
 * is what serving the disk costs a CPU that does not ask for it.
 *
 * Exits 0 when every test ran, 1 when one failed (with a line saying why), 2 on bad usage.
 */
#define _GNU_SOURCE /* O_DIRECT, CPU_SET, sched_setaffinity */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALIGN 4096u
#define SEQ_BLOCK (1u << 20)
#define RAND_BLOCK 4096u

static double seconds = 3;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		return 0;
	fprintf(stderr, "disk-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
	return -1;
}

/* xorshift64 (Marsaglia, "Xorshift RNGs", 2003): random offsets, the same ones on every run. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* One test, requests until SECONDS are up: returns 0 and prints its line, or -1. */
static int run_test(const char *test, int fd, uint64_t size, uint8_t *buf)
{
	int writing = strcmp(test, "seq-write") == 0;
	int random = strcmp(test, "rand-read") == 0;
	uint32_t block = random ? RAND_BLOCK : SEQ_BLOCK;
	uint64_t pos = 0, state = 0x9e3779b97f4a7c15ull, ops = 0;
	double t0 = now(), t;

	do {
		ssize_t n;

		if (random)
			pos = next_random(&state) % (size / block) * block;
		else if (pos + block > size)
			pos = 0;
		n = writing ? pwrite(fd, buf, block, (off_t)pos)
			    : pread(fd, buf, block, (off_t)pos);
		if (n != (ssize_t)block) {
			fprintf(stderr, "disk-bench: %s at byte %llu: %s\n", test,
				(unsigned long long)pos,
				n < 0 ? strerror(errno) : "short transfer");
			return -1;
		}
		pos += block;
		ops++;
	} while (now() - t0 < seconds);
	if (writing && fdatasync(fd) != 0) {
		fprintf(stderr, "disk-bench: %s: fdatasync: %s\n", test, strerror(errno));
		return -1;
	}
	t = now() - t0;
	printf("disk-bench %s %.1f %s %llu bytes %llu ops %.2f s\n", test,
	       random ? (double)ops / t : (double)ops * block / t / 1e6, random ? "IOPS" : "MB/s",
	       (unsigned long long)ops * block, (unsigned long long)ops, t);
	fflush(stdout);
	return 0;
}

/*
 * The CPU loop: a child pinned to CPU 1 that counts into memory shared with this process, which
 * reads the count at the start and end of each phase. A relaxed atomic store is enough: the
 * parent wants a recent count, not one ordered with anything else.
 */
struct loop {
	pid_t pid;
	uint64_t *count;
	uint64_t start;
	double t0;
};

static int loop_start(struct loop *l)
{
	l->count = mmap(NULL, sizeof(*l->count), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	if (l->count == MAP_FAILED) {
		perror("disk-bench: mmap");
		return -1;
	}
	l->pid = fork();
	if (l->pid < 0) {
		perror("disk-bench: fork");
		return -1;
	}
	if (l->pid == 0) {
		uint64_t n = 0;

		if (pin(1) != 0)
			_exit(1);
		for (;;)
			__atomic_store_n(l->count, ++n, __ATOMIC_RELAXED);
	}
	return pin(0);
}

static void loop_mark(struct loop *l)
{
	l->start = __atomic_load_n(l->count, __ATOMIC_RELAXED);
	l->t0 = now();
}

static void loop_print(const struct loop *l, const char *phase, const char *test)
{
	uint64_t n = __atomic_load_n(l->count, __ATOMIC_RELAXED) - l->start;
	double t = now() - l->t0;

	printf("disk-bench loop-%s%s %.0f it/s %llu iterations %.2f s\n", phase, test,
	       (double)n / t, (unsigned long long)n, t);
	fflush(stdout);
}

static void loop_stop(struct loop *l)
{
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: disk-bench [-d DEVICE] [-t SECONDS] [-l] seq-read|seq-write|rand-read...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *device = "/dev/vda";
	struct loop loop = { .pid = -1 };
	int with_loop = 0, status = 0, fd, opt;
	uint64_t size;
	uint8_t *buf;
	char *end;

	while ((opt = getopt(argc, argv, "d:t:l")) != -1) {
		switch (opt) {
		case 'd':
			device = optarg;
			break;
		case 't':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds <= 3600)) {
				fprintf(stderr,
					"disk-bench: -t takes seconds, more than 0 and at most 3600, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'l':
			with_loop = 1;
			break;
		default:
			return usage();
		}
	}
	if (optind == argc)
		return usage();
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "seq-read") && strcmp(argv[i], "seq-write") &&
		    strcmp(argv[i], "rand-read")) {
			fprintf(stderr, "disk-bench: no test '%s'\n", argv[i]);
			return usage();
		}
	if (with_loop && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "disk-bench: -l needs 2 CPUs, this machine has %ld\n",
			sysconf(_SC_NPROCESSORS_ONLN));
		return 2;
	}
	fd = open(device, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "disk-bench: %s: %s\n", device, strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKGETSIZE64, &size) != 0 || size < SEQ_BLOCK) {
		fprintf(stderr, "disk-bench: %s: not a block device of 1 MiB or more\n", device);
		return 1;
	}
	buf = aligned_alloc(ALIGN, SEQ_BLOCK);
	if (!buf) {
		perror("disk-bench: aligned_alloc");
		return 1;
	}
	memset(buf, 0x5a, SEQ_BLOCK);
	if (with_loop) {
		if (loop_start(&loop) != 0) {
			status = 1;
		} else {
			struct timespec ts = {
				.tv_sec = (time_t)seconds,
				.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)
			};

			loop_mark(&loop);
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			loop_print(&loop, "alone", "");
		}
	}
	for (int i = optind; i < argc && status == 0; i++) {
		if (with_loop)
			loop_mark(&loop);
		if (run_test(argv[i], fd, size, buf) != 0)
			status = 1;
		else if (with_loop)
			loop_print(&loop, "with-", argv[i]);
	}
	if (loop.pid > 0)
		loop_stop(&loop);
	return status;
}
