# guest/guest.mk - builds the bare-metal guest programs, raw binaries loaded at 0x40080000.
#
# Included by the top-level Makefile, from the top of the tree, which sets:
#   GUEST_CC       compiler for arm64 bare metal (aarch64-linux-gnu-gcc, or gcc on an arm64 host)
#   GUEST_OBJCOPY  the matching objcopy
#   BUILD          build directory; objects and ELF files go to $(BUILD)/guest/
#   Q              empty to show commands, @ to hide them
# and gets GUESTS, GUEST_BINS and a rule for each guest/NAME.bin, with guest/NAME.elf beside it: the
# same program with its symbols and line numbers, for gdb (`gdb-multiarch guest/NAME.elf`).
#
# memory, simple and hello are single assembly files; the C guests link the runtime in guest/lib/.
# hostile-blk-forever is hostile-blk.c built again with HOSTILE_FOREVER defined.

GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

GUESTS_ASM := memory simple hello
GUESTS_C := echo irq timer virtio-blk virtio-console hostile-blk hostile-blk-forever bad-notify
GUESTS := $(GUESTS_ASM) $(GUESTS_C)
GUEST_BINS := $(GUESTS:%=$(GUEST_DIR)/%.bin)

GUEST_LIB := start vectors exception uart printf gic psci
GUEST_LIB_OBJS := $(GUEST_LIB:%=$(BUILD)/guest/lib/%.o)
# The virtio driver library, linked only into the guests that drive virtio devices.
GUEST_VIRTIO_OBJS := $(BUILD)/guest/lib/virtio.o
# Starting a second CPU, linked only into the guests that run on two.
GUEST_SMP_OBJS := $(BUILD)/guest/lib/smp.o
GUEST_LDSCRIPT := $(GUEST_DIR)/lib/guest.ld

# -g: source lines for gdb, kept in the .elf only (objcopy -O binary copies no debug sections).
# -mgeneral-regs-only: no FP/SIMD registers, which trap until a guest enables them (CPACR_EL1).
# -mstrict-align: with the MMU off all memory is Device memory, where unaligned accesses fault.
# The -fno-* flags turn off what hosted toolchains add by default (stack protector, PIE, branch
# protection, unwind tables), none of which bare metal provides.
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -mgeneral-regs-only \
	-mstrict-align -fno-stack-protector -fno-pie -mbranch-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -I$(GUEST_DIR)/lib -MMD -MP
GUEST_LDFLAGS := -nostdlib -nostartfiles -static -no-pie -Wl,-T,$(GUEST_LDSCRIPT) \
	-Wl,--build-id=none -Wl,-z,noexecstack

GUEST_ELFS := $(GUESTS:%=$(BUILD)/guest/%.elf)
GUEST_OBJS := $(GUESTS:%=$(BUILD)/guest/%.o) $(GUEST_LIB_OBJS) $(GUEST_VIRTIO_OBJS) $(GUEST_SMP_OBJS)

# Every object depends on this file too: a change of flags (-g for gdb, say) rebuilds the guests.
$(BUILD)/guest/%.o: $(GUEST_DIR)/%.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/guest/%.o: $(GUEST_DIR)/%.S $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/guest/hostile-blk-forever.o: $(GUEST_DIR)/hostile-blk.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -DHOSTILE_FOREVER -c -o $@ $<

$(GUESTS_C:%=$(BUILD)/guest/%.elf): $(GUEST_LIB_OBJS)
$(BUILD)/guest/virtio-blk.elf $(BUILD)/guest/virtio-console.elf $(BUILD)/guest/bad-notify.elf: \
	$(GUEST_VIRTIO_OBJS)
$(BUILD)/guest/hostile-blk.elf $(BUILD)/guest/hostile-blk-forever.elf: $(GUEST_VIRTIO_OBJS) \
	$(GUEST_SMP_OBJS)

$(GUEST_ELFS): $(BUILD)/guest/%.elf: $(BUILD)/guest/%.o $(GUEST_LDSCRIPT)
	$(Q)$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# The .bin is what the VMMs load; the .elf beside it (its debug sections are not loaded) is gdb's.
GUEST_DEBUG_ELFS := $(GUESTS:%=$(GUEST_DIR)/%.elf)
$(GUEST_BINS): $(GUEST_DIR)/%.bin: $(BUILD)/guest/%.elf
	$(Q)$(GUEST_OBJCOPY) -O binary $< $@
$(GUEST_DEBUG_ELFS): $(GUEST_DIR)/%.elf: $(BUILD)/guest/%.elf
	$(Q)cp $< $@

-include $(GUEST_OBJS:.o=.d)
