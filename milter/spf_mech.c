/*
 * NAME
 *	spf_mech - SPF mechanisms (RFC 7208 section 5) and their limits
 * DESCRIPTION
 *	Every DNS-querying term (include, a, mx, ptr, exists) is counted
 *	before it is evaluated; a term's own lookup that finds nothing
 *	(NXDOMAIN or no data) is a void lookup. Per 4.6.4: more than 10
 *	MX records is permerror, and only the first 10 PTR names are
 *	looked at. A name that cannot be asked (an expansion with an empty
 *	or over-long label) does not match. DNS failure is temperror,
 *	except inside ptr and %{p}, where the name is skipped (5.5).
 */
#include <autoconfig.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_eval.h"
#include "util.h"

/* pfl_spf_eval_count_term - one more DNS-querying term */
int
pfl_spf_eval_count_term(struct eval *e)
{
	if (++e->terms > PFL_SPF_MAX_DNS_TERMS)
		return pfl_spf_eval_error(e, PFL_SPF_PERMERROR,
		    "more than %d DNS-querying terms", PFL_SPF_MAX_DNS_TERMS);
	return T_NOMATCH;
}

/* outcome - T_DATA when the answer has records to look at; else
 * T_NOMATCH (counting a void lookup) or T_ERROR */
static int
outcome(struct eval *e, const struct pfl_dns_answer *a, const char *name)
{
	switch (a->status) {
	case PFL_DNS_OK:
		return T_DATA;
	case PFL_DNS_PERMFAIL:
		return T_NOMATCH;
	case PFL_DNS_NOTFOUND:
		if (++e->voids > PFL_SPF_MAX_VOID)
			return pfl_spf_eval_error(e, PFL_SPF_PERMERROR,
			    "more than %d void lookups (the last: %s)",
			    PFL_SPF_MAX_VOID, name);
		return T_NOMATCH;
	case PFL_DNS_TEMPFAIL:
		break;
	}
	return pfl_spf_eval_error(
	    e, PFL_SPF_TEMPERROR, "DNS %s: %s", name, a->why);
}

/* prefix_eq - do the first bits of a and b agree? */
static bool
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xff00 >> rest);

	return memcmp(a, b, full) == 0 &&
	    (rest == 0 || ((a[full] ^ b[full]) & mask) == 0);
}

/* addr_in - is the client within cidr of one address of the answer? */
static bool
addr_in(const struct eval *e, const struct pfl_dns_answer *a, unsigned cidr4,
    unsigned cidr6)
{
	size_t i;

	for (i = 0; i < a->count; i++) {
		const struct pfl_dns_addr *d = &a->addr[i];

		if (e->v4 && d->family == AF_INET &&
		    prefix_eq(e->ip, (const unsigned char *)&d->a.v4, cidr4))
			return true;
		if (!e->v4 && d->family == AF_INET6 &&
		    prefix_eq(e->ip, d->a.v6.s6_addr, cidr6))
			return true;
	}
	return false;
}

/* addr_type - A for an IPv4 client, AAAA for IPv6 */
static int
addr_type(const struct eval *e)
{
	return e->v4 ? PFL_DNS_T_A : PFL_DNS_T_AAAA;
}

/* mech_a - "a": the client within cidr of an address of name */
static int
mech_a(struct eval *e, const char *name, const struct pfl_spf_term *t)
{
	struct pfl_dns_answer *a = pfl_spf_eval_ask(e, name, addr_type(e));
	int m = outcome(e, a, name);

	if (m == T_DATA)
		m = addr_in(e, a, t->cidr4, t->cidr6) ? T_MATCH : T_NOMATCH;
	pfl_dns_answer_free(&a);
	return m;
}

/* mx_hosts - match the addresses of each exchange */
static int
mx_hosts(struct eval *e, const struct pfl_dns_answer *mx,
    const struct pfl_spf_term *t)
{
	struct pfl_dns_answer *a;
	size_t i;
	int m = T_NOMATCH;

	for (i = 0; i < mx->count && m == T_NOMATCH; i++) {
		if (mx->mx[i].host[0] == '\0') /* null MX (RFC 7505) */
			continue;
		a = pfl_spf_eval_ask(e, mx->mx[i].host, addr_type(e));
		if (a->status == PFL_DNS_TEMPFAIL)
			m = pfl_spf_eval_error(e, PFL_SPF_TEMPERROR,
			    "DNS %s: %s", mx->mx[i].host, a->why);
		else if (a->status == PFL_DNS_OK &&
		    addr_in(e, a, t->cidr4, t->cidr6))
			m = T_MATCH;
		pfl_dns_answer_free(&a);
	}
	return m;
}

/* mech_mx - "mx": the client is one of name's exchanges */
static int
mech_mx(struct eval *e, const char *name, const struct pfl_spf_term *t)
{
	struct pfl_dns_answer *mx = pfl_spf_eval_ask(e, name, PFL_DNS_T_MX);
	int m = outcome(e, mx, name);

	if (m == T_DATA && mx->count > PFL_SPF_MAX_MX)
		m = pfl_spf_eval_error(e, PFL_SPF_PERMERROR,
		    "%s has more than %d MX records", name, PFL_SPF_MAX_MX);
	else if (m == T_DATA)
		m = mx_hosts(e, mx, t);
	pfl_dns_answer_free(&mx);
	return m;
}

/* within - is name the domain or a name under it? (any case) */
static bool
within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n < d || strncasecmp(name + n - d, domain, d) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* validates - does name have the client's address? (errors: no) */
static bool
validates(struct eval *e, const char *name)
{
	struct pfl_dns_answer *a = pfl_spf_eval_ask(e, name, addr_type(e));
	bool yes = a->status == PFL_DNS_OK && addr_in(e, a, 32, 128);

	pfl_dns_answer_free(&a);
	return yes;
}

/* ptr_names - the client's PTR names in *p_r (NULL when there are
 * none); T_NOMATCH, or T_ERROR when a void lookup is one too many */
static int
ptr_names(struct eval *e, bool count_void, struct pfl_dns_answer **p_r)
{
	struct pfl_dns_answer *a;
	char rev[80];
	int m = T_NOMATCH;

	*p_r = NULL;
	if (pfl_dns_reverse_name(e->ip_text, rev, sizeof(rev)) != 0)
		return T_NOMATCH;
	a = pfl_spf_eval_ask(e, rev, PFL_DNS_T_PTR);
	if (a->status == PFL_DNS_OK) {
		*p_r = a;
		return T_NOMATCH;
	}
	if (a->status == PFL_DNS_NOTFOUND && count_void)
		m = outcome(e, a, rev);
	pfl_dns_answer_free(&a);
	return m;
}

/* mech_ptr - "ptr": a validated name of the client under name */
static int
mech_ptr(struct eval *e, const char *name)
{
	struct pfl_dns_answer *p;
	size_t i;
	int m;

	if ((m = ptr_names(e, true, &p)) == T_ERROR || p == NULL)
		return m;
	for (i = 0; i < p->count && i < PFL_SPF_MAX_PTR && m == T_NOMATCH; i++)
		if (within(p->names[i], name) && validates(e, p->names[i]))
			m = T_MATCH;
	pfl_dns_answer_free(&p);
	return m;
}

/* pfl_spf_eval_validated - %{p}: a validated name, preferring one under
 * domain; cached for the last domain asked */
const char *
pfl_spf_eval_validated(void *arg, const char *domain)
{
	struct eval *e = arg;
	struct pfl_dns_answer *p;
	const char *best = NULL;
	size_t i;

	if (e->pname_for && strcasecmp(e->pname_for, domain) == 0)
		return e->pname;
	free(e->pname);
	free(e->pname_for);
	e->pname = NULL;
	e->pname_for = pfl_xstrdup(domain);
	if (ptr_names(e, false, &p) != T_NOMATCH || p == NULL)
		return NULL;
	for (i = 0; i < p->count && i < PFL_SPF_MAX_PTR; i++) {
		if (!validates(e, p->names[i]))
			continue;
		if (best == NULL || within(p->names[i], domain))
			best = p->names[i];
		if (within(best, domain))
			break;
	}
	e->pname = best ? pfl_xstrdup(best) : NULL;
	pfl_dns_answer_free(&p);
	return e->pname;
}

/* mech_exists - "exists": name has an A record (for any client) */
static int
mech_exists(struct eval *e, const char *name)
{
	struct pfl_dns_answer *a = pfl_spf_eval_ask(e, name, PFL_DNS_T_A);
	int m = outcome(e, a, name);

	pfl_dns_answer_free(&a);
	return m == T_DATA ? T_MATCH : m;
}

/* mech_include - "include": the target's check_host() says pass */
static int
mech_include(struct eval *e, const char *name, int depth)
{
	switch (pfl_spf_eval_check_host(e, name, depth + 1, false)) {
	case PFL_SPF_PASS:
		return T_MATCH;
	case PFL_SPF_FAIL:
	case PFL_SPF_SOFTFAIL:
	case PFL_SPF_NEUTRAL:
		return T_NOMATCH;
	case PFL_SPF_NONE:
		return pfl_spf_eval_error(
		    e, PFL_SPF_PERMERROR, "include:%s has no SPF record", name);
	case PFL_SPF_TEMPERROR:
	case PFL_SPF_PERMERROR:
		break;
	}
	return T_ERROR;
}

/* dns_term - a term that needs its target name and DNS */
static int
dns_term(
    struct eval *e, const struct pfl_spf_term *t, const char *domain, int depth)
{
	char *name;
	int m = T_NOMATCH;

	if (pfl_spf_eval_count_term(e) == T_ERROR ||
	    pfl_spf_eval_target(e, t->domain, domain, &name) == T_ERROR)
		return T_ERROR;
	if (name == NULL && t->mech == PFL_SPF_M_INCLUDE)
		return pfl_spf_eval_error(
		    e, PFL_SPF_PERMERROR, "%s: not a domain", t->text);
	if (name == NULL)
		return T_NOMATCH;
	switch (t->mech) {
	case PFL_SPF_M_A:
		m = mech_a(e, name, t);
		break;
	case PFL_SPF_M_MX:
		m = mech_mx(e, name, t);
		break;
	case PFL_SPF_M_PTR:
		m = mech_ptr(e, name);
		break;
	case PFL_SPF_M_EXISTS:
		m = mech_exists(e, name);
		break;
	default:
		m = mech_include(e, name, depth);
		break;
	}
	free(name);
	return m;
}

/* pfl_spf_eval_term - evaluate one directive */
int
pfl_spf_eval_term(
    struct eval *e, const struct pfl_spf_term *t, const char *domain, int depth)
{
	switch (t->mech) {
	case PFL_SPF_M_ALL:
		return T_MATCH;
	case PFL_SPF_M_IP4:
		return e->v4 && prefix_eq(e->ip, t->net, t->cidr4) ? T_MATCH
								   : T_NOMATCH;
	case PFL_SPF_M_IP6:
		return !e->v4 && prefix_eq(e->ip, t->net, t->cidr6) ? T_MATCH
								    : T_NOMATCH;
	default:
		return dns_term(e, t, domain, depth);
	}
}
