/*
 * NAME
 *	provider_private 3h - what provider.c and provider_rules.c share
 * DESCRIPTION
 *	provider.c recognises domains, provider_map.c builds the map from
 *	the config, provider_rules.c holds the rule tables and judges,
 *	provider_text.c words the reasons and fixes, provider_auth.c folds
 *	check results into a struct pfl_auth. Not for other modules.
 */
#ifndef PFL_PROVIDER_PRIVATE_H
#define PFL_PROVIDER_PRIVATE_H

#include "provider.h"

/* A consumer domain: "name", or "name.*" (name plus a public suffix). */
struct pfl_provider_domain {
	char *name; /* the domain, or the label before ".*" */
	bool wildcard;
	enum pfl_provider provider;
};

struct pfl_provider_map {
	struct pfl_provider_domain *extra; /* ProviderDomains, before ours */
	size_t nextra;
	char **bulk; /* BulkSenderDomains */
	size_t nbulk;
	unsigned rules[PFL_NPROVIDERS][PFL_NCLASSES]; /* requirement bits */
	enum pfl_action on_reject;                    /* OnAuthReject */
	enum pfl_action on_throttle;                  /* OnAuthThrottle */
	enum pfl_action on_dns;                       /* OnDnsError */
};

/* pfl_provider_rules_builtin - copy the built-in rule sets into rules */
void pfl_provider_rules_builtin(unsigned rules[PFL_NPROVIDERS][PFL_NCLASSES]);

/*
 * pfl_provider_cause - why requirement req is not met, in words, into buf
 * (size n); open: DNS trouble left it open
 */
void pfl_provider_cause(
    unsigned req, bool open, const struct pfl_auth *a, char *buf, size_t n);

/* pfl_provider_fix - one phrase saying how to meet req, into buf (size n) */
void pfl_provider_fix(
    unsigned req, const struct pfl_auth *a, char *buf, size_t n);

/*
 * pfl_provider_reason - the reason of a finding into buf (size n):
 * "RCPT would refuse this (REPLY): WHY", "... would defer this ...",
 * "... would deliver this to spam: WHY" or "... would accept this", then
 * "; also: " and the names of the requirements in others
 */
void pfl_provider_reason(const char *rcpt, enum pfl_outcome out, bool spam,
    const char *reply, const char *why, unsigned others, char *buf, size_t n);

#endif
