#!/usr/bin/env bats
# Stage 02: guest RAM, a loaded guest, one vCPU, one KVM_RUN.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# points: 3
@test "stage-02 runs guest/memory.bin to its MMIO exit and prints the table it left in RAM" {
	vmm 02 guest/memory.bin
	assert_success
	assert_line "vCPU 0: PC = 0x40080000, PSTATE = 0x3c5 (EL1h, interrupts masked)"
	assert_line "KVM_EXIT_MMIO: the guest read 4 bytes at 0x0, where there is no RAM"
	assert_line "The guest left this in RAM at 0x40000000:"
	assert_line "  fib( 0) = 0"
	assert_line "  fib( 1) = 1"
	assert_line "  fib(10) = 55"
	assert_line "  fib(15) = 610"
	assert_equal "$stderr" ""
}

@test "stage-02 --mem 16M runs the same guest in less RAM" {
	vmm 02 --mem 16M guest/memory.bin
	assert_success
	assert_line "  fib(15) = 610"
}

@test "a missing guest file: one line, non-zero" {
	vmm 02 guest/no-such-guest.bin
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: cannot load guest/no-such-guest.bin: No such file or directory"
}

@test "an empty guest file: one line, non-zero" {
	: >"$SCRATCH/empty.bin"
	vmm 02 "$SCRATCH/empty.bin"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: $SCRATCH/empty.bin is empty: a guest needs at least one instruction"
}

@test "files that are not a program (3 bytes, gzip, ELF): one line each, non-zero" {
	printf 'abc' >"$SCRATCH/short.bin"
	vmm 02 "$SCRATCH/short.bin"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: $SCRATCH/short.bin is shorter than one instruction (4 bytes): a guest needs at least one"

	gzip -c guest/memory.bin >"$SCRATCH/memory.bin.gz"
	vmm 02 "$SCRATCH/memory.bin.gz"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: $SCRATCH/memory.bin.gz is gzip-compressed (an Image.gz?): decompress it first (gunzip) and give the result"

	vmm 02 build/guest/memory.elf
	assert_failure 1
	assert_one_stderr_line
	assert_regex "$stderr" '^stage-02: build/guest/memory.elf is an ELF file, not a raw binary or an arm64 Image: '
}

@test "a guest larger than RAM: one line that suggests --mem" {
	truncate -s 3M "$SCRATCH/big.bin"
	vmm 02 --mem 2M "$SCRATCH/big.bin"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: $SCRATCH/big.bin does not fit: guest RAM has 1536 KiB from 0x40080000 (try a larger --mem)"
}

@test "a directory instead of a guest: one line, non-zero" {
	vmm 02 guest
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: cannot load guest: Is a directory"
}

@test "a device or a FIFO instead of a guest: one line that says it is not a file" {
	vmm 02 /dev/zero
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-02: cannot load /dev/zero: not a regular file (a device, FIFO or socket)"
}

@test "bad --mem values are refused with one line each" {
	vmm 02 --mem lots guest/memory.bin
	assert_failure 1
	assert_equal "$stderr" "stage-02: --mem 'lots' is not a size (try 256M or 1G)"
	vmm 02 --mem 1M guest/memory.bin
	assert_failure 1
	assert_equal "$stderr" "stage-02: --mem 1M is out of range: give between 2 MiB and 255 GiB"
	# A bare number counts bytes, not MiB as QEMU's -m has it: the line says so.
	vmm 02 --mem 1024 guest/memory.bin
	assert_failure 1
	assert_equal "$stderr" "stage-02: --mem 1024 means 1024 bytes, less than 2 MiB: a size without a unit counts bytes (1024M is 1024 MiB)"
	# More bytes than 64 bits hold is out of range too, not "not a size".
	vmm 02 --mem 17179869184G guest/memory.bin
	assert_failure 1
	assert_equal "$stderr" "stage-02: --mem 17179869184G is out of range: give between 2 MiB and 255 GiB"
}

@test "usage mistakes: unknown option, no guest, two guests" {
	vmm 02 --frobnicate guest/memory.bin
	assert_failure 2
	assert_equal "$stderr" "stage-02: unknown option '--frobnicate' (see --help)"
	vmm 02
	assert_failure 2
	assert_equal "$stderr" "stage-02: which guest? give a GUEST.bin (see --help)"
	vmm 02 guest/memory.bin guest/memory.bin
	assert_failure 2
	assert_equal "$stderr" "stage-02: give exactly one guest (see --help)"
}
