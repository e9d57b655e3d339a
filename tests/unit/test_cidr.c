/*
 * test_cidr - network lists
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "cidr.h"

static void
test_v4(void **state)
{
	char err[128];
	struct pfl_cidr_list *l =
	    pfl_cidr_list_parse("10.0.0.0/8 192.0.2.7", err, sizeof(err));

	assert_non_null(l);
	assert_int_equal(pfl_cidr_list_count(l), 2);
	assert_true(pfl_cidr_list_match(l, "10.255.1.1"));
	assert_false(pfl_cidr_list_match(l, "11.0.0.1"));
	assert_true(pfl_cidr_list_match(l, "192.0.2.7"));
	assert_false(pfl_cidr_list_match(l, "192.0.2.8"));
	/* an IPv4-mapped IPv6 client matches the IPv4 network */
	assert_true(pfl_cidr_list_match(l, "::ffff:10.1.1.1"));
	assert_false(pfl_cidr_list_match(l, "not-an-address"));
	assert_false(pfl_cidr_list_match(l, NULL));
	pfl_cidr_list_free(l);
}

static void
test_v6_and_prefixes(void **state)
{
	char err[128];
	struct pfl_cidr_list *l =
	    pfl_cidr_list_parse("2001:db8::/33,0.0.0.0/0", err, sizeof(err));

	assert_non_null(l);
	assert_true(pfl_cidr_list_match(l, "2001:db8:7fff::1"));
	assert_false(pfl_cidr_list_match(l, "2001:db8:8000::1"));
	assert_true(pfl_cidr_list_match(l, "IPv6:2001:db8::1"));
	assert_true(pfl_cidr_list_match(l, "203.0.113.9")); /* /0 */
	assert_false(pfl_cidr_list_match(l, "2001:db9::1"));
	pfl_cidr_list_free(l);
}

static void
test_sockaddr(void **state)
{
	char err[128];
	struct pfl_cidr_list *l =
	    pfl_cidr_list_parse("127.0.0.0/8 ::1", err, sizeof(err));
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET, "127.3.4.5", &s4.sin_addr);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	assert_true(pfl_cidr_list_match_sa(l, (struct sockaddr *)&s4));
	assert_true(pfl_cidr_list_match_sa(l, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::2", &s6.sin6_addr);
	assert_false(pfl_cidr_list_match_sa(l, (struct sockaddr *)&s6));
	assert_false(pfl_cidr_list_match_sa(l, NULL));
	pfl_cidr_list_free(l);
}

static void
test_bad(void **state)
{
	static const char *bad[] = { "10.0.0.0/", "10.0.0.0/x", "1.2.3.4/33",
		"::/129", "300.1.1.1", "10.0.0.0/-1",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64" };
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(pfl_cidr_list_parse(bad[i], err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6_and_prefixes),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
