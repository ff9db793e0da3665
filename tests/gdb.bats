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
	[ -z "${GDB_PID:-}" ] || kill "$GDB_PID" 2>/dev/null || true
	[ -z "${VMM_PID:-}" ] || kill "$VMM_PID" 2>/dev/null || true
	[ -z "${TYPING:-}" ] || exec {TYPING}>&-
	common_teardown
}

# start_vmm STAGE INPUT ARGS...: ./stage-NN --gdb $PORT --gdb-wait ARGS in the background, INPUT
# on its stdin, stdout and stderr into $SCRATCH; returns once it listens.
start_vmm() {
	local stage=$1 input=$2
	shift 2
	printf '%s' "$input" >"$SCRATCH/in"
	launch_vmm "$stage" "$SCRATCH/in" "$@"
}

# start_vmm_typed STAGE ARGS...: the same with stdin a FIFO the test holds open, so the guest
# waits for input until `type_in TEXT`: guest/echo.bin runs until it is typed a q.
start_vmm_typed() {
	local stage=$1
	shift
	mkfifo "$SCRATCH/typed"
	exec {TYPING}<>"$SCRATCH/typed"
	launch_vmm "$stage" "$SCRATCH/typed" "$@"
}
type_in() {
	printf '%s' "$1" >&"$TYPING"
}

# launch_vmm STAGE INPUT_FILE ARGS...: what start_vmm and start_vmm_typed share.
launch_vmm() {
	local stage=$1 input=$2
	shift 2
	stage_run "$stage"
	timeout "$LINUX_TIMEOUT" "${STAGE_RUN[@]}" --gdb "$PORT" --gdb-wait "$@" <"$input" \
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
		-ex 'set architecture aarch64' -ex "target remote 127.0.0.1:$PORT" "${args[@]}" </dev/null
	# gdb that never got the guest going (it could not connect, say) leaves a VMM waiting for it
	# (--gdb-wait): end it now rather than at the time limit, and say so.
	if [ "$status" -ne 0 ] && [ -n "${VMM_PID:-}" ]; then
		echo "gdb exited with status $status: stopping the VMM" >&2
		kill "$VMM_PID" 2>/dev/null || true
	fi
}

# gdb_background FILE COMMAND...: gdb_batch's gdb in the background (GDB_PID, a timeout whose
# child it is), its output into $SCRATCH/gdb. SIGINT to GDB_PID reaches gdb once, as one Ctrl-C:
# --foreground, for without it timeout passes the signal on to its process group too, and a
# second Ctrl-C before the stop makes gdb give up on the target.
gdb_background() {
	local file=$1 args=()
	shift
	for c in "$@"; do args+=(-ex "$c"); done
	timeout --foreground "$LINUX_TIMEOUT" gdb-multiarch -batch -nx ${file:+"$file"} \
		-ex 'set architecture aarch64' -ex "target remote 127.0.0.1:$PORT" "${args[@]}" </dev/null \
		>"$SCRATCH/gdb" 2>&1 3>&- &
	GDB_PID=$!
}

# kill_gdb: SIGKILL for the background gdb, as a crash or `kill -9` ends it: no detach, no
# packet, only the connection closing. Fails unless gdb was still there to be killed.
kill_gdb() {
	local status=0
	pkill -KILL -P "$GDB_PID" -x gdb-multiarch
	wait "$GDB_PID" || status=$?
	GDB_PID=
	[ "$status" -eq 137 ]
}

# wait_for FILE REGEX [COUNT]: until COUNT (1) lines of FILE match REGEX (at most LINUX_TIMEOUT).
wait_for() {
	for _ in $(seq $((LINUX_TIMEOUT * 5))); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.2
	done
	echo "waited for ${3:-1} lines matching '$2' in $1:"
	cat "$1"
	return 1
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

@test "stage-09, 2 vCPUs, Linux: Ctrl-C stops both; stepi steps the thread gdb selected" {
	start_vmm 09 "" --cpus 2 -a "console=ttyAMA0 quiet nokaslr -- yes >/dev/null & yes >/dev/null & echo busy; sleep 15"
	gdb_background "" continue 'thread 2' stepi 'p $_thread' 'thread 1' stepi 'p $_thread' continue
	# Both vCPUs busy, so neither waits in WFI for an interrupt to end its step.
	wait_for "$SCRATCH/out" '^busy'
	kill -INT "$GDB_PID"
	wait "$GDB_PID"
	GDB_PID=
	wait_vmm
	run cat "$SCRATCH/gdb"
	assert_output --partial 'received signal SIGINT, Interrupt.'
	# A step reported from another thread than the one stepped is a SIGTRAP "received" there.
	refute_output --partial 'received signal SIGTRAP'
	assert_line '$1 = 2'
	assert_line '$2 = 1'
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
}

@test "a second gdb is refused with one line; the first one goes on" {
	start_vmm 05 q guest/echo.bin
	gdb-multiarch -batch -nx -ex "target remote 127.0.0.1:$PORT" -ex 'shell sleep 8' -ex continue \
		</dev/null >"$SCRATCH/first" 2>&1 &
	first=$!
	sleep 4
	run timeout 60 gdb-multiarch -batch -nx -ex "target remote 127.0.0.1:$PORT" </dev/null
	wait "$first"
	wait_vmm
	[ "$vmm_status" -eq 0 ]
	grep -q 'exited normally' "$SCRATCH/first"
	grep -q "gdb: refused a second gdb on 127.0.0.1:$PORT: one debugger at a time" "$SCRATCH/err"
}

@test "Ctrl-C in gdb stops the running guest where it is; continue runs it to its end" {
	start_vmm_typed 05 guest/echo.bin
	type_in ab
	gdb_background guest/echo.elf continue bt "shell printf q >$SCRATCH/typed" continue
	# The guest echoed what it was typed: it runs, and gdb waits in continue.
	wait_for "$SCRATCH/out" '^ab'
	kill -INT "$GDB_PID"
	wait "$GDB_PID"
	GDB_PID=
	wait_vmm
	run cat "$SCRATCH/gdb"
	assert_output --partial 'Program received signal SIGINT, Interrupt.'
	assert_output --regexp '#[0-9]+ +0x[0-9a-f]+ in main \(\) at guest/echo.c:18'
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
	[[ $vmm_out == *"bye" ]]
}

@test "gdb killed mid-step: the guest runs on to its end, the VMM exits 0" {
	start_vmm_typed 05 -v guest/echo.bin
	gdb_background guest/echo.elf 'set debug remote 1' 'stepi 1000000'
	wait_for "$SCRATCH/gdb" 'Sending packet: \$vCont;s:1' 50
	kill_gdb
	type_in abq
	wait_vmm
	[ "$vmm_status" -eq 0 ]
	[ "$vmm_out" = $'echo: type, q to quit\nab\nbye' ]
	grep -q 'gdb: the debugger went away; the guest runs on' "$SCRATCH/err"
}

@test "gdb killed while the guest is stopped with breakpoints in: they go, the guest runs to its end" {
	start_vmm_typed 05 -v guest/echo.bin
	type_in ab
	# always-inserted: gdb leaves the BRKs in guest memory while the guest is stopped.
	gdb_background guest/echo.elf 'set breakpoint always-inserted on' 'break uart_putc' \
		'break uart_getc' continue 'python import time; time.sleep(60)'
	wait_for "$SCRATCH/gdb" 'Breakpoint 1, uart_putc'
	kill_gdb
	type_in q
	wait_vmm
	[ "$vmm_status" -eq 0 ]
	# A BRK left behind would have stopped the guest in its own exception vector.
	[ "$vmm_out" = $'echo: type, q to quit\nab\nbye' ]
	grep -q 'gdb: the debugger went away; the guest runs on' "$SCRATCH/err"
}

@test "detach: the breakpoints go and the guest runs to its end" {
	start_vmm_typed 05 -v guest/echo.bin
	gdb_batch guest/echo.elf 'set breakpoint always-inserted on' 'break main' continue \
		'break uart_putc' detach
	assert_success
	assert_output --partial 'Breakpoint 1, main () at guest/echo.c:16'
	assert_output --partial '[Inferior 1 (Remote target) detached]'
	type_in abq
	wait_vmm
	[ "$vmm_status" -eq 0 ]
	[ "$vmm_out" = $'echo: type, q to quit\nab\nbye' ]
	grep -q 'gdb: detached; the guest runs on' "$SCRATCH/err"
}

@test "kill: gdb sees the target killed, the VMM exits 1 with one line" {
	start_vmm 05 "" guest/echo.bin
	gdb_batch guest/echo.elf 'break main' continue kill
	assert_success
	assert_output --partial '[Inferior 1 (Remote target) killed]'
	wait_vmm
	[ "$vmm_status" -eq 1 ]
	grep -q "^stage-05: gdb: listening on 127.0.0.1:$PORT " "$SCRATCH/err"
	[ "$(sed 1d "$SCRATCH/err")" = "stage-05: gdb: killed the guest" ]
}

@test "a debugger that stops reading is dropped after 2 s with one line; the guest runs to its end" {
	start_vmm 05 "" guest/hello.bin
	# A client that asks for memory again and again and never reads a reply. Once the sockets'
	# buffers are full the stub's send blocks, with the lock each vCPU takes before KVM_RUN held:
	# unbounded, the guest held by --gdb-wait would never run and the VMM never end.
	local pkt='m40080000,800' sum=0 i
	for ((i = 0; i < ${#pkt}; i++)); do sum=$((sum + $(printf '%d' "'${pkt:i:1}"))); done
	pkt=$(printf '$%s#%02x' "$pkt" $((sum % 256)))
	timeout 120 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit
		for _ in $(seq 20000); do printf "%s" "$2" >&3 || exit; done
		sleep 100' sh "$PORT" "$pkt" 3>&- &
	client=$!
	wait_vmm
	kill "$client" 2>/dev/null || true
	[ "$vmm_status" -eq 0 ]
	[ "$vmm_out" = "Hello, world!" ]
	grep -qxF 'stage-05: gdb: the debugger read nothing for 2 s; the guest runs on without it' \
		"$SCRATCH/err"
}

@test "one more hardware breakpoint or watchpoint than the host offers: gdb says so, the guest goes on" {
	start_vmm 05 q guest/echo.bin
	read -r bps wps < <(sed -n 's/.*offers \([0-9]*\) hardware breakpoints, \([0-9]*\) watchpoints)$/\1 \2/p' "$SCRATCH/err")
	[ "$bps" -gt 0 ] && [ "$wps" -gt 0 ]
	cmds=()
	# In the exception vectors, which the guest never takes: each a distinct address.
	for i in $(seq 0 "$bps"); do cmds+=("hbreak *$((0x40081000 + 4 * i))"); done
	cmds+=(stepi delete)
	for i in $(seq 0 "$wps"); do cmds+=("watch *(long *)$((0x40090000 + 8 * i))"); done
	cmds+=(stepi delete continue)
	gdb_batch guest/echo.elf "${cmds[@]}"
	wait_vmm
	assert_success
	assert_output --partial "Hardware assisted breakpoint $bps at"
	assert_output --partial "Cannot insert hardware breakpoint $((bps + 1))."
	assert_output --partial "Hardware watchpoint $((bps + 2 + wps - 1)): "
	assert_output --partial "Could not insert hardware watchpoint $((bps + 2 + wps))."
	[ "$(grep -c 'You may have requested too many hardware breakpoints/watchpoints' <<<"$output")" -eq 2 ]
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
	[[ $vmm_out == *"bye" ]]
}

@test "a breakpoint where no memory is: a hardware one takes it; the guest runs to its end" {
	start_vmm 05 q guest/echo.bin
	gdb_batch guest/echo.elf 'break *0x100000' continue
	wait_vmm
	assert_success
	assert_output --partial 'Breakpoint 1 at 0x100000'
	refute_output --partial 'Cannot insert'
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
	[[ $vmm_out == *"bye" ]]
}

@test "memory reads across the end of RAM, and of a device: the mapped part, then an error" {
	start_vmm 05 q --mem 256M guest/echo.bin
	gdb_batch guest/echo.elf 'x/4xw 0x4ffffff8' 'x/2xw 0x9000000' 'p *(long (*)[2])0x4ffffff8' \
		continue
	wait_vmm
	assert_success
	assert_output --regexp '0x4ffffff8:	0x[0-9a-f]{8}	0x[0-9a-f]{8}	Cannot access memory at address 0x50000000'
	assert_output --partial 'Cannot access memory at address 0x9000000'
	# p reads the 16 bytes at once: the part that is there comes back, so the error is past it.
	assert_line 'Cannot access memory at address 0x50000000'
	assert_output --partial 'exited normally'
	[ "$vmm_status" -eq 0 ]
}

@test "--gdb on a port in use: one line, exit 1" {
	# Both VMMs in one place (the lab, or here on arm64), so the second meets the first's port.
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		"$0" --gdb "$1" --gdb-wait guest/hello.bin 2>"$2" &
		first=$!
		for i in $(seq 100); do grep -q listening "$2" && break; sleep 0.1; done
		"$0" --gdb "$1" guest/hello.bin
		status=$?
		kill $first
		exit $status' "$VMM_BIN/stage-05" "$PORT" "$SCRATCH/first"
	[ "$status" -eq 1 ]
	assert_one_stderr_line
	[ "$stderr" = "stage-05: --gdb: cannot listen on 127.0.0.1:$PORT: Address already in use" ]
	grep -q "gdb: listening on 127.0.0.1:$PORT" "$SCRATCH/first"
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
