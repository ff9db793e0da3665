#!/usr/bin/env bats
# Stage 01: open /dev/kvm, check the API version, list capabilities, create a VM.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "stage-01 prints the API version, the capability table and creates a VM" {
	vmm 01
	assert_success
	assert_line "KVM API version: 12"
	assert_line --regexp '^KVM_CAP_USER_MEMORY +yes '
	assert_line --regexp '^KVM_CAP_ONE_REG +yes '
	assert_line --regexp '^KVM_CAP_ARM_PSCI_0_2 +yes '
	assert_line --regexp '^KVM_CAP_ARM_VM_IPA_SIZE +[0-9]+ '
	assert_line --regexp '^KVM_CAP_NR_VCPUS +[1-9][0-9]* '
	assert_line --regexp '^KVM_CAP_MAX_VCPUS +[1-9][0-9]* '
	for cap in IOEVENTFD IRQFD DEVICE_CTRL ARM_PMU_V3 ARM_EL1_32BIT READONLY_MEM; do
		assert_line --regexp "^KVM_CAP_$cap +(yes|no) "
	done
	assert_line --regexp "^Created a VM \(fd [0-9]+\)\. Each vCPU's kvm_run area will be [0-9]+ bytes\.$"
	assert_equal "$stderr" ""
}

@test "stage-01 --help explains itself" {
	vmm 01 --help
	assert_success
	assert_line --partial "usage: stage-01"
}

@test "stage-01 rejects an unknown option with one line and status 2" {
	vmm 01 --bogus
	assert_failure 2
	assert_one_stderr_line
	assert_equal "$stderr" "stage-01: unknown option '--bogus' (see --help)"
}

@test "no /dev/kvm: one line that says how to get KVM" {
	[ "$(id -u)" = 0 ] || [ "$(uname -m)" != aarch64 ] || skip "needs root for a private /dev"
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" unshare -m sh -c \
		"mount -t tmpfs none /dev && exec $VMM_BIN/stage-01"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-01: /dev/kvm does not exist: load KVM (sudo modprobe kvm) and enable virtualization in the firmware; on a host that is not arm64, run the stages through the lab"
}

@test "no permission on /dev/kvm: one line that names the kvm group" {
	[ "$(id -u)" = 0 ] || [ "$(uname -m)" != aarch64 ] || skip "needs root to drop privileges"
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" su -s /bin/sh nobody -c \
		"$VMM_BIN/stage-01"
	assert_failure 1
	assert_one_stderr_line
	assert_output ""
	assert_equal "$stderr" 'stage-01: no permission to open /dev/kvm: add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again'
}

@test "an x86 KVM: stage 01 built for this host says to use the lab" {
	[ "$(uname -m)" = x86_64 ] || skip "only an x86-64 host has an x86 KVM to show"
	[ -c /dev/kvm ] && [ -r /dev/kvm ] || skip "this x86-64 host has no usable /dev/kvm"
	gcc -std=gnu11 -Icommon stages/01-kvm-open/*.c common/*.c -o "$SCRATCH/stage-01"
	run --separate-stderr timeout 10 "$SCRATCH/stage-01"
	assert_failure 1
	assert_one_stderr_line
	assert_equal "$stderr" "stage-01: this KVM runs x86_64 guests, not arm64 ones: run the stages through the lab (make stage-01 && ./stage-01 does that)"
}
