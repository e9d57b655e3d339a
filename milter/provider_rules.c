/*
 * NAME
 *	provider_rules - the receivers' rules as data, and the judgement
 * DESCRIPTION
 *	builtin_rules[] says which requirements each provider demands per
 *	rule class; replies[] what each provider answers when one is
 *	missing, and when DNS trouble left it open. provider.h explains the
 *	tables against RECEIVERS.md. The judgement is pure: the map, the
 *	recipient and the authentication summary in, one finding out; its
 *	words come from provider_text.c.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "provider_private.h"
#include "util.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Requirement names, by bit position. */
static const char *const req_names[PFL_NREQUIREMENTS] = {
	"dmarc_policy_honoured",
	"spf_or_dkim",
	"spf_sane",
	"spf_pass",
	"dkim_pass",
	"dmarc_record",
	"dmarc_aligned",
};

#define R_POLICY  PFL_REQ_DMARC_POLICY
#define R_EITHER  PFL_REQ_SPF_OR_DKIM
#define R_SANE    PFL_REQ_SPF_SANE
#define R_SPF     PFL_REQ_SPF_PASS
#define R_DKIM    PFL_REQ_DKIM_PASS
#define R_RECORD  PFL_REQ_DMARC_RECORD
#define R_ALIGNED PFL_REQ_DMARC_ALIGNED
#define R_BULK    (R_SPF | R_DKIM | R_RECORD | R_ALIGNED)

/* Built-in rule sets (RECEIVERS.md, 2026): provider x all/bulk/tenant. */
static const unsigned builtin_rules[PFL_NPROVIDERS][PFL_NCLASSES] = {
	[PFL_PROV_DEFAULT] = { R_POLICY, R_POLICY, R_POLICY },
	[PFL_PROV_GOOGLE] = { R_POLICY | R_EITHER | R_SANE,
	    R_POLICY | R_EITHER | R_SANE | R_BULK, R_POLICY },
	[PFL_PROV_YAHOO] = { R_POLICY | R_EITHER, R_POLICY | R_EITHER | R_BULK,
	    R_POLICY },
	[PFL_PROV_MICROSOFT] = { R_POLICY, R_POLICY | R_BULK, R_POLICY },
	[PFL_PROV_APPLE] = { R_POLICY, R_POLICY, R_POLICY },
};

/* What a receiver answers: requirement missing, or left open by DNS. */
struct reply {
	const char *missing, *temp;
};

/*
 * Replies per provider, indexed by requirement bit position. "451 4.7.1"
 * stands where a receiver documents no temporary code of its own,
 * "550 5.7.1" where it documents no code at all.
 */
static const struct reply replies[PFL_NPROVIDERS][PFL_NREQUIREMENTS] = {
	[PFL_PROV_DEFAULT] = {
	    { "550 5.7.1", "451 4.7.1" }, /* DMARC p=reject */
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	},
	[PFL_PROV_GOOGLE] = {
	    { "550 5.7.26", "451 4.7.26" }, /* DMARC p=reject */
	    { "550 5.7.26", "421 4.7.26" }, /* unauthenticated */
	    { "550 5.7.24", "451 4.7.24" }, /* suspicious SPF */
	    { "550 5.7.27", "421 4.7.27" }, /* bulk: SPF */
	    { "550 5.7.30", "421 4.7.30" }, /* bulk: DKIM */
	    { "550 5.7.40", "421 4.7.40" }, /* bulk: DMARC record */
	    { "421 4.7.32", "421 4.7.32" }, /* bulk: alignment */
	},
	[PFL_PROV_YAHOO] = {
	    { "554 5.7.9", "451 4.7.1" }, /* policy */
	    { "550 5.7.9", "451 4.7.1" }, /* unauthenticated */
	    { "550 5.7.9", "451 4.7.1" },
	    { "550 5.7.9", "451 4.7.1" },
	    { "550 5.7.9", "451 4.7.1" },
	    { "550 5.7.9", "451 4.7.1" },
	    { "550 5.7.9", "451 4.7.1" },
	},
	[PFL_PROV_MICROSOFT] = {
	    { "550 5.7.509", "451 4.7.1" }, /* DMARC p=reject */
	    { "550 5.7.515", "451 4.7.1" }, /* high-volume authentication */
	    { "550 5.7.515", "451 4.7.1" },
	    { "550 5.7.515", "451 4.7.1" },
	    { "550 5.7.515", "451 4.7.1" },
	    { "550 5.7.515", "451 4.7.1" },
	    { "550 5.7.515", "451 4.7.1" },
	},
	[PFL_PROV_APPLE] = {
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	    { "550 5.7.1", "451 4.7.1" },
	},
};

/* How one requirement fares; ordered by weight. */
enum state {
	MET,
	SPAM,    /* accepted into the spam folder (p=quarantine) */
	UNKNOWN, /* DNS trouble: the receiver cannot tell yet */
	MISSING,
};

#define SPAM_REPLY "250 (spam folder)"

/* pfl_provider_rules_builtin - copy the built-in rule sets */
void
pfl_provider_rules_builtin(unsigned rules[PFL_NPROVIDERS][PFL_NCLASSES])
{
	memcpy(rules, builtin_rules, sizeof(builtin_rules));
}

/* pfl_requirement_name - the name of one requirement bit */
const char *
pfl_requirement_name(unsigned req)
{
	unsigned i;

	for (i = 0; i < PFL_NREQUIREMENTS; i++)
		if (req == 1u << i)
			return req_names[i];
	return NULL;
}

/* pfl_requirement_parse - the bit of a requirement name; 0 if unknown */
unsigned
pfl_requirement_parse(const char *name)
{
	unsigned i;

	for (i = 0; i < PFL_NREQUIREMENTS; i++)
		if (pfl_strcaseeq(name, req_names[i]))
			return 1u << i;
	return 0;
}

/* --- requirement states ------------------------------------------------- */

/* spf_state - SPF pass as a requirement */
static enum state
spf_state(const struct pfl_auth *a)
{
	if (!a->spf_checked)
		return MISSING;
	if (a->spf == PFL_SPF_PASS)
		return MET;
	return a->spf == PFL_SPF_TEMPERROR ? UNKNOWN : MISSING;
}

/* dkim_state - DKIM pass as a requirement */
static enum state
dkim_state(const struct pfl_auth *a)
{
	if (a->dkim == PFL_AUTH_DKIM_PASS)
		return MET;
	return a->dkim == PFL_AUTH_DKIM_TEMPERROR ? UNKNOWN : MISSING;
}

/* policy_state - does the DMARC policy let the message through? */
static enum state
policy_state(const struct pfl_auth *a)
{
	if (a->dmarc == PFL_DMARC_TEMPERROR)
		return UNKNOWN;
	if (a->dmarc != PFL_DMARC_FAIL)
		return MET;
	if (a->dmarc_policy == PFL_DMARC_P_REJECT)
		return MISSING;
	return a->dmarc_policy == PFL_DMARC_P_QUARANTINE ? SPAM : MET;
}

/* record_state - a usable DMARC record */
static enum state
record_state(const struct pfl_auth *a)
{
	if (a->dmarc_record && a->dmarc != PFL_DMARC_PERMERROR)
		return MET;
	return a->dmarc == PFL_DMARC_TEMPERROR ? UNKNOWN : MISSING;
}

/* aligned_state - DMARC passes: an aligned identifier passed */
static enum state
aligned_state(const struct pfl_auth *a)
{
	if (a->spf_aligned || a->dkim_aligned || a->dmarc == PFL_DMARC_PASS)
		return MET;
	return a->dmarc == PFL_DMARC_TEMPERROR ? UNKNOWN : MISSING;
}

/* req_state - how one requirement fares */
static enum state
req_state(unsigned req, const struct pfl_auth *a)
{
	enum state s, d;

	switch (req) {
	case R_POLICY:
		return policy_state(a);
	case R_EITHER:
		s = spf_state(a);
		d = dkim_state(a);
		if (s == MET || d == MET)
			return MET;
		return s == UNKNOWN || d == UNKNOWN ? UNKNOWN : MISSING;
	case R_SANE:
		return a->spf_checked && a->spf_suspicious ? MISSING : MET;
	case R_SPF:
		return spf_state(a);
	case R_DKIM:
		return dkim_state(a);
	case R_RECORD:
		return record_state(a);
	case R_ALIGNED:
		return aligned_state(a);
	}
	return MET;
}

/* --- the judgement ---------------------------------------------------- */

/* rank - how much a state weighs in the outcome (reply decides 4xx/5xx) */
static int
rank(enum state st, const struct reply *r)
{
	switch (st) {
	case MET:
		return 0;
	case SPAM:
		return 1;
	case UNKNOWN:
		return 2;
	case MISSING:
		return r->missing[0] == '5' ? 3 : 2;
	}
	return 0;
}

/* our_codes - our reply for the action: 550/5.x.y or 451/4.x.y */
static void
our_codes(
    const char *predicted, enum pfl_action act, char rcode[4], char xcode[10])
{
	const char *x = strchr(predicted, ' '), *dot;
	bool rej = act == PFL_ACT_REJECT;

	pfl_strlcpy(rcode, rej ? "550" : "451", 4);
	dot = x ? strchr(x + 1, '.') : NULL;
	if (predicted[0] != '4' && predicted[0] != '5')
		dot = NULL;
	if (dot == NULL || strlen(dot) > 7) {
		pfl_strlcpy(xcode, rej ? "5.7.1" : "4.7.1", 10);
		return;
	}
	snprintf(xcode, 10, "%c%s", rej ? '5' : '4', dot);
}

/* rule_class - the rule set for a recipient and sender */
static enum pfl_rule_class
rule_class(const struct pfl_provider_match *rcpt, const struct pfl_auth *a)
{
	if (rcpt->tenant)
		return PFL_CLASS_TENANT;
	return a->bulk ? PFL_CLASS_BULK : PFL_CLASS_ALL;
}

/* The requirement that decides a judgement. */
struct pick {
	int top;         /* its bit position, -1 when all are met */
	enum state st;   /* its state */
	int rank;        /* its weight (see rank) */
	unsigned others; /* the other requirements not met */
};

/* pick - the heaviest requirement not met; the first of equals */
static void
pick(enum pfl_provider p, unsigned rules, const struct pfl_auth *a,
    struct pick *k)
{
	enum state st;
	unsigned bit;
	int i, rk;

	memset(k, 0, sizeof(*k));
	k->top = -1;
	for (i = 0; i < PFL_NREQUIREMENTS; i++) {
		bit = 1u << i;
		if (!(rules & bit) || (st = req_state(bit, a)) == MET)
			continue;
		rk = rank(st, &replies[p][i]);
		if (rk <= k->rank) {
			k->others |= bit;
			continue;
		}
		if (k->top >= 0)
			k->others |= 1u << k->top;
		k->top = i, k->st = st, k->rank = rk;
	}
}

/* pfl_provider_judge - what the receiver would do with this message */
void
pfl_provider_judge(const struct pfl_provider_map *m,
    const struct pfl_provider_match *rcpt, const struct pfl_auth *a,
    struct pfl_finding *f)
{
	enum pfl_provider p = (unsigned)rcpt->provider < PFL_NPROVIDERS
	    ? rcpt->provider
	    : PFL_PROV_DEFAULT;
	const char *reply,
	    *dom = rcpt->domain[0] ? rcpt->domain : pfl_provider_name(p);
	char why[256], reason[512], rcode[4], xcode[10];
	enum pfl_outcome out;
	enum pfl_action act;
	struct pick k;

	pick(p, m->rules[p][rule_class(rcpt, a)], a, &k);
	if (k.top < 0) {
		pfl_provider_reason(dom, PFL_OUT_DELIVER, false, "250", "", 0,
		    reason, sizeof(reason));
		pfl_finding_set(f, "auth", PFL_OUT_DELIVER, PFL_ACT_ACCEPT,
		    "250", "", "", reason);
		return;
	}
	out = k.rank == 3 ? PFL_OUT_REFUSE
	    : k.rank == 2 ? PFL_OUT_THROTTLE
			  : PFL_OUT_DELIVER;
	reply = k.st == SPAM  ? SPAM_REPLY
	    : k.st == UNKNOWN ? replies[p][k.top].temp
			      : replies[p][k.top].missing;
	act = out == PFL_OUT_REFUSE ? m->on_reject
	    : k.st == UNKNOWN       ? m->on_dns
				    : m->on_throttle;
	pfl_provider_cause(1u << k.top, k.st == UNKNOWN, a, why, sizeof(why));
	pfl_provider_reason(dom, out, k.st == SPAM, reply, why, k.others,
	    reason, sizeof(reason));
	our_codes(reply, act, rcode, xcode);
	pfl_finding_set(f, "auth", out, act, reply, rcode, xcode, reason);
	pfl_provider_fix(1u << k.top, a, why, sizeof(why));
	pfl_printable(f->fix, sizeof(f->fix), why, "%\"");
}
