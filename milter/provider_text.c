/*
 * NAME
 *	provider_text - the words of a judgement: what is missing, what to fix
 * DESCRIPTION
 *	A reason names what the receiver will see ("SPF for 203.0.113.5
 *	fails (-all) and no DKIM signature"); a fix is one phrase an admin
 *	can act on ("allow 203.0.113.5 in the SPF record of example.com").
 *	Names longer than the buffers are cut, never overrun. Pure.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provider_private.h"
#include "util.h"

/* say - format into buf (size n); long names are cut, on purpose */
static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* or_str - s, or alt when s is empty */
static const char *
or_str(const char *s, const char *alt)
{
	return s[0] ? s : alt;
}

/* spf_phrase - what SPF says, e.g. "SPF for 203.0.113.5 fails (-all)" */
static void
spf_phrase(const struct pfl_auth *a, char *buf, size_t n)
{
	const char *ip = or_str(a->spf_ip, "our address");
	char mech[80] = "";

	if (a->spf_mechanism[0] && strcmp(a->spf_mechanism, "default") != 0)
		snprintf(mech, sizeof(mech), " (%s)", a->spf_mechanism);
	if (!a->spf_checked) {
		say(buf, n, "SPF not checked");
		return;
	}
	switch (a->spf) {
	case PFL_SPF_PASS:
		say(buf, n, "SPF for %s passes", ip);
		break;
	case PFL_SPF_FAIL:
		say(buf, n, "SPF for %s fails%s", ip, mech);
		break;
	case PFL_SPF_SOFTFAIL:
		say(buf, n, "SPF for %s softfails%s", ip, mech);
		break;
	case PFL_SPF_NEUTRAL:
		say(buf, n, "SPF for %s is neutral%s", ip, mech);
		break;
	case PFL_SPF_NONE:
		say(buf, n, "no SPF record for %s",
		    or_str(a->spf_domain, "the sender"));
		break;
	case PFL_SPF_PERMERROR:
		say(buf, n, "SPF record of %s is broken (permerror)",
		    or_str(a->spf_domain, "the sender"));
		break;
	case PFL_SPF_TEMPERROR:
		say(buf, n, "SPF for %s could not be checked (DNS)", ip);
		break;
	}
}

/* dkim_phrase - what DKIM says, e.g. "no DKIM signature" */
static void
dkim_phrase(const struct pfl_auth *a, char *buf, size_t n)
{
	const char *d = or_str(a->dkim_domain, "?");

	switch (a->dkim) {
	case PFL_AUTH_DKIM_NONE:
		say(buf, n, "no DKIM signature");
		break;
	case PFL_AUTH_DKIM_PASS:
		say(buf, n, "DKIM d=%s passes", d);
		break;
	case PFL_AUTH_DKIM_FAIL:
		say(buf, n, "DKIM signature d=%s does not verify", d);
		break;
	case PFL_AUTH_DKIM_TEMPERROR:
		say(buf, n, "DKIM key of d=%s could not be fetched (DNS)", d);
		break;
	}
}

/* pfl_provider_cause - why a requirement is not met, in words */
void
pfl_provider_cause(
    unsigned req, bool open, const struct pfl_auth *a, char *buf, size_t n)
{
	const char *from = or_str(a->from_domain, "the From: domain");
	char s[200], d[300];

	switch (req) {
	case PFL_REQ_DMARC_POLICY:
		if (open)
			say(buf, n, "DMARC of %s could not be checked (DNS)",
			    from);
		else
			say(buf, n, "DMARC fails under p=%s of %s",
			    pfl_dmarc_policy_name(a->dmarc_policy),
			    or_str(a->dmarc_domain, from));
		return;
	case PFL_REQ_SPF_OR_DKIM:
		spf_phrase(a, s, sizeof(s));
		dkim_phrase(a, d, sizeof(d));
		say(buf, n, "%s and %s", s, d);
		return;
	case PFL_REQ_SPF_SANE:
		say(buf, n, "SPF record of %s is suspicious (%s)",
		    or_str(a->spf_domain, "the sender"),
		    or_str(a->spf_suspicious_why, "?"));
		return;
	case PFL_REQ_SPF_PASS:
		spf_phrase(a, buf, n);
		return;
	case PFL_REQ_DKIM_PASS:
		dkim_phrase(a, buf, n);
		return;
	case PFL_REQ_DMARC_RECORD:
		if (open)
			say(buf, n,
			    "DMARC record of %s could not be fetched (DNS)",
			    from);
		else if (a->dmarc_record)
			say(buf, n, "DMARC record of %s is unusable",
			    or_str(a->dmarc_domain, from));
		else
			say(buf, n, "no DMARC record for %s", from);
		return;
	case PFL_REQ_DMARC_ALIGNED:
		if (open)
			say(buf, n,
			    "DMARC alignment of %s could not be checked (DNS)",
			    from);
		else
			say(buf, n,
			    "From: %s aligns with no passing SPF or DKIM "
			    "domain",
			    from);
		return;
	}
	buf[0] = '\0';
}

/* spf_fix - one phrase that makes SPF pass */
static void
spf_fix(const struct pfl_auth *a, char *buf, size_t n)
{
	const char *dom = or_str(
	    a->spf_domain, or_str(a->envelope_domain, "the sender domain"));
	const char *ip = or_str(a->spf_ip, "the egress address");

	if (!a->spf_checked)
		say(buf, n, "set EgressAddresses so SPF can be checked");
	else if (a->spf == PFL_SPF_NONE)
		say(buf, n, "publish SPF for %s allowing %s", dom, ip);
	else if (a->spf == PFL_SPF_PERMERROR)
		say(buf, n, "fix the SPF record of %s (permerror)", dom);
	else if (a->spf == PFL_SPF_TEMPERROR)
		say(buf, n, "make the DNS of %s answer (SPF temperror)", dom);
	else
		say(buf, n, "allow %s in the SPF record of %s", ip, dom);
}

/* dkim_fix - one phrase that makes DKIM pass */
static void
dkim_fix(const struct pfl_auth *a, char *buf, size_t n)
{
	const char *from = or_str(a->from_domain, "the From: domain");

	if (a->dkim_problem[0])
		say(buf, n, "%s", a->dkim_problem);
	else if (a->dkim == PFL_AUTH_DKIM_NONE)
		say(buf, n, "sign mail from %s with DKIM", from);
	else if (a->dkim == PFL_AUTH_DKIM_TEMPERROR)
		say(buf, n, "make the DNS of %s answer for its DKIM key",
		    or_str(a->dkim_domain, from));
	else
		say(buf, n, "find what breaks the d=%s signature",
		    or_str(a->dkim_domain, "?"));
}

/* pfl_provider_fix - one phrase saying what to change */
void
pfl_provider_fix(unsigned req, const struct pfl_auth *a, char *buf, size_t n)
{
	const char *from = or_str(a->from_domain, "the From: domain");

	switch (req) {
	case PFL_REQ_SPF_OR_DKIM:
		if (a->dkim_signed && a->dkim_problem[0])
			dkim_fix(a, buf, n);
		else
			spf_fix(a, buf, n);
		return;
	case PFL_REQ_SPF_SANE:
		say(buf, n,
		    "remove the suspicious entry from the SPF record of %s",
		    or_str(a->spf_domain, "the sender"));
		return;
	case PFL_REQ_SPF_PASS:
		spf_fix(a, buf, n);
		return;
	case PFL_REQ_DKIM_PASS:
		dkim_fix(a, buf, n);
		return;
	case PFL_REQ_DMARC_RECORD:
		say(buf, n,
		    "publish a DMARC record at _dmarc.%s (p=none is enough)",
		    from);
		return;
	case PFL_REQ_DMARC_POLICY:
	case PFL_REQ_DMARC_ALIGNED:
		if (a->dkim == PFL_AUTH_DKIM_PASS && !a->dkim_aligned)
			say(buf, n, "sign with d=%s (d=%s does not align)",
			    from, or_str(a->dkim_domain, "?"));
		else
			say(buf, n,
			    "sign with DKIM d=%s or use a MAIL FROM under %s "
			    "that SPF allows",
			    from, from);
		return;
	}
	buf[0] = '\0';
}

/* pfl_provider_reason - "gmail.com would refuse this (550 5.7.26): why" */
void
pfl_provider_reason(const char *rcpt, enum pfl_outcome out, bool spam,
    const char *reply, const char *why, unsigned others, char *buf, size_t n)
{
	const char *sep = "; also: ";
	size_t len;
	unsigned i;

	if (spam)
		say(buf, n, "%s would deliver this to spam: %s", rcpt, why);
	else if (out == PFL_OUT_DELIVER)
		say(buf, n, "%s would accept this", rcpt);
	else
		say(buf, n, "%s would %s this (%s): %s", rcpt,
		    out == PFL_OUT_REFUSE ? "refuse" : "defer", reply, why);
	for (i = 0; i < PFL_NREQUIREMENTS; i++) {
		if (!(others & (1u << i)) || (len = strlen(buf)) + 1 >= n)
			continue;
		say(buf + len, n - len, "%s%s", sep,
		    pfl_requirement_name(1u << i));
		sep = ", ";
	}
}
