/*
 * NAME
 *	dmarc_record - the DMARC Policy Record: selection and parsing
 * DESCRIPTION
 *	RFC 9989 section 4.7 (tags) and 4.8 (formal definition): a record
 *	starts with v=DMARC1, tags are separated by ";" with optional WSP
 *	around ";" and "=", unknown tags are ignored, and a syntax error in
 *	the rest of the record falls back to the tag's default. What is
 *	left to the caller is the one rule that can make a record unusable:
 *	an invalid p, sp or np (section 4.10.1, pfl_dmarc_record_usable).
 *
 *	Tag names and the policy keywords compare case-insensitively (ABNF
 *	quoted strings); the version "DMARC1" is case-sensitive (%s).
 * SECURITY
 *	A record is hostile input from DNS: it is read with explicit
 *	lengths, may contain NUL bytes, and is never copied unbounded.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

/* A read position in a record. */
struct cursor {
	const char *p, *end;
};

/* skip_wsp - past spaces and tabs (ABNF WSP) */
static void
skip_wsp(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* eat - consume the byte ch if it is next */
static bool
eat(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/*
 * version - dmarc-version = "v" equals %s"DMARC1", then a separator or
 * the end; leaves c at the separator. Leading WSP is tolerated.
 */
static bool
version(struct cursor *c)
{
	skip_wsp(c);
	if (!(eat(c, 'v') || eat(c, 'V')))
		return false;
	skip_wsp(c);
	if (!eat(c, '='))
		return false;
	skip_wsp(c);
	if (c->end - c->p < 6 || memcmp(c->p, "DMARC1", 6) != 0)
		return false;
	c->p += 6;
	skip_wsp(c);
	return c->p == c->end || *c->p == ';';
}

/* keyword - value (n bytes) equals word, ignoring case */
static bool
keyword(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(v, word, n) == 0;
}

/* policy - a dmarc-request value into *p and *state */
static void
policy(const char *v, size_t n, enum pfl_dmarc_policy *p,
    enum pfl_dmarc_tag_state *state)
{
	*state = PFL_DMARC_TAG_VALID;
	if (keyword(v, n, "none"))
		*p = PFL_DMARC_P_NONE;
	else if (keyword(v, n, "quarantine"))
		*p = PFL_DMARC_P_QUARANTINE;
	else if (keyword(v, n, "reject"))
		*p = PFL_DMARC_P_REJECT;
	else
		*state = PFL_DMARC_TAG_INVALID;
}

/* letter - a one-letter value among choices (lower case), or dflt */
static char
letter(const char *v, size_t n, const char *choices, char dflt)
{
	int ch = n == 1 ? tolower((unsigned char)v[0]) : 0;

	return ch && strchr(choices, ch) ? (char)ch : dflt;
}

/* uri_ok - a plausible URI: scheme ":" something, no white space */
static bool
uri_ok(const char *v, size_t n)
{
	size_t i = 0;

	if (n == 0 || !isalpha((unsigned char)v[0]))
		return false;
	while (i < n &&
	    (isalnum((unsigned char)v[i]) || v[i] == '+' || v[i] == '-' ||
		v[i] == '.'))
		i++;
	if (i == n || v[i] != ':' || i + 1 == n)
		return false;
	for (; i < n; i++)
		if (!isgraph((unsigned char)v[i]))
			return false;
	return true;
}

/* uri_list - does a comma-separated dmarc-urilist hold a valid URI? */
static bool
uri_list(const char *v, size_t n)
{
	struct cursor c = { v, v + n };
	const char *start, *end;

	while (c.p < c.end) {
		skip_wsp(&c);
		start = c.p;
		while (c.p < c.end && *c.p != ',')
			c.p++;
		for (end = c.p;
		     end > start && (end[-1] == ' ' || end[-1] == '\t');)
			end--;
		if (uri_ok(start, (size_t)(end - start)))
			return true;
		eat(&c, ',');
	}
	return false;
}

/* tag_pct - 0..100, digits only; otherwise the default 100 */
static void
tag_pct(struct pfl_dmarc_record *r, const char *v, size_t n)
{
	unsigned val = 0;
	size_t i;

	if (n == 0 || n > 3)
		return;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return;
		val = val * 10 + (unsigned)(v[i] - '0');
	}
	if (val <= 100) {
		r->pct = val;
		r->pct_set = true;
	}
}

/* The tags we read; the rest of the registry is known but unused. */
enum tag { T_P, T_SP, T_NP, T_ADKIM, T_ASPF, T_PCT, T_T, T_PSD, T_RUA, T_USED };

static const char *const tag_names[] = { "p", "sp", "np", "adkim", "aspf",
	"pct", "t", "psd", "rua" };
static const char *const unused_tags[] = { "ruf", "fo", "rf", "ri" };

/* apply - one tag (name and value of given lengths) */
static void
apply(struct pfl_dmarc_record *r, enum tag t, const char *v, size_t n)
{
	switch (t) {
	case T_P:
		policy(v, n, &r->p, &r->p_state);
		break;
	case T_SP:
		policy(v, n, &r->sp, &r->sp_state);
		break;
	case T_NP:
		policy(v, n, &r->np, &r->np_state);
		break;
	case T_ADKIM:
		r->adkim = letter(v, n, "rs", 'r');
		break;
	case T_ASPF:
		r->aspf = letter(v, n, "rs", 'r');
		break;
	case T_PCT:
		tag_pct(r, v, n);
		break;
	case T_T:
		r->testing = letter(v, n, "yn", 'n') == 'y';
		break;
	case T_PSD:
		r->psd = letter(v, n, "ynu", 'u');
		break;
	case T_RUA:
		r->has_rua = uri_list(v, n);
		break;
	case T_USED:
		break;
	}
}

/* find_tag - a tag's index in tag_names, T_USED for a known unused tag */
static int
find_tag(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < T_USED; i++)
		if (keyword(name, n, tag_names[i]))
			return (int)i;
	for (i = 0; i < sizeof(unused_tags) / sizeof(unused_tags[0]); i++)
		if (keyword(name, n, unused_tags[i]))
			return T_USED;
	return -1;
}

/* value_ok - dmarc-value: printable ASCII and space, no ";" */
static bool
value_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return false;
	return n > 0;
}

/* one_tag - read "name = value" up to the next ";"; apply it */
static void
one_tag(struct pfl_dmarc_record *r, struct cursor *c, unsigned *seen)
{
	const char *name = c->p, *v, *vend;
	size_t nlen;
	int t;

	while (c->p < c->end && isalpha((unsigned char)*c->p))
		c->p++;
	nlen = (size_t)(c->p - name);
	skip_wsp(c);
	if (nlen == 0 || !eat(c, '=')) {
		r->ignored++;
		while (c->p < c->end && *c->p != ';')
			c->p++;
		return;
	}
	skip_wsp(c);
	for (v = c->p; c->p < c->end && *c->p != ';';)
		c->p++;
	for (vend = c->p; vend > v && (vend[-1] == ' ' || vend[-1] == '\t');)
		vend--;
	t = find_tag(name, nlen);
	/* unknown, repeated (the first counts) or malformed: ignored */
	if (t < 0 || !value_ok(v, (size_t)(vend - v)) ||
	    (t < T_USED && (*seen & (1u << t)))) {
		r->ignored++;
		return;
	}
	if (t < T_USED)
		*seen |= 1u << t;
	apply(r, (enum tag)t, v, (size_t)(vend - v));
}

/* pfl_dmarc_record_parse - parse one DMARC record */
int
pfl_dmarc_record_parse(const char *txt, size_t len, struct pfl_dmarc_record *r)
{
	struct cursor c = { txt, txt + len };
	unsigned seen = 0;

	memset(r, 0, sizeof(*r));
	r->adkim = r->aspf = 'r';
	r->psd = 'u';
	r->pct = 100;
	if (txt == NULL || !version(&c))
		return -1;
	while (eat(&c, ';')) {
		skip_wsp(&c);
		if (c.p == c.end)
			break;
		one_tag(r, &c, &seen);
	}
	return 0;
}

/* pfl_dmarc_record_select - the single record starting with v=DMARC1 */
int
pfl_dmarc_record_select(const char *const *txt, const size_t *len, size_t n)
{
	struct cursor c;
	int found = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		c.p = txt[i];
		c.end = txt[i] + len[i];
		if (txt[i] == NULL || !version(&c))
			continue;
		if (found >= 0)
			return -2;
		found = (int)i;
	}
	return found;
}

/* pfl_dmarc_record_usable - the section 4.10.1 rule for bad policies */
bool
pfl_dmarc_record_usable(struct pfl_dmarc_record *r)
{
	if (r->p_state != PFL_DMARC_TAG_INVALID &&
	    r->sp_state != PFL_DMARC_TAG_INVALID &&
	    r->np_state != PFL_DMARC_TAG_INVALID)
		return true;
	if (!r->has_rua)
		return false;
	/* "act as if a record containing p=none was retrieved" */
	r->p = r->sp = r->np = PFL_DMARC_P_NONE;
	r->p_state = PFL_DMARC_TAG_VALID;
	r->sp_state = r->np_state = PFL_DMARC_TAG_ABSENT;
	return true;
}

/* pfl_dmarc_record_canon - the record with only what libopendmarc needs */
void
pfl_dmarc_record_canon(const struct pfl_dmarc_record *r, char *buf, size_t n)
{
	char sp[32] = "";

	if (r->sp_state == PFL_DMARC_TAG_VALID)
		snprintf(
		    sp, sizeof(sp), " sp=%s;", pfl_dmarc_policy_name(r->sp));
	snprintf(buf, n, "v=DMARC1; p=%s;%s adkim=%c; aspf=%c; pct=%u",
	    pfl_dmarc_policy_name(r->p), sp, r->adkim, r->aspf, r->pct);
}
