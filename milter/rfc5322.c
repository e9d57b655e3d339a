/*
 * NAME
 *	rfc5322 - parsers for the structured header fields preflight judges
 * DESCRIPTION
 *	A lexer turns a field value into RFC 5322 tokens (atoms, quoted
 *	strings, domain literals, specials), skipping CFWS between them;
 *	small recursive-descent-free parsers read the tokens. Skipping CFWS
 *	everywhere is exactly the tolerance of the obsolete syntax (RFC 5322
 *	4: "a . b" is a valid obs-local-part). Octets >= 0x80 count as atext,
 *	as RFC 6532 has it: whether raw 8-bit text is allowed at all is
 *	judged elsewhere. The lexer's error is sticky: the first failure is
 *	the one reported.
 */
#include <autoconfig.h>

#include <string.h>

#include "rfc5322.h"

enum tok {
	T_EOF,     /* end of the value */
	T_ATOM,    /* 1*atext */
	T_QSTR,    /* quoted string, quotes included */
	T_DLIT,    /* domain literal, brackets included */
	T_SPECIAL, /* one of ()<>[]:;@\,. */
	T_ERROR,   /* see err */
};

struct lex {
	const unsigned char *p, *end; /* what is left */
	enum tok t;                   /* the current token */
	const unsigned char *s;       /* its text */
	size_t n;                     /* its length */
	int c;                        /* the special, for T_SPECIAL */
	const char *err;              /* first error, or NULL */
};

/* is_wsp - white space, line ends of folding included */
static bool
is_wsp(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* is_atext - may the octet be part of an atom (RFC 5322 3.2.3, RFC 6532) */
static bool
is_atext(unsigned c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", (int)c) != NULL;
}

/* fail - make why the error, unless there is one already */
static void
fail(struct lex *lx, const char *why)
{
	if (lx->err == NULL)
		lx->err = why;
	lx->t = T_ERROR;
}

/* skip_comment - past the comment at lx->p; nesting counted, capped */
static void
skip_comment(struct lex *lx)
{
	unsigned depth = 0;

	for (; lx->p < lx->end; lx->p++) {
		if (*lx->p == '\\') {
			if (++lx->p == lx->end)
				break;
		} else if (*lx->p == '(') {
			if (++depth > PFL_RFC5322_MAX_NEST) {
				fail(lx, "comments nested too deep");
				return;
			}
		} else if (*lx->p == ')' && --depth == 0) {
			lx->p++;
			return;
		}
	}
	fail(lx, "unterminated comment");
}

/* skip_cfws - past white space and comments */
static void
skip_cfws(struct lex *lx)
{
	while (lx->err == NULL && lx->p < lx->end) {
		if (is_wsp(*lx->p))
			lx->p++;
		else if (*lx->p == '(')
			skip_comment(lx);
		else
			break;
	}
}

/* scan_delimited - past a quoted string or literal ending in close */
static bool
scan_delimited(struct lex *lx, int close, const char *why)
{
	const unsigned char *q;

	for (q = lx->p + 1; q < lx->end && *q != close; q++) {
		if (*q == '\\' && ++q == lx->end)
			break;
		if (close == ']' && *q == '[')
			break;
	}
	if (q >= lx->end || *q != close) {
		fail(lx, why);
		return false;
	}
	lx->s = lx->p;
	lx->n = (size_t)(q + 1 - lx->p);
	lx->p = q + 1;
	return true;
}

/* next - the next token into lx */
static void
next(struct lex *lx)
{
	unsigned c;

	skip_cfws(lx);
	if (lx->err != NULL) {
		lx->t = T_ERROR;
		return;
	}
	if (lx->p == lx->end) {
		lx->t = T_EOF;
		return;
	}
	c = *lx->p;
	if (is_atext(c)) {
		lx->s = lx->p;
		while (lx->p < lx->end && is_atext(*lx->p))
			lx->p++;
		lx->n = (size_t)(lx->p - lx->s);
		lx->t = T_ATOM;
	} else if (c == '"') {
		if (scan_delimited(lx, '"', "unterminated quoted string"))
			lx->t = T_QSTR;
	} else if (c == '[') {
		if (scan_delimited(lx, ']', "bad domain literal"))
			lx->t = T_DLIT;
	} else if (strchr("()<>]:;@\\,.", (int)c) != NULL) {
		lx->s = lx->p++;
		lx->n = 1;
		lx->c = (int)c;
		lx->t = T_SPECIAL;
	} else {
		fail(lx, "a control character");
	}
}

/* lex_start - a lexer on s[0..len), at its first token */
static void
lex_start(struct lex *lx, const char *s, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = (const unsigned char *)s;
	lx->end = lx->p + len;
	next(lx);
}

/* is_special - is the current token the special c? */
static bool
is_special(const struct lex *lx, int c)
{
	return lx->t == T_SPECIAL && lx->c == c;
}

/* expect - step over the special c, or fail with why */
static bool
expect(struct lex *lx, int c, const char *why)
{
	if (!is_special(lx, c)) {
		fail(lx, why);
		return false;
	}
	next(lx);
	return true;
}

/* local_part - word *("." word) */
static void
local_part(struct lex *lx)
{
	for (;;) {
		if (lx->t != T_ATOM && lx->t != T_QSTR) {
			fail(lx, "bad local part");
			return;
		}
		next(lx);
		if (!is_special(lx, '.'))
			return;
		next(lx);
	}
}

/* keep - append the token to r's domain, lower case, when r is given */
static void
keep(const struct lex *lx, struct pfl_rfc5322_addrs *r)
{
	size_t len, i;

	if (r == NULL)
		return;
	len = strlen(r->domain);
	if (len + lx->n >= sizeof(r->domain)) {
		r->domain_long = true;
		return;
	}
	for (i = 0; i < lx->n; i++) {
		unsigned c = lx->s[i];

		r->domain[len + i] =
		    (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	r->domain[len + i] = '\0';
}

/* domain - dot-atom or domain literal; kept in r when r is given */
static void
domain(struct lex *lx, struct pfl_rfc5322_addrs *r)
{
	if (lx->t == T_DLIT) {
		if (r != NULL)
			r->domain_literal = true;
		keep(lx, r);
		next(lx);
		return;
	}
	for (;;) {
		if (lx->t != T_ATOM) {
			fail(lx, "bad domain");
			return;
		}
		keep(lx, r);
		next(lx);
		if (!is_special(lx, '.'))
			return;
		keep(lx, r);
		next(lx);
	}
}

/* first - r when no mailbox was seen yet (its domain is the one kept) */
static struct pfl_rfc5322_addrs *
first(struct pfl_rfc5322_addrs *r)
{
	return r->nmailbox == 0 ? r : NULL;
}

/* angle_addr - after "<": [obs-route] addr-spec ">" */
static void
angle_addr(struct lex *lx, struct pfl_rfc5322_addrs *r)
{
	if (is_special(lx, '@')) { /* obs-route: "@a,@b:" */
		while (is_special(lx, '@') || is_special(lx, ',')) {
			if (is_special(lx, '@')) {
				next(lx);
				domain(lx, NULL);
			} else {
				next(lx);
			}
		}
		if (!expect(lx, ':', "bad source route"))
			return;
	}
	local_part(lx);
	if (!expect(lx, '@', "no @ in the address"))
		return;
	domain(lx, first(r));
	if (expect(lx, '>', "no > after the address"))
		r->nmailbox++;
}

static void address(struct lex *, struct pfl_rfc5322_addrs *, bool);

/* group - after "name:": [mailbox-list] ";" */
static void
group(struct lex *lx, struct pfl_rfc5322_addrs *r)
{
	r->ngroup++;
	for (;;) {
		if (is_special(lx, ';')) {
			next(lx);
			return;
		}
		if (is_special(lx, ',')) {
			next(lx);
			continue;
		}
		if (lx->t == T_EOF) {
			fail(lx, "a group without ;");
			return;
		}
		address(lx, r, true);
		if (lx->t == T_ERROR)
			return;
		if (!is_special(lx, ',') && !is_special(lx, ';')) {
			fail(lx, "no , or ; after an address in a group");
			return;
		}
	}
}

/*
 * address - a mailbox (name-addr or addr-spec), or a group when not
 * in_group. The words before "<", "@" or ":" are read once: a phrase
 * when "<" or ":" follows, a local part when "@" does.
 */
static void
address(struct lex *lx, struct pfl_rfc5322_addrs *r, bool in_group)
{
	bool want_word = true, local_ok = true;
	size_t words = 0;

	while (lx->t == T_ATOM || lx->t == T_QSTR || is_special(lx, '.')) {
		if (lx->t == T_SPECIAL) {
			local_ok = local_ok && !want_word;
		} else {
			local_ok = local_ok && want_word;
			words++;
		}
		want_word = lx->t == T_SPECIAL;
		next(lx);
	}
	if (is_special(lx, '<')) {
		next(lx);
		angle_addr(lx, r);
	} else if (is_special(lx, '@') && words > 0 && local_ok && !want_word) {
		next(lx);
		domain(lx, first(r));
		if (lx->t != T_ERROR)
			r->nmailbox++;
	} else if (is_special(lx, ':') && words > 0 && !in_group) {
		next(lx);
		group(lx, r);
	} else {
		fail(lx,
		    words > 0 ? "no address after the name"
			      : "no address where one should be");
	}
}

/* pfl_rfc5322_addresses - parse an address-list */
const char *
pfl_rfc5322_addresses(const char *s, size_t len, struct pfl_rfc5322_addrs *r)
{
	struct lex lx;

	memset(r, 0, sizeof(*r));
	lex_start(&lx, s, len);
	for (;;) {
		if (is_special(&lx, ',')) { /* obs: empty list elements */
			next(&lx);
			continue;
		}
		if (lx.t == T_EOF || lx.t == T_ERROR)
			break;
		address(&lx, r, false);
		if (lx.t != T_EOF && !is_special(&lx, ','))
			fail(&lx, "no , between addresses");
	}
	if (lx.err == NULL && r->nmailbox == 0 && r->ngroup == 0)
		lx.err = "no address";
	return lx.err;
}

/* pfl_rfc5322_msgid - "<" id-left "@" id-right ">", CFWS around */
const char *
pfl_rfc5322_msgid(const char *s, size_t len)
{
	struct lex lx;

	lex_start(&lx, s, len);
	if (lx.t == T_EOF)
		return "empty";
	if (!expect(&lx, '<', "no < at the start"))
		return lx.err;
	local_part(&lx);
	if (!expect(&lx, '@', "no @ in it"))
		return lx.err;
	domain(&lx, NULL);
	if (!expect(&lx, '>', "no > at the end"))
		return lx.err;
	if (lx.t != T_EOF)
		fail(&lx, "text after the >");
	return lx.err;
}

/* number - the current atom as a number of min..max digits, or -1 */
static long
number(const struct lex *lx, size_t min, size_t max)
{
	long v = 0;
	size_t i;

	if (lx->t != T_ATOM || lx->n < min || lx->n > max)
		return -1;
	for (i = 0; i < lx->n; i++) {
		if (lx->s[i] < '0' || lx->s[i] > '9')
			return -1;
		v = v * 10 + (lx->s[i] - '0');
	}
	return v;
}

/* name_index - which of names[0..count) the atom is (any case), or -1 */
static int
name_index(const struct lex *lx, const char *const *names, int count)
{
	int i;
	size_t k;

	for (i = 0; lx->t == T_ATOM && i < count; i++) {
		for (k = 0; k < lx->n && names[i][k] != '\0'; k++)
			if ((lx->s[k] | 0x20) != (unsigned char)names[i][k])
				break;
		if (k == lx->n && names[i][k] == '\0')
			return i;
	}
	return -1;
}

/* days_in - days of month m (0..11) in year y (obsolete 2-3 digits ok) */
static long
days_in(int m, long y)
{
	static const long days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (y < 50) /* RFC 5322 4.3: 2-digit years below 50 are 20xx */
		y += 2000;
	else if (y < 1000)
		y += 1900;
	if (m == 1 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m];
}

/*
 * zone_ok - "+hhmm" or "-hhmm"; or obsolete: a military letter (not J),
 * UT, GMT, the US zones, and, as RFC 5322 4.3 has it, any other
 * alphabetic zone of up to 5 letters, read as -0000 ("UTC", "CEST")
 */
static bool
zone_ok(const struct lex *lx)
{
	struct lex digits;
	size_t i;
	long v;

	if (lx->t != T_ATOM)
		return false;
	if (lx->n == 5 && (lx->s[0] == '+' || lx->s[0] == '-')) {
		digits = *lx;
		digits.s++;
		digits.n--;
		v = number(&digits, 4, 4);
		return v >= 0 && v % 100 < 60;
	}
	for (i = 0; i < lx->n; i++)
		if ((lx->s[i] | 0x20) < 'a' || (lx->s[i] | 0x20) > 'z')
			return false;
	return lx->n == 1 ? (lx->s[0] | 0x20) != 'j' : lx->n <= 5;
}

/* time_ok - hour ":" minute [":" second] zone, then the end */
static const char *
time_ok(struct lex *lx)
{
	long h, m, s;

	if ((h = number(lx, 2, 2)) < 0 || h > 23)
		return "bad hour";
	next(lx);
	if (!expect(lx, ':', "no : after the hour"))
		return lx->err;
	if ((m = number(lx, 2, 2)) < 0 || m > 59)
		return "bad minute";
	next(lx);
	if (is_special(lx, ':')) {
		next(lx);
		if ((s = number(lx, 2, 2)) < 0 || s > 60)
			return "bad second";
		next(lx);
	}
	if (lx->t == T_ERROR)
		return lx->err;
	if (!zone_ok(lx))
		return "bad zone";
	next(lx);
	if (lx->t != T_EOF)
		fail(lx, "text after the date");
	return lx->err;
}

/*
 * pfl_rfc5322_date - [day-of-week ","] day month year hour ":" minute
 * [":" second] zone; the obsolete forms of RFC 5322 4.3 pass
 */
const char *
pfl_rfc5322_date(const char *s, size_t len)
{
	static const char *const wdays[] = { "mon", "tue", "wed", "thu", "fri",
		"sat", "sun" };
	static const char *const months[] = { "jan", "feb", "mar", "apr", "may",
		"jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	struct lex lx;
	long day, year;
	int month;

	lex_start(&lx, s, len);
	if (lx.t == T_EOF)
		return "empty";
	if (name_index(&lx, wdays, 7) >= 0) {
		next(&lx);
		if (!expect(&lx, ',', "no , after the day of the week"))
			return lx.err;
	}
	if ((day = number(&lx, 1, 2)) < 1)
		return lx.t == T_ERROR ? lx.err : "bad day";
	next(&lx);
	if ((month = name_index(&lx, months, 12)) < 0)
		return lx.t == T_ERROR ? lx.err : "bad month";
	next(&lx);
	if ((year = number(&lx, 2, 9)) < 0 || (lx.n >= 4 && year < 1900))
		return lx.t == T_ERROR ? lx.err : "bad year";
	if (day > days_in(month, year))
		return "no such day in that month";
	next(&lx);
	return time_ok(&lx);
}

/* label_ok - one LDH label (or U-label octets) of 1..63 octets */
static const char *
label_ok(const unsigned char *l, size_t n)
{
	size_t i;

	if (n == 0)
		return "an empty label";
	if (n > 63)
		return "a label longer than 63 octets";
	if (l[0] == '-' || l[n - 1] == '-')
		return "a label starting or ending with -";
	for (i = 0; i < n; i++)
		if (!((l[i] | 0x20) >= 'a' && (l[i] | 0x20) <= 'z') &&
		    !(l[i] >= '0' && l[i] <= '9') && l[i] != '-' && l[i] < 0x80)
			return "a character not allowed in a host name";
	return NULL;
}

/* pfl_rfc5322_domain - syntax of a host name */
const char *
pfl_rfc5322_domain(const char *d)
{
	const unsigned char *p = (const unsigned char *)d, *dot, *l = p;
	size_t len = strlen(d), labels = 0, i;
	const char *why;
	bool digits = true;

	if (len == 0)
		return "empty";
	if (len > 253)
		return "longer than 253 octets";
	for (;; l = dot + 1) {
		dot = memchr(l, '.', len - (size_t)(l - p));
		if (dot == NULL)
			dot = p + len;
		if ((why = label_ok(l, (size_t)(dot - l))) != NULL)
			return why;
		labels++;
		for (digits = true, i = 0; l + i < dot; i++)
			digits = digits && l[i] >= '0' && l[i] <= '9';
		if (dot == p + len)
			break;
	}
	if (labels < 2)
		return "a single label";
	return digits ? "an all-numeric top label" : NULL;
}
