/*
 * pl031.c - the Arm PrimeCell Real Time Clock (PL031), after its Technical Reference Manual,
 * DDI 0224: chapter 3 "Programmers Model" for the registers, and 2.2 for the match interrupt.
 *
 * The real device counts the edges of a 1 Hz clock into RTCDR; software sets the count by
 * writing RTCLR, and the interrupt RTCINTR is latched in RTCRIS when the count equals RTCMR.
 * Here the count is computed when the guest reads it: the host's wall clock plus an offset,
 * which a write to RTCLR changes. The match is a wake-up the host schedules (pl031_host.alarm)
 * for the second at which the count will equal RTCMR; it is moved whenever RTCMR or RTCLR
 * changes. An idle RTC costs no exits and no host work at all.
 *
 * The RTC is already started when the guest first looks (RTCCR reads 1), as firmware leaves it
 * on real boards; per TRM 3.3.4, writes to the start bit then have no effect.
 *
 * Registers are 32 bits wide and 32 bits apart (TRM 3.1), and drivers use 32-bit accesses. Any
 * other access - another width, an offset that is no register, a write to a read-only register
 * or a read of the write-only one - is dropped (reads return 0), counted, and reported with a
 * warning that becomes rarer as they repeat: a guest cannot flood the host's stderr.
 */
#include <inttypes.h>

#include "log.h"
#include "pl031.h"

#define RTCDR 0x000 /* Data Register (read only): the counter */
#define RTCMR 0x004 /* Match Register */
#define RTCLR 0x008 /* Load Register: a write sets the counter */
#define RTCCR 0x00c /* Control Register: bit 0 starts the RTC */
#define RTCIMSC 0x010 /* Interrupt Mask Set or Clear register */
#define RTCRIS 0x014 /* Raw Interrupt Status (read only) */
#define RTCMIS 0x018 /* Masked Interrupt Status (read only) */
#define RTCICR 0x01c /* Interrupt Clear Register (write only) */
#define RTCPERIPHID0 0xfe0 /* RTCPeriphID0-3 at 0xfe0-0xfec, then RTCPCellID0-3 to 0xffc */

#define RTC_INT (1u << 0) /* the one interrupt bit of RTCIMSC, RTCRIS, RTCMIS, RTCICR */
#define RTCCR_START (1u << 0) /* RTCCR: the RTC runs */
#define PL031_WRAP (1ull << 32) /* the counter's period, in seconds */

/*
 * RTCPeriphID0-3 and RTCPCellID0-3 (TRM 3.3.9-3.3.16): part number 0x031, designer 0x41 (Arm),
 * revision 1, and the PrimeCell signature 0xB105F00D that AMBA bus drivers, such as Linux's, read
 * to identify the device.
 */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

const char *pl031_reg_name(uint64_t offset)
{
	static const char *const names[] = {
		[RTCDR / 4] = "RTCDR",	 [RTCMR / 4] = "RTCMR",	    [RTCLR / 4] = "RTCLR",
		[RTCCR / 4] = "RTCCR",	 [RTCIMSC / 4] = "RTCIMSC", [RTCRIS / 4] = "RTCRIS",
		[RTCMIS / 4] = "RTCMIS", [RTCICR / 4] = "RTCICR",
	};
	static const char *const ids[] = {
		"RTCPeriphID0", "RTCPeriphID1", "RTCPeriphID2", "RTCPeriphID3",
		"RTCPCellID0",	"RTCPCellID1",	"RTCPCellID2",	"RTCPCellID3",
	};

	if (offset % 4)
		return NULL;
	if (offset >= RTCPERIPHID0 && offset < PL031_SIZE)
		return ids[(offset - RTCPERIPHID0) / 4];
	if (offset / 4 < sizeof(names) / sizeof(names[0]))
		return names[offset / 4];
	return NULL;
}

/* Drop a bad access; warn_guest() counts it in rtc->ignored and shows the first few. */
static void pl031_ignore(struct pl031 *rtc, const char *what, uint64_t offset, unsigned int size,
			 const char *why)
{
	warn_guest(&rtc->ignored, "pl031: ignored a %s of %u bytes at offset 0x%03" PRIx64 ": %s",
		   what, size, offset, why);
}

static uint32_t pl031_count(const struct pl031 *rtc)
{
	return (uint32_t)rtc->host.now(rtc->host.ctx) + rtc->offset;
}

/* RTCINTR is the masked status (TRM 2.2); tell the host only when it changes. */
static void pl031_update_irq(struct pl031 *rtc)
{
	int level = (rtc->ris & rtc->imsc & RTC_INT) != 0;

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		rtc->host.irq_set(rtc->host.irq_ctx, level);
	}
}

/* Ask the host to wake the model at the next second at which the counter equals RTCMR. */
static void pl031_schedule(struct pl031 *rtc, uint64_t now)
{
	uint32_t ahead = rtc->mr - ((uint32_t)now + rtc->offset);

	/* Equal now: the next time is one counter period (2^32 s, some 136 years) later. */
	rtc->alarm_at = now + (ahead ? ahead : PL031_WRAP);
	rtc->host.alarm(rtc->host.ctx, rtc->alarm_at);
}

/* The counter or RTCMR changed: equal now is a match now; either way the wake-up moves. */
static void pl031_match_changed(struct pl031 *rtc)
{
	uint64_t now = rtc->host.now(rtc->host.ctx);

	if ((uint32_t)now + rtc->offset == rtc->mr)
		rtc->ris |= RTC_INT;
	pl031_schedule(rtc, now);
	pl031_update_irq(rtc);
}

void pl031_init(struct pl031 *rtc, const struct pl031_host *host)
{
	*rtc = (struct pl031){ .host = *host };
	pl031_match_changed(rtc);
}

void pl031_alarm_expired(struct pl031 *rtc)
{
	uint64_t now = rtc->host.now(rtc->host.ctx);

	if (now < rtc->alarm_at) {
		/* Too early, or the host clock was set back: ask again for the same second. */
		rtc->host.alarm(rtc->host.ctx, rtc->alarm_at);
		return;
	}
	/* The counter reached RTCMR (maybe a moment ago, if the host was slow to wake us). */
	rtc->ris |= RTC_INT;
	pl031_schedule(rtc, now);
	pl031_update_irq(rtc);
}

uint64_t pl031_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct pl031 *rtc = opaque;

	if (size != 4 || offset % 4) {
		pl031_ignore(rtc, "read", offset, size,
			     "registers take 4 bytes at a multiple of 4");
		return 0;
	}
	if (offset >= RTCPERIPHID0 && offset < PL031_SIZE)
		return pl031_id[(offset - RTCPERIPHID0) / 4];
	switch (offset) {
	case RTCDR:
		return pl031_count(rtc);
	case RTCMR:
		return rtc->mr;
	case RTCLR:
		return rtc->lr;
	case RTCCR:
		return RTCCR_START;
	case RTCIMSC:
		return rtc->imsc;
	case RTCRIS:
		return rtc->ris;
	case RTCMIS:
		return rtc->ris & rtc->imsc;
	case RTCICR:
		pl031_ignore(rtc, "read", offset, size, "RTCICR is write-only");
		return 0;
	default:
		pl031_ignore(rtc, "read", offset, size, "no register there");
		return 0;
	}
}

void pl031_write(void *opaque, uint64_t offset, unsigned int size, uint64_t value)
{
	struct pl031 *rtc = opaque;
	uint32_t v = (uint32_t)value;

	if (size != 4 || offset % 4) {
		pl031_ignore(rtc, "write", offset, size,
			     "registers take 4 bytes at a multiple of 4");
		return;
	}
	switch (offset) {
	case RTCMR:
		rtc->mr = v;
		pl031_match_changed(rtc);
		break;
	case RTCLR:
		/* The counter takes the value at once (TRM 3.3.3); the match moves with it. */
		rtc->lr = v;
		rtc->offset = v - (uint32_t)rtc->host.now(rtc->host.ctx);
		pl031_match_changed(rtc);
		break;
	case RTCCR:
		/* Already started: "any writes to this bit have no effect" (TRM 3.3.4). */
		break;
	case RTCIMSC:
		rtc->imsc = v & RTC_INT;
		pl031_update_irq(rtc);
		break;
	case RTCICR:
		rtc->ris &= ~(v & RTC_INT);
		pl031_update_irq(rtc);
		break;
	case RTCDR:
	case RTCRIS:
	case RTCMIS:
		pl031_ignore(rtc, "write", offset, size, "a read-only register");
		break;
	default:
		pl031_ignore(rtc, "write", offset, size,
			     offset >= RTCPERIPHID0 && offset < PL031_SIZE
				     ? "an identification register (read-only)"
				     : "no register there");
		break;
	}
}
