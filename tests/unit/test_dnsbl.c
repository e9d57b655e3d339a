/*
 * test_dnsbl - DNS blocklists: Dnsbl lines (options, well-known zones,
 * errors with file and line), query names for IPv4, IPv6 and domains,
 * and what answers mean: listing codes, error codes that are never a
 * listing, codes that are not listings, DNS failures
 */
#include <autoconfig.h>

#include <arpa/inet.h>
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
#include "dnsbl.h"
#include "provider.h"

/* set_of - the list set of config text; errors (may be NULL) */
static struct pfl_dnsbl_set *
set_of(const char *text, char **errors_r)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);
	struct pfl_dnsbl_set *s;

	if (c == NULL)
		fail_msg("config errors: %s", errors);
	s = pfl_dnsbl_set_new(c, NULL, &errors);
	pfl_config_unref(c);
	if (errors_r != NULL)
		*errors_r = errors;
	else if (errors != NULL)
		fail_msg("dnsbl errors: %s", errors);
	return s;
}

/* answer - an A answer with the given addresses (NULL-terminated) */
static struct pfl_dns_answer *
answer(const char *first, ...)
{
	struct pfl_dns_answer *a;
	struct in_addr in;
	const char *s;
	va_list ap;

	a = pfl_dns_answer_new(
	    PFL_DNS_T_A, first ? PFL_DNS_OK : PFL_DNS_NOTFOUND);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		assert_int_equal(inet_pton(AF_INET, s, &in), 1);
		pfl_dns_answer_add_addr(a, AF_INET, &in);
	}
	va_end(ap);
	return a;
}

/* classify - what a list makes of an answer */
static void
classify(const struct pfl_dnsbl_list *L, struct pfl_dns_answer *a,
    struct pfl_dnsbl_answer *r)
{
	pfl_dnsbl_classify(L, a, r);
	pfl_dns_answer_free(&a);
}

static void
known_zones_get_their_codes(void **state)
{
	struct pfl_dnsbl_set *s =
	    set_of("DnsblResolver 127.0.0.1@1\n"
		   "Dnsbl zen.spamhaus.org ip\n"
		   "Dnsbl KEY123.zen.dq.spamhaus.net. ip\n"
		   "Dnsbl dbl.spamhaus.org domain\n",
		NULL);
	char buf[64];

	(void)state;
	assert_int_equal(s->n, 3);
	assert_int_equal(s->nip, 2);
	assert_int_equal(s->ndomain, 1);
	assert_string_equal(s->lists[0].name, "Spamhaus ZEN");
	assert_string_equal(s->lists[1].zone, "key123.zen.dq.spamhaus.net");
	assert_string_equal(s->lists[1].name, "Spamhaus ZEN");
	assert_string_equal(
	    pfl_dnsbl_providers_text(s->lists[0].providers, buf, sizeof(buf)),
	    "microsoft,yahoo");
	assert_string_equal(s->lists[0].delist, "https://check.spamhaus.org/");
	assert_string_equal(s->lists[0].test_listed, "127.0.0.2");
	assert_string_equal(s->lists[0].test_clean, "127.0.0.1");
	assert_string_equal(s->lists[2].test_listed, "dbltest.com");
	assert_string_equal(s->lists[2].test_clean, "invalid");
	pfl_dnsbl_set_free(&s);
	assert_null(s);
}

static void
options_replace_what_is_known(void **state)
{
	struct pfl_dnsbl_set *s = set_of(
	    "DnsblResolver 127.0.0.1@1\n"
	    "Dnsbl zen.spamhaus.org ip providers=* listed=127.0.0.2:SBL "
	    "name=ZEN delist=https://delist.test/ test=no\n"
	    "Dnsbl bl.test ip\n"
	    "Dnsbl dbl.test domain providers=google,apple test=dbltest.test "
	    "server=127.0.0.1@2\n",
	    NULL);
	char buf[64];

	(void)state;
	assert_int_equal(s->n, 3);
	assert_string_equal(
	    pfl_dnsbl_providers_text(s->lists[0].providers, buf, sizeof(buf)),
	    "*");
	assert_int_equal(s->lists[0].ncodes, 1);
	assert_string_equal(s->lists[0].name, "ZEN");
	assert_null(s->lists[0].test_listed);
	/* an unknown zone: every provider, any 127/8 answer, RFC 5782 test */
	assert_string_equal(s->lists[1].name, "bl.test");
	assert_int_equal(s->lists[1].ncodes, 0);
	assert_string_equal(s->lists[1].test_listed, "127.0.0.2");
	assert_null(s->lists[1].delist);
	assert_string_equal(
	    pfl_dnsbl_providers_text(s->lists[2].providers, buf, sizeof(buf)),
	    "apple,google");
	assert_string_equal(s->lists[2].test_listed, "dbltest.test");
	assert_true(s->lists[2].own_dns);
	assert_false(s->lists[1].own_dns);
	pfl_dnsbl_set_free(&s);
}

static void
bad_lines_are_reported_with_their_line(void **state)
{
	char *errors = NULL;
	struct pfl_dnsbl_set *s = set_of("DnsblResolver 127.0.0.1@1\n"
					 "Dnsbl bl.test\n"
					 "Dnsbl bl.test ipv4\n"
					 "Dnsbl bl.test ip listed=127.0.0.300\n"
					 "Dnsbl bl.test ip providers=aol\n"
					 "Dnsbl bl.test ip colour=red\n"
					 "Dnsbl ok.test ip\n"
					 "Dnsbl ok.test ip\n"
					 "Dnsbl b..test ip\n",
	    &errors);

	(void)state;
	assert_null(s);
	assert_non_null(errors);
	assert_non_null(strstr(errors, "t.conf:2: Dnsbl: expected ZONE"));
	assert_non_null(strstr(errors, "t.conf:3: Dnsbl: the second word"));
	assert_non_null(strstr(errors, "t.conf:4: Dnsbl: listed="));
	assert_non_null(strstr(errors, "t.conf:5: Dnsbl: providers="));
	assert_non_null(strstr(errors, "t.conf:6: Dnsbl: unknown option"));
	assert_non_null(strstr(
	    errors, "t.conf:8: Dnsbl: the zone ok.test is already on line 7"));
	assert_non_null(strstr(errors, "t.conf:9: Dnsbl: not a zone name"));
	assert_null(strstr(errors, "t.conf:7:"));
	free(errors);
}

static void
no_lines_no_resolver(void **state)
{
	struct pfl_dnsbl_set *s = set_of("Mode tag\n", NULL);

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->n, 0);
	assert_null(s->dns);
	pfl_dnsbl_set_free(&s);
}

static void
query_names(void **state)
{
	struct pfl_dnsbl_set *s = set_of("DnsblResolver 127.0.0.1@1\n"
					 "Dnsbl bl.test ip\n"
					 "Dnsbl dbl.test domain\n",
	    NULL);
	char name[300];

	(void)state;
	assert_int_equal(pfl_dnsbl_query_name(
			     &s->lists[0], "203.0.113.5", name, sizeof(name)),
	    0);
	assert_string_equal(name, "5.113.0.203.bl.test");
	assert_int_equal(pfl_dnsbl_query_name(
			     &s->lists[0], "2001:db8::1", name, sizeof(name)),
	    0);
	assert_string_equal(name,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "bl.test");
	assert_int_equal(pfl_dnsbl_query_name(
			     &s->lists[0], "evil.example", name, sizeof(name)),
	    -1);
	assert_int_equal(pfl_dnsbl_query_name(
			     &s->lists[1], "evil.example", name, sizeof(name)),
	    0);
	assert_string_equal(name, "evil.example.dbl.test");
	assert_int_equal(
	    pfl_dnsbl_query_name(&s->lists[1], "192.0.2.1", name, sizeof(name)),
	    -1);
	assert_int_equal(pfl_dnsbl_query_name(
			     &s->lists[1], "a b.example", name, sizeof(name)),
	    -1);
	assert_int_equal(
	    pfl_dnsbl_query_name(&s->lists[1], "evil.example", name, 10), -1);
	pfl_dnsbl_set_free(&s);
}

static void
listing_codes(void **state)
{
	struct pfl_dnsbl_set *s = set_of("DnsblResolver 127.0.0.1@1\n"
					 "Dnsbl zen.spamhaus.org ip\n"
					 "Dnsbl rep.mailspike.net ip\n"
					 "Dnsbl bl.test ip\n",
	    NULL);
	struct pfl_dnsbl_answer r;

	(void)state;
	classify(&s->lists[0], answer("127.0.0.2", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_LISTED);
	assert_string_equal(r.code, "127.0.0.2");
	assert_string_equal(r.label, "SBL");
	classify(&s->lists[0],
	    answer("127.0.0.4", "127.0.0.11", "127.0.0.2", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_LISTED);
	assert_string_equal(r.code, "127.0.0.4");
	assert_string_equal(r.label, "XBL,PBL,SBL");
	classify(&s->lists[0], answer("127.0.0.3", NULL), &r);
	assert_string_equal(r.label, "SBL-CSS");
	/* Mailspike's good reputations are not listings */
	classify(&s->lists[1], answer("127.0.0.18", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CLEAN);
	classify(&s->lists[1], answer("127.0.0.11", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_LISTED);
	/* no codes given: any 127/8 answer */
	classify(&s->lists[2], answer("127.0.0.77", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_LISTED);
	assert_string_equal(r.label, "");
	classify(&s->lists[2], answer(NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CLEAN);
	pfl_dnsbl_set_free(&s);
}

static void
error_codes_are_never_listings(void **state)
{
	struct pfl_dnsbl_set *s = set_of("DnsblResolver 127.0.0.1@1\n"
					 "Dnsbl zen.spamhaus.org ip\n"
					 "Dnsbl dbl.spamhaus.org domain\n"
					 "Dnsbl bl.test ip\n",
	    NULL);
	struct pfl_dnsbl_answer r;

	(void)state;
	classify(&s->lists[0], answer("127.255.255.254", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	assert_string_equal(r.code, "127.255.255.254");
	assert_non_null(strstr(r.why, "public resolver"));
	classify(&s->lists[0], answer("127.255.255.252", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	assert_non_null(strstr(r.why, "typing error"));
	classify(&s->lists[0], answer("127.255.255.255", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	classify(&s->lists[1], answer("127.0.1.255", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	/* even on a list that counts any 127/8 answer */
	classify(&s->lists[2], answer("127.255.255.254", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	classify(&s->lists[2], answer("192.0.2.1", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_CANNOT_TELL);
	assert_non_null(strstr(r.why, "outside 127.0.0.0/8"));
	/* a listing next to an error code is a listing */
	classify(
	    &s->lists[0], answer("127.255.255.254", "127.0.0.2", NULL), &r);
	assert_int_equal(r.state, PFL_DNSBL_LISTED);
	pfl_dnsbl_set_free(&s);
}

static void
dns_failure_is_temporary(void **state)
{
	struct pfl_dnsbl_set *s = set_of("DnsblResolver 127.0.0.1@1\n"
					 "Dnsbl bl.test ip\n",
	    NULL);
	struct pfl_dns_answer *a =
	    pfl_dns_answer_new(PFL_DNS_T_A, PFL_DNS_TEMPFAIL);
	struct pfl_dnsbl_answer r;

	(void)state;
	snprintf(a->why, sizeof(a->why), "timeout");
	classify(&s->lists[0], a, &r);
	assert_int_equal(r.state, PFL_DNSBL_TEMPFAIL);
	assert_string_equal(r.why, "timeout");
	pfl_dnsbl_set_free(&s);
}

static void
state_names_round_trip(void **state)
{
	int i;

	(void)state;
	for (i = PFL_DNSBL_UNKNOWN; i <= PFL_DNSBL_LISTED; i++)
		assert_int_equal(pfl_dnsbl_state_parse(pfl_dnsbl_state_name(
				     (enum pfl_dnsbl_state)i)),
		    i);
	assert_int_equal(pfl_dnsbl_state_parse("maybe"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_zones_get_their_codes),
		cmocka_unit_test(options_replace_what_is_known),
		cmocka_unit_test(bad_lines_are_reported_with_their_line),
		cmocka_unit_test(no_lines_no_resolver),
		cmocka_unit_test(query_names),
		cmocka_unit_test(listing_codes),
		cmocka_unit_test(error_codes_are_never_listings),
		cmocka_unit_test(dns_failure_is_temporary),
		cmocka_unit_test(state_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
