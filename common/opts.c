/*
 * opts.c - a stage's command line from one table (see opts.h), on top of getopt_long(3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "opts.h"
#include "size.h"

/* Every stage has these two; they come after the stage's own in --help. */
static const struct opt common_opts[] = {
	{ 'v', "verbose", NULL, "say more about each step (-v -v: even more)" },
	{ 'h', "help", NULL, "print this and exit" },
	{ 0 },
};

#define MAX_OPTS 32

/* Append table's entries to the getopt_long arrays; each short letter gets ':' if it takes a value. */
static void add(const struct opt *table, struct option *longs, size_t *nlong, char *shorts,
		size_t *nshort)
{
	for (size_t i = 0; table[i].name; i++) {
		if (*nlong == MAX_OPTS)
			die("internal error: more than %d options", MAX_OPTS);
		longs[(*nlong)++] =
			(struct option){ .name = table[i].name,
					 .has_arg = table[i].arg ? required_argument : no_argument,
					 .val = table[i].key };
		if (table[i].key < OPT_LONG_ONLY) {
			shorts[(*nshort)++] = (char)table[i].key;
			if (table[i].arg)
				shorts[(*nshort)++] = ':';
		}
	}
}

void opts_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

/* "  -m, --mem SIZE" or "      --dtb-out FILE", into buf. */
static void left_column(const struct opt *o, char *buf, size_t len)
{
	if (o->key < OPT_LONG_ONLY)
		snprintf(buf, len, "  -%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "      --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
}

static void print_table(FILE *f, const struct opt *table, int width)
{
	char left[64];

	for (size_t i = 0; table[i].name; i++) {
		const char *help = table[i].help;
		const char *nl;

		left_column(&table[i], left, sizeof(left));
		fprintf(f, "%-*s", width, left);
		while ((nl = strchr(help, '\n'))) {
			fprintf(f, "%.*s\n%*s", (int)(nl - help), help, width, "");
			help = nl + 1;
		}
		fprintf(f, "%s\n", help);
	}
}

static int widest(const struct opt *table, int width)
{
	char left[64];

	for (size_t i = 0; table[i].name; i++) {
		left_column(&table[i], left, sizeof(left));
		if ((int)strlen(left) + 2 > width)
			width = (int)strlen(left) + 2;
	}
	return width;
}

/*
 * --help on stdout. The usage line names no option: the table under it lists them all, and a
 * stage that adds one leaves the line as it was.
 */
static void help(const struct opt *table, const char *operands, void (*about)(FILE *f))
{
	int width = widest(common_opts, widest(table, 0));

	printf("usage: %s [OPTIONS]%s%s\n", program_invocation_short_name, operands ? " " : "",
	       operands ? operands : "");
	about(stdout);
	print_table(stdout, table, width);
	print_table(stdout, common_opts, width);
}

int opts_parse(int argc, char **argv, const struct opt *table, const char *operands,
	       void (*about)(FILE *f), opt_set_fn set, void *ctx)
{
	struct option longs[MAX_OPTS + 1] = { { 0 } };
	char shorts[2 * MAX_OPTS + 2] = ":"; /* leading ':': a missing value returns ':' */
	size_t nlong = 0, nshort = 1;
	int key;

	add(table, longs, &nlong, shorts, &nshort);
	add(common_opts, longs, &nlong, shorts, &nshort);
	opterr = 0;
	while ((key = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (key == 'v') {
			log_level++;
		} else if (key == 'h') {
			help(table, operands, about);
			exit(0);
		} else if (key == ':') {
			opts_usage_error("option '%s' needs a value", argv[optind - 1]);
		} else if (key == '?') {
			opts_usage_error("unknown option '%s'", argv[optind - 1]);
		} else {
			set(ctx, key, optarg);
		}
	}
	return optind;
}

uint64_t opts_size(const char *name, const char *value, uint64_t min, uint64_t max)
{
	char a[SIZE_FORMAT_LEN], b[SIZE_FORMAT_LEN];
	long page = sysconf(_SC_PAGESIZE);
	uint64_t size;

	int err = size_parse(value, &size);

	if (err == -ERANGE) /* more than 64 bits of bytes: out of range as surely as too many */
		size = UINT64_MAX;
	else if (err)
		die("--%s '%s' is not a size (try 256M or 1G)", name, value);
	/* QEMU's and kvmtool's -m 1024 mean MiB: say what a bare number means here. */
	if (size < min && !value[strspn(value, "0123456789")])
		die("--%s %s means %s bytes, less than %s: a size without a unit counts bytes "
		    "(%sM is %s MiB)",
		    name, value, value, size_format(min, a, sizeof(a)), value, value);
	if (size < min || size > max)
		die("--%s %s is out of range: give between %s and %s", name, value,
		    size_format(min, a, sizeof(a)), size_format(max, b, sizeof(b)));
	if (size % (uint64_t)page)
		die("--%s %s is not a whole number of %ld-byte pages", name, value, page);
	return size;
}
