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
