/*
 * NAME
 *	cli_check_domain - preflight check-domain: audit a sending domain
 * SYNOPSIS
 *	preflight check-domain [-c FILE] [--egress-ip IP...]
 *	    [--selector S...] [--nameserver IP[@PORT]] DOMAIN
 * DESCRIPTION
 *	Looks at DOMAIN the way receivers look at mail from it, through the
 *	same library as the milter, and prints one line per finding:
 *
 *	    ok|warn|FAIL AREA: what was found[; fix: what to change]
 *
 *	DNS: the domain exists. SPF: one record; the result for each egress
 *	address (--egress-ip, else EgressAddresses) with a postmaster@DOMAIN
 *	sender; DNS and void lookups against the RFC 7208 limits and
 *	entries Gmail calls suspicious, from an evaluation of the whole
 *	record (as for an address it does not list). DKIM: the key of each
 *	--selector, else the key the config's signer tables pick for
 *	DOMAIN (then also checked against the private key): present, at
 *	least 1024 bits, not t=y, not revoked. DMARC: the record and its
 *	policy, pct, t=y and rua, the Organizational Domain by the DNS tree
 *	walk and by the Public Suffix List. MX: the records and the
 *	provider they belong to.
 *
 *	Options and config as for check-message (cli_check.c).
 *
 *	Exit status: 0 when nothing FAILs, 1 otherwise, 64 usage, 78 bad
 *	config.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_check.h"
#include "config.h"
#include "ctx.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "orgdomain.h"
#include "provider.h"
#include "spf.h"
#include "util.h"

/* An address that no record lists: probing with it evaluates a whole record. */
#define PROBE_IP "240.0.0.1"

#define DNS_FIX "make the domain's name servers answer"

enum level { L_OK, L_WARN, L_FAIL };

/* The audit of one domain. */
struct audit {
	struct pfl_ctx *ctx;
	const char *domain; /* normalized */
	unsigned nfail;
};

static void say(struct audit *, enum level, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* say - one finding: "ok|warn|FAIL AREA: what[; fix: FIX]", printable */
static void
say(struct audit *a, enum level lv, const char *area, const char *fix,
    const char *fmt, ...)
{
	static const char *names[] = { "ok", "warn", "FAIL" };
	va_list ap;

	va_start(ap, fmt);
	pfl_cli_vsay(names[lv], 4, area, fix, fmt, ap);
	va_end(ap);
	if (lv == L_FAIL)
		a->nfail++;
}

/* spf_term - "ip4:ADDR" or "ip6:ADDR" into buf (size n) */
static char *
spf_term(const char *ip, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%s", strchr(ip, ':') ? "ip6" : "ip4", ip);
	return buf;
}

/* spf_suggest - the record to publish: fix text into buf (size n) */
static char *
spf_suggest(const struct audit *a, char *buf, size_t n)
{
	const struct pfl_strlist *eg = &a->ctx->cfg->egress_addresses;
	char terms[512] = "", t[64];
	size_t i, len = 0;

	for (i = 0; i < eg->n && len < sizeof(terms); i++)
		len += (size_t)snprintf(terms + len, sizeof(terms) - len, "%s ",
		    spf_term(eg->v[i], t, sizeof(t)));
	snprintf(buf, n, "publish \"v=spf1 %s-all\" at %s",
	    eg->n ? terms : "ip4:<egress address> ", a->domain);
	return buf;
}

/* is_spf - is the TXT record an SPF record (v=spf1)? */
static bool
is_spf(const char *t, size_t len)
{
	return len >= 6 && strncasecmp(t, "v=spf1", 6) == 0 &&
	    (len == 6 || t[6] == ' ');
}

/* spf_record - is there exactly one SPF record? Says so either way. */
static bool
spf_record(struct audit *a)
{
	struct pfl_dns_answer *ans =
	    pfl_dns_query(a->ctx->dns, a->domain, PFL_DNS_T_TXT);
	size_t i, found = 0, which = 0;
	char fix[600];

	if (ans->status == PFL_DNS_TEMPFAIL)
		say(a, L_FAIL, "SPF", DNS_FIX,
		    "the TXT lookup for %s failed (%s): receivers answer "
		    "temperror",
		    a->domain, ans->why);
	for (i = 0; ans->status == PFL_DNS_OK && i < ans->count; i++)
		if (is_spf(ans->txt[i], ans->txt_len[i]) && found++ == 0)
			which = i;
	if (ans->status != PFL_DNS_TEMPFAIL && found == 0)
		say(a, L_FAIL, "SPF", spf_suggest(a, fix, sizeof(fix)),
		    "no SPF record at %s: receivers answer none", a->domain);
	else if (found > 1)
		say(a, L_FAIL, "SPF", "merge them into one record",
		    "%zu SPF records at %s: receivers answer permerror", found,
		    a->domain);
	else if (found == 1)
		say(a, L_OK, "SPF", NULL, "record at %s: %.600s", a->domain,
		    ans->txt[which]);
	pfl_dns_answer_free(&ans);
	return found == 1;
}

/* spf_limits - what evaluating the whole record says about the record */
static void
spf_limits(struct audit *a, const struct pfl_spf_result *r)
{
	enum level lv = L_OK;
	const char *fix = NULL;

	if (r->code == PFL_SPF_TEMPERROR) {
		say(a, L_FAIL, "SPF",
		    "make the name servers of the domain and of every "
		    "included domain answer",
		    "evaluating the record met a DNS failure: %s", r->reason);
		return;
	}
	if (r->dns_lookups > PFL_SPF_MAX_DNS_TERMS ||
	    r->void_lookups > PFL_SPF_MAX_VOID)
		lv = L_FAIL;
	else if (r->dns_lookups >= PFL_SPF_MAX_DNS_TERMS - 2 ||
	    r->void_lookups > 0)
		lv = L_WARN;
	if (r->dns_lookups >= PFL_SPF_MAX_DNS_TERMS - 2)
		fix = "flatten includes or drop unused ones: at most 10 terms "
		      "may query DNS";
	else if (r->void_lookups > 0)
		fix = "remove the terms that name domains without records";
	say(a, lv, "SPF", fix,
	    "%u DNS lookups (limit %d), %u void lookups (limit %d)%s",
	    r->dns_lookups, PFL_SPF_MAX_DNS_TERMS, r->void_lookups,
	    PFL_SPF_MAX_VOID,
	    lv == L_FAIL ? ": over the limit, receivers answer permerror" : "");
	if (r->suspicious)
		say(a, L_FAIL, "SPF",
		    "list only your own networks and end with -all or ~all",
		    "suspicious entry: %s: Gmail refuses such mail (550 "
		    "5.7.24)",
		    r->suspicious_why);
	else if (r->code == PFL_SPF_PERMERROR && lv != L_FAIL)
		say(a, L_FAIL, "SPF", "correct the record",
		    "the record is broken (%s): receivers answer permerror",
		    r->reason);
}

/* spf_address - the result for one egress address */
static void
spf_address(struct audit *a, const char *ip, const char *sender)
{
	struct pfl_spf_result r;
	char fix[400], t[64];

	pfl_spf_check(a->ctx->dns, ip, a->ctx->cfg->egress_helo, sender, &r);
	if (r.code == PFL_SPF_PASS)
		say(a, L_OK, "SPF", NULL, "%s passes (%s)", ip, r.mechanism);
	else if (r.code == PFL_SPF_TEMPERROR)
		say(a, L_FAIL, "SPF", DNS_FIX, "%s: temperror (%s)", ip,
		    r.reason);
	else if (r.code == PFL_SPF_PERMERROR)
		say(a, L_FAIL, "SPF", "correct the record",
		    "%s gets permerror (%s)", ip, r.reason);
	else {
		snprintf(fix, sizeof(fix), "add %s to the SPF record of %s",
		    spf_term(ip, t, sizeof(t)), a->domain);
		say(a, L_FAIL, "SPF", fix, "%s gets %s (%s)", ip,
		    pfl_spf_code_name(r.code), r.reason);
	}
}

/* audit_exists - does the domain exist at all? Says so when it does not. */
static bool
audit_exists(struct audit *a)
{
	struct pfl_dns_answer *ans =
	    pfl_dns_query(a->ctx->dns, a->domain, PFL_DNS_T_TXT);
	bool nx = ans->nxdomain;

	if (nx)
		say(a, L_FAIL, "DNS", "send from a domain that exists",
		    "%s does not exist (NXDOMAIN): receivers refuse its mail",
		    a->domain);
	pfl_dns_answer_free(&ans);
	return !nx;
}

/* audit_spf - the record, its limits, each egress address */
static void
audit_spf(struct audit *a)
{
	const struct pfl_strlist *eg = &a->ctx->cfg->egress_addresses;
	struct pfl_spf_result probe;
	char sender[300];
	size_t i;

	if (!spf_record(a))
		return;
	snprintf(sender, sizeof(sender), "postmaster@%s", a->domain);
	pfl_spf_check(
	    a->ctx->dns, PROBE_IP, a->ctx->cfg->egress_helo, sender, &probe);
	spf_limits(a, &probe);
	if (eg->n == 0)
		say(a, L_WARN, "SPF",
		    "name them with --egress-ip or EgressAddresses",
		    "no egress addresses: which of them pass is not checked");
	for (i = 0; i < eg->n; i++)
		spf_address(a, eg->v[i], sender);
}

/*
 * key_words - what is wrong with a key in state st into what (size n),
 * and its fix; detail is the library's phrase, used where it says more
 */
static const char *
key_words(enum pfl_dkim_keystate st, unsigned bits, const char *detail,
    char *what, size_t n)
{
	const char *w = NULL, *fix;

	switch (st) {
	case PFL_DKIM_KEY_NOTFOUND:
		w = "no key record";
		fix = "publish the public key as a TXT record there";
		break;
	case PFL_DKIM_KEY_WEAK:
		snprintf(what, n,
		    "%u bits: receivers refuse keys under 1024 bits", bits);
		return "publish a 2048-bit key and sign with it";
	case PFL_DKIM_KEY_TESTMODE:
		w = "in test mode (t=y): receivers treat the mail as unsigned";
		fix = "remove t=y from the key record";
		break;
	case PFL_DKIM_KEY_REVOKED:
		w = "revoked (empty p=)";
		fix = "sign with a selector whose key is published";
		break;
	case PFL_DKIM_KEY_MISMATCH:
		w = "the published key is not the signing key";
		fix = "publish the public half of the signing key";
		break;
	case PFL_DKIM_KEY_TEMPFAIL:
		fix = DNS_FIX;
		break;
	case PFL_DKIM_KEY_BADRECORD:
		fix = "publish one record \"v=DKIM1; k=rsa; p=KEY\"";
		break;
	default:
		fix = "check the signer's KeyTable";
		break;
	}
	pfl_strlcpy(what, w ? w : detail, n);
	return fix;
}

/* dkim_key - one key: selector._domainkey.domain (keyfile may be NULL) */
static void
dkim_key(struct audit *a, const char *domain, const char *selector,
    const char *keyfile)
{
	enum pfl_dkim_keystate st;
	char detail[256], what[256];
	const char *fix;
	unsigned bits;

	st = pfl_dkim_key_check(a->ctx->dkim, domain, selector, keyfile, &bits,
	    detail, sizeof(detail));
	if (st == PFL_DKIM_KEY_OK)
		say(a, L_OK, "DKIM", NULL,
		    "key %s._domainkey.%s: %u bits, matches the signing key",
		    selector, domain, bits);
	else if (st == PFL_DKIM_KEY_UNCHECKED)
		say(a, keyfile ? L_WARN : L_OK, "DKIM", NULL,
		    "key %s._domainkey.%s: %u bits, usable%s%s", selector,
		    domain, bits, keyfile ? "; " : "", keyfile ? detail : "");
	else {
		fix = key_words(st, bits, detail, what, sizeof(what));
		say(a, L_FAIL, "DKIM", fix, "key %s._domainkey.%s: %s",
		    selector, domain, what);
	}
}

/* audit_dkim - each --selector, else the key the signer would use */
static void
audit_dkim(struct audit *a, const struct pfl_cli_opts *o)
{
	struct pfl_dkim_signkey key;
	char addr[300];
	size_t i;

	for (i = 0; i < o->nselector; i++)
		dkim_key(a, a->domain, o->selector[i], NULL);
	if (o->nselector > 0)
		return;
	snprintf(addr, sizeof(addr), "postmaster@%s", a->domain);
	if (a->ctx->signer == NULL)
		say(a, L_WARN, "DKIM",
		    "name the signer's selectors with --selector",
		    "no selector given and no signer tables: keys not checked");
	else if (!pfl_dkim_signer_match(a->ctx->signer, addr, &key))
		say(a, L_FAIL, "DKIM",
		    "add the domain to the signer's SigningTable",
		    "the signer's tables sign no mail from %s", a->domain);
	else
		dkim_key(a, key.domain, key.selector,
		    key.keyfile[0] ? key.keyfile : NULL);
}

/* dmarc_has_rua - does the record at _dmarc.domain ask for reports? */
static bool
dmarc_has_rua(struct audit *a, const char *domain)
{
	struct pfl_dmarc_record rec;
	struct pfl_dns_answer *ans;
	char name[PFL_DOMAIN_SIZE + 8];
	bool rua = true; /* when in doubt, say nothing */
	int i;

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	ans = pfl_dns_query(a->ctx->dns, name, PFL_DNS_T_TXT);
	if (ans->status == PFL_DNS_OK &&
	    (i = pfl_dmarc_record_select((const char *const *)ans->txt,
		 ans->txt_len, ans->count)) >= 0 &&
	    pfl_dmarc_record_parse(ans->txt[i], ans->txt_len[i], &rec) == 0)
		rua = rec.has_rua;
	pfl_dns_answer_free(&ans);
	return rua;
}

/* dmarc_policy - what the record found says, and what to change */
static void
dmarc_policy(struct audit *a, const struct pfl_dmarc_result *r)
{
	char where[PFL_DOMAIN_SIZE + 64];

	snprintf(where, sizeof(where), "%s= of the record at _dmarc.%s",
	    r->policy_tag, r->record_domain);
	if (r->published == PFL_DMARC_P_NONE)
		say(a, L_WARN, "DMARC",
		    "move to p=quarantine, then p=reject, once the reports "
		    "show only your own mail",
		    "policy none (%s): receivers do nothing with mail that "
		    "fails",
		    where);
	else
		say(a, L_OK, "DMARC", NULL, "policy %s (%s)",
		    pfl_dmarc_policy_name(r->published), where);
	if (r->testing)
		say(a, L_WARN, "DMARC", "remove t=y when testing is done",
		    "t=y: receivers apply one policy level less");
	if (r->pct < 100)
		say(a, L_WARN, "DMARC", "remove pct= (or set pct=100)",
		    "pct=%u: receivers may apply the policy to a part of the "
		    "mail only",
		    r->pct);
	if (!dmarc_has_rua(a, r->record_domain))
		say(a, L_WARN, "DMARC",
		    "add rua=mailto:ADDRESS to receive aggregate reports",
		    "no rua=: you get no reports of who sends as %s",
		    a->domain);
}

/* audit_dmarc - the record, its policy, the Organizational Domain */
static void
audit_dmarc(struct audit *a)
{
	struct pfl_dmarc_result r;
	char fix[400];

	pfl_dmarc_check(
	    a->ctx->dns, a->domain, NULL, PFL_DMARC_SPF_NONE, NULL, 0, &r);
	if (r.result == PFL_DMARC_TEMPERROR)
		say(a, L_FAIL, "DMARC", DNS_FIX, "lookup failed: %s", r.why);
	else if (r.result == PFL_DMARC_PERMERROR)
		say(a, L_FAIL, "DMARC", "correct the record",
		    "unusable record: %s", r.why);
	else if (!r.record_found) {
		snprintf(fix, sizeof(fix),
		    "publish \"v=DMARC1; p=none; rua=mailto:ADDRESS\" at "
		    "_dmarc.%s",
		    r.org_domain_walk[0] ? r.org_domain_walk : a->domain);
		say(a, L_FAIL, "DMARC", fix,
		    "no DMARC record for %s: bulk mail without one is "
		    "refused (Gmail: 550 5.7.40)",
		    a->domain);
	} else
		dmarc_policy(a, &r);
	if (r.org_differs)
		say(a, L_WARN, "DMARC",
		    "publish a record at the domain itself so both agree",
		    "Organizational Domain %s by the DNS tree walk but %s by "
		    "the Public Suffix List: receivers disagree",
		    r.org_domain_walk, r.org_domain_psl);
	else if (r.org_domain_walk[0])
		say(a, L_OK, "DMARC", NULL, "Organizational Domain %s",
		    r.org_domain_walk);
}

/* mx_none - no MX record: is there an address to deliver to instead? */
static void
mx_none(struct audit *a)
{
	struct pfl_dns_answer *v4, *v6;

	v4 = pfl_dns_query(a->ctx->dns, a->domain, PFL_DNS_T_A);
	v6 = pfl_dns_query(a->ctx->dns, a->domain, PFL_DNS_T_AAAA);
	if (v4->status == PFL_DNS_OK || v6->status == PFL_DNS_OK)
		say(a, L_WARN, "MX",
		    "publish an MX record for the host that takes its mail",
		    "no MX record: mail to %s goes to its address record",
		    a->domain);
	else
		say(a, L_FAIL, "MX", "publish an MX record",
		    "no MX and no address record: replies and bounces to %s "
		    "cannot be delivered, and receivers may refuse its mail",
		    a->domain);
	pfl_dns_answer_free(&v4);
	pfl_dns_answer_free(&v6);
}

/* audit_mx - the MX records and the provider they belong to */
static void
audit_mx(struct audit *a)
{
	struct pfl_dns_answer *ans =
	    pfl_dns_query(a->ctx->dns, a->domain, PFL_DNS_T_MX);
	struct pfl_provider_match m;
	char list[600] = "";
	size_t i, len = 0;

	if (ans->status == PFL_DNS_TEMPFAIL)
		say(a, L_FAIL, "MX", DNS_FIX, "MX lookup failed (%s)",
		    ans->why);
	else if (ans->status != PFL_DNS_OK)
		mx_none(a);
	else if (ans->count == 1 && ans->mx[0].host[0] == '\0')
		say(a, L_WARN, "MX",
		    "publish a real MX if you want replies and bounces",
		    "null MX (RFC 7505): %s takes no mail, and some receivers "
		    "refuse mail from such domains",
		    a->domain);
	else {
		for (i = 0; i < ans->count && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%u %s", i ? ", " : "", ans->mx[i].pref,
			    ans->mx[i].host);
		pfl_provider_for_domain(
		    a->ctx->providers, a->ctx->dns, a->domain, &m);
		if (m.provider == PFL_PROV_DEFAULT)
			say(a, L_OK, "MX", NULL,
			    "%s (none of the big providers)", list);
		else
			say(a, L_OK, "MX", NULL, "%s (%s%s, known by its %s)",
			    list, pfl_provider_name(m.provider),
			    m.tenant ? " business tenant" : "",
			    m.via == PFL_VIA_MX ? "MX host" : "domain");
	}
	pfl_dns_answer_free(&ans);
}

/* domain_usage - the synopsis */
static int
domain_usage(void)
{
	fprintf(stderr,
	    "usage: preflight check-domain [-c FILE] [--egress-ip IP...] "
	    "[--selector S...]\n"
	    "           [--nameserver IP[@PORT]] DOMAIN\n");
	return EX_USAGE;
}

/* pfl_cli_check_domain - the check-domain subcommand */
int
pfl_cli_check_domain(int argc, char **argv)
{
	char domain[PFL_DOMAIN_SIZE];
	struct audit a = { NULL, domain, 0 };
	struct pfl_cli_opts o;
	int i;

	if ((i = pfl_cli_check_opts(argc, argv, "cens", &o)) < 0 ||
	    argc - i != 1 ||
	    pfl_orgdomain_normalize(argv[i], domain, sizeof(domain)) < 0)
		return domain_usage();
	if ((a.ctx = pfl_cli_check_ctx(&o)) == NULL)
		return EX_CONFIG;
	if (audit_exists(&a)) {
		audit_spf(&a);
		audit_dkim(&a, &o);
		audit_dmarc(&a);
		audit_mx(&a);
	}
	pfl_ctx_unref(a.ctx);
	return a.nfail > 0 ? 1 : 0;
}
