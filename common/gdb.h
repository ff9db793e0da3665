/*
 * gdb.h - a gdb stub for the guest (--gdb [HOST:]PORT, --gdb-wait): what a stage's option table
 * and run loop call. The stub is the VMM's, not the lesson of any stage: it lives in common/
 * (gdb_kvm.c, over gdb_proto.c, gdb_packet.c and gdb_walk.c), and a run loop reaches it through
 * the calls below. Chapter 04 ("Debugging your guest") explains what it does with KVM.
 */
#ifndef VELEIRO_GDB_H
#define VELEIRO_GDB_H

#include "guest_mem.h"
#include "opts.h"

struct kvm_run;

/* The options, for a stage's table: --gdb [HOST:]PORT and --gdb-wait. */
#define OPT_GDB (OPT_LONG_ONLY + 32)
#define OPT_GDB_WAIT (OPT_LONG_ONLY + 33)
#define GDB_OPT_HELP "let gdb debug the guest: listen on PORT (127.0.0.1 unless HOST is given)"
#define GDB_WAIT_OPT_HELP "with --gdb: stop before the guest's first instruction until gdb says go"

/* Take one of them; --gdb starts listening at once, so a port in use is one line, exit 1. */
void gdb_option(int key, const char *value);

/* Where guest RAM is, for gdb's memory reads and writes (and breakpoints). */
void gdb_guest_ram(const struct guest_mem *ram);

/*
 * Before every KVM_RUN of vCPU `index` (fd, its kvm_run): waits there while gdb holds the guest
 * stopped, and hands KVM the vCPU's debug settings when gdb changed them. Nothing without --gdb.
 */
void gdb_vcpu_enter(unsigned int index, int fd, struct kvm_run *run);

/*
 * The machine is stopping (a power-off or reset from another vCPU, Ctrl-A x): from now on no
 * vCPU waits for gdb, so each sees the stop and the VMM ends, or boots again, in its usual time
 * whatever gdb does. The next boot's gdb_guest_ram() gives gdb its vCPUs back.
 */
void gdb_machine_stopping(void);

/* KVM_EXIT_DEBUG: a breakpoint, watchpoint or step of gdb's; the guest stops at the next enter. */
void gdb_vcpu_debug_exit(unsigned int index, struct kvm_run *run);

#endif
