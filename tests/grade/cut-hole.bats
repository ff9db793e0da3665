#!/usr/bin/env bats
# tests/grade/cut-hole, the parser that makes the assignments' holes, over a C file written to
# trip it up (fixtures/tricky.c), and over every hole every stage lists.

load ../helpers

setup() { common_setup; cp tests/grade/fixtures/tricky.c "$SCRATCH/"; f=$SCRATCH/tricky.c; }
teardown() { common_teardown; }

cut_hole() { run --separate-stderr tests/grade/cut-hole "$f" "$1" 99-x.md#y 99; }

@test "a signature over two lines: only that body goes, the prototype and the look-alikes stay" {
	cut_hole dev_read
	assert_success
	assert_output 7
	# The stub: one comment, one line naming the hole, exit(70).
	run -0 sed -n '/^\t     unsigned int flags_for_this_access)$/,/^}$/p' "$f"
	assert_output "$(printf '%s\n' '	     unsigned int flags_for_this_access)' '{' \
		'	/* Assignment 99: write dev_read(); docs/tutorial/99-x.md#y explains it. */' \
		'	fprintf(stderr, "hole: tricky.c: dev_read() is not written yet (see docs/tutorial/99-x.md#y)\n");' \
		'	exit(70);' '}')"
	grep -qxF '	     unsigned int flags_for_this_access);' "$f"
	grep -qxF '	"dev_read(",' "$f"
	grep -qxF '		if (i & 1) {' "$f"
	grep -qxF '#include <stdio.h>' "$f"
	grep -qxF '#include <stdlib.h>' "$f"
}

@test "a name that prefixes another (dev_read, dev_read_all) and a static with a prototype" {
	cut_hole dev_read_all
	assert_output 8
	grep -qxF '	switch (reg) {' "$f"
	cut_hole read_reg
	assert_output 1
	grep -qxF 'static int read_reg(struct dev *d, int reg);' "$f"
	run -0 grep -c 'exit(70);' "$f"
	assert_output 2
}

@test "the cut file compiles with the stage's flags; the stub prints its one line and exits 70" {
	cut_hole dev_read
	printf '%s\n' '#include <stddef.h>' 'struct dev;' 'int dev_read(struct dev *d, int reg, unsigned int size, unsigned int flags);' \
		'int main(void) { return dev_read(NULL, 0, 4, 0); }' >"$SCRATCH/main.c"
	gcc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-function \
		"$f" "$SCRATCH/main.c" -o "$SCRATCH/t"
	run -70 --separate-stderr "$SCRATCH/t"
	assert_equal "$stderr" "hole: tricky.c: dev_read() is not written yet (see docs/tutorial/99-x.md#y)"
}

@test "a function that is not there, or only declared: one line, exit 1, the file untouched" {
	cut_hole dev_write
	assert_failure 1
	assert_equal "$stderr" "cut-hole: tricky.c has no definition of dev_write()"
	cut_hole read
	assert_failure 1
	cmp tests/grade/fixtures/tricky.c "$f"
}

@test "every hole of every assignment cuts, and points to a section its chapter has" {
	for mk in stages/*/stage.mk; do
		grep -q '^define STAGE_HOLES' "$mk" || continue
		nn=$(basename "$(dirname "$mk")" | cut -c1-2)
		run --separate-stderr tests/grade/start "$nn" --into "$SCRATCH/work"
		assert_success
		assert_output --partial "start: $SCRATCH/work/"
	done
	# And the bad input of make start-NN: one line each.
	run --separate-stderr tests/grade/start 05 --into "$SCRATCH/work"
	assert_failure
	assert_equal "$stderr" "start: $SCRATCH/work/05-gic already exists: it may hold your work (make start-05 FORCE=1 replaces it)"
	run --separate-stderr tests/grade/start 42
	assert_equal "$stderr" "start: there is no stage 42 (stages/42-*/main.c)"
	run --separate-stderr tests/grade/start 01
	assert_equal "$stderr" "start: stage 01 is not an assignment: stages/01-kvm-open/stage.mk lists no STAGE_HOLES"
}
