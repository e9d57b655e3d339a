/*
 * NAME
 *	conform_field - one header field as it arrives
 * DESCRIPTION
 *	Looks at the field's name, its line ends and line lengths, its
 *	8-bit octets, its encoded words and Gmail's limits on its size, and
 *	keeps what the message rules need (the first From:, Message-ID:,
 *	Date:, List-Unsubscribe(-Post):, bulk marks).
 *
 *	Encoded words are judged only in the fields named in ew_fields
 *	(address, MIME and trace fields, Subject:, Comments:, Keywords:);
 *	other fields (X-...) carry what their writers want.
 */
#include <autoconfig.h>

#include <string.h>

#include "arena.h"
#include "conform_private.h"
#include "util.h"

#define LINE_MAX_OCTETS   998   /* RFC 5322 2.1.1 */
#define GMAIL_MAX_VALUE   32768 /* Gmail: any field but To:, Cc:, References: */
#define GMAIL_MAX_MSGID   500   /* ... Message-ID: */
#define GMAIL_MAX_SUBJECT 998   /* ... Subject: */

/* Where the fields whose encoded words are judged allow them. */
static const struct {
	const char *name;
	enum pfl_rfc2047_where where;
} ew_fields[] = {
	{ "Subject", PFL_EW_TEXT },
	{ "Comments", PFL_EW_TEXT },
	{ "Keywords", PFL_EW_TEXT },
	{ "From", PFL_EW_ADDRESS },
	{ "Sender", PFL_EW_ADDRESS },
	{ "Reply-To", PFL_EW_ADDRESS },
	{ "To", PFL_EW_ADDRESS },
	{ "Cc", PFL_EW_ADDRESS },
	{ "Bcc", PFL_EW_ADDRESS },
	{ "Resent-From", PFL_EW_ADDRESS },
	{ "Resent-Sender", PFL_EW_ADDRESS },
	{ "Resent-To", PFL_EW_ADDRESS },
	{ "Resent-Cc", PFL_EW_ADDRESS },
	{ "Resent-Bcc", PFL_EW_ADDRESS },
	{ "Disposition-Notification-To", PFL_EW_ADDRESS },
	{ "List-Id", PFL_EW_ADDRESS },
	{ "Content-Type", PFL_EW_PARAMS },
	{ "Content-Disposition", PFL_EW_PARAMS },
	{ "Message-ID", PFL_EW_NEVER },
	{ "In-Reply-To", PFL_EW_NEVER },
	{ "References", PFL_EW_NEVER },
	{ "Date", PFL_EW_NEVER },
	{ "Received", PFL_EW_NEVER },
	{ "Return-Path", PFL_EW_NEVER },
	{ "MIME-Version", PFL_EW_NEVER },
	{ "Content-Transfer-Encoding", PFL_EW_NEVER },
	{ "Content-ID", PFL_EW_NEVER },
	{ "Resent-Date", PFL_EW_NEVER },
	{ "Resent-Message-ID", PFL_EW_NEVER },
	{ "List-Unsubscribe", PFL_EW_NEVER },
	{ "List-Unsubscribe-Post", PFL_EW_NEVER },
};

/* field_index - index of name in names[0..n) (any case), or -1 */
static int
field_index(const char *name, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pfl_strcaseeq(name, names[i]))
			return (int)i;
	return -1;
}

/* check_name - a field name: 1*(printable ASCII but ':') */
static void
check_name(struct pfl_conform *c, const char *name, size_t nlen)
{
	char s[PFL_CONFORM_SNIP + 1];
	size_t i;

	if (nlen == 0) {
		pfl_conform_note(c, R_FIELD, "give every header field a name",
		    "a header field has an empty name (RFC 5322 2.2)");
		return;
	}
	for (i = 0; i < nlen; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch < 33 || ch > 126 || ch == ':') {
			pfl_conform_note(c, R_FIELD,
			    "use header field names of printable ASCII, "
			    "without spaces",
			    "the header field name %s has a character RFC 5322 "
			    "2.2 does not allow",
			    pfl_conform_snip(s, name, nlen));
			return;
		}
	}
}

/* check_lines - no bare CR or LF (a fold is CRLF or LF, then WSP), <= 998 */
static void
check_lines(struct pfl_conform *c, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	size_t i, j, line = nlen + 1; /* "Name:" */
	char s[PFL_CONFORM_SNIP + 1];

	for (i = 0; i <= vlen; i++) {
		if (i < vlen && v[i] != '\r' && v[i] != '\n') {
			line++;
			continue;
		}
		if (line > LINE_MAX_OCTETS) {
			pfl_conform_note(c, R_FIELD,
			    "fold header lines under 998 octets (78 is "
			    "recommended)",
			    "a line of the %s: header is over 998 octets "
			    "(RFC 5322 2.1.1)",
			    pfl_conform_snip(s, name, nlen));
			return;
		}
		if (i == vlen)
			return;
		j = v[i] == '\r' && i + 1 < vlen && v[i + 1] == '\n' ? i + 1
								     : i;
		if (v[i] == '\r' && j == i) {
			pfl_conform_note(c, R_FIELD,
			    "end header lines with CRLF",
			    "the %s: header has a bare CR (RFC 5322 2.2)",
			    pfl_conform_snip(s, name, nlen));
			return;
		}
		if (j + 1 >= vlen || (v[j + 1] != ' ' && v[j + 1] != '\t')) {
			pfl_conform_note(c, R_FIELD,
			    "start continuation lines of a header with white "
			    "space",
			    "the %s: header has a line break that is not a "
			    "fold (RFC 5322 2.2.3)",
			    pfl_conform_snip(s, name, nlen));
			return;
		}
		i = j;
		line = 0;
	}
}

/* utf8_ok - is s[0..n) well-formed UTF-8 (RFC 3629)? */
static bool
utf8_ok(const unsigned char *s, size_t n)
{
	unsigned long cp, min;
	size_t i = 0, k, need;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			need = 2, cp = s[i] & 0x0f, min = 0x800;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3, cp = s[i] & 0x07, min = 0x10000;
		else
			return false;
		if (n - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* check_8bit - raw 8-bit text only under SMTPUTF8, and then UTF-8 */
static void
check_8bit(struct pfl_conform *c, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	char s[PFL_CONFORM_SNIP + 1];
	size_t i;

	for (i = 0; i < vlen && (unsigned char)v[i] < 0x80; i++)
		;
	if (i == vlen)
		return;
	if (!c->opts.smtputf8)
		pfl_conform_note(c, R_8BIT,
		    "encode non-ASCII header text as RFC 2047 encoded words",
		    "the %s: header has raw non-ASCII text, which needs "
		    "SMTPUTF8 (RFC 6532)",
		    pfl_conform_snip(s, name, nlen));
	else if (!utf8_ok((const unsigned char *)v, vlen))
		pfl_conform_note(c, R_8BIT,
		    "write non-ASCII header text as UTF-8",
		    "the %s: header is not valid UTF-8 (RFC 6532)",
		    pfl_conform_snip(s, name, nlen));
}

/* check_encwords - encoded words only where RFC 2047 5 allows them */
static void
check_encwords(struct pfl_conform *c, const char *name, size_t nlen,
    const char *v, size_t vlen)
{
	char why[160], s[PFL_CONFORM_SNIP + 1];
	size_t i;

	if (c->why[R_ENCWORD] != NULL)
		return;
	for (i = 0; i < sizeof(ew_fields) / sizeof(ew_fields[0]); i++)
		if (pfl_strcaseeq(name, ew_fields[i].name))
			break;
	if (i == sizeof(ew_fields) / sizeof(ew_fields[0]) ||
	    pfl_rfc2047_scan(v, vlen, ew_fields[i].where, why, sizeof(why)) ==
		NULL)
		return;
	pfl_conform_note(c, R_ENCWORD,
	    "use RFC 2047 encoded words only in display names, comments and "
	    "Subject:",
	    "the %s: header has %s (RFC 2047 5)",
	    pfl_conform_snip(s, name, nlen), why);
}

/* check_limits - Gmail's limits on one field */
static void
check_limits(
    struct pfl_conform *c, int idx, const char *name, size_t nlen, size_t vlen)
{
	char s[PFL_CONFORM_SNIP + 1];
	size_t max = GMAIL_MAX_VALUE;

	if (idx == S_TO || idx == S_CC || idx == S_REFERENCES)
		return;
	if (idx == S_MSGID)
		max = GMAIL_MAX_MSGID;
	else if (idx == S_SUBJECT)
		max = GMAIL_MAX_SUBJECT;
	if (vlen > max)
		pfl_conform_note(c, R_SIZE, "shorten that header",
		    "the %s: header is %zu octets, over Gmail's limit of %zu",
		    pfl_conform_snip(s, name, nlen), vlen, max);
}

/* keep_field - note the fields the message rules need */
static void
keep_field(struct pfl_conform *c, int idx, const char *name, const char *v,
    size_t vlen)
{
	const char *why;
	char s[PFL_CONFORM_SNIP + 1];

	if (idx >= 0 && ++c->nsingle[idx] == 2 && c->dup < 0 && idx != S_FROM)
		c->dup = idx;
	if (idx == S_FROM && c->nsingle[idx] == 1) {
		c->from_err = pfl_rfc5322_addresses(v, vlen, &c->from);
		pfl_conform_snip(c->from_snip, v, vlen);
	} else if (idx == S_MSGID && c->nsingle[idx] == 1 &&
	    (why = pfl_rfc5322_msgid(v, vlen)) != NULL) {
		pfl_conform_note(c, R_MSGID,
		    "write Message-ID: as <unique-id@your.domain>",
		    "Message-ID: %s is not a valid msg-id (%s; RFC 5322 "
		    "3.6.4)",
		    pfl_conform_snip(s, v, vlen), why);
	} else if (idx == S_DATE && c->nsingle[idx] == 1 &&
	    (why = pfl_rfc5322_date(v, vlen)) != NULL) {
		pfl_conform_note(c, R_DATE,
		    "write Date: as RFC 5322 3.3 has it, e.g. Mon, 2 Jan 2006 "
		    "15:04:05 +0000",
		    "Date: %s is not an RFC 5322 date (%s)",
		    pfl_conform_snip(s, v, vlen), why);
	} else if (pfl_strcaseeq(name, "List-Unsubscribe")) {
		if (c->unsub == NULL)
			c->unsub = pfl_arena_strdup(c->arena, v);
	} else if (pfl_strcaseeq(name, "List-Unsubscribe-Post")) {
		if (c->unsub_post == NULL)
			c->unsub_post = pfl_arena_strdup(c->arena, v);
	} else if (pfl_strcaseeq(name, "List-Id")) {
		c->bulk_marked = true;
	} else if (pfl_strcaseeq(name, "Precedence")) {
		pfl_conform_snip(s, v, vlen);
		if (pfl_strcaseeq(s, "bulk") || pfl_strcaseeq(s, "list"))
			c->bulk_marked = true;
	}
}

/* pfl_conform_header - one header field */
void
pfl_conform_header(struct pfl_conform *c, const char *name, const char *value)
{
	const char *n = name ? name : "", *v = value ? value : "";
	size_t nlen = strlen(n), vlen = strlen(v);
	int idx = field_index(n, pfl_conform_single, S_N);

	c->nfields++;
	c->bytes += nlen + 1 + vlen + 2; /* "Name:" value CRLF */
	check_name(c, n, nlen);
	check_lines(c, n, nlen, v, vlen);
	check_8bit(c, n, nlen, v, vlen);
	check_encwords(c, n, nlen, v, vlen);
	check_limits(c, idx, n, nlen, vlen);
	keep_field(c, idx, n, v, vlen);
}
