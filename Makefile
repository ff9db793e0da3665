# veleiro: a KVM virtual machine monitor for arm64, built one stage at a time.
# `make help` lists the targets. Build outputs go to build/, except the ./stage-NN entry points and
# the guest/*.bin programs that learners type.

.DEFAULT_GOAL := all
SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := build

# V=1 shows full commands.
ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

# On an arm64 host the VMMs are native and ./stage-NN is the binary. Anywhere else they are static
# arm64 binaries under build/arm64/, and ./stage-NN is a launcher that runs them in the lab.
HOST_ARCH := $(shell uname -m)
ifeq ($(HOST_ARCH),aarch64)
NATIVE := 1
CROSS_COMPILE ?=
VMM_DIR := $(BUILD)/native
else
NATIVE :=
CROSS_COMPILE ?= aarch64-linux-gnu-
VMM_DIR := $(BUILD)/arm64
endif
VMM_CC := $(CROSS_COMPILE)gcc
HOST_CC ?= gcc
CC := $(HOST_CC)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_COMMON := -std=gnu11 $(WARN) -O2 -g -Icommon -MMD -MP
VMM_CFLAGS := $(CFLAGS_COMMON) -pthread
VMM_LDFLAGS := -pthread $(if $(NATIVE),,-static)
# libfdt for the stages that build a device tree: the host's on arm64, Debian's arm64 package
# unpacked by lab/deps elsewhere (it cannot be installed beside the host's).
FDT_SYSROOT := $(BUILD)/deps/sysroot-fdt-dev/usr
FDT_CFLAGS := $(if $(NATIVE),,-I$(FDT_SYSROOT)/include)
FDT_LIBS := $(if $(NATIVE),,-L$(FDT_SYSROOT)/lib/aarch64-linux-gnu) -lfdt

# The guest programs: cross-built for arm64 (native on arm64 hosts), raw binaries at 0x40080000.
GUEST_CC := $(CROSS_COMPILE)gcc
GUEST_OBJCOPY := $(CROSS_COMPILE)objcopy
include guest/guest.mk

# A stage is a directory with a main.c (its story).
STAGE_DIRS := $(sort $(patsubst %/main.c,%,$(wildcard stages/[0-9][0-9]-*/main.c)))
STAGE_NUMS := $(foreach d,$(STAGE_DIRS),$(shell basename $(d) | cut -c1-2))
stage_dir = $(filter stages/$(1)-%,$(STAGE_DIRS))
LAST_STAGE := $(lastword $(STAGE_NUMS))
# The stages taught in parts: a "part" column in the Files table of the card (tests/card-part).
PART_NUMS := $(shell grep -l '^| *file *| *status *| *part *|' $(addsuffix /README.md,$(STAGE_DIRS)) 2>/dev/null | \
	sed 's|^stages/\([0-9][0-9]\)-.*|\1|')

# Each stage's stages/NN-*/stage.mk says which guests it introduces (STAGE_GUESTS), what `make run`
# passes it (STAGE_RUN), whether it boots the guest Linux (STAGE_LINUX) and whether its console has
# a Ctrl-A escape of its own (STAGE_ESCAPE); they are read here into GUESTS_NN, RUN_NN, LINUX_STAGES
# and ESCAPE_NN. A stage runs its own guests and every earlier stage's.
define stage_facts
STAGE_GUESTS :=
STAGE_RUN :=
STAGE_LINUX :=
STAGE_ESCAPE :=
include $(call stage_dir,$(1))/stage.mk
GUESTS_$(1) := $$(STAGE_GUESTS)
RUN_$(1) := $$(STAGE_RUN)
LINUX_STAGES += $$(if $$(STAGE_LINUX),$(1))
ESCAPE_$(1) := $$(STAGE_ESCAPE)
endef
LINUX_STAGES :=
$(foreach n,$(STAGE_NUMS),$(eval $(call stage_facts,$(n))))
stage_guests = $(foreach n,$(STAGE_NUMS),$(if $(shell [ $(n) -le $(1) ] && echo y),$(GUESTS_$(n))))

COMMON_SRCS := $(wildcard common/*.c)
# What only the VMMs link: code written against arm64's KVM headers (the gdb stub's KVM half). The
# rest of common/ also builds for the host, into the unit tests and fuzzers.
COMMON_VMM_SRCS := $(wildcard common/arm64/*.c)


.PHONY: all help deps test unit unit-san format-check reformat check-stages docs-check fuzz fuzz-smoke run run-uboot lab \
	lab-status lab-stop test-lab fresh-check clean bench \
	$(addprefix stage-,$(STAGE_NUMS)) $(addprefix test-,$(STAGE_NUMS)) $(addprefix diff-,$(STAGE_NUMS))

help:
	@echo "veleiro: a KVM VMM for arm64, one stage at a time"
	@echo
	@echo "  make all            build every stage (./stage-NN) and every guest (guest/*.bin)"
	@echo "  make stage-NN       build stage NN and the guests it runs, e.g. make stage-03"
	@echo "  make run            build and run the most complete stage with its default guest"
	@echo "  make run-uboot      stage 09 booting Debian's U-Boot, which boots Linux from a disk"
	@echo "  make test           unit tests (also under ASan/UBSan), format and copy-forward checks,"
	@echo "                      then every stage's suite (through the lab on non-arm64 hosts; the"
	@echo "                      assignments' suites through their grader, as make grade-check does)"
	@echo "  make test-NN        one stage's suite, e.g. make test-03 (make test-lab: the lab's)"
	@echo "  make deps-gdb       install gdb-multiarch, for --gdb (make test-gdb: the gdb stub's suite,"
	@echo "                      which make test runs too where gdb-multiarch is installed)"
	@echo "  make diff-NN        what stage NN changed, as a diff against stage NN-1"
	@echo "                      (PART=N: part N's files only, for a stage taught in parts: $(PART_NUMS))"
	@echo "  make start-NN       assignment NN: a copy of stage NN in work/NN-name/ with the lesson taken out"
	@echo "                      (FULL=1: with nothing taken out, for the exercises; FORCE=1 replaces a copy)"
	@echo "  make work-NN        build that copy (./work-NN runs it like ./stage-NN)"
	@echo "  make grade-NN       build and score it (GRADE_EXTRA=DIR adds tests; EXERCISE=N.M one exercise)"
	@echo "  make grade-check    prove the grader: references score full marks, handouts do not"
	@echo "  make check-stages   check that unchanged files are byte-identical between stages"
	@echo "  make docs-check     check the tutorial against the source: snippets, tables, commands"
	@echo "  make reformat       clang-format the C sources, carrying the tutorial's snippets along"
	@echo "  make bench          benchmarks (numbers only; never part of make test)"
	@echo "  make fuzz           fuzz the devices as a guest reaches them (FUZZ_SECONDS=300 each)"
	@echo "  make lab            an interactive shell inside the lab (arm64 with KVM)"
	@echo "  make lab-status     which labs are up (a lab stays up 15 minutes after its last command)"
	@echo "  make lab-stop       stop them now (LAB=NAME stops one)"
	@echo "  make fresh-check    make test in a clean Debian 12 root, as CI does (needs root)"
	@echo "  make deps           install what is missing (apt-get; done automatically)"
	@echo "  make clean          remove build outputs"
	@echo
	@echo "  V=1 shows full commands; CROSS_COMPILE=... and HOST_CC=... override the compilers."
	@echo "  Stages: $(STAGE_NUMS); assignments: $(ASSIGNMENT_NUMS) (docs/instructors.md)"

# Installing is idempotent and quiet when everything is present; the stamp only saves time.
DEPS_STAMP := $(BUILD)/deps/.done
deps:
	$(Q)lab/deps
	$(Q)touch $(DEPS_STAMP)
$(DEPS_STAMP): lab/deps
	$(Q)lab/deps
	$(Q)mkdir -p $(@D) && touch $@
# The guests need the cross compiler lab/deps installs: on a fresh machine, make -j must not start
# them before it has.
$(GUEST_OBJS) $(GUEST_ELFS): | $(DEPS_STAMP)

# The Linux guest (Debian's arm64 kernel, an initramfs, a test disk) for the stages that boot it.
include guest/linux/linux.mk

all: $(addprefix stage-,$(STAGE_NUMS))

# --- the stages -----------------------------------------------------------------------------
# stage_rules NN: build/<arch>/stage-NN from the stage's own sources and common/, and ./stage-NN.
define stage_rules
$(1)_DIR := $(call stage_dir,$(1))
$(1)_SRCS := $$(wildcard $$($(1)_DIR)/*.c)
$(1)_OBJS := $$(patsubst %.c,$(VMM_DIR)/%.o,$$($(1)_SRCS) $(COMMON_SRCS) $(COMMON_VMM_SRCS))
$(1)_FDT := $$(if $$(wildcard $$($(1)_DIR)/dtb.c),y)

$(VMM_DIR)/$$($(1)_DIR)/%.o: $$($(1)_DIR)/%.c $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$<")
	$(Q)$(VMM_CC) $(VMM_CFLAGS) -I$$($(1)_DIR) $$(if $$($(1)_FDT),$(FDT_CFLAGS)) -c $$< -o $$@

$(VMM_DIR)/stage-$(1): $$($(1)_OBJS)
	@$$(if $(Q),echo "  LD      $$@")
	$(Q)$(VMM_CC) $$^ -o $$@ $(VMM_LDFLAGS) $$(if $$($(1)_FDT),$(FDT_LIBS))

# The target is the file learners run, so `make stage-NN && ./stage-NN` is the whole recipe.
stage-$(1): $(VMM_DIR)/stage-$(1) $$(patsubst %,guest/%.bin,$$(call stage_guests,$(1))) \
		$$(patsubst %,guest/%.elf,$$(call stage_guests,$(1))) \
		$(if $(filter $(1),$(LINUX_STAGES)),$(LINUX_FILES))
ifeq ($(NATIVE),1)
	$(Q)cp $(VMM_DIR)/stage-$(1) $$@
else
	$(Q)printf '%s\n' '#!/bin/sh' \
		'# Generated by make: this host is not arm64, so the VMM ($(VMM_DIR)/stage-$(1)) runs in the lab.' \
		$$(if $$(ESCAPE_$(1)),'# Its console has a Ctrl-A escape of its own: the lab passes Ctrl-A x to it (lab/run).') \
		'top=$$$$(cd "$$$$(dirname "$$$$0")" && pwd)' \
		'$$(if $$(ESCAPE_$(1)),LAB_ESCAPE=command )exec "$$$$top/lab/run" "$$$$top/$(VMM_DIR)/stage-$(1)" "$$$$@"' >$$@
	$(Q)chmod +x $$@
endif

test-$(1): stage-$(1) $(DEPS_STAMP)
	$(Q)tests/run-bats tests/stages/$(1).bats

# PART=N: only the files the stage card gives to part N of a stage taught in parts (tests/card-part).
diff-$(1):
	$(Q)prev=$$$$(echo $(STAGE_DIRS) | tr ' ' '\n' | grep -B1 '^$$($(1)_DIR)$$$$' | head -n 1); \
	  if [ -n "$$(PART)" ]; then \
	    files=$$$$(tests/card-part $$($(1)_DIR) "$$(PART)") || exit 1; \
	    for f in $$$$files; do diff -uN $$$$prev/$$$$f $$($(1)_DIR)/$$$$f; done; true; \
	  elif [ "$$$$prev" = "$$($(1)_DIR)" ]; then echo "stage $(1) is the first stage"; \
	  else diff -ruN $$$$prev $$($(1)_DIR); true; fi
endef
$(foreach n,$(STAGE_NUMS),$(eval $(call stage_rules,$(n))))

# --- assignments ------------------------------------------------------------------------------
# A stage whose stage.mk lists STAGE_HOLES is also an assignment: `make start-NN` copies it to
# work/NN-name/ with those functions' bodies taken out (tests/grade/start), `make work-NN` builds
# that copy like a stage (./work-NN runs it, through the lab on non-arm64 hosts) and
# `make grade-NN` scores it (tests/grade/grade). WORK_ROOT moves the copies (the grader's own
# check uses one under build/). The copies are the learner's: no check of the project looks inside.
WORK_ROOT ?= work
ASSIGNMENT_NUMS := $(sort $(foreach f,$(shell grep -l '^define STAGE_HOLES' $(addsuffix /stage.mk,$(STAGE_DIRS))),\
	$(firstword $(subst -, ,$(notdir $(patsubst %/stage.mk,%,$(f)))))))
# A hole can leave a static helper or variable unused until it is filled in.
WORK_CFLAGS := $(VMM_CFLAGS) -Wno-unused-function -Wno-unused-variable -Wno-unused-but-set-variable
# The binaries sit one level below build/, as the stages' do, so stage 09 finds its default guest
# in ../linux: build/work-arm64/stage-NN (build/work-native/ on arm64 hosts).
WORK_BIN := $(BUILD)/$(subst /,-,$(WORK_ROOT))-$(notdir $(VMM_DIR))

define work_rules
$(1)_WDIR := $(WORK_ROOT)/$(notdir $(call stage_dir,$(1)))
$(1)_WSRCS := $$(wildcard $$($(1)_WDIR)/*.c)
$(1)_WOBJS := $$(patsubst %.c,$(VMM_DIR)/%.o,$$($(1)_WSRCS)) $$(patsubst %.c,$(VMM_DIR)/%.o,$(COMMON_SRCS) $(COMMON_VMM_SRCS))
$(1)_WFDT := $$(if $$(wildcard $$($(1)_WDIR)/dtb.c),y)

$(VMM_DIR)/$$($(1)_WDIR)/%.o: $$($(1)_WDIR)/%.c $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$<")
	$(Q)$(VMM_CC) $(WORK_CFLAGS) -I$$($(1)_WDIR) $$(if $$($(1)_WFDT),$(FDT_CFLAGS)) -c $$< -o $$@

$(WORK_BIN)/stage-$(1): $$($(1)_WOBJS)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  LD      $$@")
	$(Q)$(VMM_CC) $$^ -o $$@ $(VMM_LDFLAGS) $$(if $$($(1)_WFDT),$(FDT_LIBS))

start-$(1):
	$(Q)tests/grade/start $(1) $$(if $$(FORCE),--force) $$(if $$(FULL),--none)

# The binary keeps the stage's name, so its messages read as the stage's do; ./work-NN runs it.
work-$(1): $$(if $$($(1)_WSRCS),$(WORK_BIN)/stage-$(1) $$(patsubst %,guest/%.bin,$$(call stage_guests,$(1))) \
		$$(patsubst %,guest/%.elf,$$(call stage_guests,$(1))) \
		$(if $(filter $(1),$(LINUX_STAGES)),$(LINUX_FILES)))
	$(Q)[ -n "$$($(1)_WSRCS)" ] || { echo "make work-$(1): there is no $$($(1)_WDIR)/ (make start-$(1) creates it)" >&2; exit 1; }
ifeq ($(WORK_ROOT),work)
ifeq ($(NATIVE),1)
	$(Q)cp $(WORK_BIN)/stage-$(1) $$@
else
	$(Q)printf '%s\n' '#!/bin/sh' \
		'# Generated by make: the VMM built from $$($(1)_WDIR)/ ($(WORK_BIN)/stage-$(1)) runs in the lab.' \
		'top=$$$$(cd "$$$$(dirname "$$$$0")" && pwd)' \
		'$$(if $$(ESCAPE_$(1)),LAB_ESCAPE=command )exec "$$$$top/lab/run" "$$$$top/$(WORK_BIN)/stage-$(1)" "$$$$@"' >$$@
	$(Q)chmod +x $$@
endif
endif

grade-$(1): $(DEPS_STAMP)
	$(Q)tests/grade/grade $(1)
endef
.PHONY: $(addprefix start-,$(ASSIGNMENT_NUMS)) $(addprefix work-,$(ASSIGNMENT_NUMS)) \
	$(addprefix grade-,$(ASSIGNMENT_NUMS)) grade-check
$(foreach n,$(ASSIGNMENT_NUMS),$(eval $(call work_rules,$(n))))

# A number that is not an assignment gets one line, not make's "No rule to make target".
start-%:
	@echo "make $@: stage $* is not an assignment (assignments: $(ASSIGNMENT_NUMS))" >&2; exit 1
work-%:
	@echo "make $@: stage $* is not an assignment (assignments: $(ASSIGNMENT_NUMS))" >&2; exit 1
grade-%:
	@echo "make $@: stage $* is not an assignment (assignments: $(ASSIGNMENT_NUMS))" >&2; exit 1

# The grader's own check, for every assignment: the reference scores full marks, a fresh handout
# builds and scores below them, and each hole alone fails at least one graded test.
grade-check: all
	$(Q)tests/grade/check $(ASSIGNMENT_NUMS)

$(VMM_DIR)/common/%.o: common/%.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(VMM_CC) $(VMM_CFLAGS) -c $< -o $@

# --- tests ------------------------------------------------------------------------------------
# Host-native unit tests: tests/unit/test_X.c names the stage sources it needs on its first line.
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
unit_srcs = $(shell sed -n '1s|^/\* unit-test sources:\(.*\)\*/|\1|p' tests/unit/$(1).c)
UNIT_CFLAGS := -std=gnu11 $(WARN) -g -Icommon -Itests/unit -pthread
# A header change rebuilds every test: simpler than tracking which stage's headers each includes.
UNIT_HDRS := $(wildcard tests/unit/*.h common/*.h stages/*/*.h)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Tests where threads share a device are also built with ThreadSanitizer. It does not model
# fences (-Wtsan says so); the ring accesses the fences in virtq.c order are atomic themselves.
UNIT_TSAN_TESTS := test_virtio_thread test_uart
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan

define unit_rules
$(BUILD)/unit/$(1): tests/unit/$(1).c $(COMMON_SRCS) $(call unit_srcs,$(1)) $(UNIT_HDRS) $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$@")
	$(Q)$(HOST_CC) $(UNIT_CFLAGS) -O1 $$(addprefix -I,$$(sort $$(dir $(call unit_srcs,$(1))))) \
		$$(filter %.c,$$^) -o $$@ -lfdt
$(BUILD)/unit-san/$(1): tests/unit/$(1).c $(COMMON_SRCS) $(call unit_srcs,$(1)) $(UNIT_HDRS) $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$@ (ASan/UBSan)")
	$(Q)$(HOST_CC) $(UNIT_CFLAGS) $(SAN_FLAGS) $$(addprefix -I,$$(sort $$(dir $(call unit_srcs,$(1))))) \
		$$(filter %.c,$$^) -o $$@ -lfdt
$(BUILD)/unit-tsan/$(1): tests/unit/$(1).c $(COMMON_SRCS) $(call unit_srcs,$(1)) $(UNIT_HDRS) $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$@ (TSan)")
	$(Q)$(HOST_CC) $(UNIT_CFLAGS) -O1 $(TSAN_FLAGS) $$(addprefix -I,$$(sort $$(dir $(call unit_srcs,$(1))))) \
		$$(filter %.c,$$^) -o $$@ -lfdt
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rules,$(t))))

unit: $(addprefix $(BUILD)/unit/,$(UNIT_TESTS)) $(addprefix $(BUILD)/unit-san/,$(UNIT_TESTS)) \
		$(addprefix $(BUILD)/unit-tsan/,$(UNIT_TSAN_TESTS))
	$(Q)tests/run-unit $^

# libFuzzer (clang) over what a guest controls, built from the most complete stage's files:
# fuzz_virtq_blk drives the virtqueue and virtio-blk request path from a working queue;
# fuzz_machine drives the MMIO bus with the PL011, virtio-blk, virtio-console and an empty virtio
# slot through sequences of accesses, set-ups, notifies and resets; fuzz_rtc_rng drives the PL031
# and virtio-rng with odd-width accesses and hostile descriptors; fuzz_gdb drives the gdb stub's
# packet layer and packets, with memory behind page tables the input builds. `make fuzz` runs each for
# FUZZ_SECONDS; `make test` runs a few seconds of each so they cannot rot.
FUZZ_SECONDS ?= 300
FUZZ_STAGE := $(call stage_dir,$(LAST_STAGE))
FUZZ_TARGETS := fuzz_virtq_blk fuzz_machine fuzz_rtc_rng fuzz_gdb
FUZZ_SRCS_fuzz_virtq_blk := common/guest_mem.c \
	$(addprefix $(FUZZ_STAGE)/,virtq.c virtio_mmio.c virtio_blk.c)
FUZZ_SRCS_fuzz_machine := $(FUZZ_SRCS_fuzz_virtq_blk) \
	$(addprefix $(FUZZ_STAGE)/,virtio_console.c pl011.c mmio_bus.c)
FUZZ_SRCS_fuzz_rtc_rng := common/guest_mem.c \
	$(addprefix $(FUZZ_STAGE)/,pl031.c virtq.c virtio_mmio.c virtio_rng.c)
FUZZ_SRCS_fuzz_gdb := common/guest_mem.c common/gdb_packet.c common/gdb_proto.c common/gdb_walk.c
define fuzz_rules
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c tests/fuzz/quiet_log.c $(FUZZ_SRCS_$(1)) $(DEPS_STAMP) \
		$(wildcard tests/fuzz/*.h $(FUZZ_STAGE)/*.h common/*.h)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  CC      $$@ (libFuzzer)")
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -I$(FUZZ_STAGE) \
		$$(filter %.c,$$^) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rules,$(t))))

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	$(Q)for t in $(FUZZ_TARGETS); do mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$t || exit 1; done
fuzz-smoke: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	$(Q)rc=0; for t in $(FUZZ_TARGETS); do log=$(BUILD)/fuzz/smoke-$$t.log; \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  if $(BUILD)/fuzz/$$t -max_total_time=5 -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$t >$$log 2>&1; then \
	    echo "fuzz: $$t: $$(sed -n 's/^stat::number_of_executed_units: *//p' $$log) inputs in 5 s, no findings"; \
	    echo "fuzz 1 0" >>$(BUILD)/results; \
	  else tail -n 30 $$log; echo "fuzz 0 1" >>$(BUILD)/results; rc=1; fi; done; exit $$rc

format-check: $(DEPS_STAMP)
	$(Q)files=$$(git ls-files -co --exclude-standard -- '*.c' '*.h' ':!:work/*'); \
	  if clang-format --dry-run --Werror $$files; then \
	    echo "format: $$(echo $$files | wc -w) files clang-format clean"; echo "format 1 0" >>$(BUILD)/results; \
	  else echo "format 0 1" >>$(BUILD)/results; exit 1; fi

# What format-check checks, formatted in place; the tutorial's snippets of it follow the new text.
reformat: $(DEPS_STAMP)
	$(Q)tests/reformat

check-stages:
	$(Q)tests/check-stages $(STAGE_DIRS)

# The tutorial against the code: its snippets, machine tables, file tables and commands
# (tests/docs-check); then tests/checks.bats shows that check, and check-stages, failing on a tree
# broken on purpose (host-only, a few seconds).
docs-check:
	$(Q)tests/docs-check
	$(Q)tests/run-bats tests/checks.bats

# Everything; every part runs even after a failure, and tests/summary prints the closing line with
# the counts. One make test at a time per checkout (they share build/). On hosts that reach KVM
# through the lab, every suite shares one running lab (started by the first test that needs it; it
# starts booting in the background at once) and the labs this run started are stopped at the end;
# one that was up stays up.
# Two streams share the machine. A booting guest keeps one of the lab's two vCPUs busy, so the
# longest suite, the last assignment's (stage 09 boots Linux some twenty times), runs in the
# background from the moment the stages are built, its output kept until it ends. Everything else
# runs beside it, the builds niced so that they take what the lab leaves. The lab launcher's own
# suite runs last and alone: it starts, kills and outdates labs.
LAB_SUITES := $(if $(NATIVE),,tests/lab.bats)
# The assignments' suites run through the grader (tests/grade/check: the reference scores full
# marks, the handouts do not); the other stages' suites run bare.
PLAIN_SUITES := $(filter-out $(patsubst %,tests/stages/%.bats,$(ASSIGNMENT_NUMS)),$(sort $(wildcard tests/stages/*.bats)))
LONG_ASSIGNMENT := $(lastword $(ASSIGNMENT_NUMS))
JOBS := $(shell nproc 2>/dev/null || echo 2)
test: $(DEPS_STAMP)
	$(Q)exec 9>$(BUILD)/test.lock; \
	if ! flock -n 9; then echo "make test: another make test is running in this checkout; wait for it to end" >&2; exit 1; fi; \
	labs_up=$$($(if $(NATIVE),true,lab/run --up 2>/dev/null) || true); export TEST_START=$$(date +%s); \
	$(if $(NATIVE),,{ timeout 300 lab/run true </dev/null >/dev/null 2>&1 9>&- & };) \
	rm -f $(BUILD)/results $(BUILD)/test-long.log; rc=0; long=; \
	t=$$(date +%s); \
	if $(MAKE) -j$(JOBS) all; then \
	  echo "stages built in $$(($$(date +%s) - t)) s; assignment $(LONG_ASSIGNMENT) is graded in the background"; \
	  t_long=$$(date +%s); setsid tests/grade/check $(LONG_ASSIGNMENT) </dev/null >$(BUILD)/test-long.log 2>&1 9>&- & \
	  long=$$!; trap 'kill -TERM -$$long 2>/dev/null; exit 130' INT TERM; \
	else rc=1; fi; \
	t=$$(date +%s); nice $(MAKE) -j$(JOBS) unit || rc=1; echo "unit tests took $$(($$(date +%s) - t)) s"; \
	$(MAKE) format-check || rc=1; \
	$(MAKE) check-stages || rc=1; \
	$(MAKE) docs-check || rc=1; \
	t=$$(date +%s); nice $(MAKE) -j$(JOBS) fuzz-smoke || rc=1; echo "fuzzers took $$(($$(date +%s) - t)) s"; \
	if [ -n "$$long" ]; then \
	  tests/run-bats $(PLAIN_SUITES) tests/grade/cut-hole.bats tests/grade/grade.bats 9>&- || rc=1; \
	  tests/grade/check $(filter-out $(LONG_ASSIGNMENT),$(ASSIGNMENT_NUMS)) 9>&- || rc=1; \
	  if command -v gdb-multiarch >/dev/null; then tests/run-bats tests/gdb.bats 9>&- || rc=1; \
	  else echo "gdb: no gdb-multiarch, so the gdb stub's suite does not run (make deps-gdb)"; fi; \
	  t=$$(date +%s); wait $$long || rc=1; trap - INT TERM; \
	  echo "--- assignment $(LONG_ASSIGNMENT), graded in the background: it took $$(($$(date +%s) - t_long)) s, the last $$(($$(date +%s) - t)) s waited for"; \
	  cat $(BUILD)/test-long.log; \
	  $(if $(LAB_SUITES),tests/run-bats $(LAB_SUITES) 9>&- || rc=1;) \
	fi; \
	$(if $(NATIVE),,lab/run --stop-except $$labs_up;) \
	tests/summary || rc=1; \
	exit $$rc

# The gdb stub's suite: gdb-multiarch against stages 05 and 09 (installed here, not for everyone).
.PHONY: test-gdb deps-gdb
deps-gdb:
	$(Q)lab/deps --gdb
test-gdb: deps-gdb stage-05 stage-09
	$(Q)tests/run-bats tests/gdb.bats

# The lab launcher's own suite (cold and warm starts, a killed lab, idle stop, terminal mode).
test-lab: all
	$(Q)tests/run-bats tests/lab.bats

# The README's test command in a clean Debian 12 root with only gcc, make, bats and git, so a
# missing install step cannot hide behind what this machine has (needs root: sudo make fresh-check).
# FRESH_CMD picks another command, e.g. make fresh-check FRESH_CMD="make run".
FRESH_CMD ?= make test
fresh-check:
	$(Q)tests/fresh-check $(FRESH_CMD)

# The most complete stage present, with what its stage.mk gives `make run` (STAGE_RUN).
run: stage-$(LAST_STAGE)
	./stage-$(LAST_STAGE) $(RUN_$(LAST_STAGE))

# Stage 09 with firmware: Debian's U-Boot (make deps fetches it) boots the guest Linux from a
# distribution's kind of disk (build/linux/boot-disk.img) through its distro boot; a key during
# its countdown gives U-Boot's prompt instead.
run-uboot: stage-09
	./stage-09 --cpus 2 --firmware $(BUILD)/deps/u-boot.bin --disk $(BUILD)/linux/boot-disk.img,ro

bench: all
	$(Q)tests/bench

lab: $(DEPS_STAMP)
	$(Q)lab/run sh -l

# The lab stays up between commands; these show and stop it (LAB=NAME... stops only those labs).
lab-status:
	$(Q)lab/run --status || true
lab-stop:
	$(Q)lab/run --stop $(LAB)

clean:
	$(Q)[ -n "$(NATIVE)" ] || [ ! -d $(BUILD)/lab ] || lab/run --stop
	rm -rf $(BUILD) $(addprefix ./stage-,$(STAGE_NUMS)) $(addprefix ./work-,$(STAGE_NUMS)) guest/*.bin guest/*.elf

-include $(shell find $(VMM_DIR) -name '*.d' -type f 2>/dev/null)
