/*
 * test_egress - what each receiver makes of an egress report, the report
 * in one log field, and the check itself through a fake zone behind the
 * lookup seam (binary address comparison, the cap of 10 PTR names, DNS
 * trouble never read as a misconfiguration)
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dns.h"
#include "egress.h"
#include "provider.h"
#include "util.h"
#include "verdict.h"

/* --- hand-made reports ------------------------------------------------------ */

static struct pfl_egress_report rep;

/* report - a report of addresses in states (NULL-terminated pairs) */
static struct pfl_egress_report *
report(enum pfl_egress_state helo, const char *helo_name, ...)
{
	const char *addr;
	va_list ap;

	memset(&rep, 0, sizeof(rep));
	rep.helo_state = helo;
	pfl_strlcpy(rep.helo, helo_name ? helo_name : "", sizeof(rep.helo));
	va_start(ap, helo_name);
	while ((addr = va_arg(ap, const char *)) != NULL) {
		struct pfl_egress_addr_result *a = &rep.addrs[rep.n++];

		pfl_strlcpy(a->addr, addr, sizeof(a->addr));
		a->state = (enum pfl_egress_state)va_arg(ap, int);
		if (a->state == PFL_EGRESS_OK ||
		    a->state == PFL_EGRESS_PTR_MISMATCH)
			pfl_strlcpy(
			    a->ptr, "host.example.test", sizeof(a->ptr));
	}
	va_end(ap);
	return &rep;
}

#define OK       PFL_EGRESS_OK
#define NOPTR    PFL_EGRESS_NO_PTR
#define MISMATCH PFL_EGRESS_PTR_MISMATCH
#define TEMP     PFL_EGRESS_TEMPFAIL

static void
test_google(void **state)
{
	struct pfl_finding f;

	(void)state;
	assert_false(pfl_egress_finding(
	    report(OK, "mx.example.test", "192.0.2.25", OK, NULL),
	    PFL_PROV_GOOGLE, PFL_ACT_DEFER, &f));

	assert_true(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", NOPTR, NULL),
		PFL_PROV_GOOGLE, PFL_ACT_DEFER, &f));
	assert_string_equal(f.check, "egress");
	assert_int_equal(f.outcome, PFL_OUT_REFUSE);
	assert_int_equal(f.action, PFL_ACT_DEFER);
	assert_string_equal(f.reply, "550 5.7.25");
	assert_string_equal(f.rcode, "451"); /* we defer, keeping the cause */
	assert_string_equal(f.xcode, "4.7.25");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.25): egress 192.0.2.25 "
	    "has no PTR record");
	assert_string_equal(f.fix,
	    "publish a PTR for 192.0.2.25 naming a host whose A record is "
	    "192.0.2.25");

	/* a mismatch counts; the action reject gives our 5xx */
	assert_true(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", MISMATCH, NULL),
		PFL_PROV_GOOGLE, PFL_ACT_REJECT, &f));
	assert_string_equal(f.rcode, "550");
	assert_string_equal(f.xcode, "5.7.25");
	assert_string_equal(f.reason,
	    "gmail.com would refuse this (550 5.7.25): egress 192.0.2.25 "
	    "has PTR host.example.test, which does not resolve back to it");
	assert_non_null(strstr(f.fix,
	    "give host.example.test the A record "
	    "192.0.2.25"));

	/* IPv6: Gmail's IPv6 rule answers 5.7.1 */
	assert_true(pfl_egress_finding(
	    report(OK, NULL, "192.0.2.25", OK, "2001:db8::25", NOPTR, NULL),
	    PFL_PROV_GOOGLE, PFL_ACT_TAG, &f));
	assert_string_equal(f.reply, "550 5.7.1");
	assert_non_null(strstr(f.reason, "egress 2001:db8::25 has no PTR"));
	assert_non_null(strstr(f.fix, "whose AAAA record is 2001:db8::25"));
}

static void
test_microsoft_yahoo(void **state)
{
	struct pfl_finding f;

	(void)state;
	/* Microsoft: IPv6 without a PTR only, and a 4xx */
	assert_false(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", NOPTR, NULL),
		PFL_PROV_MICROSOFT, PFL_ACT_DEFER, &f));
	assert_false(
	    pfl_egress_finding(report(OK, NULL, "2001:db8::25", MISMATCH, NULL),
		PFL_PROV_MICROSOFT, PFL_ACT_DEFER, &f));
	assert_true(
	    pfl_egress_finding(report(OK, NULL, "2001:db8::25", NOPTR, NULL),
		PFL_PROV_MICROSOFT, PFL_ACT_DEFER, &f));
	assert_int_equal(f.outcome, PFL_OUT_THROTTLE);
	assert_string_equal(f.reply, "450 4.7.25");
	assert_string_equal(f.reason,
	    "outlook.com would defer this (450 4.7.25): egress 2001:db8::25 "
	    "has no PTR record");
	/* an IPv4-mapped address is IPv4 */
	assert_false(pfl_egress_finding(
	    report(OK, NULL, "::ffff:192.0.2.25", NOPTR, NULL),
	    PFL_PROV_MICROSOFT, PFL_ACT_DEFER, &f));

	/* Yahoo: both families, mismatch too */
	assert_true(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", MISMATCH, NULL),
		PFL_PROV_YAHOO, PFL_ACT_DEFER, &f));
	assert_string_equal(f.reply, "554 5.7.1");
	assert_int_equal(f.outcome, PFL_OUT_REFUSE);
	assert_true(strncmp(f.reason, "yahoo.com would refuse this", 27) == 0);
}

static void
test_default_and_helo(void **state)
{
	struct pfl_finding f;

	(void)state;
	/* default: no PTR refuses, a mismatch does not */
	assert_true(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", NOPTR, NULL),
		PFL_PROV_DEFAULT, PFL_ACT_HOLD, &f));
	assert_string_equal(f.reply, "550 5.7.1");
	assert_int_equal(f.action, PFL_ACT_HOLD);
	assert_false(
	    pfl_egress_finding(report(OK, NULL, "192.0.2.25", MISMATCH, NULL),
		PFL_PROV_DEFAULT, PFL_ACT_HOLD, &f));
	/* an unknown provider number is treated as default */
	assert_true(pfl_egress_finding(
	    report(OK, NULL, "192.0.2.25", NOPTR, NULL), 99, PFL_ACT_HOLD, &f));
	assert_string_equal(f.reply, "550 5.7.1");

	/* HELO unresolved: a throttle, for default and apple only */
	report(PFL_EGRESS_HELO_UNRESOLVED, "nohost.example.test", "192.0.2.25",
	    OK, NULL);
	assert_false(
	    pfl_egress_finding(&rep, PFL_PROV_GOOGLE, PFL_ACT_DEFER, &f));
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_APPLE, PFL_ACT_DEFER, &f));
	assert_int_equal(f.outcome, PFL_OUT_THROTTLE);
	assert_string_equal(f.reply, "450 4.7.1");
	assert_non_null(strstr(f.reason,
	    "EgressHelo nohost.example.test "
	    "does not resolve"));

	/* HELO elsewhere: a warning whose action never exceeds tag */
	report(PFL_EGRESS_HELO_MISMATCH, "stray.example.test", "192.0.2.25", OK,
	    NULL);
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_DEFAULT, PFL_ACT_REJECT, &f));
	assert_int_equal(f.outcome, PFL_OUT_DELIVER);
	assert_string_equal(f.reply, "250");
	assert_int_equal(f.action, PFL_ACT_TAG);
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_DEFAULT, PFL_ACT_ACCEPT, &f));
	assert_int_equal(f.action, PFL_ACT_ACCEPT);

	/* an address problem goes before the HELO name */
	report(PFL_EGRESS_HELO_UNRESOLVED, "nohost.example.test", "192.0.2.25",
	    NOPTR, NULL);
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_DEFAULT, PFL_ACT_DEFER, &f));
	assert_string_equal(f.reply, "550 5.7.1");
}

static void
test_tempfail_and_more(void **state)
{
	struct pfl_finding f;
	int p;

	(void)state;
	/* DNS trouble is never a finding, for anyone */
	report(TEMP, "mx.example.test", "192.0.2.25", TEMP, "2001:db8::25",
	    TEMP, NULL);
	for (p = 0; p < PFL_NPROVIDERS; p++)
		assert_false(pfl_egress_finding(&rep, p, PFL_ACT_DEFER, &f));

	/* the first address named, the others counted */
	report(OK, NULL, "192.0.2.25", OK, "192.0.2.26", MISMATCH, "192.0.2.27",
	    NOPTR, "192.0.2.28", NOPTR, NULL);
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_GOOGLE, PFL_ACT_DEFER, &f));
	assert_non_null(strstr(f.reason, "egress 192.0.2.26 has PTR"));
	assert_non_null(strstr(f.reason, "(and 2 more egress addresses)"));
	assert_true(
	    pfl_egress_finding(&rep, PFL_PROV_DEFAULT, PFL_ACT_DEFER, &f));
	assert_non_null(strstr(f.reason, "egress 192.0.2.27 has no PTR"));
	assert_non_null(strstr(f.reason, "(and 1 more egress address)"));
}

static void
test_summary(void **state)
{
	char buf[256], small[24];

	(void)state;
	assert_string_equal(pfl_egress_summary(report(OK, "mx.example.test",
						   "192.0.2.25", OK, NULL),
				buf, sizeof(buf)),
	    "egress=ok");
	assert_string_equal(
	    pfl_egress_summary(
		report(PFL_EGRESS_UNCHECKED, NULL, NULL), buf, sizeof(buf)),
	    "egress=none");
	assert_string_equal(
	    pfl_egress_summary(
		report(PFL_EGRESS_UNCHECKED, NULL, "192.0.2.25", NOPTR, NULL),
		buf, sizeof(buf)),
	    "egress=no-ptr(192.0.2.25)");
	assert_string_equal(
	    pfl_egress_summary(
		report(PFL_EGRESS_HELO_MISMATCH, "stray.example.test",
		    "192.0.2.25", OK, "2001:db8::25", MISMATCH, "192.0.2.30",
		    TEMP, NULL),
		buf, sizeof(buf)),
	    "egress=ptr-mismatch(2001:db8::25),tempfail(192.0.2.30),"
	    "helo-mismatch(stray.example.test)");
	assert_string_equal(
	    pfl_egress_summary(
		report(TEMP, "mx.example.test", NULL), buf, sizeof(buf)),
	    "egress=helo-tempfail(mx.example.test)");
	/* truncated, always terminated */
	pfl_egress_summary(report(OK, NULL, "2001:db8::25", NOPTR, NULL), small,
	    sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_true(strncmp(small, "egress=no-ptr(2001:", 19) == 0);

	assert_string_equal(pfl_egress_state_name(PFL_EGRESS_NO_PTR), "no-ptr");
	assert_string_equal(
	    pfl_egress_state_name(PFL_EGRESS_HELO_UNRESOLVED), "unresolved");
	assert_true(pfl_egress_problem(PFL_EGRESS_HELO_MISMATCH));
	assert_true(pfl_egress_problem(PFL_EGRESS_INVALID));
	assert_false(pfl_egress_problem(PFL_EGRESS_TEMPFAIL));
	assert_false(pfl_egress_problem(PFL_EGRESS_UNCHECKED));
	assert_false(pfl_egress_problem(PFL_EGRESS_OK));
}

/* --- the check through a fake zone ------------------------------------------ */

struct rec {
	const char *name;
	int type;
	const char *data; /* address, PTR name, or "TEMPFAIL" */
};

#define ZONE(...) ((const struct rec[]){ __VA_ARGS__, { NULL, 0, NULL } })
#define A         PFL_DNS_T_A
#define AAAA      PFL_DNS_T_AAAA
#define PTR       PFL_DNS_T_PTR

#define REV25 "25.2.0.192.in-addr.arpa"
#define REV6_25                                                                \
	"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."     \
	"ip6.arpa"

struct fake {
	const struct rec *zone;
	unsigned queries;
};

/* fake_lookup - answer from the zone */
static struct pfl_dns_answer *
fake_lookup(void *arg, const char *name, int type)
{
	struct fake *fk = arg;
	struct pfl_dns_answer *a = pfl_dns_answer_new(type, PFL_DNS_NOTFOUND);
	unsigned char buf[16];
	const struct rec *r;

	fk->queries++;
	for (r = fk->zone; r->name; r++) {
		if (strcasecmp(r->name, name) != 0 || r->type != type)
			continue;
		if (strcmp(r->data, "TEMPFAIL") == 0) {
			a->status = PFL_DNS_TEMPFAIL;
			pfl_strlcpy(
			    a->why, "server replied SERVFAIL", sizeof(a->why));
			return a;
		}
		if (type == PTR) {
			pfl_dns_answer_add_name(a, r->data);
		} else {
			assert_int_equal(
			    inet_pton(
				type == A ? AF_INET : AF_INET6, r->data, buf),
			    1);
			pfl_dns_answer_add_addr(
			    a, type == A ? AF_INET : AF_INET6, buf);
		}
	}
	a->status = a->count ? PFL_DNS_OK : PFL_DNS_NOTFOUND;
	return a;
}

static struct fake fk;

/* check - run the check against a zone */
static struct pfl_egress_report *
check(const struct rec *zone, const char *const *addrs, size_t n,
    const char *helo)
{
	fk.zone = zone;
	fk.queries = 0;
	pfl_egress_check_with(fake_lookup, &fk, addrs, n, helo, &rep);
	return &rep;
}

static void
test_check_v4(void **state)
{
	const char *a25[] = { "192.0.2.25" };

	(void)state;
	check(ZONE({ REV25, PTR, "mail.example.test" },
		  { "mail.example.test", A, "192.0.2.25" }),
	    a25, 1, NULL);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_OK);
	assert_string_equal(rep.addrs[0].ptr, "mail.example.test");
	assert_int_equal(rep.helo_state, PFL_EGRESS_UNCHECKED);
	assert_true(rep.checked > 0);

	check(ZONE({ "other", A, "192.0.2.1" }), a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_NO_PTR);
	assert_string_equal(rep.addrs[0].ptr, "");
	assert_string_equal(rep.addrs[0].why, "no PTR record at " REV25);

	/* a name with only an AAAA record does not confirm an IPv4 address */
	check(ZONE({ REV25, PTR, "mail.example.test" },
		  { "mail.example.test", AAAA, "::ffff:192.0.2.24" },
		  { "mail.example.test", A, "192.0.2.24" }),
	    a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_PTR_MISMATCH);
	assert_string_equal(rep.addrs[0].why,
	    "mail.example.test has A 192.0.2.24, not 192.0.2.25");

	/* the PTR lookup fails: tempfail, never "no PTR" */
	check(ZONE({ REV25, PTR, "TEMPFAIL" }), a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_TEMPFAIL);
	assert_string_equal(rep.addrs[0].why,
	    "PTR lookup of " REV25 " failed: server replied SERVFAIL");

	/* one name mismatches, the other cannot be asked: tempfail */
	check(ZONE({ REV25, PTR, "a.example.test" },
		  { REV25, PTR, "b.example.test" },
		  { "a.example.test", A, "192.0.2.99" },
		  { "b.example.test", A, "TEMPFAIL" }),
	    a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_TEMPFAIL);
	assert_string_equal(rep.addrs[0].ptr, "a.example.test");
	assert_non_null(strstr(rep.addrs[0].why, "A lookup of b.example.test"));

	/* a hostile PTR name is made printable and unquoted */
	check(ZONE({ REV25, PTR, "bad\"name%.example.test" }), a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_PTR_MISMATCH);
	assert_null(strchr(rep.addrs[0].ptr, '"'));
	assert_null(strchr(rep.addrs[0].why, '"'));
	assert_null(strchr(rep.addrs[0].why, '%'));
}

static void
test_check_v6(void **state)
{
	const char *spellings[] = { "2001:db8::25", "2001:0DB8:0:0::0025",
		"2001:db8:0:0:0:0:0:25" };
	const char *mapped[] = { "::ffff:192.0.2.25" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		check(ZONE({ REV6_25, PTR, "mail.example.test" },
			  { "mail.example.test", AAAA, "2001:db8:0::25" }),
		    &spellings[i], 1, NULL);
		assert_int_equal(rep.addrs[0].state, PFL_EGRESS_OK);
		assert_string_equal(rep.addrs[0].addr, spellings[i]);
	}
	/* IPv6 is confirmed by AAAA, not by A */
	check(ZONE({ REV6_25, PTR, "mail.example.test" },
		  { "mail.example.test", A, "192.0.2.25" }),
	    spellings, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_PTR_MISMATCH);
	assert_string_equal(
	    rep.addrs[0].why, "mail.example.test has no AAAA record");

	/* an IPv4-mapped address is asked and confirmed as IPv4 */
	check(ZONE({ REV25, PTR, "mail.example.test" },
		  { "mail.example.test", A, "192.0.2.25" }),
	    mapped, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_OK);
}

static void
test_check_ptr_cap(void **state)
{
	static char names[12][32];
	struct rec z[16];
	const char *a25[] = { "192.0.2.25" };
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(names[i], sizeof(names[i]), "p%zu.example.test", i);
		z[n++] = (struct rec){ REV25, PTR, names[i] };
	}
	z[n++] = (struct rec){ "p10.example.test", A, "192.0.2.25" };
	z[n] = (struct rec){ NULL, 0, NULL };
	/* the 11th name would match, but only 10 are asked */
	check(z, a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_PTR_MISMATCH);
	assert_int_equal(rep.addrs[0].nptr, 12);
	assert_int_equal(fk.queries, 1 + PFL_EGRESS_MAX_PTR);
	assert_non_null(strstr(
	    rep.addrs[0].why, "(12 PTR names, only the first 10 asked)"));
	/* now the 10th: OK, found by the 10th forward lookup */
	z[n - 1].name = "p9.example.test";
	check(z, a25, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_OK);
	assert_string_equal(rep.addrs[0].ptr, "p9.example.test");
}

static void
test_check_helo_and_limits(void **state)
{
	const char *both[] = { "192.0.2.25", "2001:db8::25" };
	const char *bad[] = { "not-an-address" };
	const char *many[PFL_EGRESS_MAX_ADDRS + 3];
	const struct rec *zone = ZONE({ "v4.example.test", A, "192.0.2.25" },
	    { "v6.example.test", AAAA, "2001:db8::25" },
	    { "away.example.test", A, "192.0.2.99" },
	    { "away.example.test", AAAA, "2001:db8::99" },
	    { "half.example.test", A, "192.0.2.99" },
	    { "half.example.test", AAAA, "TEMPFAIL" });
	size_t i;

	(void)state;
	assert_int_equal(
	    check(zone, both, 2, "v4.example.test")->helo_state, PFL_EGRESS_OK);
	assert_int_equal(
	    check(zone, both, 2, "V6.Example.Test")->helo_state, PFL_EGRESS_OK);
	assert_string_equal(rep.helo, "V6.Example.Test");
	check(zone, both, 2, "away.example.test");
	assert_int_equal(rep.helo_state, PFL_EGRESS_HELO_MISMATCH);
	assert_string_equal(rep.helo_why,
	    "away.example.test resolves to 192.0.2.99 (and more), none of the "
	    "egress addresses");
	check(zone, both, 2, "none.example.test");
	assert_int_equal(rep.helo_state, PFL_EGRESS_HELO_UNRESOLVED);
	/* the AAAA might have been ours: tempfail, not mismatch */
	check(zone, both, 2, "half.example.test");
	assert_int_equal(rep.helo_state, PFL_EGRESS_TEMPFAIL);
	assert_string_equal(
	    rep.helo_why, "AAAA lookup failed: server replied SERVFAIL");
	check(zone, both, 2, "a..b");
	assert_int_equal(rep.helo_state, PFL_EGRESS_HELO_UNRESOLVED);
	/* nothing to compare with: resolving is enough */
	assert_int_equal(check(zone, NULL, 0, "away.example.test")->helo_state,
	    PFL_EGRESS_OK);

	check(zone, bad, 1, NULL);
	assert_int_equal(rep.addrs[0].state, PFL_EGRESS_INVALID);
	assert_int_equal(fk.queries, 0);

	for (i = 0; i < PFL_EGRESS_MAX_ADDRS + 3; i++)
		many[i] = "192.0.2.26";
	check(zone, many, PFL_EGRESS_MAX_ADDRS + 3, NULL);
	assert_int_equal(rep.n, PFL_EGRESS_MAX_ADDRS);
	assert_int_equal(rep.skipped, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_google),
		cmocka_unit_test(test_microsoft_yahoo),
		cmocka_unit_test(test_default_and_helo),
		cmocka_unit_test(test_tempfail_and_more),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_check_v4),
		cmocka_unit_test(test_check_v6),
		cmocka_unit_test(test_check_ptr_cap),
		cmocka_unit_test(test_check_helo_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
