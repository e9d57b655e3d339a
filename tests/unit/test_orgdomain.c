/*
 * test_orgdomain - Organizational Domains: Public Suffix List, A-labels
 * and the RFC 9989 DNS tree walk (with the examples of its section
 * 4.10 and appendix B.4)
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <opendmarc/dmarc.h>

#include "orgdomain.h"

/* declared by no header of libopendmarc 1.4.2, exported all the same */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

/* norm - normalize into a static buffer; NULL when refused */
static const char *
norm(const char *s)
{
	static char buf[PFL_DOMAIN_SIZE];

	return pfl_orgdomain_normalize(s, buf, sizeof(buf)) == 0 ? buf : NULL;
}

static void
test_normalize(void **state)
{
	char long_label[80], long_name[300];

	assert_string_equal(norm("Example.COM."), "example.com");
	assert_string_equal(
	    norm("_dmarc.mail.example.com"), "_dmarc.mail.example.com");
	assert_null(norm(""));
	assert_null(norm("."));
	assert_null(norm("a..b"));
	assert_null(norm(".a.b"));
	assert_null(norm("foo bar.com"));
	assert_null(norm("foo;bar.com"));
	assert_null(norm(NULL));
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".com");
	assert_null(norm(long_label)); /* a 64-byte label */
	long_label[1] = '.';
	assert_non_null(norm(long_label));
	/* 253 bytes is the most a name may have */
	memset(long_name, 'a', sizeof(long_name));
	for (int i = 63; i < 300; i += 64)
		long_name[i] = '.';
	long_name[253] = '\0';
	assert_non_null(norm(long_name));
	long_name[253] = 'a';
	long_name[254] = '\0';
	assert_null(norm(long_name));
}

static void
test_alabels(void **state)
{
	/* RFC 3492 and IDNA examples */
	assert_string_equal(norm("bücher.de"), "xn--bcher-kva.de");
	assert_string_equal(norm("München.DE"), "xn--mnchen-3ya.de");
	assert_string_equal(norm("例え.テスト"), "xn--r8jz45g.xn--zckzah");
	assert_string_equal(norm("公司.cn"), "xn--55qx5d.cn");
	assert_string_equal(norm("xn--55qx5d.cn"), "xn--55qx5d.cn");
	/* bad UTF-8: an overlong '/', a lone continuation byte */
	assert_null(norm("\xc0\xaf.com"));
	assert_null(norm("a\x80.com"));
}

static const char rules[] = "// a small list in the file's format\n"
			    "com\n"
			    "uk\n"
			    "co.uk\n"
			    "*.ck\n"
			    "!www.ck\n"
			    "\n"
			    "  // ===BEGIN PRIVATE DOMAINS===\n"
			    "blogspot.com   trailing words are ignored\n"
			    "公司.cn\n"
			    "*.bad*.example\n";

/* org - the org domain by a list */
static const char *
org(const struct pfl_psl *psl, const char *domain)
{
	return pfl_orgdomain_psl(psl, norm(domain));
}

static void
test_psl_rules(void **state)
{
	struct pfl_psl *psl = pfl_psl_parse(rules, sizeof(rules) - 1);
	bool listed;

	assert_int_equal(pfl_psl_count(psl), 7);
	assert_string_equal(org(psl, "mail.example.com"), "example.com");
	assert_string_equal(org(psl, "a.b.example.co.uk"), "example.co.uk");
	assert_string_equal(org(psl, "example.uk"), "example.uk");
	/* a wildcard: every name under ck is a suffix */
	assert_string_equal(org(psl, "a.b.foo.ck"), "b.foo.ck");
	/* ... except www.ck, a registered name */
	assert_string_equal(org(psl, "www.ck"), "www.ck");
	assert_string_equal(org(psl, "a.www.ck"), "www.ck");
	assert_string_equal(org(psl, "x.blogspot.com"), "x.blogspot.com");
	assert_string_equal(org(psl, "a.b.公司.cn"), "b.xn--55qx5d.cn");
	/* nothing matches: the implicit "*" rule makes the TLD the suffix */
	assert_string_equal(
	    pfl_psl_suffix(psl, norm("a.foo.test"), &listed), "test");
	assert_false(listed);
	assert_string_equal(org(psl, "a.foo.test"), "foo.test");
	assert_string_equal(
	    pfl_psl_suffix(psl, norm("a.co.uk"), &listed), "co.uk");
	assert_true(listed);
	/* a public suffix is its own org domain */
	assert_string_equal(org(psl, "co.uk"), "co.uk");
	assert_string_equal(org(psl, "test"), "test");
	pfl_psl_free(&psl);
	assert_null(psl);
}

static void
test_psl_system(void **state)
{
	const struct pfl_psl *psl = pfl_psl_default();
	char err[256];

	assert_non_null(psl);
	assert_ptr_equal(psl, pfl_psl_default()); /* loaded once */
	assert_true(pfl_psl_count(psl) > 5000);
	assert_string_equal(org(psl, "mail.example.co.uk"), "example.co.uk");
	assert_string_equal(org(psl, "a.b.example.com.au"), "example.com.au");
	assert_string_equal(org(psl, "x.dmarc.test"), "dmarc.test");
	assert_string_equal(
	    org(psl, "www.city.kawasaki.jp"), "city.kawasaki.jp");
	assert_string_equal(
	    org(psl, "a.b.foo.kawasaki.jp"), "b.foo.kawasaki.jp");
	assert_null(pfl_psl_load("/nonexistent/list.dat", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/list.dat"));
}

/*
 * libopendmarc 1.4.2's opendmarc_get_tld has no implicit "*" rule: for
 * a name under a TLD the list does not know it gives nothing (the buffer
 * is left as it was), where we give the registrable name.
 */
static void
test_libopendmarc_tld_bug(void **state)
{
	OPENDMARC_LIB_T lib;
	u_char tld[256];

	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	strcpy((char *)lib.tld_source_file, PFL_PSL_PATH);
	assert_int_equal(opendmarc_policy_library_init(&lib), 0);
	strcpy((char *)tld, "?");
	opendmarc_get_tld((u_char *)"a.foo.test", tld, sizeof(tld));
	assert_string_equal((char *)tld, "?");
	opendmarc_get_tld((u_char *)"a.example.co.uk", tld, sizeof(tld));
	assert_string_equal((char *)tld, "example.co.uk");
	assert_string_equal(org(pfl_psl_default(), "a.foo.test"), "foo.test");
	opendmarc_policy_library_shutdown(&lib);
}

static void
test_under(void **state)
{
	assert_true(pfl_orgdomain_is_under("a.example.com", "example.com"));
	assert_true(pfl_orgdomain_is_under("example.com", "Example.com"));
	assert_false(pfl_orgdomain_is_under("badexample.com", "example.com"));
	assert_false(pfl_orgdomain_is_under("com", "example.com"));
	assert_false(pfl_orgdomain_is_under("example.com", ""));
}

static void
test_walk_names(void **state)
{
	const char *n[PFL_ORGDOMAIN_WALK_MAX];
	static const char *const deep[] = {
		"a.b.c.d.e.f.g.h.i.j.mail.example.com",
		"g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
		"i.j.mail.example.com", "j.mail.example.com",
		"mail.example.com", "example.com", "com"
	};
	size_t i;

	/* the example of section 4.10: 13 labels, 8 queries */
	assert_int_equal(pfl_orgdomain_walk_names(deep[0], n), 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(n[i], deep[i]);
	assert_int_equal(pfl_orgdomain_walk_names("a.mail.example.com", n), 4);
	assert_string_equal(n[1], "mail.example.com");
	assert_string_equal(n[3], "com");
	assert_int_equal(pfl_orgdomain_walk_names("com", n), 1);
	/* exactly 8 labels: the parent has 7, so it is the next name */
	assert_int_equal(pfl_orgdomain_walk_names("a.b.c.d.e.f.g.h", n), 8);
	assert_string_equal(n[1], "b.c.d.e.f.g.h");
	/* 9 labels: shortened to 7 */
	assert_int_equal(pfl_orgdomain_walk_names("z.a.b.c.d.e.f.g.h", n), 8);
	assert_string_equal(n[1], "b.c.d.e.f.g.h");
	assert_string_equal(n[7], "h");
}

/* A DNS as the walk sees it: what each name publishes. */
struct table {
	const char *name;
	enum pfl_orgdomain_seen seen;
};

struct fake {
	const struct table *t;
	const char *asked[16];
	size_t nasked;
};

/* fake_ask - the walk's question, answered from a table */
static enum pfl_orgdomain_seen
fake_ask(void *ctx, const char *name)
{
	struct fake *f = ctx;
	size_t i;

	assert_true(f->nasked < 16);
	f->asked[f->nasked++] = name;
	for (i = 0; f->t[i].name; i++)
		if (strcmp(f->t[i].name, name) == 0)
			return f->t[i].seen;
	return PFL_SEEN_NONE;
}

/* walk - the org domain found from domain with table t (NULL: failed) */
static const char *
walk(const struct table *t, const char *domain, struct fake *f)
{
	struct pfl_orgdomain_walk w;

	memset(f, 0, sizeof(*f));
	f->t = t;
	pfl_orgdomain_walk(domain, fake_ask, f, &w);
	assert_int_equal(w.n, f->nasked);
	return w.failed ? NULL : w.org;
}

static void
test_walk_rfc_examples(void **state)
{
	/* section 4.10.2: records at mail.example.com and example.com */
	static const struct table t1[] = { { "mail.example.com",
					       PFL_SEEN_RECORD },
		{ "example.com", PFL_SEEN_RECORD }, { NULL, 0 } };
	static const struct table t2[] = { { "mail.example.com",
					       PFL_SEEN_PSD_N },
		{ "example.com", PFL_SEEN_RECORD }, { NULL, 0 } };
	static const struct table t3[] = { { "com", PFL_SEEN_PSD_Y },
		{ NULL, 0 } };
	struct fake f;

	assert_string_equal(walk(t1, "a.mail.example.com", &f), "example.com");
	assert_int_equal(f.nasked, 4); /* down to _dmarc.com */
	/* psd=n declares the org domain and stops the walk */
	assert_string_equal(
	    walk(t2, "a.mail.example.com", &f), "mail.example.com");
	assert_int_equal(f.nasked, 2);
	/* only _dmarc.com, with psd=y: the name one label below it */
	assert_string_equal(walk(t3, "a.mail.example.com", &f), "example.com");
	/* no record anywhere: the domain itself */
	assert_string_equal(
	    walk(t3 + 1, "a.mail.example.com", &f), "a.mail.example.com");
}

static void
test_walk_appendix_b4(void **state)
{
	/* B.4.1 and B.4.2 */
	static const struct table t1[] = { { "example.com", PFL_SEEN_RECORD },
		{ "signing.example.com", PFL_SEEN_RECORD }, { NULL, 0 } };
	/* B.4.3: a PSD with psd=y */
	static const struct table t3[] = { { "bank.example", PFL_SEEN_PSD_Y },
		{ "giant.bank.example", PFL_SEEN_RECORD }, { NULL, 0 } };
	struct fake f;

	assert_string_equal(walk(t1, "example.com", &f), "example.com");
	assert_string_equal(walk(t1, "signing.example.com", &f), "example.com");
	assert_string_equal(
	    walk(t1, "a.b.c.d.e.f.g.h.i.j.k.example.com", &f), "example.com");
	assert_int_equal(f.nasked, 8);
	assert_string_equal(f.asked[1], "g.h.i.j.k.example.com");
	assert_string_equal(
	    walk(t3, "giant.bank.example", &f), "giant.bank.example");
	assert_int_equal(f.nasked, 2); /* stopped at psd=y */
	assert_string_equal(
	    walk(t3, "mail.giant.bank.example", &f), "giant.bank.example");
	assert_string_equal(
	    walk(t3, "mail.mega.bank.example", &f), "mega.bank.example");
	/* the walk starting at the PSD itself: psd=y there is no rule 2 */
	assert_string_equal(walk(t3, "bank.example", &f), "bank.example");
}

static void
test_walk_edges(void **state)
{
	static const struct table broken[] = { { "example.com",
						   PFL_SEEN_RECORD },
		{ "com", PFL_SEEN_FAILED }, { NULL, 0 } };
	static const struct table stop[] = { { "example.com", PFL_SEEN_PSD_N },
		{ "com", PFL_SEEN_FAILED }, { NULL, 0 } };
	/* psd=y at the 7-label name of a 10-label domain */
	static const struct table deep[] = {
		{ "d.e.f.g.h.i.j", PFL_SEEN_PSD_Y }, { NULL, 0 }
	};
	struct pfl_orgdomain_walk w;
	struct fake f;

	/* a failed lookup leaves the org domain unknown */
	assert_null(walk(broken, "mail.example.com", &f));
	memset(&f, 0, sizeof(f));
	f.t = broken;
	pfl_orgdomain_walk("mail.example.com", fake_ask, &f, &w);
	assert_true(w.failed);
	assert_null(w.org);
	/* ... unless the walk stopped before it */
	assert_string_equal(walk(stop, "mail.example.com", &f), "example.com");
	/* the name below a PSD may be one the walk skipped */
	assert_string_equal(
	    walk(deep, "a.b.c.d.e.f.g.h.i.j", &f), "c.d.e.f.g.h.i.j");
	assert_int_equal(f.nasked, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_alabels),
		cmocka_unit_test(test_psl_rules),
		cmocka_unit_test(test_psl_system),
		cmocka_unit_test(test_libopendmarc_tld_bug),
		cmocka_unit_test(test_under),
		cmocka_unit_test(test_walk_names),
		cmocka_unit_test(test_walk_rfc_examples),
		cmocka_unit_test(test_walk_appendix_b4),
		cmocka_unit_test(test_walk_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
