/*
 * NAME
 *	budget_config - a budget set from the config
 * DESCRIPTION
 *	Reads the config's Budget, Warmup and SendingLimits lines (each kept
 *	with its line number by the config parser) into a struct
 *	pfl_budget_set: one rule per window, Budget lines first, then
 *	warm-ups, then the preset's budgets that no Budget line replaces.
 *	Every bad line is reported as "FILE:LINE: Key: message", all of
 *	them, not the first.
 * THREAD SAFETY
 *	A set is read-only after pfl_budget_set_new.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "budget_private.h"
#include "errors.h"
#include "util.h"

#define MAX_WINDOW (31u * 86400) /* longest window */
#define MIN_SPLIT  10            /* fewest buckets of a long window */

/* A preset: the caps of a service people relay through (RECEIVERS.md). */
static const struct preset {
	const char *name;
	struct {
		unsigned n, window_s;
		enum pfl_budget_unit unit;
	} caps[2];
	unsigned permsg;   /* recipients per message */
	bool external;     /* counting only external recipients */
	const char *reply; /* its answer past a daily cap */
} presets[] = {
	{ "google-workspace",
	    { { 2000, 86400, PFL_BUNIT_MESSAGES },
		{ 10000, 86400, PFL_BUNIT_RECIPIENTS } },
	    500, true, "550 5.4.5" },
	{ "microsoft-365",
	    { { 10000, 86400, PFL_BUNIT_RECIPIENTS },
		{ 30, 60, PFL_BUNIT_MESSAGES } },
	    500, false, "554 5.2.2" },
};
#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

/* pfl_budget_line_err - record one "FILE:LINE: Key: message" problem */
void
pfl_budget_line_err(const struct pfl_budget_line *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pfl_errors_add(l->e, l->file, l->line, "%s: %s", l->key, msg);
}

/* pfl_budget_scope_parse - a scope name; -1 when unknown */
int
pfl_budget_scope_parse(const char *w)
{
	int s;

	for (s = 0; s < 4; s++)
		if (pfl_strcaseeq(w, pfl_budget_scope_name(s)))
			return s;
	return -1;
}

/* pfl_budget_parse_u64 - a decimal number in [min, max]; -1 when not */
int
pfl_budget_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *n_r)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end != '\0' || n < min || n > max)
		return -1;
	*n_r = n;
	return 0;
}

/* parse_window - "30s", "10m", "1h", "24h", "1d" in seconds; -1 if not */
static int
parse_window(const char *v, unsigned *s_r)
{
	static const char units[] = "smhd";
	static const unsigned secs[] = { 1, 60, 3600, 86400 };
	char num[16];
	const char *u;
	size_t len = strlen(v);
	uint64_t n;

	if (len < 2 || len >= sizeof(num) ||
	    (u = strchr(units, tolower((unsigned char)v[len - 1]))) == NULL ||
	    *u == '\0')
		return -1;
	memcpy(num, v, len - 1);
	num[len - 1] = '\0';
	if (pfl_budget_parse_u64(num, 1, MAX_WINDOW, &n) < 0 ||
	    n * secs[u - units] > MAX_WINDOW)
		return -1;
	*s_r = (unsigned)(n * secs[u - units]);
	return 0;
}

/*
 * pfl_budget_split_window - the bucket layout of a window: the most buckets up to
 * PFL_BUDGET_BUCKETS that divide it evenly; -1 when fewer than MIN_SPLIT
 * would (and the window is long enough to need them)
 */
int
pfl_budget_split_window(unsigned window_s, struct pfl_window *w_r)
{
	unsigned d;

	for (d = PFL_BUDGET_BUCKETS; d > 1; d--)
		if (window_s % d == 0)
			break;
	if (d < MIN_SPLIT && window_s >= MIN_SPLIT)
		return -1;
	w_r->nbuckets = d;
	w_r->bucket_s = window_s / d;
	return 0;
}

/* pfl_budget_add_rule - append a rule (copied) */
struct pfl_budget_rule *
pfl_budget_add_rule(struct pfl_budget_set *s, const struct pfl_budget_rule *r)
{
	s->rules = pfl_xrealloc(s->rules, (s->n + 1) * sizeof(*s->rules));
	s->rules[s->n] = *r;
	pfl_budget_rule_keys(&s->rules[s->n]);
	return &s->rules[s->n++];
}

/* same_budget - do two rules count the same thing over the same window? */
static bool
same_budget(const struct pfl_budget_rule *a, const struct pfl_budget_rule *b)
{
	if (a->warmup || b->warmup || a->target != b->target ||
	    a->scope != b->scope || a->unit != b->unit ||
	    a->window_s != b->window_s)
		return false;
	if (a->target == PFL_BTARGET_PROVIDER)
		return a->provider == b->provider;
	if (a->target == PFL_BTARGET_DOMAIN)
		return strcmp(a->domain, b->domain) == 0;
	return true;
}

/* parse_target - "*", a provider or a domain into r; -1 after reporting */
static int
parse_target(
    const struct pfl_budget_line *l, const char *w, struct pfl_budget_rule *r)
{
	char norm[PFL_DOMAIN_SIZE];
	int p;

	if (strcmp(w, "*") == 0) {
		r->target = PFL_BTARGET_ANY;
	} else if ((p = pfl_provider_parse(w)) > 0) {
		r->target = PFL_BTARGET_PROVIDER;
		r->provider = (enum pfl_provider)p;
	} else if (strchr(w, '.') != NULL &&
	    pfl_orgdomain_normalize(w, norm, sizeof(norm)) == 0) {
		r->target = PFL_BTARGET_DOMAIN;
		r->domain = pfl_xstrdup(norm);
	} else {
		pfl_budget_line_err(l,
		    "unknown target \"%.64s\" (google, microsoft, yahoo, "
		    "apple, a recipient domain or *)",
		    w);
		return -1;
	}
	return 0;
}

/* parse_unit - "unit=messages|recipients" into *u; -1 after reporting */
static int
parse_unit(
    const struct pfl_budget_line *l, const char *w, enum pfl_budget_unit *u)
{
	if (pfl_strcaseeq(w + 5, "messages"))
		*u = PFL_BUNIT_MESSAGES;
	else if (pfl_strcaseeq(w + 5, "recipients"))
		*u = PFL_BUNIT_RECIPIENTS;
	else {
		pfl_budget_line_err(
		    l, "unknown unit \"%.64s\" (messages, recipients)", w + 5);
		return -1;
	}
	return 0;
}

/* parse_limit - "N/W" into r; -1 after reporting */
static int
parse_limit(const struct pfl_budget_line *l, char *w, struct pfl_budget_rule *r)
{
	char *slash = strchr(w, '/');

	if (slash == NULL) {
		pfl_budget_line_err(
		    l, "\"%.64s\" is not N/WINDOW (such as 500/1h)", w);
		return -1;
	}
	*slash = '\0';
	if (pfl_budget_parse_u64(w, 1, PFL_BUDGET_MAX_N, &r->limit) < 0) {
		pfl_budget_line_err(l,
		    "N \"%.32s\" is not a number from 1 to %llu", w,
		    PFL_BUDGET_MAX_N);
		return -1;
	}
	if (parse_window(slash + 1, &r->window_s) < 0) {
		pfl_budget_line_err(l,
		    "window \"%.32s\" is not a duration from 1s to 31d "
		    "(such as 30s, 10m, 1h, 24h, 1d)",
		    slash + 1);
		return -1;
	}
	if (pfl_budget_split_window(r->window_s, &r->w) < 0) {
		pfl_budget_line_err(l,
		    "window \"%.32s\" cannot be cut into %d or more equal "
		    "buckets; use a rounder one",
		    slash + 1, MIN_SPLIT);
		return -1;
	}
	return 0;
}

/* pfl_budget_set_reply - what the target's receiver likely answers past a budget */
void
pfl_budget_set_reply(struct pfl_budget_rule *r)
{
	r->outcome = PFL_OUT_THROTTLE;
	r->reply = "4xx";
	if (r->target != PFL_BTARGET_PROVIDER)
		return;
	switch (r->provider) {
	case PFL_PROV_GOOGLE:
		r->reply = "421 4.7.28";
		break;
	case PFL_PROV_YAHOO:
		r->reply = "421 4.7.0";
		break;
	case PFL_PROV_MICROSOFT:
		r->reply = "421 RP-001";
		break;
	default:
		break;
	}
}

/* add_checked - append r unless the set has its budget; frees on refusal */
static void
add_checked(const struct pfl_budget_line *l, struct pfl_budget_rule *r)
{
	char name[160];
	size_t j;

	for (j = 0; j < l->set->n; j++)
		if (same_budget(&l->set->rules[j], r))
			break;
	if (j < l->set->n) {
		pfl_budget_line_err(l, "%s already set at line %d",
		    pfl_budget_rule_name(name, sizeof(name), r, NULL, 0),
		    l->set->rules[j].line);
		free(r->domain);
		return;
	}
	pfl_budget_add_rule(l->set, r);
}

/* parse_scope_word - the scope word of a Budget line; -1 after reporting */
static int
parse_scope_word(const struct pfl_budget_line *l, const char *w)
{
	int s = w ? pfl_budget_scope_parse(w) : -1;

	if (s < 0)
		pfl_budget_line_err(l,
		    "unknown scope \"%.64s\" (sender, sender-domain, "
		    "egress-ip, all)",
		    w ? w : "");
	else if (s == PFL_BSCOPE_EGRESS_IP && l->cfg->egress_addresses.n == 0)
		pfl_budget_line_err(
		    l, "egress-ip budgets need EgressAddresses");
	else
		return s;
	return -1;
}

/* parse_budget - one Budget line */
static void
parse_budget(const struct pfl_budget_line *l, const char *v)
{
	char *copy = pfl_xstrdup(v), *cur, *w;
	struct pfl_budget_rule base = { 0 }, *rs = NULL;
	bool unit_seen = false;
	size_t n = 0, i;
	int s;

	if ((w = strtok_r(copy, ", \t", &cur)) == NULL ||
	    parse_target(l, w, &base) < 0)
		goto out;
	if ((s = parse_scope_word(l, strtok_r(NULL, ", \t", &cur))) < 0)
		goto out;
	base.scope = (enum pfl_budget_scope)s;
	while ((w = strtok_r(NULL, ", \t", &cur)) != NULL) {
		if (strncasecmp(w, "unit=", 5) == 0) {
			if (unit_seen) {
				pfl_budget_line_err(l, "unit= given twice");
				goto out;
			}
			unit_seen = true;
			if (parse_unit(l, w, &base.unit) < 0)
				goto out;
			continue;
		}
		rs = pfl_xrealloc(rs, (n + 1) * sizeof(*rs));
		rs[n] = base;
		if (parse_limit(l, w, &rs[n]) < 0)
			goto out;
		n++;
	}
	if (n == 0) {
		pfl_budget_line_err(l, "no N/WINDOW (such as 500/1h)");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rs[i].unit = base.unit;
		rs[i].line = l->line;
		snprintf(rs[i].origin, sizeof(rs[i].origin), "%.60s:%d",
		    l->file, l->line);
		rs[i].domain = base.domain ? pfl_xstrdup(base.domain) : NULL;
		pfl_budget_set_reply(&rs[i]);
		add_checked(l, &rs[i]);
	}
out:
	free(base.domain);
	free(rs);
	free(copy);
}

/* parse_limits - the SendingLimits line: a preset index, or -1 */
static int
parse_limits(const struct pfl_budget_line *lp, const struct pfl_linelist *ll)
{
	struct pfl_budget_line l = *lp;
	int preset = -1;
	size_t i, p;

	for (i = 0; i < ll->n; i++) {
		l.line = ll->line[i];
		if (i > 0) {
			pfl_budget_line_err(
			    &l, "already set at line %d", ll->line[0]);
			continue;
		}
		for (p = 0; p < NPRESETS; p++)
			if (pfl_strcaseeq(ll->v[i], presets[p].name))
				preset = (int)p;
		if (preset < 0 && !pfl_strcaseeq(ll->v[i], "none"))
			pfl_budget_line_err(&l,
			    "unknown preset \"%.64s\" (google-workspace, "
			    "microsoft-365, none)",
			    ll->v[i]);
	}
	return preset;
}

/* add_preset - a preset's budgets that no Budget line replaced */
static void
add_preset(struct pfl_budget_set *s, const struct preset *p)
{
	struct pfl_budget_rule r;
	size_t i, j;

	for (i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		r.target = PFL_BTARGET_ANY;
		r.scope = PFL_BSCOPE_SENDER;
		r.unit = p->caps[i].unit;
		r.limit = p->caps[i].n;
		r.window_s = p->caps[i].window_s;
		pfl_budget_split_window(r.window_s, &r.w);
		r.preset = p->name;
		r.reply = p->reply;
		r.outcome = PFL_OUT_REFUSE;
		snprintf(
		    r.origin, sizeof(r.origin), "SendingLimits %s", p->name);
		for (j = 0; j < s->n; j++)
			if (same_budget(&s->rules[j], &r))
				break;
		if (j == s->n)
			pfl_budget_add_rule(s, &r);
	}
	s->permsg_max = p->permsg;
	s->permsg_external = p->external;
	s->permsg_preset = p->name;
}

/* pfl_budget_set_new - the budgets of a config */
struct pfl_budget_set *
pfl_budget_set_new(const struct pfl_config *cfg, char **errors_r)
{
	struct pfl_budget_set *s = pfl_xcalloc(1, sizeof(*s));
	struct pfl_errors e = { 0 };
	struct pfl_budget_line l = { s, cfg, cfg->path, 0, "Budget", &e };
	size_t i;
	int preset;

	s->psl = pfl_psl_default();
	s->bulk_threshold = cfg->bulk_threshold;
	s->on_exceeded = cfg->on_budget_exceeded;
	for (i = 0; i < cfg->budgets.n; i++) {
		l.line = cfg->budgets.line[i];
		parse_budget(&l, cfg->budgets.v[i]);
	}
	l.key = "Warmup";
	for (i = 0; i < cfg->warmups.n; i++) {
		l.line = cfg->warmups.line[i];
		pfl_budget_parse_warmup(&l, cfg->warmups.v[i]);
	}
	l.key = "SendingLimits";
	if ((preset = parse_limits(&l, &cfg->sending_limits)) >= 0)
		add_preset(s, &presets[preset]);
	if ((*errors_r = pfl_errors_take(&e)) != NULL)
		pfl_budget_set_free(&s);
	return s;
}

/* pfl_budget_set_free - free a set */
void
pfl_budget_set_free(struct pfl_budget_set **sp)
{
	struct pfl_budget_set *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->rules[i].domain);
		free(s->rules[i].value);
	}
	free(s->rules);
	free(s);
	*sp = NULL;
}

/* pfl_budget_set_count - number of budgets */
size_t
pfl_budget_set_count(const struct pfl_budget_set *s)
{
	return s->n;
}

/* pfl_budget_describe - budget i as of now */
bool
pfl_budget_describe(const struct pfl_budget_set *s, size_t i, time_t now,
    struct pfl_budget_info *info)
{
	const struct pfl_budget_rule *r;
	char v[PFL_BUDGET_KEY_SIZE];

	if (i >= s->n)
		return false;
	r = &s->rules[i];
	memset(info, 0, sizeof(*info));
	pfl_budget_rule_name(info->name, sizeof(info->name), r, NULL, now);
	pfl_strlcpy(info->origin, r->origin, sizeof(info->origin));
	if (r->warmup)
		pfl_budget_key_fmt(info->prefix, sizeof(info->prefix), "%s%s",
		    r->prefix, pfl_budget_key_value(v, sizeof(v), r->value));
	else
		pfl_strlcpy(info->prefix, r->prefix, sizeof(info->prefix));
	pfl_strlcpy(info->suffix, r->suffix, sizeof(info->suffix));
	info->scope = r->scope;
	info->unit = r->unit;
	info->limit = pfl_budget_limit_at(r, now, NULL);
	info->window_s = r->window_s;
	info->window = r->w;
	return true;
}
