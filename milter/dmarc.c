/*
 * NAME
 *	dmarc - DMARC evaluation as the receiver does it
 * DESCRIPTION
 *	The steps of RFC 9989 section 5.3 for one message:
 *
 *	1. Policy discovery (4.10.1): the record at _dmarc.<From domain>,
 *	   else the tree walk's Organizational Domain, else its Public
 *	   Suffix Domain (a psd=y record).
 *	2. Identifier alignment (4.10.2): strict compares names; relaxed
 *	   compares Organizational Domains, each found by its own walk.
 *	3. Pass if an aligned identifier passed (5.3.5), else the policy:
 *	   p at the From: domain itself, sp for an existing subdomain, np
 *	   for a non-existent one (NXDOMAIN, 3.2.13), lowered one level by
 *	   t=y (4.7) and, for receivers still reading it, pct=0.
 *
 *	A lookup that fails leaves the result open (5.3.6): temperror,
 *	unless an identifier already aligned and passed. The walks only ask
 *	what the answer needs: none for strict alignment or an identifier
 *	equal to the From: domain, and none for an identifier outside the
 *	From: domain's Organizational Domain (its own Organizational Domain
 *	lies on its path to the root, so the two cannot be equal).
 *
 *	The RFC 7489 view (psl_view) runs libopendmarc's store-only flow:
 *	we fetch the record ourselves and hand it over, canonicalized
 *	(pfl_dmarc_record_canon) so rf=iodef cannot corrupt aspf; the From:
 *	domain goes in as store_dmarc's domain argument (that argument
 *	replaces the From: domain) and the Organizational Domain only when
 *	the record came from there (that is what makes sp= apply); pct is
 *	applied by us. Its alignment still goes wrong where the list has no
 *	rule for a name (opendmarc_get_tld answers nothing without the
 *	implicit "*" rule), in strict mode for a subdomain of an org-level
 *	From: domain (it compares the identifier's Organizational Domain),
 *	and for a one-letter first label (opendmarc_reverse_domain drops
 *	it, so a.example.com and b.example.com look the same); so we compute
 *	the view ourselves too, ours is the one reported, and lib_differs
 *	says when libopendmarc disagreed.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendmarc/dmarc.h>

#include "dmarc.h"
#include "dns.h"
#include "util.h"

#define MEMO_MAX 24 /* lookups remembered per evaluation */
#define DKIM_MAX 8  /* signatures considered (each may cost a walk) */

/* One _dmarc lookup, remembered so every step sees the same answer. */
struct memo {
	char name[PFL_DOMAIN_SIZE];
	enum pfl_dns_status status; /* OK, NOTFOUND or TEMPFAIL */
	struct pfl_dmarc_record rec;
};

/* How far an identifier aligns. */
enum align { AL_NO, AL_YES, AL_UNKNOWN };

/* Everything one evaluation knows. */
struct eval {
	const struct pfl_dmarc_resolver *res;
	char from[PFL_DOMAIN_SIZE];
	char spf[PFL_DOMAIN_SIZE]; /* "" when none */
	enum pfl_dmarc_spf spf_res;
	char dkim[DKIM_MAX][PFL_DOMAIN_SIZE];
	size_t ndkim;
	struct memo memo[MEMO_MAX];
	size_t nmemo;
	char failure[PFL_DOMAIN_SIZE + 160]; /* the first failed lookup */
	struct pfl_orgdomain_walk walk;      /* the From: domain's */
	struct pfl_dmarc_record rec;         /* the policy record */
	bool at_author;                      /* found at the From: domain */
	bool unknown;                        /* an alignment is open */
};

/* --- names and small helpers ---------------------------------------------- */

/* pfl_dmarc_result_name - the result as in Authentication-Results */
const char *
pfl_dmarc_result_name(enum pfl_dmarc_res r)
{
	static const char *const names[] = { "none", "pass", "fail",
		"temperror", "permerror" };

	return (unsigned)r < 5 ? names[r] : "unknown";
}

/* pfl_dmarc_policy_name - "none", "quarantine", "reject" */
const char *
pfl_dmarc_policy_name(enum pfl_dmarc_policy p)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return (unsigned)p < 3 ? names[p] : "unknown";
}

/* vwhy - append a clause to r->why ("; " between clauses) */
static void
vwhy(struct pfl_dmarc_result *r, const char *fmt, va_list ap)
{
	size_t len = strlen(r->why);

	if (len > 0 && len + 2 < sizeof(r->why)) {
		memcpy(r->why + len, "; ", 3);
		len += 2;
	}
	if (len + 1 < sizeof(r->why))
		vsnprintf(r->why + len, sizeof(r->why) - len, fmt, ap);
}

/* why - append a clause to r->why */
static void __attribute__((format(printf, 2, 3)))
why(struct pfl_dmarc_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwhy(r, fmt, ap);
	va_end(ap);
}

/* settle - the result is known before the end: set it, say why; -1 */
static int __attribute__((format(printf, 3, 4)))
settle(struct pfl_dmarc_result *r, enum pfl_dmarc_res res, const char *fmt, ...)
{
	va_list ap;

	r->result = res;
	va_start(ap, fmt);
	vwhy(r, fmt, ap);
	va_end(ap);
	return -1;
}

/* pfl_dmarc_aligned - strict: same name; relaxed: same org domain */
bool
pfl_dmarc_aligned(char mode, const char *from, const char *from_org,
    const char *id, const char *id_org)
{
	if (strcasecmp(from, id) == 0)
		return true;
	return mode != 's' && strcasecmp(from_org, id_org) == 0;
}

/* pfl_dmarc_policy_pick - p, sp or np (RFC 9989 section 4.10.1) */
enum pfl_dmarc_policy
pfl_dmarc_policy_pick(const struct pfl_dmarc_record *rec, bool at_author,
    bool from_exists, bool rfc7489, const char **tag_r)
{
	const char *tag = "p";
	enum pfl_dmarc_policy p = rec->p;

	if (!at_author && !from_exists && !rfc7489 &&
	    rec->np_state == PFL_DMARC_TAG_VALID) {
		tag = "np";
		p = rec->np;
	} else if (!at_author && rec->sp_state == PFL_DMARC_TAG_VALID) {
		tag = "sp";
		p = rec->sp;
	}
	if (tag_r)
		*tag_r = tag;
	return p;
}

/* pfl_dmarc_policy_soften - one level below: reject, quarantine, none */
enum pfl_dmarc_policy
pfl_dmarc_policy_soften(enum pfl_dmarc_policy p)
{
	return p == PFL_DMARC_P_REJECT ? PFL_DMARC_P_QUARANTINE
				       : PFL_DMARC_P_NONE;
}

/* --- DNS -------------------------------------------------------------------- */

/* note_failure - remember the first failed lookup for why */
static void
note_failure(struct eval *e, const char *name, const struct pfl_dns_answer *a)
{
	if (e->failure[0] == '\0')
		snprintf(e->failure, sizeof(e->failure), "%s: %s", name,
		    a->why[0] ? a->why : pfl_dns_status_name(a->status));
}

/* fetch - ask _dmarc.<name> and keep the one DMARC record in m */
static void
fetch(struct eval *e, const char *name, struct memo *m)
{
	char q[PFL_DOMAIN_SIZE + 8];
	struct pfl_dns_answer *a;
	int i;

	m->status = PFL_DNS_NOTFOUND;
	/* a name too long to ask publishes nothing */
	if ((size_t)snprintf(q, sizeof(q), "_dmarc.%s", name) > 253)
		return;
	a = e->res->query(e->res->ctx, q, PFL_DNS_T_TXT);
	if (a->status == PFL_DNS_TEMPFAIL) {
		m->status = PFL_DNS_TEMPFAIL;
		note_failure(e, q, a);
	} else if (a->status == PFL_DNS_OK &&
	    (i = pfl_dmarc_record_select(
		 (const char *const *)a->txt, a->txt_len, a->count)) >= 0 &&
	    pfl_dmarc_record_parse(a->txt[i], a->txt_len[i], &m->rec) == 0)
		m->status = PFL_DNS_OK;
	e->res->answer_free(e->res->ctx, a);
}

/* lookup - the DMARC record at name (remembered); its status */
static enum pfl_dns_status
lookup(struct eval *e, const char *name, struct pfl_dmarc_record *rec_r)
{
	struct memo scratch, *m = &scratch;
	size_t i;

	for (i = 0; i < e->nmemo; i++)
		if (strcmp(e->memo[i].name, name) == 0) {
			m = &e->memo[i];
			goto done;
		}
	if (e->nmemo < MEMO_MAX)
		m = &e->memo[e->nmemo++];
	pfl_strlcpy(m->name, name, sizeof(m->name));
	fetch(e, name, m);
done:
	if (rec_r && m->status == PFL_DNS_OK)
		*rec_r = m->rec;
	return m->status;
}

/* ask - the tree walk's question: what does _dmarc.<name> publish? */
static enum pfl_orgdomain_seen
ask(void *ctx, const char *name)
{
	struct pfl_dmarc_record rec;

	switch (lookup(ctx, name, &rec)) {
	case PFL_DNS_OK:
		return rec.psd == 'y' ? PFL_SEEN_PSD_Y
		    : rec.psd == 'n'  ? PFL_SEEN_PSD_N
				      : PFL_SEEN_RECORD;
	case PFL_DNS_TEMPFAIL:
		return PFL_SEEN_FAILED;
	default:
		return PFL_SEEN_NONE;
	}
}

/* exists - does the From: domain exist (not NXDOMAIN)? TEMPFAIL: -1 */
static int
exists(struct eval *e)
{
	struct pfl_dns_answer *a =
	    e->res->query(e->res->ctx, e->from, PFL_DNS_T_A);
	int rc = 1;

	if (a->status == PFL_DNS_TEMPFAIL) {
		note_failure(e, e->from, a);
		rc = -1;
	} else if (a->status == PFL_DNS_NOTFOUND && a->nxdomain)
		rc = 0;
	e->res->answer_free(e->res->ctx, a);
	return rc;
}

/* --- the steps ------------------------------------------------------------ */

/* prepare - normalize the inputs; -1 when the From: domain is unusable */
static int
prepare(struct eval *e, const char *from, const char *spf,
    enum pfl_dmarc_spf spf_res, const char *const *dkim, size_t n)
{
	size_t i;

	if (pfl_orgdomain_normalize(from, e->from, sizeof(e->from)) != 0)
		return -1;
	if (spf && pfl_orgdomain_normalize(spf, e->spf, sizeof(e->spf)) != 0)
		e->spf[0] = '\0';
	e->spf_res = spf_res;
	for (i = 0; i < n && e->ndkim < DKIM_MAX; i++)
		if (dkim[i] &&
		    pfl_orgdomain_normalize(
			dkim[i], e->dkim[e->ndkim], PFL_DOMAIN_SIZE) == 0)
			e->ndkim++;
	return 0;
}

/* policy_record - the record for a From: domain without one (4.10.1) */
static enum pfl_dns_status
policy_record(struct eval *e, const char **where_r)
{
	enum pfl_dns_status st;

	/* the Organizational Domain's record, else the PSD's (psd=y) */
	*where_r = e->walk.org;
	if ((st = lookup(e, e->walk.org, &e->rec)) != PFL_DNS_NOTFOUND ||
	    e->walk.psd < 0)
		return st;
	*where_r = e->walk.name[e->walk.psd];
	return lookup(e, *where_r, &e->rec);
}

/* discover - find the policy record; -1 when the result is already known */
static int
discover(struct eval *e, struct pfl_dmarc_result *r)
{
	enum pfl_dns_status st = lookup(e, e->from, &e->rec);
	const char *where = e->from;

	if (st == PFL_DNS_TEMPFAIL)
		return settle(r, PFL_DMARC_TEMPERROR, "DNS: %s", e->failure);
	e->at_author = st == PFL_DNS_OK;
	pfl_orgdomain_walk(e->from, ask, e, &e->walk);
	if (!e->walk.failed)
		pfl_strlcpy(r->org_domain_walk, e->walk.org, PFL_DOMAIN_SIZE);
	if (!e->at_author) {
		if (e->walk.failed)
			return settle(
			    r, PFL_DMARC_TEMPERROR, "DNS: %s", e->failure);
		if (e->walk.record >= 0)
			st = policy_record(e, &where);
		if (st == PFL_DNS_TEMPFAIL)
			return settle(
			    r, PFL_DMARC_TEMPERROR, "DNS: %s", e->failure);
		if (st != PFL_DNS_OK)
			return settle(r, PFL_DMARC_NONE,
			    "no DMARC record for %s or above it", e->from);
	}
	r->record_found = true;
	pfl_strlcpy(r->record_domain, where, PFL_DOMAIN_SIZE);
	if (!pfl_dmarc_record_usable(&e->rec))
		return settle(r, PFL_DMARC_PERMERROR,
		    "record at _dmarc.%s: invalid p, sp or np and no rua",
		    where);
	return 0;
}

/* align_one - does id align with the From: domain in mode? */
static enum align
align_one(struct eval *e, char mode, const char *id)
{
	struct pfl_orgdomain_walk w;

	if (strcmp(id, e->from) == 0)
		return AL_YES;
	if (mode == 's')
		return AL_NO;
	if (e->walk.failed)
		return AL_UNKNOWN;
	/* its org domain lies on its own path: outside ours, no match */
	if (!pfl_orgdomain_is_under(id, e->walk.org))
		return AL_NO;
	pfl_orgdomain_walk(id, ask, e, &w);
	if (w.failed)
		return AL_UNKNOWN;
	return strcmp(w.org, e->walk.org) == 0 ? AL_YES : AL_NO;
}

/* align - which passing identifiers align (5.3.4) */
static void
align(struct eval *e, struct pfl_dmarc_result *r)
{
	enum align a;
	size_t i;

	if (e->spf[0] &&
	    (e->spf_res == PFL_DMARC_SPF_PASS ||
		e->spf_res == PFL_DMARC_SPF_TEMPERROR)) {
		a = align_one(e, e->rec.aspf, e->spf);
		r->spf_aligned =
		    a == AL_YES && e->spf_res == PFL_DMARC_SPF_PASS;
		/* an SPF temperror for an aligned domain might have passed */
		if (!r->spf_aligned && a != AL_NO)
			e->unknown = true;
	}
	for (i = 0; i < e->ndkim && !r->dkim_aligned; i++) {
		a = align_one(e, e->rec.adkim, e->dkim[i]);
		if (a == AL_UNKNOWN)
			e->unknown = true;
		if (a == AL_YES) {
			r->dkim_aligned = true;
			pfl_strlcpy(
			    r->dkim_domain, e->dkim[i], PFL_DOMAIN_SIZE);
		}
	}
}

/* explain_pass - why for a pass */
static void
explain_pass(struct eval *e, struct pfl_dmarc_result *r)
{
	if (r->dkim_aligned)
		why(r, "dkim d=%s aligned (%s)", r->dkim_domain,
		    e->rec.adkim == 's' ? "strict" : "relaxed");
	if (r->spf_aligned)
		why(r, "spf %s aligned (%s)", e->spf,
		    e->rec.aspf == 's' ? "strict" : "relaxed");
}

/* np_matters - would np= give another policy than sp= (or p=)? */
static bool
np_matters(const struct eval *e)
{
	return !e->at_author && e->rec.np_state == PFL_DMARC_TAG_VALID &&
	    e->rec.np !=
	    pfl_dmarc_policy_pick(&e->rec, false, true, false, NULL);
}

/*
 * decide - pass, fail with a policy, or temperror (5.3.5, 5.3.6). For a
 * pass the published policy is the one for an existing name: whether
 * the From: domain exists is only asked when the message fails.
 */
static void
decide(struct eval *e, struct pfl_dmarc_result *r)
{
	int ex = 1;

	if (r->spf_aligned || r->dkim_aligned) {
		r->result = PFL_DMARC_PASS;
		r->published = pfl_dmarc_policy_pick(
		    &e->rec, e->at_author, true, false, &r->policy_tag);
		explain_pass(e, r);
		return;
	}
	if (!e->unknown && np_matters(e))
		ex = exists(e);
	if (e->unknown || ex < 0) {
		settle(r, PFL_DMARC_TEMPERROR, "%s%s",
		    e->failure[0] ? "DNS: " : "spf temperror", e->failure);
		return;
	}
	r->from_exists = ex != 0;
	r->published = pfl_dmarc_policy_pick(
	    &e->rec, e->at_author, r->from_exists, false, &r->policy_tag);
	r->result = PFL_DMARC_FAIL;
	r->applied = r->published;
	if (e->rec.testing || e->rec.pct == 0)
		r->applied = pfl_dmarc_policy_soften(r->published);
	why(r, "no aligned identifier passed; %s=%s at %s%s", r->policy_tag,
	    pfl_dmarc_policy_name(r->published), r->record_domain,
	    e->rec.testing        ? " (t=y)"
		: e->rec.pct == 0 ? " (pct=0)"
				  : "");
}

/* --- the RFC 7489 view and libopendmarc ------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool lib_ready;

/* lib_init - libopendmarc's one-time setup, with the list loaded */
static void
lib_init(void)
{
	OPENDMARC_LIB_T lib;

	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	pfl_strlcpy((char *)lib.tld_source_file, PFL_PSL_PATH,
	    sizeof(lib.tld_source_file));
	lib_ready = opendmarc_policy_library_init(&lib) == DMARC_PARSE_OKAY;
}

/* lib_spf - our SPF result as libopendmarc's outcome */
static int
lib_spf(enum pfl_dmarc_spf s)
{
	switch (s) {
	case PFL_DMARC_SPF_PASS:
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case PFL_DMARC_SPF_FAIL:
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case PFL_DMARC_SPF_TEMPERROR:
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:
		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

/*
 * lib_verdict - libopendmarc's store-only flow on what we fetched: -1
 * for pass, else the policy it would enforce; -2 when it has no answer.
 * org is the Organizational Domain when the record was found there.
 */
static int
lib_verdict(
    const struct eval *e, const struct pfl_dmarc_record *rec, const char *org)
{
	DMARC_POLICY_T *p;
	char canon[128];
	size_t i;
	int ret;

	pthread_once(&lib_once, lib_init);
	if (!lib_ready ||
	    (p = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0)) ==
		NULL)
		return -2;
	pfl_dmarc_record_canon(rec, canon, sizeof(canon));
	opendmarc_policy_store_from_domain(p, (u_char *)e->from);
	opendmarc_policy_store_dmarc(
	    p, (u_char *)canon, (u_char *)e->from, (u_char *)org);
	if (e->spf[0])
		opendmarc_policy_store_spf(p, (u_char *)e->spf,
		    lib_spf(e->spf_res), DMARC_POLICY_SPF_ORIGIN_MAILFROM,
		    NULL);
	for (i = 0; i < e->ndkim; i++)
		opendmarc_policy_store_dkim(p, (u_char *)e->dkim[i],
		    (u_char *)"", DMARC_POLICY_DKIM_OUTCOME_PASS, NULL);
	ret = opendmarc_get_policy_to_enforce(p);
	opendmarc_policy_connect_shutdown(p);
	switch (ret) {
	case DMARC_POLICY_PASS:
		return -1;
	case DMARC_POLICY_REJECT:
		return PFL_DMARC_P_REJECT;
	case DMARC_POLICY_QUARANTINE:
		return PFL_DMARC_P_QUARANTINE;
	case DMARC_POLICY_NONE:
		return PFL_DMARC_P_NONE;
	default:
		return -2;
	}
}

/* psl_aligned - does id align with the From: domain by the list? */
static bool
psl_aligned(
    const struct pfl_psl *psl, const struct eval *e, char mode, const char *id)
{
	return pfl_dmarc_aligned(mode, e->from, pfl_orgdomain_psl(psl, e->from),
	    id, pfl_orgdomain_psl(psl, id));
}

/* psl_outcome - pass or fail in the RFC 7489 view, and the policy */
static void
psl_outcome(const struct pfl_psl *psl, struct eval *e,
    const struct pfl_dmarc_record *rec, bool at_author,
    struct pfl_dmarc_result *r)
{
	enum pfl_dmarc_policy p;
	bool pass = false, maybe = false;
	size_t i;
	int lib;

	if (e->spf[0] && psl_aligned(psl, e, rec->aspf, e->spf)) {
		pass = e->spf_res == PFL_DMARC_SPF_PASS;
		maybe = e->spf_res == PFL_DMARC_SPF_TEMPERROR;
	}
	for (i = 0; i < e->ndkim && !pass; i++)
		pass = psl_aligned(psl, e, rec->adkim, e->dkim[i]);
	/* RFC 7489 has no np= and no t=; pct=0 spares every message */
	p = pfl_dmarc_policy_pick(rec, at_author, true, true, NULL);
	r->psl_result = pass ? PFL_DMARC_PASS
	    : maybe          ? PFL_DMARC_TEMPERROR
			     : PFL_DMARC_FAIL;
	if (r->psl_result == PFL_DMARC_FAIL)
		r->psl_applied = rec->pct == 0 ? pfl_dmarc_policy_soften(p) : p;
	/* the same question to libopendmarc: it must agree with us */
	lib = lib_verdict(
	    e, rec, at_author ? NULL : pfl_orgdomain_psl(psl, e->from));
	if (lib == -2 || (pass ? lib != -1 : lib != (int)p)) {
		r->lib_differs = true;
		why(r, "libopendmarc says %s, overruled",
		    lib == -1 ? "pass"
			: lib >= 0
			? pfl_dmarc_policy_name((enum pfl_dmarc_policy)lib)
			: "nothing");
	}
}

/* psl_view - the RFC 7489 view: PSL org domain, policy and result */
static void
psl_view(struct eval *e, struct pfl_dmarc_result *r)
{
	const struct pfl_psl *psl = pfl_psl_default();
	struct pfl_dmarc_record rec;
	enum pfl_dns_status st;
	const char *org, *where;

	if (psl == NULL) {
		r->psl_result = PFL_DMARC_PERMERROR;
		why(r, "no public suffix list at %s", PFL_PSL_PATH);
		return;
	}
	org = pfl_orgdomain_psl(psl, e->from);
	pfl_strlcpy(r->org_domain_psl, org, PFL_DOMAIN_SIZE);
	if (r->org_domain_walk[0] && strcmp(org, r->org_domain_walk) != 0) {
		r->org_differs = true;
		why(r,
		    "org domain %s by tree walk, %s by PSL: the walk decided",
		    r->org_domain_walk, org);
	}
	/* RFC 7489 section 6.6.3: the From: domain, then its org domain */
	st = lookup(e, where = e->from, &rec);
	if (st == PFL_DNS_NOTFOUND && org != e->from)
		st = lookup(e, where = org, &rec);
	if (st == PFL_DNS_TEMPFAIL)
		r->psl_result = PFL_DMARC_TEMPERROR;
	else if (st != PFL_DNS_OK)
		r->psl_result = PFL_DMARC_NONE;
	else if (!pfl_dmarc_record_usable(&rec) ||
	    (rec.p_state == PFL_DMARC_TAG_ABSENT && !rec.has_rua))
		r->psl_result = PFL_DMARC_PERMERROR;
	else
		psl_outcome(psl, e, &rec, where == e->from, r);
}

/* --- entry points ----------------------------------------------------------- */

/* result_init - an empty result with the record defaults */
static void
result_init(struct pfl_dmarc_result *r)
{
	memset(r, 0, sizeof(*r));
	r->policy_tag = "";
	r->adkim = r->aspf = 'r';
	r->pct = 100;
	r->from_exists = true;
}

/* pfl_dmarc_check_resolver - evaluate DMARC, asking DNS through res */
enum pfl_dmarc_res
pfl_dmarc_check_resolver(const struct pfl_dmarc_resolver *res, const char *from,
    const char *spf_domain, enum pfl_dmarc_spf spf,
    const char *const *dkim_pass, size_t n, struct pfl_dmarc_result *r)
{
	struct eval *e = pfl_xcalloc(1, sizeof(*e));

	result_init(r);
	e->res = res;
	if (prepare(e, from, spf_domain, spf, dkim_pass, n) != 0) {
		r->psl_result = PFL_DMARC_PERMERROR;
		settle(
		    r, PFL_DMARC_PERMERROR, "From: domain is no domain name");
	} else {
		if (discover(e, r) == 0) {
			r->adkim = e->rec.adkim;
			r->aspf = e->rec.aspf;
			r->pct = e->rec.pct;
			r->testing = e->rec.testing;
			align(e, r);
			decide(e, r);
		} else if (r->result == PFL_DMARC_NONE) {
			/*
			 * No policy, but receivers still ask whether From:
			 * aligns (Gmail's bulk 4.7.32): relaxed, the default.
			 */
			e->rec.adkim = e->rec.aspf = 'r';
			align(e, r);
		}
		psl_view(e, r);
	}
	pfl_printable(r->why, sizeof(r->why), r->why, NULL);
	free(e);
	return r->result;
}

/* dns_query - pfl_dns_query as a resolver callback */
static struct pfl_dns_answer *
dns_query(void *ctx, const char *name, int rrtype)
{
	return pfl_dns_query(ctx, name, rrtype);
}

/* dns_free - pfl_dns_answer_free as a resolver callback */
static void
dns_free(void *ctx, struct pfl_dns_answer *a)
{
	pfl_dns_answer_free(&a);
}

/* pfl_dmarc_check - evaluate DMARC through our resolver */
enum pfl_dmarc_res
pfl_dmarc_check(struct pfl_dns *dns, const char *from, const char *spf_domain,
    enum pfl_dmarc_spf spf, const char *const *dkim_pass, size_t n,
    struct pfl_dmarc_result *r)
{
	struct pfl_dmarc_resolver res = { dns_query, dns_free, dns };

	return pfl_dmarc_check_resolver(
	    &res, from, spf_domain, spf, dkim_pass, n, r);
}
