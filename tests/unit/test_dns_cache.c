/*
 * test_dns_cache - answers kept for their TTL, bounded, counted
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns.h"
#include "dns_cache.h"

static struct pfl_dns_answer *
txt_answer(const char *text, uint32_t ttl)
{
	struct pfl_dns_answer *a =
	    pfl_dns_answer_new(PFL_DNS_T_TXT, PFL_DNS_OK);

	pfl_dns_answer_add_txt(a, text, strlen(text));
	a->ttl = ttl;
	return a;
}

static void
test_ttl(void **state)
{
	struct pfl_dns_cache *c = pfl_dns_cache_new(10);
	struct pfl_dns_answer *a = txt_answer("hello", 100), *got;
	unsigned long hits, misses;

	assert_null(pfl_dns_cache_get(c, "x.test", PFL_DNS_T_TXT, 1000));
	pfl_dns_cache_put(c, "X.Test.", a, 1000);
	pfl_dns_answer_free(&a);
	/* case and trailing dot do not matter; the TTL counts down */
	got = pfl_dns_cache_get(c, "x.test", PFL_DNS_T_TXT, 1030);
	assert_non_null(got);
	assert_string_equal(got->txt[0], "hello");
	assert_int_equal(got->ttl, 70);
	pfl_dns_answer_free(&got);
	/* another type is another entry */
	assert_null(pfl_dns_cache_get(c, "x.test", PFL_DNS_T_A, 1030));
	/* expired */
	assert_null(pfl_dns_cache_get(c, "x.test", PFL_DNS_T_TXT, 1100));
	pfl_dns_cache_stats(c, &hits, &misses, NULL);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 3);
	pfl_dns_cache_free(&c);
	assert_null(c);
}

static void
test_what_is_kept(void **state)
{
	struct pfl_dns_cache *c = pfl_dns_cache_new(10);
	struct pfl_dns_answer *a;
	size_t n;

	a = pfl_dns_answer_new(PFL_DNS_T_A, PFL_DNS_TEMPFAIL);
	a->ttl = 300;
	pfl_dns_cache_put(c, "fail.test", a, 0); /* failures never */
	pfl_dns_answer_free(&a);
	a = txt_answer("zero", 0);
	pfl_dns_cache_put(c, "zero.test", a, 0); /* TTL 0 never */
	pfl_dns_answer_free(&a);
	a = pfl_dns_answer_new(PFL_DNS_T_A, PFL_DNS_NOTFOUND);
	a->nxdomain = true;
	a->ttl = 86400;
	pfl_dns_cache_put(c, "nx.test", a, 0); /* capped */
	pfl_dns_answer_free(&a);
	a = txt_answer("long", 10 * 86400);
	pfl_dns_cache_put(c, "long.test", a, 0); /* capped */
	pfl_dns_answer_free(&a);
	pfl_dns_cache_stats(c, NULL, NULL, &n);
	assert_int_equal(n, 2);
	a = pfl_dns_cache_get(c, "nx.test", PFL_DNS_T_A, 1);
	assert_non_null(a);
	assert_true(a->nxdomain);
	assert_int_equal(a->ttl, PFL_DNS_CACHE_MAX_NEG_TTL - 1);
	pfl_dns_answer_free(&a);
	assert_null(pfl_dns_cache_get(
	    c, "nx.test", PFL_DNS_T_A, PFL_DNS_CACHE_MAX_NEG_TTL));
	a = pfl_dns_cache_get(c, "long.test", PFL_DNS_T_TXT, 0);
	assert_int_equal(a->ttl, PFL_DNS_CACHE_MAX_TTL);
	pfl_dns_answer_free(&a);
	pfl_dns_cache_free(&c);
}

static void
test_bounded_lru(void **state)
{
	struct pfl_dns_cache *c = pfl_dns_cache_new(3);
	struct pfl_dns_answer *a = txt_answer("v", 100), *got;
	char name[32];
	size_t n;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		pfl_dns_cache_put(c, name, a, 0);
	}
	/* use n0, so n1 is now the least recently used */
	got = pfl_dns_cache_get(c, "n0.test", PFL_DNS_T_TXT, 1);
	pfl_dns_answer_free(&got);
	pfl_dns_cache_put(c, "n3.test", a, 1);
	pfl_dns_cache_put(c, "n3.test", a, 2); /* replaces, no growth */
	pfl_dns_cache_stats(c, NULL, NULL, &n);
	assert_int_equal(n, 3);
	assert_null(pfl_dns_cache_get(c, "n1.test", PFL_DNS_T_TXT, 2));
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		snprintf(name, sizeof(name), "n%d.test", i);
		got = pfl_dns_cache_get(c, name, PFL_DNS_T_TXT, 2);
		assert_non_null(got);
		pfl_dns_answer_free(&got);
	}
	pfl_dns_answer_free(&a);
	pfl_dns_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_what_is_kept),
		cmocka_unit_test(test_bounded_lru),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
