#!/usr/bin/env bats
# Stage 04: an MMIO bus and a PL011 UART; stdin and stdout as the guest's console.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# qemu_guest GUEST [INPUT]: the guest on plain QEMU (TCG), its UART on our stdout; $output.
qemu_guest() {
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is not installed"
	run -0 --separate-stderr timeout 60 qemu-system-aarch64 -M virt,gic-version=3 -cpu max -nic none \
		-m 256M -display none -monitor none -serial stdio -kernel "$1" < <(printf "${2-}")
}

# points: 3
@test "stage-04 runs guest/hello.bin: the greeting on stdout, exit 0 at SYSTEM_OFF" {
	vmm 04 guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	assert_equal "$stderr" ""
}

# points: 3
@test "guest/echo.bin echoes piped input until q; --stats counts the UART's work" {
	vmm 04 --stats guest/echo.bin < <(printf 'abc\rq')
	assert_success
	assert_equal "$output" "$(printf 'echo: type, q to quit\nabc\r\n\nbye')"
	# 32 bytes out, each a UARTFR read and a UARTDR write, and 3 writes to set the UART up;
	# 5 bytes in, each at least a UARTFR and a UARTDR read.
	grep -qE '^stats:   pl011 +[0-9]+ reads +35 writes$' <<<"$stderr"
	reads=$(sed -nE 's/^stats:   pl011 +([0-9]+) reads.*/\1/p' <<<"$stderr")
	[ "$reads" -ge 42 ]
	grep -qxF 'stats: console: 5 bytes in, 32 bytes out' <<<"$stderr"
	grep -qxF 'stats: pl011: 0 accesses ignored; interrupt line raised 0, lowered 0' <<<"$stderr"
	grep -qE '^stats:   unclaimed +0 reads +0 writes$' <<<"$stderr"
	grep -qE '^stats:   SYSTEM_EVENT +1$' <<<"$stderr"
}

@test "--trace names each PL011 register the guest touches" {
	vmm 04 --trace guest/echo.bin < <(printf 'xq')
	assert_success
	grep -qxF 'trace: MMIO write 0x09000030 4 bytes <- 0x0 (pl011 UARTCR)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x0900002c 4 bytes <- 0x70 (pl011 UARTLCR_H)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000030 4 bytes <- 0x301 (pl011 UARTCR)' <<<"$stderr"
	# Flags with bytes waiting (TXFE, CTS, DSR, DCD), then 'x' read from UARTDR.
	grep -qxF 'trace: MMIO read  0x09000018 4 bytes -> 0x87 (pl011 UARTFR)' <<<"$stderr"
	grep -qxF 'trace: MMIO read  0x09000000 4 bytes -> 0x78 (pl011 UARTDR)' <<<"$stderr"
	# Flags with nothing waiting (RXFE too), then 'x' echoed.
	grep -qxF 'trace: MMIO read  0x09000018 4 bytes -> 0x97 (pl011 UARTFR)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000000 4 bytes <- 0x78 (pl011 UARTDR)' <<<"$stderr"
	grep -qxF 'trace: SYSTEM_EVENT shutdown' <<<"$stderr"
}

@test "a guest that misuses the UART and the bus: one warning, counted, never fatal" {
	# movz x0, #0x0900, lsl #16; mov w1, #0x41
	# str w1, [x0, #8]      (reserved offset)      str x1, [x0]        (64-bit UARTDR)
	# strb w1, [x0, #1]     (inside UARTDR)        str w1, [x0, #0x18] (read-only UARTFR)
	# ldr w2, [x0, #0x44]   (write-only UARTICR)
	# movz x3, #0x0c00, lsl #16; str w1, [x3]; ldr w4, [x3]   (nothing at 0x0c000000)
	# str w1, [x0]; mov w1, #0xa; str w1, [x0]                 ("A\n": the UART still works)
	# movz x0, #8; movk x0, #0x8400, lsl #16; hvc #0           (PSCI SYSTEM_OFF)
	printf '\x00\x20\xa1\xd2\x21\x08\x80\x52\x01\x08\x00\xb9\x01\x00\x00\xf9\x01\x04\x00\x39\x01\x18\x00\xb9\x02\x44\x40\xb9\x03\x80\xa1\xd2\x61\x00\x00\xb9\x64\x00\x40\xb9\x01\x00\x00\xb9\x41\x01\x80\x52\x01\x00\x00\xb9\x00\x01\x80\xd2\x00\x80\xb0\xf2\x02\x00\x00\xd4' >"$SCRATCH/bad.bin"
	vmm 04 --trace --stats "$SCRATCH/bad.bin"
	assert_success
	assert_output "A"
	run -0 grep -c '^stage-04: ' <<<"$stderr"
	assert_output 1
	grep -qxF 'stage-04: pl011: ignored a write of 4 bytes at offset 0x008: no register there (further ones are only counted, see --stats)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000008 4 bytes <- 0x41 (pl011+0x008)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x09000000 8 bytes <- 0x41 (pl011 UARTDR)' <<<"$stderr"
	grep -qxF 'trace: MMIO read  0x09000044 4 bytes -> 0x0 (pl011 UARTICR)' <<<"$stderr"
	grep -qxF 'trace: MMIO write 0x0c000000 4 bytes <- 0x41 (unclaimed)' <<<"$stderr"
	grep -qxF 'trace: MMIO read  0x0c000000 4 bytes -> 0x0 (unclaimed)' <<<"$stderr"
	grep -qxF 'stats: pl011: 5 accesses ignored; interrupt line raised 0, lowered 0' <<<"$stderr"
	grep -qE '^stats:   unclaimed +1 reads +1 writes$' <<<"$stderr"
	grep -qxF 'stats: console: 0 bytes in, 2 bytes out' <<<"$stderr"
}

# The usage line is common/opts.c's; what follows it is options.c's about() and option table.
@test "--help: the usage line, where the guest and the UART are, every option" {
	vmm 04 --help
	assert_success
	assert_line --index 0 "usage: stage-04 [OPTIONS] GUEST.bin"
	assert_line --index 1 --partial "(loaded at 0x40080000) with a PL011 UART at 0x09000000"
	for opt in mem trace stats verbose help; do
		assert_line --regexp "^  -[a-z], --$opt( [A-Z]+)? "
	done
	assert_equal "$stderr" ""
}

@test "earlier guests still run; stdin may be a file, a pipe, /dev/null or closed" {
	run -0 --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		vmm=$1
		$vmm guest/memory.bin; echo "memory: $?"
		$vmm guest/simple.bin; echo "simple: $?"
		$vmm guest/hello.bin </dev/null; echo "null: $?"
		$vmm guest/hello.bin <&-; echo "closed: $?"
		printf "hi" | timeout 3 $vmm guest/echo.bin; s=$?; echo
		case $s in 124 | 143) s="still running" ;; esac # coreutils or busybox timeout
		echo "eof: $s"
		' sh "$VMM_BIN/stage-04"
	assert_equal "$output" "$(printf '%s\n' 'memory: 0' 'Hello from the guest!' 'simple: 0' \
		'Hello, world!' 'null: 0' 'Hello, world!' 'closed: 0' \
		'echo: type, q to quit' 'hi' 'eof: still running')"
	# (The shell may report the stopped VMM as "Terminated"; the VMM itself says nothing.)
	refute grep -q '^stage-04:' <<<"$stderr"
}

# Each side against the same text, so that a failure says which of the two machines differed.
@test "hello and echo print the same on plain QEMU" {
	vmm 04 guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	qemu_guest guest/hello.bin
	assert_output "Hello, world!"
	want=$(printf 'echo: type, q to quit\nTab\there\r\n\nbye')
	vmm 04 guest/echo.bin < <(printf 'Tab\there\rq')
	assert_success
	assert_output "$want"
	qemu_guest guest/echo.bin 'Tab\there\rq'
	assert_output "$want"
}
