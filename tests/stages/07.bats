#!/usr/bin/env bats
# Stage 07: virtio-mmio, split virtqueues, virtio-blk on a host file, virtio-console.

load ../helpers

setup() {
	common_setup
	# A 1 MiB disk: a line of text in sector 0, the rest zero; a copy to compare with afterwards.
	DISK=$SCRATCH/disk.img
	printf 'veleiro disk: sector 0\n' >"$DISK"
	truncate -s 1M "$DISK"
	cp "$DISK" "$SCRATCH/before.img"
}
teardown() { common_teardown; }

# The 512 bytes guest/virtio-blk.bin writes to sector 1: "veleiro sector 1", then (i * 7 + 1) & 0xff.
expected_sector1() {
	printf 'veleiro sector 1'
	for ((i = 16; i < 512; i++)); do printf "\\$(printf '%03o' $(((i * 7 + 1) & 255)))"; done
}

# points: 3
@test "the blk guest reads sector 0, writes, flushes and reads back sector 1" {
	vmm 07 --stats --disk "$DISK" guest/virtio-blk.bin
	assert_success
	assert_line "blk: virtio-blk at 0x0a000000"
	assert_line "blk: capacity 2048 sectors (1048576 bytes)"
	assert_line "blk: sector 0 says: veleiro disk: sector 0"
	assert_line "blk: sector 1 written, flushed, read back: match"
	assert_line 'blk: id "veleiro-disk0"'
	assert_line "blk: done"
	refute_line --partial "error"
	grep -qE '^stats:   virtio-blk +[1-9][0-9]* reads +[1-9][0-9]* writes$' <<<"$stderr"
}

@test "on the host, sector 1 holds the guest's pattern and nothing else changed" {
	vmm 07 --disk "$DISK" guest/virtio-blk.bin
	assert_success
	cmp <(head -c 512 "$DISK") <(head -c 512 "$SCRATCH/before.img")
	cmp <(dd if="$DISK" bs=512 skip=1 count=1 status=none) <(expected_sector1)
	cmp <(tail -c +1025 "$DISK") <(tail -c +1025 "$SCRATCH/before.img")
	[ "$(stat -c %s "$DISK")" -eq 1048576 ]
}

@test "a read-only disk: the device refuses the write with IOERR, the file is untouched" {
	vmm 07 --disk "$DISK,ro" guest/virtio-blk.bin
	assert_success
	assert_line "blk: read-only disk (VIRTIO_BLK_F_RO)"
	assert_line "blk: sector 0 says: veleiro disk: sector 0"
	assert_line "blk: write refused: status IOERR (read-only disk)"
	assert_line "blk: done"
	assert_equal "$stderr" "stage-07: virtio-blk: write to a read-only disk (sector 1)"
	cmp "$DISK" "$SCRATCH/before.img"
}

@test "disk mistakes are one clear line before the VM starts" {
	vmm 07 --disk "$SCRATCH/missing.img" guest/virtio-blk.bin
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "stage-07: cannot open disk $SCRATCH/missing.img: No such file or directory"

	[ "$(id -u)" = 0 ] || [ "$(uname -m)" != aarch64 ] || skip "needs root to become nobody"
	# A file this user may not write: run as nobody, since root may write anything. The disk
	# is opened before anything else, so nobody needs no /dev/kvm to get this far.
	chmod 0444 "$DISK"
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" su -s /bin/sh nobody -c \
		"$VMM_BIN/stage-07 --disk $DISK guest/virtio-blk.bin"
	assert_failure 1
	assert_equal "$stderr" "stage-07: cannot open disk $DISK for writing: Permission denied (add ,ro to use it read-only)"
	cmp "$DISK" "$SCRATCH/before.img"
}

@test "two VMMs on one disk image: the second is refused, told how the first uses it" {
	# The first VMM holds the disk for a few seconds (echo.bin quits on the q typed later).
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		vmm=$1 disk=$2
		hold() {
			(sleep 6; printf q) | "$vmm" --disk "$1" guest/echo.bin >/dev/null 2>&1 &
			sleep 3
		}
		hold "$disk"
		"$vmm" --disk "$disk" guest/virtio-blk.bin; echo "$?"
		"$vmm" --disk "$disk,ro" guest/virtio-blk.bin; echo "$?"
		wait
		hold "$disk,ro"
		"$vmm" --disk "$disk,ro" guest/virtio-blk.bin >/dev/null; echo "$?"
		"$vmm" --disk "$disk" guest/virtio-blk.bin; echo "$?"
		wait' sh "$VMM_BIN/stage-07" "$DISK"
	assert_success
	assert_equal "$output" "$(printf '1\n1\n0\n1\n')"
	assert_equal "$stderr" "$(printf '%s\n' \
		"stage-07: cannot use disk $DISK: another process is using it read-write" \
		"stage-07: cannot use disk $DISK: another process is using it read-write" \
		"stage-07: virtio-blk: write to a read-only disk (sector 1)" \
		"stage-07: cannot use disk $DISK: another process is using it read-only (add ,ro to share it)")"
	cmp "$DISK" "$SCRATCH/before.img"
}

@test "a directory as a disk, and an empty --disk, are refused" {
	vmm 07 --disk "$SCRATCH" guest/virtio-blk.bin
	assert_failure 1
	assert_equal "$stderr" "stage-07: cannot open disk $SCRATCH: Is a directory"
	vmm 07 --disk "$SCRATCH,ro" guest/virtio-blk.bin
	assert_failure 1
	assert_equal "$stderr" "stage-07: disk $SCRATCH is not a file or a block device"
	vmm 07 --disk ,ro guest/virtio-blk.bin
	assert_failure 1
	assert_equal "$stderr" "stage-07: --disk needs a file: --disk FILE or --disk FILE,ro"
}

@test "a FIFO as a disk is refused at once, read-only too (opening it must not wait for a writer)" {
	run --separate-stderr timeout "$VMM_TIMEOUT" "$VMM_HOST" sh -c '
		d=$(mktemp -d) && mkfifo "$d/fifo" || exit 99
		"$1" --disk "$d/fifo,ro" guest/virtio-blk.bin; echo "$?"
		"$1" --disk "$d/fifo" guest/virtio-blk.bin; echo "$?"
		rm -rf "$d"' sh "$VMM_BIN/stage-07"
	assert_success
	assert_equal "$output" "$(printf '1\n1\n')"
	assert_equal "$(sed -E 's|/tmp/[^/]+/fifo|FIFO|' <<<"$stderr")" "$(printf '%s\n' \
		"stage-07: disk FIFO is not a file or a block device" \
		"stage-07: disk FIFO is not a file or a block device")"
}

# points: 2
@test "virtio-console: output on the transmitq, a typed line back through the receiveq" {
	vmm 07 --virtio-console guest/virtio-console.bin < <(printf 'hello there\n')
	assert_success
	assert_line "console: hello from virtio-console"
	assert_line 'virtio-console guest: received "hello there"'
	assert_line "console: you typed: hello there"
	assert_line "virtio-console guest: done"
	assert_equal "$stderr" ""
}

@test "no disk: the blk guest finds only empty slots and says so" {
	vmm 07 guest/virtio-blk.bin
	assert_success
	assert_line --regexp '^blk: error: '
	refute_line "blk: done"
}

@test "every earlier guest still runs on stage 07" {
	vmm 07 guest/hello.bin
	assert_success
	assert_output "Hello, world!"
	vmm 07 guest/irq.bin < <(printf 'hiq')
	assert_success
	assert_line "bye"
	vmm 07 guest/timer.bin
	assert_success
	assert_line --regexp '^tick 10: '
	vmm 07 guest/simple.bin
	assert_success
	assert_output "Hello from the guest!"
}
