/*
 * NAME
 *	dmarc 3h - DMARC as the receiver evaluates it
 * DESCRIPTION
 *	Given the From: domain, the domain that passed (or did not pass)
 *	SPF and the d= domains of the DKIM signatures that verified,
 *	pfl_dmarc_check finds the policy record the receiver would use,
 *	checks identifier alignment and says what the receiver would do
 *	with the message: pass, or fail with policy none, quarantine or
 *	reject; temperror when DNS trouble leaves it open, permerror for an
 *	unusable record.
 *
 *	Two views are computed. The result follows RFC 9989 (DMARCbis):
 *	policy discovery and Organizational Domains by the DNS tree walk,
 *	np= for non-existent subdomains, t=y. The RFC 7489 view (the Public
 *	Suffix List, no np=, no t=) is what receivers that have not moved on
 *	conclude; it is computed with libopendmarc's store-only flow and
 *	checked against our own evaluation, which wins where libopendmarc
 *	1.4.2 is known to be wrong. When the two views disagree on the
 *	Organizational Domain the result carries both and says that the
 *	tree walk decided.
 *
 *	pct= is gone from RFC 9989 but receivers still read it: pct=0 (like
 *	t=y) lowers the applied policy by one level; 1..99 is reported and
 *	the published policy is predicted (the message may be sampled).
 *
 *	Record parsing, alignment and policy choice are pure functions,
 *	declared here for the tests.
 * OWNERSHIP
 *	Results are value structs owned by the caller. The resolver given
 *	to pfl_dmarc_check is borrowed.
 * THREAD SAFETY
 *	All functions may be called from any thread; libopendmarc and the
 *	Public Suffix List are initialized once, on first use.
 */
#ifndef PFL_DMARC_H
#define PFL_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "orgdomain.h"

struct pfl_dns;
struct pfl_dns_answer;

/* The DMARC result, as in Authentication-Results (RFC 8601). */
enum pfl_dmarc_res {
	PFL_DMARC_NONE,      /* no policy record: DMARC does not apply */
	PFL_DMARC_PASS,      /* an aligned identifier passed */
	PFL_DMARC_FAIL,      /* none did: the policy applies */
	PFL_DMARC_TEMPERROR, /* DNS trouble: the receiver cannot tell yet */
	PFL_DMARC_PERMERROR, /* the record (or From: domain) is unusable */
};

/* A policy; ordered by weight. */
enum pfl_dmarc_policy {
	PFL_DMARC_P_NONE,
	PFL_DMARC_P_QUARANTINE,
	PFL_DMARC_P_REJECT,
};

/* The SPF result for the MAIL FROM domain (only pass aligns). */
enum pfl_dmarc_spf {
	PFL_DMARC_SPF_NONE,      /* none, neutral, or not checked */
	PFL_DMARC_SPF_PASS,      /* pass */
	PFL_DMARC_SPF_FAIL,      /* fail, softfail, permerror */
	PFL_DMARC_SPF_TEMPERROR, /* temperror: might have passed */
};

/* What a receiver concludes for one message. All text is lower case. */
struct pfl_dmarc_result {
	enum pfl_dmarc_res result;       /* the RFC 9989 result */
	enum pfl_dmarc_policy applied;   /* what it does: none unless fail */
	enum pfl_dmarc_policy published; /* what the record asks, before
					    t=y and pct=0 */
	const char *policy_tag;          /* "p", "sp", "np", or "" */
	bool record_found;               /* a policy record applies */
	char record_domain[PFL_DOMAIN_SIZE];   /* where it was found */
	char org_domain_walk[PFL_DOMAIN_SIZE]; /* RFC 9989 tree walk */
	char org_domain_psl[PFL_DOMAIN_SIZE];  /* RFC 7489 PSL */
	bool org_differs;                  /* they differ: the walk decided */
	bool from_exists;                  /* false: From: domain is NXDOMAIN */
	bool spf_aligned, dkim_aligned;    /* an aligned identifier passed */
	char dkim_domain[PFL_DOMAIN_SIZE]; /* the aligned d=, if any */
	char adkim, aspf;                  /* 'r' or 's' */
	unsigned pct;                      /* 0..100 (100 when absent) */
	bool testing;                      /* t=y */
	enum pfl_dmarc_res psl_result;     /* the RFC 7489 view */
	enum pfl_dmarc_policy psl_applied;
	bool lib_differs; /* libopendmarc disagreed; we overruled it */
	char why[256];    /* printable explanation */
};

/*
 * How the DMARC code asks DNS. pfl_dmarc_check uses pfl_dns_query; unit
 * tests pass their own table. query must always return an answer (its
 * status says what happened); answer_free releases it.
 */
struct pfl_dmarc_resolver {
	struct pfl_dns_answer *(*query)(
	    void *ctx, const char *name, int rrtype);
	void (*answer_free)(void *ctx, struct pfl_dns_answer *);
	void *ctx;
};

/*
 * pfl_dmarc_check - evaluate DMARC for a message: from_domain is the
 * RFC5322.From domain, spf_domain the RFC5321.MailFrom domain (may be
 * NULL) and spf its SPF result, dkim_pass[0..n) the d= of the DKIM
 * signatures that verified. Fills r and returns r->result.
 */
enum pfl_dmarc_res pfl_dmarc_check(struct pfl_dns *dns, const char *from_domain,
    const char *spf_domain, enum pfl_dmarc_spf spf,
    const char *const *dkim_pass, size_t n, struct pfl_dmarc_result *r);

/* pfl_dmarc_check_resolver - the same, asking DNS through res */
enum pfl_dmarc_res pfl_dmarc_check_resolver(
    const struct pfl_dmarc_resolver *res, const char *from_domain,
    const char *spf_domain, enum pfl_dmarc_spf spf,
    const char *const *dkim_pass, size_t n, struct pfl_dmarc_result *r);

/* pfl_dmarc_result_name - "none", "pass", "fail", "temperror", "permerror" */
const char *pfl_dmarc_result_name(enum pfl_dmarc_res);

/* pfl_dmarc_policy_name - "none", "quarantine", "reject" */
const char *pfl_dmarc_policy_name(enum pfl_dmarc_policy);

/* --- the pure parts ------------------------------------------------------- */

/* How the record states a policy tag (p, sp, np). */
enum pfl_dmarc_tag_state {
	PFL_DMARC_TAG_ABSENT,
	PFL_DMARC_TAG_VALID,
	PFL_DMARC_TAG_INVALID, /* present with a value that is no policy */
};

/* A parsed DMARC Policy Record (RFC 9989 section 4.7). */
struct pfl_dmarc_record {
	enum pfl_dmarc_policy p, sp, np;
	enum pfl_dmarc_tag_state p_state, sp_state, np_state;
	char adkim, aspf; /* 'r' or 's' (default 'r') */
	char psd;         /* 'y', 'n' or 'u' (default 'u') */
	bool testing;     /* t=y */
	unsigned pct;     /* 0..100, 100 when absent or invalid */
	bool pct_set;     /* a valid pct= was present */
	bool has_rua;     /* rua= holds at least one valid URI */
	unsigned ignored; /* unknown, repeated or malformed tags */
};

/*
 * pfl_dmarc_record_parse - parse a TXT record of len bytes (it need not
 * be NUL-terminated). Returns 0, or -1 when it is no DMARC record: it
 * must start with v=DMARC1. Unknown tags are ignored; a malformed value
 * of adkim, aspf, t, psd or pct falls back to the default; p, sp and np
 * keep their state for pfl_dmarc_record_usable.
 */
int pfl_dmarc_record_parse(
    const char *txt, size_t len, struct pfl_dmarc_record *rec_r);

/*
 * pfl_dmarc_record_select - the one DMARC record among n TXT records
 * (txt[i] of len[i] bytes): its index, -1 when there is none, -2 when
 * there are several (all are then discarded, RFC 9989 section 4.10).
 */
int pfl_dmarc_record_select(
    const char *const *txt, const size_t *len, size_t n);

/*
 * pfl_dmarc_record_usable - RFC 9989 section 4.10.1: a record with an
 * invalid p, sp or np is read as p=none when rua= names a valid URI
 * (rec is rewritten so) and is unusable otherwise (returns false). An
 * absent p= is p=none (section 4.7).
 */
bool pfl_dmarc_record_usable(struct pfl_dmarc_record *rec);

/*
 * pfl_dmarc_record_canon - the record as libopendmarc should see it:
 * only v, p, sp, adkim, aspf and pct, so none of its parser bugs (rf=
 * corrupting aspf, prefix matching of values) can apply. Writes buf
 * (size n).
 */
void pfl_dmarc_record_canon(
    const struct pfl_dmarc_record *rec, char *buf, size_t n);

/*
 * pfl_dmarc_aligned - identifier alignment (RFC 9989 section 3.2.10):
 * mode 's' needs the names equal, 'r' their Organizational Domains.
 */
bool pfl_dmarc_aligned(char mode, const char *from, const char *from_org,
    const char *id, const char *id_org);

/*
 * pfl_dmarc_policy_pick - the policy a record gives (section 4.10.1):
 * p when it was found at the From: domain itself (at_author), otherwise
 * sp for an existing subdomain and np (then sp, then p) for one that
 * does not exist. *tag_r names the tag used. With rfc7489 set, np= is
 * not known (RFC 7489 section 6.6.3).
 */
enum pfl_dmarc_policy pfl_dmarc_policy_pick(const struct pfl_dmarc_record *,
    bool at_author, bool from_exists, bool rfc7489, const char **tag_r);

/* pfl_dmarc_policy_soften - one level below (t=y, pct=0) */
enum pfl_dmarc_policy pfl_dmarc_policy_soften(enum pfl_dmarc_policy);

#endif
