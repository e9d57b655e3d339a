/*
 * NAME
 *	budget_warmup - Warmup lines
 * DESCRIPTION
 *	"Warmup sender-domain|egress-ip VALUE start=YYYY-MM-DD initial=N
 *	growth=F max=N" becomes a rule of the set: a daily budget of one
 *	sender domain (its organisational domain, as written) or one of the
 *	EgressAddresses, whose N grows by day (pfl_budget_limit_at).
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "budget_private.h"
#include "util.h"

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* parse_date - "YYYY-MM-DD" as its 00:00Z; -1 when not a date */
static int
parse_date(const char *v, time_t *t_r)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };
	unsigned y, m, d, i;

	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)v[i]))
			return -1;
	y = (unsigned)atoi(v);
	m = (unsigned)atoi(v + 5);
	d = (unsigned)atoi(v + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 &&
		(y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))))
		return -1;
	*t_r = (time_t)days_from_civil(y, m, d) * 86400;
	return 0;
}

/* parse_growth - a factor from 1 to 10; -1 when not */
static int
parse_growth(const char *v, double *g_r)
{
	char *end;

	errno = 0;
	*g_r = strtod(v, &end);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno ||
	    !(*g_r >= 1.0 && *g_r <= 10.0))
		return -1;
	return 0;
}

/* warmup_param - one "name=value" of a Warmup line; -1 after reporting */
static int
warmup_param(const struct pfl_budget_line *l, const char *w,
    struct pfl_budget_rule *r, unsigned *seen)
{
	static const char *names[] = { "start", "initial", "growth", "max" };
	const char *eq = strchr(w, '=');
	unsigned i;
	int bad;

	for (i = 0; eq != NULL && i < 4; i++)
		if (strlen(names[i]) == (size_t)(eq - w) &&
		    strncasecmp(w, names[i], (size_t)(eq - w)) == 0)
			break;
	if (eq == NULL || i == 4) {
		pfl_budget_line_err(
		    l, "\"%.64s\" is not start=, initial=, growth= or max=", w);
		return -1;
	}
	if (*seen & (1u << i)) {
		pfl_budget_line_err(l, "%s= given twice", names[i]);
		return -1;
	}
	*seen |= 1u << i;
	if (i == 0)
		bad = parse_date(eq + 1, &r->start);
	else if (i == 1)
		bad = pfl_budget_parse_u64(
		    eq + 1, 1, PFL_BUDGET_MAX_N, &r->initial);
	else if (i == 2)
		bad = parse_growth(eq + 1, &r->growth);
	else
		bad = pfl_budget_parse_u64(
		    eq + 1, 1, PFL_BUDGET_MAX_N, &r->limit);
	if (bad < 0)
		pfl_budget_line_err(l, "bad %s \"%.32s\" (%s)", names[i],
		    eq + 1,
		    i == 0       ? "a date, YYYY-MM-DD"
			: i == 2 ? "a factor from 1 to 10, such as 1.5"
				 : "a number from 1 to 1000000000");
	return bad;
}

/* warmup_value - the normal form of a Warmup value; -1 after reporting */
static int
warmup_value(
    const struct pfl_budget_line *l, const char *w, struct pfl_budget_rule *r)
{
	char norm[PFL_DOMAIN_SIZE], org[PFL_DOMAIN_SIZE];
	unsigned char bin[sizeof(struct in6_addr)];
	int af = strchr(w, ':') ? AF_INET6 : AF_INET;

	if (r->scope == PFL_BSCOPE_SENDER_DOMAIN) {
		if (pfl_orgdomain_normalize(w, norm, sizeof(norm)) < 0) {
			pfl_budget_line_err(l, "not a domain: \"%.64s\"", w);
			return -1;
		}
		pfl_budget_orgdomain(l->set, org, sizeof(org), norm);
		if (strcmp(org, norm) != 0) {
			pfl_budget_line_err(
			    l, "write the organisational domain %s", org);
			return -1;
		}
	} else if (inet_pton(af, w, bin) != 1 ||
	    inet_ntop(af, bin, norm, sizeof(norm)) == NULL) {
		pfl_budget_line_err(l, "not an IP address: \"%.64s\"", w);
		return -1;
	} else if (!pfl_strlist_has(&l->cfg->egress_addresses, norm)) {
		pfl_budget_line_err(
		    l, "%s is not one of EgressAddresses", norm);
		return -1;
	}
	r->value = pfl_xstrdup(norm);
	return 0;
}

/* pfl_budget_parse_warmup - one Warmup line */
void
pfl_budget_parse_warmup(const struct pfl_budget_line *l, const char *v)
{
	char *copy = pfl_xstrdup(v), *cur, *w;
	struct pfl_budget_rule r = { 0 };
	unsigned seen = 0;
	size_t j;
	int s;

	w = strtok_r(copy, ", \t", &cur);
	if (w == NULL ||
	    ((s = pfl_budget_scope_parse(w)) != PFL_BSCOPE_SENDER_DOMAIN &&
		s != PFL_BSCOPE_EGRESS_IP)) {
		pfl_budget_line_err(l,
		    "unknown scope \"%.64s\" (sender-domain, egress-ip)",
		    w ? w : "");
		goto out;
	}
	r.scope = (enum pfl_budget_scope)s;
	if ((w = strtok_r(NULL, ", \t", &cur)) == NULL) {
		pfl_budget_line_err(l, "no %s after the scope",
		    s == PFL_BSCOPE_EGRESS_IP ? "address" : "domain");
		goto out;
	}
	if (warmup_value(l, w, &r) < 0)
		goto out;
	while ((w = strtok_r(NULL, ", \t", &cur)) != NULL)
		if (warmup_param(l, w, &r, &seen) < 0)
			goto out;
	if (seen != 0xf) {
		pfl_budget_line_err(
		    l, "needs start=, initial=, growth= and max=");
		goto out;
	}
	if (r.initial > r.limit) {
		pfl_budget_line_err(l, "initial= is above max=");
		goto out;
	}
	for (j = 0; j < l->set->n; j++)
		if (l->set->rules[j].warmup &&
		    l->set->rules[j].scope == r.scope &&
		    strcmp(l->set->rules[j].value, r.value) == 0) {
			pfl_budget_line_err(l, "%s %s already set at line %d",
			    pfl_budget_scope_name(r.scope), r.value,
			    l->set->rules[j].line);
			goto out;
		}
	r.warmup = true;
	r.target = PFL_BTARGET_ANY;
	r.unit = PFL_BUNIT_MESSAGES;
	r.window_s = 86400;
	pfl_budget_split_window(r.window_s, &r.w);
	r.line = l->line;
	snprintf(r.origin, sizeof(r.origin), "%.60s:%d", l->file, l->line);
	pfl_budget_set_reply(&r);
	pfl_budget_add_rule(l->set, &r);
	r.value = NULL; /* the set owns it now */
out:
	free(r.value);
	free(copy);
}
