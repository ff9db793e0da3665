#!/usr/bin/env bats
# Stage 03: the run loop: MMIO exits to a debug port, PSCI system events, failures with registers.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# points: 3
@test "stage-03 runs guest/simple.bin: its text on stdout, exit 0 at SYSTEM_OFF" {
	vmm 03 guest/simple.bin
	assert_success
	assert_output "Hello from the guest!"
	assert_equal "$stderr" ""
}

# points: 2
@test "--trace decodes every exit, --stats counts them" {
	vmm 03 --trace --stats guest/simple.bin
	assert_success
	assert_output "Hello from the guest!"
	run -0 grep -c '^trace: MMIO write 0x09000000 4 bytes <- 0x[0-9a-f]* (debug-port+0x000)$' <<<"$stderr"
	assert_output 22
	grep -qxF 'trace: MMIO write 0x09000000 4 bytes <- 0x48 (debug-port+0x000)' <<<"$stderr"
	grep -qxF 'trace: MMIO read  0x09000018 4 bytes -> 0x0 (debug-port+0x018)' <<<"$stderr"
	grep -qxF 'trace: SYSTEM_EVENT shutdown' <<<"$stderr"
	grep -qE '^stats: 24 exits$' <<<"$stderr"
	grep -qE '^stats:   MMIO +23$' <<<"$stderr"
	grep -qE '^stats:   SYSTEM_EVENT +1$' <<<"$stderr"
	grep -qxF 'stats: MMIO by device: debug-port 22 writes, 1 reads; unclaimed 0' <<<"$stderr"
}

@test "the stage-02 guest runs on: its unclaimed read is traced, then it powers off" {
	vmm 03 --trace guest/memory.bin
	assert_success
	grep -qxF 'trace: MMIO read  0x00000000 4 bytes -> 0x0 (unclaimed)' <<<"$stderr"
	grep -qxF 'trace: SYSTEM_EVENT shutdown' <<<"$stderr"
}

@test "an access KVM cannot decode: the reason, the register dump, a non-zero exit" {
	# mov x2, #0x09000000; ldp x0, x1, [x2]: a load pair from a device has no single-register
	# syndrome (ESR_EL2.ISV = 0), so KVM cannot turn it into an MMIO exit and KVM_RUN fails.
	printf '\x02\x20\xa1\xd2\x40\x04\x40\xa9' >"$SCRATCH/ldp.bin"
	vmm 03 "$SCRATCH/ldp.bin"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "stage-03: KVM_RUN failed: Function not implemented"
	assert_equal "${stderr_lines[1]}" "vCPU registers:"
	grep -qE '^  x0 +0000000000000000  x1 +0000000000000000  x2 +0000000009000000$' <<<"$stderr"
	grep -qE '^  pc +0000000040080004  pstate +00000000000003c5  \(EL1h, DAIF=DAIF\)$' <<<"$stderr"
	grep -qE '^  esr_el1 +[0-9a-f]{16}  far_el1 +[0-9a-f]{16}$' <<<"$stderr"
}

@test "guest file mistakes are still one clear line" {
	vmm 03 guest/no-such-guest.bin
	assert_failure 1
	assert_equal "$stderr" "stage-03: cannot load guest/no-such-guest.bin: No such file or directory"
	vmm 03 --trace
	assert_failure 2
	assert_equal "$stderr" "stage-03: which guest? give a GUEST.bin (see --help)"
	vmm 03 --bogus guest/simple.bin
	assert_failure 2
	assert_equal "$stderr" "stage-03: unknown option '--bogus' (see --help)"
}
