/*
 * NAME
 *	spf - RFC 7208 check_host() over the whole include/redirect tree
 * DESCRIPTION
 *	One struct eval lives for one pfl_spf_check call and carries what
 *	RFC 7208 counts across the whole evaluation: DNS-querying terms and
 *	void lookups. check_host() fetches and parses a record (any syntax
 *	error anywhere is permerror before anything is evaluated), then
 *	evaluates its directives in order; include and redirect recurse
 *	with the same counters, so a loop ends at the term limit. The
 *	mechanisms that touch DNS live in spf_mech.c.
 *
 *	Results other than a match carry their reason in r->reason; errors
 *	keep the reason of the place they happened. Reasons and
 *	explanations may carry text from DNS and the sender: make them
 *	printable before logging them.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "spf.h"
#include "spf_eval.h"
#include "util.h"

#define MAX_DEPTH 32 /* unreachable: the term limit ends recursion first */

/* pfl_spf_code_name - the RFC 7208 result name */
const char *
pfl_spf_code_name(enum pfl_spf_code c)
{
	static const char *names[] = { "none", "neutral", "pass", "fail",
		"softfail", "temperror", "permerror" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c]
							      : "unknown";
}

/* set_error - record the code and the reason of an error */
static void
set_error(struct eval *e, enum pfl_spf_code code, const char *fmt, va_list ap)
{
	e->code = code;
	vsnprintf(e->r->reason, sizeof(e->r->reason), fmt, ap);
}

/* pfl_spf_eval_error - end the evaluation with code and a reason */
int
pfl_spf_eval_error(struct eval *e, enum pfl_spf_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(e, code, fmt, ap);
	va_end(ap);
	return T_ERROR;
}

/* failed - the same, for callers that return a result code */
static enum pfl_spf_code __attribute__((format(printf, 3, 4)))
failed(struct eval *e, enum pfl_spf_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(e, code, fmt, ap);
	va_end(ap);
	return code;
}

/* suspect - note the first suspicious entry */
static void
suspect(struct eval *e, const char *what, const char *domain)
{
	if (e->r->suspicious)
		return;
	e->r->suspicious = true;
	snprintf(e->r->suspicious_why, sizeof(e->r->suspicious_why),
	    "%s in the record of %s", what, domain);
}

/* note_suspicious - what Gmail's 5.7.24 would object to (see spf.h) */
static void
note_suspicious(
    struct eval *e, const struct pfl_spf_record *rec, const char *domain)
{
	const struct pfl_spf_term *t;
	size_t i;

	for (i = 0; i < rec->count; i++) {
		t = &rec->terms[i];
		if (t->mech == PFL_SPF_M_ALL && t->qualifier == '+')
			suspect(e, "+all", domain);
		else if ((t->mech == PFL_SPF_M_IP4 || t->mech == PFL_SPF_M_A ||
			     t->mech == PFL_SPF_M_MX) &&
		    t->cidr4 < PFL_SPF_WIDE_IP4)
			suspect(e, "an IPv4 range wider than /8", domain);
		else if ((t->mech == PFL_SPF_M_IP6 || t->mech == PFL_SPF_M_A ||
			     t->mech == PFL_SPF_M_MX) &&
		    t->cidr6 < PFL_SPF_WIDE_IP6)
			suspect(e, "an IPv6 range wider than /16", domain);
	}
	if (rec->count == 1 && rec->terms[0].mech == PFL_SPF_M_ALL &&
	    rec->terms[0].qualifier == '?' && rec->redirect == NULL)
		suspect(e, "a bare ?all", domain);
}

/* pfl_spf_domain_ok - a name check_host() can work with (RFC 7208 4.3):
 * no domain literal, labels of 1..63 bytes, at least two of them */
bool
pfl_spf_domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		len--;
	return d[0] != '[' && pfl_dns_name_ok(d) && memchr(d, '.', len);
}

/* now_ms - the monotonic clock in milliseconds */
static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* pfl_spf_eval_ask - one DNS query through the lookup seam, while the
 * evaluation still has time */
struct pfl_dns_answer *
pfl_spf_eval_ask(struct eval *e, const char *name, int rrtype)
{
	struct pfl_dns_answer *a;

	if (now_ms() > e->deadline_ms) {
		a = pfl_dns_answer_new(rrtype, PFL_DNS_TEMPFAIL);
		snprintf(a->why, sizeof(a->why), "SPF time limit reached");
		return a;
	}
	a = e->lookup(e->arg, name, rrtype);
	return a ? a : pfl_dns_answer_new(rrtype, PFL_DNS_TEMPFAIL);
}

/* fetch - the one SPF record of domain, parsed; PASS when found */
static enum pfl_spf_code
fetch(struct eval *e, const char *domain, struct pfl_spf_record **rec_r)
{
	struct pfl_dns_answer *a = pfl_spf_eval_ask(e, domain, PFL_DNS_T_TXT);
	enum pfl_spf_code code = PFL_SPF_PASS;
	char err[128];
	size_t i, found = SIZE_MAX;

	if (a->status == PFL_DNS_TEMPFAIL) {
		code = failed(
		    e, PFL_SPF_TEMPERROR, "DNS TXT %s: %s", domain, a->why);
		goto out;
	}
	for (i = 0; a->status == PFL_DNS_OK && i < a->count; i++) {
		if (!pfl_spf_record_is_spf(a->txt[i], a->txt_len[i]))
			continue;
		if (found != SIZE_MAX) {
			code = failed(e, PFL_SPF_PERMERROR,
			    "more than one SPF record at %s", domain);
			goto out;
		}
		found = i;
	}
	if (found == SIZE_MAX) {
		snprintf(e->r->reason, sizeof(e->r->reason),
		    "no SPF record at %s", domain);
		code = PFL_SPF_NONE;
		goto out;
	}
	for (i = 0; i < a->txt_len[found]; i++)
		if ((unsigned char)a->txt[found][i] < 0x20 ||
		    (unsigned char)a->txt[found][i] > 0x7e) {
			code = failed(e, PFL_SPF_PERMERROR,
			    "the SPF record of %s is not printable ASCII",
			    domain);
			goto out;
		}
	if (pfl_spf_record_parse(
		a->txt[found], a->txt_len[found], rec_r, err, sizeof(err)) != 0)
		code = failed(
		    e, PFL_SPF_PERMERROR, "SPF record of %s: %s", domain, err);
out:
	pfl_dns_answer_free(&a);
	return code;
}

/* pfl_spf_eval_env - the macro environment for the current domain */
void
pfl_spf_eval_env(
    struct eval *e, const char *domain, struct pfl_spf_macro_env *env)
{
	memset(env, 0, sizeof(*env));
	env->sender = e->sender;
	env->local = e->local;
	env->sender_domain = e->sender_domain;
	env->domain = domain;
	env->helo = e->helo;
	env->ip_text = e->ip_text;
	env->ip = e->ip;
	env->ip_v4 = e->v4;
	env->now = e->now;
	env->validated = pfl_spf_eval_validated;
	env->arg = e;
}

/* pfl_spf_eval_target - a domain-spec expanded and fitted for DNS; 0 with
 * *name_r (NULL when no name is left), or T_ERROR */
int
pfl_spf_eval_target(
    struct eval *e, const char *spec, const char *domain, char **name_r)
{
	struct pfl_spf_macro_env env;
	char err[128], *out;

	*name_r = NULL;
	if (spec == NULL) {
		*name_r = pfl_xstrdup(domain);
		return 0;
	}
	pfl_spf_eval_env(e, domain, &env);
	if (pfl_spf_macro_expand(
		&env, spec, strlen(spec), false, &out, err, sizeof(err)) != 0)
		return pfl_spf_eval_error(
		    e, PFL_SPF_PERMERROR, "%s: %s", spec, err);
	if (pfl_spf_domain_fit(out) == NULL)
		free(out);
	else
		*name_r = out;
	return 0;
}

/* explain - the exp= text for a fail; failures are silently ignored */
static void
explain(struct eval *e, const struct pfl_spf_record *rec, const char *domain)
{
	struct pfl_spf_macro_env env;
	struct pfl_dns_answer *a;
	char err[128], *name, *text;

	if (rec->exp == NULL ||
	    pfl_spf_eval_target(e, rec->exp, domain, &name) != 0 ||
	    name == NULL)
		return;
	a = pfl_spf_eval_ask(e, name, PFL_DNS_T_TXT);
	pfl_spf_eval_env(e, domain, &env);
	if (a->status == PFL_DNS_OK && a->count == 1 &&
	    pfl_spf_macro_expand(&env, a->txt[0], a->txt_len[0], true, &text,
		err, sizeof(err)) == 0) {
		pfl_strlcpy(e->r->explanation, text, sizeof(e->r->explanation));
		free(text);
	}
	pfl_dns_answer_free(&a);
	free(name);
}

/* qualified - the result a matching directive gives */
static enum pfl_spf_code
qualified(char q)
{
	switch (q) {
	case '-':
		return PFL_SPF_FAIL;
	case '~':
		return PFL_SPF_SOFTFAIL;
	case '?':
		return PFL_SPF_NEUTRAL;
	}
	return PFL_SPF_PASS;
}

/* redirect - follow redirect= (no directive matched) */
static enum pfl_spf_code
redirect(struct eval *e, const struct pfl_spf_record *rec, const char *domain,
    int depth, bool top)
{
	enum pfl_spf_code code;
	char *name;

	if (pfl_spf_eval_count_term(e) == T_ERROR ||
	    pfl_spf_eval_target(e, rec->redirect, domain, &name) == T_ERROR)
		return e->code;
	if (name == NULL || !pfl_spf_domain_ok(name)) {
		free(name);
		return failed(e, PFL_SPF_PERMERROR, "redirect=%s: not a domain",
		    rec->redirect);
	}
	code = pfl_spf_eval_check_host(e, name, depth + 1, top);
	if (code == PFL_SPF_NONE)
		code = failed(
		    e, PFL_SPF_PERMERROR, "redirect=%s: no SPF record", name);
	free(name);
	return code;
}

/* matched - the result of a matching directive; at the top, say which */
static enum pfl_spf_code
matched(struct eval *e, const struct pfl_spf_record *rec,
    const struct pfl_spf_term *t, const char *domain, bool top)
{
	enum pfl_spf_code code = qualified(t->qualifier);

	if (top) {
		pfl_strlcpy(e->r->mechanism, t->text, sizeof(e->r->mechanism));
		snprintf(e->r->reason, sizeof(e->r->reason), "matched %s at %s",
		    t->text, domain);
		if (code == PFL_SPF_FAIL)
			explain(e, rec, domain);
	}
	return code;
}

/* unmatched - neutral: nothing matched and there is no redirect */
static enum pfl_spf_code
unmatched(struct eval *e, const char *domain, bool top)
{
	if (top) {
		pfl_strlcpy(
		    e->r->mechanism, "default", sizeof(e->r->mechanism));
		snprintf(e->r->reason, sizeof(e->r->reason),
		    "no term matched at %s", domain);
	}
	return PFL_SPF_NEUTRAL;
}

/* pfl_spf_eval_check_host - RFC 7208 check_host() for one domain */
enum pfl_spf_code
pfl_spf_eval_check_host(struct eval *e, const char *domain, int depth, bool top)
{
	struct pfl_spf_record *rec = NULL;
	enum pfl_spf_code code;
	size_t i;
	int m = T_NOMATCH;

	if (!pfl_spf_domain_ok(domain)) {
		snprintf(e->r->reason, sizeof(e->r->reason),
		    "\"%.200s\" is not a domain SPF can check", domain);
		return PFL_SPF_NONE;
	}
	if (depth > MAX_DEPTH)
		return failed(e, PFL_SPF_PERMERROR, "nested too deep");
	if ((code = fetch(e, domain, &rec)) != PFL_SPF_PASS)
		return code;
	note_suspicious(e, rec, domain);
	for (i = 0; i < rec->count && m == T_NOMATCH; i++)
		m = pfl_spf_eval_term(e, &rec->terms[i], domain, depth);
	if (m == T_ERROR)
		code = e->code;
	else if (m == T_MATCH)
		code = matched(e, rec, &rec->terms[i - 1], domain, top);
	else if (rec->redirect)
		code = redirect(e, rec, domain, depth, top);
	else
		code = unmatched(e, domain, top);
	pfl_spf_record_free(&rec);
	return code;
}

/* set_ip - the client address; IPv4-mapped IPv6 counts as IPv4 */
static bool
set_ip(struct eval *e, const char *ip)
{
	struct in6_addr a6;

	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, e->ip) == 1) {
		e->v4 = true;
	} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
		e->v4 = IN6_IS_ADDR_V4MAPPED(&a6);
		memcpy(e->ip, e->v4 ? a6.s6_addr + 12 : a6.s6_addr,
		    e->v4 ? 4 : 16);
	} else {
		return false;
	}
	inet_ntop(
	    e->v4 ? AF_INET : AF_INET6, e->ip, e->ip_text, sizeof(e->ip_text));
	return true;
}

/* set_identity - sender, local part and domain (null sender: HELO) */
static bool
set_identity(struct eval *e, const char *helo, const char *mail_from)
{
	const char *from = mail_from ? mail_from : "", *at;
	size_t len = strlen(from);

	if (len >= 2 && from[0] == '<' && from[len - 1] == '>') {
		from++;
		len -= 2;
	}
	if (len == 0) {
		if (helo == NULL || *helo == '\0')
			return false;
		e->local = pfl_xstrdup("postmaster");
		e->sender_domain = pfl_xstrdup(helo);
	} else if ((at = memrchr(from, '@', len)) == NULL) {
		e->local = pfl_xstrdup("postmaster");
		e->sender_domain = pfl_xstrndup(from, len);
	} else {
		e->local = at == from ? pfl_xstrdup("postmaster")
				      : pfl_xstrndup(from, (size_t)(at - from));
		e->sender_domain =
		    pfl_xstrndup(at + 1, len - (size_t)(at + 1 - from));
	}
	len = strlen(e->local) + strlen(e->sender_domain) + 2;
	e->sender = pfl_xmalloc(len);
	snprintf(e->sender, len, "%s@%s", e->local, e->sender_domain);
	return true;
}

/* lower_into - a lower-case copy for the result */
static void
lower_into(char *dst, size_t n, const char *src)
{
	size_t i;

	pfl_strlcpy(dst, src, n);
	for (i = 0; dst[i]; i++)
		dst[i] = (char)tolower((unsigned char)dst[i]);
}

/* pfl_spf_check_with - evaluate through any lookup function */
enum pfl_spf_code
pfl_spf_check_with(pfl_spf_lookup_fn lookup, void *arg, unsigned time_limit_ms,
    const char *ip, const char *helo, const char *mail_from,
    struct pfl_spf_result *r)
{
	struct eval e;

	memset(r, 0, sizeof(*r));
	memset(&e, 0, sizeof(e));
	e.lookup = lookup;
	e.arg = arg;
	e.r = r;
	e.helo = helo ? helo : "";
	e.now = time(NULL);
	e.deadline_ms =
	    now_ms() + (time_limit_ms ? time_limit_ms : PFL_SPF_TIME_LIMIT_MS);
	r->code = PFL_SPF_NONE;
	if (!set_ip(&e, ip))
		snprintf(r->reason, sizeof(r->reason), "not an IP address");
	else if (!set_identity(&e, helo, mail_from))
		snprintf(r->reason, sizeof(r->reason), "no sender, no HELO");
	else {
		lower_into(r->domain, sizeof(r->domain), e.sender_domain);
		r->code = pfl_spf_eval_check_host(&e, e.sender_domain, 0, true);
	}
	r->dns_lookups = e.terms;
	r->void_lookups = e.voids;
	free(e.sender);
	free(e.local);
	free(e.sender_domain);
	free(e.pname);
	free(e.pname_for);
	return r->code;
}

/* dns_lookup - the seam's default: our resolver */
static struct pfl_dns_answer *
dns_lookup(void *dns, const char *name, int rrtype)
{
	return pfl_dns_query(dns, name, rrtype);
}

/* pfl_spf_check - evaluate through the resolver */
enum pfl_spf_code
pfl_spf_check(struct pfl_dns *dns, const char *ip, const char *helo,
    const char *mail_from, struct pfl_spf_result *r)
{
	return pfl_spf_check_with(dns_lookup, dns, 0, ip, helo, mail_from, r);
}
