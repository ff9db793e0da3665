# Shared by every stage suite: where things are, and how to run a stage with a time limit.
#
# Tests run the real ./stage-NN, exactly as a learner types it: natively on an arm64 host with
# /dev/kvm, through the lab elsewhere. Every run is bounded by `timeout` so a hung guest fails the
# test instead of hanging the suite.

bats_require_minimum_version 1.5.0
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load /usr/lib/bats/bats-file/load

# Seconds one stage run may take: lab start-up (about 10 s) plus the guest.
VMM_TIMEOUT=${VMM_TIMEOUT:-120}

# VMM_HOST runs a command where the VMMs run: here, or in the lab.
if [ "$(uname -m)" = aarch64 ]; then
	VMM_BIN=$TOP/build/native
	VMM_HOST=env
else
	VMM_BIN=$TOP/build/arm64
	VMM_HOST=$TOP/lab/run
fi

# The grader (tests/grade/grade) runs a suite against an assignment's copy instead of the stage:
# GRADE_STAGE=NN, GRADE_BIN (the directory its build is in, holding stage-NN) and GRADE_SRC (its
# sources). stage_run and stage_src give the command and the sources a test should use.
[ -z "${GRADE_STAGE:-}" ] || VMM_BIN=$GRADE_BIN

# stage_run NN: STAGE_RUN=(the command that runs stage NN), ./stage-NN as a learner types it.
stage_run() {
	if [ "${GRADE_STAGE:-}" = "$1" ]; then
		STAGE_RUN=("$VMM_HOST" "$VMM_BIN/stage-$1")
	else
		STAGE_RUN=("./stage-$1")
	fi
}

# stage_src NN: the directory of stage NN's sources.
stage_src() {
	if [ "${GRADE_STAGE:-}" = "$1" ]; then
		echo "$GRADE_SRC"
	else
		ls -d "$TOP"/stages/"$1"-*/ | sed "s|^$TOP/||; s|/$||"
	fi
}

common_setup() {
	cd "$TOP" || return 1
	# Scratch files live inside the checkout: the lab shares the checkout, not /tmp.
	SCRATCH=$TOP/build/tmp/$(basename "$BATS_TEST_FILENAME" .bats)-$BATS_TEST_NUMBER
	rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
}

common_teardown() {
	rm -rf "$SCRATCH"
}

# vmm STAGE ARGS...: run ./stage-NN with a time limit, stdout and stderr apart
# ($output and $stderr, as bats' --separate-stderr gives them).
vmm() {
	local stage=$1
	shift
	stage_run "$stage"
	run --separate-stderr timeout "$VMM_TIMEOUT" "${STAGE_RUN[@]}" "$@"
}

# The lines of $stderr, one per array element (bats gives $stderr_lines too; this counts them).
assert_one_stderr_line() {
	[ "${#stderr_lines[@]}" -eq 1 ] || {
		echo "expected exactly one line on stderr, got ${#stderr_lines[@]}:"
		printf '%s\n' "$stderr"
		return 1
	}
}
