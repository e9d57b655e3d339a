/*
 * test_util - printable text, addresses, arena
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arena.h"
#include "util.h"

static void
test_printable(void **state)
{
	char buf[16];

	assert_string_equal(
	    pfl_printable(buf, sizeof(buf), "a\r\nb\x01\xff", NULL), "a??b??");
	assert_string_equal(
	    pfl_printable(buf, sizeof(buf), "x=\"y\"", "\""), "x=?y?");
	assert_string_equal(pfl_printable(buf, 4, "abcdef", NULL), "abc");
	assert_string_equal(pfl_printable(buf, sizeof(buf), NULL, NULL), "");
}

static void
test_addresses(void **state)
{
	char buf[64];

	assert_string_equal(
	    pfl_addr_strip(buf, sizeof(buf), "<A@B.C>"), "a@b.c");
	assert_string_equal(pfl_addr_strip(buf, sizeof(buf), "<>"), "");
	assert_string_equal(
	    pfl_addr_domain(buf, sizeof(buf), "<x@Mail.Example>"),
	    "mail.example");
	assert_string_equal(
	    pfl_addr_domain(buf, sizeof(buf), "postmaster"), "");
	assert_string_equal(
	    pfl_addr_domain(buf, sizeof(buf), "\"a@b\"@c.d"), "c.d");
	assert_string_equal(pfl_addr_strip(buf, 4, "<abcdef>"), "abc");
}

static void
test_trim_and_case(void **state)
{
	char s[] = "  \tvalue x \n";

	assert_string_equal(pfl_trim(s), "value x");
	assert_true(pfl_strcaseeq("Socket", "sOCKET"));
	assert_false(pfl_strcaseeq("Socket", "Sockets"));
}

static void
test_arena(void **state)
{
	struct pfl_arena *a = pfl_arena_new();
	char *big, *s;
	int i;

	for (i = 0; i < 1000; i++) {
		s = pfl_arena_strdup(a, "hello");
		assert_string_equal(s, "hello");
		assert_int_equal((uintptr_t)s % 16, 0);
	}
	big = pfl_arena_alloc(a, 100000);
	assert_int_equal(big[99999], 0);
	assert_null(pfl_arena_strdup(a, NULL));
	assert_true(pfl_arena_used(a) >= 100000 + 1000 * 16);
	pfl_arena_free(&a);
	assert_null(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_trim_and_case),
		cmocka_unit_test(test_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
