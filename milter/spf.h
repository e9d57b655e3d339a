/*
 * NAME
 *	spf 3h - SPF as the receiver evaluates it (RFC 7208 check_host)
 * DESCRIPTION
 *	pfl_spf_check answers "what will a receiver that follows RFC 7208
 *	say about mail from this IP with this MAIL FROM (or, for the null
 *	sender, this HELO)?". The evaluator is our own, complete check_host():
 *	mechanisms all, include, a, mx, ptr, ip4, ip6, exists; modifiers
 *	redirect and exp; macros (7.x) with transformers. libspf2 is not used
 *	for the verdict: it counts the DNS-lookup limit per record instead of
 *	per evaluation, has no void-lookup limit, reads DNS failures as
 *	"invalid", rejects /0 and misses loops and macro errors (see
 *	LIBNOTES), and receivers such as Gmail get those right.
 *
 *	Limits over the WHOLE evaluation (includes and redirects included):
 *	at most PFL_SPF_MAX_DNS_TERMS terms that query DNS (include, a, mx,
 *	ptr, exists, redirect), else permerror; at most PFL_SPF_MAX_VOID
 *	void lookups (a term's lookup that found NXDOMAIN or no data), else
 *	permerror; at most 10 MX records per mx (else permerror) and the
 *	first 10 PTR names per ptr or %{p}. Loops end at the term limit.
 *	A DNS failure (SERVFAIL, timeout) is temperror, except in ptr and
 *	%{p} where RFC 7208 says to skip the name. exp= is looked up only
 *	for a fail at the top record (or its redirect target) and counts
 *	toward no limit; its failures are ignored. The whole evaluation may
 *	take PFL_SPF_TIME_LIMIT_MS (RFC 7208 4.6.4 asks for at least 20 s);
 *	after that every lookup fails at once, so the result is temperror
 *	no later than one DNS timeout past the limit.
 *
 *	Initial processing: a malformed domain (empty or over-long label,
 *	a single label, a domain literal) is "none". An empty local part is
 *	"postmaster". The null sender is checked as postmaster@HELO.
 * SUSPICIOUS RECORDS
 *	Gmail refuses mail whose SPF record "has suspicious entries"
 *	(550 5.7.24). We flag, in any record the evaluation reads:
 *	- "+all" (or a bare "all"): every host on the Internet passes;
 *	- a record whose only term is "?all": says nothing, invites abuse;
 *	- ip4 networks shorter than /PFL_SPF_WIDE_IP4 (8) and ip6 networks
 *	  shorter than /PFL_SPF_WIDE_IP6 (16), and a/mx with such dual-CIDR
 *	  lengths: wider than any single organisation holds.
 *	The first finding is reported in suspicious_why.
 * THREAD SAFETY
 *	No state outside the call: any number of threads may check at once
 *	(sharing one struct pfl_dns). Nothing is logged.
 */
#ifndef PFL_SPF_H
#define PFL_SPF_H

#include <stdbool.h>

#include "dns.h"

#define PFL_SPF_MAX_DNS_TERMS 10
#define PFL_SPF_MAX_VOID      2
#define PFL_SPF_MAX_MX        10
#define PFL_SPF_MAX_PTR       10
#define PFL_SPF_WIDE_IP4      8
#define PFL_SPF_WIDE_IP6      16
#define PFL_SPF_TIME_LIMIT_MS 20000

enum pfl_spf_code {
	PFL_SPF_NONE,
	PFL_SPF_NEUTRAL,
	PFL_SPF_PASS,
	PFL_SPF_FAIL,
	PFL_SPF_SOFTFAIL,
	PFL_SPF_TEMPERROR,
	PFL_SPF_PERMERROR,
};

struct pfl_spf_result {
	enum pfl_spf_code code;
	char domain[256];      /* the domain checked (lower case) */
	char reason[256];      /* what decided, e.g. "matched -all at x.org" */
	char explanation[256]; /* fail: the domain's exp= text, else "" */
	char mechanism[64];    /* the deciding term of the top record
				  ("-all", "include:x"), "default" or "" */
	unsigned dns_lookups;  /* DNS-querying terms counted */
	unsigned void_lookups; /* of those, lookups that found nothing */
	bool suspicious;
	char suspicious_why[128];
};

/*
 * The resolver seam: pfl_spf_check_with asks lookup(arg, name, rrtype)
 * for each DNS query; it must return an answer (never NULL) that the
 * evaluator frees with pfl_dns_answer_free.
 */
typedef struct pfl_dns_answer *(*pfl_spf_lookup_fn)(
    void *arg, const char *name, int rrtype);

/*
 * pfl_spf_check - evaluate SPF for mail from ip (text, IPv4 or IPv6)
 * with envelope sender mail_from (NULL, "" or "<>" for the null sender)
 * after HELO helo (may be NULL). Fills *r and returns r->code.
 */
enum pfl_spf_code pfl_spf_check(struct pfl_dns *, const char *ip,
    const char *helo, const char *mail_from, struct pfl_spf_result *r);

/*
 * pfl_spf_check_with - the same through any lookup function, with a time
 * limit for the whole evaluation (0: PFL_SPF_TIME_LIMIT_MS)
 */
enum pfl_spf_code pfl_spf_check_with(pfl_spf_lookup_fn lookup, void *arg,
    unsigned time_limit_ms, const char *ip, const char *helo,
    const char *mail_from, struct pfl_spf_result *r);

/* pfl_spf_code_name - "pass", "fail", ... as in RFC 7208 */
const char *pfl_spf_code_name(enum pfl_spf_code);

#endif
