/*
 * test_spf - SPF record syntax, macros, CIDR and the RFC 7208 limits,
 * evaluated against a small in-memory zone through the lookup seam
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns.h"
#include "spf.h"
#include "spf_record.h"

/* --- a fake zone behind the lookup seam ------------------------------ */

struct rec {
	const char *name;
	int type;
	const char *data; /* TXT text, address, "PREF HOST", PTR name,
			     or "TEMPFAIL" */
};

struct fake {
	const struct rec *zone;
	unsigned queries;
	unsigned delay_ms; /* each lookup takes this long */
	char last[256];
};

#define ZONE(...) ((const struct rec[]){ __VA_ARGS__, { NULL, 0, NULL } })
#define TXT       PFL_DNS_T_TXT
#define A         PFL_DNS_T_A
#define AAAA      PFL_DNS_T_AAAA
#define MX        PFL_DNS_T_MX
#define PTR       PFL_DNS_T_PTR

/* add - one record of the fake zone to an answer */
static void
add(struct pfl_dns_answer *a, const struct rec *r)
{
	unsigned char buf[16];
	unsigned pref;
	char host[256];

	if (r->type == TXT) {
		pfl_dns_answer_add_txt(a, r->data, strlen(r->data));
	} else if (r->type == A || r->type == AAAA) {
		assert_int_equal(
		    inet_pton(r->type == A ? AF_INET : AF_INET6, r->data, buf),
		    1);
		pfl_dns_answer_add_addr(
		    a, r->type == A ? AF_INET : AF_INET6, buf);
	} else if (r->type == MX) {
		assert_int_equal(sscanf(r->data, "%u %255s", &pref, host), 2);
		pfl_dns_answer_add_mx(a, pref, host);
	} else {
		pfl_dns_answer_add_name(a, r->data);
	}
}

static struct pfl_dns_answer *
fake_lookup(void *arg, const char *name, int type)
{
	struct fake *f = arg;
	struct pfl_dns_answer *a = pfl_dns_answer_new(type, PFL_DNS_NOTFOUND);
	bool exists = false;
	const struct rec *r;

	f->queries++;
	snprintf(f->last, sizeof(f->last), "%s", name);
	if (f->delay_ms)
		usleep(f->delay_ms * 1000);
	if (!pfl_dns_name_ok(name)) {
		a->status = PFL_DNS_PERMFAIL;
		return a;
	}
	for (r = f->zone; r->name; r++) {
		if (strcasecmp(r->name, name) != 0)
			continue;
		exists = true;
		if (r->type == type && strcmp(r->data, "TEMPFAIL") == 0)
			a->status = PFL_DNS_TEMPFAIL;
		else if (r->type == type)
			add(a, r);
	}
	if (a->status != PFL_DNS_TEMPFAIL)
		a->status = a->count ? PFL_DNS_OK : PFL_DNS_NOTFOUND;
	a->nxdomain = !exists;
	return a;
}

static struct fake fake;
static struct pfl_spf_result res;

/* check - evaluate against a zone; the result code */
static enum pfl_spf_code
check(
    const struct rec *zone, const char *ip, const char *helo, const char *from)
{
	fake.zone = zone;
	fake.queries = 0;
	return pfl_spf_check_with(fake_lookup, &fake, 0, ip, helo, from, &res);
}

/* --- record syntax ----------------------------------------------------- */

static void
test_record_parse(void **state)
{
	static const char text[] =
	    "v=spf1 +a:%{d}.x.test/24//64 -mx ~ptr ?ip4:192.0.2.0/24 "
	    "ip6:2001:db8::/32  include:i.test exists:%{i}.e.test "
	    "redirect=r.test exp=x.test unknown.mod=%{c} A MX/0 all";
	struct pfl_spf_record *rec;
	char err[128];

	assert_int_equal(
	    pfl_spf_record_parse(text, strlen(text), &rec, err, sizeof(err)),
	    0);
	assert_int_equal(rec->count, 10);
	assert_int_equal(rec->terms[0].qualifier, '+');
	assert_int_equal(rec->terms[0].mech, PFL_SPF_M_A);
	assert_string_equal(rec->terms[0].domain, "%{d}.x.test");
	assert_int_equal(rec->terms[0].cidr4, 24);
	assert_int_equal(rec->terms[0].cidr6, 64);
	assert_int_equal(rec->terms[1].qualifier, '-');
	assert_null(rec->terms[1].domain);
	assert_int_equal(rec->terms[1].cidr4, 32);
	assert_int_equal(rec->terms[1].cidr6, 128);
	assert_int_equal(rec->terms[2].qualifier, '~');
	assert_int_equal(rec->terms[2].mech, PFL_SPF_M_PTR);
	assert_int_equal(rec->terms[3].mech, PFL_SPF_M_IP4);
	assert_memory_equal(rec->terms[3].net, "\xc0\x00\x02\x00", 4);
	assert_int_equal(rec->terms[4].mech, PFL_SPF_M_IP6);
	assert_int_equal(rec->terms[4].cidr6, 32);
	assert_string_equal(rec->terms[5].domain, "i.test");
	assert_int_equal(rec->terms[6].mech, PFL_SPF_M_EXISTS);
	assert_int_equal(rec->terms[7].mech, PFL_SPF_M_A); /* any case */
	assert_int_equal(rec->terms[8].cidr4, 0);
	assert_string_equal(rec->terms[8].text, "MX/0");
	assert_string_equal(rec->redirect, "r.test");
	assert_string_equal(rec->exp, "x.test");
	pfl_spf_record_free(&rec);
	assert_null(rec);
}

static void
test_record_errors(void **state)
{
	static const char *bad[] = {
		"v=spf1 ip4:1.2.3.4 -all moo", /* unknown mechanism */
		"v=spf1 -all.",                /* all takes nothing */
		"v=spf1 -all:foo",
		"v=spf1 -all/8",
		"v=spf1 ptr/0",
		"v=spf1 ptr:",
		"v=spf1 a:",
		"v=spf1 include",
		"v=spf1 include:x.test/24",
		"v=spf1 exists",
		"v=spf1 a/33",
		"v=spf1 a//129",
		"v=spf1 a/24/64",
		"v=spf1 a:foo-bar",       /* no dot before the top label */
		"v=spf1 a:abc.123",       /* all-numeric top label */
		"v=spf1 a:111.222.33.44", /* the ip4-with-a mistake */
		"v=spf1 a:example.-com",
		"v=spf1 a:museum.",
		"v=spf1 a:example.com:8080",
		"v=spf1 ip4",
		"v=spf1 ip4:1.2.3",
		"v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip4:1.2.3.4/032",
		"v=spf1 ip4:1.2.3.04",
		"v=spf1 ip4:1.2.3.4//32",
		"v=spf1 ip4:1.2.3.4:8080",
		"v=spf1 ip6::CAFE::BABE",
		"v=spf1 ip6:::1/129",
		"v=spf1 ip6:::1//33",
		"v=spf1 redirect:x.test",
		"v=spf1 redirect=",
		"v=spf1 redirect=-all",
		"v=spf1 redirect=a.test redirect=b.test",
		"v=spf1 exp=",
		"v=spf1 exp=a.test exp=b.test",
		"v=spf1 exp=%{r}.example.com", /* c r t only in exp text */
		"v=spf1 1up=foo",
		"v=spf1 =all",
		"v=spf1 moo.cow/far_out=man:dog/cat",
		"v=spf1 foo=%abc",
		"v=spf1 exists:%(ir).sbl.test",
		"v=spf1 exists:foo%.sbl.test",
		"v=spf1 a:%{a}.test",
		"v=spf1 a:%{d0}.test",
		"v=spf1 a:%{d",
		"v=spf1 exists:x.test%",
	};
	struct pfl_spf_record *rec = NULL;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (pfl_spf_record_parse(
			bad[i], strlen(bad[i]), &rec, err, sizeof(err)) == 0)
			fail_msg("parsed: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
}

/*
 * The record is len bytes, not a C string: an error quotes no byte past
 * its end (a bad CIDR length in the last term read up to 40 bytes on).
 */
static void
test_record_errors_unterminated(void **state)
{
	static const char *bad[] = {
		"v=spf1 ip6:2001:db8::/64v=spf18:f10 -al-la-all",
		"v=spf1 ip6:::1/129",
		"v=spf1 ip4:1.2.3.4/33",
		"v=spf1 a/33",
		"v=spf1 mx//129",
	};
	struct pfl_spf_record *rec = NULL;
	char err[128], *buf;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i]);
		buf = malloc(n + 8);
		assert_non_null(buf);
		memcpy(buf, bad[i], n);
		memcpy(buf + n, "XXXXXXXX", 8); /* no NUL after the record */
		err[0] = '\0';
		if (pfl_spf_record_parse(buf, n, &rec, err, sizeof(err)) == 0)
			fail_msg("parsed: %s", bad[i]);
		assert_true(err[0] != '\0');
		if (strchr(err, 'X') != NULL)
			fail_msg("%s: quotes past the end: %s", bad[i], err);
		free(buf);
	}
}

static void
test_record_selection(void **state)
{
	assert_true(pfl_spf_record_is_spf("v=spf1", 6));
	assert_true(pfl_spf_record_is_spf("V=SpF1 -all", 11));
	assert_false(pfl_spf_record_is_spf("v=spf10", 7));
	assert_false(pfl_spf_record_is_spf("v=spf1mx", 8));
	assert_false(pfl_spf_record_is_spf("v=spf", 5));

	assert_int_equal(check(ZONE({ "two.test", TXT, "v=spf1 -all" },
				   { "two.test", TXT, "V=spf1 +all" }),
			     "192.0.2.1", "h.test", "a@two.test"),
	    PFL_SPF_PERMERROR);
	assert_int_equal(check(ZONE({ "one.test", TXT, "v=spf10 +all" },
				   { "one.test", TXT, "hello" },
				   { "one.test", TXT, "v=spf1 -all" }),
			     "192.0.2.1", "h.test", "a@one.test"),
	    PFL_SPF_FAIL);
	assert_int_equal(check(ZONE({ "n.test", TXT, "hello" }), "192.0.2.1",
			     "h.test", "a@n.test"),
	    PFL_SPF_NONE);
	assert_int_equal(check(ZONE({ "c.test", TXT, "v=spf1 a\rptr -all" }),
			     "192.0.2.1", "h.test", "a@c.test"),
	    PFL_SPF_PERMERROR);
	assert_int_equal(check(ZONE({ "e.test", TXT, "v=spf1" }), "192.0.2.1",
			     "h.test", "a@e.test"),
	    PFL_SPF_NEUTRAL);
	assert_string_equal(res.mechanism, "default");
}

/* --- macros ---------------------------------------------------------- */

static const char *
expand(const struct pfl_spf_macro_env *env, const char *s, bool exp_text)
{
	static char out[512];
	char err[128], *x;

	if (pfl_spf_macro_expand(
		env, s, strlen(s), exp_text, &x, err, sizeof(err)) != 0)
		return NULL;
	snprintf(out, sizeof(out), "%s", x);
	free(x);
	return out;
}

static void
test_macro_rfc_examples(void **state)
{
	/* RFC 7208 7.4 */
	unsigned char ip4[4] = { 192, 0, 2, 3 }, ip6[16];
	struct pfl_spf_macro_env env = {
		.sender = "strong-bad@email.example.com",
		.local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.helo = "mx.example.org",
		.ip_text = "192.0.2.3",
		.ip = ip4,
		.ip_v4 = true,
		.now = 1234,
	};
	static const char *cases[][2] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}",
		    "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net" },
		{ "%{h}", "mx.example.org" },
		{ "%{p}", "unknown" }, /* no validator given */
		{ "%{D2}", "example.com" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    expand(&env, cases[i][0], false), cases[i][1]);
	assert_string_equal(
	    expand(&env, "%{c} %{t} %{r}", true), "192.0.2.3 1234 unknown");

	inet_pton(AF_INET6, "2001:db8::cb01", ip6);
	env.ip = ip6;
	env.ip_v4 = false;
	assert_string_equal(expand(&env, "%{ir}.%{v}._spf.%{d2}", false),
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6._spf.example.com");
}

static void
test_macro_escapes_and_errors(void **state)
{
	unsigned char ip4[4] = { 1, 2, 3, 4 };
	struct pfl_spf_macro_env env = {
		.sender = "~jack&jill=up-a_b3.c@e8.example.com",
		.local = "~jack&jill=up-a_b3.c",
		.sender_domain = "e8.example.com",
		.domain = "e8.example.com",
		.helo = "JUMPIN' JUPITER",
		.ip_text = "1.2.3.4",
		.ip = ip4,
		.ip_v4 = true,
	};
	char err[128];

	assert_string_equal(expand(&env, "macro%%percent%_%_space%-url", false),
	    "macro%percent  space%20url");
	assert_string_equal(
	    expand(&env, "l=%{L}", false), "l=~jack%26jill%3Dup-a_b3.c");
	assert_string_equal(expand(&env, "%{H}", false), "JUMPIN%27%20JUPITER");
	/* splitting on several delimiters; empty parts kept */
	env.local = "foo-bar+zip+quux";
	assert_string_equal(expand(&env, "%{l2r+-}", false), "bar.foo");
	env.local = "a..b";
	assert_string_equal(expand(&env, "%{l}|%{lr}", false), "a..b|b..a");
	/* spaces only in explanation text */
	assert_null(expand(&env, "a b", false));
	assert_string_equal(expand(&env, "a b", true), "a b");
	assert_null(expand(&env, "%{c}", false));
	assert_null(expand(&env, "%{x}", true));
	assert_null(expand(&env, "%{d0}", false));
	assert_null(expand(&env, "%", false));
	assert_null(expand(&env, "%x", false));
	assert_null(expand(&env, "\x96", true));
	/* syntax only, env NULL */
	assert_int_equal(pfl_spf_macro_expand(
			     NULL, "%{d}", 4, false, NULL, err, sizeof(err)),
	    0);
	/* no expansion may grow past PFL_SPF_MACRO_MAX */
	{
		char big[2048] = "", *x = NULL;
		int i;

		for (i = 0; i < 300; i++)
			strcat(big, "%{s}");
		assert_int_equal(pfl_spf_macro_expand(&env, big, strlen(big),
				     false, &x, err, sizeof(err)),
		    -1);
		assert_null(x);
	}
}

static void
test_domain_spec(void **state)
{
	static const char *good[] = { "example.com", "example.com.", "%{d}",
		"%{d}.bar", "foo.example.xn--zckzah", "a.1-2",
		"foo:bar/baz.example.com", ".com", "x.test%%" };
	static const char *bad[] = { "", "foo-bar", "museum", "museum.",
		"abc.123", "example.-com", "example.com-", "%{d}com",
		"foo.com:8080", "-all", "%{d}." };
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!pfl_spf_domain_spec_ok(
			good[i], strlen(good[i]), err, sizeof(err)))
			fail_msg("refused %s: %s", good[i], err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pfl_spf_domain_spec_ok(
			bad[i], strlen(bad[i]), err, sizeof(err)))
			fail_msg("accepted %s", bad[i]);
}

static void
test_domain_fit(void **state)
{
	char buf[600], *p;
	int i;

	strcpy(buf, "example.com.");
	assert_string_equal(pfl_spf_domain_fit(buf), "example.com");
	/* 9 labels of 29 + "example.com": over 253, leading labels go */
	buf[0] = '\0';
	for (i = 0; i < 9; i++)
		strcat(buf, "abcdefghijklmnopqrstuvwxyz012.");
	strcat(buf, "example.com");
	p = pfl_spf_domain_fit(buf);
	assert_non_null(p);
	assert_true(strlen(p) <= 253);
	assert_int_equal(strlen(p), 8 * 30 + 11);
	memset(buf, 'a', 300);
	buf[300] = '\0';
	assert_null(pfl_spf_domain_fit(buf));
	strcpy(buf, ".");
	assert_null(pfl_spf_domain_fit(buf));
}

/* --- CIDR ------------------------------------------------------------ */

static void
test_cidr(void **state)
{
	const struct rec *z =
	    ZONE({ "z.test", TXT, "v=spf1 ip4:1.1.1.1/0 -all" },
		{ "y.test", TXT,
		    "v=spf1 ip4:192.0.2.128/25 ip6:2001:db8::/33 -all" },
		{ "m.test", TXT, "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4" },
		{ "d.test", TXT, "v=spf1 a/24//64 -all" },
		{ "d.test", A, "192.0.2.200" },
		{ "d.test", AAAA, "2001:db8:1:2::1" },
		{ "n.test", TXT, "v=spf1 a/0 -all" });

	assert_int_equal(check(z, "203.0.113.9", "h.test", "a@z.test"),
	    PFL_SPF_PASS); /* /0 matches every IPv4 */
	assert_int_equal(check(z, "2001:db8::1", "h.test", "a@z.test"),
	    PFL_SPF_FAIL); /* but no IPv6 */
	assert_int_equal(
	    check(z, "192.0.2.129", "h.test", "a@y.test"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "192.0.2.127", "h.test", "a@y.test"), PFL_SPF_FAIL);
	assert_int_equal(
	    check(z, "2001:db8:7fff::1", "h.test", "a@y.test"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "2001:db8:8000::1", "h.test", "a@y.test"), PFL_SPF_FAIL);
	/* an IPv4-mapped client is IPv4 (RFC 7208 5/9/2) */
	assert_int_equal(
	    check(z, "::ffff:1.2.3.4", "h.test", "a@m.test"), PFL_SPF_FAIL);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@d.test"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "192.0.3.1", "h.test", "a@d.test"), PFL_SPF_FAIL);
	assert_int_equal(check(z, "2001:db8:1:2:ffff::9", "h.test", "a@d.test"),
	    PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "2001:db8:1:3::1", "h.test", "a@d.test"), PFL_SPF_FAIL);
	/* no address at all: no match even with /0 (and a void lookup) */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@n.test"), PFL_SPF_FAIL);
	assert_int_equal(res.void_lookups, 1);
}

/* --- limits over the whole evaluation -------------------------------- */

static void
test_term_limit(void **state)
{
	/* 1 (include) + 8 (a) = 9, then mx = 10: still fine */
	const struct rec *at =
	    ZONE({ "top.test", TXT,
		     "v=spf1 include:inc.test mx ip4:192.0.2.1 -all" },
		{ "inc.test", TXT, "v=spf1 a a a a a a a a" },
		{ "inc.test", A, "198.51.100.1" },
		{ "top.test", MX, "10 inc.test" });
	/* one more a after the include: 11 */
	const struct rec *over =
	    ZONE({ "top.test", TXT,
		     "v=spf1 include:inc.test a mx ip4:192.0.2.1 -all" },
		{ "top.test", A, "198.51.100.1" },
		{ "inc.test", TXT, "v=spf1 a a a a a a a a" },
		{ "inc.test", A, "198.51.100.1" },
		{ "top.test", MX, "10 inc.test" });

	assert_int_equal(
	    check(at, "192.0.2.1", "h.test", "a@top.test"), PFL_SPF_PASS);
	assert_int_equal(res.dns_lookups, 10);
	assert_int_equal(check(over, "192.0.2.1", "h.test", "a@top.test"),
	    PFL_SPF_PERMERROR);
	assert_int_equal(res.dns_lookups, 11);
	assert_non_null(strstr(res.reason, "more than 10"));
}

static void
test_loops(void **state)
{
	const struct rec *z =
	    ZONE({ "r.test", TXT, "v=spf1 ip4:1.1.1.1 redirect=r.test" },
		{ "i1.test", TXT, "v=spf1 include:i2.test" },
		{ "i2.test", TXT, "v=spf1 include:i1.test" },
		{ "t5.test", TXT, "v=spf1 redirect=t5.test ~all" });

	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@r.test"), PFL_SPF_PERMERROR);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@i1.test"), PFL_SPF_PERMERROR);
	/* a redirect after "all" is never followed */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@t5.test"), PFL_SPF_SOFTFAIL);
	assert_int_equal(res.dns_lookups, 0);
}

static void
test_void_limit(void **state)
{
	const struct rec *z =
	    ZONE({ "two.test", TXT, "v=spf1 a:nx1.test mx:nx2.test ?all" },
		{ "three.test", TXT,
		    "v=spf1 a:nx1.test exists:nx2.test a:nodata.test ?all" },
		{ "nodata.test", MX, "10 x.test" },
		{ "exp.test", TXT,
		    "v=spf1 a:nx1.test a:nx2.test exp=nx3.test -all" });

	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@two.test"), PFL_SPF_NEUTRAL);
	assert_int_equal(res.void_lookups, 2);
	/* NODATA counts like NXDOMAIN */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@three.test"), PFL_SPF_PERMERROR);
	assert_int_equal(res.void_lookups, 3);
	assert_non_null(strstr(res.reason, "void"));
	/* exp= does not count */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@exp.test"), PFL_SPF_FAIL);
	assert_int_equal(res.void_lookups, 2);
}

static void
test_mx_and_ptr_limits(void **state)
{
	static struct rec z[40];
	static char mx[12][32], ptr[12][32];
	size_t n = 0;
	int i;

	z[n++] = (struct rec){ "mx.test", TXT, "v=spf1 mx" };
	z[n++] = (struct rec){ "ptr.test", TXT, "v=spf1 ptr" };
	for (i = 0; i < 11; i++) {
		snprintf(mx[i], sizeof(mx[i]), "%d h%d.mx.test", i, i);
		z[n++] = (struct rec){ "mx.test", MX, mx[i] };
		snprintf(ptr[i], sizeof(ptr[i]), "p%d.other.test", i);
		z[n++] = (struct rec){ "9.2.0.192.in-addr.arpa", PTR,
			i == 10 ? "p.ptr.test" : ptr[i] };
	}
	z[n++] = (struct rec){ "h0.mx.test", A, "192.0.2.9" };
	z[n++] = (struct rec){ "p.ptr.test", A, "192.0.2.9" };
	z[n] = (struct rec){ NULL, 0, NULL };
	/* 11 MX: permerror even though the first would match */
	assert_int_equal(
	    check(z, "192.0.2.9", "h.test", "a@mx.test"), PFL_SPF_PERMERROR);
	/* the 11th PTR name is not looked at */
	assert_int_equal(
	    check(z, "192.0.2.9", "h.test", "a@ptr.test"), PFL_SPF_NEUTRAL);
	z[3 + 2 * 9].data = "p.ptr.test"; /* now the 10th */
	assert_int_equal(
	    check(z, "192.0.2.9", "h.test", "a@ptr.test"), PFL_SPF_PASS);
}

static void
test_dns_failures(void **state)
{
	const struct rec *z = ZONE({ "t.test", TXT, "TEMPFAIL" },
	    { "inc.test", TXT, "v=spf1 include:t.test -all" },
	    { "a.test", TXT, "v=spf1 a:t.test -all" },
	    { "t.test", A, "TEMPFAIL" }, { "p.test", TXT, "v=spf1 ptr -all" },
	    { "1.2.0.192.in-addr.arpa", PTR, "TEMPFAIL" },
	    { "e.test", TXT, "v=spf1 -all exp=t.test" });

	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@t.test"), PFL_SPF_TEMPERROR);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@inc.test"), PFL_SPF_TEMPERROR);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@a.test"), PFL_SPF_TEMPERROR);
	/* a failing PTR lookup only fails to match (RFC 7208 5.5) */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@p.test"), PFL_SPF_FAIL);
	/* a failing exp= lookup leaves the result alone */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@e.test"), PFL_SPF_FAIL);
	assert_string_equal(res.explanation, "");
}

/* --- results, identities, explanations -------------------------------- */

static void
test_include_results(void **state)
{
	const struct rec *z = ZONE(
	    { "p.test", TXT, "v=spf1 ip4:192.0.2.1 -all" },
	    { "s.test", TXT, "v=spf1 ~all" },
	    { "top.test", TXT, "v=spf1 include:s.test include:p.test -all" },
	    { "none.test", TXT, "v=spf1 include:nothing.test +all" },
	    { "perm.test", TXT, "v=spf1 include:bad.test +all" },
	    { "bad.test", TXT, "v=spf1 include" });

	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@top.test"), PFL_SPF_PASS);
	assert_string_equal(res.mechanism, "include:p.test");
	assert_int_equal(
	    check(z, "192.0.2.2", "h.test", "a@top.test"), PFL_SPF_FAIL);
	assert_string_equal(res.mechanism, "-all");
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@none.test"), PFL_SPF_PERMERROR);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@perm.test"), PFL_SPF_PERMERROR);
}

static void
test_exp(void **state)
{
	const struct rec *z =
	    ZONE({ "e.test", TXT, "v=spf1 -all exp=why.%{d}" },
		{ "why.e.test", TXT, "%{l} from %{c} may not send for %{o}" },
		{ "r.test", TXT, "v=spf1 exp=no.test redirect=e.test" },
		{ "no.test", TXT, "not this one" },
		{ "i.test", TXT, "v=spf1 include:e.test -all exp=mine.test" },
		{ "mine.test", TXT, "mine" },
		{ "two.test", TXT, "v=spf1 -all exp=t.test" },
		{ "t.test", TXT, "one" }, { "t.test", TXT, "two" });

	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "bob@e.test"), PFL_SPF_FAIL);
	assert_string_equal(
	    res.explanation, "bob from 192.0.2.1 may not send for e.test");
	/* redirect: the target's exp=, not the first record's */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "bob@r.test"), PFL_SPF_FAIL);
	assert_string_equal(
	    res.explanation, "bob from 192.0.2.1 may not send for r.test");
	/* include: the including record's exp= */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "bob@i.test"), PFL_SPF_FAIL);
	assert_string_equal(res.explanation, "mine");
	/* two TXT records: no explanation */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "bob@two.test"), PFL_SPF_FAIL);
	assert_string_equal(res.explanation, "");
}

static void
test_identity(void **state)
{
	const struct rec *z =
	    ZONE({ "mail.test", TXT, "v=spf1 exists:%{l}.%{o}.x.test -all" },
		{ "postmaster.mail.test.x.test", A, "127.0.0.2" },
		{ "bob.mail.test.x.test", A, "127.0.0.2" });

	/* the null sender is postmaster@HELO */
	assert_int_equal(check(z, "192.0.2.1", "mail.test", ""), PFL_SPF_PASS);
	assert_string_equal(res.domain, "mail.test");
	assert_int_equal(
	    check(z, "192.0.2.1", "mail.test", "<>"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "192.0.2.1", "mail.test", NULL), PFL_SPF_PASS);
	/* an empty local part is postmaster too */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "@mail.test"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "<Bob@Mail.Test>"), PFL_SPF_PASS);
	assert_string_equal(res.domain, "mail.test");
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "eve@mail.test"), PFL_SPF_FAIL);
	/* what check_host() cannot work with is "none", without DNS */
	assert_int_equal(check(z, "192.0.2.1", "single", ""), PFL_SPF_NONE);
	assert_int_equal(
	    check(z, "192.0.2.1", "[192.0.2.1]", ""), PFL_SPF_NONE);
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@x..test"), PFL_SPF_NONE);
	assert_int_equal(fake.queries, 0);
	assert_int_equal(check(z, "192.0.2.1", NULL, ""), PFL_SPF_NONE);
	assert_int_equal(
	    check(z, "not-an-ip", "h.test", "a@mail.test"), PFL_SPF_NONE);
}

static void
test_ptr_and_p_macro(void **state)
{
	const struct rec *z =
	    ZONE({ "p.test", TXT, "v=spf1 ptr:Example.Test -all" },
		{ "q.test", TXT, "v=spf1 -all exp=q.test.exp" },
		{ "q.test.exp", TXT, "%{p}" },
		{ "42.2.0.192.in-addr.arpa", PTR, "mx.other.test" },
		{ "42.2.0.192.in-addr.arpa", PTR, "forged.example.test" },
		{ "42.2.0.192.in-addr.arpa", PTR, "MAIL.example.TEST" },
		{ "mx.other.test", A, "192.0.2.42" },
		{ "mail.example.test", A, "192.0.2.42" });

	assert_int_equal(
	    check(z, "192.0.2.42", "h.test", "a@p.test"), PFL_SPF_PASS);
	assert_int_equal(
	    check(z, "192.0.2.43", "h.test", "a@p.test"), PFL_SPF_FAIL);
	assert_int_equal(res.void_lookups, 1); /* no PTR for .43 */
	assert_int_equal(
	    check(z, "192.0.2.42", "h.test", "a@q.test"), PFL_SPF_FAIL);
	assert_string_equal(res.explanation, "mx.other.test");
}

static void
test_suspicious(void **state)
{
	const struct rec *z =
	    ZONE({ "plus.test", TXT, "v=spf1 ip4:192.0.2.0/24 all" },
		{ "bare.test", TXT, "v=spf1 ?all" },
		{ "wide.test", TXT, "v=spf1 ip4:0.0.0.0/1 -all" },
		{ "wide6.test", TXT, "v=spf1 ip6:2000::/8 -all" },
		{ "amx.test", TXT, "v=spf1 a/0 -all" },
		{ "inc.test", TXT, "v=spf1 include:plus.test -all" },
		{ "ok.test", TXT,
		    "v=spf1 ip4:17.0.0.0/8 ip6:2001:db8::/16 mx ~all" });

	assert_int_equal(
	    check(z, "198.51.100.1", "h.test", "a@plus.test"), PFL_SPF_PASS);
	assert_true(res.suspicious);
	assert_non_null(strstr(res.suspicious_why, "+all"));
	check(z, "198.51.100.1", "h.test", "a@bare.test");
	assert_true(res.suspicious);
	assert_non_null(strstr(res.suspicious_why, "?all"));
	check(z, "198.51.100.1", "h.test", "a@wide.test");
	assert_true(res.suspicious);
	check(z, "198.51.100.1", "h.test", "a@wide6.test");
	assert_true(res.suspicious);
	check(z, "198.51.100.1", "h.test", "a@amx.test");
	assert_true(res.suspicious);
	/* found through an include as well */
	check(z, "192.0.2.1", "h.test", "a@inc.test");
	assert_true(res.suspicious);
	assert_non_null(strstr(res.suspicious_why, "plus.test"));
	check(z, "198.51.100.1", "h.test", "a@ok.test");
	assert_false(res.suspicious);
	assert_string_equal(res.suspicious_why, "");
}

static void
test_time_limit(void **state)
{
	const struct rec *z = ZONE(
	    { "slow.test", TXT, "v=spf1 a:x1.test a:x2.test a:x3.test -all" },
	    { "x1.test", A, "198.51.100.1" }, { "x2.test", A, "198.51.100.2" },
	    { "x3.test", A, "198.51.100.3" });

	/* lookups of 40 ms against a 100 ms limit: temperror, and no
	 * lookup is started once the limit has passed */
	fake.zone = z;
	fake.queries = 0;
	fake.delay_ms = 40;
	assert_int_equal(pfl_spf_check_with(fake_lookup, &fake, 100,
			     "192.0.2.1", "h.test", "a@slow.test", &res),
	    PFL_SPF_TEMPERROR);
	fake.delay_ms = 0;
	assert_non_null(strstr(res.reason, "time limit"));
	assert_true(fake.queries >= 1 && fake.queries < 4);
	/* the same with time to spare */
	assert_int_equal(
	    check(z, "192.0.2.1", "h.test", "a@slow.test"), PFL_SPF_FAIL);
}

static void
test_code_names(void **state)
{
	assert_string_equal(pfl_spf_code_name(PFL_SPF_PASS), "pass");
	assert_string_equal(pfl_spf_code_name(PFL_SPF_SOFTFAIL), "softfail");
	assert_string_equal(pfl_spf_code_name(PFL_SPF_TEMPERROR), "temperror");
	assert_string_equal(pfl_spf_code_name(PFL_SPF_PERMERROR), "permerror");
	assert_string_equal(pfl_spf_code_name(PFL_SPF_NONE), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_record_errors),
		cmocka_unit_test(test_record_errors_unterminated),
		cmocka_unit_test(test_record_selection),
		cmocka_unit_test(test_macro_rfc_examples),
		cmocka_unit_test(test_macro_escapes_and_errors),
		cmocka_unit_test(test_domain_spec),
		cmocka_unit_test(test_domain_fit),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_term_limit),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_void_limit),
		cmocka_unit_test(test_mx_and_ptr_limits),
		cmocka_unit_test(test_dns_failures),
		cmocka_unit_test(test_include_results),
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_ptr_and_p_macro),
		cmocka_unit_test(test_suspicious),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
