/*
 * NAME
 *	egress - reverse DNS of our egress addresses and the HELO name
 * SYNOPSIS
 *	#include "egress.h"
 * DESCRIPTION
 *	The check of egress.h: it asks through a lookup function (the
 *	resolver, or a fake zone in tests). What receivers make of a report,
 *	and its summary, are in egress_finding.c.
 * SECURITY
 *	PTR names and DNS error texts are untrusted: every text that goes
 *	into a report or a finding is made printable, with '"' and '%'
 *	replaced (they may end up quoted in a log line or in an SMTP reply).
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "egress.h"
#include "util.h"

/* An address in binary; an IPv4-mapped IPv6 address is kept as IPv4. */
struct bin {
	int family; /* AF_INET or AF_INET6 */
	unsigned char a[16];
};

/* How the check asks DNS. */
struct asker {
	pfl_egress_lookup_fn fn;
	void *arg;
};

/* parse - an address in text form into b; false when it is not one */
static bool
parse(const char *s, struct bin *b)
{
	struct in6_addr a6;

	memset(b, 0, sizeof(*b));
	if (inet_pton(AF_INET, s, b->a) == 1) {
		b->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return false;
	b->family = IN6_IS_ADDR_V4MAPPED(&a6) ? AF_INET : AF_INET6;
	memcpy(b->a, b->family == AF_INET ? a6.s6_addr + 12 : a6.s6_addr,
	    b->family == AF_INET ? 4 : 16);
	return true;
}

/* from_dns - an address record as a bin */
static void
from_dns(const struct pfl_dns_addr *d, struct bin *b)
{
	memset(b, 0, sizeof(*b));
	if (d->family == AF_INET) {
		b->family = AF_INET;
		memcpy(b->a, &d->a.v4, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&d->a.v6)) {
		b->family = AF_INET;
		memcpy(b->a, d->a.v6.s6_addr + 12, 4);
	} else {
		b->family = AF_INET6;
		memcpy(b->a, d->a.v6.s6_addr, 16);
	}
}

/* same - one address? */
static bool
same(const struct bin *x, const struct bin *y)
{
	return x->family == y->family &&
	    memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

/* text - an address in its canonical text form into buf */
static const char *
text(const struct bin *b, char *buf, size_t n)
{
	if (inet_ntop(b->family, b->a, buf, (socklen_t)n) == NULL)
		pfl_strlcpy(buf, "?", n);
	return buf;
}

/* type_of - the record type that holds addresses of b's family */
static int
type_of(const struct bin *b)
{
	return b->family == AF_INET ? PFL_DNS_T_A : PFL_DNS_T_AAAA;
}

/* safe - untrusted text made fit for a report: printable, no '"' or '%' */
static void
safe(char *dst, size_t n, const char *src)
{
	pfl_printable(dst, n, src, "\"%");
}

/* --- one address ------------------------------------------------------------ */

/* mismatch_why - name resolves, but not to b: what it resolves to */
static void
mismatch_why(const char *name, const struct pfl_dns_answer *ans,
    const struct bin *b, char *why, size_t n)
{
	char t1[INET6_ADDRSTRLEN], t2[INET6_ADDRSTRLEN];
	struct bin got;

	from_dns(&ans->addr[0], &got);
	snprintf(why, n, "%.100s has %s %s%s, not %s", name,
	    pfl_dns_type_name(type_of(b)), text(&got, t1, sizeof(t1)),
	    ans->count > 1 ? " (and more)" : "", text(b, t2, sizeof(t2)));
}

/* confirm - does a PTR name resolve back to b? OK, PTR_MISMATCH, TEMPFAIL */
static enum pfl_egress_state
confirm(const struct asker *q, const char *name, const struct bin *b, char *why,
    size_t n)
{
	const char *tname = pfl_dns_type_name(type_of(b));
	enum pfl_egress_state st = PFL_EGRESS_PTR_MISMATCH;
	struct pfl_dns_answer *ans;
	struct bin got;
	size_t i;

	if (!pfl_dns_name_ok(name)) {
		snprintf(why, n, "the PTR name \"%.100s\" cannot be looked up",
		    name);
		return st;
	}
	ans = q->fn(q->arg, name, type_of(b));
	if (ans->status == PFL_DNS_TEMPFAIL) {
		st = PFL_EGRESS_TEMPFAIL;
		snprintf(why, n, "%s lookup of %.100s failed: %s", tname, name,
		    ans->why);
	} else if (ans->status != PFL_DNS_OK || ans->count == 0) {
		snprintf(why, n, "%.100s has no %s record", name, tname);
	} else {
		for (i = 0; i < ans->count && st != PFL_EGRESS_OK; i++) {
			from_dns(&ans->addr[i], &got);
			if (same(&got, b))
				st = PFL_EGRESS_OK;
		}
		if (st != PFL_EGRESS_OK)
			mismatch_why(name, ans, b, why, n);
	}
	pfl_dns_answer_free(&ans);
	return st;
}

/* confirm_any - do any of the PTR names (at most 10) resolve back? */
static void
confirm_any(const struct asker *q, const struct pfl_dns_answer *ptr,
    const struct bin *b, struct pfl_egress_addr_result *a)
{
	size_t i,
	    lim = ptr->count < PFL_EGRESS_MAX_PTR ? ptr->count
						  : PFL_EGRESS_MAX_PTR;
	char why[512], first[512] = "", trouble[512] = "";
	enum pfl_egress_state st;

	a->nptr = (unsigned)ptr->count;
	safe(a->ptr, sizeof(a->ptr), ptr->names[0]);
	for (i = 0; i < lim; i++) {
		st = confirm(q, ptr->names[i], b, why, sizeof(why));
		if (st == PFL_EGRESS_OK) {
			a->state = PFL_EGRESS_OK;
			safe(a->ptr, sizeof(a->ptr), ptr->names[i]);
			return;
		}
		if (st == PFL_EGRESS_TEMPFAIL && *trouble == '\0')
			pfl_strlcpy(trouble, why, sizeof(trouble));
		if (st == PFL_EGRESS_PTR_MISMATCH && *first == '\0')
			pfl_strlcpy(first, why, sizeof(first));
	}
	/* a name we could not ask might have been the one that matches */
	a->state = *trouble ? PFL_EGRESS_TEMPFAIL : PFL_EGRESS_PTR_MISMATCH;
	pfl_strlcpy(why, *trouble ? trouble : first, sizeof(why));
	if (ptr->count > 1)
		pfl_strlcatf(why, sizeof(why), " (%zu PTR names%s)", ptr->count,
		    ptr->count > lim ? ", only the first 10 asked" : "");
	safe(a->why, sizeof(a->why), why);
}

/* check_addr - the PTR names of one address, and whether they resolve back */
static void
check_addr(
    const struct asker *q, const char *ip, struct pfl_egress_addr_result *a)
{
	struct pfl_dns_answer *ans;
	char rev[128], why[512];
	struct bin b;

	memset(a, 0, sizeof(*a));
	safe(a->addr, sizeof(a->addr), ip);
	if (!parse(ip, &b) || pfl_dns_reverse_name(ip, rev, sizeof(rev)) < 0) {
		a->state = PFL_EGRESS_INVALID;
		pfl_strlcpy(a->why, "not an IP address", sizeof(a->why));
		return;
	}
	ans = q->fn(q->arg, rev, PFL_DNS_T_PTR);
	if (ans->status == PFL_DNS_TEMPFAIL ||
	    ans->status == PFL_DNS_PERMFAIL) {
		a->state = PFL_EGRESS_TEMPFAIL;
		snprintf(why, sizeof(why), "PTR lookup of %s failed: %s", rev,
		    ans->why);
		safe(a->why, sizeof(a->why), why);
	} else if (ans->status == PFL_DNS_NOTFOUND || ans->count == 0) {
		a->state = PFL_EGRESS_NO_PTR;
		snprintf(a->why, sizeof(a->why), "no PTR record at %s", rev);
	} else {
		confirm_any(q, ans, &b, a);
	}
	pfl_dns_answer_free(&ans);
}

/* --- the HELO name ---------------------------------------------------------- */

/* ours - is b one of the egress addresses? */
static bool
ours(const struct bin *b, const struct bin *egress, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same(b, &egress[i]))
			return true;
	return false;
}

/* The HELO name's lookups so far. */
struct helo_seen {
	bool match, trouble;
	size_t found;     /* addresses found */
	char first[64];   /* the first of them, as text */
	char failed[320]; /* the first failed lookup */
};

/* helo_type - ask one type of address record of the HELO name */
static void
helo_type(const struct asker *q, const char *helo, int type,
    const struct bin *egress, size_t n, struct helo_seen *s)
{
	struct pfl_dns_answer *ans = q->fn(q->arg, helo, type);
	struct bin b;
	size_t i;

	if (ans->status == PFL_DNS_TEMPFAIL && !s->trouble) {
		s->trouble = true;
		snprintf(s->failed, sizeof(s->failed), "%s lookup failed: %s",
		    pfl_dns_type_name(type), ans->why);
	}
	for (i = 0; ans->status == PFL_DNS_OK && i < ans->count; i++) {
		from_dns(&ans->addr[i], &b);
		if (s->found++ == 0)
			text(&b, s->first, sizeof(s->first));
		if (ours(&b, egress, n))
			s->match = true;
	}
	pfl_dns_answer_free(&ans);
}

/* check_helo - does the HELO name resolve to one of the egress addresses? */
static void
check_helo(const struct asker *q, const char *helo, const struct bin *egress,
    size_t n, struct pfl_egress_report *r)
{
	struct helo_seen s;
	char why[512];

	memset(&s, 0, sizeof(s));
	r->helo_state = PFL_EGRESS_UNCHECKED;
	if (helo == NULL || *helo == '\0')
		return;
	safe(r->helo, sizeof(r->helo), helo);
	r->helo_state = PFL_EGRESS_HELO_UNRESOLVED;
	if (!pfl_dns_name_ok(helo)) {
		pfl_strlcpy(r->helo_why, "not a name that can be looked up",
		    sizeof(r->helo_why));
		return;
	}
	helo_type(q, helo, PFL_DNS_T_A, egress, n, &s);
	if (!s.match)
		helo_type(q, helo, PFL_DNS_T_AAAA, egress, n, &s);
	if (s.match || (s.found > 0 && n == 0)) {
		r->helo_state = PFL_EGRESS_OK;
		return;
	}
	if (s.trouble) {
		r->helo_state = PFL_EGRESS_TEMPFAIL;
		pfl_strlcpy(why, s.failed, sizeof(why));
	} else if (s.found == 0) {
		snprintf(
		    why, sizeof(why), "no A or AAAA record for %.100s", helo);
	} else {
		r->helo_state = PFL_EGRESS_HELO_MISMATCH;
		snprintf(why, sizeof(why),
		    "%.100s resolves to %s%s, none of the egress addresses",
		    helo, s.first, s.found > 1 ? " (and more)" : "");
	}
	safe(r->helo_why, sizeof(r->helo_why), why);
}

/* --- the check -------------------------------------------------------------- */

/* pfl_egress_check_with - check the addresses and HELO through lookup */
void
pfl_egress_check_with(pfl_egress_lookup_fn lookup, void *arg,
    const char *const *addrs, size_t n, const char *helo,
    struct pfl_egress_report *r)
{
	struct asker q = { lookup, arg };
	struct bin egress[PFL_EGRESS_MAX_ADDRS];
	size_t i, nb = 0;

	memset(r, 0, sizeof(*r));
	r->n = n < PFL_EGRESS_MAX_ADDRS ? n : PFL_EGRESS_MAX_ADDRS;
	r->skipped = n - r->n;
	for (i = 0; i < r->n; i++) {
		check_addr(&q, addrs[i], &r->addrs[i]);
		if (parse(addrs[i], &egress[nb]))
			nb++;
	}
	check_helo(&q, helo, egress, nb, r);
	r->checked = time(NULL);
}

/* dns_lookup - the resolver behind the seam */
static struct pfl_dns_answer *
dns_lookup(void *arg, const char *name, int rrtype)
{
	return pfl_dns_query(arg, name, rrtype);
}

/* pfl_egress_check - check the addresses and HELO through the resolver */
void
pfl_egress_check(struct pfl_dns *dns, const char *const *addrs, size_t n,
    const char *helo, struct pfl_egress_report *r)
{
	pfl_egress_check_with(dns_lookup, dns, addrs, n, helo, r);
}
