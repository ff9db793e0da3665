/* unit-test sources: */
/*
 * test_opts.c - common/opts.c: the option table is the parser. Every table entry is accepted in
 * its long form and, when it has one, its one-letter form, with its value; a long-only key has no
 * letter; operands are left for the caller; -v raises the log level; a usage mistake exits 2 with
 * one line naming the option; --help prints a usage line built from the operands, the caller's
 * about text and the table, in that order, and exits 0. The exits are checked in a child process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "opts.h"

#define OPT_LONG (OPT_LONG_ONLY + 1)

static const struct opt table[] = {
	{ 'm', "mem", "SIZE", "guest RAM" },
	{ 't', "trace", NULL, "print every exit" },
	{ OPT_LONG, "dtb-out", "FILE", "write the tree\nto FILE" },
	{ 0 },
};

struct seen {
	char log[256];
};

static void set(void *ctx, int key, const char *value)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "%d=%s;", key, value ? value : "-");
}

/* What follows the options on the usage line; NULL for a program that takes none. */
static const char *operands = "GUEST.bin";

static void about(FILE *f)
{
	fprintf(f, "Runs a test.\n");
}

/* Parse argv (NULL-terminated) afresh; returns the first operand's index. */
static int parse(char **argv, struct seen *s)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(s, 0, sizeof(*s));
	optind = 0; /* getopt_long(3): 0 restarts the scan */
	return opts_parse(argc, argv, table, operands, about, set, s);
}

/* Run parse() in a child with stdout and stderr into one pipe; its exit status and output. */
static int child(char **argv, char *out, size_t len)
{
	int p[2], status;
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct seen s;

		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		parse(argv, &s);
		fflush(stdout);
		_exit(99);
	}
	close(p[1]);
	/* Until the child's end closes: its message may come in several writes. */
	while (got < len - 1 && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	char *a1[] = { "prog", "-m", "2M", "--trace", "--dtb-out", "x.dtb", "guest.bin", NULL };
	char *a2[] = { "prog", "--mem=1G", "-t", "-v", "-v", "a", "b", NULL };
	char *bad1[] = { "prog", "--bogus", NULL };
	char *bad2[] = { "prog", "--mem", NULL };
	char *bad3[] = { "prog", "-o", "x", NULL }; /* --dtb-out has no one-letter form */
	char *help[] = { "prog", "--help", NULL };
	struct seen s;
	char out[1024], want[1024];

	CHECK_EQ(parse(a1, &s), 6);
	CHECK_STR(s.log, "109=2M;116=-;257=x.dtb;");
	log_level = 0;
	CHECK_EQ(parse(a2, &s), 5);
	CHECK_STR(s.log, "109=1G;116=-;");
	CHECK_EQ(log_level, 2);
	log_level = 0;

	CHECK_EQ(child(bad1, out, sizeof(out)), 2);
	CHECK(strstr(out, ": unknown option '--bogus' (see --help)\n") != NULL);
	CHECK_EQ(child(bad2, out, sizeof(out)), 2);
	CHECK(strstr(out, ": option '--mem' needs a value (see --help)\n") != NULL);
	CHECK_EQ(child(bad3, out, sizeof(out)), 2);
	CHECK(strstr(out, ": unknown option '-o' (see --help)\n") != NULL);

	/* The whole of --help: usage line, about(), the table, then -v and -h. */
	snprintf(want, sizeof(want),
		 "usage: %s [OPTIONS] GUEST.bin\n"
		 "Runs a test.\n"
		 "  -m, --mem SIZE      guest RAM\n"
		 "  -t, --trace         print every exit\n"
		 "      --dtb-out FILE  write the tree\n"
		 "                      to FILE\n"
		 "  -v, --verbose       say more about each step (-v -v: even more)\n"
		 "  -h, --help          print this and exit\n",
		 program_invocation_short_name);
	CHECK_EQ(child(help, out, sizeof(out)), 0);
	CHECK_STR(out, want);
	operands = NULL; /* a program with no operands: the usage line ends at [OPTIONS] */
	snprintf(want, sizeof(want), "usage: %s [OPTIONS]\nRuns a test.\n",
		 program_invocation_short_name);
	CHECK_EQ(child(help, out, sizeof(out)), 0);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	CHECK_EQ(opts_size("mem", "4M", 1 << 20, 1 << 30), 4 << 20);
	return CHECK_DONE("opts");
}
