/*
 * NAME
 *	provider - recognise the receiving provider of a recipient domain
 * DESCRIPTION
 *	The consumer domains of the big receivers are a table below. An
 *	entry "yahoo.*" stands for "yahoo." plus any public suffix of the
 *	Public Suffix List (yahoo.co.uk, yahoo.fr), so that live.example.com
 *	is not taken for Microsoft; not_wild[] lists names such a pattern
 *	must not catch (yahoo.co.jp belongs to another company). Without
 *	the list, patterns match nothing and MX rollup decides.
 *
 *	MX rollup looks at the most preferred MX host only: a domain whose
 *	primary MX is a filtering service and whose backup is Google gets
 *	its mail through the filter. Host suffixes are in mx_rules[], the
 *	specific before the general.
 *
 *	The config's ProviderDomains (provider_map.c) are checked before
 *	the built-in list.
 * THREAD SAFETY
 *	A map is read-only after pfl_provider_map_new.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns.h"
#include "provider_private.h"
#include "util.h"

/* Consumer domains (RECEIVERS.md, 2026). */
static const struct {
	const char *name;
	enum pfl_provider provider;
} builtin_domains[] = {
	{ "gmail.com", PFL_PROV_GOOGLE },
	{ "googlemail.com", PFL_PROV_GOOGLE },
	{ "yahoo.*", PFL_PROV_YAHOO },
	{ "ymail.com", PFL_PROV_YAHOO },
	{ "rocketmail.com", PFL_PROV_YAHOO },
	{ "aol.*", PFL_PROV_YAHOO },
	{ "aim.com", PFL_PROV_YAHOO },
	{ "outlook.*", PFL_PROV_MICROSOFT },
	{ "hotmail.*", PFL_PROV_MICROSOFT },
	{ "live.*", PFL_PROV_MICROSOFT },
	{ "msn.com", PFL_PROV_MICROSOFT },
	{ "icloud.com", PFL_PROV_APPLE },
	{ "me.com", PFL_PROV_APPLE },
	{ "mac.com", PFL_PROV_APPLE },
};

/* Names a built-in pattern must not catch: other companies' domains. */
static const char *const not_wild[] = { "yahoo.co.jp" };

/* MX host suffixes, the specific before the general. */
static const struct {
	const char *suffix;
	enum pfl_provider provider;
	bool tenant;
} mx_rules[] = {
	{ "gmail-smtp-in.l.google.com", PFL_PROV_GOOGLE, false },
	{ "google.com", PFL_PROV_GOOGLE, true },     /* aspmx.l.google.com */
	{ "googlemail.com", PFL_PROV_GOOGLE, true }, /* aspmx2.googlemail.com */
	{ "olc.protection.outlook.com", PFL_PROV_MICROSOFT, false },
	{ "mail.protection.outlook.com", PFL_PROV_MICROSOFT, true },
	{ "yahoodns.net", PFL_PROV_YAHOO, false },
	{ "mail.icloud.com", PFL_PROV_APPLE, false },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const provider_names[PFL_NPROVIDERS] = { "default", "google",
	"yahoo", "microsoft", "apple" };

/* pfl_provider_name - printable provider */
const char *
pfl_provider_name(enum pfl_provider p)
{
	return (unsigned)p < PFL_NPROVIDERS ? provider_names[p] : "?";
}

/* pfl_provider_parse - the provider of a name */
int
pfl_provider_parse(const char *name)
{
	int i;

	for (i = 0; i < PFL_NPROVIDERS; i++)
		if (pfl_strcaseeq(name, provider_names[i]))
			return i;
	return -1;
}

/* pfl_provider_via_name - printable way of recognition */
const char *
pfl_provider_via_name(enum pfl_provider_via v)
{
	static const char *names[] = { "list", "mx", "default" };

	return (unsigned)v < NELEM(names) ? names[v] : "?";
}

/* pfl_rule_class_name - printable rule class */
const char *
pfl_rule_class_name(enum pfl_rule_class c)
{
	static const char *names[] = { "all", "bulk", "tenant" };

	return (unsigned)c < NELEM(names) ? names[c] : "?";
}

/* --- recognition ---------------------------------------------------------- */

/* wild_match - is domain "label." plus exactly a listed public suffix? */
static bool
wild_match(const char *domain, const char *label)
{
	const struct pfl_psl *psl = pfl_psl_default();
	size_t n = strlen(label), i;
	const char *suffix;
	bool listed = false;

	if (psl == NULL || strncmp(domain, label, n) != 0 || domain[n] != '.')
		return false;
	for (i = 0; i < NELEM(not_wild); i++)
		if (strcmp(domain, not_wild[i]) == 0)
			return false;
	suffix = pfl_psl_suffix(psl, domain, &listed);
	return listed && suffix == domain + n + 1;
}

/* entry_match - does a name or "label.*" entry match domain? */
static bool
entry_match(const char *domain, const char *name, bool wildcard)
{
	return wildcard ? wild_match(domain, name) : strcmp(domain, name) == 0;
}

/* by_list - the lists, ProviderDomains first; -1 when not listed */
static int
by_list(const struct pfl_provider_map *m, const char *domain)
{
	char label[PFL_DOMAIN_SIZE];
	size_t i, len;

	for (i = 0; i < m->nextra; i++)
		if (entry_match(domain, m->extra[i].name, m->extra[i].wildcard))
			return m->extra[i].provider;
	for (i = 0; i < NELEM(builtin_domains); i++) {
		const char *name = builtin_domains[i].name;

		len = strlen(name);
		if (len > 2 && strcmp(name + len - 2, ".*") == 0) {
			memcpy(label, name, len - 2);
			label[len - 2] = '\0';
			if (!wild_match(domain, label))
				continue;
		} else if (strcmp(domain, name) != 0) {
			continue;
		}
		return builtin_domains[i].provider;
	}
	return -1;
}

/* set_why - say why recognition fell back to default; long names are cut */
static void __attribute__((format(printf, 2, 3)))
set_why(struct pfl_provider_match *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

/* host_under - is host equal to suffix or below it? */
static bool
host_under(const char *host, const char *suffix)
{
	size_t h = strlen(host), s = strlen(suffix);

	if (h == s)
		return strcmp(host, suffix) == 0;
	return h > s && host[h - s - 1] == '.' &&
	    strcmp(host + h - s, suffix) == 0;
}

/* by_mx - roll the most preferred MX host up to a provider */
static void
by_mx(struct pfl_provider_match *m, const struct pfl_dns_answer *a)
{
	size_t i;

	if (a->status == PFL_DNS_NOTFOUND) {
		set_why(m, a->nxdomain ? "no such domain" : "no MX record");
		return;
	}
	if (a->status != PFL_DNS_OK || a->count == 0 || a->mx == NULL) {
		set_why(m, "MX lookup failed: %s",
		    a->why[0] ? a->why : pfl_dns_status_name(a->status));
		return;
	}
	if (a->mx[0].host[0] == '\0') {
		set_why(m, "null MX: accepts no mail");
		return;
	}
	pfl_printable(m->mx, sizeof(m->mx), a->mx[0].host, NULL);
	for (i = 0; i < NELEM(mx_rules); i++)
		if (host_under(m->mx, mx_rules[i].suffix)) {
			m->provider = mx_rules[i].provider;
			m->tenant = mx_rules[i].tenant;
			m->via = PFL_VIA_MX;
			return;
		}
	set_why(m, "MX %s is no known provider", m->mx);
}

/* pfl_provider_for_domain_with - recognise, asking lookup for MX */
enum pfl_provider
pfl_provider_for_domain_with(const struct pfl_provider_map *map,
    pfl_provider_mx_fn lookup, void *ctx, const char *rcpt_domain,
    struct pfl_provider_match *m)
{
	struct pfl_dns_answer *a;
	int p;

	memset(m, 0, sizeof(*m));
	m->provider = PFL_PROV_DEFAULT;
	m->via = PFL_VIA_DEFAULT;
	if (rcpt_domain == NULL ||
	    pfl_orgdomain_normalize(rcpt_domain, m->domain, sizeof(m->domain)) <
		0) {
		pfl_printable(m->domain, sizeof(m->domain),
		    rcpt_domain ? rcpt_domain : "", NULL);
		set_why(m, "not a domain name");
		return m->provider;
	}
	if ((p = by_list(map, m->domain)) >= 0) {
		m->provider = (enum pfl_provider)p;
		m->via = PFL_VIA_LIST;
		return m->provider;
	}
	a = lookup(ctx, m->domain);
	by_mx(m, a);
	pfl_dns_answer_free(&a);
	return m->provider;
}

/* dns_mx - the MX seam over the resolver */
static struct pfl_dns_answer *
dns_mx(void *ctx, const char *domain)
{
	return pfl_dns_query(ctx, domain, PFL_DNS_T_MX);
}

/* pfl_provider_for_domain - recognise through the resolver */
enum pfl_provider
pfl_provider_for_domain(const struct pfl_provider_map *map, struct pfl_dns *dns,
    const char *rcpt_domain, struct pfl_provider_match *m_r)
{
	return pfl_provider_for_domain_with(map, dns_mx, dns, rcpt_domain, m_r);
}
