# What the top-level Makefile needs to know about this stage. It reads every stage's stage.mk, so
# these names carry no stage number; like the README, the file is the stage's own (not carried).
#
# STAGE_GUESTS: the guest programs (guest/NAME.bin) this stage introduces. `make stage-NN` builds
# them and every earlier stage's, since a stage runs the guests of the stages before it too.
# STAGE_RUN: what `make run` passes to ./stage-NN when this is the most complete stage.
# STAGE_LINUX: yes if `make stage-NN` also builds the guest Linux in build/linux/.

STAGE_GUESTS := simple
STAGE_RUN := guest/simple.bin
STAGE_LINUX :=

# The assignment (docs/instructors.md). STAGE_HOLES: the functions `make start-NN` takes out, one
# a line: FILE:FUNCTION, the chapter section that teaches it, and after "|" the graded test that
# fails while it is missing (make grade-check proves that it does). STAGE_UNIT: the unit tests
# (tests/unit/NAME.c) the grader compiles from the learner's copy of this stage.
define STAGE_HOLES
main.c:run_loop 03-run-loop.md#the-loop | stage-03 runs guest/simple.bin: its text on stdout, exit 0 at SYSTEM_OFF
main.c:handle_mmio 03-run-loop.md#mmio-exits | stage-03 runs guest/simple.bin: its text on stdout, exit 0 at SYSTEM_OFF
endef
STAGE_UNIT := 
