/*
 * NAME
 *	rfc2047 - encoded words where RFC 2047 does not allow them
 * DESCRIPTION
 *	An encoded word is anything shaped "=?charset?e?text?=" with no
 *	white space inside. RFC 2047 5 allows one in unstructured text, in a
 *	comment, and as a word of a phrase (a display name); never inside a
 *	quoted string, an addr-spec or a msg-id, nor in the other parts of
 *	structured fields. A well-placed word must still be well formed:
 *	encoding B or Q, at most 75 characters, text of its encoding's
 *	alphabet.
 *
 *	The scan walks a value once, tracking quoted strings, comments and
 *	angle brackets; it does not parse the field (the parsers in
 *	rfc5322.c do). In Content-Type: and Content-Disposition: encoded
 *	words inside quoted parameter values (name="=?UTF-8?B?...?=") are
 *	let pass: the RFC forbids them, but mail programs everywhere,
 *	Gmail's own included, write them, and receivers take them.
 * SECURITY
 *	Looking ahead for the end of a word remembers what it saw (struct
 *	next) and the search for an addr-spec's @ is bounded
 *	(ADDR_SCAN_MAX), so a hostile value costs time linear in its
 *	length.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "rfc5322.h"

#define EW_MAX        75  /* RFC 2047 2 */
#define ADDR_SCAN_MAX 256 /* look no further for the @ of an addr-spec */

/* Where the scan is in the value. */
struct where {
	enum pfl_rfc2047_where kind;
	bool quoted;  /* inside a quoted string */
	size_t depth; /* comment nesting */
	bool angle;   /* inside <...> */
};

/* is_space - white space or a line end */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Where the next "?=" (or white space) is, remembered: none starts in
 * [from, at), and at is one (or the end of the value). Scans move
 * forward, so the value is read about once whatever its shape.
 */
struct next {
	size_t from, at;
};

/* is_pair_at - does "?=" start at s[q]? */
static bool
is_pair_at(const unsigned char *s, size_t q, size_t len)
{
	return q + 1 < len && s[q] == '?' && s[q + 1] == '=';
}

/* next_pair - where the first "?=" at or after p starts, or len */
static size_t
next_pair(const unsigned char *s, size_t len, struct next *n, size_t p)
{
	size_t q;

	if (p >= n->from && p <= n->at)
		return n->at;
	for (q = p; q < len && !is_pair_at(s, q, len); q++)
		;
	n->from = p;
	n->at = q;
	return q;
}

/* next_space - where the first white space at or after p is, or len */
static size_t
next_space(const unsigned char *s, size_t len, struct next *n, size_t p)
{
	size_t q;

	if (p >= n->from && p <= n->at)
		return n->at;
	for (q = p; q < len && !is_space(s[q]); q++)
		;
	n->from = p;
	n->at = q;
	return q;
}

/* part_end - end of a part of an encoded word: the next '?', or 0 */
static size_t
part_end(const unsigned char *s, size_t i, size_t len)
{
	for (; i < len && s[i] != '?'; i++)
		if (is_space(s[i]))
			return 0;
	return i < len ? i : 0;
}

/* The shape of an encoded word at s[i]: where its parts end. */
struct shape {
	size_t cs;  /* the '?' after the charset */
	size_t enc; /* the '?' after the encoding */
	size_t len; /* the whole word, "?=" included */
};

/*
 * shape - is the text at s[i] ("=?") shaped like an encoded word
 * ("=?charset?e?text?=", no white space)? Its parts into w.
 */
static bool
shape(const unsigned char *s, size_t i, size_t len, struct next *pair,
    struct next *space, struct shape *w)
{
	size_t end;

	if ((w->cs = part_end(s, i + 2, len)) == 0 || w->cs == i + 2)
		return false;
	if ((w->enc = part_end(s, w->cs + 1, len)) == 0 || w->enc == w->cs + 1)
		return false;
	end = next_pair(s, len, pair, w->enc + 1);
	if (end == len || next_space(s, len, space, w->enc + 1) < end)
		return false;
	w->len = end + 2 - i;
	return true;
}

/* text_ok - why the encoded text t[0..n) does not fit encoding e, or NULL */
static const char *
text_ok(const unsigned char *t, size_t n, unsigned char e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i] == '?')
			return "a ? inside the encoded text";
		if (t[i] <= ' ' || t[i] >= 0x7f)
			return "a raw byte inside the encoded text";
		if ((e | 0x20) == 'b' &&
		    !(((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
			(t[i] >= '0' && t[i] <= '9') || t[i] == '+' ||
			t[i] == '/' || t[i] == '='))
			return "text that is not base64 in a B encoded word";
	}
	return NULL;
}

/* well_formed - why the encoded word w at s[i] is malformed, or NULL */
static const char *
well_formed(const unsigned char *s, size_t i, const struct shape *w)
{
	size_t k;

	if (w->len > EW_MAX)
		return "an encoded word longer than 75 characters";
	for (k = i + 2; k < w->cs; k++)
		if (s[k] <= ' ' || s[k] >= 0x7f ||
		    strchr("()<>@,;:\"/[]?.=", s[k]) != NULL)
			return "a bad charset name in an encoded word";
	if (w->enc != w->cs + 2 || strchr("BbQq", s[w->cs + 1]) == NULL)
		return "an encoded word with an encoding other than B or Q";
	return text_ok(
	    s + w->enc + 1, i + w->len - 2 - (w->enc + 1), s[w->cs + 1]);
}

/* is_addr_char - may the octet be part of an addr-spec written bare? */
static bool
is_addr_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>[]:;,\"\\", c) == NULL;
}

/* in_addr_spec - is s[i..i+n) part of a bare addr-spec (has an @ near)? */
static bool
in_addr_spec(const unsigned char *s, size_t i, size_t n, size_t len)
{
	size_t k, lim;

	for (k = i; k > 0 && i - k < ADDR_SCAN_MAX && is_addr_char(s[k - 1]);
	     k--)
		if (s[k - 1] == '@')
			return true;
	lim = len - (i + n) > ADDR_SCAN_MAX ? i + n + ADDR_SCAN_MAX : len;
	for (k = i + n; k < lim && is_addr_char(s[k]); k++)
		if (s[k] == '@')
			return true;
	return false;
}

/* misplaced - why an encoded word at s[i..i+n) may not be there, or NULL */
static const char *
misplaced(const struct where *w, const unsigned char *s, size_t i, size_t n,
    size_t len)
{
	if (w->kind == PFL_EW_TEXT || w->depth > 0)
		return NULL;
	if (w->quoted)
		return w->kind == PFL_EW_PARAMS
		    ? NULL
		    : "an encoded word inside a quoted string";
	if (w->kind == PFL_EW_ADDRESS)
		return w->angle || in_addr_spec(s, i, n, len)
		    ? "an encoded word inside an address"
		    : NULL;
	return "an encoded word in a field that allows none";
}

/* track - follow quoted strings, comments and <> over s[*i] */
static void
track(struct where *w, const unsigned char *s, size_t *i, size_t len)
{
	unsigned char c = s[*i];

	if (w->kind == PFL_EW_TEXT)
		return;
	if (w->quoted || w->depth > 0) {
		if (c == '\\' && *i + 1 < len)
			(*i)++;
		else if (w->quoted && c == '"')
			w->quoted = false;
		else if (!w->quoted && c == '(')
			w->depth++;
		else if (!w->quoted && c == ')')
			w->depth--;
		return;
	}
	if (c == '"')
		w->quoted = true;
	else if (c == '(')
		w->depth = 1;
	else if (c == '<')
		w->angle = true;
	else if (c == '>')
		w->angle = false;
}

/* pfl_rfc2047_scan - the first misplaced or malformed encoded word */
const char *
pfl_rfc2047_scan(const char *str, size_t len, enum pfl_rfc2047_where kind,
    char *why, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	struct where w = { kind, false, 0, false };
	struct next pair = { 1, 0 }, space = { 1, 0 };
	struct shape ew;
	const char *bad;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    shape(s, i, len, &pair, &space, &ew)) {
			bad = misplaced(&w, s, i, ew.len, len);
			if (bad == NULL)
				bad = well_formed(s, i, &ew);
			if (bad != NULL) {
				snprintf(why, n, "%s: %.*s", bad,
				    (int)(ew.len > 40 ? 40 : ew.len), str + i);
				return why;
			}
			i += ew.len - 1;
			continue;
		}
		track(&w, s, &i, len);
	}
	return NULL;
}
