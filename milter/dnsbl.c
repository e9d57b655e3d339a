/*
 * NAME
 *	dnsbl - DNS blocklists: the lists, their answers, their health
 * DESCRIPTION
 *	Parsing of the Dnsbl lines with the built-in knowledge of well-known
 *	zones, the query names, the reading of answers and the RFC 5782
 *	health test. The egress monitor (dnsbl_monitor.c) and the message
 *	check (dnsbl_msg.c) build on these.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "dns.h"
#include "dnsbl.h"
#include "errors.h"
#include "provider.h"
#include "util.h"

#define PROV(p) (1u << (p))
#define ALL_PROVIDERS                                                          \
	(PROV(PFL_PROV_DEFAULT) | PROV(PFL_PROV_GOOGLE) |                      \
	    PROV(PFL_PROV_YAHOO) | PROV(PFL_PROV_MICROSOFT) |                  \
	    PROV(PFL_PROV_APPLE))
#define IP4(a, b, c, d)                                                        \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) |                       \
	    ((uint32_t)(c) << 8) | (uint32_t)(d))

/* What we know of a well-known list (RECEIVERS.md). */
struct known {
	const char *suffix; /* the zone, or what a DQS zone ends with */
	const char *name;
	enum pfl_dnsbl_kind kind;
	const char *codes; /* listed= syntax */
	unsigned providers;
	const char *delist;
	const char *test; /* the test entry, NULL: RFC 5782's */
};

static const struct known known[] = {
	{ "zen.spamhaus.org", "Spamhaus ZEN", PFL_DNSBL_IP,
	    "127.0.0.2:SBL,127.0.0.3:SBL-CSS,127.0.0.4-127.0.0.7:XBL,"
	    "127.0.0.9:DROP,127.0.0.10-127.0.0.11:PBL",
	    PROV(PFL_PROV_MICROSOFT) | PROV(PFL_PROV_YAHOO),
	    "https://check.spamhaus.org/", NULL },
	{ "zen.dq.spamhaus.net", "Spamhaus ZEN", PFL_DNSBL_IP,
	    "127.0.0.2:SBL,127.0.0.3:SBL-CSS,127.0.0.4-127.0.0.7:XBL,"
	    "127.0.0.9:DROP,127.0.0.10-127.0.0.11:PBL",
	    PROV(PFL_PROV_MICROSOFT) | PROV(PFL_PROV_YAHOO),
	    "https://check.spamhaus.org/", NULL },
	{ "dbl.spamhaus.org", "Spamhaus DBL", PFL_DNSBL_DOMAIN,
	    "127.0.1.2:spam,127.0.1.4:phish,127.0.1.5:malware,"
	    "127.0.1.6:botnet-cc,127.0.1.102-127.0.1.106:abused-legit",
	    ALL_PROVIDERS, "https://check.spamhaus.org/", "dbltest.com" },
	{ "dbl.dq.spamhaus.net", "Spamhaus DBL", PFL_DNSBL_DOMAIN,
	    "127.0.1.2:spam,127.0.1.4:phish,127.0.1.5:malware,"
	    "127.0.1.6:botnet-cc,127.0.1.102-127.0.1.106:abused-legit",
	    ALL_PROVIDERS, "https://check.spamhaus.org/", "dbltest.com" },
	{ "b.barracudacentral.org", "Barracuda", PFL_DNSBL_IP, "127.0.0.2",
	    PROV(PFL_PROV_DEFAULT),
	    "https://www.barracudacentral.org/rbl/removal-request", NULL },
	{ "bl.spamcop.net", "SpamCop", PFL_DNSBL_IP, "127.0.0.2",
	    PROV(PFL_PROV_DEFAULT), "https://www.spamcop.net/bl.shtml", NULL },
	{ "rep.mailspike.net", "Mailspike", PFL_DNSBL_IP,
	    "127.0.0.10-127.0.0.12:bad-reputation", PROV(PFL_PROV_DEFAULT),
	    "https://mailspike.org/", NULL },
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* One line being read, for error reports. */
struct line {
	const struct pfl_config *cfg;
	int line;
	struct pfl_errors *e;
	bool bad;
};

/* line_err - one "FILE:LINE: Dnsbl: message" problem */
static void
line_err(struct line *l, const char *what, const char *value)
{
	pfl_errors_add(
	    l->e, l->cfg->path, l->line, "Dnsbl: %s \"%s\"", what, value);
	l->bad = true;
}

/* zone_is_under - zone equal to suffix or ending in ".suffix" */
static bool
zone_is_under(const char *zone, const char *suffix)
{
	size_t zl = strlen(zone), sl = strlen(suffix);

	if (zl == sl)
		return strcmp(zone, suffix) == 0;
	return zl > sl && zone[zl - sl - 1] == '.' &&
	    strcmp(zone + zl - sl, suffix) == 0;
}

/* parse_ip4 - a dotted quad in host order; false when it is not one */
static bool
parse_ip4(const char *s, uint32_t *r)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*r = ntohl(a.s_addr);
	return true;
}

/* add_code - one listed= item: IP[-IP][:LABEL] */
static bool
add_code(struct pfl_dnsbl_list *L, char *item)
{
	struct pfl_dnsbl_code c = { 0 };
	char *label, *dash;

	if ((label = strchr(item, ':')) != NULL) {
		*label++ = '\0';
		if (*label == '\0' || strlen(label) >= sizeof(c.label))
			return false;
		pfl_strlcpy(c.label, label, sizeof(c.label));
	}
	if ((dash = strchr(item, '-')) != NULL)
		*dash++ = '\0';
	if (!parse_ip4(item, &c.lo))
		return false;
	c.hi = c.lo;
	if (dash != NULL && (!parse_ip4(dash, &c.hi) || c.hi < c.lo))
		return false;
	if (L->ncodes >= 64)
		return false;
	L->codes = pfl_xrealloc(L->codes, (L->ncodes + 1) * sizeof(c));
	L->codes[L->ncodes++] = c;
	return true;
}

/* set_codes - listed=CODES, replacing any codes the list had */
static bool
set_codes(struct pfl_dnsbl_list *L, const char *text)
{
	char *copy = pfl_xstrdup(text), *cur, *item;
	bool ok = true;

	free(L->codes);
	L->codes = NULL;
	L->ncodes = 0;
	for (item = strtok_r(copy, ",", &cur); item && ok;
	     item = strtok_r(NULL, ",", &cur))
		ok = add_code(L, item);
	free(copy);
	return ok && L->ncodes > 0;
}

/* set_providers - providers=LIST|*; false when a name is unknown */
static bool
set_providers(struct pfl_dnsbl_list *L, const char *text)
{
	char *copy = pfl_xstrdup(text), *cur, *item;
	unsigned mask = 0;
	int p;
	bool ok = true;

	for (item = strtok_r(copy, ",", &cur); item && ok;
	     item = strtok_r(NULL, ",", &cur)) {
		if (strcmp(item, "*") == 0 || strcasecmp(item, "all") == 0)
			mask |= ALL_PROVIDERS;
		else if ((p = pfl_provider_parse(item)) >= 0)
			mask |= PROV(p);
		else
			ok = false;
	}
	free(copy);
	L->providers = mask;
	return ok && mask != 0;
}

/* set_test - test=ENTRY or test=no */
static void
set_test(struct pfl_dnsbl_list *L, const char *listed)
{
	free(L->test_listed);
	free(L->test_clean);
	L->test_listed = L->test_clean = NULL;
	if (listed == NULL)
		return;
	L->test_listed = pfl_xstrdup(listed);
	L->test_clean =
	    pfl_xstrdup(L->kind == PFL_DNSBL_IP ? "127.0.0.1" : "invalid");
}

/* apply_known - what we know of the zone, if anything */
static void
apply_known(struct pfl_dnsbl_list *L)
{
	size_t i;

	L->providers = ALL_PROVIDERS;
	set_test(L, L->kind == PFL_DNSBL_IP ? "127.0.0.2" : "test");
	for (i = 0; i < NKNOWN; i++) {
		if (!zone_is_under(L->zone, known[i].suffix) ||
		    known[i].kind != L->kind)
			continue;
		L->name = pfl_xstrdup(known[i].name);
		(void)set_codes(L, known[i].codes);
		L->providers = known[i].providers;
		L->delist = pfl_xstrdup(known[i].delist);
		if (known[i].test != NULL)
			set_test(L, known[i].test);
		return;
	}
}

/* set_option - one KEY=VALUE option of a line */
static void
set_option(struct line *l, struct pfl_dnsbl_set *s, struct pfl_dnsbl_list *L,
    char *opt)
{
	char *v = strchr(opt, '='), err[256];

	if (v == NULL || v[1] == '\0') {
		line_err(l, "expected KEY=VALUE, not", opt);
		return;
	}
	*v++ = '\0';
	if (strcasecmp(opt, "listed") == 0) {
		if (!set_codes(L, v))
			line_err(l,
			    "listed= wants addresses or ranges such as "
			    "127.0.0.2,127.0.0.4-127.0.0.7:XBL, not",
			    v);
	} else if (strcasecmp(opt, "providers") == 0) {
		if (!set_providers(L, v))
			line_err(l,
			    "providers= wants google, yahoo, microsoft, "
			    "apple, default or *, not",
			    v);
	} else if (strcasecmp(opt, "name") == 0) {
		free(L->name);
		L->name = pfl_xstrdup(v);
	} else if (strcasecmp(opt, "delist") == 0) {
		free(L->delist);
		L->delist = pfl_xstrdup(v);
	} else if (strcasecmp(opt, "test") == 0) {
		set_test(L, strcasecmp(v, "no") == 0 ? NULL : v);
	} else if (strcasecmp(opt, "server") == 0) {
		if (L->own_dns)
			pfl_dns_free(&L->dns);
		L->dns = pfl_dns_new(
		    v, (unsigned)l->cfg->dns_timeout_ms, err, sizeof(err));
		L->own_dns = L->dns != NULL;
		if (L->dns == NULL)
			line_err(l, err, v);
	} else {
		v[-1] = '=';
		line_err(l,
		    "unknown option (listed=, providers=, name=, delist=, "
		    "test=, server=)",
		    opt);
	}
	(void)s;
}

/* parse_line - one Dnsbl line into a list; false when it was bad */
static bool
parse_line(struct line *l, struct pfl_dnsbl_set *s, struct pfl_dns *dns,
    const char *text, struct pfl_dnsbl_list *L)
{
	char *copy = pfl_xstrdup(text), *cur, *zone, *kind, *opt;
	char norm[256];

	memset(L, 0, sizeof(*L));
	L->line = l->line;
	zone = strtok_r(copy, " \t", &cur);
	kind = zone ? strtok_r(NULL, " \t", &cur) : NULL;
	if (zone == NULL || kind == NULL) {
		line_err(
		    l, "expected ZONE ip|domain [OPTION=VALUE...], not", text);
		free(copy);
		return false;
	}
	if (strlen(zone) >= sizeof(norm) || !pfl_dns_name_ok(zone)) {
		line_err(l, "not a zone name:", zone);
		free(copy);
		return false;
	}
	pfl_strlcpy(norm, zone, sizeof(norm));
	for (char *p = norm; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (norm[strlen(norm) - 1] == '.')
		norm[strlen(norm) - 1] = '\0';
	L->zone = pfl_xstrdup(norm);
	if (strcasecmp(kind, "ip") == 0)
		L->kind = PFL_DNSBL_IP;
	else if (strcasecmp(kind, "domain") == 0)
		L->kind = PFL_DNSBL_DOMAIN;
	else
		line_err(l, "the second word is ip or domain, not", kind);
	apply_known(L);
	while ((opt = strtok_r(NULL, " \t", &cur)) != NULL)
		set_option(l, s, L, opt);
	if (L->name == NULL)
		L->name = pfl_xstrdup(L->zone);
	if (L->dns == NULL)
		L->dns = dns;
	free(copy);
	return !l->bad;
}

/* list_free - what a list owns */
static void
list_free(struct pfl_dnsbl_list *L)
{
	free(L->zone);
	free(L->name);
	free(L->codes);
	free(L->delist);
	free(L->test_listed);
	free(L->test_clean);
	if (L->own_dns)
		pfl_dns_free(&L->dns);
}

/* resolver - the DnsblResolver for the set, or NULL after an error */
static struct pfl_dns *
resolver(const struct pfl_config *cfg, struct pfl_dnsbl_set *s,
    struct pfl_dns *dns, struct pfl_errors *e)
{
	const char *r = cfg->dnsbl_resolver;
	char err[256];

	if (r == NULL || strcasecmp(r, "recursive") == 0)
		r = NULL;
	else if (strcasecmp(r, "nameservers") == 0)
		return dns;
	s->dns =
	    pfl_dns_new(r, (unsigned)cfg->dns_timeout_ms, err, sizeof(err));
	if (s->dns == NULL)
		pfl_errors_add(e, cfg->path, 0, "DnsblResolver: %s", err);
	return s->dns;
}

/* pfl_dnsbl_set_new - the lists of the config */
struct pfl_dnsbl_set *
pfl_dnsbl_set_new(
    const struct pfl_config *cfg, struct pfl_dns *dns, char **errors_r)
{
	struct pfl_dnsbl_set *s = pfl_xcalloc(1, sizeof(*s));
	struct pfl_errors e = { 0 };
	struct pfl_dns *r = NULL;
	size_t i, j;

	*errors_r = NULL;
	if (cfg->dnsbls.n == 0)
		return s;
	if ((r = resolver(cfg, s, dns, &e)) == NULL)
		goto out;
	s->lists = pfl_xcalloc(cfg->dnsbls.n, sizeof(*s->lists));
	for (i = 0; i < cfg->dnsbls.n; i++) {
		struct line l = { cfg, cfg->dnsbls.line[i], &e, false };
		struct pfl_dnsbl_list *L = &s->lists[s->n];

		if (!parse_line(&l, s, r, cfg->dnsbls.v[i], L)) {
			list_free(L);
			continue;
		}
		for (j = 0; j < s->n; j++)
			if (strcmp(s->lists[j].zone, L->zone) == 0)
				break;
		if (j < s->n) {
			pfl_errors_add(&e, cfg->path, l.line,
			    "Dnsbl: the zone %s is already on line %d", L->zone,
			    s->lists[j].line);
			list_free(L);
			continue;
		}
		if (L->kind == PFL_DNSBL_IP)
			s->nip++;
		else
			s->ndomain++;
		s->n++;
	}
out:
	if ((*errors_r = pfl_errors_take(&e)) != NULL)
		pfl_dnsbl_set_free(&s);
	return s;
}

/* pfl_dnsbl_set_free - free a set */
void
pfl_dnsbl_set_free(struct pfl_dnsbl_set **sp)
{
	struct pfl_dnsbl_set *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		list_free(&s->lists[i]);
	free(s->lists);
	pfl_dns_free(&s->dns);
	free(s);
	*sp = NULL;
}

/* pfl_dnsbl_query_name - the name to ask a list about subject */
int
pfl_dnsbl_query_name(
    const struct pfl_dnsbl_list *L, const char *subject, char *dst, size_t n)
{
	char rev[128], *end;
	struct in6_addr a6;
	struct in_addr a4;
	int len;

	if (L->kind == PFL_DNSBL_IP) {
		if (inet_pton(AF_INET, subject, &a4) != 1 &&
		    inet_pton(AF_INET6, subject, &a6) != 1)
			return -1;
		if (pfl_dns_reverse_name(subject, rev, sizeof(rev)) < 0 ||
		    ((end = strstr(rev, ".in-addr.arpa")) == NULL &&
			(end = strstr(rev, ".ip6.arpa")) == NULL))
			return -1;
		*end = '\0';
		len = snprintf(dst, n, "%s.%s", rev, L->zone);
	} else {
		if (inet_pton(AF_INET, subject, &a4) == 1 ||
		    inet_pton(AF_INET6, subject, &a6) == 1)
			return -1;
		len = snprintf(dst, n, "%s.%s", subject, L->zone);
	}
	if (len < 0 || (size_t)len >= n || !pfl_dns_name_ok(dst))
		return -1;
	return 0;
}

/* code_label - the meaning of a listing code, or NULL when it is none */
static const char *
code_label(const struct pfl_dnsbl_list *L, uint32_t a)
{
	size_t i;

	if (L->ncodes == 0)
		return "";
	for (i = 0; i < L->ncodes; i++)
		if (a >= L->codes[i].lo && a <= L->codes[i].hi)
			return L->codes[i].label;
	return NULL;
}

/* error_meaning - why an answer is an error code, or NULL when it is not */
static const char *
error_meaning(const struct pfl_dnsbl_list *L, uint32_t a)
{
	if ((a >> 24) != 127)
		return "the answer is outside 127.0.0.0/8 (a wildcard, or a "
		       "resolver that rewrites NXDOMAIN)";
	if (a == IP4(127, 255, 255, 252))
		return "typing error in the list's zone name (or the DQS key)";
	if (a == IP4(127, 255, 255, 254))
		return "queries are going through a public resolver; use a "
		       "local recursive resolver or the list's own access "
		       "(DQS)";
	if (a == IP4(127, 255, 255, 255))
		return "too many queries from this resolver";
	if ((a >> 8) == IP4(0, 127, 255, 255))
		return "the list answers with an error code";
	if (L->kind == PFL_DNSBL_DOMAIN && a == IP4(127, 0, 1, 255))
		return "an IP address was asked of a domain list";
	return NULL;
}

/* has_word - is word one of buf's comma-separated words? */
static bool
has_word(const char *buf, const char *word)
{
	size_t wl = strlen(word);
	const char *p;

	for (p = buf; (p = strstr(p, word)) != NULL; p++)
		if ((p == buf || p[-1] == ',') &&
		    (p[wl] == ',' || p[wl] == '\0'))
			return true;
	return false;
}

/* append - add ",word" (or "word") to buf, if it is not there yet */
static void
append(char *buf, size_t n, const char *word)
{
	size_t len = strlen(buf);

	if (*word == '\0' || has_word(buf, word))
		return;
	snprintf(buf + len, n - len, "%s%s", len ? "," : "", word);
}

/* pfl_dnsbl_classify - what an A answer to a list's query means */
void
pfl_dnsbl_classify(const struct pfl_dnsbl_list *L,
    const struct pfl_dns_answer *ans, struct pfl_dnsbl_answer *r)
{
	const char *label, *err = NULL;
	char text[INET_ADDRSTRLEN], errcode[16] = "";
	uint32_t a;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->ttl = ans->ttl;
	switch (ans->status) {
	case PFL_DNS_NOTFOUND:
		r->state = PFL_DNSBL_CLEAN;
		return;
	case PFL_DNS_TEMPFAIL:
	case PFL_DNS_PERMFAIL:
		r->state = PFL_DNSBL_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "%s",
		    *ans->why ? ans->why : pfl_dns_status_name(ans->status));
		return;
	case PFL_DNS_OK:
		break;
	}
	r->state = PFL_DNSBL_CLEAN;
	for (i = 0; i < ans->count; i++) {
		if (ans->addr[i].family != AF_INET)
			continue;
		a = ntohl(ans->addr[i].a.v4.s_addr);
		inet_ntop(AF_INET, &ans->addr[i].a.v4, text, sizeof(text));
		if ((label = error_meaning(L, a)) != NULL) {
			if (err == NULL) {
				err = label;
				pfl_strlcpy(errcode, text, sizeof(errcode));
			}
			continue;
		}
		if ((label = code_label(L, a)) == NULL)
			continue; /* a code that is not a listing */
		if (r->state != PFL_DNSBL_LISTED)
			pfl_strlcpy(r->code, text, sizeof(r->code));
		r->state = PFL_DNSBL_LISTED;
		append(r->label, sizeof(r->label), label);
	}
	if (r->state == PFL_DNSBL_LISTED || err == NULL)
		return;
	r->state = PFL_DNSBL_CANNOT_TELL;
	pfl_strlcpy(r->code, errcode, sizeof(r->code));
	snprintf(r->why, sizeof(r->why), "%s", err);
}

/* pfl_dnsbl_lookup - ask a list about subject */
void
pfl_dnsbl_lookup(const struct pfl_dnsbl_list *L, const char *subject,
    struct pfl_dnsbl_answer *r)
{
	struct pfl_dns_answer *ans;
	char name[300];

	if (pfl_dnsbl_query_name(L, subject, name, sizeof(name)) < 0) {
		memset(r, 0, sizeof(*r));
		r->state = PFL_DNSBL_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "cannot ask %s about it",
		    L->kind == PFL_DNSBL_IP ? "an IP list" : "a domain list");
		return;
	}
	ans = pfl_dns_query(L->dns, name, PFL_DNS_T_A);
	pfl_dnsbl_classify(L, ans, r);
	pfl_dns_answer_free(&ans);
}

/* pfl_dnsbl_health - ask a list its test entries */
void
pfl_dnsbl_health(const struct pfl_dnsbl_list *L, struct pfl_dnsbl_answer *r)
{
	struct pfl_dnsbl_answer t;

	memset(r, 0, sizeof(*r));
	r->state = PFL_DNSBL_CLEAN;
	if (L->test_listed == NULL)
		return;
	pfl_dnsbl_lookup(L, L->test_listed, &t);
	if (t.state == PFL_DNSBL_TEMPFAIL || t.state == PFL_DNSBL_CANNOT_TELL) {
		*r = t;
		return;
	}
	if (t.state != PFL_DNSBL_LISTED) {
		r->state = PFL_DNSBL_UNHEALTHY;
		snprintf(r->why, sizeof(r->why),
		    "its test entry %s is not listed", L->test_listed);
		return;
	}
	pfl_dnsbl_lookup(L, L->test_clean, &t);
	if (t.state == PFL_DNSBL_TEMPFAIL || t.state == PFL_DNSBL_CANNOT_TELL) {
		*r = t;
		return;
	}
	if (t.state == PFL_DNSBL_LISTED) {
		r->state = PFL_DNSBL_UNHEALTHY;
		snprintf(r->why, sizeof(r->why),
		    "%s, which must never be listed, is listed (%s): the list "
		    "may be listing everything",
		    L->test_clean, t.code);
	}
}

static const char *const state_names[] = {
	"unknown",
	"clean",
	"tempfail",
	"cannot-tell",
	"unhealthy",
	"listed",
};

/* pfl_dnsbl_state_name - the name of a state */
const char *
pfl_dnsbl_state_name(enum pfl_dnsbl_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0])
	    ? state_names[s]
	    : "?";
}

/* pfl_dnsbl_state_parse - the state of a name */
int
pfl_dnsbl_state_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}

/* pfl_dnsbl_providers_text - a provider mask as text */
char *
pfl_dnsbl_providers_text(unsigned providers, char *buf, size_t n)
{
	static const enum pfl_provider order[] = { PFL_PROV_APPLE,
		PFL_PROV_DEFAULT, PFL_PROV_GOOGLE, PFL_PROV_MICROSOFT,
		PFL_PROV_YAHOO };
	size_t i;

	*buf = '\0';
	if ((providers & ALL_PROVIDERS) == ALL_PROVIDERS) {
		pfl_strlcpy(buf, "*", n);
		return buf;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (providers & PROV(order[i]))
			append(buf, n, pfl_provider_name(order[i]));
	return buf;
}
