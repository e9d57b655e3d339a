/*
 * test_verdict - the decision for every mode, path and action
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verdict.h"

static void
test_no_findings(void **state)
{
	struct pfl_verdict v;

	pfl_verdict_decide(NULL, 0, PFL_MODE_MONITOR, false, &v);
	assert_int_equal(v.action, PFL_ACT_ACCEPT);
	assert_false(v.add_header);
	assert_int_equal(v.outcome, PFL_OUT_DELIVER);
	assert_null(v.cause);

	pfl_verdict_decide(NULL, 0, PFL_MODE_TAG, false, &v);
	assert_int_equal(v.action, PFL_ACT_TAG);
	assert_true(v.add_header);

	pfl_verdict_decide(NULL, 0, PFL_MODE_ENFORCE, false, &v);
	assert_int_equal(v.action, PFL_ACT_TAG);
	assert_true(v.add_header);
}

/*
 * Every configured action in every mode on both paths: monitor never
 * acts, tag only tags, enforce acts, and the local path never defers or
 * rejects (Postfix would call that a configuration error).
 */
static void
test_matrix(void **state)
{
	enum pfl_action a;
	int mode, local;

	for (a = PFL_ACT_ACCEPT; a <= PFL_ACT_REJECT; a++)
		for (mode = PFL_MODE_MONITOR; mode <= PFL_MODE_ENFORCE; mode++)
			for (local = 0; local <= 1; local++) {
				struct pfl_finding f;
				struct pfl_verdict v;
				enum pfl_action want_would = a;

				pfl_finding_set(&f, "x", PFL_OUT_REFUSE, a,
				    "550 5.7.26", "", "", "why");
				pfl_verdict_decide(&f, 1, mode, local, &v);
				if (local && a > PFL_ACT_HOLD)
					want_would = PFL_ACT_HOLD;
				assert_int_equal(v.would, want_would);
				assert_int_equal(v.outcome, PFL_OUT_REFUSE);
				assert_ptr_equal(v.cause, &f);
				if (mode == PFL_MODE_MONITOR)
					assert_int_equal(
					    v.action, PFL_ACT_ACCEPT);
				else if (mode == PFL_MODE_TAG)
					assert_int_equal(v.action, PFL_ACT_TAG);
				else
					assert_int_equal(v.action,
					    want_would == PFL_ACT_ACCEPT
						? PFL_ACT_TAG
						: want_would);
				assert_int_equal(
				    v.add_header, mode != PFL_MODE_MONITOR);
			}
}

static void
test_heaviest_wins_and_replies(void **state)
{
	struct pfl_finding f[3];
	struct pfl_verdict v;

	pfl_finding_set(&f[0], "a", PFL_OUT_THROTTLE, PFL_ACT_TAG, NULL, NULL,
	    NULL, "tagged");
	pfl_finding_set(&f[1], "b", PFL_OUT_REFUSE, PFL_ACT_DEFER, "550 5.7.26",
	    "451", "4.7.26", "would be refused");
	pfl_finding_set(&f[2], "c", PFL_OUT_DELIVER, PFL_ACT_HOLD, NULL, NULL,
	    NULL, "held");
	pfl_verdict_decide(f, 3, PFL_MODE_ENFORCE, false, &v);
	assert_int_equal(v.action, PFL_ACT_DEFER);
	assert_ptr_equal(v.cause, &f[1]);
	assert_int_equal(v.outcome, PFL_OUT_REFUSE);
	assert_string_equal(v.rcode, "451");
	assert_string_equal(v.xcode, "4.7.26");
	assert_string_equal(v.text, "preflight: would be refused");

	/* a 5xx code never goes with a defer: the default 4xx is used */
	pfl_finding_set(&f[1], "b", PFL_OUT_REFUSE, PFL_ACT_DEFER, "550 5.7.26",
	    "550", "5.7.26", "x");
	pfl_verdict_decide(f, 3, PFL_MODE_ENFORCE, false, &v);
	assert_string_equal(v.rcode, "451");
	assert_string_equal(v.xcode, "4.7.1");

	pfl_finding_set(
	    &f[1], "b", PFL_OUT_REFUSE, PFL_ACT_REJECT, NULL, NULL, NULL, "no");
	pfl_verdict_decide(f, 3, PFL_MODE_ENFORCE, false, &v);
	assert_int_equal(v.action, PFL_ACT_REJECT);
	assert_string_equal(v.rcode, "550");
	assert_string_equal(v.xcode, "5.7.1");
}

static void
test_finding_text_is_safe(void **state)
{
	struct pfl_finding f;

	pfl_finding_set(&f, "chk", PFL_OUT_DELIVER, PFL_ACT_TAG, NULL, NULL,
	    NULL, "evil\r\nX-Injected: 1 100% \"quoted\"");
	assert_null(strchr(f.reason, '\r'));
	assert_null(strchr(f.reason, '\n'));
	assert_null(strchr(f.reason, '%'));
	assert_null(strchr(f.reason, '"'));
	assert_string_equal(f.reason, "evil??X-Injected: 1 100? ?quoted?");
}

static void
test_names(void **state)
{
	assert_string_equal(pfl_action_name(PFL_ACT_HOLD), "hold");
	assert_string_equal(pfl_action_name(PFL_ACT_DEFER), "defer");
	assert_string_equal(pfl_outcome_name(PFL_OUT_THROTTLE), "throttle");
	assert_string_equal(pfl_outcome_name(PFL_OUT_REFUSE), "reject");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_findings),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_heaviest_wins_and_replies),
		cmocka_unit_test(test_finding_text_is_safe),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
