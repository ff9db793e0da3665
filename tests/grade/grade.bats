#!/usr/bin/env bats
# The grader's own bad input: a copy that does not build, a VMM that crashes or hangs, hidden
# tests from GRADE_EXTRA, and the mistakes one can make on its command line. Stage 02 stands for
# every assignment: it is the quickest to build and run.

load ../helpers

setup() {
	common_setup
	# The copies must be inside the checkout (the lab shares it), and named relative to it.
	root=${SCRATCH#"$TOP"/}/work
}
teardown() { common_teardown; }

grade() { run --separate-stderr timeout 600 tests/grade/grade "$@"; }
main_test="stage-02 runs guest/memory.bin to its MMIO exit and prints the table it left in RAM"

@test "mistakes: no copy, no such assignment, GRADE_EXTRA that is not there: one line each, status 2" {
	grade 02 --root "$root"
	assert_failure 2
	assert_equal "$stderr" "grade: there is no $root/02-memory/ to grade (make start-02 creates it)"
	grade 01
	assert_failure 2
	assert_equal "$stderr" "grade: stage 01 is not an assignment (its stage.mk lists no STAGE_HOLES)"
	grade 42
	assert_equal "$stderr" "grade: there is no stage 42"
	GRADE_EXTRA=$SCRATCH/nothing grade 02 --reference
	assert_failure 2
	assert_equal "$stderr" "grade: GRADE_EXTRA=$SCRATCH/nothing is not a directory"
	mkdir "$SCRATCH/empty"
	GRADE_EXTRA=$SCRATCH/empty grade 02 --reference
	assert_equal "$stderr" "grade: GRADE_EXTRA=$SCRATCH/empty has no .bats files"
	EXERCISE=2.1 grade 02 --reference
	assert_failure 2
	assert_equal "$stderr" "grade: exercise 2.1 has no graded tests (its chapter says whether it is one to discuss or measure)"
	run --separate-stderr make -s grade-42
	assert_failure
	assert_equal "${stderr_lines[0]}" "make grade-42: stage 42 is not an assignment (assignments: 02 03 04 05 06 07 08 09)"
}

@test "a copy that does not build: the compiler's first error, score 0, status 1" {
	tests/grade/start 02 --into "$root" --none >/dev/null
	echo 'int broken(void) { return no_such_name; }' >>"$root/02-memory/main.c"
	grade 02 --root "$root"
	assert_failure 1
	assert_line --regexp "^FAIL  +0/[0-9]+ +build $root/02-memory: .*main.c:.*error: .no_such_name. undeclared"
	assert_line --regexp '^score: 0/[1-9][0-9]*$'
}

@test "a VMM that crashes, then one that hangs: the test says so and the others still run" {
	tests/grade/start 02 --into "$root" --none >/dev/null
	cp "$root/02-memory/main.c" "$SCRATCH/main.c"
	echo 'volatile int *nowhere; __attribute__((constructor)) static void crash(void) { *nowhere = 1; }' >>"$root/02-memory/main.c"
	grade 02 --root "$root" --filter "^($main_test|a missing guest file: one line, non-zero)\$"
	assert_failure 1
	assert_line "FAIL   0/3   $main_test: crashed: signal 11"
	assert_line --regexp '^FAIL +0/1 +a missing guest file: one line, non-zero: '
	assert_line "score: 0/4"
	cp "$SCRATCH/main.c" "$root/02-memory/main.c"
	echo '__attribute__((constructor)) static void hang(void) { for (;;) ; }' >>"$root/02-memory/main.c"
	VMM_TIMEOUT=5 grade 02 --root "$root" --filter "^$main_test\$"
	assert_failure 1
	assert_line "FAIL   0/3   $main_test: timed out after 5 s (or the test's own limit)"
}

@test "GRADE_EXTRA: an instructor's hidden tests count, with their points, in the same score" {
	GRADE_EXTRA=tests/grade/fixtures/hidden grade 02 --reference --filter '^hidden: '
	assert_failure 1
	assert_line "PASS   4/4   hidden: guest/memory.bin computes its table"
	assert_line --regexp '^FAIL +0/1 +hidden: a test the reference fails: '
	assert_line "score: 4/5"
}
