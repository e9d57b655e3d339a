/*
 * NAME
 *	budget_key - names of budgets and their store keys
 * DESCRIPTION
 *	How a budget, its window and the values it counts read in keys,
 *	replies and logs (see KEYS in budget.h); the N of a warm-up on a
 *	given day; organisational domains.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "budget_private.h"
#include "util.h"

/* pfl_budget_key_fmt - a key that must fit */
void
pfl_budget_key_fmt(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		abort();
}

/* pfl_budget_text - text cut to fit */
void
pfl_budget_text(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

/* pfl_budget_scope_name - printable scope */
const char *
pfl_budget_scope_name(enum pfl_budget_scope s)
{
	static const char *names[] = { "sender", "sender-domain", "egress-ip",
		"all" };

	return (unsigned)s < 4 ? names[s] : "?";
}

/* pfl_budget_window_text - W in its largest whole unit */
char *
pfl_budget_window_text(char *dst, size_t n, unsigned s)
{
	if (s % 86400 == 0)
		snprintf(dst, n, "%ud", s / 86400);
	else if (s % 3600 == 0)
		snprintf(dst, n, "%uh", s / 3600);
	else if (s % 60 == 0)
		snprintf(dst, n, "%um", s / 60);
	else
		snprintf(dst, n, "%us", s);
	return dst;
}

/* pfl_budget_fnv64 - 64-bit FNV-1a */
uint64_t
pfl_budget_fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* key_safe - may the byte stand in a key as it is? */
static bool
key_safe(unsigned char c)
{
	return isalnum(c) || strchr(".-_@+=", c) != NULL;
}

/* pfl_budget_key_value - a value as keys write it */
char *
pfl_budget_key_value(char *dst, size_t n, const char *value)
{
	size_t i, len = strlen(value);
	bool plain = len > 0 && len <= 64;
	char head[41];

	for (i = 0; plain && i < len; i++)
		plain = key_safe((unsigned char)value[i]) &&
		    !isupper((unsigned char)value[i]);
	if (plain) {
		pfl_strlcpy(dst, value, n);
		return dst;
	}
	for (i = 0; i < len && i < sizeof(head) - 1; i++)
		head[i] = key_safe((unsigned char)value[i])
		    ? (char)tolower((unsigned char)value[i])
		    : '_';
	head[i] = '\0';
	snprintf(dst, n, "%s~%016" PRIx64, head, pfl_budget_fnv64(value));
	return dst;
}

/* target_text - how a rule's target reads in names and keys */
static const char *
target_text(const struct pfl_budget_rule *r, char *buf, size_t n)
{
	switch (r->target) {
	case PFL_BTARGET_ANY:
		return "*";
	case PFL_BTARGET_PROVIDER:
		return pfl_provider_name(r->provider);
	case PFL_BTARGET_DOMAIN:
		return pfl_budget_key_value(buf, n, r->domain);
	}
	return "?";
}

/* pfl_budget_rule_keys - a rule's key prefix and suffix */
void
pfl_budget_rule_keys(struct pfl_budget_rule *r)
{
	char t[PFL_DOMAIN_SIZE], w[16];

	pfl_budget_window_text(w, sizeof(w), r->window_s);
	if (r->warmup)
		pfl_budget_key_fmt(r->prefix, sizeof(r->prefix),
		    "pfl:w:%s:", pfl_budget_scope_name(r->scope));
	else
		pfl_budget_key_fmt(r->prefix, sizeof(r->prefix),
		    "pfl:b:%s:%s:", target_text(r, t, sizeof(t)),
		    pfl_budget_scope_name(r->scope));
	pfl_budget_key_fmt(r->suffix, sizeof(r->suffix), ":%s:%s", w,
	    r->unit == PFL_BUNIT_MESSAGES ? "msg" : "rcpt");
}

/* pfl_budget_limit_at - N at now; warm-ups by day since start */
uint64_t
pfl_budget_limit_at(const struct pfl_budget_rule *r, time_t now, long *day_r)
{
	double v;
	long day, d;

	if (!r->warmup) {
		if (day_r)
			*day_r = 0;
		return r->limit;
	}
	day = now > r->start ? (long)((now - r->start) / 86400) : 0;
	v = (double)r->initial;
	/* growth >= 1: v reaches limit within day steps, or stays put */
	for (d = 0; d < day && v < (double)r->limit && r->growth > 1.0; d++)
		v *= r->growth;
	if (day_r)
		*day_r = day;
	return v >= (double)r->limit ? r->limit : (uint64_t)v;
}

/* pfl_budget_rule_name - printable name of a rule (and a value) */
char *
pfl_budget_rule_name(char *dst, size_t n, const struct pfl_budget_rule *r,
    const char *value, time_t now)
{
	char t[PFL_DOMAIN_SIZE], w[16], v[80] = "";
	const char *unit = r->unit == PFL_BUNIT_RECIPIENTS ? " recipients" : "";
	uint64_t limit;
	long day;

	limit = pfl_budget_limit_at(r, now, &day);
	pfl_budget_window_text(w, sizeof(w), r->window_s);
	if (r->warmup) {
		snprintf(dst, n, "warmup %s %.64s %" PRIu64 "/%s (day %ld)",
		    pfl_budget_scope_name(r->scope), r->value, limit, w, day);
		return dst;
	}
	if (value != NULL && r->scope != PFL_BSCOPE_ALL)
		snprintf(v, sizeof(v), " %.64s", value);
	snprintf(dst, n, "%s/%s%s %" PRIu64 "%s/%s",
	    r->target == PFL_BTARGET_DOMAIN ? r->domain : target_text(r, t, 4),
	    pfl_budget_scope_name(r->scope), v, limit, unit, w);
	return dst;
}

/* pfl_budget_orgdomain - organisational domain of a domain, or "" */
char *
pfl_budget_orgdomain(
    const struct pfl_budget_set *s, char *dst, size_t n, const char *domain)
{
	char norm[PFL_DOMAIN_SIZE];

	if (domain == NULL || *domain == '\0' ||
	    pfl_orgdomain_normalize(domain, norm, sizeof(norm)) < 0) {
		pfl_strlcpy(dst, "", n);
		return dst;
	}
	pfl_strlcpy(dst, s->psl ? pfl_orgdomain_psl(s->psl, norm) : norm, n);
	return dst;
}
