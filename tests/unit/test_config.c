/*
 * test_config - config parsing: defaults, every type, errors with file:line
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>

#include "cidr.h"
#include "config.h"

/* parse - parse text, expecting success */
static struct pfl_config *
parse_ok(const char *text)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);

	if (c == NULL)
		fail_msg("unexpected errors: %s", errors);
	assert_null(errors);
	return c;
}

/* parse_err - parse text, expecting errors; returns them (caller frees) */
static char *
parse_err(const char *text)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);

	assert_null(c);
	assert_non_null(errors);
	return errors;
}

static void
test_defaults(void **state)
{
	struct pfl_config *c = parse_ok("");

	assert_string_equal(c->socket, "unix:/run/preflight/milter.sock");
	assert_int_equal(c->mode, PFL_MODE_TAG);
	assert_int_equal(c->umask, 007);
	assert_null(c->user_id);
	assert_false(c->allow_root);
	assert_true(c->syslog);
	assert_int_equal(c->syslog_facility, LOG_MAIL);
	assert_int_equal(c->log_level, PFL_LOG_INFO);
	assert_string_equal(c->local_daemon_name, "local-submit");
	assert_true(pfl_cidr_list_match(c->internal_hosts, "127.0.0.1"));
	assert_true(pfl_cidr_list_match(c->internal_hosts, "::1"));
	assert_false(pfl_cidr_list_match(c->internal_hosts, "192.0.2.1"));
	pfl_config_unref(c);
}

static void
test_values(void **state)
{
	struct pfl_config *c =
	    parse_ok("# a comment\n"
		     "\n"
		     "socket   inet:8891@127.0.0.1   # trailing comment\n"
		     "MODE enforce\n"
		     "UMask 077\n"
		     "UserID nobody\n"
		     "InternalHosts 10.0.0.0/8, 2001:db8::/32\n"
		     "SyslogFacility local3\n"
		     "LogLevel debug\n"
		     "LogFile /var/log/preflight.log\n"
		     "Syslog no\n"
		     "PauseDomains Example.NET, .example.org\n"
		     "PauseDomains example.com\n"
		     "HoldSenders bad@example.com\n");

	assert_string_equal(c->socket, "inet:8891@127.0.0.1");
	assert_int_equal(c->mode, PFL_MODE_ENFORCE);
	assert_int_equal(c->umask, 077);
	assert_string_equal(c->user_id, "nobody");
	assert_true(pfl_cidr_list_match(c->internal_hosts, "10.1.2.3"));
	assert_true(pfl_cidr_list_match(c->internal_hosts, "2001:db8::5"));
	assert_false(pfl_cidr_list_match(c->internal_hosts, "127.0.0.1"));
	assert_int_equal(c->syslog_facility, LOG_LOCAL3);
	assert_int_equal(c->log_level, PFL_LOG_DEBUG);
	assert_string_equal(c->log_file, "/var/log/preflight.log");
	assert_false(c->syslog);
	assert_int_equal(c->pause_domains.n, 3);
	assert_true(pfl_strlist_has(&c->pause_domains, "example.net"));
	assert_true(pfl_strlist_has(&c->pause_domains, ".example.org"));
	assert_true(pfl_strlist_has(&c->hold_senders, "bad@example.com"));
	pfl_config_unref(c);
}

static void
test_errors_name_file_and_line(void **state)
{
	char *e = parse_err("Mode enforce\n"
			    "Bogus 1\n"
			    "Mode tag\n"
			    "Socket tcp:1234\n"
			    "UMask 999\n"
			    "Syslog maybe\n"
			    "InternalHosts 10.0.0.0/33\n"
			    "LogFile relative.log\n"
			    "UserID no-such-user-here\n"
			    "LogLevel\n");

	assert_non_null(strstr(e, "t.conf:2: unknown key \"Bogus\""));
	assert_non_null(strstr(e, "t.conf:3: Mode: already set at line 1"));
	assert_non_null(strstr(e, "t.conf:4: Socket:"));
	assert_non_null(strstr(e, "t.conf:5: UMask:"));
	assert_non_null(strstr(e, "t.conf:6: Syslog: expected yes or no"));
	assert_non_null(strstr(e, "t.conf:7: InternalHosts: bad prefix"));
	assert_non_null(strstr(e, "t.conf:8: LogFile: expected an absolute"));
	assert_non_null(strstr(e, "t.conf:9: UserID: no such user"));
	assert_non_null(strstr(e, "t.conf:10: LogLevel: missing value"));
	free(e);
}

static void
test_socket_forms(void **state)
{
	static const char *good[] = { "Socket inet:1@localhost\n",
		"Socket inet:65535\n", "Socket inet6:8891@::1\n",
		"Socket unix:/run/x.sock\n", "Socket local:/run/x.sock\n" };
	static const char *bad[] = { "Socket inet:0@127.0.0.1\n",
		"Socket inet:65536@127.0.0.1\n", "Socket inet:@127.0.0.1\n",
		"Socket inet:12@\n", "Socket unix:relative\n",
		"Socket 8891\n" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		pfl_config_unref(parse_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		free(parse_err(bad[i]));
}

static void
test_long_line_and_nul(void **state)
{
	char *text = malloc(20000), *e;

	memset(text, 'a', 19999);
	text[19999] = '\0';
	e = parse_err(text);
	assert_non_null(strstr(e, "t.conf:1: line longer than"));
	free(e);
	free(text);
}

static void
test_load_missing_file(void **state)
{
	char *errors = NULL;

	assert_null(pfl_config_load("/nonexistent/preflight.conf", &errors));
	assert_non_null(
	    strstr(errors, "/nonexistent/preflight.conf: cannot open"));
	free(errors);
}

static void
test_refcount(void **state)
{
	struct pfl_config *a = parse_ok("Mode monitor\n");
	struct pfl_config *pinned = pfl_config_ref(a);

	pfl_config_unref(a); /* the pin keeps it alive */
	assert_int_equal(pinned->mode, PFL_MODE_MONITOR);
	assert_int_equal(pinned->refs, 1);
	pfl_config_unref(pinned);
}

static void
test_durations(void **state)
{
	struct pfl_config *c = parse_ok("DnsTimeout 1500ms\n");
	char *e;

	assert_int_equal(c->dns_timeout_ms, 1500);
	pfl_config_unref(c);
	c = parse_ok("DnsTimeout 3\n");
	assert_int_equal(c->dns_timeout_ms, 3000);
	pfl_config_unref(c);
	c = parse_ok("");
	assert_int_equal(c->dns_timeout_ms, 5000);
	assert_null(c->nameservers);
	pfl_config_unref(c);
	e = parse_err("DnsTimeout 1m\n");
	assert_non_null(strstr(e, "t.conf:1: DnsTimeout: expected a duration"));
	free(e);
	free(parse_err("DnsTimeout 5 s\n"));
	free(parse_err("DnsTimeout -5s\n"));
	free(parse_err("DnsTimeout 99999999999999999999s\n"));
}

static void
test_keys_listed(void **state)
{
	const char *const *k = pfl_config_keys();
	size_t n = 0;

	for (; k[n]; n++)
		;
	assert_true(n >= 14);
	assert_string_equal(k[0], "Socket");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_socket_forms),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_keys_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
