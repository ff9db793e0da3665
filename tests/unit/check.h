/*
 * check.h - a tiny harness for the host-native unit tests in tests/unit/.
 *
 * CHECK(cond), CHECK_EQ(a, b) (integers, compared as 64-bit values) and CHECK_STR(a, b) each
 * count a pass, or print file:line and the values of a failure and carry on. A test's main()
 * ends with `return CHECK_DONE("name");`, which prints "name: N passed, N failed" and returns
 * the exit status (0 only when nothing failed).
 */
#ifndef VELEIRO_CHECK_H
#define VELEIRO_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

static inline int check_count(int ok)
{
	if (ok)
		check_passed++;
	else
		check_failed++;
	return ok;
}

static inline void check_eq(unsigned long long a, unsigned long long b, const char *expr_a,
			    const char *expr_b, const char *file, int line)
{
	if (!check_count(a == b))
		fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld (0x%llx) != %lld (0x%llx)\n",
			file, line, expr_a, expr_b, (long long)a, a, (long long)b, b);
}

static inline void check_str(const char *a, const char *b, const char *expr_a, const char *expr_b,
			     const char *file, int line)
{
	if (!check_count(a && b && strcmp(a, b) == 0))
		fprintf(stderr, "%s:%d: CHECK_STR(%s, %s) failed: \"%s\" != \"%s\"\n", file, line,
			expr_a, expr_b, a ? a : "(null)", b ? b : "(null)");
}

static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#define CHECK(cond) \
	do { \
		if (!check_count(!!(cond))) \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	} while (0)
#define CHECK_EQ(a, b) \
	check_eq((unsigned long long)(a), (unsigned long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_DONE(name) check_done(name)

#endif
