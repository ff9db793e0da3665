/*
 * opts.h - a stage's command line from one table, shared by every stage.
 *
 * A stage lists its options once, as an array of struct opt ending in { 0 }. opts_parse() builds
 * the getopt_long(3) short-option string and long-option array from that table, so the two cannot
 * drift apart, and --help prints the same table under a usage line it writes itself, so a stage
 * that adds an option adds a table entry and the code that takes it, and rewrites no help text.
 * -h/--help and -v/--verbose are every stage's and are handled here. A usage mistake gets one
 * line on stderr and exit status 2.
 */
#ifndef VELEIRO_OPTS_H
#define VELEIRO_OPTS_H

#include <stdint.h>
#include <stdio.h>

/* Keys from here up have no one-letter form (--dtb-out, --no-reboot). */
#define OPT_LONG_ONLY 256

struct opt {
	int key; /* the one-letter form ('m' for -m), or OPT_LONG_ONLY + n */
	const char *name; /* the long form without "--" */
	const char *arg; /* the value's name in --help ("SIZE"), or NULL for a flag */
	const char *help; /* what it does; a '\n' starts a continuation line */
};

/* Called once for each option given, in order; value is NULL for a flag. */
typedef void (*opt_set_fn)(void *ctx, int key, const char *value);

/*
 * Parse argv against table (ending in { 0 }); set() takes each option. --help prints
 * "usage: PROGRAM [OPTIONS] operands" (operands: what follows the options, "GUEST.bin", or NULL
 * for none), then about(), what the program does, then the table, -v and -h last. Returns the index
 * in argv of the first operand (what is not an option).
 */
int opts_parse(int argc, char **argv, const struct opt *table, const char *operands,
	       void (*about)(FILE *f), opt_set_fn set, void *ctx);

/* "<program>: <message> (see --help)" on stderr and exit(2): a usage mistake. */
__attribute__((noreturn, format(printf, 1, 2))) void opts_usage_error(const char *fmt, ...);

/* --name value as a byte count from min to max, a whole number of pages; else one line, exit 1. */
uint64_t opts_size(const char *name, const char *value, uint64_t min, uint64_t max);

#endif
