/*
 * NAME
 *	spf_eval 3h - one SPF evaluation in progress (private to spf)
 * DESCRIPTION
 *	spf.c (check_host, records, redirect, exp) and spf_mech.c (the
 *	mechanisms) share this state. Term functions return T_MATCH,
 *	T_NOMATCH or T_ERROR; on T_ERROR e->code and e->r->reason say why.
 */
#ifndef PFL_SPF_EVAL_H
#define PFL_SPF_EVAL_H

#include <stdbool.h>
#include <time.h>

#include "spf.h"
#include "spf_record.h"

enum { T_ERROR = -1, T_NOMATCH = 0, T_MATCH = 1, T_DATA = 2 };

struct eval {
	pfl_spf_lookup_fn lookup;
	void *arg;
	bool v4; /* ip holds 4 bytes, else 16 */
	unsigned char ip[16];
	char ip_text[64];       /* %{c} */
	char *sender;           /* %{s} */
	char *local;            /* %{l} */
	char *sender_domain;    /* %{o} */
	const char *helo;       /* %{h} */
	time_t now;             /* %{t} */
	long long deadline_ms;  /* monotonic; no lookups after it */
	unsigned terms, voids;  /* counted over the whole evaluation */
	enum pfl_spf_code code; /* set with T_ERROR */
	struct pfl_spf_result *r;
	char *pname, *pname_for; /* %{p} and the domain it was made for */
};

/* pfl_spf_eval_error - set e->code and the reason; returns T_ERROR */
int pfl_spf_eval_error(struct eval *, enum pfl_spf_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pfl_spf_eval_ask - a DNS answer through the seam (never NULL) */
struct pfl_dns_answer *pfl_spf_eval_ask(
    struct eval *, const char *name, int rrtype);

/* pfl_spf_eval_count_term - count a DNS-querying term; T_ERROR past 10 */
int pfl_spf_eval_count_term(struct eval *);

/* pfl_spf_eval_target - expand and fit a domain-spec (NULL spec: domain) */
int pfl_spf_eval_target(
    struct eval *, const char *spec, const char *domain, char **name_r);

/* pfl_spf_eval_env - macro values for the current domain */
void pfl_spf_eval_env(
    struct eval *, const char *domain, struct pfl_spf_macro_env *);

/* pfl_spf_eval_validated - %{p}: a validated name of the IP, or NULL */
const char *pfl_spf_eval_validated(void *eval, const char *domain);

/* pfl_spf_eval_term - evaluate one directive */
int pfl_spf_eval_term(
    struct eval *, const struct pfl_spf_term *, const char *domain, int depth);

/* pfl_spf_eval_check_host - check_host() of RFC 7208 */
enum pfl_spf_code pfl_spf_eval_check_host(
    struct eval *, const char *domain, int depth, bool top);

/* pfl_spf_domain_ok - can check_host() work with this domain? */
bool pfl_spf_domain_ok(const char *);

#endif
