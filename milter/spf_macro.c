/*
 * NAME
 *	spf_macro - SPF macro-strings (RFC 7208 section 7)
 * DESCRIPTION
 *	One tokenizer serves the syntax checks made when a record is
 *	parsed and the expansion made when a term is evaluated, so the two
 *	cannot disagree. A token is a literal byte, an escape ("%%", "%_",
 *	"%-") or a macro "%{" letter [digits] ["r"] [delimiters] "}".
 *
 *	Expansion: the letter's value is split at the delimiters (default
 *	"."), reversed with "r", cut to its rightmost DIGIT parts and joined
 *	with "."; an upper-case letter URL-escapes the result.
 * SECURITY
 *	Sender, HELO and DNS text are untrusted: every read is bounded by
 *	len, and no expansion grows beyond PFL_SPF_MACRO_MAX bytes.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_record.h"
#include "util.h"

enum tok { T_LITERAL, T_ESCAPE, T_MACRO };

struct macro {
	char letter; /* lower case */
	bool upper;
	unsigned digits; /* 0: all parts */
	bool reverse;
	char delims[8]; /* NUL-terminated; "" means "." */
};

struct out {
	char *buf;
	size_t len, cap;
	bool over; /* went past PFL_SPF_MACRO_MAX */
};

/* put - append n bytes, remembering an overflow instead of growing */
static void
put(struct out *o, const char *s, size_t n)
{
	if (o->over || o->len + n > PFL_SPF_MACRO_MAX) {
		o->over = true;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = pfl_xrealloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* in_set - is c one of the bytes of set (never the NUL)? */
static bool
in_set(const char *set, char c)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* parse_macro - "%{...}" starting at s[*i] == '%'; 0 or -1 */
static int
parse_macro(const char *s, size_t len, size_t *i, bool exp_text,
    struct macro *m, char *err, size_t n)
{
	const char *letters = exp_text ? "slodiphvcrt" : "slodiphv";
	size_t j = *i + 2, nd = 0;

	memset(m, 0, sizeof(*m));
	if (j >= len || !in_set(letters, (char)tolower((unsigned char)s[j]))) {
		snprintf(err, n, "unknown macro letter in \"%%{\"");
		return -1;
	}
	m->letter = (char)tolower((unsigned char)s[j]);
	m->upper = isupper((unsigned char)s[j]) != 0;
	for (j++; j < len && isdigit((unsigned char)s[j]); j++)
		if ((m->digits = m->digits * 10 + (unsigned)(s[j] - '0')) > 999)
			m->digits = 999;
	if (j > *i + 3 && m->digits == 0) {
		snprintf(err, n, "macro with zero parts");
		return -1;
	}
	if (j < len && (s[j] == 'r' || s[j] == 'R')) {
		m->reverse = true;
		j++;
	}
	for (; j < len && in_set(".-+,/_=", s[j]); j++)
		if (nd < sizeof(m->delims) - 1 && !in_set(m->delims, s[j]))
			m->delims[nd++] = s[j];
	if (j >= len || s[j] != '}') {
		snprintf(err, n, "malformed macro");
		return -1;
	}
	*i = j + 1;
	return 0;
}

/* next_token - the token at s[*i], moving *i past it; 0 or -1 */
static int
next_token(const char *s, size_t len, size_t *i, bool exp_text, enum tok *kind,
    struct macro *m, char *err, size_t n)
{
	unsigned char c = (unsigned char)s[*i];

	if (c != '%') {
		if ((c < 0x21 || c > 0x7e) && !(exp_text && c == ' ')) {
			snprintf(err, n, "character 0x%02x not allowed", c);
			return -1;
		}
		*kind = T_LITERAL;
		(*i)++;
		return 0;
	}
	if (*i + 1 >= len) {
		snprintf(err, n, "'%%' at the end");
		return -1;
	}
	switch (s[*i + 1]) {
	case '%':
	case '_':
	case '-':
		*kind = T_ESCAPE;
		*i += 2;
		return 0;
	case '{':
		*kind = T_MACRO;
		return parse_macro(s, len, i, exp_text, m, err, n);
	}
	snprintf(err, n, "'%%' not followed by '{', '%%', '_' or '-'");
	return -1;
}

/* valid_toplabel - RFC 7208 toplabel: alphanumerics and inner dashes,
 * not all digits unless a dash is in it */
static bool
valid_toplabel(const char *s, size_t len)
{
	bool alpha = false, dash = false;
	size_t i;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '-')
			dash = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || dash;
}

/* pfl_spf_domain_spec_ok - macros fine and a proper end */
bool
pfl_spf_domain_spec_ok(const char *s, size_t len, char *err, size_t n)
{
	size_t i = 0, run = 0, dot;
	enum tok kind = T_LITERAL;
	struct macro m;

	if (len == 0) {
		snprintf(err, n, "empty domain-spec");
		return false;
	}
	while (i < len) {
		if (next_token(s, len, &i, false, &kind, &m, err, n) != 0)
			return false;
		if (kind != T_LITERAL)
			run = i; /* the trailing literal run starts after it */
	}
	if (kind != T_LITERAL)
		return true;
	if (s[len - 1] == '.')
		len--;
	for (dot = len; dot > run && s[dot - 1] != '.'; dot--)
		;
	if (dot == run || !valid_toplabel(s + dot, len - dot)) {
		snprintf(
		    err, n, "domain-spec does not end in a valid top label");
		return false;
	}
	return true;
}

/* ip_dotted - %{i}: dotted quad, or 32 dotted nibbles for IPv6 */
static void
ip_dotted(const struct pfl_spf_macro_env *env, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *a = env->ip;
	size_t i, o = 0;

	if (env->ip_v4) {
		snprintf(buf, n, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	for (i = 0; i < 16 && o + 4 < n; i++) {
		buf[o++] = hex[a[i] >> 4];
		buf[o++] = '.';
		buf[o++] = hex[a[i] & 0xf];
		buf[o++] = '.';
	}
	buf[o ? o - 1 : 0] = '\0';
}

/* value_of - the raw value of a macro letter */
static const char *
value_of(const struct pfl_spf_macro_env *env, char letter, char *buf, size_t n)
{
	const char *v = NULL;

	switch (letter) {
	case 's':
		v = env->sender;
		break;
	case 'l':
		v = env->local;
		break;
	case 'o':
		v = env->sender_domain;
		break;
	case 'd':
		v = env->domain;
		break;
	case 'h':
		v = env->helo;
		break;
	case 'c':
		v = env->ip_text;
		break;
	case 'r':
		v = env->receiver ? env->receiver : "unknown";
		break;
	case 'v':
		v = env->ip_v4 ? "in-addr" : "ip6";
		break;
	case 'i':
		ip_dotted(env, buf, n);
		return buf;
	case 't':
		snprintf(buf, n, "%lld", (long long)env->now);
		return buf;
	case 'p':
		v = env->validated ? env->validated(env->arg, env->domain)
				   : NULL;
		v = v ? v : "unknown";
		break;
	}
	return v ? v : "";
}

/* put_escaped - append, URL-escaping all but the unreserved bytes */
static void
put_escaped(struct out *o, const char *s, size_t n)
{
	char hex[4];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			put(o, s + i, 1);
		} else {
			snprintf(hex, sizeof(hex), "%%%02X", c);
			put(o, hex, 3);
		}
	}
}

/* put_parts - split, reverse, cut and join a value into o */
static void
put_parts(struct out *o, const char *v, const struct macro *m)
{
	const char *delims = m->delims[0] ? m->delims : ".";
	size_t vlen = strlen(v), np = 0, i, first;
	struct out joined = { NULL, 0, 0, false };
	size_t *start = pfl_xcalloc(vlen + 1, sizeof(*start));
	size_t *plen = pfl_xcalloc(vlen + 1, sizeof(*plen));

	start[0] = 0;
	for (i = 0; i <= vlen; i++)
		if (i == vlen || in_set(delims, v[i])) {
			plen[np] = i - start[np];
			if (++np <= vlen)
				start[np] = i + 1;
		}
	first = m->digits && m->digits < np ? np - m->digits : 0;
	for (i = first; i < np; i++) {
		size_t k = m->reverse ? np - 1 - i : i;

		if (i > first)
			put(&joined, ".", 1);
		put(&joined, v + start[k], plen[k]);
	}
	if (joined.over)
		o->over = true;
	else if (m->upper)
		put_escaped(o, joined.buf ? joined.buf : "", joined.len);
	else
		put(o, joined.buf ? joined.buf : "", joined.len);
	free(joined.buf);
	free(start);
	free(plen);
}

/* put_escape - "%%" is "%", "%_" a space, "%-" is "%20" */
static void
put_escape(struct out *o, char c)
{
	if (c == '%')
		put(o, "%", 1);
	else if (c == '_')
		put(o, " ", 1);
	else
		put(o, "%20", 3);
}

/* pfl_spf_macro_expand - expand (or, with env NULL, only check) */
int
pfl_spf_macro_expand(const struct pfl_spf_macro_env *env, const char *s,
    size_t len, bool exp_text, char **out_r, char *err, size_t n)
{
	struct out o = { NULL, 0, 0, false };
	char buf[80];
	struct macro m;
	enum tok kind;
	size_t i = 0, at;

	while (i < len) {
		at = i;
		if (next_token(s, len, &i, exp_text, &kind, &m, err, n) != 0) {
			free(o.buf);
			return -1;
		}
		if (env == NULL)
			continue;
		if (kind == T_LITERAL)
			put(&o, s + at, 1);
		else if (kind == T_ESCAPE)
			put_escape(&o, s[at + 1]);
		else
			put_parts(
			    &o, value_of(env, m.letter, buf, sizeof(buf)), &m);
	}
	if (env == NULL)
		return 0;
	if (o.over) {
		free(o.buf);
		snprintf(err, n, "macro expansion too long");
		return -1;
	}
	*out_r = o.buf ? o.buf : pfl_xstrdup("");
	return 0;
}

/* pfl_spf_domain_fit - trailing dot off, leading labels off to 253 */
char *
pfl_spf_domain_fit(char *s)
{
	size_t len = strlen(s);
	char *p = s;

	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	while (len > 253) {
		char *dot = strchr(p, '.');

		if (dot == NULL)
			return NULL;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (len == 0)
		return NULL;
	memmove(s, p, len + 1);
	return s;
}
