/*
 * test_session - outbound detection, per-recipient pause, hold, log line
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "checks.h"
#include "config.h"
#include "ctx.h"
#include "fake_mta.h"
#include "log.h"
#include "session.h"

static char logpath[] = "/tmp/pfl-test-session-XXXXXX";

static int
setup(void **state)
{
	int fd = mkstemp(logpath);

	if (fd < 0)
		return -1;
	close(fd);
	return pfl_log_setup("test", false, 0, logpath, PFL_LOG_DEBUG);
}

static int
teardown(void **state)
{
	if (getenv("KEEP_LOG") == NULL)
		unlink(logpath);
	return 0;
}

/* last_log - the last line written to the log file */
static const char *
last_log(void)
{
	static char line[4096], prev[4096];
	FILE *fp = fopen(logpath, "r");

	line[0] = prev[0] = '\0';
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		memcpy(prev, line, sizeof(prev));
	fclose(fp);
	return prev;
}

/*
 * cfg - a context from config text, failing the test on errors. DNS goes
 * to a port where nothing listens, with a short timeout: these tests are
 * about the session, not about what DNS says.
 */
static struct pfl_ctx *
cfg(const char *text)
{
	char *errors = NULL, full[1024];
	struct pfl_config *c;
	struct pfl_ctx *ctx;

	snprintf(full, sizeof(full),
	    "Nameservers 127.0.0.1@9\nDnsTimeout 100ms\n%s", text);
	if ((c = pfl_config_parse("t.conf", full, &errors)) == NULL)
		fail_msg("%s", errors);
	if ((ctx = pfl_ctx_new(c, &errors)) == NULL)
		fail_msg("%s", errors);
	return ctx;
}

static void
test_inbound_untouched(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s = pfl_session_new(cfg("Mode enforce\n"),
	    "mx.example", "192.0.2.10", "smtpd", "mta.test");

	assert_false(s->internal);
	assert_int_equal(
	    pfl_session_mail(s, &m, "<a@example.org>"), PFL_ACCEPT);
	assert_null(s->msg);
	assert_non_null(strstr(last_log(), "inbound from=<a@example.org>"));
	pfl_session_free(&s);
	assert_null(s);
}

static void
test_authenticated_is_outbound(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s =
	    pfl_session_new(cfg(""), "x", "192.0.2.10", "smtpd", "mta.test");

	fake_mta_macro(&fm, "{auth_authen}", "alice");
	assert_int_equal(
	    pfl_session_mail(s, &m, "<Alice@Example.COM>"), PFL_CONTINUE);
	assert_string_equal(s->msg->sender, "alice@example.com");
	assert_int_equal(
	    pfl_session_rcpt(s, &m, "<b@gmail.com>"), PFL_CONTINUE);
	fake_mta_macro(&fm, "i", "4ABCDEF");
	assert_int_equal(pfl_session_eom(s, &m), PFL_ACCEPT);
	assert_null(s->msg);
	assert_string_equal(fm.hname, "X-Preflight");
	/* no EgressAddresses, no signer: Gmail would see no authentication */
	assert_string_equal(fm.hvalue,
	    "v=1 verdict=reject spf=unchecked dkim=none dmarc=unchecked "
	    "providers=google:reject:5.7.26 conform=from "
	    "action=defer finding=auth "
	    "reason=\"gmail.com would refuse this (550 5.7.26): SPF not "
	    "checked and no DKIM signature\" host=mta.test");
	assert_non_null(strstr(last_log(),
	    "4ABCDEF: preflight: action=tag mode=tag verdict=reject "
	    "spf=unchecked dkim=none dmarc=unchecked "
	    "providers=google:reject:5.7.26 conform=from "
	    "would=defer finding=auth "
	    "reason=\"gmail.com would refuse this (550 5.7.26): SPF not "
	    "checked and no DKIM signature\" from=<alice@example.com> "
	    "rcpts=1 path=smtp auth=alice client=192.0.2.10"));
	pfl_session_free(&s);
}

static void
test_internal_and_local(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s =
	    pfl_session_new(cfg(""), "localhost", "127.0.0.1", "smtpd", "h");

	assert_true(s->internal);
	assert_false(s->local);
	assert_int_equal(pfl_session_mail(s, &m, "<>"), PFL_CONTINUE);
	pfl_session_free(&s);
	s = pfl_session_new(
	    cfg("InternalHosts 10.0.0.0/8\n"), NULL, NULL, "local-submit", "h");
	assert_true(s->local);
	assert_int_equal(pfl_session_mail(s, &m, "<root@h>"), PFL_CONTINUE);
	assert_true(s->msg->outbound);
	pfl_session_free(&s);
}

static void
test_pause_defers_one_recipient(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s =
	    pfl_session_new(cfg("Mode enforce\nPauseDomains .paused.test\n"),
		"x", "127.0.0.1", "smtpd", "h");

	pfl_session_mail(s, &m, "<a@example.com>");
	assert_int_equal(
	    pfl_session_rcpt(s, &m, "<b@mx.paused.test>"), PFL_TEMPFAIL);
	assert_string_equal(fm.rcode, "451");
	assert_string_equal(fm.text,
	    "preflight: deliveries to mx.paused.test "
	    "are paused by the operator (PauseDomains)");
	assert_non_null(strstr(last_log(),
	    "NOQUEUE: preflight: action=defer "
	    "mode=enforce rcpt=<b@mx.paused.test>"));
	assert_int_equal(pfl_session_rcpt(s, &m, "<c@ok.test>"), PFL_CONTINUE);
	fake_mta_macro(&fm, "i", "Q1");
	assert_int_equal(pfl_session_eom(s, &m), PFL_ACCEPT);
	assert_non_null(strstr(last_log(), "Q1: preflight: action=tag "));
	assert_non_null(strstr(last_log(),
	    " deferred=1 from=<a@example.com> "
	    "rcpts=1 "));
	pfl_session_free(&s);
}

static void
test_pause_on_local_path_holds(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s =
	    pfl_session_new(cfg("Mode enforce\nPauseDomains paused.test\n"),
		NULL, NULL, "local-submit", "h");

	pfl_session_mail(s, &m, "<root@h>");
	assert_int_equal(
	    pfl_session_rcpt(s, &m, "<b@paused.test>"), PFL_CONTINUE);
	assert_int_equal(fm.nreplies, 0);
	assert_int_equal(pfl_session_eom(s, &m), PFL_ACCEPT);
	assert_int_equal(fm.nquarantines, 1);
	assert_non_null(strstr(last_log(), "action=hold mode=enforce"));
	assert_non_null(strstr(last_log(), "path=local"));
	pfl_session_free(&s);
}

static void
test_hold_sender_per_mode(void **state)
{
	static const char *modes[] = { "monitor", "tag", "enforce" };
	int i;

	for (i = 0; i < 3; i++) {
		struct fake_mta fm = { 0 };
		struct pfl_mta m = fake_mta_ops(&fm);
		char text[128];
		struct pfl_session *s;

		snprintf(text, sizeof(text), "Mode %s\nHoldSenders @bad.test\n",
		    modes[i]);
		s = pfl_session_new(cfg(text), NULL, "127.0.0.1", "smtpd", "h");
		pfl_session_mail(s, &m, "<x@bad.test>");
		pfl_session_rcpt(s, &m, "<y@ok.test>");
		assert_int_equal(pfl_session_eom(s, &m), PFL_ACCEPT);
		assert_int_equal(fm.nquarantines, i == 2 ? 1 : 0);
		assert_int_equal(fm.nheaders, i == 0 ? 0 : 1);
		if (i == 0)
			assert_non_null(strstr(last_log(),
			    "action=accept mode=monitor verdict=reject "
			    "spf=unchecked dkim=none dmarc=unchecked "
			    "providers=default:deliver "
			    "conform=from would=hold "
			    "finding=operator"));
		pfl_session_free(&s);
	}
}

static void
test_abort_frees(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s =
	    pfl_session_new(cfg(""), NULL, "127.0.0.1", NULL, "h");

	pfl_session_mail(s, &m, "<a@b.test>");
	assert_non_null(s->msg);
	pfl_session_abort(s);
	assert_null(s->msg);
	/* a second message on the same connection starts clean */
	pfl_session_mail(s, &m, "<c@d.test>");
	assert_string_equal(s->msg->sender, "c@d.test");
	assert_int_equal(s->msg->nfindings, 0);
	pfl_session_free(&s);
}

/*
 * With SMFIP_HDR_LEADSPC the values keep the white space after the colon
 * (folded too): the From: address is read the same either way
 */
static void
test_from_with_leading_space(void **state)
{
	static const struct {
		bool leadspc;
		const char *value;
	} cases[] = {
		{ false, "Alice <Alice@Example.ORG>" },
		{ true, " Alice <Alice@Example.ORG>" },
		{ true, "\t  Alice@Example.ORG" },
		{ true, "\n\tAlice@Example.ORG (Alice)" },
		{ true, "\r\n \"A, B\" <Alice@Example.ORG>" },
		{ true, "Alice@Example.ORG" },
	};
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_session *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = pfl_session_new(cfg(""), NULL, "127.0.0.1", NULL, "h");
		s->leadspc = cases[i].leadspc;
		assert_int_equal(
		    pfl_session_mail(s, &m, "<a@b.test>"), PFL_CONTINUE);
		assert_int_equal(s->msg->checks->leadspc, cases[i].leadspc);
		pfl_session_header(s, "From", cases[i].value);
		if (strcmp(s->msg->checks->from_addr, "Alice@Example.ORG") ||
		    strcmp(s->msg->checks->from_domain, "example.org"))
			fail_msg("From:%s: got <%s> %s", cases[i].value,
			    s->msg->checks->from_addr,
			    s->msg->checks->from_domain);
		pfl_session_free(&s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inbound_untouched),
		cmocka_unit_test(test_authenticated_is_outbound),
		cmocka_unit_test(test_internal_and_local),
		cmocka_unit_test(test_pause_defers_one_recipient),
		cmocka_unit_test(test_pause_on_local_path_holds),
		cmocka_unit_test(test_hold_sender_per_mode),
		cmocka_unit_test(test_abort_frees),
		cmocka_unit_test(test_from_with_leading_space),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
