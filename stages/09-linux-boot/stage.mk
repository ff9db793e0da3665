# What the top-level Makefile needs to know about this stage. It reads every stage's stage.mk, so
# these names carry no stage number; like the README, the file is the stage's own (not carried).
#
# STAGE_GUESTS: the guest programs (guest/NAME.bin) this stage introduces. `make stage-NN` builds
# them and every earlier stage's, since a stage runs the guests of the stages before it too.
# STAGE_RUN: what `make run` passes to ./stage-NN when this is the most complete stage.
# STAGE_LINUX: yes if `make stage-NN` also builds the guest Linux in build/linux/.
# STAGE_ESCAPE: yes if the VMM's console takes Ctrl-A x itself, so the lab passes it on.

# The hostile guests: no device may stall the machine (tests/stages/09.bats).
STAGE_GUESTS := hostile-blk hostile-blk-forever bad-notify
# The whole machine: with no kernel named, the guest Linux in build/linux/, here on two vCPUs (one
# where the VMM's host has one CPU: the lab has LAB_SMP, 2 unless set), with the test disk at /mnt
# (read-only: the tests copy it as built), the virtio-console, which gets the keys typed, and the
# PL031 and virtio-rng, which are always there.
STAGE_RUN := --cpus $(if $(filter 1,$(if $(NATIVE),$(shell nproc),$(or $(LAB_SMP),2))),1,2) \
	--disk $(BUILD)/linux/disk.ext4,ro --virtio-console
STAGE_LINUX := yes
# Ctrl-A x is the console's own (console.c): through the lab it reaches this VMM too.
STAGE_ESCAPE := yes

# The assignment (docs/instructors.md). STAGE_HOLES: the functions `make start-NN` takes out, one
# a line: FILE:FUNCTION, the chapter section that teaches it, and after "|" the graded test that
# fails while it is missing (make grade-check proves that it does). STAGE_UNIT: the unit tests
# (tests/unit/NAME.c) the grader compiles from the learner's copy of this stage.
define STAGE_HOLES
devices.c:vcpu_create 09-linux-boot.md#starting-the-other-cpus | no kernel named: the bundled Linux boots to the ready marker; uname -m says aarch64
run.c:machine_stop 09-linux-boot.md#stopping-every-vcpu | poweroff from the guest ends the VMM with status 0; every vCPU thread is stopped and counted
eventfds.c:ioeventfd_attach 09-linux-boot.md#ioeventfd-a-notification-without-an-exit | the ext4 disk on both I/O paths: the guest reads the host's file, writes one, syncs; e2fsck clean, debugfs reads it
eventfds.c:irqfd_attach 09-linux-boot.md#irqfd-an-interrupt-without-an-ioctl | the ext4 disk on both I/O paths: the guest reads the host's file, writes one, syncs; e2fsck clean, debugfs reads it
endef
STAGE_UNIT := test_pl011 test_mmio_bus test_virtq test_boot test_dtb test_eventfds test_virtio_mmio test_virtio_blk test_virtio_console test_virtio_rng test_pl031 test_console
