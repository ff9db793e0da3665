/*
 * gdb_kvm.c - the gdb stub's KVM half: a thread serving one gdb connection, the vCPUs it stops
 * and starts, and KVM's debug interface (api.rst 4.63 KVM_SET_GUEST_DEBUG, 5 "KVM_EXIT_DEBUG";
 * for arm64, Documentation/virt/kvm/arm's notes and the Arm ARM D2 "AArch64 Self-hosted Debug").
 *
 * Stopping: gdb sees all-stop semantics, every vCPU stopped or none. A stop (Ctrl-C, a new
 * connection, a breakpoint on one vCPU) sets `stopping`, and each vCPU parks in gdb_vcpu_enter
 * before its next KVM_RUN; one inside KVM_RUN is kicked out by a signal, with immediate_exit for
 * one between the check and KVM_RUN (api.rst 5, "immediate_exit"). When every vCPU is parked,
 * the server thread reads and writes their registers with KVM_{GET,SET}_ONE_REG: a parked vCPU
 * is in no ioctl, so KVM lets another thread use it.
 *
 * Debugging: KVM_SET_GUEST_DEBUG asks KVM to trap, for the VMM, what would otherwise go to the
 * guest: BRK instructions (KVM_GUESTDBG_USE_SW_BP), the hardware breakpoint and watchpoint
 * registers gdb fills (KVM_GUESTDBG_USE_HW), and one instruction at a time
 * (KVM_GUESTDBG_SINGLESTEP). Each vCPU is told its settings from its own thread, at its next
 * gdb_vcpu_enter after gdb changed them.
 *
 * Only arm64 builds link this file: the unit tests and fuzzers, built for the host, test the
 * protocol (gdb_proto.c) and the walker (gdb_walk.c) with a target of their own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "gdb.h"
#include "gdb_proto.h"
#include "gdb_walk.h"
#include "log.h"

#define MAX_VCPUS 512
#define MAX_SW_BPS 256
#define KICK SIGUSR2 /* the stages' own kick, if any, is SIGUSR1 */
#define BRK_0 0xd4200000u /* BRK #0 (Arm ARM C6.2.38), what a software breakpoint writes */
#define SEND_TIMEOUT_S 2 /* longest a reply may wait for gdb to read (send_all) */

/* Exception classes in the ESR KVM reports with KVM_EXIT_DEBUG (Arm ARM D19.2.46 ESR_EL2.EC). */
#define EC_HW_BP_LOWER 0x30
#define EC_SS_LOWER 0x32
#define EC_WATCH_LOWER 0x34
#define EC_BRK64 0x3c

/* Register IDs for KVM_{GET,SET}_ONE_REG (api.rst 4.68, "ARM64 registers"). */
#define CORE(field, size) \
	(KVM_REG_ARM64 | (size) | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))
#define SYSREG_SCTLR ARM64_SYS_REG(3, 0, 1, 0, 0)
#define SYSREG_TTBR0 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define SYSREG_TTBR1 ARM64_SYS_REG(3, 0, 2, 0, 1)
#define SYSREG_TCR ARM64_SYS_REG(3, 0, 2, 0, 2)

struct vcpu {
	bool present;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool parked; /* waiting in gdb_vcpu_enter */
	bool kicked; /* we set its immediate_exit */
	bool held; /* stays parked while another vCPU steps */
	bool step; /* runs one instruction at its next KVM_RUN */
	unsigned int applied_gen; /* the debug settings KVM has for it */
	bool applied_step;
	bool has_stop; /* a KVM_EXIT_DEBUG since it last ran: esr and far */
	uint32_t esr;
	uint64_t far;
};

struct watch {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr, len;
};

static struct {
	bool enabled, wait;
	char where[80]; /* HOST:PORT, for messages */
	int listen_fd, client_fd, wake[2];
	int max_bps, max_wps; /* what the host offers (KVM_CAP_GUEST_DEBUG_HW_BPS / _WPS) */
	pthread_mutex_t lock;
	pthread_cond_t resume;
	unsigned int resume_gen;
	bool stopping; /* vCPUs park at their next gdb_vcpu_enter */
	bool released; /* the machine is stopping: no vCPU parks (gdb_machine_stopping) */
	int stop_signal; /* for a stop no vCPU caused: 5 at attach, 2 for Ctrl-C */
	unsigned int nvcpus;
	struct vcpu v[MAX_VCPUS];
	const struct guest_mem *ram;
	/* The debug settings every vCPU gets: control flags and the registers gdb filled. */
	unsigned int debug_gen;
	struct kvm_guest_debug_arch arch;
	bool bp_used[KVM_ARM_MAX_DBG_REGS];
	struct watch wp[KVM_ARM_MAX_DBG_REGS];
	struct {
		uint64_t addr, pa;
		uint32_t insn;
	} sw[MAX_SW_BPS];
	unsigned int nsw;
	struct gdb_session session;
	struct gdb_rx rx;
	struct gdb_tx tx;
} g = { .listen_fd = -1,
	.client_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.resume = PTHREAD_COND_INITIALIZER,
	.debug_gen = 1 };

/* --- the vCPUs' side ------------------------------------------------------------------------ */

static void kick_handler(int sig)
{
}

static void wake_server(void)
{
	if (write(g.wake[1], "", 1) < 0) {
		/* the pipe is full: the server has wake-ups to read already */
	}
}

/* Every vCPU parks at its next entry; those in KVM_RUN are kicked out of it. Lock held. */
static void request_stop(int signal)
{
	if (g.stopping)
		return;
	g.stopping = true;
	g.stop_signal = signal;
	for (unsigned int i = 0; i < g.nvcpus; i++) {
		struct vcpu *v = &g.v[i];

		if (!v->present || v->parked || pthread_equal(v->thread, pthread_self()))
			continue;
		v->kicked = true;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, KICK);
	}
	wake_server();
}

static void apply_debug(struct vcpu *v, unsigned int index)
{
	struct kvm_guest_debug dbg = { .arch = g.arch };
	bool hw = false;

	for (int i = 0; i < KVM_ARM_MAX_DBG_REGS; i++)
		hw |= g.bp_used[i] || g.wp[i].used;
	if (g.client_fd >= 0 && (g.nsw || hw || v->step))
		dbg.control = KVM_GUESTDBG_ENABLE | (g.nsw ? KVM_GUESTDBG_USE_SW_BP : 0) |
			      (hw ? KVM_GUESTDBG_USE_HW : 0) |
			      (v->step ? KVM_GUESTDBG_SINGLESTEP : 0);
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		warn("gdb: vCPU %u: KVM_SET_GUEST_DEBUG: %s", index, strerror(errno));
	v->applied_gen = g.debug_gen;
	v->applied_step = v->step;
}

void gdb_vcpu_enter(unsigned int index, int fd, struct kvm_run *run)
{
	if (!g.enabled) {
		if (g.wait)
			die("--gdb-wait waits for gdb: give --gdb [HOST:]PORT too");
		return;
	}
	if (index >= MAX_VCPUS)
		die("gdb: vCPU %u: the gdb stub takes at most %d vCPUs", index, MAX_VCPUS);
	pthread_mutex_lock(&g.lock);
	struct vcpu *v = &g.v[index];
	/* A new vCPU, or the same index in a new boot (stage 09's reset): KVM knows nothing yet. */
	if (!v->present || v->fd != fd || v->run != run ||
	    !pthread_equal(v->thread, pthread_self())) {
		*v = (struct vcpu){
			.present = true, .fd = fd, .run = run, .thread = pthread_self()
		};
		if (index >= g.nvcpus)
			g.nvcpus = index + 1;
	}
	if (v->kicked) {
		__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		v->kicked = false;
	}
	while (!g.released && (g.stopping || v->held)) {
		unsigned int gen = g.resume_gen;

		v->parked = true;
		wake_server();
		while (gen == g.resume_gen)
			pthread_cond_wait(&g.resume, &g.lock);
		v->parked = false;
	}
	if (v->applied_gen != g.debug_gen || v->applied_step != v->step)
		apply_debug(v, index);
	pthread_mutex_unlock(&g.lock);
}

void gdb_machine_stopping(void)
{
	if (!g.enabled)
		return;
	pthread_mutex_lock(&g.lock);
	g.released = true;
	g.resume_gen++;
	pthread_cond_broadcast(&g.resume);
	wake_server();
	pthread_mutex_unlock(&g.lock);
}

void gdb_vcpu_debug_exit(unsigned int index, struct kvm_run *run)
{
	if (!g.enabled || index >= MAX_VCPUS)
		return;
	pthread_mutex_lock(&g.lock);
	/* With nobody attached (gdb just left), the vCPU runs on with the settings it gets next. */
	if (g.client_fd >= 0) {
		g.v[index].has_stop = true;
		g.v[index].esr = run->debug.arch.hsr;
		g.v[index].far = run->debug.arch.far;
		request_stop(5);
	}
	pthread_mutex_unlock(&g.lock);
}

void gdb_guest_ram(const struct guest_mem *ram)
{
	pthread_mutex_lock(&g.lock);
	g.ram = ram;
	g.released = false; /* a new boot (stage 09's reset): its vCPUs are gdb's again */
	pthread_mutex_unlock(&g.lock);
}

/* --- the target gdb_proto.c works on (every vCPU parked, lock held) ---------------------------- */

static struct vcpu *vcpu_of(unsigned int thread)
{
	if (thread == 0 || thread > g.nvcpus || !g.v[thread - 1].present)
		return NULL;
	return &g.v[thread - 1];
}

static unsigned int t_threads(void *ctx)
{
	return g.nvcpus;
}

static int one_reg(int fd, uint64_t id, void *buf, bool set)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)buf };

	return ioctl(fd, set ? KVM_SET_ONE_REG : KVM_GET_ONE_REG, &reg) < 0 ? -errno : 0;
}

/*
 * The KVM register behind gdb's register regno. gdb's sp is the stack pointer in use, which
 * PSTATE.SP chooses: SP_EL1 in EL1h, SP_EL0 (KVM's regs.sp) in EL1t and EL0.
 */
static int reg_id(int fd, unsigned int regno, uint64_t *id)
{
	uint64_t pstate;

	if (regno <= 30)
		*id = CORE(regs.regs[regno], KVM_REG_SIZE_U64);
	else if (regno == GDB_REG_SP) {
		int err = one_reg(fd, CORE(regs.pstate, KVM_REG_SIZE_U64), &pstate, false);

		if (err)
			return err;
		*id = (pstate & 1) && (pstate & 0xc) ? CORE(sp_el1, KVM_REG_SIZE_U64)
						     : CORE(regs.sp, KVM_REG_SIZE_U64);
	} else if (regno == GDB_REG_PC)
		*id = CORE(regs.pc, KVM_REG_SIZE_U64);
	else if (regno == GDB_REG_CPSR)
		*id = CORE(regs.pstate, KVM_REG_SIZE_U64);
	else if (regno < GDB_REG_FPSR)
		*id = CORE(fp_regs.vregs[regno - GDB_REG_V0], KVM_REG_SIZE_U128);
	else if (regno == GDB_REG_FPSR)
		*id = CORE(fp_regs.fpsr, KVM_REG_SIZE_U32);
	else
		*id = CORE(fp_regs.fpcr, KVM_REG_SIZE_U32);
	return 0;
}

static int t_reg(unsigned int thread, unsigned int regno, uint8_t *buf, bool set)
{
	struct vcpu *v = vcpu_of(thread);
	uint8_t value[16] = { 0 };
	uint64_t id;
	int err;

	if (!v || regno >= GDB_NREGS)
		return -EINVAL;
	err = reg_id(v->fd, regno, &id);
	if (err)
		return err;
	/* cpsr is 32 bits to gdb and 64 to KVM: the upper half is kept as it is. */
	if (regno == GDB_REG_CPSR && (err = one_reg(v->fd, id, value, false)))
		return err;
	if (set) {
		memcpy(value, buf, gdb_reg_size(regno));
		return one_reg(v->fd, id, value, true);
	}
	err = one_reg(v->fd, id, value, false);
	if (!err)
		memcpy(buf, value, gdb_reg_size(regno));
	return err;
}

static int t_get_reg(void *ctx, unsigned int thread, unsigned int regno, uint8_t *buf)
{
	return t_reg(thread, regno, buf, false);
}

static int t_set_reg(void *ctx, unsigned int thread, unsigned int regno, const uint8_t *buf)
{
	return t_reg(thread, regno, (uint8_t *)buf, true);
}

static int mmu_of(struct vcpu *v, struct gdb_mmu *mmu)
{
	int err = one_reg(v->fd, SYSREG_SCTLR, &mmu->sctlr, false);

	if (!err)
		err = one_reg(v->fd, SYSREG_TCR, &mmu->tcr, false);
	if (!err)
		err = one_reg(v->fd, SYSREG_TTBR0, &mmu->ttbr0, false);
	if (!err)
		err = one_reg(v->fd, SYSREG_TTBR1, &mmu->ttbr1, false);
	return err;
}

/* Copy between buf and guest memory at virtual address addr, page by page: bytes done. */
static size_t access_mem(unsigned int thread, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	struct vcpu *v = vcpu_of(thread);
	struct gdb_mmu mmu;
	size_t done = 0;

	if (!v || !g.ram || mmu_of(v, &mmu))
		return 0;
	while (done < len) {
		uint64_t pa, span;

		if (gdb_walk(g.ram, &mmu, addr + done, &pa, &span))
			break;
		size_t n = span < len - done ? (size_t)span : len - done;
		uint8_t *host = guest_ptr(g.ram, pa, n);
		if (!host)
			break;
		if (write) {
			memcpy(host, buf + done, n);
			/* The guest may run what was written (a breakpoint): no stale instructions. */
			__builtin___clear_cache((char *)host, (char *)host + n);
		} else {
			memcpy(buf + done, host, n);
		}
		done += n;
	}
	return done;
}

static size_t t_read_mem(void *ctx, unsigned int thread, uint64_t addr, uint8_t *buf, size_t len)
{
	return access_mem(thread, addr, buf, len, false);
}

static size_t t_write_mem(void *ctx, unsigned int thread, uint64_t addr, const uint8_t *buf,
			  size_t len)
{
	return access_mem(thread, addr, (uint8_t *)buf, len, true);
}

/* A software breakpoint: the instruction at addr becomes BRK #0, and comes back on removal. */
static int sw_breakpoint(unsigned int thread, bool insert, uint64_t addr)
{
	uint8_t brk[4] = { BRK_0 & 0xff, (BRK_0 >> 8) & 0xff, (BRK_0 >> 16) & 0xff, BRK_0 >> 24 };
	unsigned int i;

	for (i = 0; i < g.nsw && g.sw[i].addr != addr; i++)
		;
	if (!insert) {
		if (i == g.nsw)
			return 0;
		access_mem(thread, addr, (uint8_t *)&g.sw[i].insn, 4, true);
		g.sw[i] = g.sw[--g.nsw];
		return 0;
	}
	if (i < g.nsw)
		return 0;
	if (g.nsw == MAX_SW_BPS)
		return -ENOSPC;
	if (addr & 3)
		return -EINVAL;
	if (access_mem(thread, addr, (uint8_t *)&g.sw[i].insn, 4, false) != 4 ||
	    access_mem(thread, addr, brk, 4, true) != 4)
		return -EFAULT;
	g.sw[i].addr = addr;
	g.nsw++;
	return 0;
}

/*
 * DBGBCR<n>_EL1 (Arm ARM D19.3.2): E (bit 0), PMC = 0b11 (bits 2:1, EL1 and EL0), BAS = 0b1111
 * (bits 8:5, the whole A64 instruction). DBGWCR<n>_EL1 (D19.3.12): E, PAC = 0b11, LSC (bits 4:3:
 * 1 load, 2 store, 3 both), BAS (bits 12:5, which bytes of the doubleword at DBGWVR), and MASK
 * (bits 28:24) for a power-of-two region of 8 bytes or more.
 */
static int hw_breakpoint(enum gdb_bp_type type, bool insert, uint64_t addr, uint64_t len)
{
	bool watch = type != GDB_BP_HW;
	int max = watch ? g.max_wps : g.max_bps;
	uint64_t ctrl, value;
	int free = -1;

	if (watch) {
		uint64_t lsc = type == GDB_WP_READ ? 1 : type == GDB_WP_WRITE ? 2 : 3;
		uint64_t off = addr & 7;

		if (len == 0)
			return -EINVAL;
		if (off + len <= 8) {
			ctrl = ((1ULL << len) - 1) << (off + 5);
			value = addr - off;
		} else if (!(len & (len - 1)) && !(addr & (len - 1)) && len <= (1ULL << 31)) {
			ctrl = 0xffULL << 5 | (uint64_t)__builtin_ctzll(len) << 24;
			value = addr;
		} else {
			return -EINVAL; /* gdb then watches in pieces, or by single-stepping */
		}
		ctrl |= 1 | 3 << 1 | lsc << 3;
	} else {
		if (addr & 3)
			return -EINVAL;
		ctrl = 1 | 3 << 1 | 0xf << 5;
		value = addr;
	}
	for (int i = 0; i < max; i++) {
		__u64 *c = watch ? &g.arch.dbg_wcr[i] : &g.arch.dbg_bcr[i];
		__u64 *a = watch ? &g.arch.dbg_wvr[i] : &g.arch.dbg_bvr[i];
		bool used = watch ? g.wp[i].used : g.bp_used[i];

		if (used && *c == ctrl && *a == value) {
			if (insert)
				return 0;
			*c = *a = 0;
			if (watch)
				g.wp[i].used = false;
			else
				g.bp_used[i] = false;
			return 0;
		}
		if (!used && free < 0)
			free = i;
	}
	if (!insert)
		return 0;
	if (free < 0)
		return -ENOSPC;
	if (watch) {
		g.arch.dbg_wcr[free] = ctrl;
		g.arch.dbg_wvr[free] = value;
		g.wp[free] = (struct watch){ .used = true, .type = type, .addr = addr, .len = len };
	} else {
		g.arch.dbg_bcr[free] = ctrl;
		g.arch.dbg_bvr[free] = value;
		g.bp_used[free] = true;
	}
	return 0;
}

static int t_breakpoint(void *ctx, unsigned int thread, enum gdb_bp_type type, bool insert,
			uint64_t addr, uint64_t kind)
{
	int err;

	if (type == GDB_BP_SW) {
		err = sw_breakpoint(thread, insert, addr);
		/*
		 * Nothing mapped there yet, such as a kernel function before the kernel turned its
		 * MMU on: a hardware breakpoint matches the virtual address once it is.
		 */
		if (err == -EFAULT || !insert) {
			int hw = hw_breakpoint(GDB_BP_HW, insert, addr, kind);

			err = insert ? hw : err;
		}
	} else {
		err = hw_breakpoint(type, insert, addr, kind);
	}

	if (!err)
		g.debug_gen++;
	return err;
}

static void t_resume(void *ctx, unsigned int step)
{
	for (unsigned int i = 0; i < g.nvcpus; i++) {
		g.v[i].step = step == i + 1;
		g.v[i].held = step && step != i + 1;
		g.v[i].has_stop = false;
	}
	g.stopping = false;
	g.resume_gen++;
	pthread_cond_broadcast(&g.resume);
}

static const struct gdb_target target = {
	.threads = t_threads,
	.get_reg = t_get_reg,
	.set_reg = t_set_reg,
	.read_mem = t_read_mem,
	.write_mem = t_write_mem,
	.breakpoint = t_breakpoint,
	.resume = t_resume,
};

/* --- the server thread ---------------------------------------------------------------------- */

static bool all_parked(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < g.nvcpus; i++) {
		if (g.v[i].present && !g.v[i].parked)
			return false;
		n += g.v[i].present;
	}
	return n > 0;
}

/* Wait, lock held, until every vCPU is parked (the first vCPU may not even exist yet). */
static void wait_parked(void)
{
	while (!all_parked() && !g.released) {
		struct pollfd p = { .fd = g.wake[0], .events = POLLIN };
		char buf[64];

		pthread_mutex_unlock(&g.lock);
		if (poll(&p, 1, 1000) > 0 && read(g.wake[0], buf, sizeof(buf)) < 0) {
			/* nothing to do: the loop looks again */
		}
		pthread_mutex_lock(&g.lock);
	}
}

/* Why the guest is stopped: the vCPU with a debug exit (a stepped one first), else a signal. */
static struct gdb_stop why_stopped(void)
{
	struct gdb_stop stop = { .thread = g.session.last.thread ? g.session.last.thread : 1,
				 .signal = g.stop_signal };
	struct vcpu *by = NULL;

	for (unsigned int i = 0; i < g.nvcpus; i++)
		if (g.v[i].present && g.v[i].has_stop && (!by || g.v[i].step)) {
			by = &g.v[i];
			stop.thread = i + 1;
		}
	if (!by)
		return stop;
	stop.signal = 5; /* SIGTRAP */
	unsigned int ec = by->esr >> 26;
	if ((ec & ~1u) == EC_WATCH_LOWER) {
		/* The watchpoint gdb set that covers the address, reported as gdb set it. */
		for (int i = 0; i < g.max_wps; i++) {
			struct watch *w = &g.wp[i];
			uint64_t lo = w->addr & ~7ULL, hi = w->addr + w->len;

			if (w->used && by->far >= lo && by->far < (hi > lo + 8 ? hi : lo + 8)) {
				stop.watch = w->type;
				stop.addr = w->addr;
				break;
			}
		}
	}
	return stop;
}

/*
 * Send, or give up on gdb. Sends happen with g.lock held, which every vCPU takes before KVM_RUN,
 * and at exit: a debugger that stops reading must not stall the guest or the VMM's end for longer
 * than SEND_TIMEOUT_S in all (SO_SNDTIMEO bounds each send(), the deadline their sum). Giving up
 * shuts the connection down, so the server's next read sees its end and the guest runs on.
 */
static void send_all(const char *p, size_t n)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += SEND_TIMEOUT_S;
	while (n && g.client_fd >= 0) {
		ssize_t w = send(g.client_fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			return; /* gdb went away: the next read sees it */
		}
		p += w;
		n -= (size_t)w;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n && (now.tv_sec > end.tv_sec ||
			  (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)))
			break;
	}
	if (!n || g.client_fd < 0)
		return;
	warn("gdb: the debugger read nothing for %d s; the guest runs on without it",
	     SEND_TIMEOUT_S);
	shutdown(g.client_fd, SHUT_RDWR);
}

static void send_tx(void)
{
	if (g.tx.overflow)
		gdb_tx_packet(&g.tx, "E0c");
	send_all(g.tx.buf, g.tx.len);
}

/* gdb left (detach, or the connection ended): the guest runs on as if it had never come. */
static void forget_gdb(void)
{
	for (unsigned int i = g.nsw; i-- > 0;)
		sw_breakpoint(g.session.g_thread, false, g.sw[i].addr);
	memset(&g.arch, 0, sizeof(g.arch));
	memset(g.bp_used, 0, sizeof(g.bp_used));
	memset(g.wp, 0, sizeof(g.wp));
	close(g.client_fd);
	g.client_fd = -1;
	g.debug_gen++;
	t_resume(NULL, 0);
}

/* Packets gdb sends while connecting, which need no stopped guest (and must not wait for one). */
static bool needs_no_stop(const char *p)
{
	return !strncmp(p, "qSupported", 10) || !strncmp(p, "qXfer:", 6) ||
	       !strcmp(p, "QStartNoAckMode") || !strncmp(p, "vMustReplyEmpty", 15) ||
	       !strncmp(p, "vCont?", 6);
}

/* One connection, until gdb detaches or goes away. */
static void serve(void)
{
	bool running = false; /* gdb waits for a stop reply */
	bool halted = false; /* the stop gdb knows of has been settled */

	gdb_rx_init(&g.rx);
	for (;;) {
		struct pollfd p[3] = { { .fd = g.client_fd, .events = POLLIN },
				       { .fd = g.listen_fd, .events = POLLIN },
				       { .fd = g.wake[0], .events = POLLIN } };
		uint8_t buf[4096];
		ssize_t n;

		if (poll(p, 3, -1) < 0)
			continue;
		if (p[2].revents) {
			n = read(g.wake[0], buf, sizeof(buf));
			pthread_mutex_lock(&g.lock);
			if (running && g.stopping && all_parked() && !g.released) {
				struct gdb_stop stop = why_stopped();

				gdb_stop_reply(&g.session, &stop, &g.tx);
				send_tx();
				running = false;
				halted = true;
			}
			pthread_mutex_unlock(&g.lock);
		}
		if (p[1].revents) {
			int extra = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (extra >= 0) {
				warn("gdb: refused a second gdb on %s: one debugger at a time",
				     g.where);
				close(extra);
			}
		}
		if (!p[0].revents)
			continue;
		n = read(g.client_fd, buf, sizeof(buf));
		if (n <= 0) {
			info("gdb: the debugger went away; the guest runs on");
			pthread_mutex_lock(&g.lock);
			forget_gdb();
			pthread_mutex_unlock(&g.lock);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			enum gdb_rx_event ev = gdb_rx_byte(&g.rx, buf[i]);

			pthread_mutex_lock(&g.lock);
			if (ev == GDB_RX_INTERRUPT && running) {
				request_stop(2);
			} else if (ev == GDB_RX_BAD && !g.session.no_ack) {
				send_all("-", 1);
			} else if (ev == GDB_RX_PACKET) {
				if (!g.session.no_ack)
					send_all("+", 1);
				/* In all-stop mode gdb sends nothing but Ctrl-C while the guest runs. */
				if (running) {
					pthread_mutex_unlock(&g.lock);
					continue;
				}
				if (!halted && !needs_no_stop(g.rx.buf)) {
					wait_parked();
					struct gdb_stop stop = why_stopped();
					bool no_ack = g.session.no_ack;

					gdb_session_init(&g.session, &stop);
					g.session.no_ack = no_ack;
					halted = true;
				}
				enum gdb_action a =
					gdb_handle(&g.session, &target, g.rx.buf, g.rx.len, &g.tx);
				if (a != GDB_RESUMED)
					send_tx();
				if (a == GDB_RESUMED) {
					running = true;
					halted = false;
				} else if (a == GDB_DETACH) {
					info("gdb: detached; the guest runs on");
					forget_gdb();
					pthread_mutex_unlock(&g.lock);
					return;
				} else if (a == GDB_KILL) {
					/* Status 1: the guest did not end by itself (at_exit sends no W). */
					warn("gdb: killed the guest");
					close(g.client_fd);
					g.client_fd = -1;
					pthread_mutex_unlock(&g.lock); /* at_exit takes it */
					exit(1);
				}
			}
			pthread_mutex_unlock(&g.lock);
		}
	}
}

static void *server(void *arg)
{
	const struct timeval send_timeout = { .tv_sec = SEND_TIMEOUT_S };

	for (;;) {
		int fd = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0)
			continue;
		/* Replies are small and gdb waits for each: Nagle's delay would be all latency. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
		pthread_mutex_lock(&g.lock);
		g.client_fd = fd;
		g.session = (struct gdb_session){ 0 };
		request_stop(5);
		pthread_mutex_unlock(&g.lock);
		info("gdb: a debugger connected on %s", g.where);
		serve();
	}
	return NULL;
}

/* The guest's end, seen by gdb as the inferior's exit (a W packet) with the VMM's status. */
static void at_exit(int status, void *arg)
{
	char body[8];

	/* The server may hold the lock, waiting for gdb: a bounded wait, then say it anyway. */
	for (int i = 0; i < 100 && pthread_mutex_trylock(&g.lock); i++)
		usleep(10000);
	if (g.client_fd >= 0) {
		snprintf(body, sizeof(body), "W%02x", status & 0xff);
		gdb_tx_packet(&g.tx, body);
		send_tx();
	}
}

/*
 * [HOST:]PORT: a listening socket, or one line and exit 1. HOST is a numeric IPv4 or IPv6
 * address, or localhost: a static binary cannot use the resolver (getaddrinfo needs glibc's
 * shared libraries at run time).
 */
static void listen_on(const char *value)
{
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(value, ':'), *port = colon ? colon + 1 : value;
	struct sockaddr_storage sa = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
	socklen_t len;
	char *end;
	long n = strtol(port, &end, 10);
	int one = 1;

	if (!*port || *end || n < 1 || n > 65535)
		die("--gdb takes [HOST:]PORT with PORT from 1 to 65535, not '%s'", value);
	if (colon && colon > value) {
		if ((size_t)(colon - value) >= sizeof(host))
			die("--gdb %s: the host is too long", value);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - value), value);
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	/* [::1]:1234 names an IPv6 address the way URLs do. */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	snprintf(g.where, sizeof(g.where), "%s:%ld", host, n);
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)n);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)n);
		len = sizeof(*in6);
	} else {
		die("--gdb %s: HOST must be a numeric IPv4 or IPv6 address, or localhost", value);
	}
	g.listen_fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g.listen_fd < 0 ||
	    setsockopt(g.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(g.listen_fd, (struct sockaddr *)&sa, len) || listen(g.listen_fd, 1))
		die_errno("--gdb: cannot listen on %s", g.where);
}

void gdb_option(int key, const char *value)
{
	struct sigaction kick = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	pthread_t t;
	int err;

	if (key == OPT_GDB_WAIT) {
		/* Set before any vCPU exists: each parks before its first instruction. */
		g.wait = g.stopping = true;
		g.stop_signal = 5;
		return;
	}
	if (g.enabled)
		die("--gdb: give it once");
	listen_on(value);
	g.enabled = true;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm >= 0) {
		g.max_bps = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_BPS);
		g.max_wps = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_WPS);
		close(kvm);
	}
	if (g.max_bps < 0 || g.max_bps > KVM_ARM_MAX_DBG_REGS)
		g.max_bps = 0;
	if (g.max_wps < 0 || g.max_wps > KVM_ARM_MAX_DBG_REGS)
		g.max_wps = 0;

	sigemptyset(&kick.sa_mask);
	if (pipe2(g.wake, O_CLOEXEC | O_NONBLOCK) || sigaction(KICK, &kick, NULL))
		die_errno("gdb: cannot set up the stub");
	on_exit(at_exit, NULL);
	err = pthread_create(&t, NULL, server, NULL);
	if (err)
		die("gdb: cannot start the stub's thread: %s", strerror(err));
	warn("gdb: listening on %s (this host offers %d hardware breakpoints, %d watchpoints)",
	     g.where, g.max_bps, g.max_wps);
}
