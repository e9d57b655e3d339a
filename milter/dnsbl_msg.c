/*
 * NAME
 *	dnsbl_msg - the domain lists asked about one message
 * DESCRIPTION
 *	The organisational domains of the envelope sender, of the From:
 *	address and (DnsblCheckUrls) of the links in the body are asked of
 *	every healthy domain list. Receivers that use such a list refuse the
 *	message ("Message rejected due to policy"); the first listing is a
 *	finding for OnDomainListed, every one is named in the summary.
 *
 *	The work is capped: the message is kept for the link scan up to
 *	DnsblUrlScanBytes, at most DnsblMaxUrlDomains link domains are
 *	asked, a list that fails a lookup is not asked again for this
 *	message, and all lookups together stop after MSG_BUDGET_MS (well
 *	within the 30 s Postfix gives a milter at end of message). Answers
 *	are cached by the resolver for their TTL.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"
#include "config.h"
#include "ctx.h"
#include "dnsbl.h"
#include "orgdomain.h"
#include "urls.h"
#include "util.h"

/* All lookups of one message end within this (milliseconds). */
#define MSG_BUDGET_MS 10000

/* pfl_checks_want_urls - should the message be kept for the link scan? */
bool
pfl_checks_want_urls(const struct pfl_checks *c)
{
	const struct pfl_ctx *ctx = c->ctx;

	return ctx->cfg->dnsbl_check_urls && ctx->dnsbl != NULL &&
	    ctx->dnsbl->ndomain > 0;
}

/* keep - append bytes to the kept message, up to the cap */
static void
keep(struct pfl_checks *c, const void *p, size_t len)
{
	size_t cap = c->ctx->cfg->dnsbl_url_scan_bytes;

	if (c->raw_len >= cap) {
		c->raw_full = true;
		return;
	}
	if (len > cap - c->raw_len) {
		len = cap - c->raw_len;
		c->raw_full = true;
	}
	if (c->raw_len + len > c->raw_cap) {
		c->raw_cap = c->raw_cap ? c->raw_cap : 8192;
		while (c->raw_cap < c->raw_len + len)
			c->raw_cap *= 2;
		if (c->raw_cap > cap)
			c->raw_cap = cap;
		c->raw = pfl_xrealloc(c->raw, c->raw_cap);
	}
	memcpy(c->raw + c->raw_len, p, len);
	c->raw_len += len;
}

/* pfl_checks_keep_header - a header field for the link scan */
void
pfl_checks_keep_header(
    struct pfl_checks *c, const char *name, const char *value)
{
	keep(c, name, strlen(name));
	keep(c, c->leadspc ? ":" : ": ", c->leadspc ? 1 : 2);
	keep(c, value, strlen(value));
	keep(c, "\r\n", 2);
}

/* pfl_checks_keep_body - a body chunk for the link scan */
void
pfl_checks_keep_body(struct pfl_checks *c, const unsigned char *buf, size_t len)
{
	if (!c->raw_eoh) {
		keep(c, "\r\n", 2);
		c->raw_eoh = true;
	}
	keep(c, buf, len);
}

/* One domain to ask about, and where it came from. */
struct subject {
	char domain[256];
	const char *what; /* "envelope sender", "From:", "link" */
};

/* add_subject - the org domain of name, if new; false when full */
static void
add_subject(struct subject *v, size_t *n, size_t max, const char *name,
    const char *what)
{
	char norm[256];
	const char *org;
	size_t i;

	if (*n >= max || name == NULL || *name == '\0' ||
	    pfl_orgdomain_normalize(name, norm, sizeof(norm)) < 0)
		return;
	org = pfl_orgdomain_psl(pfl_psl_default(), norm);
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].domain, org) == 0)
			return;
	pfl_strlcpy(v[*n].domain, org, sizeof(v[*n].domain));
	v[(*n)++].what = what;
}

/* link_subjects - the link domains, up to DnsblMaxUrlDomains of them */
static void
link_subjects(struct pfl_checks *c, struct subject *v, size_t *n, size_t max)
{
	struct pfl_urls_limits lim;
	struct pfl_urls u;
	size_t i, before = *n;

	if (c->raw == NULL)
		return;
	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = c->raw_len;
	lim.max_parts = 200;
	lim.max_hosts = 1000;
	pfl_urls_extract(c->raw, c->raw_len, &lim, &u);
	c->url_links = u.nlinks;
	for (i = 0;
	     i < u.nhosts && *n - before < c->ctx->cfg->dnsbl_max_url_domains;
	     i++)
		add_subject(v, n, max, u.hosts[i], "link");
	c->url_domains = *n - before;
	c->url_capped = u.truncated || c->raw_full || (i < u.nhosts);
	pfl_urls_free(&u);
}

/* word_add - one item in the summary's dnsbl word */
static void
word_add(struct pfl_checks *c, const char *item)
{
	size_t len = strlen(c->dnsbl_word);

	snprintf(c->dnsbl_word + len, sizeof(c->dnsbl_word) - len, "%s%s",
	    len ? "," : "", item);
}

/* listed_finding - the finding for the first listed domain */
static void
listed_finding(const struct pfl_checks *c, const struct pfl_dnsbl_list *L,
    const struct subject *s, const struct pfl_dnsbl_answer *a,
    struct pfl_finding *f)
{
	enum pfl_action act = c->ctx->cfg->on_domain_listed;
	char reason[512];

	snprintf(reason, sizeof(reason),
	    "receivers using %s would refuse this (554 5.7.1 Message "
	    "rejected due to policy): the %s domain %s is listed (%s%s%s)%s%s",
	    L->name, s->what, s->domain, a->code, *a->label ? " " : "",
	    a->label, L->delist ? "; delisting: " : "",
	    L->delist ? L->delist : "");
	pfl_finding_set(f, "dnsbl", PFL_OUT_REFUSE, act, "554 5.7.1",
	    act == PFL_ACT_REJECT ? "550" : "451",
	    act == PFL_ACT_REJECT ? "5.7.1" : "4.7.1", reason);
	snprintf(f->fix, sizeof(f->fix), "%s%s",
	    L->delist ? "delist at " : "remove the listed domain",
	    L->delist ? L->delist : "");
}

/* egress_word - providers of this message paused by an egress listing */
static void
egress_word(struct pfl_checks *c)
{
	struct pfl_finding f;
	char item[64];
	size_t i;

	for (i = 0; i < c->nproviders; i++)
		if (pfl_dnsbl_paused(c->ctx, c->rcpts[i].match.provider, &f)) {
			snprintf(item, sizeof(item), "egress-listed(%s)",
			    pfl_provider_name(c->rcpts[i].match.provider));
			word_add(c, item);
		}
}

/*
 * word_of - the dnsbl= word when nothing is listed: a lookup failed, a list
 * could not tell, no usable domain list was asked (all unhealthy), or clean
 */
static const char *
word_of(bool trouble, bool cannot, bool asked)
{
	if (trouble)
		return "tempfail";
	if (cannot)
		return "cannot-tell";
	return asked ? "clean" : "unchecked";
}

/* pfl_checks_dnsbl_eom - the message's domains on the domain lists */
size_t
pfl_checks_dnsbl_eom(struct pfl_checks *c, struct pfl_finding *f, size_t max)
{
	const struct pfl_dnsbl_set *s = c->ctx->dnsbl;
	struct pfl_dnsbl_answer a;
	struct subject *v;
	char item[600];
	char sender_domain[256];
	size_t n = 0, i, j, added = 0, vmax;
	long long deadline = pfl_now_ms() + MSG_BUDGET_MS;
	bool trouble = false, cannot = false, asked = false;

	c->dnsbl_word[0] = '\0';
	if (s == NULL || s->n == 0)
		return 0;
	egress_word(c);
	vmax = 2 + c->ctx->cfg->dnsbl_max_url_domains;
	v = pfl_xcalloc(vmax, sizeof(*v));
	pfl_addr_domain(sender_domain, sizeof(sender_domain), c->sender);
	asked = s->ndomain == 0; /* no domain list: nothing to ask */
	if (s->ndomain > 0) {
		add_subject(v, &n, 2, sender_domain, "envelope sender");
		add_subject(v, &n, 2, c->from_domain, "From:");
		if (pfl_checks_want_urls(c))
			link_subjects(c, v, &n, vmax);
	}
	for (j = 0; j < s->n; j++) {
		const struct pfl_dnsbl_list *L = &s->lists[j];

		if (L->kind != PFL_DNSBL_DOMAIN || !pfl_dnsbl_usable(L))
			continue;
		asked = true;
		for (i = 0; i < n; i++) {
			if (pfl_now_ms() >= deadline) {
				trouble = true;
				break;
			}
			pfl_dnsbl_lookup(L, v[i].domain, &a);
			if (a.state == PFL_DNSBL_TEMPFAIL) {
				trouble = true;
				break; /* do not wait on it again */
			}
			if (a.state == PFL_DNSBL_CANNOT_TELL)
				cannot = true;
			if (a.state != PFL_DNSBL_LISTED)
				continue;
			snprintf(item, sizeof(item), "listed(%s@%s)",
			    v[i].domain, L->zone);
			word_add(c, item);
			if (added == 0 && max > 0)
				listed_finding(c, L, &v[i], &a, &f[added++]);
		}
	}
	free(v);
	if (c->dnsbl_word[0] == '\0')
		pfl_strlcpy(c->dnsbl_word, word_of(trouble, cannot, asked),
		    sizeof(c->dnsbl_word));
	return added;
}
