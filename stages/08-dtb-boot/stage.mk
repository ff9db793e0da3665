# What the top-level Makefile needs to know about this stage. It reads every stage's stage.mk, so
# these names carry no stage number; like the README, the file is the stage's own (not carried).
#
# STAGE_GUESTS: the guest programs (guest/NAME.bin) this stage introduces. `make stage-NN` builds
# them and every earlier stage's, since a stage runs the guests of the stages before it too.
# STAGE_RUN: what `make run` passes to ./stage-NN when this is the most complete stage.
# STAGE_LINUX: yes if `make stage-NN` also builds the guest Linux in build/linux/.

STAGE_GUESTS :=
STAGE_RUN := --initrd build/linux/initramfs.cpio.gz build/linux/Image
STAGE_LINUX := yes

# The assignment (docs/instructors.md). STAGE_HOLES: the functions `make start-NN` takes out, one
# a line: FILE:FUNCTION, the chapter section that teaches it, and after "|" the graded test that
# fails while it is missing (make grade-check proves that it does). STAGE_UNIT: the unit tests
# (tests/unit/NAME.c) the grader compiles from the learner's copy of this stage.
define STAGE_HOLES
dtb.c:dtb_add_memory 08-dtb-boot.md#memory | Linux boots to the ready marker and runs a command: uname -m says aarch64
dtb.c:dtb_add_gic 08-dtb-boot.md#the-interrupt-controller | Linux boots to the ready marker and runs a command: uname -m says aarch64
dtb.c:dtb_add_uart 08-dtb-boot.md#the-uart-and-its-clock | Linux boots to the ready marker and runs a command: uname -m says aarch64
boot.c:boot_parse 08-dtb-boot.md#the-image-header | Linux boots to the ready marker and runs a command: uname -m says aarch64
boot.c:boot_load_kernel 08-dtb-boot.md#where-everything-goes | Linux boots to the ready marker and runs a command: uname -m says aarch64
endef
STAGE_UNIT := test_pl011 test_mmio_bus test_virtq test_boot test_dtb
