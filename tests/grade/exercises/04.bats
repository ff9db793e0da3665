#!/usr/bin/env bats
# The graded exercises of chapter 04, run only by make grade-04 EXERCISE=N.M (tests/grade/grade):
# the reference does not do them, so they fail on it.

load ../../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# exercise: 4.2
# points: 3
@test "exercise 4.2: UARTCR.LBE loops a written byte back into the receive FIFO" {
	src=$(stage_src 04)
	gcc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-function -Icommon \
		-I"$src" tests/grade/exercises/loopback.c "$src/pl011.c" -o "$SCRATCH/loopback"
	run timeout 60 "$SCRATCH/loopback"
	assert_success
	assert_output --partial "loopback: 5 passed, 0 failed"
}
