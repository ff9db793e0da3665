/* unit-test sources: */
/*
 * test_common.c - unit tests for the plumbing in common/: logging, guest-memory access, file
 * loading, recognising files that are not code, size parsing and printing, and the raw terminal.
 *
 * Behaviour that ends a process (die(), fatal signals) runs in a forked child; the parent checks
 * the child's stderr, exit status and the terminal settings it left behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "file_type.h"
#include "guest_mem.h"
#include "log.h"
#include "size.h"
#include "term.h"

#define RAM_BASE 0x40000000ULL

/* Run fn in a child with stderr captured into out; returns the wait status. */
static int run_child(void (*fn)(void), char *out, size_t cap)
{
	size_t used = 0;
	int p[2], status = -1;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL); /* or the child's exit() would print our buffered stdout a second time */
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (pid > 0 && used + 1 < cap && (n = read(p[0], out + used, cap - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

static void child_die(void)
{
	die("bad value %d", 42);
}

static void child_die_errno(void)
{
	errno = ENOENT;
	die_errno("cannot open %s", "x.bin");
}

static void child_levels(void)
{
	warn("warning %s", "one");
	info("hidden info");
	debug("hidden debug");
	log_level = 1;
	info("info %d", 1);
	debug("hidden debug");
	log_level = 2;
	debug("debug %d", 2);
	/* Logging must not change errno, not even when writing to stderr fails. */
	close(STDERR_FILENO);
	errno = EAGAIN;
	warn("lost");
	if (errno != EAGAIN)
		_exit(2);
}

/* A guest that causes 1,000 warnings on one device and one on another, then the VMM exits. */
static void child_warn_guest(void)
{
	uint64_t noisy = 0, quiet = 0;

	for (int i = 0; i < 1000; i++)
		warn_guest(&noisy, "bad notify %d", i);
	warn_guest(&quiet, "other device");
	warn("counted %llu and %llu", (unsigned long long)noisy, (unsigned long long)quiet);
	exit(0);
}

static void test_log(void)
{
	const char *prog = program_invocation_short_name;
	char out[1024], want[1024];
	int status;

	CHECK_EQ(log_level, 0);

	status = run_child(child_die, out, sizeof(out));
	snprintf(want, sizeof(want), "%s: bad value 42\n", prog);
	CHECK_STR(out, want);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);

	status = run_child(child_die_errno, out, sizeof(out));
	snprintf(want, sizeof(want), "%s: cannot open x.bin: %s\n", prog, strerror(ENOENT));
	CHECK_STR(out, want);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);

	status = run_child(child_levels, out, sizeof(out));
	snprintf(want, sizeof(want), "%s: warning one\n%s: info 1\n%s: debug 2\n", prog, prog,
		 prog);
	CHECK_STR(out, want);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The first WARN_GUEST_SHOWN of each device, then only a count, reported at exit. */
	status = run_child(child_warn_guest, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "%s: bad notify 0\n%s: bad notify 1\n"
		 "%s: bad notify 2 (further warnings about this device are only counted)\n"
		 "%s: other device\n%s: counted 1000 and 1\n"
		 "%s: 997 more warnings caused by the guest were counted but not shown\n",
		 prog, prog, prog, prog, prog, prog);
	CHECK_STR(out, want);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_guest_ptr(void)
{
	static uint8_t ram[0x1000], top_ram[16];
	const struct guest_mem m = { .gpa = RAM_BASE, .size = sizeof(ram), .host = ram };
	/* RAM ending exactly at the top of the address space: gpa + size wraps to 0. */
	const struct guest_mem top = { .gpa = UINT64_MAX - 15, .size = 16, .host = top_ram };

	CHECK(guest_ptr(&m, RAM_BASE, 1) == ram);
	CHECK(guest_ptr(&m, RAM_BASE, sizeof(ram)) == ram);
	CHECK(guest_ptr(&m, RAM_BASE + 0x10, 8) == ram + 0x10);
	CHECK(guest_ptr(&m, RAM_BASE + 0xfff, 1) == ram + 0xfff);
	CHECK(guest_ptr(&m, RAM_BASE, sizeof(ram) + 1) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE + 0xfff, 2) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE + 0x1000, 1) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE - 1, 1) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE - 1, 2) == NULL);
	CHECK(guest_ptr(&m, 0, 0x1000) == NULL);
	CHECK(guest_ptr(&m, UINT64_MAX, 1) == NULL);
	/* len 0: valid from the first byte up to and including the end, nowhere else */
	CHECK(guest_ptr(&m, RAM_BASE, 0) == ram);
	CHECK(guest_ptr(&m, RAM_BASE + 0x1000, 0) == ram + 0x1000);
	CHECK(guest_ptr(&m, RAM_BASE + 0x1001, 0) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE - 1, 0) == NULL);
	/* gpa + len wraps around to inside RAM: a naive "gpa + len <= end" check would pass */
	CHECK(guest_ptr(&m, RAM_BASE + 0x10, UINT64_MAX - 0xf) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE + 0x10, UINT64_MAX) == NULL);
	CHECK(guest_ptr(&m, RAM_BASE, UINT64_MAX) == NULL);

	CHECK(guest_ptr(&top, UINT64_MAX - 15, 16) == top_ram);
	CHECK(guest_ptr(&top, UINT64_MAX, 1) == top_ram + 15);
	CHECK(guest_ptr(&top, UINT64_MAX, 0) == top_ram + 15);
	CHECK(guest_ptr(&top, UINT64_MAX, 2) == NULL);
	CHECK(guest_ptr(&top, UINT64_MAX - 15, 17) == NULL);
	CHECK(guest_ptr(&top, 0, 1) == NULL);
}

static void test_guest_copy(void)
{
	static const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t ram[64], before[64], out[8];
	const struct guest_mem m = { .gpa = RAM_BASE, .size = sizeof(ram), .host = ram };

	memset(ram, 0xaa, sizeof(ram));
	CHECK_EQ(guest_write(&m, RAM_BASE + 56, data, sizeof(data)), 0);
	CHECK(memcmp(ram + 56, data, sizeof(data)) == 0);
	CHECK_EQ(ram[55], 0xaa);
	memset(out, 0, sizeof(out));
	CHECK_EQ(guest_read(&m, RAM_BASE + 56, out, sizeof(out)), 0);
	CHECK(memcmp(out, data, sizeof(data)) == 0);
	CHECK_EQ(guest_read(&m, RAM_BASE + 64, out, 0), 0);

	/* Failures copy nothing in either direction. */
	memcpy(before, ram, sizeof(ram));
	memset(out, 0x55, sizeof(out));
	CHECK_EQ(guest_read(&m, RAM_BASE + 57, out, sizeof(out)), -EFAULT);
	CHECK_EQ(guest_read(&m, RAM_BASE - 8, out, sizeof(out)), -EFAULT);
	CHECK_EQ(guest_read(&m, RAM_BASE + 8, out, UINT64_MAX - 7), -EFAULT);
	CHECK_EQ(out[0], 0x55);
	CHECK_EQ(out[7], 0x55);
	CHECK_EQ(guest_write(&m, RAM_BASE + 57, out, sizeof(out)), -EFAULT);
	CHECK_EQ(guest_write(&m, RAM_BASE - 1, out, 2), -EFAULT);
	CHECK_EQ(guest_write(&m, UINT64_MAX, out, 2), -EFAULT);
	CHECK(memcmp(ram, before, sizeof(ram)) == 0);
}

static void test_guest_ints(void)
{
	static const uint8_t want[16] = { 0x00, 0x34, 0x12, 0x44, 0x33, 0x22, 0x11, 0x00,
					  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };
	uint8_t ram[16] = { 0 };
	const struct guest_mem m = { .gpa = RAM_BASE, .size = sizeof(ram), .host = ram };
	uint16_t v16 = 0xbeef;
	uint32_t v32 = 0xdeadbeef;
	uint64_t v64 = 0x0123456789abcdefULL;

	/* Little-endian and unaligned on purpose. */
	CHECK_EQ(guest_write_u16(&m, RAM_BASE + 1, 0x1234), 0);
	CHECK_EQ(guest_write_u32(&m, RAM_BASE + 3, 0x11223344), 0);
	CHECK_EQ(guest_write_u64(&m, RAM_BASE + 8, 0x0102030405060708ULL), 0);
	CHECK(memcmp(ram, want, sizeof(want)) == 0);

	CHECK_EQ(guest_read_u16(&m, RAM_BASE + 1, &v16), 0);
	CHECK_EQ(v16, 0x1234);
	CHECK_EQ(guest_read_u32(&m, RAM_BASE + 3, &v32), 0);
	CHECK_EQ(v32, 0x11223344);
	CHECK_EQ(guest_read_u32(&m, RAM_BASE, &v32), 0);
	CHECK_EQ(v32, 0x44123400);
	CHECK_EQ(guest_read_u64(&m, RAM_BASE + 8, &v64), 0);
	CHECK_EQ(v64, 0x0102030405060708ULL);
	CHECK_EQ(guest_read_u16(&m, RAM_BASE + 14, &v16), 0);
	CHECK_EQ(v16, 0x0102);

	/* Straddling either end or wrapping: -EFAULT, and nothing written. */
	v16 = 0xbeef;
	v32 = 0xdeadbeef;
	v64 = 0x0123456789abcdefULL;
	CHECK_EQ(guest_read_u16(&m, RAM_BASE + 15, &v16), -EFAULT);
	CHECK_EQ(guest_read_u32(&m, RAM_BASE + 13, &v32), -EFAULT);
	CHECK_EQ(guest_read_u64(&m, RAM_BASE + 9, &v64), -EFAULT);
	CHECK_EQ(guest_read_u64(&m, RAM_BASE - 1, &v64), -EFAULT);
	CHECK_EQ(guest_read_u32(&m, UINT64_MAX - 1, &v32), -EFAULT);
	CHECK_EQ(v16, 0xbeef);
	CHECK_EQ(v32, 0xdeadbeef);
	CHECK_EQ(v64, 0x0123456789abcdefULL);
	CHECK_EQ(guest_write_u16(&m, RAM_BASE + 15, 0xffff), -EFAULT);
	CHECK_EQ(guest_write_u32(&m, RAM_BASE + 13, 0xffffffff), -EFAULT);
	CHECK_EQ(guest_write_u64(&m, RAM_BASE + 9, UINT64_MAX), -EFAULT);
	CHECK_EQ(guest_write_u64(&m, RAM_BASE - 4, UINT64_MAX), -EFAULT);
	CHECK_EQ(guest_write_u64(&m, UINT64_MAX - 3, UINT64_MAX), -EFAULT);
	CHECK(memcmp(ram, want, sizeof(want)) == 0);
}

static void test_size_parse(void)
{
	static const struct {
		const char *s;
		int err;
		uint64_t val;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "007", 0, 7 },
		{ "1K", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "256M", 0, 256ULL << 20 },
		{ "1G", 0, 1ULL << 30 },
		{ "1g", 0, 1ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "1GiB", 0, 1ULL << 30 },
		{ "1gib", 0, 1ULL << 30 },
		{ "1GB", 0, 1ULL << 30 },
		{ "512MB", 0, 512ULL << 20 },
		{ "4KiB", 0, 4096 },
		{ "1B", 0, 1 },
		{ "4096b", 0, 4096 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "17179869183G", 0, ((1ULL << 34) - 1) << 30 },
		{ "16777215T", 0, ((1ULL << 24) - 1) << 40 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1G", -EINVAL, 0 },
		{ "1G ", -EINVAL, 0 },
		{ "1 G", -EINVAL, 0 },
		{ "1GG", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "16E", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
		{ "1Gi", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "1GiBB", -EINVAL, 0 },
		{ "1BB", -EINVAL, 0 },
		{ "G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "1\n", -EINVAL, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551615K", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0xdeadbeef;
		int err = size_parse(cases[i].s, &v);
		int failed = check_failed;

		CHECK_EQ(err, cases[i].err);
		CHECK_EQ(v, cases[i].err ? 0xdeadbeef : cases[i].val);
		if (check_failed != failed)
			fprintf(stderr, "    size_parse input: \"%s\"\n", cases[i].s);
	}
}

static void test_size_format(void)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 1000, "1000 B" },
		{ 1023, "1023 B" },
		{ 1024, "1 KiB" },
		{ 1536, "1536 B" },
		{ 4096, "4 KiB" },
		{ 512ULL << 20, "512 MiB" },
		{ (3ULL << 20) + (4ULL << 10), "3076 KiB" },
		{ 1ULL << 30, "1 GiB" },
		{ 1ULL << 40, "1 TiB" },
		{ 1ULL << 50, "1024 TiB" },
		{ 1ULL << 63, "8388608 TiB" },
		{ UINT64_MAX, "18446744073709551615 B" },
	};
	char buf[SIZE_FORMAT_LEN], small[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(size_format(cases[i].bytes, buf, sizeof(buf)), cases[i].text);
	CHECK(size_format(1, buf, sizeof(buf)) == buf);
	CHECK_STR(size_format(1ULL << 30, small, sizeof(small)), "1 G");
}

static char tmpdir[] = "/tmp/test_common.XXXXXX";

/* Create tmpdir/name holding len bytes of data; returns the path in a static buffer. */
static const char *tmp_file(const char *name, const void *data, size_t len)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static void test_file_load(void)
{
	static uint8_t big[1 << 20], back[1 << 20];
	char buf[16], path[64];
	size_t len;

	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		exit(1);
	}

	memset(buf, 'x', sizeof(buf));
	len = 99;
	CHECK_EQ(file_load(tmp_file("hello", "hello", 5), buf, sizeof(buf), &len), 0);
	CHECK_EQ(len, 5);
	CHECK(memcmp(buf, "hellox", 6) == 0);
	CHECK_EQ(file_load(tmp_file("hello", "hello", 5), buf, 5, &len), 0); /* exactly cap */
	CHECK_EQ(len, 5);

	memset(buf, 'y', sizeof(buf));
	len = 99;
	CHECK_EQ(file_load(tmp_file("hello", "hello", 5), buf, 4, &len), -EFBIG);
	CHECK_EQ(len, 99);
	CHECK_EQ(buf[0], 'y');

	len = 99;
	CHECK_EQ(file_load(tmp_file("empty", "", 0), buf, sizeof(buf), &len), 0);
	CHECK_EQ(len, 0);
	CHECK_EQ(file_load(tmp_file("empty", "", 0), NULL, 0, &len), 0);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	CHECK_EQ(file_load(tmp_file("big", big, sizeof(big)), back, sizeof(back), &len), 0);
	CHECK_EQ(len, sizeof(big));
	CHECK(memcmp(back, big, sizeof(big)) == 0);

	len = 99;
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK_EQ(file_load(path, buf, sizeof(buf), &len), -ENOENT);
	CHECK_EQ(file_load(tmpdir, buf, sizeof(buf), &len), -EISDIR);
	CHECK_EQ(file_load("/dev/null", buf, sizeof(buf), &len), -EINVAL);
	/* A FIFO without a writer: rejected at once, not a hang in open(). */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(file_load(path, buf, sizeof(buf), &len), -EINVAL);
	CHECK_EQ(len, 99);

	unlink(path);
	unlink(tmp_file("hello", "", 0));
	unlink(tmp_file("empty", "", 0));
	unlink(tmp_file("big", "", 0));
	CHECK_EQ(rmdir(tmpdir), 0);
}

/* Open a new pseudo-terminal; returns the terminal (slave) side, master in *master. */
static int open_pty(int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0) {
		perror("posix_openpt");
		exit(1);
	}
	return open(ptsname(*master), O_RDWR | O_NOCTTY);
}

static int same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0;
}

static int pty_fd;

static int pty_is_raw(void)
{
	struct termios t;

	return tcgetattr(pty_fd, &t) == 0 && !(t.c_lflag & (ICANON | ECHO));
}

/* Children for the ways out of a raw terminal; each exits 3 if the pty did not go raw. */
static int child_signal;

static void child_raw_then_signal(void)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core); /* SIGQUIT would dump core */
	signal(child_signal, SIG_DFL);
	if (term_raw(pty_fd) != 0 || !pty_is_raw())
		_exit(3);
	raise(child_signal);
	_exit(4);
}

static void child_raw_then_die(void)
{
	if (term_raw(pty_fd) != 0 || !pty_is_raw())
		_exit(3);
	die("stopping");
}

/* An ignored SIGHUP stays ignored; normal exit() still restores the terminal. */
static void child_raw_ignore_hup(void)
{
	signal(SIGHUP, SIG_IGN);
	if (term_raw(pty_fd) != 0 || !pty_is_raw())
		_exit(3);
	raise(SIGHUP);
	if (!pty_is_raw())
		_exit(5);
	exit(0);
}

static void test_term(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios before, t;
	char out[256];
	int master, p[2], status;

	/* Not a terminal: nothing to do, and nothing remembered (the pty below still goes raw). */
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(term_raw(p[0]), 0);
	CHECK_EQ(term_raw(-1), 0);
	term_restore();
	close(p[0]);
	close(p[1]);

	pty_fd = open_pty(&master);
	CHECK(pty_fd >= 0);
	CHECK_EQ(tcgetattr(pty_fd, &before), 0);
	CHECK(before.c_lflag & ICANON);
	CHECK(before.c_lflag & ECHO);

	/* Fatal signals and die() restore the terminal in the child before it ends. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		child_signal = sigs[i];
		status = run_child(child_raw_then_signal, out, sizeof(out));
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i]);
		CHECK(tcgetattr(pty_fd, &t) == 0 && same_termios(&t, &before));
	}
	status = run_child(child_raw_then_die, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(tcgetattr(pty_fd, &t) == 0 && same_termios(&t, &before));
	status = run_child(child_raw_ignore_hup, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(tcgetattr(pty_fd, &t) == 0 && same_termios(&t, &before));

	CHECK_EQ(term_raw(pty_fd), 0);
	CHECK_EQ(tcgetattr(pty_fd, &t), 0);
	CHECK(!(t.c_lflag & ICANON));
	CHECK(!(t.c_lflag & ECHO));
	CHECK(!(t.c_lflag & IEXTEN));
	CHECK(t.c_lflag & ISIG); /* Ctrl-C still stops the VMM */
	CHECK(t.c_oflag & OPOST); /* guests print bare "\n" */
	CHECK(!(t.c_iflag & (ICRNL | IXON)));
	CHECK_EQ(t.c_cflag & CSIZE, CS8);
	CHECK_EQ(t.c_cc[VMIN], 1);
	CHECK_EQ(t.c_cc[VTIME], 0);
	CHECK_EQ(t.c_cc[VSUSP], _POSIX_VDISABLE);
	/* A second call must not save the raw settings over the original ones. */
	CHECK_EQ(term_raw(pty_fd), 0);
	term_restore();
	CHECK(tcgetattr(pty_fd, &t) == 0 && same_termios(&t, &before));

	/* Idempotent: a second restore leaves later changes alone. */
	t.c_lflag &= ~ECHO;
	CHECK_EQ(tcsetattr(pty_fd, TCSANOW, &t), 0);
	term_restore();
	CHECK(tcgetattr(pty_fd, &t) == 0 && !(t.c_lflag & ECHO));

	close(pty_fd);
	close(master);
}

/* Whether file_type_refusal() refuses data (len bytes) and says so with `word` in its reason. */
static int refused_as(const void *data, size_t len, const char *word)
{
	const char *why = file_type_refusal(data, len);

	return why && strstr(why, word) != NULL;
}

/* Compressed files, ELF, x86 and EFI zboot kernels, and files shorter than an instruction. */
static void test_file_type(void)
{
	static const uint8_t nop[4] = { 0x1f, 0x20, 0x03, 0xd5 }; /* d503201f: nop */
	uint8_t buf[0x400] = { 0 };

	CHECK(file_type_refusal(nop, 4) == NULL);
	CHECK(refused_as(nop, 3, "shorter than one instruction"));
	CHECK(refused_as(nop, 1, "shorter than one instruction"));
	/* The signature, then anything: what `gzip`, `zstd`, `xz`, `bzip2`, `lz4` write first. */
	CHECK(refused_as("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, "gzip"));
	CHECK(refused_as("\x1f\x8b\x08", 3, "gunzip"));
	CHECK(refused_as("\x28\xb5\x2f\xfd\x04\x58", 6, "zstd"));
	CHECK(refused_as("\xfd\x37\x7a\x58\x5a\x00\x00\x04", 8, "xz"));
	CHECK(refused_as("BZh91AY&SY", 10, "bzip2"));
	CHECK(refused_as("\x04\x22\x4d\x18\x64\x40", 6, "lz4"));
	CHECK(refused_as("\x7f"
			 "ELF\x02\x01\x01",
			 7, "ELF"));
	/* Near misses are not refused: another gzip method, BZh without a size, a short xz. */
	CHECK(file_type_refusal("\x1f\x8b\x07\x00", 4) == NULL);
	CHECK(file_type_refusal("BZhx", 4) == NULL);
	CHECK(file_type_refusal("\xfd\x37\x7a\x58\x5a\x01", 6) == NULL);

	/* An x86 bzImage: 'HdrS' at 0x202, and an MZ stub at 0 that an arm64 Image also has. */
	memcpy(buf, "MZ", 2);
	CHECK(file_type_refusal(buf, sizeof(buf)) == NULL);
	memcpy(buf + 0x202, "HdrS", 4);
	CHECK(refused_as(buf, sizeof(buf), "x86"));
	CHECK(file_type_refusal(buf, 0x205) == NULL); /* ends before the signature does */
	memset(buf + 0x202, 0, 4);
	/* An arm64 EFI zboot image: MZ, then 'zimg'. */
	memcpy(buf + 4, "zimg", 4);
	CHECK(refused_as(buf, sizeof(buf), "zboot"));
	CHECK(file_type_refusal(buf, 7) == NULL);
}

int main(void)
{
	alarm(60); /* a hang (say, in open() of a FIFO) fails the test instead of blocking CI */
	test_log();
	test_guest_ptr();
	test_guest_copy();
	test_guest_ints();
	test_size_parse();
	test_size_format();
	test_file_load();
	test_file_type();
	test_term();
	return CHECK_DONE("common");
}
