# What the top-level Makefile needs to know about this stage. It reads every stage's stage.mk, so
# these names carry no stage number; like the README, the file is the stage's own (not carried).
#
# STAGE_GUESTS: the guest programs (guest/NAME.bin) this stage introduces. `make stage-NN` builds
# them and every earlier stage's, since a stage runs the guests of the stages before it too.
# STAGE_RUN: what `make run` passes to ./stage-NN when this is the most complete stage.
# STAGE_LINUX: yes if `make stage-NN` also builds the guest Linux in build/linux/.

STAGE_GUESTS := timer
STAGE_RUN := guest/timer.bin
STAGE_LINUX :=

# The assignment (docs/instructors.md). STAGE_HOLES: the functions `make start-NN` takes out, one
# a line: FILE:FUNCTION, the chapter section that teaches it, and after "|" the graded test that
# fails while it is missing (make grade-check proves that it does). STAGE_UNIT: the unit tests
# (tests/unit/NAME.c) the grader compiles from the learner's copy of this stage.
define STAGE_HOLES
timer.c:timer_attr 06-timer.md#what-the-vmm-sets | stage-06 runs guest/timer.bin: ten ticks, in order, then it powers off
timer.c:timer_set_irqs 06-timer.md#what-the-vmm-sets | stage-06 runs guest/timer.bin: ten ticks, in order, then it powers off
endef
STAGE_UNIT := test_pl011 test_mmio_bus
