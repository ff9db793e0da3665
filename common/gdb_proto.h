/*
 * gdb_proto.h - the packets a gdb stub for an arm64 guest answers (GDB manual, "Remote Serial
 * Protocol": "Packets", "Stop Reply Packets", "General Query Packets", "Target Descriptions"),
 * over a target given as callbacks: the VMM's vCPUs and guest memory (gdb_kvm.c), or a fake one
 * in the unit tests and the fuzzer. Nothing here touches KVM or a socket.
 *
 * Threads are vCPUs: gdb thread N is vCPU N-1 (gdb's thread IDs start at 1). Registers are
 * numbered as the target description (target.xml, sent through qXfer:features:read) lists them:
 * x0-x30 0-30, sp 31, pc 32, cpsr 33, v0-v31 34-65, fpsr 66, fpcr 67.
 */
#ifndef VELEIRO_GDB_PROTO_H
#define VELEIRO_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_packet.h"

#define GDB_REG_SP 31
#define GDB_REG_PC 32
#define GDB_REG_CPSR 33
#define GDB_REG_V0 34
#define GDB_REG_FPSR 66
#define GDB_REG_FPCR 67
#define GDB_NREGS 68

/* Its size in bytes: 8 for x0-x30, sp and pc, 4 for cpsr, fpsr and fpcr, 16 for v0-v31. */
unsigned int gdb_reg_size(unsigned int regno);

/* The Z/z packets' types (GDB manual, "Packets", "z type,addr,kind"). */
enum gdb_bp_type {
	GDB_BP_SW, /* software: an instruction replaced by BRK */
	GDB_BP_HW, /* hardware: a breakpoint register */
	GDB_WP_WRITE, /* watchpoints: watch, rwatch, awatch */
	GDB_WP_READ,
	GDB_WP_ACCESS,
};

/* Why the target stopped, for a stop reply. */
struct gdb_stop {
	unsigned int thread; /* gdb's thread ID, from 1 */
	int signal; /* 5 (SIGTRAP) for breakpoints and steps, 2 (SIGINT) for Ctrl-C */
	int watch; /* 0, or the watchpoint's type (GDB_WP_*) */
	uint64_t addr; /* the watched address that was accessed */
};

/* The target: every call is made while all vCPUs are stopped. Errors are negative errnos. */
struct gdb_target {
	void *ctx;
	/* How many threads (vCPUs) there are; thread IDs run from 1 to that. */
	unsigned int (*threads)(void *ctx);
	/* One register into buf (gdb_reg_size bytes, little-endian), or from it. */
	int (*get_reg)(void *ctx, unsigned int thread, unsigned int regno, uint8_t *buf);
	int (*set_reg)(void *ctx, unsigned int thread, unsigned int regno, const uint8_t *buf);
	/* Memory by virtual address: how many bytes were copied, stopping at the first unmapped. */
	size_t (*read_mem)(void *ctx, unsigned int thread, uint64_t addr, uint8_t *buf, size_t len);
	size_t (*write_mem)(void *ctx, unsigned int thread, uint64_t addr, const uint8_t *buf,
			    size_t len);
	/* Insert or remove a breakpoint or watchpoint: 0, -ENOSPC (none left), -EFAULT, -EINVAL. */
	int (*breakpoint)(void *ctx, unsigned int thread, enum gdb_bp_type type, bool insert,
			  uint64_t addr, uint64_t kind);
	/* Let the target run: every vCPU (step 0), or only thread `step`, for one instruction. */
	void (*resume)(void *ctx, unsigned int step);
};

/* One gdb connection's state. */
struct gdb_session {
	unsigned int g_thread; /* the thread registers and memory are read for (Hg) */
	unsigned int c_thread; /* the thread `s` steps (Hc); 0: g_thread */
	bool no_ack; /* QStartNoAckMode: gdb and we stopped sending + and - */
	struct gdb_stop last; /* the last stop, for `?` */
};

/* What gdb_handle asks of the caller after the reply (which it sends first, if any). */
enum gdb_action {
	GDB_REPLY, /* send tx, wait for the next packet */
	GDB_RESUMED, /* the target runs: no reply until it stops (gdb_stop_reply) */
	GDB_DETACH, /* send tx (OK), then let the target run free and drop the connection */
	GDB_KILL, /* send tx (OK for vKill, empty for k, which has no reply), then end the target */
};

void gdb_session_init(struct gdb_session *s, const struct gdb_stop *stop);
/* Answer the packet pkt (len bytes, NUL-terminated) into tx. */
enum gdb_action gdb_handle(struct gdb_session *s, const struct gdb_target *t, const char *pkt,
			   size_t len, struct gdb_tx *tx);
/* The stop reply for stop, into tx; it becomes the session's last stop. */
void gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *stop, struct gdb_tx *tx);

#endif
