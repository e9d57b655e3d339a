/*
 * NAME
 *	conform - would the receiver refuse the shape of this message?
 * DESCRIPTION
 *	See conform.h. Fields are looked at as they arrive (conform_field.c):
 *	each rule keeps only its first case. The rules that need the whole
 *	header section (a missing field, a repeated one, the size) are
 *	judged at the end, here, and every kept case becomes one finding.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "conform_private.h"
#include "util.h"

#define CHECK "conform"

/*
 * What Gmail answers: RECEIVERS.md ("550 5.7.1 (RFC 5322 family)").
 * RECEIVERS.md names no reply for bulk mail without one-click
 * unsubscribe: the same family is assumed. Header limits: Gmail's
 * "message header limits" page (support.google.com/a/answer/14016360).
 */
#define REPLY_MALFORMED "550 5.7.1"
#define REPLY_SIZE      "552 5.3.4"
#define REPLY_UNSUB     "550 5.7.1"

#define GMAIL_MAX_FIELDS 5000 /* Gmail: header fields in a message */

const char *const pfl_conform_single[S_N] = { "Date", "From", "Sender", "To",
	"Cc", "Bcc", "Subject", "Message-ID", "Reply-To", "In-Reply-To",
	"References" };

/* pfl_conform_new - a checker for one message */
struct pfl_conform *
pfl_conform_new(struct pfl_arena *arena, const struct pfl_conform_opts *o)
{
	struct pfl_conform *c = pfl_arena_alloc(arena, sizeof(*c));

	c->arena = arena;
	c->opts = *o;
	if (c->opts.max_header_bytes == 0)
		c->opts.max_header_bytes = PFL_CONFORM_MAX_HEADER_DEFAULT;
	c->dup = -1;
	return c;
}

/* pfl_conform_snip - s[0..len) cut, ends trimmed, printable, into dst */
char *
pfl_conform_snip(char dst[PFL_CONFORM_SNIP + 1], const char *s, size_t len)
{
	size_t i, n = 0;

	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, len--;
	for (i = 0; i < len && n < PFL_CONFORM_SNIP; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r' || ch == '\n')
			continue;
		dst[n++] = ch >= ' ' && ch < 0x7f && ch != '%' && ch != '"'
		    ? (char)ch
		    : '?';
	}
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t'))
		n--;
	dst[n] = '\0';
	return dst;
}

/* pfl_conform_note - keep the first case of rule r */
void
pfl_conform_note(struct pfl_conform *c, enum pfl_conform_rule r,
    const char *fix, const char *fmt, ...)
{
	char buf[224];
	va_list ap;

	if (c->why[r] != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->why[r] = pfl_arena_strdup(c->arena, buf);
	c->fix[r] = fix;
}

/* from_domain_why - why the From: domain is not usable, or NULL */
static const char *
from_domain_why(const struct pfl_conform *c)
{
	const struct pfl_rfc5322_addrs *a = &c->from;

	if (c->nsingle[S_FROM] != 1 || c->from_err != NULL || a->ngroup > 0 ||
	    a->nmailbox != 1)
		return "no single From: address";
	if (a->domain_literal)
		return "an address literal, not a name";
	if (a->domain_long)
		return "longer than 253 octets";
	return pfl_rfc5322_domain(a->domain);
}

/* from_rule - exactly one From: with one address under a valid domain */
static void
from_rule(struct pfl_conform *c)
{
	const struct pfl_rfc5322_addrs *a = &c->from;
	const char *why;
	char s[PFL_CONFORM_SNIP + 1];

	if (c->nsingle[S_FROM] == 0)
		pfl_conform_note(c, R_FROM,
		    "add a From: header with the sender's address",
		    "the message has no From: header (RFC 5322 3.6)");
	else if (c->nsingle[S_FROM] > 1)
		pfl_conform_note(c, R_FROM, "keep one From: header",
		    "the message has %u From: headers (RFC 5322 3.6)",
		    c->nsingle[S_FROM]);
	else if (c->from_err != NULL)
		pfl_conform_note(c, R_FROM,
		    "write From: as Name <local@your.domain>",
		    "From: %s cannot be parsed (%s; RFC 5322 3.4)",
		    c->from_snip, c->from_err);
	else if (a->ngroup > 0)
		pfl_conform_note(c, R_FROM,
		    "put one mailbox in From:, not a group",
		    "From: %s is a group, not one address (RFC 5322 3.6.2)",
		    c->from_snip);
	else if (a->nmailbox > 1)
		pfl_conform_note(c, R_FROM,
		    "put one address in From: (others go in Reply-To:)",
		    "From: has %zu addresses, Gmail takes one", a->nmailbox);
	else if ((why = from_domain_why(c)) != NULL)
		pfl_conform_note(c, R_FROM,
		    "use a valid domain name in the From: address",
		    "the From: domain %s is not a valid domain name (%s)",
		    pfl_conform_snip(s, a->domain, strlen(a->domain)), why);
}

/* our_codes - our reply for the action: 550/5.x.y or 451/4.x.y */
static void
our_codes(
    const char *predicted, enum pfl_action act, char rcode[4], char xcode[10])
{
	const char *dot = strchr(predicted, '.');
	bool rej = act == PFL_ACT_REJECT;

	pfl_strlcpy(rcode, rej ? "550" : "451", 4);
	snprintf(xcode, 10, "%c%s", rej ? '5' : '4', dot ? dot : ".7.1");
}

/* emit - the finding of rule r into f */
static void
emit(struct pfl_conform *c, enum pfl_conform_rule r, struct pfl_finding *f)
{
	const char *reply = r == R_SIZE ? REPLY_SIZE
	    : r >= R_UNSUB              ? REPLY_UNSUB
					: REPLY_MALFORMED;
	enum pfl_action act =
	    r >= R_UNSUB ? c->opts.on_unsub_missing : c->opts.on_malformed;
	char reason[320], rcode[4], xcode[10];

	snprintf(reason, sizeof(reason), "Gmail would refuse this (%s): %s",
	    reply, c->why[r]);
	our_codes(reply, act, rcode, xcode);
	pfl_finding_set(
	    f, CHECK, PFL_OUT_REFUSE, act, reply, rcode, xcode, reason);
	pfl_printable(f->fix, sizeof(f->fix), c->fix[r], "%\"");
	c->found |= 1u << r;
}

/* pfl_conform_emit - findings of rules lo..hi-1 into f (room for max) */
size_t
pfl_conform_emit(struct pfl_conform *c, enum pfl_conform_rule lo,
    enum pfl_conform_rule hi, struct pfl_finding *f, size_t max)
{
	size_t n = 0;
	int r;

	for (r = lo; r < (int)hi && n < max; r++)
		if (c->why[r] != NULL)
			emit(c, (enum pfl_conform_rule)r, &f[n++]);
	return n;
}

/* pfl_conform_message - findings about the header section */
size_t
pfl_conform_message(struct pfl_conform *c, struct pfl_finding *f, size_t max)
{
	char fix[96];

	from_rule(c);
	if (c->nsingle[S_MSGID] == 0 && !c->opts.mta_adds_missing)
		pfl_conform_note(c, R_MSGID,
		    "add Message-ID: <unique-id@your.domain> when sending",
		    "the message has no Message-ID: header (RFC 5322 3.6.4)");
	if (c->nsingle[S_DATE] == 0 && !c->opts.mta_adds_missing)
		pfl_conform_note(c, R_DATE, "add a Date: header when sending",
		    "the message has no Date: header (RFC 5322 3.6)");
	if (c->dup >= 0 && c->why[R_DUP] == NULL) {
		snprintf(fix, sizeof(fix), "keep one %s: header",
		    pfl_conform_single[c->dup]);
		pfl_conform_note(c, R_DUP, pfl_arena_strdup(c->arena, fix),
		    "the message has %u %s: headers (RFC 5322 3.6)",
		    c->nsingle[c->dup], pfl_conform_single[c->dup]);
	}
	if (c->bytes > c->opts.max_header_bytes)
		pfl_conform_note(c, R_SIZE, "shrink the header section",
		    "the header section is %zu octets, over %zu", c->bytes,
		    c->opts.max_header_bytes);
	if (c->nfields > GMAIL_MAX_FIELDS)
		pfl_conform_note(c, R_SIZE, "remove header fields",
		    "the message has %zu header fields, over Gmail's limit of "
		    "%d",
		    c->nfields, GMAIL_MAX_FIELDS);
	return pfl_conform_emit(c, R_FROM, R_UNSUB, f, max);
}

/* pfl_conform_from_domain - the one From: address's domain, or NULL */
const char *
pfl_conform_from_domain(const struct pfl_conform *c)
{
	return from_domain_why(c) == NULL ? c->from.domain : NULL;
}

/* pfl_conform_bulk_marked - Precedence: bulk or list, or a List-Id: */
bool
pfl_conform_bulk_marked(const struct pfl_conform *c)
{
	return c->bulk_marked;
}

/* pfl_conform_found - the rules that gave findings so far */
unsigned
pfl_conform_found(const struct pfl_conform *c)
{
	return c->found;
}
