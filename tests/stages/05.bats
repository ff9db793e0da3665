#!/usr/bin/env bats
# Stage 05: the in-kernel GIC, KVM_IRQ_LINE for the UART, console input from a thread.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# qemu_guest GUEST [INPUT]: the guest on plain QEMU (TCG), its UART on our stdout; $output.
qemu_guest() {
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is not installed"
	run -0 --separate-stderr timeout 60 qemu-system-aarch64 -M virt,gic-version=3 -cpu max -nic none \
		-m 256M -display none -monitor none -serial stdio -kernel "$1" < <(printf "${2-}")
}

# The pl011 read count --stats printed, and the guest's own count of interrupts.
pl011_reads() { sed -nE 's/^stats:   pl011 +([0-9]+) reads.*/\1/p' <<<"$stderr"; }
irq_count() { sed -nE 's/^irq: ([0-9]+) interrupts, [0-9]+ bytes$/\1/p' <<<"$output"; }

@test "stage-05 runs guest/hello.bin (the card's example)" {
	vmm 05 guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	assert_equal "$stderr" ""
}

# points: 3
@test "guest/irq.bin echoes from its interrupt handler; the line goes through KVM_IRQ_LINE" {
	vmm 05 --stats --trace guest/irq.bin < <(printf 'abc\rq')
	assert_success
	n=$(irq_count)
	assert_equal "$output" "$(printf 'irq: GICv3 ready, type, q to quit\nabc\r\n\nirq: %s interrupts, 5 bytes\nbye' "$n")"
	[ "$n" -ge 1 ]
	# Each interrupt raised and lowered the line once, through the vGIC.
	run -0 grep -c '^trace: IRQ   pl011 line raised (KVM_IRQ_LINE, INTID 33)$' <<<"$stderr"
	assert_output "$n"
	run -0 grep -c '^trace: IRQ   pl011 line lowered (KVM_IRQ_LINE, INTID 33)$' <<<"$stderr"
	assert_output "$n"
	grep -qxF "stats: pl011: 0 accesses ignored; interrupt line raised $n, lowered $n" <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000038 4 bytes <- 0x50 (pl011 UARTIMSC)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000044 4 bytes <- 0x50 (pl011 UARTICR)' <<<"$stderr"
	# No polling: one UARTFR read per byte sent, UARTFR and UARTDR per byte received, and one
	# UARTFR read that finds the FIFO empty at the end of each interrupt but the last (ended by q).
	out=$(sed -nE 's/^stats: console: 5 bytes in, ([0-9]+) bytes out$/\1/p' <<<"$stderr")
	assert_equal "$(pl011_reads)" "$((out + 2 * 5 + n - 1))"
	# The GIC's own registers never leave the kernel: no MMIO exit below the UART.
	refute grep -q '^trace: MMIO .* 0x080' <<<"$stderr"
}

@test "input arriving while the guest sleeps in WFI wakes it, in as many bursts as it comes" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c \
		'(printf ab; sleep 1; printf cd; sleep 1; printf q) | "$1" --stats guest/irq.bin' \
		sh "$VMM_BIN/stage-05"
	assert_equal "${lines[1]}" "abcd"
	assert_line --regexp '^irq: [1-9][0-9]* interrupts, 5 bytes$'
	n=$(irq_count)
	out=$(sed -nE 's/^stats: console: 5 bytes in, ([0-9]+) bytes out$/\1/p' <<<"$stderr")
	assert_equal "$(pl011_reads)" "$((out + 2 * 5 + n - 1))"
}

# points: 2
@test "the EBUSY lesson: KVM_CREATE_VCPU after KVM_DEV_ARM_VGIC_CTRL_INIT fails" {
	src=$(stage_src 05)
	cc=aarch64-linux-gnu-gcc
	[ "$(uname -m)" != aarch64 ] || cc=gcc
	"$cc" -std=gnu11 -Wall -Wextra -Werror -static -I"$src" tests/kvm/vgic_order.c \
		"$src/vgic.c" -o "$SCRATCH/vgic_order"
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" "$SCRATCH/vgic_order"
	assert_output "$(printf '%s\n' 'vGICv3' 'KVM_CREATE_VCPU 0: ok' \
		'KVM_DEV_ARM_VGIC_CTRL_INIT: ok' \
		'KVM_CREATE_VCPU 1 after CTRL_INIT: EBUSY (Device or resource busy)' \
		'KVM_DEV_ARM_VGIC_CTRL_INIT with no vCPU: ok' \
		'KVM_CREATE_VCPU 0 after CTRL_INIT: EBUSY (Device or resource busy)')"
}

@test "--gic v2 where the host cannot emulate a GICv2, and a bad --gic: one line each" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		"$1" --gic v2 guest/hello.bin; echo "v2: $?"
		"$1" --gic v4 guest/hello.bin; echo "v4: $?"' sh "$VMM_BIN/stage-05"
	assert_output "$(printf '%s\n' 'v2: 1' 'v4: 1')"
	assert_equal "${stderr_lines[0]}" "stage-05: this host cannot give the guest a GICv2 (KVM_CREATE_DEVICE: No such device): KVM emulates one only on a GICv2 host or a GICv3 with GICv2 compatibility; leave out --gic v2"
	assert_equal "${stderr_lines[1]}" "stage-05: --gic takes v2 or v3, not 'v4'"
	assert_equal "${#stderr_lines[@]}" 2
}

@test "on a lab whose host GIC is a GICv2: --gic v2 works, v2 is the fallback, v3 is refused" {
	[ "$VMM_HOST" != env ] || skip "needs the lab, whose host GIC version can be chosen"
	LAB_GIC=2 run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		printf "hi\rq" | "$1" --gic v2 --stats guest/irq.bin; echo "v2: $?"
		"$1" -v guest/hello.bin 2>&1 | grep vGIC; echo "fallback: $?"
		printf "q" | "$1" --gic v2 guest/echo.bin; echo "echo: $?"
		"$1" --gic v3 guest/hello.bin; echo "v3: $?"' sh "$VMM_BIN/stage-05"
	assert_equal "${lines[0]}" "irq: GICv2 ready, type, q to quit"
	assert_equal "${lines[1]}" "$(printf 'hi\r')"
	assert_line --regexp '^irq: [1-9][0-9]* interrupts, 4 bytes$'
	assert_line "v2: 0"
	assert_line "stage-05: vGICv2: distributor 0x08000000, CPU interface 0x08010000, 128 interrupts"
	assert_line "fallback: 0"
	assert_line "echo: type, q to quit"
	assert_line "echo: 0"
	assert_line "v3: 1"
	grep -qE '^stats: pl011: 0 accesses ignored; interrupt line raised [1-9]' <<<"$stderr"
	grep -qxF "stage-05: this host cannot give the guest a GICv3 (KVM_CREATE_DEVICE: No such device): its GIC is older; use --gic v2" <<<"$stderr"
}

@test "every earlier guest still runs" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		"$1" guest/memory.bin; echo "memory: $?"
		"$1" guest/simple.bin; echo "simple: $?"
		"$1" guest/hello.bin <&-; echo "hello: $?"
		printf "ok\rq" | "$1" guest/echo.bin; echo "echo: $?"' sh "$VMM_BIN/stage-05"
	assert_equal "$output" "$(printf '%s\n' 'memory: 0' 'Hello from the guest!' 'simple: 0' \
		'Hello, world!' 'hello: 0' 'echo: type, q to quit' "$(printf 'ok\r')" '' 'bye' \
		'echo: 0')"
	assert_equal "$stderr" ""
}

# Each side against the same text, so that a failure says which of the two machines differed.
@test "irq.bin prints the same on plain QEMU, but for its count of interrupts" {
	want=$(printf 'irq: GICv3 ready, type, q to quit\nHey\r\n\nirq: N interrupts, 5 bytes\nbye')
	vmm 05 guest/irq.bin < <(printf 'Hey\rq')
	assert_success
	ours=$(sed -E 's/^irq: [0-9]+ interrupts/irq: N interrupts/' <<<"$output")
	assert_equal "$ours" "$want"
	qemu_guest guest/irq.bin 'Hey\rq'
	qemus=$(sed -E 's/^irq: [0-9]+ interrupts/irq: N interrupts/' <<<"$output")
	assert_equal "$qemus" "$want"
}
