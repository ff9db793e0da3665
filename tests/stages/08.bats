#!/usr/bin/env bats
# Stage 08: the device tree, the arm64 Image boot protocol, Linux to a shell.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

KERNEL=build/linux/Image
INITRD=build/linux/initramfs.cpio.gz
# quiet: in the lab every byte the kernel prints is a nested exit; a quiet boot takes seconds.
QUIET="console=ttyAMA0 quiet"

# points: 3
@test "Linux boots to the ready marker and runs a command: uname -m says aarch64" {
	vmm 08 --initrd "$INITRD" -a "$QUIET -- uname -m" "$KERNEL"
	assert_success
	assert_line --partial "veleiro: ready"
	assert_line --partial "aarch64"
	assert_line --partial "veleiro: exit status 0"
}

# points: 2
@test "the kernel found our devices: PL011 console, GIC, timer, PSCI; no warnings or failures" {
	vmm 08 --initrd "$INITRD" -a "$QUIET -- dmesg -r" "$KERNEL"
	assert_success
	grep -q 'ttyAMA0 at MMIO 0x9000000 (irq = [0-9]*, base_baud = 0) is a PL011 rev[0-9]' <<<"$output"
	grep -q 'GICv3: 96 SPIs implemented' <<<"$output"
	grep -q 'arch_timer: cp15 timer(s) running at' <<<"$output"
	grep -q 'psci: PSCIv1.[0-9] detected in firmware' <<<"$output"
	# Messages at level 3 (error) or worse: none, but those about hardware we do not have. (Level 4
	# has timing warnings such as "hrtimer: interrupt took" when the lab's host is busy.)
	bad=$(grep -E '^<[0-3]>' <<<"$output" | tr -d '\r' |
		grep -vE 'Kernel command line|No TPM chip|AppArmor|ima:' || true)
	[ -z "$bad" ] || { echo "$bad"; false; }
	! grep -qiE 'WARNING:|BUG:|Oops|failed to' <<<"$(grep -v 'Kernel command line' <<<"$output")"
}

@test "--dtb-out writes a tree dtc reads without warnings; it describes this machine" {
	vmm 08 --dtb-out "$SCRATCH/virt.dtb" guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	run -0 dtc -I dtb -O dts -o "$SCRATCH/virt.dts" "$SCRATCH/virt.dtb"
	assert_output ""
	run -0 fdtget "$SCRATCH/virt.dtb" / compatible
	assert_output "linux,dummy-virt"
	run -0 fdtget -t x "$SCRATCH/virt.dtb" /memory@40000000 reg
	assert_output "0 40000000 0 40000000"
	run -0 fdtget -l "$SCRATCH/virt.dtb" /cpus
	assert_output "cpu@0"
	run -0 fdtget "$SCRATCH/virt.dtb" /intc@8000000 compatible
	assert_output "arm,gic-v3"
	run -0 fdtget "$SCRATCH/virt.dtb" /chosen bootargs
	assert_output "console=ttyAMA0 earlycon=pl011,0x09000000"
	run -0 fdtget "$SCRATCH/virt.dtb" /chosen stdout-path
	assert_output "/pl011@9000000"
}

# prop DTB NODE PROPERTY: the property as hex cells (or a string list for compatible).
prop() {
	if [ "$3" = compatible ]; then fdtget "$1" "$2" "$3"; else fdtget -t x "$1" "$2" "$3"; fi
}

@test "the nodes we share with QEMU's virt machine agree on compatible, reg and interrupts" {
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is not installed"
	truncate -s 1M "$SCRATCH/disk.img"
	vmm 08 --mem 1G --disk "$SCRATCH/disk.img" --dtb-out "$SCRATCH/ours.dtb" guest/hello.bin
	assert_success
	run -0 timeout 60 qemu-system-aarch64 -M virt,gic-version=3,dumpdtb="$SCRATCH/qemu.dtb" \
		-cpu max -nic none -m 1G -display none
	for node_prop in /pl011@9000000:compatible /pl011@9000000:reg /pl011@9000000:interrupts \
		/memory@40000000:reg /timer:compatible /psci:method \
		/virtio_mmio@a000000:compatible /virtio_mmio@a000000:reg \
		/virtio_mmio@a000000:interrupts; do
		node=${node_prop%:*} p=${node_prop#*:}
		ours=$(prop "$SCRATCH/ours.dtb" "$node" "$p")
		qemu=$(prop "$SCRATCH/qemu.dtb" "$node" "$p")
		# QEMU lists older compatibles after ours (arm,armv7-timer); ours must come first.
		[ "$ours" = "$qemu" ] || [[ $p = compatible && $qemu = "$ours "* ]] ||
			{ echo "$node $p: ours '$ours', QEMU's '$qemu'"; false; }
	done
	# The GIC: same compatible and distributor/redistributor bases (sizes differ on purpose).
	run -0 fdtget "$SCRATCH/qemu.dtb" /intc@8000000 compatible
	assert_output "arm,gic-v3"
	ours=$(fdtget -t x "$SCRATCH/ours.dtb" /intc@8000000 reg | awk '{ print $1, $2, $5, $6 }')
	qemu=$(fdtget -t x "$SCRATCH/qemu.dtb" /intc@8000000 reg | awk '{ print $1, $2, $5, $6 }')
	assert_equal "$ours" "$qemu"
}

@test "bare-metal guests still run, now with x0 = the device tree" {
	vmm 08 guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	vmm 08 guest/timer.bin
	assert_success
	assert_line --regexp '^tick 10: '
	printf 'veleiro disk: sector 0\n' >"$SCRATCH/disk.img"
	truncate -s 1M "$SCRATCH/disk.img"
	vmm 08 --disk "$SCRATCH/disk.img" guest/virtio-blk.bin
	assert_success
	assert_line "blk: done"
}

@test "an access KVM cannot decode is explained (KVM_EXIT_ARM_NISV)" {
	printf '\x02\x20\xa1\xd2\x40\x04\x40\xa9' >"$SCRATCH/ldp.bin" # ldp x0, x1, [0x09000000]
	vmm 08 "$SCRATCH/ldp.bin"
	assert_failure 1
	assert_regex "${stderr_lines[0]}" '^stage-08: the guest accessed device memory at 0x9000000 with an instruction KVM cannot emulate \(no valid syndrome, ESR ISS 0x[0-9a-f]+\): use single loads and stores \(ldr/str\) for devices$'
	grep -qE '^  pc +0000000040080004 ' <<<"$stderr"
}

@test "kernel and initrd mistakes: one clear line each, non-zero" {
	: >"$SCRATCH/empty"
	vmm 08 "$SCRATCH/empty"
	assert_failure 1
	assert_equal "$stderr" "stage-08: $SCRATCH/empty: the kernel file is empty"

	head -c 60 "$KERNEL" >"$SCRATCH/truncated"
	vmm 08 "$SCRATCH/truncated"
	assert_failure 1
	assert_equal "$stderr" "stage-08: $SCRATCH/truncated: truncated arm64 Image: the file ends inside its 64-byte header"

	# Cut after the header: the PE/COFF section table says how long the file must be.
	head -c 1M "$KERNEL" >"$SCRATCH/truncated"
	vmm 08 "$SCRATCH/truncated"
	assert_failure 1
	assert_equal "$stderr" "stage-08: $SCRATCH/truncated: truncated arm64 Image: the file is shorter than its PE/COFF header says"

	vmm 08 --initrd "$SCRATCH/missing.cpio" "$KERNEL"
	assert_failure 1
	assert_equal "$stderr" "stage-08: cannot load $SCRATCH/missing.cpio: No such file or directory"

	truncate -s 100M "$SCRATCH/huge.cpio"
	vmm 08 --mem 64M --initrd "$SCRATCH/huge.cpio" "$KERNEL"
	assert_failure 1
	assert_equal "$stderr" "stage-08: $SCRATCH/huge.cpio: the kernel, initrd and device tree do not fit in guest RAM, 64 MiB (try a larger --mem)"

	vmm 08 --mem 1M "$KERNEL"
	assert_failure 1
	assert_equal "$stderr" "stage-08: --mem 1M is out of range: give between 8 MiB and 1 TiB"

	# COMMAND_LINE_SIZE: 2048 bytes with the NUL.
	vmm 08 --cmdline "$(printf 'x%.0s' $(seq 2048))" "$KERNEL"
	assert_failure 1
	assert_equal "$stderr" "stage-08: --cmdline is 2048 bytes long; an arm64 kernel takes at most 2047"

	vmm 08 -a "x"
	assert_failure 2
	assert_equal "$stderr" "stage-08: which kernel? give an Image or a .bin (see --help)"
}
