/*
 * NAME
 *	provider 3h - who receives the mail, and what they demand of it
 * DESCRIPTION
 *	A recipient domain is recognised as one of the big receivers
 *	(google, yahoo, microsoft, apple) or "default": first by a built-in
 *	list of their consumer domains (plus ProviderDomains lines), then by
 *	the domain's most preferred MX host (a Workspace domain's MX is
 *	Google's). pfl_provider_judge then says, for one recipient domain
 *	and a summary of authentication as that receiver will see it
 *	(struct pfl_auth), whether the receiver would deliver, throttle
 *	(4xx) or refuse (5xx) the message, with its likely reply, the
 *	action the config gives that class of finding, and one phrase
 *	saying what to fix.
 *
 *	Rules are data. Per provider and rule class there is a set of
 *	requirements; each requirement has, per provider, the reply the
 *	receiver gives when it is not met and the temporary reply it gives
 *	when DNS trouble kept it from telling. "ProviderRule PROVIDER CLASS
 *	REQ[,REQ...]" replaces a built-in set ("none" for an empty one);
 *	"ProviderDomains PROVIDER DOMAIN[,...]" adds consumer domains, a
 *	DOMAIN "label.*" standing for label plus any public suffix
 *	(ProviderDomains default example.com keeps a domain out of MX
 *	rollup).
 *
 *	Rule classes: "all" (any sender to consumer mailboxes), "bulk" (the
 *	From: domain is a bulk sender: BulkSenderDomains, later the budget
 *	counters) and "tenant": mail to a business tenant recognised by MX
 *	(Google Workspace, Microsoft 365 behind *.mail.protection.outlook.com).
 *	Tenants run the tenant's own DMARC-honouring filters, not the
 *	consumer bulk rules, so only the DMARC policy counts there.
 * RECEIVERS (facts of RECEIVERS.md, read 2026)
 *	requirement            what it checks        replies (missing / DNS)
 *	dmarc_policy_honoured  DMARC fail under      google 550 5.7.26 / 451 4.7.26
 *	                       p=reject (applied,     yahoo 554 5.7.9 (policy)
 *	                       after t=y and pct=0)   microsoft 550 5.7.509
 *	                                              other 550 5.7.1 / 451 4.7.1
 *	spf_or_dkim            SPF or DKIM passes    google 550 5.7.26 / 421 4.7.26
 *	                                              yahoo 550 5.7.9
 *	spf_sane               no suspicious SPF     google 550 5.7.24 / 451 4.7.24
 *	                       entry (+all, /0-ish)
 *	spf_pass               SPF passes            google 550 5.7.27 / 421 4.7.27
 *	dkim_pass              a DKIM signature      google 550 5.7.30 / 421 4.7.30
 *	                       passes
 *	dmarc_record           a usable DMARC record google 550 5.7.40 / 421 4.7.40
 *	                       (p=none is enough)
 *	dmarc_aligned          DMARC passes: From:   google 421 4.7.32
 *	                       aligned with a        (a 4xx even when missing)
 *	                       passing SPF/DKIM id.
 *	Microsoft's bulk rule (SPF and DKIM pass, a DMARC record, aligned)
 *	answers 550 5.7.515 for each of its parts; Yahoo answers 550 5.7.9
 *	for every authentication gap. Receivers that document no temporary
 *	reply get "451 4.7.1".
 *
 *	Built-in sets (order = priority when several are missing):
 *	google all:  dmarc_policy_honoured spf_or_dkim spf_sane
 *	google bulk: the same + spf_pass dkim_pass dmarc_record dmarc_aligned
 *	yahoo all / bulk: as google, without spf_sane
 *	microsoft all: dmarc_policy_honoured
 *	microsoft bulk: dmarc_policy_honoured spf_pass dkim_pass
 *	    dmarc_record dmarc_aligned
 *	apple, default (all, bulk), every tenant: dmarc_policy_honoured
 *
 *	DMARC p=quarantine: the receiver accepts (250) and files the mail as
 *	spam. No SMTP error will show, so it is no throttle or refusal: the
 *	outcome is "deliver", but the finding takes the OnAuthThrottle action
 *	(default tag) so the operator sees it, predicted "250 (spam folder)".
 *
 *	The outcome of a judgement is the worst requirement: a missing one
 *	whose reply is 5xx refuses, 4xx throttles; one that DNS trouble left
 *	open throttles with its temporary reply. Actions: refuse takes
 *	OnAuthReject, a throttle from a missing requirement (or quarantine)
 *	OnAuthThrottle, a throttle from DNS trouble OnDnsError.
 * FILES
 *	provider.c recognition, provider_map.c the map from the config,
 *	provider_rules.c the tables and the judgement, provider_text.c its
 *	words, provider_auth.c struct pfl_auth from the checks' results;
 *	tests/data/provider_rules.txt pins every built-in combination.
 * OWNERSHIP
 *	A map is built from a config snapshot (it copies what it needs) and
 *	freed with pfl_provider_map_free. All results are value structs
 *	owned by the caller.
 * THREAD SAFETY
 *	A map is read-only once built: any number of threads may recognise
 *	and judge with it at once. Nothing is logged.
 */
#ifndef PFL_PROVIDER_H
#define PFL_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim.h"
#include "dmarc.h"
#include "orgdomain.h"
#include "spf.h"
#include "verdict.h"

struct pfl_config;
struct pfl_dns;
struct pfl_dns_answer;

/* The receivers we know; default is everyone else. */
enum pfl_provider {
	PFL_PROV_DEFAULT,
	PFL_PROV_GOOGLE,
	PFL_PROV_YAHOO,
	PFL_PROV_MICROSOFT,
	PFL_PROV_APPLE,
};
#define PFL_NPROVIDERS 5

/* Which rule set applies (see DESCRIPTION). */
enum pfl_rule_class {
	PFL_CLASS_ALL,
	PFL_CLASS_BULK,
	PFL_CLASS_TENANT,
};
#define PFL_NCLASSES 3

/* Requirements, as bits of a rule set; in order of priority. */
enum pfl_requirement {
	PFL_REQ_DMARC_POLICY = 1 << 0,  /* dmarc_policy_honoured */
	PFL_REQ_SPF_OR_DKIM = 1 << 1,   /* spf_or_dkim */
	PFL_REQ_SPF_SANE = 1 << 2,      /* spf_sane */
	PFL_REQ_SPF_PASS = 1 << 3,      /* spf_pass */
	PFL_REQ_DKIM_PASS = 1 << 4,     /* dkim_pass */
	PFL_REQ_DMARC_RECORD = 1 << 5,  /* dmarc_record */
	PFL_REQ_DMARC_ALIGNED = 1 << 6, /* dmarc_aligned */
};
#define PFL_NREQUIREMENTS 7

/* How a recipient domain was recognised. */
enum pfl_provider_via {
	PFL_VIA_LIST,    /* built-in list or ProviderDomains */
	PFL_VIA_MX,      /* its most preferred MX host */
	PFL_VIA_DEFAULT, /* neither: see why */
};

/* A recognised recipient domain. */
struct pfl_provider_match {
	enum pfl_provider provider;
	bool tenant;                  /* a business tenant: tenant rules */
	enum pfl_provider_via via;    /* how it was recognised */
	char domain[PFL_DOMAIN_SIZE]; /* the recipient domain, normalised */
	char mx[PFL_DOMAIN_SIZE];     /* the MX host looked at, or "" */
	char why[192]; /* via default: "no MX record", "MX lookup failed:
			  ...", ...; else "" */
};

/* DKIM as the receiver will see it. */
enum pfl_auth_dkim {
	PFL_AUTH_DKIM_NONE,      /* no signature, none will be added */
	PFL_AUTH_DKIM_PASS,      /* a signature passes (or will) */
	PFL_AUTH_DKIM_FAIL,      /* signed, but none passes */
	PFL_AUTH_DKIM_TEMPERROR, /* none passes; a key fetch failed (DNS) */
};

/*
 * Authentication of one message as a receiver will see it: SPF from our
 * egress addresses (the worst of them), the DKIM signatures it carries or
 * will get from the signer, DMARC of the From: domain. Text is printable.
 */
struct pfl_auth {
	char from_domain[PFL_DOMAIN_SIZE];     /* RFC5322.From domain */
	char envelope_domain[PFL_DOMAIN_SIZE]; /* RFC5321.MailFrom domain */
	bool bulk;                             /* the From: domain sends bulk */
	/* SPF: the worst result over the egress addresses */
	bool spf_checked;                 /* false: nothing folded in yet */
	enum pfl_spf_code spf;            /* that result */
	char spf_ip[46];                  /* the egress address that got it */
	char spf_domain[PFL_DOMAIN_SIZE]; /* the domain whose record decided */
	char spf_mechanism[64];           /* deciding term ("-all", "~all",
					   "include:x", "default") or "" */
	bool spf_suspicious; /* a suspicious entry (Gmail 5.7.24) */
	char spf_suspicious_why[128];
	/* DKIM: verified signatures, or the predicted one */
	enum pfl_auth_dkim dkim;
	bool dkim_signed;                  /* a signature exists or will */
	unsigned dkim_pass;                /* passing signatures */
	char dkim_domain[PFL_DOMAIN_SIZE]; /* d= of the first passing one,
					       else of the first one, or "" */
	char dkim_problem[256];            /* why none passes (a fix), or "" */
	/* DMARC */
	enum pfl_dmarc_res dmarc;           /* the result */
	bool dmarc_record;                  /* a policy record applies */
	enum pfl_dmarc_policy dmarc_policy; /* applied on fail */
	bool spf_aligned, dkim_aligned;     /* an aligned identifier passed */
	char dmarc_domain[PFL_DOMAIN_SIZE]; /* where the record is, or "" */
};

struct pfl_provider_map;

/*
 * pfl_provider_map_new - built-in lists and rules with the config's
 * ProviderDomains and ProviderRule lines, actions (OnAuthReject,
 * OnAuthThrottle, OnDnsError) and BulkSenderDomains. Returns NULL with
 * every bad line as "FILE:LINE: Key: message" in *errors_r (malloc'd;
 * the caller frees it); else *errors_r is NULL.
 */
struct pfl_provider_map *pfl_provider_map_new(
    const struct pfl_config *, char **errors_r);

/* pfl_provider_map_free - free a map; NULLs *mp */
void pfl_provider_map_free(struct pfl_provider_map **mp);

/*
 * pfl_provider_for_domain - recognise a recipient domain: the lists, then
 * the most preferred MX host through dns (cached there per TTL). A DNS
 * failure gives default with the reason in m_r->why: it is no error for
 * delivery. Returns m_r->provider.
 */
enum pfl_provider pfl_provider_for_domain(const struct pfl_provider_map *,
    struct pfl_dns *dns, const char *rcpt_domain,
    struct pfl_provider_match *m_r);

/*
 * The MX seam: lookup(ctx, domain) returns the MX answer for domain
 * (never NULL); it is freed with pfl_dns_answer_free.
 */
typedef struct pfl_dns_answer *(*pfl_provider_mx_fn)(
    void *ctx, const char *domain);

/* pfl_provider_for_domain_with - the same, asking lookup for MX records */
enum pfl_provider pfl_provider_for_domain_with(const struct pfl_provider_map *,
    pfl_provider_mx_fn lookup, void *ctx, const char *rcpt_domain,
    struct pfl_provider_match *m_r);

/*
 * pfl_provider_bulk - is from_domain a bulk sender: equal to or below a
 * BulkSenderDomains entry?
 */
bool pfl_provider_bulk(
    const struct pfl_provider_map *, const char *from_domain);

/* pfl_provider_rules - the requirement bits for a provider and class */
unsigned pfl_provider_rules(
    const struct pfl_provider_map *, enum pfl_provider, enum pfl_rule_class);

/*
 * pfl_provider_judge - what the receiver of rcpt would do with a message
 * authenticated as in auth: fills ONE finding (check "auth"): outcome,
 * configured action, predicted reply ("550 5.7.26"), our reply (451/4.x.y
 * unless the action is reject: 550/5.x.y), a reason such as "gmail.com
 * would refuse this (550 5.7.26): SPF for 203.0.113.5 fails (-all) and no
 * DKIM signature", and fix. When nothing is missing: deliver, accept.
 */
void pfl_provider_judge(const struct pfl_provider_map *,
    const struct pfl_provider_match *rcpt, const struct pfl_auth *auth,
    struct pfl_finding *f_r);

/* pfl_provider_name - "google", "yahoo", "microsoft", "apple", "default" */
const char *pfl_provider_name(enum pfl_provider);

/* pfl_provider_parse - the provider of a name; -1 when unknown */
int pfl_provider_parse(const char *name);

/* pfl_provider_via_name - "list", "mx", "default" */
const char *pfl_provider_via_name(enum pfl_provider_via);

/* pfl_rule_class_name - "all", "bulk", "tenant" */
const char *pfl_rule_class_name(enum pfl_rule_class);

/* pfl_requirement_name - "spf_pass", ... for one bit; NULL for none */
const char *pfl_requirement_name(unsigned req);

/* pfl_requirement_parse - the bit of a name; 0 when unknown */
unsigned pfl_requirement_parse(const char *name);

/* --- building a struct pfl_auth from the checks (pure) -------------------- */

/*
 * pfl_auth_init - nothing known yet: no SPF, no DKIM, DMARC none; the
 * domains are copied (NULL is ""), lower-cased.
 */
void pfl_auth_init(struct pfl_auth *a_r, const char *from_domain,
    const char *envelope_domain, bool bulk);

/*
 * pfl_auth_add_spf - fold in the SPF result for egress address ip; the
 * worst result is kept (fail, permerror, softfail, temperror, neutral,
 * none, pass: from worst to best). A suspicious record stays flagged.
 */
void pfl_auth_add_spf(
    struct pfl_auth *, const char *ip, const struct pfl_spf_result *);

/* pfl_auth_add_dkim_sigs - the verified signatures of the message */
void pfl_auth_add_dkim_sigs(
    struct pfl_auth *, const struct pfl_dkim_sig *sigs, size_t n);

/* pfl_auth_add_dkim_prediction - the signature the signer will add */
void pfl_auth_add_dkim_prediction(
    struct pfl_auth *, const struct pfl_dkim_prediction *);

/* pfl_auth_set_dmarc - the DMARC result of the From: domain */
void pfl_auth_set_dmarc(struct pfl_auth *, const struct pfl_dmarc_result *);

#endif
