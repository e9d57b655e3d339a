/*
 * test_dmarc - the DMARC Policy Record, alignment, policy choice, the
 * whole evaluation over a table of DNS answers, and libopendmarc 1.4.2's
 * known bugs next to our answer for the same input
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <opendmarc/dmarc.h>

#include "dmarc.h"
#include "dns.h"

/* parse - a NUL-terminated record; asserts it is one */
static struct pfl_dmarc_record
parse(const char *txt)
{
	struct pfl_dmarc_record r;

	assert_int_equal(pfl_dmarc_record_parse(txt, strlen(txt), &r), 0);
	return r;
}

/* not_dmarc - is txt refused as a DMARC record? */
static bool
not_dmarc(const char *txt)
{
	struct pfl_dmarc_record r;

	return pfl_dmarc_record_parse(txt, strlen(txt), &r) == -1;
}

static void
test_record_full(void **state)
{
	struct pfl_dmarc_record r = parse(
	    "v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=r; "
	    "pct=50; t=y; psd=n; rua=mailto:d@example.com; fo=1; ruf=mailto:"
	    "f@example.com");

	assert_int_equal(r.p, PFL_DMARC_P_REJECT);
	assert_int_equal(r.p_state, PFL_DMARC_TAG_VALID);
	assert_int_equal(r.sp, PFL_DMARC_P_QUARANTINE);
	assert_int_equal(r.np, PFL_DMARC_P_NONE);
	assert_int_equal(r.np_state, PFL_DMARC_TAG_VALID);
	assert_int_equal(r.adkim, 's');
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.pct, 50);
	assert_true(r.pct_set);
	assert_true(r.testing);
	assert_int_equal(r.psd, 'n');
	assert_true(r.has_rua);
	assert_int_equal(r.ignored, 0);

	r = parse("v=DMARC1");
	assert_int_equal(r.p_state, PFL_DMARC_TAG_ABSENT);
	assert_int_equal(r.adkim, 'r');
	assert_int_equal(r.psd, 'u');
	assert_int_equal(r.pct, 100);
	assert_false(r.pct_set);
	/* ABNF keywords ignore case; white space around ";" and "=" */
	r = parse("V = DMARC1 ;P = Reject ; ADKIM=S;  ");
	assert_int_equal(r.p, PFL_DMARC_P_REJECT);
	assert_int_equal(r.adkim, 's');
}

static void
test_record_version(void **state)
{
	/* v=DMARC1 must come first; the value is case-sensitive */
	assert_true(not_dmarc("p=reject; v=DMARC1"));
	assert_true(not_dmarc("v=dmarc1; p=reject"));
	assert_true(not_dmarc("v=DMARC1x; p=reject"));
	assert_true(not_dmarc("v=DMARC10"));
	assert_true(not_dmarc("v=spf1 -all"));
	assert_true(not_dmarc(""));
	assert_false(not_dmarc(" v=DMARC1;p=none"));
}

static void
test_record_tolerance(void **state)
{
	struct pfl_dmarc_record r;
	static const char nul[] = "v=DMARC1; p=reject; aspf=s\0x; adkim=s";

	/* unknown tags are ignored, known unused ones silently */
	r = parse("v=DMARC1; p=none; foo=bar; rf=iodef; ri=86400");
	assert_int_equal(r.ignored, 1);
	assert_int_equal(r.aspf, 'r');
	/* bad values fall back to the defaults */
	r = parse("v=DMARC1; p=reject; adkim=x; aspf=strict; pct=101; "
		  "t=maybe; psd=q");
	assert_int_equal(r.adkim, 'r');
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.pct, 100);
	assert_false(r.pct_set);
	assert_false(r.testing);
	assert_int_equal(r.psd, 'u');
	assert_int_equal(parse("v=DMARC1; pct=-5").pct, 100);
	assert_int_equal(parse("v=DMARC1; pct=0").pct, 0);
	/* a repeated tag: the first counts */
	r = parse("v=DMARC1; p=none; p=reject");
	assert_int_equal(r.p, PFL_DMARC_P_NONE);
	assert_int_equal(r.ignored, 1);
	/* no "=", no name, a control character: that tag is ignored */
	r = parse("v=DMARC1; p reject; =x; sp=re\tject; np=\x01; adkim=s;;");
	assert_int_equal(r.p_state, PFL_DMARC_TAG_ABSENT);
	assert_int_equal(r.sp_state, PFL_DMARC_TAG_ABSENT);
	assert_int_equal(r.np_state, PFL_DMARC_TAG_ABSENT);
	assert_int_equal(r.ignored, 5); /* the empty tag of ";;" too */
	/* a well-formed value that is no policy */
	assert_int_equal(
	    parse("v=DMARC1; sp=re ject").sp_state, PFL_DMARC_TAG_INVALID);
	assert_int_equal(r.adkim, 's');
	/* a NUL byte inside a value spoils that tag only */
	assert_int_equal(pfl_dmarc_record_parse(nul, sizeof(nul) - 1, &r), 0);
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.adkim, 's');
	/* no prefix matching of values, as libopendmarc does ("p=rej") */
	assert_int_equal(
	    parse("v=DMARC1; p=rej").p_state, PFL_DMARC_TAG_INVALID);
	/* lengths are honoured: the record ends where len says */
	assert_int_equal(
	    pfl_dmarc_record_parse("v=DMARC1; p=reject", 15, &r), 0);
	assert_int_equal(r.p_state, PFL_DMARC_TAG_INVALID);
	/* rua needs a URI with a scheme */
	assert_false(parse("v=DMARC1; rua=d@example.com").has_rua);
	assert_true(
	    parse("v=DMARC1; rua=bad, mailto:d@example.com!10m").has_rua);
}

static void
test_record_select(void **state)
{
	const char *txt[3] = { "v=spf1 -all", "v=DMARC1; p=none",
		"v=DMARC1; p=reject" };
	size_t len[3] = { 11, 16, 18 };

	assert_int_equal(pfl_dmarc_record_select(txt, len, 2), 1);
	assert_int_equal(pfl_dmarc_record_select(txt, len, 1), -1);
	/* two DMARC records: all are discarded */
	assert_int_equal(pfl_dmarc_record_select(txt, len, 3), -2);
	assert_int_equal(pfl_dmarc_record_select(txt, len, 0), -1);
}

static void
test_record_usable(void **state)
{
	struct pfl_dmarc_record r;

	r = parse("v=DMARC1; p=bogus");
	assert_false(pfl_dmarc_record_usable(&r));
	r = parse("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com");
	assert_true(pfl_dmarc_record_usable(&r));
	assert_int_equal(r.p, PFL_DMARC_P_NONE); /* read as p=none */
	assert_int_equal(r.sp_state, PFL_DMARC_TAG_ABSENT);
	r = parse("v=DMARC1; p=reject; np=bogus; rua=nourl");
	assert_false(pfl_dmarc_record_usable(&r));
	/* an absent p= is p=none (RFC 9989 section 4.7) */
	r = parse("v=DMARC1; adkim=s");
	assert_true(pfl_dmarc_record_usable(&r));
	assert_int_equal(r.p, PFL_DMARC_P_NONE);
}

static void
test_record_canon(void **state)
{
	struct pfl_dmarc_record r =
	    parse("v=DMARC1; rf=iodef; p=quarantine; sp=none; pct=20; adkim=s");
	char buf[128];

	pfl_dmarc_record_canon(&r, buf, sizeof(buf));
	assert_string_equal(buf,
	    "v=DMARC1; p=quarantine; sp=none; adkim=s; "
	    "aspf=r; pct=20");
	r = parse("v=DMARC1");
	pfl_dmarc_record_canon(&r, buf, sizeof(buf));
	assert_string_equal(buf, "v=DMARC1; p=none; adkim=r; aspf=r; pct=100");
}

static void
test_aligned_and_policy(void **state)
{
	struct pfl_dmarc_record r =
	    parse("v=DMARC1; p=reject; sp=quarantine; np=none");
	const char *tag;

	assert_true(pfl_dmarc_aligned(
	    's', "example.com", "example.com", "EXAMPLE.com", "example.com"));
	assert_false(pfl_dmarc_aligned('s', "example.com", "example.com",
	    "mail.example.com", "example.com"));
	assert_true(pfl_dmarc_aligned('r', "example.com", "example.com",
	    "mail.example.com", "example.com"));
	assert_false(pfl_dmarc_aligned(
	    'r', "example.com", "example.com", "example.net", "example.net"));

	assert_int_equal(pfl_dmarc_policy_pick(&r, true, false, false, &tag),
	    PFL_DMARC_P_REJECT);
	assert_string_equal(tag, "p");
	assert_int_equal(pfl_dmarc_policy_pick(&r, false, true, false, &tag),
	    PFL_DMARC_P_QUARANTINE);
	assert_string_equal(tag, "sp");
	assert_int_equal(pfl_dmarc_policy_pick(&r, false, false, false, &tag),
	    PFL_DMARC_P_NONE);
	assert_string_equal(tag, "np");
	/* RFC 7489 knows no np */
	assert_int_equal(pfl_dmarc_policy_pick(&r, false, false, true, &tag),
	    PFL_DMARC_P_QUARANTINE);
	/* without np: sp; without sp: p */
	r = parse("v=DMARC1; p=reject");
	assert_int_equal(pfl_dmarc_policy_pick(&r, false, false, false, &tag),
	    PFL_DMARC_P_REJECT);
	assert_string_equal(tag, "p");

	assert_int_equal(pfl_dmarc_policy_soften(PFL_DMARC_P_REJECT),
	    PFL_DMARC_P_QUARANTINE);
	assert_int_equal(
	    pfl_dmarc_policy_soften(PFL_DMARC_P_QUARANTINE), PFL_DMARC_P_NONE);
	assert_int_equal(
	    pfl_dmarc_policy_soften(PFL_DMARC_P_NONE), PFL_DMARC_P_NONE);
	assert_string_equal(
	    pfl_dmarc_result_name(PFL_DMARC_TEMPERROR), "temperror");
	assert_string_equal(
	    pfl_dmarc_policy_name(PFL_DMARC_P_QUARANTINE), "quarantine");
}

/* --- the evaluation over a table of DNS answers -------------------------- */

/* One answer: a name and type, a status, up to three TXT records. */
struct rr {
	const char *name;
	int type;
	enum pfl_dns_status status;
	const char *txt[3];
};

#define TXT(n, ...)                                                            \
	{                                                                      \
		n, PFL_DNS_T_TXT, PFL_DNS_OK,                                  \
		{                                                              \
			__VA_ARGS__                                            \
		}                                                              \
	}
#define A(n)                                                                   \
	{                                                                      \
		n, PFL_DNS_T_A, PFL_DNS_OK,                                    \
		{                                                              \
			NULL                                                   \
		}                                                              \
	}
#define FAIL(n, t)                                                             \
	{                                                                      \
		n, t, PFL_DNS_TEMPFAIL,                                        \
		{                                                              \
			NULL                                                   \
		}                                                              \
	}

struct zone {
	const struct rr *rr;
	size_t queries;
};

/* zone_query - answer from the table; anything else is NXDOMAIN */
static struct pfl_dns_answer *
zone_query(void *ctx, const char *name, int type)
{
	struct zone *z = ctx;
	struct pfl_dns_answer *a;
	const struct rr *rr;
	size_t i;

	z->queries++;
	for (rr = z->rr; rr->name; rr++)
		if (strcmp(rr->name, name) == 0 && rr->type == type)
			break;
	if (rr->name == NULL) {
		a = pfl_dns_answer_new(type, PFL_DNS_NOTFOUND);
		a->nxdomain = true;
		return a;
	}
	a = pfl_dns_answer_new(type, rr->status);
	if (rr->status == PFL_DNS_TEMPFAIL)
		strcpy(a->why, "SERVFAIL");
	if (type == PFL_DNS_T_A && rr->status == PFL_DNS_OK) {
		static const unsigned char ip[4] = { 192, 0, 2, 1 };

		pfl_dns_answer_add_addr(a, 2 /* AF_INET */, ip);
	}
	for (i = 0; i < 3 && rr->txt[i]; i++)
		pfl_dns_answer_add_txt(a, rr->txt[i], strlen(rr->txt[i]));
	return a;
}

/* zone_free - release an answer */
static void
zone_free(void *ctx, struct pfl_dns_answer *a)
{
	pfl_dns_answer_free(&a);
}

/* check - evaluate over a table; the number of queries in *queries_r */
static enum pfl_dmarc_res
check(const struct rr *rr, const char *from, const char *spf,
    enum pfl_dmarc_spf spf_res, const char *dkim, struct pfl_dmarc_result *r,
    size_t *queries_r)
{
	struct zone z = { rr, 0 };
	struct pfl_dmarc_resolver res = { zone_query, zone_free, &z };
	const char *d[1] = { dkim };
	enum pfl_dmarc_res rc;

	rc = pfl_dmarc_check_resolver(
	    &res, from, spf, spf_res, d, dkim ? 1 : 0, r);
	if (queries_r)
		*queries_r = z.queries;
	return rc;
}

/* An organization under a PSL suffix, with the usual records. */
static const struct rr org[] = {
	TXT("_dmarc.example.co.uk",
	    "v=DMARC1; p=reject; sp=quarantine; np=none; "
	    "rua=mailto:d@example.co.uk"),
	TXT("_dmarc.news.example.co.uk", "v=DMARC1; p=none; aspf=s"),
	TXT("_dmarc.strict.example.co.uk",
	    "v=DMARC1; p=reject; adkim=s; "
	    "aspf=s"),
	TXT("_dmarc.test.example.co.uk", "v=DMARC1; p=reject; t=y"),
	TXT("_dmarc.sample.example.co.uk", "v=DMARC1; p=quarantine; pct=0"),
	TXT("_dmarc.iodef.example.co.uk", "v=DMARC1; p=reject; rf=iodef"),
	TXT("_dmarc.bad.example.co.uk", "v=DMARC1; p=bogus"),
	TXT("_dmarc.two.example.co.uk", "v=DMARC1; p=reject",
	    "v=DMARC1; p=none"),
	TXT("_dmarc.dept.example.co.uk", "v=DMARC1; p=quarantine; psd=n"),
	A("example.co.uk"), A("shop.example.co.uk"), A("mail.example.co.uk"),
	A("x.dept.example.co.uk"),
	TXT("_dmarc.ok.flaky.example.co.uk", "v=DMARC1; p=reject"),
	FAIL("_dmarc.broken.example.co.uk", PFL_DNS_T_TXT),
	FAIL("_dmarc.flaky.example.co.uk", PFL_DNS_T_TXT),
	FAIL("gone.example.co.uk", PFL_DNS_T_A), { NULL, 0, 0, { NULL } }
};

static void
test_check_policies(void **state)
{
	struct pfl_dmarc_result r;

	/* the org domain itself, nothing aligned: p=reject */
	assert_int_equal(check(org, "example.co.uk", "example.net",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_FAIL);
	assert_int_equal(r.applied, PFL_DMARC_P_REJECT);
	assert_string_equal(r.policy_tag, "p");
	assert_string_equal(r.record_domain, "example.co.uk");
	assert_string_equal(r.org_domain_walk, "example.co.uk");
	assert_string_equal(r.org_domain_psl, "example.co.uk");
	assert_false(r.org_differs);
	assert_int_equal(r.psl_result, PFL_DMARC_FAIL);
	assert_int_equal(r.psl_applied, PFL_DMARC_P_REJECT);
	assert_false(r.lib_differs);
	assert_non_null(strstr(r.why, "p=reject at example.co.uk"));
	/* an existing subdomain without a record: sp */
	check(org, "shop.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r,
	    NULL);
	assert_int_equal(r.result, PFL_DMARC_FAIL);
	assert_int_equal(r.applied, PFL_DMARC_P_QUARANTINE);
	assert_string_equal(r.policy_tag, "sp");
	assert_string_equal(r.record_domain, "example.co.uk");
	assert_true(r.from_exists);
	/* a subdomain that does not exist: np; RFC 7489 still says sp */
	check(
	    org, "nx.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r, NULL);
	assert_int_equal(r.applied, PFL_DMARC_P_NONE);
	assert_string_equal(r.policy_tag, "np");
	assert_false(r.from_exists);
	assert_int_equal(r.psl_applied, PFL_DMARC_P_QUARANTINE);
	/* p=none at a subdomain's own record */
	check(org, "news.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r,
	    NULL);
	assert_int_equal(r.result, PFL_DMARC_FAIL);
	assert_int_equal(r.applied, PFL_DMARC_P_NONE);
	assert_string_equal(r.record_domain, "news.example.co.uk");
	/* t=y: one level below, but RFC 7489 receivers ignore t= */
	check(org, "test.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r,
	    NULL);
	assert_int_equal(r.published, PFL_DMARC_P_REJECT);
	assert_int_equal(r.applied, PFL_DMARC_P_QUARANTINE);
	assert_true(r.testing);
	assert_int_equal(r.psl_applied, PFL_DMARC_P_REJECT);
	/* pct=0 spares every message in both views */
	check(org, "sample.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r,
	    NULL);
	assert_int_equal(r.applied, PFL_DMARC_P_NONE);
	assert_int_equal(r.pct, 0);
	assert_int_equal(r.psl_applied, PFL_DMARC_P_NONE);
}

static void
test_check_alignment(void **state)
{
	struct pfl_dmarc_result r;
	size_t q, q_none;

	/* relaxed: SPF for a sibling subdomain aligns */
	assert_int_equal(check(org, "shop.example.co.uk", "mail.example.co.uk",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_PASS);
	assert_true(r.spf_aligned);
	assert_int_equal(r.applied, PFL_DMARC_P_NONE);
	assert_int_equal(r.psl_result, PFL_DMARC_PASS);
	/* ... only when SPF passed */
	assert_int_equal(check(org, "shop.example.co.uk", "mail.example.co.uk",
			     PFL_DMARC_SPF_FAIL, NULL, &r, NULL),
	    PFL_DMARC_FAIL);
	/* DKIM relaxed: d= the org domain signs for a subdomain */
	assert_int_equal(check(org, "shop.example.co.uk", NULL,
			     PFL_DMARC_SPF_NONE, "example.co.uk", &r, NULL),
	    PFL_DMARC_PASS);
	assert_true(r.dkim_aligned);
	assert_string_equal(r.dkim_domain, "example.co.uk");
	/* strict: only the very name aligns, and no walk is needed */
	check(org, "strict.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r,
	    &q_none);
	assert_int_equal(
	    check(org, "strict.example.co.uk", "mail.strict.example.co.uk",
		PFL_DMARC_SPF_PASS, "example.co.uk", &r, &q),
	    PFL_DMARC_FAIL);
	assert_int_equal(r.aspf, 's');
	assert_int_equal(q, q_none);
	assert_int_equal(
	    check(org, "strict.example.co.uk", "strict.example.co.uk",
		PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_PASS);
	/* an identifier of another organization costs no walk either */
	check(
	    org, "example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r, &q_none);
	check(org, "example.co.uk", "example.net", PFL_DMARC_SPF_PASS,
	    "mail.example.org", &r, &q);
	assert_int_equal(r.result, PFL_DMARC_FAIL);
	assert_int_equal(q, q_none);
	/* one of ours does: _dmarc.mail.example.co.uk, the rest is known */
	check(org, "example.co.uk", "mail.example.co.uk", PFL_DMARC_SPF_PASS,
	    NULL, &r, &q);
	assert_int_equal(r.result, PFL_DMARC_PASS);
	assert_int_equal(q, q_none + 1);
	/* an SPF temperror for an aligned domain might have passed */
	assert_int_equal(check(org, "example.co.uk", "mail.example.co.uk",
			     PFL_DMARC_SPF_TEMPERROR, NULL, &r, NULL),
	    PFL_DMARC_TEMPERROR);
	assert_int_equal(check(org, "example.co.uk", "example.net",
			     PFL_DMARC_SPF_TEMPERROR, NULL, &r, NULL),
	    PFL_DMARC_FAIL);
}

static void
test_check_errors(void **state)
{
	struct pfl_dmarc_result r;

	/* SERVFAIL at the From: domain's _dmarc */
	assert_int_equal(check(org, "broken.example.co.uk", NULL,
			     PFL_DMARC_SPF_NONE, NULL, &r, NULL),
	    PFL_DMARC_TEMPERROR);
	assert_non_null(strstr(r.why, "_dmarc.broken.example.co.uk: SERVFAIL"));
	assert_int_equal(r.psl_result, PFL_DMARC_TEMPERROR);
	/* ... and above it, in the walk a subdomain needs */
	assert_int_equal(check(org, "a.broken.example.co.uk", NULL,
			     PFL_DMARC_SPF_NONE, NULL, &r, NULL),
	    PFL_DMARC_TEMPERROR);
	/* ... which an identifier equal to the From: domain does not need */
	assert_int_equal(
	    check(org, "ok.flaky.example.co.uk", "ok.flaky.example.co.uk",
		PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_PASS);
	assert_string_equal(r.org_domain_walk, "");
	assert_int_equal(
	    check(org, "ok.flaky.example.co.uk", "mail.ok.flaky.example.co.uk",
		PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_TEMPERROR);
	/* np= needs to know whether the name exists: it cannot tell */
	assert_int_equal(check(org, "gone.example.co.uk", NULL,
			     PFL_DMARC_SPF_NONE, NULL, &r, NULL),
	    PFL_DMARC_TEMPERROR);
	/* an invalid p= without rua=: permerror */
	assert_int_equal(check(org, "bad.example.co.uk", NULL,
			     PFL_DMARC_SPF_NONE, NULL, &r, NULL),
	    PFL_DMARC_PERMERROR);
	assert_true(r.record_found);
	assert_int_equal(r.psl_result, PFL_DMARC_PERMERROR);
	/* two records at the From: domain count as none: the org's applies */
	check(
	    org, "two.example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r, NULL);
	assert_string_equal(r.record_domain, "example.co.uk");
	/* no record anywhere */
	assert_int_equal(check(org, "example.net", "example.net",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_NONE);
	assert_false(r.record_found);
	assert_int_equal(r.psl_result, PFL_DMARC_NONE);
	/* a From: domain that is no domain name */
	assert_int_equal(check(org, "exa mple.com", NULL, PFL_DMARC_SPF_NONE,
			     NULL, &r, NULL),
	    PFL_DMARC_PERMERROR);
}

/* A psd=n below the registered domain: the walk and the PSL differ. */
static void
test_check_org_differs(void **state)
{
	struct pfl_dmarc_result r;

	check(org, "x.dept.example.co.uk", "mail.example.co.uk",
	    PFL_DMARC_SPF_PASS, NULL, &r, NULL);
	assert_string_equal(r.org_domain_walk, "dept.example.co.uk");
	assert_string_equal(r.org_domain_psl, "example.co.uk");
	assert_true(r.org_differs);
	assert_non_null(strstr(r.why, "the walk decided"));
	/* the walk decided: no alignment, dept's sp (its p) applies */
	assert_int_equal(r.result, PFL_DMARC_FAIL);
	assert_string_equal(r.record_domain, "dept.example.co.uk");
	assert_int_equal(r.applied, PFL_DMARC_P_QUARANTINE);
	/* an RFC 7489 receiver would have let it pass */
	assert_int_equal(r.psl_result, PFL_DMARC_PASS);
}

/* A Public Suffix Domain with a policy (RFC 9989 appendix B.4.3). */
static void
test_check_psd(void **state)
{
	static const struct rr psd[] = { TXT("_dmarc.bank.example",
					     "v=DMARC1; p=reject; psd=y"),
		TXT("_dmarc.giant.bank.example", "v=DMARC1; p=none"),
		A("mega.bank.example"), { NULL, 0, 0, { NULL } } };
	struct pfl_dmarc_result r;

	assert_int_equal(
	    check(psd, "giant.bank.example", "mail.giant.bank.example",
		PFL_DMARC_SPF_PASS, "mail.mega.bank.example", &r, NULL),
	    PFL_DMARC_PASS);
	assert_true(r.spf_aligned);
	assert_false(r.dkim_aligned);
	assert_string_equal(r.org_domain_walk, "giant.bank.example");
	/* an org domain without a record: the PSD's policy applies */
	check(
	    psd, "mega.bank.example", NULL, PFL_DMARC_SPF_NONE, NULL, &r, NULL);
	assert_int_equal(r.result, PFL_DMARC_FAIL);
	assert_string_equal(r.record_domain, "bank.example");
	assert_string_equal(r.org_domain_walk, "mega.bank.example");
	assert_int_equal(r.applied, PFL_DMARC_P_REJECT);
	/* the PSL knows no bank.example: it is the org domain by the list */
	assert_string_equal(r.org_domain_psl, "bank.example");
	assert_true(r.org_differs);
	assert_int_equal(r.psl_result, PFL_DMARC_FAIL);
	assert_int_equal(r.psl_applied, PFL_DMARC_P_REJECT);
}

/* --- libopendmarc 1.4.2: its bugs, and our answer for the same input ----- */

/*
 * lib_setup_once - libopendmarc is initialized once per process: let our
 * module do it (with the list loaded), as in the milter
 */
static void
lib_setup_once(void)
{
	struct pfl_dmarc_result r;

	check(org, "example.co.uk", NULL, PFL_DMARC_SPF_NONE, NULL, &r, NULL);
}

/*
 * lib_raw - libopendmarc's store-only flow as its own milter drives it:
 * the record as published, the From: domain, SPF for spf_domain.
 */
static int
lib_raw(const char *record, const char *from, const char *spf, int *aspf_r)
{
	DMARC_POLICY_T *p;
	int ret;

	lib_setup_once();
	p = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);
	assert_non_null(p);
	opendmarc_policy_store_from_domain(p, (u_char *)from);
	assert_int_equal(opendmarc_policy_store_dmarc(
			     p, (u_char *)record, (u_char *)from, NULL),
	    0);
	opendmarc_policy_store_spf(p, (u_char *)spf,
	    DMARC_POLICY_SPF_OUTCOME_PASS, DMARC_POLICY_SPF_ORIGIN_MAILFROM,
	    NULL);
	ret = opendmarc_get_policy_to_enforce(p);
	if (aspf_r)
		opendmarc_policy_fetch_aspf(p, aspf_r);
	opendmarc_policy_connect_shutdown(p);
	return ret;
}

/* rf=iodef sets a bit in aspf: relaxed SPF alignment is lost */
static void
test_lib_rf_iodef(void **state)
{
	static const struct rr z[] = { TXT("_dmarc.example.co.uk",
					   "v=DMARC1; p=reject; rf=iodef"),
		{ NULL, 0, 0, { NULL } } };
	struct pfl_dmarc_result r;
	int aspf;

	assert_int_equal(lib_raw("v=DMARC1; p=reject; rf=iodef",
			     "shop.example.co.uk", "mail.example.co.uk", &aspf),
	    DMARC_POLICY_REJECT);
	assert_int_not_equal(aspf, 'r');
	assert_int_equal(lib_raw("v=DMARC1; p=reject", "shop.example.co.uk",
			     "mail.example.co.uk", NULL),
	    DMARC_POLICY_PASS);
	/* we read rf= as the unused tag it is; libopendmarc gets the canon */
	assert_int_equal(check(z, "shop.example.co.uk", "mail.example.co.uk",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_PASS);
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.psl_result, PFL_DMARC_PASS);
	assert_false(r.lib_differs);
}

/* no implicit "*" rule: siblings under .test never align */
static void
test_lib_tld_alignment(void **state)
{
	static const struct rr z[] = { TXT("_dmarc.dmarc.test",
					   "v=DMARC1; p=reject"),
		{ NULL, 0, 0, { NULL } } };
	struct pfl_dmarc_result r;

	assert_int_equal(lib_raw("v=DMARC1; p=reject", "shop.dmarc.test",
			     "mail.dmarc.test", NULL),
	    DMARC_POLICY_REJECT);
	/* ours: the org domain of both is dmarc.test in either view */
	assert_int_equal(check(z, "shop.dmarc.test", "mail.dmarc.test",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_PASS);
	assert_string_equal(r.org_domain_psl, "dmarc.test");
	assert_int_equal(r.psl_result, PFL_DMARC_PASS);
	assert_true(r.lib_differs);
	assert_non_null(strstr(r.why, "libopendmarc says reject"));
}

/* strict SPF alignment passes a subdomain of an org-level From: */
static void
test_lib_strict(void **state)
{
	static const struct rr z[] = { TXT("_dmarc.example.co.uk",
					   "v=DMARC1; p=reject; aspf=s"),
		{ NULL, 0, 0, { NULL } } };
	struct pfl_dmarc_result r;

	assert_int_equal(lib_raw("v=DMARC1; p=reject; aspf=s", "example.co.uk",
			     "mail.example.co.uk", NULL),
	    DMARC_POLICY_PASS);
	assert_int_equal(check(z, "example.co.uk", "mail.example.co.uk",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_FAIL);
	assert_int_equal(r.psl_result, PFL_DMARC_FAIL);
	assert_true(r.lib_differs);
	/*
	 * opendmarc_reverse_domain drops a one-letter first label
	 * ("a.example.co.uk" becomes "uk.co.example."): strict alignment
	 * then passes a.example.co.uk for b.example.co.uk
	 */
	assert_int_equal(lib_raw("v=DMARC1; p=reject; aspf=s",
			     "a.example.co.uk", "b.example.co.uk", NULL),
	    DMARC_POLICY_PASS);
	assert_int_equal(check(z, "a.example.co.uk", "b.example.co.uk",
			     PFL_DMARC_SPF_PASS, NULL, &r, NULL),
	    PFL_DMARC_FAIL);
	assert_true(r.lib_differs);
}

/* pct is reported, not applied; the domain argument replaces From: */
static void
test_lib_pct_and_domain(void **state)
{
	DMARC_POLICY_T *p;
	u_char buf[256];
	int pct;

	lib_setup_once();
	p = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);
	opendmarc_policy_store_from_domain(p, (u_char *)"sub.example.co.uk");
	opendmarc_policy_store_dmarc(p, (u_char *)"v=DMARC1; p=reject; pct=0",
	    (u_char *)"example.co.uk", NULL);
	opendmarc_policy_fetch_pct(p, &pct);
	assert_int_equal(pct, 0);
	assert_int_equal(
	    opendmarc_get_policy_to_enforce(p), DMARC_POLICY_REJECT);
	opendmarc_policy_fetch_from_domain(p, buf, sizeof(buf));
	assert_string_equal((char *)buf, "example.co.uk");
	opendmarc_policy_connect_shutdown(p);
	/* ours: sample.example.co.uk (pct=0) was spared above */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_full),
		cmocka_unit_test(test_record_version),
		cmocka_unit_test(test_record_tolerance),
		cmocka_unit_test(test_record_select),
		cmocka_unit_test(test_record_usable),
		cmocka_unit_test(test_record_canon),
		cmocka_unit_test(test_aligned_and_policy),
		cmocka_unit_test(test_check_policies),
		cmocka_unit_test(test_check_alignment),
		cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_check_org_differs),
		cmocka_unit_test(test_check_psd),
		cmocka_unit_test(test_lib_rf_iodef),
		cmocka_unit_test(test_lib_tld_alignment),
		cmocka_unit_test(test_lib_strict),
		cmocka_unit_test(test_lib_pct_and_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
