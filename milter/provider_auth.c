/*
 * NAME
 *	provider_auth - summarise SPF, DKIM and DMARC results for a receiver
 * DESCRIPTION
 *	The checks each produce their own result; struct pfl_auth is the
 *	part a receiver's rules look at. SPF is checked once per egress
 *	address and the worst result is kept: any of our addresses may
 *	carry the message. DKIM folds the verified signatures and the
 *	predicted one: one pass is enough, a key fetch that failed (DNS)
 *	leaves it open, anything else is a failure with the reason kept as
 *	the fix. Pure; nothing is logged.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "util.h"

/* copy_lower - printable, lower-cased copy of s (NULL is "") */
static void
copy_lower(char *dst, size_t n, const char *s)
{
	char *p;

	pfl_printable(dst, n, s ? s : "", NULL);
	for (p = dst; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* pfl_auth_init - nothing known yet */
void
pfl_auth_init(struct pfl_auth *a, const char *from_domain,
    const char *envelope_domain, bool bulk)
{
	memset(a, 0, sizeof(*a));
	copy_lower(a->from_domain, sizeof(a->from_domain), from_domain);
	copy_lower(
	    a->envelope_domain, sizeof(a->envelope_domain), envelope_domain);
	a->bulk = bulk;
	a->spf = PFL_SPF_NONE;
	a->dkim = PFL_AUTH_DKIM_NONE;
	a->dmarc = PFL_DMARC_NONE;
	a->dmarc_policy = PFL_DMARC_P_NONE;
}

/* spf_weight - how bad an SPF result is for delivery */
static int
spf_weight(enum pfl_spf_code c)
{
	switch (c) {
	case PFL_SPF_PASS:
		return 0;
	case PFL_SPF_NONE:
		return 1;
	case PFL_SPF_NEUTRAL:
		return 2;
	case PFL_SPF_TEMPERROR:
		return 3;
	case PFL_SPF_SOFTFAIL:
		return 4;
	case PFL_SPF_PERMERROR:
		return 5;
	case PFL_SPF_FAIL:
		return 6;
	}
	return 6;
}

/* pfl_auth_add_spf - fold in one egress address's result */
void
pfl_auth_add_spf(
    struct pfl_auth *a, const char *ip, const struct pfl_spf_result *r)
{
	if (r->suspicious && !a->spf_suspicious) {
		a->spf_suspicious = true;
		pfl_printable(a->spf_suspicious_why,
		    sizeof(a->spf_suspicious_why), r->suspicious_why, NULL);
	}
	if (a->spf_checked && spf_weight(r->code) <= spf_weight(a->spf))
		return;
	a->spf_checked = true;
	a->spf = r->code;
	pfl_printable(a->spf_ip, sizeof(a->spf_ip), ip ? ip : "", NULL);
	copy_lower(a->spf_domain, sizeof(a->spf_domain), r->domain);
	pfl_printable(
	    a->spf_mechanism, sizeof(a->spf_mechanism), r->mechanism, NULL);
}

/* dkim_fold - one signature's outcome into the summary */
static void
dkim_fold(struct pfl_auth *a, enum pfl_auth_dkim one, const char *domain,
    const char *problem)
{
	a->dkim_signed = true;
	if (one == PFL_AUTH_DKIM_PASS) {
		if (a->dkim_pass++ == 0)
			copy_lower(
			    a->dkim_domain, sizeof(a->dkim_domain), domain);
		a->dkim = PFL_AUTH_DKIM_PASS;
		return;
	}
	if (a->dkim_domain[0] == '\0')
		copy_lower(a->dkim_domain, sizeof(a->dkim_domain), domain);
	if (a->dkim_problem[0] == '\0' && problem)
		pfl_printable(
		    a->dkim_problem, sizeof(a->dkim_problem), problem, NULL);
	if (a->dkim != PFL_AUTH_DKIM_PASS && a->dkim != PFL_AUTH_DKIM_TEMPERROR)
		a->dkim = one;
}

/* pfl_auth_add_dkim_sigs - the verified signatures */
void
pfl_auth_add_dkim_sigs(
    struct pfl_auth *a, const struct pfl_dkim_sig *sigs, size_t n)
{
	char why[256];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct pfl_dkim_sig *s = &sigs[i];

		if (s->result == PFL_DKIM_PASS) {
			dkim_fold(a, PFL_AUTH_DKIM_PASS, s->domain, NULL);
			continue;
		}
		snprintf(why, sizeof(why), "DKIM signature d=%s s=%s: %s",
		    s->domain ? s->domain : "?",
		    s->selector ? s->selector : "?",
		    s->why && s->why[0] ? s->why
					: pfl_dkim_result_name(s->result));
		dkim_fold(a,
		    s->result == PFL_DKIM_TEMPFAIL ? PFL_AUTH_DKIM_TEMPERROR
						   : PFL_AUTH_DKIM_FAIL,
		    s->domain, why);
	}
}

/* pfl_auth_add_dkim_prediction - the signature the signer will add */
void
pfl_auth_add_dkim_prediction(
    struct pfl_auth *a, const struct pfl_dkim_prediction *p)
{
	switch (p->result) {
	case PFL_DKIM_WOULD_SIGN:
		dkim_fold(a, PFL_AUTH_DKIM_PASS, p->domain, NULL);
		break;
	case PFL_DKIM_WOULD_NOT_SIGN:
		/* unsigned: the fix is a SigningTable entry */
		if (a->dkim_problem[0] == '\0')
			pfl_printable(a->dkim_problem, sizeof(a->dkim_problem),
			    p->fix, NULL);
		break;
	case PFL_DKIM_KEY_PROBLEM:
		dkim_fold(a, PFL_AUTH_DKIM_FAIL, p->domain, p->fix);
		break;
	case PFL_DKIM_KEY_UNKNOWN:
		dkim_fold(a, PFL_AUTH_DKIM_TEMPERROR, p->domain, p->fix);
		break;
	}
}

/* pfl_auth_set_dmarc - the DMARC result of the From: domain */
void
pfl_auth_set_dmarc(struct pfl_auth *a, const struct pfl_dmarc_result *r)
{
	a->dmarc = r->result;
	a->dmarc_record = r->record_found;
	a->dmarc_policy = r->applied;
	a->spf_aligned = r->spf_aligned;
	a->dkim_aligned = r->dkim_aligned;
	copy_lower(a->dmarc_domain, sizeof(a->dmarc_domain), r->record_domain);
}
