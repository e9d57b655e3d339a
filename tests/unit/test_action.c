/*
 * test_action - the action plumbing against a fake MTA
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "action.h"
#include "fake_mta.h"

/* verdict_for - enforce-mode verdict for one finding with action a */
static void
verdict_for(
    enum pfl_action a, bool local, struct pfl_finding *f, struct pfl_verdict *v)
{
	pfl_finding_set(f, "test", PFL_OUT_REFUSE, a, "550 5.7.26", NULL, NULL,
	    "gmail.com would refuse this");
	pfl_verdict_decide(f, 1, PFL_MODE_ENFORCE, local, v);
}

static void
test_accept_tags(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_ACCEPT, false, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_ACCEPT);
	assert_int_equal(fm.nheaders, 1);
	assert_string_equal(fm.hname, "X-Preflight");
	assert_string_equal(fm.hvalue, "v=1");
	assert_int_equal(fm.nreplies, 0);
	assert_int_equal(fm.nquarantines, 0);
}

static void
test_monitor_touches_nothing(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	pfl_finding_set(
	    &f, "t", PFL_OUT_REFUSE, PFL_ACT_REJECT, NULL, NULL, NULL, "r");
	pfl_verdict_decide(&f, 1, PFL_MODE_MONITOR, false, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_ACCEPT);
	assert_int_equal(fm.nheaders + fm.nreplies + fm.nquarantines, 0);
}

static void
test_hold(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_HOLD, false, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_ACCEPT);
	assert_int_equal(fm.nquarantines, 1);
	assert_string_equal(fm.qreason, "gmail.com would refuse this");
	assert_int_equal(fm.nheaders, 1);
}

static void
test_hold_failure_never_loses(void **state)
{
	struct fake_mta fm = { .fail_quarantine = true };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_HOLD, false, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_TEMPFAIL);
	assert_string_equal(fm.rcode, "451");
	assert_string_equal(fm.xcode, "4.3.0");
	/* local path: accepted rather than a tempfail Postfix cannot take */
	memset(&fm, 0, sizeof(fm));
	fm.fail_quarantine = true;
	verdict_for(PFL_ACT_HOLD, true, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", true), PFL_ACCEPT);
	assert_int_equal(fm.nreplies, 0);
}

static void
test_defer_and_reject(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_DEFER, false, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_TEMPFAIL);
	assert_string_equal(fm.rcode, "451");
	assert_string_equal(fm.xcode, "4.7.1");
	assert_string_equal(fm.text, "preflight: gmail.com would refuse this");

	memset(&fm, 0, sizeof(fm));
	verdict_for(PFL_ACT_REJECT, false, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", false), PFL_REJECT);
	assert_string_equal(fm.rcode, "550");
}

static void
test_local_path_holds(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_DEFER, true, &f, &v);
	assert_int_equal(pfl_action_eom(&m, &v, "v=1", true), PFL_ACCEPT);
	assert_int_equal(fm.nquarantines, 1);
	assert_int_equal(fm.nreplies, 0);
	memset(&fm, 0, sizeof(fm));
	verdict_for(PFL_ACT_REJECT, true, &f, &v);
	assert_int_equal(pfl_action_rcpt(&m, &v), PFL_CONTINUE);
	assert_int_equal(fm.nreplies, 0);
}

static void
test_rcpt(void **state)
{
	struct fake_mta fm = { 0 };
	struct pfl_mta m = fake_mta_ops(&fm);
	struct pfl_finding f;
	struct pfl_verdict v;

	verdict_for(PFL_ACT_DEFER, false, &f, &v);
	assert_int_equal(pfl_action_rcpt(&m, &v), PFL_TEMPFAIL);
	assert_string_equal(fm.rcode, "451");
	verdict_for(PFL_ACT_TAG, false, &f, &v);
	assert_int_equal(pfl_action_rcpt(&m, &v), PFL_CONTINUE);
	verdict_for(PFL_ACT_REJECT, false, &f, &v);
	assert_int_equal(pfl_action_rcpt(&m, &v), PFL_REJECT);
	assert_string_equal(fm.rcode, "550");
	/* a reply the MTA refuses still defers */
	fm.fail_reply = true;
	verdict_for(PFL_ACT_DEFER, false, &f, &v);
	assert_int_equal(pfl_action_rcpt(&m, &v), PFL_TEMPFAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_tags),
		cmocka_unit_test(test_monitor_touches_nothing),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_hold_failure_never_loses),
		cmocka_unit_test(test_defer_and_reject),
		cmocka_unit_test(test_local_path_holds),
		cmocka_unit_test(test_rcpt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
