#!/usr/bin/env bats
# The gdb stub (--gdb, --gdb-wait; common/gdb.h): gdb-multiarch in batch mode against the real
# VMM, on this host while the VMM runs where KVM is (the lab forwards the port). `make test-gdb`
# installs gdb-multiarch first (lab/deps --gdb); without it every test is skipped.

load helpers

setup() {
	common_setup
	command -v gdb-multiarch >/dev/null || skip "no gdb-multiarch (make deps-gdb installs it)"
	PORT=$((20000 + RANDOM % 20000))
}
teardown() {
	[ -z "${VMM_PID:-}" ] || kill "$VMM_PID" 2>/dev/null || true
	common_teardown
}

# start_vmm STAGE INPUT ARGS...: ./stage-NN --gdb $PORT --gdb-wait ARGS in the background, INPUT
# on its stdin, stdout and stderr into $SCRATCH; returns once it listens.
start_vmm() {
	local stage=$1 input=$2
	shift 2
	stage_run "$stage"
	printf '%s' "$input" >"$SCRATCH/in"
	timeout "$LINUX_TIMEOUT" "${STAGE_RUN[@]}" --gdb "$PORT" --gdb-wait "$@" <"$SCRATCH/in" \
		>"$SCRATCH/out" 2>"$SCRATCH/err" &
	VMM_PID=$!
	for _ in $(seq 600); do
		grep -q "gdb: listening on" "$SCRATCH/err" 2>/dev/null && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.2
	done
	cat "$SCRATCH/err"
	return 1
}

# gdb_batch FILE COMMAND...: gdb-multiarch on FILE (or none), connected, then the commands.
gdb_batch() {
	local file=$1 args=()
	shift
	for c in "$@"; do args+=(-ex "$c"); done
	run timeout "$LINUX_TIMEOUT" gdb-multiarch -batch -nx ${file:+"$file"} \
		-ex 'set architecture aarch64' -ex "target remote :$PORT" "${args[@]}" </dev/null
}

# wait_vmm: the VMM's exit status in $vmm_status, its stdout in $vmm_out.
wait_vmm() {
	vmm_status=0
	wait "$VMM_PID" || vmm_status=$?
	VMM_PID=
	vmm_out=$(tr -d '\r' <"$SCRATCH/out")
}

LINUX_TIMEOUT=${LINUX_TIMEOUT:-300}

@test "stage-05 --gdb-wait: break at main, step, read x0 and pc, write x0 and the output changes, run to SYSTEM_OFF" {
	start_vmm 05 q guest/echo.bin
	gdb_batch guest/echo.elf 'info registers pc' 'break main' continue 'info registers pc' \
		step 'p/x $x0' 'break uart_putc' continue 'p/c $x0' 'set var $x0 = 69' delete continue
	wait_vmm
	assert_success
	assert_output --partial '0x40080000 <_start>'
	assert_output --partial 'Breakpoint 1, main () at guest/echo.c:16'
	assert_output --regexp 'pc +0x[0-9a-f]+ +0x[0-9a-f]+ <main>'
	assert_output --partial "= 101 'e'"
	assert_output --partial '[Inferior 1 (Remote target) exited normally]'
	[ "$vmm_status" -eq 0 ]
	[[ $vmm_out == "Echo: type, q to quit"* ]]
}

@test "stage-05: a hardware watchpoint fires when the interrupt handler counts" {
	start_vmm 05 abq guest/irq.bin
	gdb_batch guest/irq.elf 'watch irq_count' continue 'p irq_count' delete continue
	wait_vmm
	assert_success
	assert_output --partial 'Hardware watchpoint 1: irq_count'
	assert_output --partial 'New value = 1'
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
}

@test "stage-09, 2 vCPUs, Linux: both vCPUs are threads; a breakpoint on start_kernel by address hits; bt and x/4i work" {
	[ -f build/linux/System.map ] || make -s linux-symbols >&2
	addr=$(awk '$3 == "start_kernel" { print $1 }' build/linux/System.map)
	[ -n "$addr" ]
	start_vmm 09 "" --cpus 2 -a "console=ttyAMA0 quiet nokaslr -- true"
	gdb_batch "" 'info threads' "break *0x$addr" continue 'x/4i $pc' bt 'info threads' \
		delete continue
	wait_vmm
	assert_success
	assert_output --regexp '1 +Thread 1 \(vCPU 0\)'
	assert_output --regexp '2 +Thread 2 \(vCPU 1\)'
	assert_output --partial "Thread 1 hit Breakpoint 1, 0x$addr in"
	assert_output --partial "=> 0x$addr:"
	assert_output --partial "#0  0x$addr in"
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
	[[ $vmm_out == *"veleiro: exit status 0"* ]]
}

@test "a second gdb is refused with one line; the first one goes on" {
	start_vmm 05 q guest/echo.bin
	gdb-multiarch -batch -nx -ex "target remote :$PORT" -ex 'shell sleep 8' -ex continue \
		</dev/null >"$SCRATCH/first" 2>&1 &
	first=$!
	sleep 4
	run timeout 60 gdb-multiarch -batch -nx -ex "target remote :$PORT" </dev/null
	wait "$first"
	wait_vmm
	[ "$vmm_status" -eq 0 ]
	grep -q 'exited normally' "$SCRATCH/first"
	grep -q "gdb: refused a second gdb on 127.0.0.1:$PORT: one debugger at a time" "$SCRATCH/err"
}

@test "--gdb with a bad port, and --gdb-wait alone: one line each, exit 1" {
	vmm 05 --gdb 70000 guest/hello.bin
	[ "$status" -eq 1 ]
	assert_one_stderr_line
	[ "$stderr" = "stage-05: --gdb takes [HOST:]PORT with PORT from 1 to 65535, not '70000'" ]
	vmm 05 --gdb-wait guest/hello.bin
	[ "$status" -eq 1 ]
	assert_one_stderr_line
	[ "$stderr" = "stage-05: --gdb-wait waits for gdb: give --gdb [HOST:]PORT too" ]
}
