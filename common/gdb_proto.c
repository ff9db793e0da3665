/*
 * gdb_proto.c - the packets of gdb's remote serial protocol an arm64 stub answers (see
 * gdb_proto.h; GDB manual, "Remote Serial Protocol", and for target.xml "Target Descriptions",
 * "AArch64 Features").
 *
 * Every packet comes from outside: numbers are parsed with their bounds checked, lengths are cut
 * to what a reply can carry, and a packet we do not know gets the empty reply, which the protocol
 * defines as "not supported" and gdb copes with.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb_proto.h"

/* The most memory one m reply carries: two hex digits per byte must fit a packet. */
#define MEM_CHUNK (GDB_PACKET_MAX / 2 - 16)

unsigned int gdb_reg_size(unsigned int regno)
{
	if (regno < GDB_REG_CPSR)
		return 8;
	if (regno >= GDB_REG_V0 && regno < GDB_REG_FPSR)
		return 16;
	return 4;
}

/*
 * The target description: which registers there are, in which order, and their types. gdb
 * checks the two features' register names (core: x0-x30, sp, pc, cpsr; fpu: v0-v31, fpsr, fpcr)
 * and builds the q, d, s, h and b views of each v register itself. The union only decides how
 * `p $v0` prints one.
 */
static const char *target_xml(size_t *len)
{
	static char xml[6144];
	static size_t n;

	if (n)
		goto done;
	n = (size_t)snprintf(
		xml, sizeof(xml),
		"<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
		"<target>\n<architecture>aarch64</architecture>\n"
		"<feature name=\"org.gnu.gdb.aarch64.core\">\n");
	for (unsigned int i = 0; i <= 30; i++)
		n += (size_t)snprintf(
			xml + n, sizeof(xml) - n,
			"<reg name=\"x%u\" bitsize=\"64\" type=\"int\" regnum=\"%u\"/>\n", i, i);
	n += (size_t)snprintf(
		xml + n, sizeof(xml) - n,
		"<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
		"<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>\n"
		"<reg name=\"cpsr\" bitsize=\"32\" type=\"int\"/>\n</feature>\n"
		"<feature name=\"org.gnu.gdb.aarch64.fpu\">\n"
		"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
		"<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>\n"
		"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
		"<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>\n"
		"<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>\n"
		"<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>\n"
		"<union id=\"vreg\"><field name=\"d\" type=\"v2d\"/><field name=\"ud\" type=\"v2u\"/>"
		"<field name=\"s\" type=\"v4f\"/><field name=\"us\" type=\"v4u\"/>"
		"<field name=\"h\" type=\"v8u\"/><field name=\"b\" type=\"v16u\"/>"
		"<field name=\"q\" type=\"uint128\"/></union>\n");
	for (unsigned int i = 0; i < 32; i++)
		n += (size_t)snprintf(
			xml + n, sizeof(xml) - n,
			"<reg name=\"v%u\" bitsize=\"128\" type=\"vreg\" regnum=\"%u\"/>\n", i,
			GDB_REG_V0 + i);
	n += (size_t)snprintf(xml + n, sizeof(xml) - n,
			      "<reg name=\"fpsr\" bitsize=\"32\" type=\"int\"/>\n"
			      "<reg name=\"fpcr\" bitsize=\"32\" type=\"int\"/>\n</feature>\n"
			      "</target>\n");
done:
	*len = n;
	return xml;
}

void gdb_session_init(struct gdb_session *s, const struct gdb_stop *stop)
{
	*s = (struct gdb_session){ .g_thread = stop->thread, .last = *stop };
}

void gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *stop, struct gdb_tx *tx)
{
	static const char *const watch[] = {
		[GDB_WP_WRITE] = "watch", [GDB_WP_READ] = "rwatch", [GDB_WP_ACCESS] = "awatch"
	};

	s->last = *stop;
	s->g_thread = stop->thread;
	s->c_thread = 0;
	gdb_tx_begin(tx);
	gdb_tx_printf(tx, "T%02xthread:%x;", stop->signal & 0xff, stop->thread);
	if (stop->watch >= GDB_WP_WRITE && stop->watch <= GDB_WP_ACCESS)
		gdb_tx_printf(tx, "%s:%llx;", watch[stop->watch], (unsigned long long)stop->addr);
	gdb_tx_end(tx);
}

static void reply(struct gdb_tx *tx, const char *body)
{
	gdb_tx_packet(tx, body);
}

/* An errno as the protocol's error reply, "Enn". */
static void reply_error(struct gdb_tx *tx, int err)
{
	char e[8];

	snprintf(e, sizeof(e), "E%02x", (err < 0 ? -err : err) & 0xff);
	reply(tx, e);
}

/* A thread ID from gdb: -1 and 0 mean "any"; a real one must exist. 0 or -EINVAL. */
static int parse_thread(const struct gdb_target *t, const char *p, unsigned int *thread)
{
	uint64_t v;

	if (!strcmp(p, "-1") || !strcmp(p, "0")) {
		*thread = 0;
		return 0;
	}
	if (gdb_hex_u64(&p, &v) || *p || v == 0 || v > t->threads(t->ctx))
		return -EINVAL;
	*thread = (unsigned int)v;
	return 0;
}

/* "addr,len" followed by `end` (or the end of the packet when end is 0). */
static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char end)
{
	if (gdb_hex_u64(p, addr) || **p != ',')
		return -EINVAL;
	(*p)++;
	if (gdb_hex_u64(p, len) || **p != end)
		return -EINVAL;
	if (end)
		(*p)++;
	return 0;
}

static void read_regs(struct gdb_session *s, const struct gdb_target *t, struct gdb_tx *tx)
{
	uint8_t buf[16];

	gdb_tx_begin(tx);
	for (unsigned int r = 0; r < GDB_NREGS; r++) {
		unsigned int size = gdb_reg_size(r);

		if (t->get_reg(t->ctx, s->g_thread, r, buf) == 0) {
			gdb_tx_hex(tx, buf, size);
		} else {
			/* "xx" marks a register the target cannot read (GDB manual, "g"). */
			for (unsigned int i = 0; i < size; i++)
				gdb_tx_str(tx, "xx");
		}
	}
	gdb_tx_end(tx);
}

static void write_regs(struct gdb_session *s, const struct gdb_target *t, const char *p, size_t len,
		       struct gdb_tx *tx)
{
	uint8_t buf[16];
	int err = 0;

	for (unsigned int r = 0; r < GDB_NREGS && len >= 2 * gdb_reg_size(r); r++) {
		unsigned int size = gdb_reg_size(r);

		if (gdb_unhex(p, size, buf)) {
			reply_error(tx, EINVAL);
			return;
		}
		if (t->set_reg(t->ctx, s->g_thread, r, buf))
			err = EIO;
		p += 2 * size;
		len -= 2 * size;
	}
	if (err) {
		reply_error(tx, err);
		return;
	}
	reply(tx, "OK");
}

static void one_reg(struct gdb_session *s, const struct gdb_target *t, const char *p, bool write,
		    struct gdb_tx *tx)
{
	uint8_t buf[16];
	uint64_t r;

	if (gdb_hex_u64(&p, &r) || r >= GDB_NREGS || *p != (write ? '=' : 0)) {
		reply_error(tx, EINVAL);
		return;
	}
	unsigned int size = gdb_reg_size((unsigned int)r);
	if (write) {
		if (strlen(p + 1) != 2 * size || gdb_unhex(p + 1, size, buf)) {
			reply_error(tx, EINVAL);
			return;
		}
		if (t->set_reg(t->ctx, s->g_thread, (unsigned int)r, buf)) {
			reply_error(tx, EIO);
			return;
		}
		reply(tx, "OK");
		return;
	}
	if (t->get_reg(t->ctx, s->g_thread, (unsigned int)r, buf)) {
		reply_error(tx, EIO);
		return;
	}
	gdb_tx_begin(tx);
	gdb_tx_hex(tx, buf, size);
	gdb_tx_end(tx);
}

static void read_mem(struct gdb_session *s, const struct gdb_target *t, const char *p,
		     struct gdb_tx *tx)
{
	uint8_t buf[MEM_CHUNK];
	uint64_t addr, len;

	if (parse_addr_len(&p, &addr, &len, 0)) {
		reply_error(tx, EINVAL);
		return;
	}
	/* A reply may be shorter than asked (GDB manual, "m"): gdb asks again for the rest. */
	if (len > sizeof(buf))
		len = sizeof(buf);
	size_t got = len ? t->read_mem(t->ctx, s->g_thread, addr, buf, len) : 0;
	if (len && !got) {
		reply_error(tx, EFAULT);
		return;
	}
	gdb_tx_begin(tx);
	gdb_tx_hex(tx, buf, got);
	gdb_tx_end(tx);
}

/* M addr,len:hex and X addr,len:binary; the body ends at pkt + plen. */
static void write_mem(struct gdb_session *s, const struct gdb_target *t, const char *p,
		      const char *end, bool binary, struct gdb_tx *tx)
{
	uint8_t buf[GDB_PACKET_MAX];
	uint64_t addr, len;

	if (parse_addr_len(&p, &addr, &len, ':') || len > sizeof(buf)) {
		reply_error(tx, EINVAL);
		return;
	}
	size_t have = (size_t)(end - p);
	if (binary ? have != len : have != 2 * len || gdb_unhex(p, len, buf)) {
		reply_error(tx, EINVAL);
		return;
	}
	if (binary)
		memcpy(buf, p, len);
	if (len && t->write_mem(t->ctx, s->g_thread, addr, buf, len) != len) {
		reply_error(tx, EFAULT);
		return;
	}
	reply(tx, "OK");
}

static void breakpoint(struct gdb_session *s, const struct gdb_target *t, const char *p,
		       bool insert, struct gdb_tx *tx)
{
	uint64_t type, addr, kind;

	/* No ConditionalBreakpoints in qSupported: gdb sends no ";cond" after the kind. */
	if (gdb_hex_u64(&p, &type) || type > GDB_WP_ACCESS || *p++ != ',' ||
	    parse_addr_len(&p, &addr, &kind, 0)) {
		reply_error(tx, EINVAL);
		return;
	}
	int err = t->breakpoint(t->ctx, s->g_thread, (enum gdb_bp_type)type, insert, addr, kind);
	if (err) {
		reply_error(tx, err);
		return;
	}
	reply(tx, "OK");
}

static void xfer_features(const char *p, struct gdb_tx *tx)
{
	const char annex[] = "target.xml:";
	uint64_t off, len;
	size_t size;
	const char *xml = target_xml(&size);

	if (strncmp(p, annex, strlen(annex))) {
		reply_error(tx, ENOENT);
		return;
	}
	p += strlen(annex);
	if (parse_addr_len(&p, &off, &len, 0)) {
		reply_error(tx, EINVAL);
		return;
	}
	if (len > GDB_PACKET_MAX / 2)
		len = GDB_PACKET_MAX / 2;
	if (off >= size) {
		reply(tx, "l");
		return;
	}
	size_t n = size - off < len ? size - off : len;
	gdb_tx_begin(tx);
	gdb_tx_str(tx, off + n < size ? "m" : "l");
	gdb_tx_bytes(tx, xml + off, n);
	gdb_tx_end(tx);
}

static void thread_list(const struct gdb_target *t, struct gdb_tx *tx)
{
	gdb_tx_begin(tx);
	gdb_tx_str(tx, "m");
	for (unsigned int i = 1; i <= t->threads(t->ctx); i++)
		gdb_tx_printf(tx, i > 1 ? ",%x" : "%x", i);
	gdb_tx_end(tx);
}

static void thread_info(const struct gdb_target *t, const char *p, struct gdb_tx *tx)
{
	unsigned int thread;
	char text[32];

	if (parse_thread(t, p, &thread) || !thread) {
		reply_error(tx, EINVAL);
		return;
	}
	int n = snprintf(text, sizeof(text), "vCPU %u", thread - 1);
	gdb_tx_begin(tx);
	gdb_tx_hex(tx, text, (size_t)n);
	gdb_tx_end(tx);
}

static enum gdb_action query(struct gdb_session *s, const struct gdb_target *t, const char *p,
			     struct gdb_tx *tx)
{
	if (!strncmp(p, "qSupported", 10))
		gdb_tx_packet(tx, "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+");
	else if (!strncmp(p, "qXfer:features:read:", 20))
		xfer_features(p + 20, tx);
	else if (!strcmp(p, "qAttached"))
		reply(tx, "1"); /* the target was there before us: detach must not kill it */
	else if (!strcmp(p, "qC")) {
		gdb_tx_begin(tx);
		gdb_tx_printf(tx, "QC%x", s->g_thread);
		gdb_tx_end(tx);
	} else if (!strcmp(p, "qfThreadInfo"))
		thread_list(t, tx);
	else if (!strcmp(p, "qsThreadInfo"))
		reply(tx, "l");
	else if (!strncmp(p, "qThreadExtraInfo,", 17))
		thread_info(t, p + 17, tx);
	else if (!strncmp(p, "qSymbol:", 8))
		reply(tx, "OK"); /* no symbols wanted */
	else if (!strcmp(p, "QStartNoAckMode")) {
		reply(tx, "OK");
		s->no_ack = true;
	} else
		reply(tx, "");
	return GDB_REPLY;
}

/*
 * c [addr] and s [addr]: resume from addr if given, else from where the thread stopped. With Hc
 * saying "any thread" (0 or -1, what gdb sends), s steps the thread Hg chose, as gdbserver does:
 * the one gdb reads registers of, which `thread N` selects.
 */
static enum gdb_action resume(struct gdb_session *s, const struct gdb_target *t, const char *p,
			      bool step, struct gdb_tx *tx)
{
	unsigned int thread = s->c_thread ? s->c_thread : s->g_thread;
	uint64_t addr;

	if (*p) {
		uint8_t pc[8];

		if (gdb_hex_u64(&p, &addr) || *p) {
			reply_error(tx, EINVAL);
			return GDB_REPLY;
		}
		for (int i = 0; i < 8; i++)
			pc[i] = (uint8_t)(addr >> (8 * i));
		if (t->set_reg(t->ctx, thread, GDB_REG_PC, pc)) {
			reply_error(tx, EIO);
			return GDB_REPLY;
		}
	}
	t->resume(t->ctx, step ? thread : 0);
	return GDB_RESUMED;
}

/*
 * vCont;action[:thread]...: the resume gdb prefers, naming the thread to step (vCont;s:2;c).
 * All-stop: if an action steps a thread, that one steps and the others wait; else all continue.
 * C and S carry a signal to deliver, which a guest has no use for: they are c and s.
 */
static enum gdb_action vcont(struct gdb_session *s, const struct gdb_target *t, const char *p,
			     struct gdb_tx *tx)
{
	unsigned int step = 0;

	if (!*p)
		goto bad;
	while (*p == ';') {
		char action = p[1], id[24];
		unsigned int thread = 0;
		uint64_t sig;
		size_t n;

		if (action != 'c' && action != 's' && action != 'C' && action != 'S')
			goto bad;
		p += 2;
		if ((action == 'C' || action == 'S') && gdb_hex_u64(&p, &sig))
			goto bad;
		if (*p == ':') {
			n = strcspn(++p, ";");
			if (n >= sizeof(id))
				goto bad;
			memcpy(id, p, n);
			id[n] = 0;
			p += n;
			if (parse_thread(t, id, &thread))
				goto bad;
		}
		if ((action == 's' || action == 'S') && !step)
			step = thread ? thread : s->g_thread;
	}
	if (*p)
		goto bad;
	t->resume(t->ctx, step);
	return GDB_RESUMED;
bad:
	reply_error(tx, EINVAL);
	return GDB_REPLY;
}

enum gdb_action gdb_handle(struct gdb_session *s, const struct gdb_target *t, const char *pkt,
			   size_t len, struct gdb_tx *tx)
{
	unsigned int thread;

	switch (pkt[0]) {
	case '?':
		gdb_stop_reply(s, &s->last, tx);
		return GDB_REPLY;
	case 'q':
	case 'Q':
		return query(s, t, pkt, tx);
	case 'H':
		if ((pkt[1] != 'g' && pkt[1] != 'c') || parse_thread(t, pkt + 2, &thread)) {
			reply_error(tx, EINVAL);
		} else {
			if (pkt[1] == 'g')
				s->g_thread = thread ? thread : s->last.thread;
			else
				s->c_thread = thread;
			reply(tx, "OK");
		}
		return GDB_REPLY;
	case 'T':
		if (parse_thread(t, pkt + 1, &thread) || !thread)
			reply_error(tx, EINVAL);
		else
			reply(tx, "OK");
		return GDB_REPLY;
	case 'g':
		read_regs(s, t, tx);
		return GDB_REPLY;
	case 'G':
		write_regs(s, t, pkt + 1, len - 1, tx);
		return GDB_REPLY;
	case 'p':
	case 'P':
		one_reg(s, t, pkt + 1, pkt[0] == 'P', tx);
		return GDB_REPLY;
	case 'm':
		read_mem(s, t, pkt + 1, tx);
		return GDB_REPLY;
	case 'M':
	case 'X':
		write_mem(s, t, pkt + 1, pkt + len, pkt[0] == 'X', tx);
		return GDB_REPLY;
	case 'Z':
	case 'z':
		breakpoint(s, t, pkt + 1, pkt[0] == 'Z', tx);
		return GDB_REPLY;
	case 'c':
	case 's':
		return resume(s, t, pkt + 1, pkt[0] == 's', tx);
	case 'D':
		reply(tx, "OK");
		return GDB_DETACH;
	case 'k':
		/* No reply: nothing of an earlier one may be sent again. */
		tx->len = 0;
		tx->overflow = false;
		return GDB_KILL;
	case 'v':
		if (!strncmp(pkt, "vKill", 5)) {
			reply(tx, "OK");
			return GDB_KILL;
		}
		if (!strcmp(pkt, "vCont?")) {
			reply(tx, "vCont;c;C;s;S");
			return GDB_REPLY;
		}
		if (!strncmp(pkt, "vCont", 5) && pkt[5] != '?')
			return vcont(s, t, pkt + 5, tx);
		reply(tx, ""); /* vMustReplyEmpty, vFile, ...: not supported */
		return GDB_REPLY;
	default:
		reply(tx, "");
		return GDB_REPLY;
	}
}
