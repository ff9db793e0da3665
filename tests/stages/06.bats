#!/usr/bin/env bats
# Stage 06: the arch timer's interrupts, set up for KVM and delivered by the vGIC.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# qemu_guest GUEST [INPUT]: the guest on plain QEMU (TCG), its UART on our stdout; $output.
qemu_guest() {
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is not installed"
	run -0 --separate-stderr timeout 60 qemu-system-aarch64 -M virt,gic-version=3 -cpu max -nic none \
		-m 256M -display none -monitor none -serial stdio -kernel "$1" < <(printf "${2-}")
}

# timer.bin's output with the measured numbers taken out: what must not vary.
timer_shape() {
	sed -E 's/^timer: CNTFRQ = [1-9][0-9]* Hz$/timer: CNTFRQ = F Hz/
		s/^tick ([ 0-9]{2}): \+[0-9]+ us$/tick \1: +T us/
		s/^timer: 10 ticks, mean interval [0-9]+ us$/timer: 10 ticks, mean interval T us/' <<<"$1"
}

expected_shape() {
	echo "timer: CNTFRQ = F Hz"
	for i in 1 2 3 4 5 6 7 8 9 10; do printf 'tick %2d: +T us\n' "$i"; done
	echo "timer: 10 ticks, mean interval T us"
}

# points: 3
@test "stage-06 runs guest/timer.bin: ten ticks, in order, then it powers off" {
	vmm 06 -v --stats guest/timer.bin
	assert_success
	assert_equal "$(timer_shape "$output")" "$(expected_shape)"
	# Not asserted (tests never assert timings), but worth seeing in the TAP output.
	echo "# $(tail -n 1 <<<"$output") (the guest asks for 100000 us)" >&3
	grep -qxF 'stage-06: vCPU 0 timers: virtual INTID 27, physical INTID 30' <<<"$stderr"
	# The guest stopped the timer and masked its interrupt after the tenth tick; the timer
	# raised no MMIO exit and no KVM_IRQ_LINE: all of it stayed in the kernel.
	grep -qE '^stats: virtual timer: CNTV_CTL_EL0 0x[26] \(disabled, masked\), CNTV_CVAL_EL0 [0-9]+, CNTVCT_EL0 [0-9]+$' <<<"$stderr"
	grep -qxF 'stats: pl011: 0 accesses ignored; interrupt line raised 0, lowered 0' <<<"$stderr"
	grep -qE '^stats:   unclaimed +0 reads +0 writes$' <<<"$stderr"
}

@test "the ticks arrive on a GICv2 too" {
	[ "$VMM_HOST" != env ] || skip "needs the lab, whose host GIC version can be chosen"
	LAB_GIC=2 run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" \
		"$VMM_BIN/stage-06" --gic v2 guest/timer.bin
	assert_equal "$(timer_shape "$output")" "$(expected_shape)"
	assert_equal "$stderr" ""
}

@test "every earlier guest still runs" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		"$1" guest/memory.bin; echo "memory: $?"
		"$1" guest/simple.bin; echo "simple: $?"
		"$1" guest/hello.bin; echo "hello: $?"
		printf "e\rq" | "$1" guest/echo.bin; echo "echo: $?"
		printf "i\rq" | "$1" guest/irq.bin | sed "s/[0-9]* interrupts/N interrupts/"
		echo "irq: $?"' sh "$VMM_BIN/stage-06"
	assert_equal "$output" "$(printf '%s\n' 'memory: 0' 'Hello from the guest!' 'simple: 0' \
		'Hello, world!' 'hello: 0' 'echo: type, q to quit' "$(printf 'e\r')" '' 'bye' \
		'echo: 0' 'irq: GICv3 ready, type, q to quit' "$(printf 'i\r')" '' \
		'irq: N interrupts, 3 bytes' 'bye' 'irq: 0')"
	assert_equal "$stderr" ""
}

@test "timer.bin prints the same lines on plain QEMU, but for the measured numbers" {
	vmm 06 guest/timer.bin
	ours=$(timer_shape "$output")
	qemu_guest guest/timer.bin
	assert_equal "$(timer_shape "$output")" "$ours"
}
