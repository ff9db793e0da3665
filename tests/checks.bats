#!/usr/bin/env bats
# The checks themselves: tests/docs-check and tests/check-stages must fail, with the right line, on
# a copy of the tree broken on purpose. Host-only and fast (no lab, no build): make docs-check runs
# it after checking the real tree.

setup_file() {
	TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export PRISTINE=$BATS_FILE_TMPDIR/pristine
	mkdir -p "$PRISTINE"
	(cd "$TOP" && cp -r Makefile README.md common docs guest lab stages tests "$PRISTINE/")
	rm -rf "$PRISTINE/build"
}

setup() {
	TREE=$BATS_TEST_TMPDIR/tree
	cp -r "$PRISTINE" "$TREE"
	cd "$TREE" || return 1
	export BUILD=$BATS_TEST_TMPDIR/build
}

# edit FILE SED-SCRIPT: change FILE, and fail if that changed nothing (the test would prove nothing).
edit() {
	cp "$1" "$BATS_TEST_TMPDIR/before"
	sed -i "$2" "$1"
	! cmp -s "$1" "$BATS_TEST_TMPDIR/before"
}

# fails_with PATTERN COMMAND...: COMMAND exits 1 and prints a line matching PATTERN.
fails_with() {
	local pattern=$1
	shift
	run "$@"
	echo "$output"
	[ "$status" -eq 1 ]
	grep -qE -- "$pattern" <<<"$output"
}

# One run for each kind of table, with several mistakes, each of which must be reported.
@test "machine tables: a wrong address, INTID, range end, first stage; an unknown row; a device too early" {
	edit docs/tutorial/00-introduction.md 's/^| PL031 real-time clock | 0x09010000/| PL031 real-time clock | 0x09020000/'
	edit docs/tutorial/00-introduction.md 's/^| RAM | 0x40000000/| flash | 0x00000000 | | 09 |\n&/'
	edit docs/tutorial/10-reference.md 's/^| virtual timer | 27 (PPI 11)/| virtual timer | 27 (PPI 12)/'
	edit docs/tutorial/10-reference.md 's/^ 0x09000000 - 0x09000fff /  0x09000000 - 0x09001fff/'
	edit docs/tutorial/10-reference.md 's/^\( 0x0a000000 + n \* 0x1000 .*\)stage 07/\1stage 06/'
	edit docs/tutorial/08-dtb-boot.md 's/^| PL011 | `<0x00 0x01 0x04>`/| PL031 | `<0x00 0x02 0x04>` | 34 | level high |\n&/'
	run tests/docs-check docs/tutorial/00-introduction.md docs/tutorial/08-dtb-boot.md docs/tutorial/10-reference.md
	echo "$output"
	[ "$status" -eq 1 ]
	grep -qE '00-introduction.md:[0-9]+: machine table: PL031 real-time clock: address 0x09020000, but PL031_BASE is 0x09010000' <<<"$output"
	grep -q 'machine table: flash: no such device in docs-check.s map' <<<"$output"
	grep -q 'virtual timer: INTID 28, but the device.s is TIMER_VIRT_INTID (27)' <<<"$output"
	grep -q 'PL011 UART .*: ends at 0x09001fff' <<<"$output"
	grep -q 'virtio-mmio slot n.*: from stage 06, but it is first in stage 07.s memmap.h' <<<"$output"
	grep -qE "08-dtb-boot.md:[0-9]+: machine table: PL031: stage 08's memmap.h has no PL031_INTID" <<<"$output"
}

@test "file tables, commands, the options table, quoted comments: each mistake reported" {
	edit docs/tutorial/09-linux-boot.md 's/^| `rtc.c`, `rtc.h` | added |/| `rtc.c`, `rtc.h` | changed |/'
	edit docs/tutorial/09-linux-boot.md 's/^| `arm64.h` | changed |/| `pl011.c` | changed |/'
	edit docs/tutorial/09-linux-boot.md 's/(`pl011.c`, `timer.c`)/(`pl011.c`, `timer.c`, `console.c`)/'
	edit docs/tutorial/09-linux-boot.md 's/^| `coalesced.c`, `coalesced.h` | added | 2 |/| `coalesced.c`, `coalesced.h` | added | 3 |/'
	edit docs/tutorial/09-linux-boot.md 's/^## Part 3: /## Part three: /'
	edit docs/tutorial/03-run-loop.md '0,/`make diff-03`/s//`make difff-03`/'
	edit docs/tutorial/00-introduction.md 's/`make stage-03 && .\/stage-03 guest\/simple.bin`/`make stage-03 \&\& .\/stage-03 --tarce -tq guest\/simple.bin`/'
	edit docs/tutorial/10-reference.md 's/^\(| `--no-reboot` | .*\) | 09 |$/\1 | 08- |/'
	edit docs/tutorial/00-introduction.md 's|`/\* The run loop\. \*/`|`/* 1. The run loop. */`|'
	run tests/docs-check docs/tutorial/00-introduction.md docs/tutorial/03-run-loop.md docs/tutorial/09-linux-boot.md \
		docs/tutorial/10-reference.md
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q 'file table lists rtc.h as changed, but stage 09 has it added' <<<"$output"
	grep -q 'file table lists pl011.c as changed, but stages/09-linux-boot/pl011.c is identical' <<<"$output"
	grep -q 'file table does not list arm64.h (changed in stages/09-linux-boot)' <<<"$output"
	grep -q 'says console.c is unchanged, but stage 09 has it changed' <<<"$output"
	grep -q 'file table lists coalesced.h in part 3, but stage 09.s card puts it in part 2' <<<"$output"
	grep -q 'stage 09.s card has files in part 3, but the chapter has no heading "## Part 3: ..."' <<<"$output"
	grep -q 'make difff-03: the Makefile has no target difff-03' <<<"$output"
	grep -q './stage-03 --tarce: stage 03 has no option --tarce' <<<"$output"
	grep -q './stage-03 -tq: stage 03 has no option -q' <<<"$output"
	grep -q 'options table: --no-reboot is for stages 08-, but stage 08 has no --no-reboot' <<<"$output"
	grep -q 'no source has the comment /\* 1\. The run loop\. \*/' <<<"$output"
}

@test "check-stages: a card row it cannot read; a row of stage 09 without a part, a part without files" {
	edit stages/09-linux-boot/README.md 's/^| `rtc.c` | added |/| `rtc.c`, `rtc.h` | added |/'
	edit stages/09-linux-boot/README.md 's/^| `rtc.h` | added |/| `rtc.h` | carried |/'
	edit stages/09-linux-boot/README.md 's/^| `pl031.h` | added | 3 |/| `pl031.h` | added | | its interface |\n| `pl031.c` | added | 0 |/'
	edit stages/09-linux-boot/README.md 's/^\(| `[a-z_]*\.[ch]` | [a-z]* | \)2 |/\14 |/'
	run tests/check-stages stages/*/
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q 'a Files row that is not one file, added, changed or removed: | `rtc.h` | carried' <<<"$output"
	grep -q 'a Files row that is not one file, added, changed or removed: | `rtc.c`, `rtc.h` | added' <<<"$output"
	grep -q 'a Files row without a part (a number from 1): | `pl031.h` | added | | its interface' <<<"$output"
	grep -q 'a Files row without a part (a number from 1): | `pl031.c` | added | 0 |' <<<"$output"
	grep -q 'no file is in part 2: the parts are numbered from 1 without a gap' <<<"$output"
}

@test "memmap.h's own map: a wrong address in its comment" {
	edit stages/09-linux-boot/memmap.h 's/^ \*   0x09010000 - 0x09010fff   PL031/ *   0x09020000 - 0x09010fff   PL031/'
	fails_with 'stages/09-linux-boot/memmap.h:[0-9]+: its map: PL031 real-time clock: address 0x09020000, but PL031_BASE is 0x09010000' \
		tests/docs-check
}

@test "make diff-09 PART=N: only part N's files; a part with none, or a stage not in parts, refused" {
	run make -s diff-09 PART=2
	[ "$status" -eq 0 ]
	grep -q '^+++ stages/09-linux-boot/eventfds.c' <<<"$output"
	! grep -qE '^\+\+\+ stages/09-linux-boot/(main|pl031)\.c' <<<"$output"
	fails_with '^make diff-09 PART=7: stage 09 has parts 1 2 3, not .7.$' tests/card-part stages/09-linux-boot 7
	fails_with '^make diff-05 PART=1: stage 05 is not taught in parts' tests/card-part stages/05-gic 1
	run make -s diff-05 PART=1
	[ "$status" -ne 0 ]
}
