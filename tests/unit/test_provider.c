/*
 * test_provider - recognition of recipient domains (lists, MX rollup
 * through a fake resolver), the config keys and lines, every built-in
 * rule combination (tests/data/provider_rules.txt), texts, fixes and
 * actions of the findings, and the folding of check results.
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "dns.h"
#include "provider.h"
#include "verdict.h"

/* --- helpers ---------------------------------------------------------------- */

/* config - parse text, expecting success */
static struct pfl_config *
config(const char *text)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);

	if (c == NULL)
		fail_msg("unexpected config errors: %s", errors);
	return c;
}

/* map_of - the provider map of config text, expecting success */
static struct pfl_provider_map *
map_of(const char *text)
{
	struct pfl_config *c = config(text);
	char *errors = NULL;
	struct pfl_provider_map *m = pfl_provider_map_new(c, &errors);

	if (m == NULL)
		fail_msg("unexpected map errors: %s", errors);
	assert_null(errors);
	pfl_config_unref(c);
	return m;
}

/* map_errors - the errors of config text (caller frees) */
static char *
map_errors(const char *text)
{
	struct pfl_config *c = config(text);
	char *errors = NULL;
	struct pfl_provider_map *m = pfl_provider_map_new(c, &errors);

	assert_null(m);
	assert_non_null(errors);
	pfl_config_unref(c);
	return errors;
}

/* A fake DNS: MX answers by domain. */
static const struct fake_mx {
	const char *domain;
	enum pfl_dns_status status;
	const char *hosts[3]; /* by preference, "" for a null MX */
} fake_zone[] = {
	{ "workspace.example", PFL_DNS_OK,
	    { "aspmx.l.google.com", "alt1.aspmx.l.google.com" } },
	{ "smtp.example", PFL_DNS_OK, { "smtp.google.com" } },
	{ "gmailish.example", PFL_DNS_OK, { "gmail-smtp-in.l.google.com" } },
	{ "googlemail2.example", PFL_DNS_OK, { "aspmx2.googlemail.com" } },
	{ "tenant.example", PFL_DNS_OK,
	    { "tenant-example.mail.protection.outlook.com" } },
	{ "consumer.example", PFL_DNS_OK,
	    { "hotmail-com.olc.protection.outlook.com" } },
	{ "yahoo.example", PFL_DNS_OK, { "mta5.am0.yahoodns.net" } },
	{ "icloud.example", PFL_DNS_OK, { "mx01.mail.icloud.com" } },
	{ "filtered.example", PFL_DNS_OK,
	    { "mx.filter.example", "aspmx.l.google.com" } },
	{ "lookalike.example", PFL_DNS_OK, { "mx.notgoogle.com" } },
	{ "bare.example", PFL_DNS_OK, { "google.com" } },
	{ "nullmx.example", PFL_DNS_OK, { "" } },
	{ "nomx.example", PFL_DNS_NOTFOUND, { NULL } },
	{ "broken.example", PFL_DNS_TEMPFAIL, { NULL } },
};

static unsigned lookups;

/* fake_lookup - the MX answer of fake_zone[], NXDOMAIN when absent */
static struct pfl_dns_answer *
fake_lookup(void *ctx, const char *domain)
{
	struct pfl_dns_answer *a;
	size_t i, j;

	lookups++;
	for (i = 0; i < sizeof(fake_zone) / sizeof(fake_zone[0]); i++) {
		if (strcmp(domain, fake_zone[i].domain) != 0)
			continue;
		a = pfl_dns_answer_new(PFL_DNS_T_MX, fake_zone[i].status);
		for (j = 0; j < 3 && fake_zone[i].hosts[j]; j++)
			pfl_dns_answer_add_mx(
			    a, 10 * (unsigned)(j + 1), fake_zone[i].hosts[j]);
		if (a->status == PFL_DNS_TEMPFAIL)
			snprintf(a->why, sizeof(a->why), "timed out");
		return a;
	}
	a = pfl_dns_answer_new(PFL_DNS_T_MX, PFL_DNS_NOTFOUND);
	a->nxdomain = true;
	return a;
}

/* recognise - recognise domain with map, through the fake DNS */
static struct pfl_provider_match
recognise(const struct pfl_provider_map *m, const char *domain)
{
	struct pfl_provider_match r;
	enum pfl_provider p;

	p = pfl_provider_for_domain_with(m, fake_lookup, NULL, domain, &r);
	assert_int_equal(p, r.provider);
	return r;
}

/* --- recognition -------------------------------------------------------------- */

static void
test_names(void **state)
{
	unsigned i;
	int p;

	for (p = 0; p < PFL_NPROVIDERS; p++)
		assert_int_equal(pfl_provider_parse(pfl_provider_name(p)), p);
	assert_int_equal(pfl_provider_parse("Google"), PFL_PROV_GOOGLE);
	assert_int_equal(pfl_provider_parse("gmail"), -1);
	for (i = 0; i < PFL_NREQUIREMENTS; i++)
		assert_int_equal(
		    pfl_requirement_parse(pfl_requirement_name(1u << i)),
		    1u << i);
	assert_string_equal(pfl_requirement_name(PFL_REQ_DMARC_POLICY),
	    "dmarc_policy_honoured");
	assert_null(pfl_requirement_name(3));
	assert_int_equal(pfl_requirement_parse("spf"), 0);
	assert_string_equal(pfl_rule_class_name(PFL_CLASS_TENANT), "tenant");
	assert_string_equal(pfl_provider_via_name(PFL_VIA_MX), "mx");
}

static void
test_by_list(void **state)
{
	static const struct {
		const char *domain;
		enum pfl_provider want;
	} t[] = {
		{ "gmail.com", PFL_PROV_GOOGLE },
		{ "GoogleMail.COM.", PFL_PROV_GOOGLE },
		{ "yahoo.com", PFL_PROV_YAHOO },
		{ "yahoo.co.uk", PFL_PROV_YAHOO },
		{ "yahoo.fr", PFL_PROV_YAHOO },
		{ "ymail.com", PFL_PROV_YAHOO },
		{ "rocketmail.com", PFL_PROV_YAHOO },
		{ "aol.com", PFL_PROV_YAHOO },
		{ "outlook.com", PFL_PROV_MICROSOFT },
		{ "hotmail.com", PFL_PROV_MICROSOFT },
		{ "hotmail.co.uk", PFL_PROV_MICROSOFT },
		{ "live.com", PFL_PROV_MICROSOFT },
		{ "live.fr", PFL_PROV_MICROSOFT },
		{ "msn.com", PFL_PROV_MICROSOFT },
		{ "icloud.com", PFL_PROV_APPLE },
		{ "me.com", PFL_PROV_APPLE },
		{ "mac.com", PFL_PROV_APPLE },
	};
	struct pfl_provider_map *m = map_of("");
	struct pfl_provider_match r;
	size_t i;

	lookups = 0;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = recognise(m, t[i].domain);
		assert_int_equal(r.provider, t[i].want);
		assert_int_equal(r.via, PFL_VIA_LIST);
		assert_false(r.tenant);
		assert_string_equal(r.why, "");
	}
	assert_int_equal(lookups, 0); /* the list needs no DNS */
	r = recognise(m, "GMAIL.com");
	assert_string_equal(r.domain, "gmail.com");

	/* patterns take a public suffix, nothing else */
	static const char *not_listed[] = { "live.example.com",
		"yahoo.example.org", "mail.gmail.com", "gmail.co",
		"yahoo.co.jp", "hotmail" };
	for (i = 0; i < sizeof(not_listed) / sizeof(not_listed[0]); i++) {
		r = recognise(m, not_listed[i]);
		assert_int_equal(r.provider, PFL_PROV_DEFAULT);
		assert_int_not_equal(r.via, PFL_VIA_LIST);
	}
	pfl_provider_map_free(&m);
	assert_null(m);
}

static void
test_by_mx(void **state)
{
	static const struct {
		const char *domain;
		enum pfl_provider want;
		bool tenant;
		enum pfl_provider_via via;
		const char *mx, *why;
	} t[] = {
		{ "workspace.example", PFL_PROV_GOOGLE, true, PFL_VIA_MX,
		    "aspmx.l.google.com", "" },
		{ "smtp.example", PFL_PROV_GOOGLE, true, PFL_VIA_MX,
		    "smtp.google.com", "" },
		{ "googlemail2.example", PFL_PROV_GOOGLE, true, PFL_VIA_MX,
		    "aspmx2.googlemail.com", "" },
		{ "bare.example", PFL_PROV_GOOGLE, true, PFL_VIA_MX,
		    "google.com", "" },
		{ "gmailish.example", PFL_PROV_GOOGLE, false, PFL_VIA_MX,
		    "gmail-smtp-in.l.google.com", "" },
		{ "tenant.example", PFL_PROV_MICROSOFT, true, PFL_VIA_MX,
		    "tenant-example.mail.protection.outlook.com", "" },
		{ "consumer.example", PFL_PROV_MICROSOFT, false, PFL_VIA_MX,
		    "hotmail-com.olc.protection.outlook.com", "" },
		{ "yahoo.example", PFL_PROV_YAHOO, false, PFL_VIA_MX,
		    "mta5.am0.yahoodns.net", "" },
		{ "icloud.example", PFL_PROV_APPLE, false, PFL_VIA_MX,
		    "mx01.mail.icloud.com", "" },
		{ "filtered.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT,
		    "mx.filter.example",
		    "MX mx.filter.example is no known provider" },
		{ "lookalike.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT,
		    "mx.notgoogle.com",
		    "MX mx.notgoogle.com is no known provider" },
		{ "nullmx.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT,
		    "", "null MX: accepts no mail" },
		{ "nomx.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT, "",
		    "no MX record" },
		{ "nx.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT, "",
		    "no such domain" },
		{ "broken.example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT,
		    "", "MX lookup failed: timed out" },
		{ "bad..example", PFL_PROV_DEFAULT, false, PFL_VIA_DEFAULT, "",
		    "not a domain name" },
	};
	struct pfl_provider_map *m = map_of("");
	struct pfl_provider_match r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = recognise(m, t[i].domain);
		assert_int_equal(r.provider, t[i].want);
		assert_int_equal(r.tenant, t[i].tenant);
		assert_int_equal(r.via, t[i].via);
		assert_string_equal(r.mx, t[i].mx);
		assert_string_equal(r.why, t[i].why);
	}
	r = recognise(m, NULL);
	assert_string_equal(r.why, "not a domain name");
	pfl_provider_map_free(&m);
}

/* --- config ------------------------------------------------------------------ */

static void
test_config_keys(void **state)
{
	struct pfl_config *c = config("");
	char *errors = NULL;

	assert_int_equal(c->on_auth_reject, PFL_ACT_DEFER);
	assert_int_equal(c->on_auth_throttle, PFL_ACT_TAG);
	assert_int_equal(c->on_dns_error, PFL_ACT_TAG);
	assert_int_equal(c->egress_addresses.n, 0);
	assert_null(c->egress_helo);
	assert_int_equal(c->provider_rules.n, 0);
	pfl_config_unref(c);

	c = config("OnAuthReject REJECT\nOnAuthThrottle hold\n"
		   "OnDnsError accept\n"
		   "EgressAddresses 203.0.113.5, 2001:DB8::0001\n"
		   "EgressAddresses 198.51.100.7\n"
		   "EgressHelo mta.example.com\n"
		   "BulkSenderDomains Example.com news.example.org\n"
		   "# a comment\n"
		   "ProviderRule google bulk spf_pass, dkim_pass\n"
		   "ProviderRule yahoo all none\n");
	assert_int_equal(c->on_auth_reject, PFL_ACT_REJECT);
	assert_int_equal(c->on_auth_throttle, PFL_ACT_HOLD);
	assert_int_equal(c->on_dns_error, PFL_ACT_ACCEPT);
	assert_int_equal(c->egress_addresses.n, 3);
	assert_string_equal(c->egress_addresses.v[0], "203.0.113.5");
	assert_string_equal(c->egress_addresses.v[1], "2001:db8::1");
	assert_string_equal(c->egress_addresses.v[2], "198.51.100.7");
	assert_string_equal(c->egress_helo, "mta.example.com");
	assert_int_equal(c->bulk_sender_domains.n, 2);
	assert_int_equal(c->provider_rules.n, 2);
	assert_string_equal(
	    c->provider_rules.v[0], "google bulk spf_pass, dkim_pass");
	assert_int_equal(c->provider_rules.line[0], 9);
	assert_int_equal(c->provider_rules.line[1], 10);
	pfl_config_unref(c);

	assert_null(pfl_config_parse("t.conf",
	    "OnAuthReject bounce\nEgressAddresses 192.0.2.0/24\n"
	    "EgressAddresses 192.0.2.1 nonsense\nOnDnsError tag\n"
	    "OnDnsError defer\n",
	    &errors));
	assert_string_equal(errors,
	    "t.conf:1: OnAuthReject: expected accept, tag, hold, defer or "
	    "reject: \"bounce\"\n"
	    "t.conf:2: EgressAddresses: \"192.0.2.0/24\" is not an IP "
	    "address (one each, no networks): \"192.0.2.0/24\"\n"
	    "t.conf:3: EgressAddresses: \"nonsense\" is not an IP address "
	    "(one each, no networks): \"192.0.2.1 nonsense\"\n"
	    "t.conf:5: OnDnsError: already set at line 4\n");
	free(errors);
}

static void
test_map_errors(void **state)
{
	char *e = map_errors("ProviderRule gmail all spf_pass\n"
			     "ProviderRule google sometimes spf_pass\n"
			     "ProviderRule google all spf_pass spf\n"
			     "ProviderRule google all\n"
			     "ProviderRule google all none dkim_pass\n"
			     "ProviderRule google bulk dkim_pass\n"
			     "ProviderRule Google BULK spf_pass\n"
			     "ProviderDomains hotmail example.com\n"
			     "ProviderDomains google exa mple..com\n"
			     "ProviderDomains google\n"
			     "ProviderDomains google my.mail.*\n");

	assert_string_equal(e,
	    "t.conf:1: ProviderRule: unknown provider \"gmail\" (google, "
	    "yahoo, microsoft, apple, default)\n"
	    "t.conf:2: ProviderRule: unknown class \"sometimes\" (all, "
	    "bulk, tenant)\n"
	    "t.conf:3: ProviderRule: unknown requirement \"spf\"\n"
	    "t.conf:4: ProviderRule: no requirements (write \"none\" for "
	    "an empty set)\n"
	    "t.conf:5: ProviderRule: \"none\" together with requirements\n"
	    "t.conf:7: ProviderRule: google bulk already set at line 6\n"
	    "t.conf:8: ProviderDomains: unknown provider \"hotmail\" "
	    "(google, yahoo, microsoft, apple, default)\n"
	    "t.conf:9: ProviderDomains: not a domain: \"mple..com\"\n"
	    "t.conf:10: ProviderDomains: no domains after the provider\n"
	    "t.conf:11: ProviderDomains: a pattern is one label and "
	    "\".*\": \"my.mail.*\"\n");
	free(e);
}

static void
test_overrides(void **state)
{
	struct pfl_provider_map *m = map_of(
	    "ProviderRule google all none\n"
	    "ProviderRule default bulk spf_or_dkim, dmarc_policy_honoured\n"
	    "ProviderDomains google Example.ORG, corp.example.net\n"
	    "ProviderDomains yahoo mymail.*\n"
	    "ProviderDomains default gmail.com\n"
	    "BulkSenderDomains example.com\n");
	struct pfl_provider_match r;

	assert_int_equal(
	    pfl_provider_rules(m, PFL_PROV_GOOGLE, PFL_CLASS_ALL), 0);
	assert_int_equal(pfl_provider_rules(m, PFL_PROV_GOOGLE, PFL_CLASS_BULK),
	    PFL_REQ_DMARC_POLICY | PFL_REQ_SPF_OR_DKIM | PFL_REQ_SPF_SANE |
		PFL_REQ_SPF_PASS | PFL_REQ_DKIM_PASS | PFL_REQ_DMARC_RECORD |
		PFL_REQ_DMARC_ALIGNED);
	assert_int_equal(
	    pfl_provider_rules(m, PFL_PROV_DEFAULT, PFL_CLASS_BULK),
	    PFL_REQ_SPF_OR_DKIM | PFL_REQ_DMARC_POLICY);
	assert_int_equal(pfl_provider_rules(m, PFL_PROV_DEFAULT, PFL_CLASS_ALL),
	    PFL_REQ_DMARC_POLICY);

	lookups = 0;
	r = recognise(m, "example.org");
	assert_int_equal(r.provider, PFL_PROV_GOOGLE);
	assert_int_equal(r.via, PFL_VIA_LIST);
	r = recognise(m, "corp.example.net");
	assert_int_equal(r.provider, PFL_PROV_GOOGLE);
	r = recognise(m, "mymail.de");
	assert_int_equal(r.provider, PFL_PROV_YAHOO);
	/* ProviderDomains come before the built-in list */
	r = recognise(m, "gmail.com");
	assert_int_equal(r.provider, PFL_PROV_DEFAULT);
	assert_int_equal(r.via, PFL_VIA_LIST);
	assert_int_equal(lookups, 0);
	r = recognise(m, "googlemail.com");
	assert_int_equal(r.provider, PFL_PROV_GOOGLE);

	assert_true(pfl_provider_bulk(m, "example.com"));
	assert_true(pfl_provider_bulk(m, "News.Example.com"));
	assert_false(pfl_provider_bulk(m, "badexample.com"));
	assert_false(pfl_provider_bulk(m, "com"));
	assert_false(pfl_provider_bulk(m, NULL));
	pfl_provider_map_free(&m);
}

/* --- the rule matrix -------------------------------------------------------- */

static const char *spf_words[] = { "pass", "fail", "softfail", "none",
	"temperror" };
static const enum pfl_spf_code spf_codes[] = { PFL_SPF_PASS, PFL_SPF_FAIL,
	PFL_SPF_SOFTFAIL, PFL_SPF_NONE, PFL_SPF_TEMPERROR };
static const char *dkim_words[] = { "pass", "none", "fail" };
static const char *dmarc_words[] = { "pass", "none", "fail/none", "fail/quar",
	"fail/rej", "temperror" };

/* word_index - position of w in words[0..n), -1 if absent */
static int
word_index(const char *w, const char **words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(w, words[i]) == 0)
			return i;
	return -1;
}

/* matrix_auth - the auth of one matrix cell */
static void
matrix_auth(struct pfl_auth *a, int spf, int dkim, int dmarc, bool bulk)
{
	pfl_auth_init(a, "example.com", "example.com", bulk);
	a->spf_checked = true;
	a->spf = spf_codes[spf];
	snprintf(a->spf_ip, sizeof(a->spf_ip), "203.0.113.5");
	snprintf(a->spf_domain, sizeof(a->spf_domain), "example.com");
	a->dkim = dkim == 0 ? PFL_AUTH_DKIM_PASS
	    : dkim == 1     ? PFL_AUTH_DKIM_NONE
			    : PFL_AUTH_DKIM_FAIL;
	a->dkim_signed = dkim != 1;
	a->dkim_pass = dkim == 0;
	switch (dmarc) {
	case 0:
		a->dmarc = PFL_DMARC_PASS;
		a->dmarc_record = true;
		a->spf_aligned = spf == 0;
		a->dkim_aligned = dkim == 0;
		break;
	case 1:
		a->dmarc = PFL_DMARC_NONE;
		break;
	case 2:
	case 3:
	case 4:
		a->dmarc = PFL_DMARC_FAIL;
		a->dmarc_record = true;
		a->dmarc_policy = (enum pfl_dmarc_policy)(dmarc - 2);
		break;
	default:
		a->dmarc = PFL_DMARC_TEMPERROR;
		break;
	}
}

/* check_cell - judge one combination and compare with the pinned cell */
static void
check_cell(const struct pfl_provider_map *m, int p, int c, int spf, int dkim,
    int dmarc, const char *cell, int lineno)
{
	struct pfl_provider_match r;
	struct pfl_finding f;
	struct pfl_auth a;
	char got[80], reply[64], *sp;
	enum pfl_action want_act;

	memset(&r, 0, sizeof(r));
	r.provider = (enum pfl_provider)p;
	r.tenant = c == PFL_CLASS_TENANT;
	snprintf(r.domain, sizeof(r.domain), "rcpt.example");
	matrix_auth(&a, spf, dkim, dmarc, c == PFL_CLASS_BULK);
	pfl_provider_judge(m, &r, &a, &f);
	if (f.outcome == PFL_OUT_DELIVER) {
		snprintf(got, sizeof(got), "%s",
		    strcmp(f.reply, "250 (spam folder)") == 0 ? "S" : "D");
	} else {
		snprintf(reply, sizeof(reply), "%s", f.reply);
		if ((sp = strchr(reply, ' ')) != NULL)
			*sp = '_';
		snprintf(got, sizeof(got), "%c%s",
		    f.outcome == PFL_OUT_REFUSE ? 'R' : 'T', reply);
	}
	if (strcmp(got, cell) != 0)
		fail_msg("provider_rules.txt:%d: %s %s spf=%s dkim=%s "
			 "dmarc=%s: pinned %s, got %s (%s)",
		    lineno, pfl_provider_name(p), pfl_rule_class_name(c),
		    spf_words[spf], dkim_words[dkim], dmarc_words[dmarc], cell,
		    got, f.reason);
	/* the action class: OnAuthReject reject, OnAuthThrottle hold,
	 * OnDnsError defer; only Gmail's 4.7.32 is a throttle with
	 * nothing left open by DNS */
	want_act = cell[0] == 'R'    ? PFL_ACT_REJECT
	    : cell[0] == 'S'         ? PFL_ACT_HOLD
	    : cell[0] == 'D'         ? PFL_ACT_ACCEPT
	    : strstr(cell, "4.7.32") ? PFL_ACT_HOLD
				     : PFL_ACT_DEFER;
	if (f.action != want_act)
		fail_msg("provider_rules.txt:%d: action %s, want %s", lineno,
		    pfl_action_name(f.action), pfl_action_name(want_act));
	assert_string_equal(f.rcode,
	    cell[0] == 'D'                   ? ""
		: f.action == PFL_ACT_REJECT ? "550"
					     : "451");
}

/* matrix_row - one grid row; returns the cells checked */
static int
matrix_row(const struct pfl_provider_map *m, int p, int c, char *line,
    int lineno, bool seen[5][3])
{
	char *cur, *tok, *w[10];
	int n = 0, spf, dkim, d;

	for (tok = strtok_r(line, " \t\n", &cur); tok && n < 10;
	     tok = strtok_r(NULL, " \t\n", &cur))
		w[n++] = tok;
	if (n != 9 || strcmp(w[2], "|") != 0)
		fail_msg("provider_rules.txt:%d: malformed row", lineno);
	spf = word_index(w[0], spf_words, 5);
	dkim = word_index(w[1], dkim_words, 3);
	if (spf < 0 || dkim < 0 || seen[spf][dkim])
		fail_msg("provider_rules.txt:%d: bad or repeated row", lineno);
	seen[spf][dkim] = true;
	for (d = 0; d < 6; d++) {
		bool impossible = d == 0 && spf != 0 && dkim != 0;

		if (impossible != (strcmp(w[3 + d], "-") == 0))
			fail_msg("provider_rules.txt:%d: \"-\" where DMARC "
				 "%s passing",
			    lineno, impossible ? "cannot" : "can");
		if (!impossible)
			check_cell(m, p, c, spf, dkim, d, w[3 + d], lineno);
	}
	return 6;
}

static void
test_rule_matrix(void **state)
{
	struct pfl_provider_map *m = map_of("OnAuthReject reject\n"
					    "OnAuthThrottle hold\n"
					    "OnDnsError defer\n");
	const char *top = getenv("top_srcdir");
	bool sections[PFL_NPROVIDERS][PFL_NCLASSES] = { { false } };
	bool seen[5][3];
	char path[1024], line[512], pw[32], cw[32];
	int p = -1, c = -1, lineno = 0, cells = 0, rows = 0, i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/data/provider_rules.txt",
	    top ? top : ".");
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n' ||
		    strncmp(line, "spf ", 4) == 0)
			continue;
		if (sscanf(line, "== %31s %31s", pw, cw) == 2) {
			assert_true(p < 0 || rows == 15);
			p = pfl_provider_parse(pw);
			for (c = 0; c < PFL_NCLASSES; c++)
				if (strcmp(cw, pfl_rule_class_name(c)) == 0)
					break;
			assert_true(p >= 0 && c < PFL_NCLASSES);
			assert_false(sections[p][c]);
			sections[p][c] = true;
			memset(seen, 0, sizeof(seen));
			rows = 0;
			continue;
		}
		assert_true(p >= 0);
		cells += matrix_row(m, p, c, line, lineno, seen);
		rows++;
	}
	fclose(fp);
	assert_int_equal(rows, 15);
	for (i = 0; i < PFL_NPROVIDERS * PFL_NCLASSES; i++)
		assert_true(sections[i / PFL_NCLASSES][i % PFL_NCLASSES]);
	assert_int_equal(cells, PFL_NPROVIDERS * PFL_NCLASSES * 15 * 6);
	pfl_provider_map_free(&m);
}

/* --- findings: texts, fixes, actions ------------------------------------------ */

/* gmail - a consumer Gmail recipient */
static struct pfl_provider_match
rcpt(enum pfl_provider p, const char *domain, bool tenant)
{
	struct pfl_provider_match r;

	memset(&r, 0, sizeof(r));
	r.provider = p;
	r.tenant = tenant;
	snprintf(r.domain, sizeof(r.domain), "%s", domain);
	return r;
}

/* spf_fail_auth - SPF -all fail for 203.0.113.5, unsigned, no DMARC */
static void
spf_fail_auth(struct pfl_auth *a, bool bulk)
{
	struct pfl_spf_result s;

	pfl_auth_init(a, "Example.com", "example.com", bulk);
	memset(&s, 0, sizeof(s));
	s.code = PFL_SPF_FAIL;
	snprintf(s.domain, sizeof(s.domain), "example.com");
	snprintf(s.mechanism, sizeof(s.mechanism), "-all");
	pfl_auth_add_spf(a, "203.0.113.5", &s);
}

static void
test_finding_texts(void **state)
{
	struct pfl_provider_map *m = map_of("");
	struct pfl_provider_match g = rcpt(PFL_PROV_GOOGLE, "gmail.com", false);
	struct pfl_finding f;
	struct pfl_verdict v;
	struct pfl_auth a;

	/* the example of the design: defer with the receiver's words */
	spf_fail_auth(&a, false);
	pfl_provider_judge(m, &g, &a, &f);
	assert_string_equal(f.check, "auth");
	assert_int_equal(f.outcome, PFL_OUT_REFUSE);
	assert_int_equal(f.action, PFL_ACT_DEFER);
	assert_string_equal(f.reply, "550 5.7.26");
	assert_string_equal(f.rcode, "451");
	assert_string_equal(f.xcode, "4.7.26");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.26): SPF for 203.0.113.5 "
	    "fails (-all) and no DKIM signature");
	assert_string_equal(
	    f.fix, "allow 203.0.113.5 in the SPF record of example.com");
	pfl_verdict_decide(&f, 1, PFL_MODE_ENFORCE, false, &v);
	assert_int_equal(v.action, PFL_ACT_DEFER);
	assert_string_equal(v.rcode, "451");
	assert_string_equal(v.xcode, "4.7.26");
	assert_string_equal(v.text,
	    "preflight: gmail.com would refuse this (550 5.7.26): SPF for "
	    "203.0.113.5 fails (-all) and no DKIM signature");

	/* the signer's key does not match: that is the fix */
	struct pfl_dkim_prediction pr;
	memset(&pr, 0, sizeof(pr));
	pr.result = PFL_DKIM_KEY_PROBLEM;
	snprintf(pr.domain, sizeof(pr.domain), "example.com");
	snprintf(pr.fix, sizeof(pr.fix),
	    "DKIM key selector1._domainkey.example.com does not match the "
	    "signing key");
	pfl_auth_add_dkim_prediction(&a, &pr);
	pfl_provider_judge(m, &g, &a, &f);
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.26): SPF for 203.0.113.5 "
	    "fails (-all) and DKIM signature d=example.com does not verify");
	assert_string_equal(f.fix,
	    "DKIM key selector1._domainkey.example.com does not match the "
	    "signing key");
	pfl_provider_map_free(&m);

	/* OnAuthReject reject: our 5xx carries the receiver's code */
	m = map_of("OnAuthReject reject\n");
	pfl_provider_judge(m, &g, &a, &f);
	assert_int_equal(f.action, PFL_ACT_REJECT);
	assert_string_equal(f.rcode, "550");
	assert_string_equal(f.xcode, "5.7.26");
	pfl_provider_map_free(&m);
}

static void
test_finding_bulk(void **state)
{
	struct pfl_provider_map *m = map_of("");
	struct pfl_provider_match g = rcpt(PFL_PROV_GOOGLE, "gmail.com", false);
	struct pfl_provider_match y = rcpt(PFL_PROV_YAHOO, "yahoo.com", false);
	struct pfl_spf_result s;
	struct pfl_finding f;
	struct pfl_auth a;

	/* SPF and DKIM pass, no DMARC record: 5.7.40 */
	pfl_auth_init(&a, "example.com", "bounce.example.com", true);
	memset(&s, 0, sizeof(s));
	s.code = PFL_SPF_PASS;
	snprintf(s.domain, sizeof(s.domain), "bounce.example.com");
	pfl_auth_add_spf(&a, "203.0.113.5", &s);
	a.dkim = PFL_AUTH_DKIM_PASS;
	a.dkim_pass = 1;
	a.dkim_signed = true;
	snprintf(a.dkim_domain, sizeof(a.dkim_domain), "esp.example.net");
	pfl_provider_judge(m, &g, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_REFUSE);
	assert_string_equal(f.reply, "550 5.7.40");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.40): no DMARC record for "
	    "example.com; also: dmarc_aligned");
	assert_string_equal(f.fix,
	    "publish a DMARC record at _dmarc.example.com (p=none is "
	    "enough)");

	/* a record, nothing aligned: 421 4.7.32, OnAuthThrottle (tag) */
	a.dmarc = PFL_DMARC_FAIL;
	a.dmarc_record = true;
	a.dmarc_policy = PFL_DMARC_P_NONE;
	pfl_provider_judge(m, &g, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_THROTTLE);
	assert_int_equal(f.action, PFL_ACT_TAG);
	assert_string_equal(f.reply, "421 4.7.32");
	assert_string_equal(f.reason,
	    "gmail.com would defer this (421 4.7.32): From: example.com "
	    "aligns with no passing SPF or DKIM domain");
	assert_string_equal(f.fix,
	    "sign with d=example.com (d=esp.example.net does not align)");

	/* Yahoo: the same sender, the same gap, its own words */
	pfl_provider_judge(m, &y, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_REFUSE);
	assert_string_equal(f.reply, "550 5.7.9");

	/* not bulk: nothing missing at Gmail */
	a.bulk = false;
	pfl_provider_judge(m, &g, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_DELIVER);
	assert_int_equal(f.action, PFL_ACT_ACCEPT);
	assert_string_equal(f.reply, "250");
	assert_string_equal(f.reason, "gmail.com would accept this");
	assert_string_equal(f.fix, "");

	/* several gaps: the first by priority leads, the rest are named */
	spf_fail_auth(&a, true);
	a.dkim = PFL_AUTH_DKIM_PASS;
	a.dkim_pass = 1;
	pfl_provider_judge(m, &g, &a, &f);
	assert_string_equal(f.reply, "550 5.7.27");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.27): SPF for 203.0.113.5 "
	    "fails (-all); also: dmarc_record, dmarc_aligned");
	pfl_provider_map_free(&m);
}

static void
test_finding_policy_and_dns(void **state)
{
	struct pfl_provider_map *m = map_of("");
	struct pfl_provider_match g = rcpt(PFL_PROV_GOOGLE, "gmail.com", false);
	struct pfl_provider_match ms =
	    rcpt(PFL_PROV_MICROSOFT, "outlook.com", false);
	struct pfl_provider_match t =
	    rcpt(PFL_PROV_MICROSOFT, "corp.example", true);
	struct pfl_spf_result s;
	struct pfl_finding f;
	struct pfl_auth a;

	/* p=quarantine: accepted into spam; OnAuthThrottle (tag) */
	pfl_auth_init(&a, "example.com", "example.com", false);
	a.dkim = PFL_AUTH_DKIM_PASS;
	a.dkim_pass = 1;
	snprintf(a.dkim_domain, sizeof(a.dkim_domain), "esp.example.net");
	a.dmarc = PFL_DMARC_FAIL;
	a.dmarc_record = true;
	a.dmarc_policy = PFL_DMARC_P_QUARANTINE;
	snprintf(a.dmarc_domain, sizeof(a.dmarc_domain), "example.com");
	pfl_provider_judge(m, &ms, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_DELIVER);
	assert_int_equal(f.action, PFL_ACT_TAG);
	assert_string_equal(f.reply, "250 (spam folder)");
	assert_string_equal(f.reason,
	    "outlook.com would deliver this to spam: DMARC fails under "
	    "p=quarantine of example.com");

	/* p=reject: Microsoft's 5.7.509, also for a 365 tenant */
	a.dmarc_policy = PFL_DMARC_P_REJECT;
	pfl_provider_judge(m, &ms, &a, &f);
	assert_string_equal(f.reply, "550 5.7.509");
	assert_int_equal(f.action, PFL_ACT_DEFER);
	pfl_provider_judge(m, &t, &a, &f);
	assert_string_equal(f.reply, "550 5.7.509");
	assert_string_equal(f.reason,
	    "corp.example would refuse this (550 5.7.509): DMARC fails "
	    "under p=reject of example.com");

	/* a tenant ignores the consumer bulk rules */
	a.bulk = true;
	a.dmarc = PFL_DMARC_NONE;
	a.dmarc_record = false;
	pfl_provider_judge(m, &t, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_DELIVER);
	pfl_provider_judge(m, &ms, &a, &f);
	assert_string_equal(f.reply, "550 5.7.515");

	/* DNS trouble: the temporary reply, OnDnsError */
	pfl_provider_map_free(&m);
	m = map_of("OnDnsError hold\n");
	pfl_auth_init(&a, "example.com", "example.com", false);
	memset(&s, 0, sizeof(s));
	s.code = PFL_SPF_TEMPERROR;
	snprintf(s.domain, sizeof(s.domain), "example.com");
	pfl_auth_add_spf(&a, "203.0.113.5", &s);
	pfl_provider_judge(m, &g, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_THROTTLE);
	assert_int_equal(f.action, PFL_ACT_HOLD);
	assert_string_equal(f.reply, "421 4.7.26");
	assert_string_equal(f.xcode, "4.7.26");
	assert_string_equal(f.reason,
	    "gmail.com would defer this (421 4.7.26): SPF for 203.0.113.5 "
	    "could not be checked (DNS) and no DKIM signature");
	assert_string_equal(
	    f.fix, "make the DNS of example.com answer (SPF temperror)");

	/* a suspicious SPF record: Gmail's 5.7.24, Microsoft does not care */
	pfl_auth_init(&a, "example.com", "example.com", false);
	s.code = PFL_SPF_PASS;
	s.suspicious = true;
	snprintf(s.suspicious_why, sizeof(s.suspicious_why), "+all");
	pfl_auth_add_spf(&a, "203.0.113.5", &s);
	pfl_provider_judge(m, &g, &a, &f);
	assert_string_equal(f.reply, "550 5.7.24");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.24): SPF record of "
	    "example.com is suspicious (+all)");
	pfl_provider_judge(m, &ms, &a, &f);
	assert_int_equal(f.outcome, PFL_OUT_DELIVER);

	/* nothing folded in: SPF was not checked (no egress addresses) */
	pfl_auth_init(&a, "example.com", NULL, false);
	pfl_provider_judge(m, &g, &a, &f);
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.26): SPF not checked and "
	    "no DKIM signature");
	assert_string_equal(f.fix, "set EgressAddresses so SPF can be checked");
	pfl_provider_map_free(&m);
}

/* --- folding check results ----------------------------------------------- */

static void
test_auth_spf_worst(void **state)
{
	static const enum pfl_spf_code order[] = { PFL_SPF_PASS, PFL_SPF_NONE,
		PFL_SPF_NEUTRAL, PFL_SPF_TEMPERROR, PFL_SPF_SOFTFAIL,
		PFL_SPF_PERMERROR, PFL_SPF_FAIL };
	struct pfl_spf_result s;
	struct pfl_auth a;
	size_t i, j;

	/* every pair, both orders: the worse one stays with its address */
	for (i = 0; i < 7; i++)
		for (j = 0; j < 7; j++) {
			pfl_auth_init(&a, "example.com", "example.com", false);
			memset(&s, 0, sizeof(s));
			s.code = order[i];
			snprintf(s.mechanism, sizeof(s.mechanism), "m%zu", i);
			pfl_auth_add_spf(&a, "192.0.2.1", &s);
			s.code = order[j];
			snprintf(s.mechanism, sizeof(s.mechanism), "m%zu", j);
			pfl_auth_add_spf(&a, "192.0.2.2", &s);
			assert_true(a.spf_checked);
			assert_int_equal(a.spf, order[i > j ? i : j]);
			assert_string_equal(
			    a.spf_ip, j > i ? "192.0.2.2" : "192.0.2.1");
		}

	/* a suspicious record stays flagged even behind a worse result */
	pfl_auth_init(&a, "example.com", "example.com", false);
	memset(&s, 0, sizeof(s));
	s.code = PFL_SPF_PASS;
	s.suspicious = true;
	snprintf(s.suspicious_why, sizeof(s.suspicious_why), "+all");
	pfl_auth_add_spf(&a, "192.0.2.1", &s);
	s.code = PFL_SPF_FAIL;
	s.suspicious = false;
	pfl_auth_add_spf(&a, "192.0.2.2", &s);
	assert_true(a.spf_suspicious);
	assert_string_equal(a.spf_suspicious_why, "+all");
	assert_int_equal(a.spf, PFL_SPF_FAIL);
}

static void
test_auth_dkim_dmarc(void **state)
{
	struct pfl_dkim_sig sigs[3];
	struct pfl_dkim_prediction p;
	struct pfl_dmarc_result d;
	struct pfl_auth a;

	memset(sigs, 0, sizeof(sigs));
	sigs[0].result = PFL_DKIM_FAIL_BODY;
	sigs[0].domain = "esp.example.net";
	sigs[0].selector = "s1";
	sigs[0].why = "body hash mismatch";
	sigs[1].result = PFL_DKIM_PASS;
	sigs[1].domain = "Example.COM";
	sigs[1].selector = "s2";
	sigs[2].result = PFL_DKIM_TEMPFAIL;
	sigs[2].domain = "other.example";

	pfl_auth_init(&a, "example.com", "example.com", false);
	pfl_auth_add_dkim_sigs(&a, sigs, 1);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_FAIL);
	assert_true(a.dkim_signed);
	assert_string_equal(a.dkim_domain, "esp.example.net");
	assert_string_equal(a.dkim_problem,
	    "DKIM signature d=esp.example.net s=s1: body hash mismatch");
	pfl_auth_add_dkim_sigs(&a, sigs + 2, 1);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_TEMPERROR);
	pfl_auth_add_dkim_sigs(&a, sigs + 1, 1);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_PASS);
	assert_int_equal(a.dkim_pass, 1);
	assert_string_equal(a.dkim_domain, "example.com");

	/* the signer would not sign: unsigned, the fix is kept */
	pfl_auth_init(&a, "example.com", "example.com", false);
	memset(&p, 0, sizeof(p));
	p.result = PFL_DKIM_WOULD_NOT_SIGN;
	snprintf(p.fix, sizeof(p.fix), "add a SigningTable entry for a@x");
	pfl_auth_add_dkim_prediction(&a, &p);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_NONE);
	assert_false(a.dkim_signed);
	assert_string_equal(a.dkim_problem, "add a SigningTable entry for a@x");
	p.result = PFL_DKIM_KEY_UNKNOWN;
	pfl_auth_add_dkim_prediction(&a, &p);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_TEMPERROR);
	p.result = PFL_DKIM_WOULD_SIGN;
	snprintf(p.domain, sizeof(p.domain), "example.com");
	pfl_auth_add_dkim_prediction(&a, &p);
	assert_int_equal(a.dkim, PFL_AUTH_DKIM_PASS);
	assert_string_equal(a.dkim_domain, "example.com");

	memset(&d, 0, sizeof(d));
	d.result = PFL_DMARC_FAIL;
	d.applied = PFL_DMARC_P_REJECT;
	d.record_found = true;
	snprintf(d.record_domain, sizeof(d.record_domain), "example.com");
	pfl_auth_set_dmarc(&a, &d);
	assert_int_equal(a.dmarc, PFL_DMARC_FAIL);
	assert_int_equal(a.dmarc_policy, PFL_DMARC_P_REJECT);
	assert_true(a.dmarc_record);
	assert_false(a.spf_aligned || a.dkim_aligned);
	assert_string_equal(a.dmarc_domain, "example.com");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_by_list),
		cmocka_unit_test(test_by_mx),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_rule_matrix),
		cmocka_unit_test(test_finding_texts),
		cmocka_unit_test(test_finding_bulk),
		cmocka_unit_test(test_finding_policy_and_dns),
		cmocka_unit_test(test_auth_spf_worst),
		cmocka_unit_test(test_auth_dkim_dmarc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
