# What the top-level Makefile needs to know about this stage. It reads every stage's stage.mk, so
# these names carry no stage number; like the README, the file is the stage's own (not carried).
#
# STAGE_GUESTS: the guest programs (guest/NAME.bin) this stage introduces. `make stage-NN` builds
# them and every earlier stage's, since a stage runs the guests of the stages before it too.
# STAGE_RUN: what `make run` passes to ./stage-NN when this is the most complete stage.
# STAGE_LINUX: yes if `make stage-NN` also builds the guest Linux in build/linux/.

STAGE_GUESTS := virtio-blk virtio-console
STAGE_RUN := --virtio-console guest/virtio-console.bin
STAGE_LINUX :=

# The assignment (docs/instructors.md). STAGE_HOLES: the functions `make start-NN` takes out, one
# a line: FILE:FUNCTION, the chapter section that teaches it, and after "|" the graded test that
# fails while it is missing (make grade-check proves that it does). STAGE_UNIT: the unit tests
# (tests/unit/NAME.c) the grader compiles from the learner's copy of this stage.
define STAGE_HOLES
virtq.c:virtq_pop 07-virtio.md#the-split-virtqueue | the blk guest reads sector 0, writes, flushes and reads back sector 1
virtq.c:virtq_push 07-virtio.md#the-split-virtqueue | the blk guest reads sector 0, writes, flushes and reads back sector 1
virtio_mmio.c:virtio_mmio_write_status 07-virtio.md#bringing-a-device-up-status-and-features | the blk guest reads sector 0, writes, flushes and reads back sector 1
virtio_blk.c:virtio_blk_request 07-virtio.md#the-life-of-one-block-request | the blk guest reads sector 0, writes, flushes and reads back sector 1
endef
STAGE_UNIT := test_pl011 test_mmio_bus test_virtq
