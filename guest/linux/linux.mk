# guest/linux/linux.mk - the guest Linux that stage 09 boots by default: Debian's arm64 kernel, an
# initramfs with busybox and guest/linux/init, and a small ext4 disk image for tests.
#
# Included by the top-level Makefile, from the top of the tree, which sets:
#   BUILD       build directory; everything here goes to $(BUILD)/linux/
#   Q           empty to show commands, @ to hide them
#   DEPS_STAMP  the stamp whose rule runs lab/deps, which downloads Debian's kernel and busybox
#               packages and unpacks them under $(BUILD)/deps/
# and gets these targets:
#   linux               the four files below
#   $(LINUX_IMAGE)      the kernel (an uncompressed arm64 Image)
#   $(LINUX_INITRAMFS)  the initramfs, with the test and bench programs of $(LINUX_PROGRAMS) in
#                       its /bin
#   $(LINUX_DISK)       an ext4 image holding guest/linux/disk/ (tests copy it before writing to it)
#   $(LINUX_BOOT_DISK)  a disk firmware boots this guest from: a partition table, one ext4
#                       partition with the kernel, the initramfs and extlinux/extlinux.conf
#   linux-qemu          boot this guest under QEMU, the reference machine (LINUX_CMD=... to pass a
#                       command, LINUX_QEMU_ARGS=... for more QEMU options)
# Each file is rebuilt only when its inputs change.

LINUX_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LINUX_OUT := $(BUILD)/linux
LINUX_IMAGE := $(LINUX_OUT)/Image
LINUX_INITRAMFS := $(LINUX_OUT)/initramfs.cpio.gz
LINUX_DISK := $(LINUX_OUT)/disk.ext4
LINUX_BOOT_DISK := $(LINUX_OUT)/boot-disk.img
LINUX_FILES := $(LINUX_IMAGE) $(LINUX_INITRAMFS) $(LINUX_DISK) $(LINUX_BOOT_DISK)

# lab/deps leaves a .unpacked stamp in each package it unpacks, renewed when the package changes.
LINUX_KERNEL_PKG := $(BUILD)/deps/kernel/.unpacked
LINUX_BUSYBOX_PKG := $(BUILD)/deps/busybox/.unpacked
$(LINUX_KERNEL_PKG) $(LINUX_BUSYBOX_PKG): $(DEPS_STAMP) ;

.PHONY: linux linux-qemu
linux: $(LINUX_FILES)

$(LINUX_IMAGE): $(LINUX_KERNEL_PKG)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)cp -L $(BUILD)/deps/Image $@.tmp && mv $@.tmp $@

# The kernel's symbols for gdb (`break *0x...`), as System.map lists them: `make linux-symbols`.
# Debian's package ships only a placeholder System.map (the real one is in its -dbg package, a
# gigabyte), so the kernel is asked: one boot under stage 09 writes its /proc/kallsyms' code symbols
# to a scratch copy of the disk, and debugfs takes the file out. That boot, and one to debug, pass
# nokaslr: a CPU with FEAT_RNG seeds KASLR itself, and the kernel would move at every boot.
LINUX_SYMBOLS := $(LINUX_OUT)/System.map
.PHONY: linux-symbols
linux-symbols: $(LINUX_SYMBOLS)
$(LINUX_SYMBOLS): $(LINUX_IMAGE) $(LINUX_INITRAMFS) $(LINUX_DISK) | stage-09
	@$(if $(Q),echo "  GEN     $@ (booting the guest once)")
	$(Q)cp $(LINUX_DISK) $@.disk && \
	  ./stage-09 --disk $@.disk -a "console=ttyAMA0 quiet nokaslr -- \"grep ' [tT] ' /proc/kallsyms >/mnt/System.map\"" \
	    </dev/null >$@.log 2>&1 && \
	  debugfs -R "dump /System.map $@.tmp" $@.disk >>$@.log 2>&1 && [ -s $@.tmp ] || \
	  { echo "linux-symbols: could not read the guest's /proc/kallsyms (see $@.log)" >&2; exit 1; }
	$(Q)rm -f $@.disk && mv $@.tmp $@

# Programs for the guest's /bin, for the tests and make bench: static, so the initramfs needs no C
# library.
LINUX_PROGRAMS := $(LINUX_OUT)/sve-check $(LINUX_OUT)/pmu-check $(LINUX_OUT)/disk-bench
$(LINUX_OUT)/sve-check: $(LINUX_DIR)/sve-check.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(GUEST_CC) -static -O2 -march=armv8-a+sve -Wall -Wextra -Werror -o $@ $<
$(LINUX_OUT)/pmu-check $(LINUX_OUT)/disk-bench: $(LINUX_OUT)/%: $(LINUX_DIR)/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(GUEST_CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

$(LINUX_INITRAMFS): $(LINUX_DIR)/mkinitramfs $(LINUX_DIR)/init $(LINUX_DIR)/inittab \
		$(LINUX_KERNEL_PKG) $(LINUX_BUSYBOX_PKG) $(LINUX_PROGRAMS)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)BUILD=$(BUILD) $(LINUX_DIR)/mkinitramfs $@ $(LINUX_PROGRAMS)

# 32 MiB: room for what tests write, small enough to copy for every test.
$(LINUX_DISK): $(LINUX_DIR)/disk $(wildcard $(LINUX_DIR)/disk/*) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)rm -f $@.tmp && truncate -s 32M $@.tmp
	$(Q)mkfs.ext4 -q -L veleiro -E root_owner=0:0 -d $(LINUX_DIR)/disk $@.tmp
	$(Q)mv $@.tmp $@

$(LINUX_BOOT_DISK): $(LINUX_DIR)/mkbootdisk $(LINUX_IMAGE) $(LINUX_INITRAMFS)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(LINUX_DIR)/mkbootdisk $@ $(LINUX_IMAGE) $(LINUX_INITRAMFS)

LINUX_CMD ?=
linux-qemu: $(LINUX_IMAGE) $(LINUX_INITRAMFS)
	qemu-system-aarch64 -M virt -cpu max -nic none -smp 2 -m 1G -nographic -kernel $(LINUX_IMAGE) \
		-initrd $(LINUX_INITRAMFS) $(LINUX_QEMU_ARGS) \
		-append "console=ttyAMA0 $(if $(LINUX_CMD),-- $(LINUX_CMD))"
