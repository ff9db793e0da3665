#!/usr/bin/env bats
# The lab launcher (lab/run): what a learner on an x86-64 host relies on every time they type
# ./stage-NN. Labs of their own (LAB_NAME) for the tests that start, kill or stop one, so the lab
# the stage suites share is left alone.

load helpers

setup() {
	[ "$(uname -m)" != aarch64 ] || skip "an arm64 host runs the stages natively, without the lab"
	common_setup
}
teardown() { common_teardown; }

# lab NAME ARGS...: lab/run on the lab named NAME, bounded, stdout and stderr apart (stderr is
# shown when the run fails, to say why).
lab() {
	local name=$1
	shift
	LAB_NAME=$name run --separate-stderr timeout "$VMM_TIMEOUT" lab/run "$@"
	[ "$status" = 0 ] || echo "lab/run ended with status $status; its stderr: $stderr"
}
key() { echo "gic3-smp2-mem3G-$1"; }
qemu_of() { cat "build/lab/$(key "$1")/qemu.pid" 2>/dev/null; }
stop() { lab/run --stop "$(key "$1")" 2>/dev/null; }

@test "a first run starts a lab, later runs reuse it, and it is listed while up" {
	stop bats
	lab bats sh -c 'echo first'
	assert_success
	assert_output "first"
	assert_equal "$stderr" ""
	pid=$(qemu_of bats)
	[ -n "$pid" ]
	lab bats sh -c 'echo second'
	assert_success
	assert_output "second"
	assert_equal "$(qemu_of bats)" "$pid"
	run -0 lab/run --up
	assert_line "$(key bats)"
	run -0 lab/run --status
	assert_line --regexp "^lab: $(key bats) is up \(QEMU pid $pid; commands=0 idle=[0-9]+ uptime=[0-9]+\)$"
	stop bats
	run lab/run --up
	[[ "$output" != *"$(key bats)"* ]]
}

@test "stdout and stderr come back byte for byte and apart, with the exit status" {
	run --separate-stderr timeout "$VMM_TIMEOUT" lab/run sh -c \
		'printf "out\r\n\001\377no newline"; printf "err\n" >&2; exit 42'
	assert_failure 42
	assert_equal "$(printf '%s' "$output" | od -An -tx1 | tr -d ' \n')" \
		"$(printf 'out\r\n\001\377no newline' | od -An -tx1 | tr -d ' \n')"
	assert_equal "$stderr" "err"
}

@test "stdin reaches the command, and a closed stdin is an empty one" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" lab/run sh -c 'wc -c; cat' < <(head -c 100000 /dev/zero)
	assert_output "100000"
	run -0 --separate-stderr bash -c "timeout $VMM_TIMEOUT lab/run sh -c 'cat; echo end' <&-"
	assert_output "end"
}

@test "a command runs in the host's directory, also outside the checkout, at the same path" {
	dir=$(mktemp -d)
	echo "from the host" >"$dir/in"
	run -0 --separate-stderr bash -c "cd '$dir' && timeout $VMM_TIMEOUT '$TOP/lab/run' sh -c 'pwd; cat in; echo from the lab >out'"
	assert_line --index 0 "$dir"
	assert_line --index 1 "from the host"
	assert_equal "$(cat "$dir/out")" "from the lab"
	rm -rf "$dir"
}

@test "two commands run at once: each waits for the other" {
	rm -f "$SCRATCH/a" "$SCRATCH/b"
	timeout 60 lab/run sh -c "touch $SCRATCH/a; while [ ! -e $SCRATCH/b ]; do sleep 0.1; done; echo one" \
		>"$SCRATCH/one" &
	pid=$!
	run -0 --separate-stderr timeout 60 lab/run sh -c \
		"while [ ! -e $SCRATCH/a ]; do sleep 0.1; done; touch $SCRATCH/b; echo two"
	assert_output "two"
	wait "$pid"
	assert_equal "$(cat "$SCRATCH/one")" "one"
}

@test "a command killed on the host side leaves nothing running in the lab" {
	run timeout -s KILL 5 lab/run sh -c "echo \$\$ >$SCRATCH/pid; exec sleep 1000"
	assert_failure 137
	pid=$(cat "$SCRATCH/pid")
	# The agent notices the closed connection and kills the command's process group.
	run -0 --separate-stderr timeout 60 lab/run sh -c \
		"for i in \$(seq 50); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
}

@test "Ctrl-C (SIGINT) on the host stops the command, not the lab" {
	run --separate-stderr timeout --preserve-status -s INT 3 lab/run sh -c 'sleep 1000'
	assert_failure 130
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" lab/run true
}

@test "terminal mode: the command has a terminal of the host's size; Ctrl-A x ends it" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" script -qec \
		"stty rows 33 cols 111; lab/run sh -c 'test -t 0 && test -t 1 && stty size'" /dev/null </dev/null
	assert_output --partial "33 111"
	# Ctrl-A x typed while the command waits for input: the command ends with status 130.
	run --separate-stderr timeout "$VMM_TIMEOUT" script -qec "lab/run sh -c 'read x; echo not reached'" \
		/dev/null < <(sleep 3; printf '\001x'; sleep 3)
	assert_failure 130
	refute_output --partial "not reached"
}

@test "terminal mode, LAB_ESCAPE=command: Ctrl-A x reaches the command; one that ignores it ends 3 s later" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	# The command reads three raw keys and shows them: Ctrl-A x is its, and it ends with its status.
	run --separate-stderr timeout "$VMM_TIMEOUT" script -qec \
		"LAB_ESCAPE=command lab/run sh -c 'stty raw -echo; head -c 3 | od -An -c; exit 7'" \
		/dev/null < <(sleep 3; printf '\001xq'; sleep 3)
	assert_failure 7
	assert_output --partial "001   x   q"
	# A command that takes no notice: the lab ends it, once the grace is over, and says so.
	run --separate-stderr timeout "$VMM_TIMEOUT" script -qec \
		"LAB_ESCAPE=command lab/run sh -c 'sleep 30; echo not reached'" \
		/dev/null < <(sleep 3; printf '\001x'; sleep 8)
	assert_failure 130
	assert_output --partial "lab: the command did not end at Ctrl-A x; ended it"
	refute_output --partial "not reached"
}

@test "a killed lab is replaced on the next run, and a lab powers itself off after LAB_IDLE seconds" {
	lab bats true
	assert_success
	pid=$(qemu_of bats)
	kill -9 "$pid"
	LAB_IDLE=5 lab bats sh -c 'echo again'
	assert_success
	assert_output "again"
	assert_equal "$stderr" ""
	pid2=$(qemu_of bats)
	[ "$pid2" != "$pid" ]
	# Idle now: it powers off by itself within a few seconds.
	for _ in $(seq 150); do kill -0 "$pid2" 2>/dev/null || break; sleep 0.2; done
	run kill -0 "$pid2"
	assert_failure
	run lab/run --up
	[[ "$output" != *"$(key bats)"* ]]
}

@test "mistakes and faults: one line and a non-zero status" {
	LAB_GIC=4 run --separate-stderr lab/run true
	assert_failure 2
	assert_equal "$stderr" "lab: --gic (LAB_GIC) takes 2 or 3, not '4'"
	LAB_CPU='max;reboot' run --separate-stderr lab/run true
	assert_failure 2
	assert_equal "$stderr" "lab: LAB_CPU takes a QEMU CPU model with properties, like max,pmu=off, not 'max;reboot'"
	run --separate-stderr lab/run --bogus
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "lab: unknown option '--bogus'"
	run -127 --separate-stderr timeout "$VMM_TIMEOUT" lab/run /no/such/program
	assert_equal "$stderr" "lab: cannot run /no/such/program: No such file or directory"
	# A lab directory that belongs to someone else is never used.
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "build/lab/$(key bats-foreign)"
		chown nobody "build/lab/$(key bats-foreign)"
		lab bats-foreign true
		assert_failure 125
		assert_equal "$stderr" "lab: $TOP/build/lab/$(key bats-foreign) belongs to another user (nobody); use a checkout of your own"
		rm -rf "build/lab/$(key bats-foreign)"
	fi
}

@test "two make test runs at once: the second says so and stops" {
	if flock -n build/test.lock true; then
		flock build/test.lock sleep 60 >/dev/null 2>&1 3>&- &
		holder=$!
		sleep 0.5
	fi
	run --separate-stderr timeout 60 make -s test
	assert_failure
	assert_equal "${stderr_lines[0]}" "make test: another make test is running in this checkout; wait for it to end"
	[ -z "${holder:-}" ] || kill "$holder"
}

@test "a lab with an outdated initramfs is replaced on the next run; make lab-stop stops it" {
	lab bats true
	assert_success
	pid=$(qemu_of bats)
	touch build/lab/initramfs.cpio.gz
	lab bats sh -c 'echo fresh'
	assert_success
	assert_output "fresh"
	pid2=$(qemu_of bats)
	[ "$pid2" != "$pid" ]
	run -0 make -s lab-stop LAB="$(key bats)"
	run kill -0 "$pid2"
	assert_failure
}
