/*
 * NAME
 *	engine_reply - the milter protocol: answers, macros, what a callback
 *	may do
 * DESCRIPTION
 *	Answers are gathered in an output buffer and written once per command
 *	that needs one: at the end of the message, the header insertions,
 *	the quarantine and the final answer go out in one write. A reply
 *	text set by a callback replaces its reject or tempfail when the
 *	classes agree (5xx, 4xx), as libmilter does; it is forgotten after
 *	that command either way.
 *
 *	The macros the MTA sends before a command are kept per command;
 *	those of a message are forgotten at its start (new MAIL macros),
 *	its end and its abort.
 */
#include <autoconfig.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "engine_private.h"
#include "util.h"

#define REPLY_MAX 980 /* reply text, as libmilter */

/* --- output ------------------------------------------------------------ */

/* out_room - room for n more output bytes; where they go */
static unsigned char *
out_room(struct pfl_engine_conn *c, size_t n)
{
	if (c->olen + n > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 256;

		while (cap < c->olen + n)
			cap *= 2;
		c->out = pfl_xrealloc(c->out, cap);
		c->ocap = cap;
	}
	return c->out + c->olen;
}

/* pfl_engine_out_begin - start an answer of cmd; where it starts */
size_t
pfl_engine_out_begin(struct pfl_engine_conn *c, int cmd)
{
	size_t at = c->olen;
	unsigned char *p = out_room(c, 5);

	p[4] = (unsigned char)cmd;
	c->olen += 5;
	return at;
}

/* pfl_engine_out_add - n bytes of the answer begun */
void
pfl_engine_out_add(struct pfl_engine_conn *c, const void *data, size_t n)
{
	if (n == 0)
		return;
	memcpy(out_room(c, n), data, n);
	c->olen += n;
}

/* pfl_engine_out_add32 - a network-order number of the answer begun */
void
pfl_engine_out_add32(struct pfl_engine_conn *c, uint32_t v)
{
	pfl_engine_put32(out_room(c, 4), v);
	c->olen += 4;
}

/* pfl_engine_out_end - the answer begun at at is complete: its length */
void
pfl_engine_out_end(struct pfl_engine_conn *c, size_t at)
{
	pfl_engine_put32(c->out + at, (uint32_t)(c->olen - at - 4));
}

/* pfl_engine_out_packet - queue an answer: cmd, then n bytes of data */
void
pfl_engine_out_packet(
    struct pfl_engine_conn *c, int cmd, const void *data, size_t n)
{
	size_t at = pfl_engine_out_begin(c, cmd);

	pfl_engine_out_add(c, data, n);
	pfl_engine_out_end(c, at);
}

/* out_flush - write the queued answers; 0 or -1 */
int
pfl_engine_out_flush(struct pfl_engine_conn *c)
{
	size_t done = 0;
	ssize_t n;

	while (done < c->olen) {
		n = send(c->fd, c->out + done, c->olen - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	c->olen = 0;
	return 0;
}

/*
 * answer - queue the answer for rc (with the reply text set for it, when
 * the classes agree) and forget the reply text
 */
void
pfl_engine_answer(struct pfl_engine_conn *c, enum pfl_engine_rc rc)
{
	char *reply = c->reply;
	int cmd;

	c->reply = NULL;
	switch (rc) {
	case PFL_ENGINE_ACCEPT:
		cmd = SMFIR_ACCEPT;
		break;
	case PFL_ENGINE_REJECT:
		cmd = SMFIR_REJECT;
		break;
	case PFL_ENGINE_TEMPFAIL:
		cmd = SMFIR_TEMPFAIL;
		break;
	case PFL_ENGINE_SKIP:
		cmd = (c->steps & SMFIP_SKIP) ? SMFIR_SKIP : SMFIR_CONTINUE;
		break;
	default:
		cmd = SMFIR_CONTINUE;
	}
	if (reply != NULL &&
	    ((cmd == SMFIR_REJECT && reply[0] == '5') ||
		(cmd == SMFIR_TEMPFAIL && reply[0] == '4')))
		pfl_engine_out_packet(
		    c, SMFIR_REPLYCODE, reply, strlen(reply) + 1);
	else
		pfl_engine_out_packet(c, cmd, NULL, 0);
	free(reply);
}

/*
 * step_answer - answer a step unless the MTA agreed not to wait for it
 * (nr: its SMFIP_NR_* bit); 0 or -1
 */
int
pfl_engine_step_answer(
    struct pfl_engine_conn *c, unsigned long nr, enum pfl_engine_rc rc)
{
	if (c->steps & nr) {
		free(c->reply);
		c->reply = NULL;
		return 0;
	}
	pfl_engine_answer(c, rc);
	return pfl_engine_out_flush(c);
}

/* --- macros ------------------------------------------------------------ */

/* mac_slot - the slot of a command's macros, or -1 */
static int
mac_slot(int cmd)
{
	const char *p = cmd ? strchr(PFL_ENGINE_MAC_CMDS, cmd) : NULL;

	return p ? (int)(p - PFL_ENGINE_MAC_CMDS) : -1;
}

/* mac_clear_slot - forget the macros of one slot */
static void
mac_clear_slot(struct pfl_engine_conn *c, int slot)
{
	free(c->macros[slot]);
	c->macros[slot] = NULL;
	c->maclen[slot] = 0;
}

void
pfl_engine_mac_clear(struct pfl_engine_conn *c, bool all)
{
	int slot,
	    last = all ? (int)PFL_ENGINE_MAC_SLOTS - 1 : mac_slot(SMFIC_MAIL);

	for (slot = 0; slot <= last; slot++)
		mac_clear_slot(c, slot);
}

/* pfl_engine_mac_set - keep the macros sent for a command */
void
pfl_engine_mac_set(
    struct pfl_engine_conn *c, const unsigned char *data, size_t dlen)
{
	int slot;

	if (dlen < 1 || (slot = mac_slot(data[0])) < 0)
		return;
	if (data[0] == SMFIC_CONNECT || data[0] == SMFIC_MAIL)
		pfl_engine_mac_clear(c, data[0] == SMFIC_CONNECT);
	else
		mac_clear_slot(c, slot);
	c->macros[slot] = pfl_xmalloc(dlen);
	memcpy(c->macros[slot], data + 1, dlen - 1);
	c->macros[slot][dlen - 1] = '\0';
	c->maclen[slot] = dlen - 1;
}

/*
 * same_name - does a macro name match what was asked; "i" and "{i}" are
 * one name
 */
static bool
same_name(const char *have, const char *want)
{
	size_t hl = strlen(have), wl = strlen(want);

	if (hl == wl)
		return memcmp(have, want, hl) == 0;
	if (hl == wl + 2 && have[0] == '{' && have[hl - 1] == '}')
		return memcmp(have + 1, want, wl) == 0;
	if (wl == hl + 2 && want[0] == '{' && want[wl - 1] == '}')
		return memcmp(want + 1, have, hl) == 0;
	return false;
}

const char *
pfl_engine_symval(const struct pfl_engine_conn *c, const char *name)
{
	size_t slot;

	for (slot = 0; slot < PFL_ENGINE_MAC_SLOTS; slot++) {
		const char *p = c->macros[slot], *end;

		if (p == NULL)
			continue;
		end = p + c->maclen[slot];
		while (p < end) {
			const char *name_at = p, *value;

			value = name_at + strlen(name_at) + 1;
			if (value >= end)
				break;
			if (same_name(name_at, name))
				return value;
			p = value + strlen(value) + 1;
		}
	}
	return NULL;
}

/* --- what a callback may do --------------------------------------------- */

void
pfl_engine_setpriv(struct pfl_engine_conn *c, void *priv)
{
	c->priv = priv;
}

void *
pfl_engine_getpriv(const struct pfl_engine_conn *c)
{
	return c->priv;
}

bool
pfl_engine_granted(const struct pfl_engine_conn *c, unsigned long steps)
{
	return (c->steps & steps) == steps;
}

/* enhanced - is s an enhanced status code of class cls ("5.7.1")? */
static bool
enhanced(const char *s, char cls)
{
	int part, digits;

	if (s[0] != cls || s[1] != '.')
		return false;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits < 1 || digits > 3)
			return false;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

int
pfl_engine_setreply(struct pfl_engine_conn *c, const char *rcode,
    const char *xcode, const char *text)
{
	size_t len;

	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') || rcode[1] < '0' ||
	    rcode[1] > '9' || rcode[2] < '0' || rcode[2] > '9')
		return -1;
	if (xcode != NULL && !enhanced(xcode, rcode[0]))
		return -1;
	if (text != NULL &&
	    (strpbrk(text, "\r\n") != NULL || strlen(text) > REPLY_MAX))
		return -1;
	len = 4 + (xcode ? strlen(xcode) + 1 : 0) + (text ? strlen(text) : 0);
	free(c->reply);
	c->reply = pfl_xmalloc(len + 1);
	snprintf(c->reply, len + 1, "%s%s%s%s%s", rcode,
	    xcode || text ? " " : "", xcode ? xcode : "",
	    xcode && text ? " " : "", text ? text : "");
	return 0;
}

int
pfl_engine_insheader(struct pfl_engine_conn *c, unsigned idx, const char *name,
    const char *value)
{
	size_t at;

	if (!c->in_eom || !(c->actions & SMFIF_ADDHDRS) || name == NULL ||
	    value == NULL)
		return -1;
	at = pfl_engine_out_begin(c, SMFIR_INSHEADER);
	pfl_engine_out_add32(c, idx);
	pfl_engine_out_add(c, name, strlen(name) + 1);
	pfl_engine_out_add(c, value, strlen(value) + 1);
	pfl_engine_out_end(c, at);
	return 0;
}

int
pfl_engine_quarantine(struct pfl_engine_conn *c, const char *reason)
{
	if (!c->in_eom || !(c->actions & SMFIF_QUARANTINE) || reason == NULL ||
	    *reason == '\0')
		return -1;
	pfl_engine_out_packet(c, SMFIR_QUARANTINE, reason, strlen(reason) + 1);
	return 0;
}
