/*
 * NAME
 *	egress_finding - what receivers make of an egress report
 * SYNOPSIS
 *	#include "egress.h"
 * DESCRIPTION
 *	pfl_egress_finding, pfl_egress_summary and the names of the states:
 *	pure functions of a report (egress.h). The rules per provider are
 *	the table below; egress.h says where each reply comes from.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "egress.h"
#include "provider.h"
#include "util.h"
#include "verdict.h"

/* family_of - AF_INET or AF_INET6 (IPv4-mapped is IPv4); 0: no address */
static int
family_of(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return 0;
	return IN6_IS_ADDR_V4MAPPED(&a6) ? AF_INET : AF_INET6;
}

/* --- what receivers make of it ---------------------------------------------- */

/*
 * What one receiver holds against us (egress.h DESCRIPTION): the reply
 * per address family (NULL: not checked), whether a PTR that does not
 * resolve back counts as much as none, and for the HELO name the reply
 * to a name that does not resolve (NULL: not checked).
 */
struct rule {
	const char *who; /* in the reason */
	const char *v4, *v6;
	bool mismatch;
	const char *helo_unresolved;
	bool helo_mismatch_warns;
};

#define ANYONE "receivers that check reverse DNS"

static const struct rule rules[PFL_NPROVIDERS] = {
	[PFL_PROV_DEFAULT] = { ANYONE, "550 5.7.1", "550 5.7.1", false,
	    "450 4.7.1", true },
	[PFL_PROV_GOOGLE] = { "gmail.com", "550 5.7.25", "550 5.7.1", true,
	    NULL, false },
	[PFL_PROV_YAHOO] = { "yahoo.com", "554 5.7.1", "554 5.7.1", true, NULL,
	    false },
	[PFL_PROV_MICROSOFT] = { "outlook.com", NULL, "450 4.7.25", false, NULL,
	    false },
	[PFL_PROV_APPLE] = { ANYONE, "550 5.7.1", "550 5.7.1", false,
	    "450 4.7.1", true },
};

/* reply_for - the reply rule gives for an address result, or NULL */
static const char *
reply_for(const struct rule *rule, const struct pfl_egress_addr_result *a)
{
	int family;

	if (a->state != PFL_EGRESS_NO_PTR &&
	    !(a->state == PFL_EGRESS_PTR_MISMATCH && rule->mismatch))
		return NULL;
	if ((family = family_of(a->addr)) == 0)
		return NULL;
	return family == AF_INET ? rule->v4 : rule->v6;
}

/* our_codes - our reply for the action: 550/5.x.y or 451/4.x.y */
static void
our_codes(const char *predicted, enum pfl_action act, char *rcode, char *xcode)
{
	const char *dot = strchr(predicted, '.');
	bool rej = act == PFL_ACT_REJECT;

	pfl_strlcpy(rcode, rej ? "550" : "451", 4);
	if (dot == NULL || (predicted[0] != '4' && predicted[0] != '5') ||
	    strlen(dot) > 7)
		pfl_strlcpy(xcode, rej ? "5.7.1" : "4.7.1", 10);
	else
		snprintf(xcode, 10, "%c%s", rej ? '5' : '4', dot);
}

/* fill - a finding for a predicted reply */
static void
fill(struct pfl_finding *f, const char *reply, enum pfl_action act,
    const char *reason, const char *fix)
{
	enum pfl_outcome out = reply[0] == '5' ? PFL_OUT_REFUSE
	    : reply[0] == '4'                  ? PFL_OUT_THROTTLE
					       : PFL_OUT_DELIVER;
	char rcode[4], xcode[10];

	our_codes(reply, act, rcode, xcode);
	pfl_finding_set(f, "egress", out, act, reply, rcode, xcode, reason);
	pfl_printable(f->fix, sizeof(f->fix), fix, "%\"");
}

/* addr_finding - the finding for the first address rule objects to */
static bool
addr_finding(const struct pfl_egress_report *r, const struct rule *rule,
    enum pfl_action act, struct pfl_finding *f)
{
	const struct pfl_egress_addr_result *a = NULL;
	const char *reply = NULL, *rr;
	char reason[320], fix[192];
	size_t i, more = 0;
	bool v6;

	for (i = 0; i < r->n; i++) {
		if ((rr = reply_for(rule, &r->addrs[i])) == NULL)
			continue;
		if (a == NULL) {
			a = &r->addrs[i];
			reply = rr;
		} else {
			more++;
		}
	}
	if (a == NULL)
		return false;
	v6 = family_of(a->addr) == AF_INET6;
	snprintf(reason, sizeof(reason), "%s would %s this (%s): egress %s ",
	    rule->who, reply[0] == '5' ? "refuse" : "defer", reply, a->addr);
	if (a->state == PFL_EGRESS_NO_PTR) {
		pfl_strlcatf(reason, sizeof(reason), "has no PTR record");
		snprintf(fix, sizeof(fix),
		    "publish a PTR for %s naming a host whose %s record is %s",
		    a->addr, v6 ? "AAAA" : "A", a->addr);
	} else {
		pfl_strlcatf(reason, sizeof(reason),
		    "has PTR %.100s, which does not resolve back to it",
		    a->ptr);
		snprintf(fix, sizeof(fix),
		    "give %.60s the %s record %s, or point the PTR at a name "
		    "that has it",
		    a->ptr, v6 ? "AAAA" : "A", a->addr);
	}
	if (more > 0)
		pfl_strlcatf(reason, sizeof(reason),
		    " (and %zu more egress address%s)", more,
		    more > 1 ? "es" : "");
	fill(f, reply, act, reason, fix);
	return true;
}

/* helo_finding - the finding for the HELO name, when rule checks it */
static bool
helo_finding(const struct pfl_egress_report *r, const struct rule *rule,
    enum pfl_action act, struct pfl_finding *f)
{
	char reason[320], fix[192];

	if (r->helo_state == PFL_EGRESS_HELO_UNRESOLVED &&
	    rule->helo_unresolved != NULL) {
		snprintf(reason, sizeof(reason),
		    "receivers that check the HELO name would defer this (%s): "
		    "EgressHelo %.100s does not resolve",
		    rule->helo_unresolved, r->helo);
		snprintf(fix, sizeof(fix),
		    "publish an A record for %.100s naming an egress address",
		    r->helo);
		fill(f, rule->helo_unresolved, act, reason, fix);
		return true;
	}
	if (r->helo_state == PFL_EGRESS_HELO_MISMATCH &&
	    rule->helo_mismatch_warns) {
		snprintf(reason, sizeof(reason),
		    "receivers would accept this, but spam filters count "
		    "against it that EgressHelo %.100s resolves to none of the "
		    "egress addresses",
		    r->helo);
		snprintf(fix, sizeof(fix),
		    "make %.100s resolve to the egress address, or send the "
		    "name its PTR gives",
		    r->helo);
		/* a warning: it never holds mail back */
		fill(f, "250", act < PFL_ACT_TAG ? act : PFL_ACT_TAG, reason,
		    fix);
		return true;
	}
	return false;
}

/* pfl_egress_finding - what provider would make of the report */
bool
pfl_egress_finding(const struct pfl_egress_report *r, int provider,
    enum pfl_action on_misconfigured, struct pfl_finding *f_r)
{
	const struct rule *rule;

	if (provider < 0 || provider >= PFL_NPROVIDERS)
		provider = PFL_PROV_DEFAULT;
	rule = &rules[provider];
	return addr_finding(r, rule, on_misconfigured, f_r) ||
	    helo_finding(r, rule, on_misconfigured, f_r);
}

/* --- words ------------------------------------------------------------------ */

/* pfl_egress_state_name - the name of a state */
const char *
pfl_egress_state_name(enum pfl_egress_state s)
{
	switch (s) {
	case PFL_EGRESS_OK:
		return "ok";
	case PFL_EGRESS_NO_PTR:
		return "no-ptr";
	case PFL_EGRESS_PTR_MISMATCH:
		return "ptr-mismatch";
	case PFL_EGRESS_HELO_UNRESOLVED:
		return "unresolved";
	case PFL_EGRESS_HELO_MISMATCH:
		return "mismatch";
	case PFL_EGRESS_TEMPFAIL:
		return "tempfail";
	case PFL_EGRESS_INVALID:
		return "invalid";
	case PFL_EGRESS_UNCHECKED:
		return "unchecked";
	}
	return "unknown";
}

/* pfl_egress_problem - a misconfiguration (not OK, not DNS trouble)? */
bool
pfl_egress_problem(enum pfl_egress_state s)
{
	return s != PFL_EGRESS_OK && s != PFL_EGRESS_TEMPFAIL &&
	    s != PFL_EGRESS_UNCHECKED;
}

/* pfl_egress_summary - the report as one log field */
char *
pfl_egress_summary(const struct pfl_egress_report *r, char *buf, size_t n)
{
	const char *sep = "";
	size_t i;

	if (n == 0)
		return buf;
	snprintf(buf, n, "egress=");
	for (i = 0; i < r->n; i++) {
		if (r->addrs[i].state == PFL_EGRESS_OK)
			continue;
		pfl_strlcatf(buf, n, "%s%s(%s)", sep,
		    pfl_egress_state_name(r->addrs[i].state), r->addrs[i].addr);
		sep = ",";
	}
	if (r->helo_state != PFL_EGRESS_OK &&
	    r->helo_state != PFL_EGRESS_UNCHECKED) {
		pfl_strlcatf(buf, n, "%shelo-%s(%s)", sep,
		    pfl_egress_state_name(r->helo_state), r->helo);
		sep = ",";
	}
	if (*sep == '\0')
		pfl_strlcatf(buf, n, "%s",
		    r->n == 0 && r->helo_state == PFL_EGRESS_UNCHECKED ? "none"
								       : "ok");
	return buf;
}
