/*
 * NAME
 *	spf_record - parse and syntax-check an SPF record (RFC 7208)
 * DESCRIPTION
 *	Terms are separated by one or more spaces. A term whose first ':',
 *	'/' or '=' is '=' is a modifier (name = ALPHA *(ALPHA / DIGIT / "-"
 *	/ "_" / ".")); redirect and exp take a domain-spec and may appear
 *	once each, unknown modifiers need a valid macro-string. Anything
 *	else is a directive: [qualifier] mechanism, each mechanism with
 *	exactly its own arguments. CIDR lengths have no leading zeros
 *	(0..32 for IPv4, 0..128 for IPv6; /0 is allowed); ip4 addresses are
 *	strict dotted quads.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_record.h"
#include "util.h"

static const struct {
	const char *name;
	enum pfl_spf_mech mech;
} mechs[] = {
	{ "all", PFL_SPF_M_ALL },
	{ "include", PFL_SPF_M_INCLUDE },
	{ "a", PFL_SPF_M_A },
	{ "mx", PFL_SPF_M_MX },
	{ "ptr", PFL_SPF_M_PTR },
	{ "ip4", PFL_SPF_M_IP4 },
	{ "ip6", PFL_SPF_M_IP6 },
	{ "exists", PFL_SPF_M_EXISTS },
};

/* pfl_spf_record_is_spf - "v=spf1" then a space or the end */
bool
pfl_spf_record_is_spf(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	    (len == 6 || text[6] == ' ');
}

/* cidr_len - "/N" at s (n bytes, whole): N in 0..max without leading
 * zeros; -1 when not */
static int
cidr_len(const char *s, size_t n, unsigned max)
{
	unsigned v = 0;
	size_t i;

	if (n < 2 || s[0] != '/' || n > 5 || (s[1] == '0' && n > 2))
		return -1;
	for (i = 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max ? (int)v : -1;
}

/* digits_tail - where a trailing "/digits" starts in s[0..n), or n */
static size_t
digits_tail(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i < n && i > 0 && s[i - 1] == '/' ? i - 1 : n;
}

/* dual_cidr - strip [ "/" ip4-len ] [ "//" ip6-len ] off the end of
 * s[0..*n); -1 on a bad length */
static int
dual_cidr(
    const char *s, size_t *n, struct pfl_spf_term *t, char *err, size_t en)
{
	size_t at = digits_tail(s, *n), len = *n;
	int v;

	if (at < *n && at > 0 && s[at - 1] == '/') {
		if ((v = cidr_len(s + at, *n - at, 128)) < 0)
			goto bad;
		t->cidr6 = (unsigned)v;
		*n = at - 1;
		at = digits_tail(s, *n);
	}
	if (at < *n) {
		if ((v = cidr_len(s + at, *n - at, 32)) < 0)
			goto bad;
		t->cidr4 = (unsigned)v;
		*n = at;
	}
	return 0;
bad:
	snprintf(err, en, "bad CIDR length in \"%.*s\"",
	    (int)(len < 40 ? len : 40), s);
	return -1;
}

/* ip4_strict - a dotted quad without leading zeros */
static bool
ip4_strict(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0, part;

	for (part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;

		while (i < n && isdigit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		out[part] = (unsigned char)v;
		if (part < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	return i == n;
}

/* ip6_parse - an IPv6 address of n bytes */
static bool
ip6_parse(const char *s, size_t n, unsigned char out[16])
{
	char addr[INET6_ADDRSTRLEN];

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return inet_pton(AF_INET6, addr, out) == 1;
}

/* parse_ip - "ip4:" or "ip6:" argument (after the colon) */
static int
parse_ip(const char *s, size_t n, struct pfl_spf_term *t, char *err, size_t en)
{
	bool v4 = t->mech == PFL_SPF_M_IP4;
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int v = 0;

	if (slash && (v = cidr_len(slash, n - alen, v4 ? 32 : 128)) < 0) {
		snprintf(err, en, "bad CIDR length in \"%.*s\"",
		    (int)(n < 40 ? n : 40), s);
		return -1;
	}
	if (v4 ? !ip4_strict(s, alen, t->net) : !ip6_parse(s, alen, t->net)) {
		snprintf(err, en, "bad %s network \"%.*s\"", v4 ? "ip4" : "ip6",
		    (int)(alen < 60 ? alen : 60), s);
		return -1;
	}
	if (slash) {
		if (v4)
			t->cidr4 = (unsigned)v;
		else
			t->cidr6 = (unsigned)v;
	}
	return 0;
}

/* set_domain - the ":" domain-spec argument (required or optional) */
static int
set_domain(const char *s, size_t n, bool required, struct pfl_spf_term *t,
    char *err, size_t en)
{
	if (n == 0 && !required)
		return 0;
	if (n == 0 || s[0] != ':') {
		snprintf(err, en, "\"%.40s\" needs \":domain\"", t->text);
		return -1;
	}
	if (!pfl_spf_domain_spec_ok(s + 1, n - 1, err, en))
		return -1;
	t->domain = pfl_xstrndup(s + 1, n - 1);
	return 0;
}

/* parse_args - a mechanism's arguments s[0..n) (after its name) */
static int
parse_args(
    const char *s, size_t n, struct pfl_spf_term *t, char *err, size_t en)
{
	switch (t->mech) {
	case PFL_SPF_M_ALL:
		if (n == 0)
			return 0;
		snprintf(err, en, "\"all\" takes no argument");
		return -1;
	case PFL_SPF_M_INCLUDE:
	case PFL_SPF_M_EXISTS:
		return set_domain(s, n, true, t, err, en);
	case PFL_SPF_M_PTR:
		return set_domain(s, n, false, t, err, en);
	case PFL_SPF_M_A:
	case PFL_SPF_M_MX:
		if (dual_cidr(s, &n, t, err, en) != 0)
			return -1;
		return set_domain(s, n, false, t, err, en);
	case PFL_SPF_M_IP4:
	case PFL_SPF_M_IP6:
		if (n > 1 && s[0] == ':')
			return parse_ip(s + 1, n - 1, t, err, en);
		snprintf(err, en, "\"%.40s\" needs \":network\"", t->text);
		return -1;
	}
	return -1;
}

/* parse_directive - [qualifier] mechanism [arguments] */
static int
parse_directive(
    const char *s, size_t n, struct pfl_spf_term *t, char *err, size_t en)
{
	size_t name, i;

	t->qualifier = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (n > 0 && strchr("+-~?", s[0])) {
		t->qualifier = s[0];
		s++;
		n--;
	}
	for (name = 0; name < n && s[name] != ':' && s[name] != '/'; name++)
		;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == name &&
		    strncasecmp(s, mechs[i].name, name) == 0) {
			t->mech = mechs[i].mech;
			return parse_args(s + name, n - name, t, err, en);
		}
	snprintf(err, en, "unknown mechanism \"%.40s\"", t->text);
	return -1;
}

/* modifier_name_ok - ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static bool
modifier_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* set_modifier - store redirect= or exp= once */
static int
set_modifier(char **slot, const char *name, const char *v, size_t n, char *err,
    size_t en)
{
	if (*slot) {
		snprintf(err, en, "%s= given twice", name);
		return -1;
	}
	if (!pfl_spf_domain_spec_ok(v, n, err, en))
		return -1;
	*slot = pfl_xstrndup(v, n);
	return 0;
}

/* parse_modifier - name=value (eq is the position of '=') */
static int
parse_modifier(struct pfl_spf_record *rec, const char *s, size_t n, size_t eq,
    char *err, size_t en)
{
	const char *v = s + eq + 1;
	size_t vn = n - eq - 1;

	if (!modifier_name_ok(s, eq)) {
		snprintf(err, en, "bad modifier name \"%.*s\"",
		    (int)(eq < 40 ? eq : 40), s);
		return -1;
	}
	if (eq == 8 && strncasecmp(s, "redirect", 8) == 0)
		return set_modifier(&rec->redirect, "redirect", v, vn, err, en);
	if (eq == 3 && strncasecmp(s, "exp", 3) == 0)
		return set_modifier(&rec->exp, "exp", v, vn, err, en);
	/* c, r and t are not refused here: nobody expands the value */
	return pfl_spf_macro_expand(NULL, v, vn, true, NULL, err, en);
}

/* parse_term - one term s[0..n) */
static int
parse_term(
    struct pfl_spf_record *rec, const char *s, size_t n, char *err, size_t en)
{
	size_t k = 0;
	struct pfl_spf_term *t;

	while (k < n && s[k] != ':' && s[k] != '/' && s[k] != '=')
		k++;
	if (k < n && s[k] == '=')
		return parse_modifier(rec, s, n, k, err, en);
	rec->terms =
	    pfl_xrealloc(rec->terms, (rec->count + 1) * sizeof(*rec->terms));
	t = &rec->terms[rec->count++];
	memset(t, 0, sizeof(*t));
	t->text = pfl_xstrndup(s, n);
	return parse_directive(s, n, t, err, en);
}

/* pfl_spf_record_parse - the whole record, every term checked */
int
pfl_spf_record_parse(const char *text, size_t len,
    struct pfl_spf_record **rec_r, char *err, size_t n)
{
	struct pfl_spf_record *rec = pfl_xcalloc(1, sizeof(*rec));
	size_t i = 6, start;

	if (!pfl_spf_record_is_spf(text, len)) {
		snprintf(err, n, "not an SPF record");
		goto bad;
	}
	for (;;) {
		while (i < len && text[i] == ' ')
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && text[i] != ' ')
			i++;
		if (parse_term(rec, text + start, i - start, err, n) != 0)
			goto bad;
	}
	*rec_r = rec;
	return 0;
bad:
	pfl_spf_record_free(&rec);
	return -1;
}

/* pfl_spf_record_free - free a record; NULLs *rp */
void
pfl_spf_record_free(struct pfl_spf_record **rp)
{
	struct pfl_spf_record *rec = *rp;
	size_t i;

	if (rec == NULL)
		return;
	for (i = 0; i < rec->count; i++) {
		free(rec->terms[i].domain);
		free(rec->terms[i].text);
	}
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
	*rp = NULL;
}
