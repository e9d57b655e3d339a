/*
 * test_budget - budgets: config lines and presets, reservations against
 * the memory store, the rolling-window invariant with a fake clock,
 * warm-ups, bulk and Message-ID counts, the verdict's text; a
 * recipient's budgets charged all or none (memory and LMDB)
 */
#include <autoconfig.h>

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "budget.h"
#include "config.h"
#include "store.h"

/* utc - seconds of a UTC date and time */
static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* config - a snapshot of text, which must parse */
static struct pfl_config *
config(const char *text)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);

	if (c == NULL)
		fail_msg("config errors: %s", errors);
	return c;
}

/* set_of - the budget set of text, which must build */
static struct pfl_budget_set *
set_of(const char *text)
{
	struct pfl_config *c = config(text);
	char *errors = NULL;
	struct pfl_budget_set *s = pfl_budget_set_new(c, &errors);

	if (s == NULL)
		fail_msg("budget errors: %s", errors);
	assert_null(errors);
	pfl_config_unref(c);
	return s;
}

/* set_err - the errors of text, whose set must not build (caller frees) */
static char *
set_err(const char *text)
{
	struct pfl_config *c = config(text);
	char *errors = NULL;
	struct pfl_budget_set *s = pfl_budget_set_new(c, &errors);

	assert_null(s);
	assert_non_null(errors);
	pfl_config_unref(c);
	return errors;
}

/* has - assert that text contains sub */
static void
has(const char *text, const char *sub)
{
	if (strstr(text, sub) == NULL)
		fail_msg("\"%s\" not in:\n%s", sub, text);
}

/* mem - a fresh memory store */
static struct pfl_store *
mem(void)
{
	char err[256];
	struct pfl_store *st = pfl_store_open("memory", 1000, err, sizeof(err));

	if (st == NULL)
		fail_msg("memory store: %s", err);
	return st;
}

/* total - a key's window count now (0 when absent) */
static uint64_t
total(struct pfl_store *st, const char *key, unsigned bucket_s,
    unsigned nbuckets, time_t now)
{
	struct pfl_window w = { bucket_s, nbuckets };
	uint64_t n = 0;
	char err[256];

	if (pfl_store_window_total(st, key, &w, now, &n, err, sizeof(err)) ==
	    PFL_STORE_NOTFOUND)
		return 0;
	return n;
}

/* subj - a subject from sender to a recipient domain at a provider */
static struct pfl_budget_subject
subj(const char *sender, const char *rcpt_domain, enum pfl_provider p)
{
	struct pfl_budget_subject s = { 0 };

	s.envelope_sender = sender;
	s.rcpt_domain = rcpt_domain;
	s.provider = p;
	return s;
}

/* reserve - one recipient; returns the status */
static enum pfl_budget_status
reserve(const struct pfl_budget_set *set, struct pfl_store *st,
    const struct pfl_budget_subject *sj, time_t now,
    struct pfl_budget_ticket *t, struct pfl_budget_verdict *v)
{
	return pfl_budget_reserve(set, st, sj, now, t, v);
}

/* --- config ------------------------------------------------------------- */

static void
test_config_keys(void **state)
{
	struct pfl_config *c = config("");
	char *errors = NULL;

	(void)state;
	assert_int_equal(c->bulk_threshold, 5000);
	assert_string_equal(
	    c->state_store, "lmdb:/var/lib/preflight/state.lmdb");
	assert_int_equal(c->on_store_error, PFL_ACT_ACCEPT);
	assert_int_equal(c->on_budget_exceeded, PFL_ACT_DEFER);
	assert_int_equal(c->budgets.n, 0);
	pfl_config_unref(c);

	c = config("BulkThreshold 100\nStateStore redis://127.0.0.1:6379/0\n"
		   "OnStoreError defer\nOnBudgetExceeded hold\n"
		   "Budget google sender 1/1h\nBudget yahoo all 2/1d\n");
	assert_int_equal(c->bulk_threshold, 100);
	assert_string_equal(c->state_store, "redis://127.0.0.1:6379/0");
	assert_int_equal(c->on_store_error, PFL_ACT_DEFER);
	assert_int_equal(c->on_budget_exceeded, PFL_ACT_HOLD);
	assert_int_equal(c->budgets.n, 2);
	assert_int_equal(c->budgets.line[1], 6);
	pfl_config_unref(c);

	assert_null(pfl_config_parse("t.conf",
	    "OnStoreError hold\nOnBudgetExceeded reject\nBulkThreshold 0\n",
	    &errors));
	has(errors, "t.conf:1: OnStoreError: expected accept or defer");
	has(errors, "t.conf:2: OnBudgetExceeded: expected tag, hold or defer");
	has(errors, "t.conf:3: BulkThreshold: expected a number");
	free(errors);
}

static void
test_budget_lines(void **state)
{
	struct pfl_budget_set *s;
	struct pfl_budget_info info;

	(void)state;
	s = set_of("# budgets\n"
		   "Budget google sender-domain 500/1h 2000/24h\n"
		   "Budget Example.NET sender 10/90s unit=recipients\n"
		   "EgressAddresses 192.0.2.1\n"
		   "Budget * egress-ip 30/1m\n"
		   "Budget yahoo all 7/7s\n");
	assert_int_equal(pfl_budget_set_count(s), 5);

	assert_true(pfl_budget_describe(s, 0, 0, &info));
	assert_string_equal(info.name, "google/sender-domain 500/1h");
	assert_string_equal(info.origin, "t.conf:2");
	assert_string_equal(info.prefix, "pfl:b:google:sender-domain:");
	assert_string_equal(info.suffix, ":1h:msg");
	assert_int_equal(info.window.bucket_s, 60);
	assert_int_equal(info.window.nbuckets, 60);

	assert_true(pfl_budget_describe(s, 1, 0, &info));
	assert_string_equal(info.name, "google/sender-domain 2000/1d");
	assert_string_equal(info.suffix, ":1d:msg");
	assert_int_equal(info.window.bucket_s, 1440);
	assert_int_equal(info.window.nbuckets, 60);

	assert_true(pfl_budget_describe(s, 2, 0, &info));
	assert_string_equal(info.name, "example.net/sender 10 recipients/90s");
	assert_string_equal(info.prefix, "pfl:b:example.net:sender:");
	assert_string_equal(info.suffix, ":90s:rcpt");
	assert_int_equal(info.unit, PFL_BUNIT_RECIPIENTS);
	assert_int_equal(info.window.bucket_s, 2); /* 45 buckets */
	assert_int_equal(info.window.nbuckets, 45);

	assert_true(pfl_budget_describe(s, 3, 0, &info));
	assert_string_equal(info.prefix, "pfl:b:*:egress-ip:");
	assert_int_equal(info.window.bucket_s, 1);

	assert_true(pfl_budget_describe(s, 4, 0, &info));
	assert_int_equal(info.window.bucket_s, 1);
	assert_int_equal(info.window.nbuckets, 7);
	assert_false(pfl_budget_describe(s, 5, 0, &info));
	pfl_budget_set_free(&s);
	assert_null(s);
}

static void
test_budget_errors(void **state)
{
	char *e;

	(void)state;
	e = set_err(
	    "Budget gogle sender 1/1h\n"
	    "Budget google everyone 1/1h\n"
	    "Budget google sender 500\n"
	    "Budget google sender 0/1h\n"
	    "Budget google sender 5/61s\n"
	    "Budget google sender 5/32d\n"
	    "Budget google sender 5/1h unit=bytes\n"
	    "Budget google sender 5/1d\n"
	    "Budget google sender 9/24h\n"
	    "Budget google egress-ip 5/1h\n"
	    "Budget google sender\n"
	    "Budget google sender 1/1h unit=messages unit=recipients\n");
	has(e, "t.conf:1: Budget: unknown target \"gogle\"");
	has(e, "t.conf:2: Budget: unknown scope \"everyone\"");
	has(e, "t.conf:3: Budget: \"500\" is not N/WINDOW");
	has(e, "t.conf:4: Budget: N \"0\" is not a number from 1");
	has(e, "t.conf:5: Budget: window \"61s\" cannot be cut into 10");
	has(e, "t.conf:6: Budget: window \"32d\" is not a duration");
	has(e, "t.conf:7: Budget: unknown unit \"bytes\"");
	has(e, "t.conf:9: Budget: google/sender 9/1d already set at line 8");
	has(e, "t.conf:10: Budget: egress-ip budgets need EgressAddresses");
	has(e, "t.conf:11: Budget: no N/WINDOW");
	has(e, "t.conf:12: Budget: unit= given twice");
	free(e);

	e = set_err("EgressAddresses 192.0.2.1\n"
		    "Warmup sender-domain example.com start=2026-01-05 "
		    "initial=50\n"
		    "Warmup sender-domain mail.example.com start=2026-01-05 "
		    "initial=50 growth=1.5 max=2000\n"
		    "Warmup egress-ip 192.0.2.9 start=2026-01-05 initial=50 "
		    "growth=1.5 max=2000\n"
		    "Warmup egress-ip 192.0.2.1 start=2026-02-30 initial=50 "
		    "growth=1.5 max=2000\n"
		    "Warmup egress-ip 192.0.2.1 start=2026-02-03 initial=50 "
		    "growth=0.5 max=2000\n"
		    "Warmup egress-ip 192.0.2.1 start=2026-02-03 initial=500 "
		    "growth=1.5 max=20\n"
		    "Warmup sender example.com\n"
		    "Warmup egress-ip 192.0.2.1 start=2026-02-03 initial=5 "
		    "growth=1.5 max=20 color=red\n"
		    "SendingLimits gmail\n"
		    "SendingLimits none\n");
	has(e, "t.conf:2: Warmup: needs start=, initial=, growth= and max=");
	has(e,
	    "t.conf:3: Warmup: write the organisational domain "
	    "example.com");
	has(e, "t.conf:4: Warmup: 192.0.2.9 is not one of EgressAddresses");
	has(e, "t.conf:5: Warmup: bad start \"2026-02-30\"");
	has(e, "t.conf:6: Warmup: bad growth \"0.5\"");
	has(e, "t.conf:7: Warmup: initial= is above max=");
	has(e, "t.conf:8: Warmup: unknown scope \"sender\"");
	has(e, "t.conf:9: Warmup: \"color=red\" is not start=");
	has(e, "t.conf:10: SendingLimits: unknown preset \"gmail\"");
	has(e, "t.conf:11: SendingLimits: already set at line 10");
	free(e);
}

static void
test_presets(void **state)
{
	struct pfl_budget_info info;
	struct pfl_budget_set *s;

	(void)state;
	s = set_of("SendingLimits google-workspace\n");
	assert_int_equal(pfl_budget_set_count(s), 2);
	assert_true(pfl_budget_describe(s, 0, 0, &info));
	assert_string_equal(info.name, "*/sender 2000/1d");
	assert_string_equal(info.origin, "SendingLimits google-workspace");
	assert_string_equal(info.prefix, "pfl:b:*:sender:");
	assert_true(pfl_budget_describe(s, 1, 0, &info));
	assert_string_equal(info.name, "*/sender 10000 recipients/1d");
	pfl_budget_set_free(&s);

	/* an explicit Budget line replaces the preset's same budget */
	s = set_of("SendingLimits google-workspace\n"
		   "Budget * sender 1500/24h\n"
		   "Budget google sender 100/1h\n");
	assert_int_equal(pfl_budget_set_count(s), 3);
	assert_true(pfl_budget_describe(s, 0, 0, &info));
	assert_string_equal(info.name, "*/sender 1500/1d");
	assert_string_equal(info.origin, "t.conf:2");
	assert_true(pfl_budget_describe(s, 2, 0, &info));
	assert_string_equal(info.name, "*/sender 10000 recipients/1d");
	assert_string_equal(info.origin, "SendingLimits google-workspace");
	pfl_budget_set_free(&s);

	s = set_of("SendingLimits microsoft-365\n");
	assert_int_equal(pfl_budget_set_count(s), 2);
	assert_true(pfl_budget_describe(s, 0, 0, &info));
	assert_string_equal(info.name, "*/sender 10000 recipients/1d");
	assert_true(pfl_budget_describe(s, 1, 0, &info));
	assert_string_equal(info.name, "*/sender 30/1m");
	assert_string_equal(info.suffix, ":1m:msg");
	pfl_budget_set_free(&s);

	s = set_of("SendingLimits none\n");
	assert_int_equal(pfl_budget_set_count(s), 0);
	pfl_budget_set_free(&s);
}

static void
test_key_values(void **state)
{
	char buf[PFL_BUDGET_KEY_SIZE];
	char long_value[200];

	(void)state;
	assert_string_equal(
	    pfl_budget_key_value(buf, sizeof(buf), "alice+x@example.com"),
	    "alice+x@example.com");
	pfl_budget_key_value(buf, sizeof(buf), "2001:db8::1");
	assert_memory_equal(buf, "2001_db8__1~", 12);
	assert_int_equal(strlen(buf), 12 + 16);
	memset(long_value, 'a', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	pfl_budget_key_value(buf, sizeof(buf), long_value);
	assert_int_equal(strlen(buf), 40 + 1 + 16);
	assert_int_equal(buf[40], '~');
	/* different values, different keys */
	long_value[150] = 'b';
	{
		char other[PFL_BUDGET_KEY_SIZE];

		pfl_budget_key_value(other, sizeof(other), long_value);
		assert_string_not_equal(buf, other);
	}
}

/* --- reservations -------------------------------------------------------- */

static void
test_long_values(void **state)
{
	char conf[512], domain[254], sender[300];
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_budget_subject sj;
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	struct pfl_budget_set *s;
	const char *p;
	int i;

	(void)state;
	/* a 253-byte domain: 3 labels of 63 and one of 61 */
	snprintf(domain, sizeof(domain), "%.63s.%.63s.%.63s.%.61s",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(domain), 253);
	snprintf(conf, sizeof(conf),
	    "Budget %s sender 1/1h\nBudget * sender 2/1h\n", domain);
	s = set_of(conf);
	for (i = 0; i < 240; i++)
		sender[i] = (char)('a' + i % 26);
	sender[i] = '\0';
	memcpy(sender + 10, "\"%:\x01", 4);
	memcpy(sender + 200, "\"%:\x01@x.", 8);
	snprintf(sender + 208, sizeof(sender) - 208, "%s", domain + 200);
	sj = subj(sender, domain, PFL_PROV_DEFAULT);
	assert_int_equal(reserve(s, st, &sj, 1000000, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(reserve(s, st, &sj, 1000001, t, &v), PFL_BUDGET_OVER);
	assert_true(strlen(v.key) <= 163);
	assert_memory_equal(v.key, "pfl:b:aaaa", 10);
	for (p = v.key; *p; p++)
		assert_true(*p > ' ' && *p < 127);
	/* the sender's bytes reach the verdict's text made printable */
	sj.rcpt_domain = "gmail.com";
	assert_int_equal(reserve(s, st, &sj, 1000002, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(reserve(s, st, &sj, 1000003, t, &v), PFL_BUDGET_OVER);
	assert_memory_equal(v.budget, "*/sender abcdefghij??:?opq", 26);
	for (p = v.key; *p; p++)
		assert_true(*p > ' ' && *p < 127);
	for (p = v.budget; *p; p++)
		assert_true(*p >= ' ' && *p < 127 && *p != '"' && *p != '%');
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_several_budgets(void **state)
{
	struct pfl_budget_set *s = set_of("Budget * sender 3/1h\n"
					  "Budget google sender-domain 2/1h\n");
	struct pfl_budget_subject gm = subj(
				      "a@ex.com", "gmail.com", PFL_PROV_GOOGLE),
				  ya = subj(
				      "a@ex.com", "yahoo.com", PFL_PROV_YAHOO);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	const char *any = "pfl:b:*:sender:a@ex.com:1h:msg";
	const char *goo = "pfl:b:google:sender-domain:ex.com:1h:msg";
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		    reserve(s, st, &gm, now + i, t, &v), PFL_BUDGET_ADMIT);
		assert_true(v.admitted);
		pfl_budget_commit(t);
	}
	assert_int_equal(total(st, any, 60, 60, now + 2), 2);
	assert_int_equal(total(st, goo, 60, 60, now + 2), 2);
	/* the google budget refuses; the * reservation is given back */
	assert_int_equal(reserve(s, st, &gm, now + 3, t, &v), PFL_BUDGET_OVER);
	assert_false(v.admitted);
	assert_string_equal(v.key, goo);
	assert_string_equal(v.origin, "t.conf:2");
	assert_int_equal(total(st, any, 60, 60, now + 3), 2);
	/* a yahoo co-recipient of the same message still goes */
	assert_int_equal(reserve(s, st, &ya, now + 3, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(total(st, any, 60, 60, now + 4), 3);
	/* now the * budget is full too, and it is checked first */
	assert_int_equal(reserve(s, st, &ya, now + 5, t, &v), PFL_BUDGET_OVER);
	assert_string_equal(v.key, any);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_release_gives_back(void **state)
{
	struct pfl_budget_set *s = set_of("Budget google sender 1/1h\n");
	struct pfl_budget_subject gm =
	    subj("<B@Ex.com>", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	const char *key = "pfl:b:google:sender:b@ex.com:1h:msg";
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	char err[256];

	(void)state;
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(total(st, key, 60, 60, now), 1);
	assert_int_equal(pfl_budget_release(t, err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(total(st, key, 60, 60, now), 0);
	/* the ticket is empty: releasing again takes nothing */
	assert_int_equal(pfl_budget_release(t, err, sizeof(err)), PFL_STORE_OK);

	assert_int_equal(reserve(s, st, &gm, now + 1, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(reserve(s, st, &gm, now + 2, t, &v), PFL_BUDGET_OVER);
	/* commit is final: a release after it gives nothing back */
	assert_int_equal(pfl_budget_release(t, err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(total(st, key, 60, 60, now + 2), 1);

	/* another check refused the recipient: undo only that one */
	pfl_store_close(&st);
	st = mem();
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(
	    pfl_budget_unreserve_last(t, err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(total(st, key, 60, 60, now), 0);
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(total(st, key, 60, 60, now), 1);

	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_message_unit(void **state)
{
	struct pfl_budget_set *s =
	    set_of("Budget google sender 2/1h\n"
		   "Budget google sender 3/1h unit=recipients\n");
	struct pfl_budget_subject gm =
	    subj("a@ex.com", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	int i;

	(void)state;
	/* one message, three gmail recipients: one message, three rcpts */
	for (i = 0; i < 3; i++)
		assert_int_equal(
		    reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_OVER);
	assert_string_equal(v.key, "pfl:b:google:sender:a@ex.com:1h:rcpt");
	pfl_budget_commit(t);
	assert_int_equal(
	    total(st, "pfl:b:google:sender:a@ex.com:1h:msg", 60, 60, now), 1);
	assert_int_equal(
	    total(st, "pfl:b:google:sender:a@ex.com:1h:rcpt", 60, 60, now), 3);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_egress_and_all(void **state)
{
	struct pfl_budget_set *s =
	    set_of("EgressAddresses 192.0.2.1 192.0.2.2\n"
		   "Budget yahoo egress-ip 5/1h\nBudget yahoo all 5/1h\n");
	const char *egress[] = { "192.0.2.1", "192.0.2.2" };
	struct pfl_budget_subject ya = subj("", "yahoo.com", PFL_PROV_YAHOO);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);

	(void)state;
	ya.egress = egress;
	ya.negress = 2;
	assert_int_equal(reserve(s, st, &ya, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(
	    total(st, "pfl:b:yahoo:egress-ip:192.0.2.1:1h:msg", 60, 60, now),
	    1);
	assert_int_equal(
	    total(st, "pfl:b:yahoo:egress-ip:192.0.2.2:1h:msg", 60, 60, now),
	    1);
	assert_int_equal(total(st, "pfl:b:yahoo:all:*:1h:msg", 60, 60, now), 1);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_next_slot_text(void **state)
{
	struct pfl_budget_set *s = set_of("Budget google sender-domain 2/1h\n"
					  "Budget yahoo sender-domain 1/1d\n"
					  "OnBudgetExceeded hold\n");
	struct pfl_budget_subject gm = subj("x@mail.example.com", "gmail.com",
				      PFL_PROV_GOOGLE),
				  ya = subj("x@example.com", "yahoo.com",
				      PFL_PROV_YAHOO);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);

	(void)state;
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(
	    reserve(s, st, &gm, now + 10, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(reserve(s, st, &gm, now + 70, t, &v), PFL_BUDGET_OVER);
	/* the bucket 14:00-14:01 ages out of the hour at 15:01:00 */
	assert_string_equal(v.finding.reason,
	    "budget google/sender-domain example.com 2/1h exhausted; next "
	    "slot 15:01:00Z");
	assert_int_equal(v.next_free, utc(2026, 3, 2, 15, 1, 0));
	assert_string_equal(v.budget, "google/sender-domain example.com 2/1h");
	assert_int_equal(v.limit, 2);
	assert_int_equal(v.used, 2);
	assert_string_equal(v.finding.check, "budget");
	assert_string_equal(v.finding.rcode, "452");
	assert_string_equal(v.finding.xcode, "4.7.1");
	assert_string_equal(v.finding.reply, "421 4.7.28");
	assert_int_equal(v.finding.action, PFL_ACT_HOLD);
	assert_int_equal(v.finding.outcome, PFL_OUT_THROTTLE);

	/* a slot on another day carries the date */
	assert_int_equal(reserve(s, st, &ya, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(reserve(s, st, &ya, now + 5, t, &v), PFL_BUDGET_OVER);
	has(v.finding.reason, "next slot 2026-03-03T14:24:00Z");
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_store_failure(void **state)
{
	struct pfl_budget_set *s = set_of("Budget google sender 5/1h\n");
	struct pfl_budget_subject gm =
	    subj("a@ex.com", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	char err[256];

	(void)state;
	/* the store refuses a time it cannot hold: its TEMPFAIL reaches us */
	assert_int_equal(
	    reserve(s, st, &gm, (time_t)1 << 41, t, &v), PFL_BUDGET_TEMPFAIL);
	assert_false(v.admitted);
	has(v.error, "memory store, pfl:b:google:sender:a@ex.com:1h:msg: ");
	assert_int_equal(pfl_budget_release(t, err, sizeof(err)), PFL_STORE_OK);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

/* --- one store call per recipient: all budgets or none ------------------- */

/* Six budgets for a@ex.com to gmail.com; the third is the tight one. */
static const char SIX[] = "Budget * sender 100/1h\n"
			  "Budget google sender 100/1h\n"
			  "Budget google sender-domain 2/1h\n"
			  "Budget gmail.com sender 100/1h\n"
			  "Budget google all 100/1h\n"
			  "Budget * sender 100/1d unit=recipients\n";

static const char *const six_keys[] = {
	"pfl:b:*:sender:a@ex.com:1h:msg",
	"pfl:b:google:sender:a@ex.com:1h:msg",
	"pfl:b:google:sender-domain:ex.com:1h:msg",
	"pfl:b:gmail.com:sender:a@ex.com:1h:msg",
	"pfl:b:google:all:*:1h:msg",
	"pfl:b:*:sender:a@ex.com:1d:rcpt",
};

/* six_totals - assert the six keys' counts at now */
static void
six_totals(struct pfl_store *st, time_t now, const uint64_t want[6])
{
	size_t i;

	for (i = 0; i < 6; i++) {
		if (total(st, six_keys[i], i == 5 ? 1440 : 60, 60, now) !=
		    want[i])
			fail_msg("%s: %" PRIu64 " counted, %" PRIu64
				 " expected",
			    six_keys[i],
			    total(st, six_keys[i], i == 5 ? 1440 : 60, 60, now),
			    want[i]);
	}
}

/* third_of_six - the third budget refuses: nothing stays, same verdict */
static void
third_of_six(struct pfl_store *st)
{
	static const uint64_t two[6] = { 2, 2, 2, 2, 2, 2 };
	/* after the third was deleted and the fourth became a value */
	static const uint64_t gone[6] = { 2, 2, 0, 0, 2, 2 };
	struct pfl_budget_set *s = set_of(SIX);
	struct pfl_budget_subject gm =
	    subj("a@ex.com", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	char err[256];

	assert_int_equal(pfl_budget_set_count(s), 6);
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	assert_int_equal(
	    reserve(s, st, &gm, now + 10, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	six_totals(st, now + 70, two);
	assert_int_equal(reserve(s, st, &gm, now + 70, t, &v), PFL_BUDGET_OVER);
	assert_false(v.admitted);
	assert_string_equal(v.key, six_keys[2]);
	assert_string_equal(v.budget, "google/sender-domain ex.com 2/1h");
	assert_string_equal(v.origin, "t.conf:3");
	assert_int_equal(v.limit, 2);
	assert_int_equal(v.used, 2);
	assert_int_equal(v.next_free, utc(2026, 3, 2, 15, 1, 0));
	assert_string_equal(v.finding.reason,
	    "budget google/sender-domain ex.com 2/1h exhausted; next slot "
	    "15:01:00Z");
	assert_string_equal(v.finding.rcode, "452");
	assert_string_equal(v.finding.xcode, "4.7.1");
	/* the first two were not charged, nor the three after */
	six_totals(st, now + 70, two);
	/* the ticket holds nothing of it: a release takes nothing back */
	assert_int_equal(pfl_budget_release(t, err, sizeof(err)), PFL_STORE_OK);
	six_totals(st, now + 70, two);
	/* a store failure at the fourth: nothing of the first three stays */
	assert_int_equal(
	    pfl_store_delete(st, six_keys[2], err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(
	    pfl_store_put(st, six_keys[3], "x", 1, 0, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(
	    reserve(s, st, &gm, now + 80, t, &v), PFL_BUDGET_TEMPFAIL);
	has(v.error, " store, pfl:b:gmail.com:sender:a@ex.com:1h:msg: ");
	has(v.error, "holds a value, not a window");
	six_totals(st, now + 80, gone);
	pfl_budget_ticket_free(&t);
	pfl_budget_set_free(&s);
}

/*
 * twice_the_same - one key twice in a recipient's batch (an egress
 * address listed twice): a recipients budget counts both, a messages
 * budget one, as budget by budget did
 */
static void
twice_the_same(struct pfl_store *st)
{
	struct pfl_budget_set *s =
	    set_of("EgressAddresses 192.0.2.7\n"
		   "Budget google egress-ip 3/1h unit=recipients\n"
		   "Budget google egress-ip 5/1h\n");
	const char *egress[] = { "192.0.2.7", "192.0.2.7" };
	struct pfl_budget_subject gm =
	    subj("b@ex.com", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	const char *rcpt = "pfl:b:google:egress-ip:192.0.2.7:1h:rcpt";
	const char *msg = "pfl:b:google:egress-ip:192.0.2.7:1h:msg";
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);

	gm.egress = egress;
	gm.negress = 2;
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(total(st, rcpt, 60, 60, now), 2);
	assert_int_equal(total(st, msg, 60, 60, now), 1);
	/* 2 + 1 fits, 2 + 1 + 1 does not: the first add is not kept */
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_OVER);
	assert_string_equal(v.key, rcpt);
	assert_int_equal(v.used, 3);
	assert_int_equal(v.limit, 3);
	assert_int_equal(total(st, rcpt, 60, 60, now), 2);
	pfl_budget_commit(t);
	pfl_budget_ticket_free(&t);
	pfl_budget_set_free(&s);
}

static void
test_batch_all_or_none(void **state)
{
	char dir[] = "/tmp/test_budget.XXXXXX", spec[96], path[64], err[256];
	struct pfl_store *st;

	(void)state;
	st = mem();
	third_of_six(st);
	twice_the_same(st);
	pfl_store_close(&st);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.lmdb", dir);
	snprintf(spec, sizeof(spec), "lmdb:%s", path);
	if ((st = pfl_store_open(spec, 1000, err, sizeof(err))) != NULL) {
		third_of_six(st);
		twice_the_same(st);
		pfl_store_close(&st);
	} else {
		print_message("# LMDB part skipped: %s\n", err);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.lmdb-lock", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_per_message_cap(void **state)
{
	struct pfl_budget_set *s = set_of("SendingLimits google-workspace\n");
	struct pfl_budget_subject ext = subj("a@example.com", "gmail.com",
				      PFL_PROV_GOOGLE),
				  own = subj("a@example.com", "sub.example.com",
				      PFL_PROV_DEFAULT);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	int i;

	(void)state;
	for (i = 0; i < 500; i++)
		assert_int_equal(
		    reserve(s, st, &ext, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(reserve(s, st, &ext, now, t, &v), PFL_BUDGET_OVER);
	assert_string_equal(v.finding.rcode, "452");
	assert_string_equal(v.finding.xcode, "4.5.3");
	assert_string_equal(v.origin, "SendingLimits google-workspace");
	has(v.finding.reason, "500 external recipients per message");
	assert_int_equal(v.next_free, 0);
	/* recipients in the sender's own domain are not external */
	assert_int_equal(reserve(s, st, &own, now, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	/* one message of the 2000 a day; 501 of the 10000 recipients */
	assert_int_equal(
	    total(st, "pfl:b:*:sender:a@example.com:1d:msg", 1440, 60, now), 1);
	assert_int_equal(
	    total(st, "pfl:b:*:sender:a@example.com:1d:rcpt", 1440, 60, now),
	    501);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

/* --- warm-up ------------------------------------------------------------- */

static void
test_warmup_growth(void **state)
{
	struct pfl_budget_set *s = set_of(
	    "Warmup sender-domain example.com start=2026-01-01 initial=10 "
	    "growth=2 max=50\n");
	struct pfl_budget_subject gm = subj("a@news.example.com", "gmail.com",
				      PFL_PROV_GOOGLE),
				  other = subj("a@other.org", "gmail.com",
				      PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	time_t day1 = utc(2026, 1, 2, 9, 30, 0);
	struct pfl_budget_info info;
	struct pfl_store *st = mem();
	struct pfl_budget_verdict v;
	static const struct {
		time_t when;
		uint64_t limit;
	} days[] = {
		{ 1735689600, 10 },               /* 2025-01-01: before start */
		{ 1767225600, 10 },               /* day 0 */
		{ 1767225600 + 86399, 10 },       /* day 0, 23:59:59 */
		{ 1767225600 + 86400, 20 },       /* day 1 */
		{ 1767225600 + 2 * 86400, 40 },   /* day 2 */
		{ 1767225600 + 3 * 86400, 50 },   /* day 3: max */
		{ 1767225600 + 300 * 86400, 50 }, /* stays at max */
	};
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		assert_true(pfl_budget_describe(s, 0, days[i].when, &info));
		assert_int_equal(info.limit, days[i].limit);
	}
	assert_string_equal(info.prefix, "pfl:w:sender-domain:example.com");
	assert_string_equal(info.suffix, ":1d:msg");
	assert_string_equal(
	    info.name, "warmup sender-domain example.com 50/1d (day 300)");

	/* day 1: 20 messages go, the 21st waits; other domains do not */
	for (n = 0; n < 20; n++) {
		assert_int_equal(
		    reserve(s, st, &gm, day1 + n, t, &v), PFL_BUDGET_ADMIT);
		pfl_budget_commit(t);
	}
	assert_int_equal(
	    reserve(s, st, &gm, day1 + 30, t, &v), PFL_BUDGET_OVER);
	assert_string_equal(
	    v.budget, "warmup sender-domain example.com 20/1d (day 1)");
	assert_int_equal(
	    reserve(s, st, &other, day1 + 30, t, &v), PFL_BUDGET_ADMIT);
	pfl_budget_commit(t);
	/* day 2 allows 40 in the rolling day: 20 more */
	for (n = 0; n < 20; n++) {
		assert_int_equal(reserve(s, st, &gm, day1 + 86400 + n, t, &v),
		    PFL_BUDGET_ADMIT);
		pfl_budget_commit(t);
	}
	assert_int_equal(
	    reserve(s, st, &gm, day1 + 86400 + 30, t, &v), PFL_BUDGET_OVER);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

/* --- bulk and Message-ID -------------------------------------------------- */

/* one_message - a message to recipients at the given providers, counted */
static void
one_message(const struct pfl_budget_set *s, struct pfl_store *st,
    struct pfl_budget_ticket *t, const char *from, enum pfl_provider p,
    bool tenant, time_t now, struct pfl_budget_bulk *b)
{
	struct pfl_budget_subject sj = subj("x@example.com",
	    p == PFL_PROV_GOOGLE ? "gmail.com" : "yahoo.com", p);
	struct pfl_budget_verdict v;
	struct pfl_budget_eom r;
	char err[256];

	sj.tenant = tenant;
	assert_int_equal(reserve(s, st, &sj, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(pfl_budget_eom_count(
			     s, st, t, from, NULL, now, &r, err, sizeof(err)),
	    PFL_STORE_OK);
	*b = r.bulk;
}

/* msgid - count only the Message-ID id; found_r and f_r as eom_count says */
static enum pfl_store_status
msgid(const struct pfl_budget_set *s, struct pfl_store *st,
    struct pfl_budget_ticket *t, const char *id, time_t now, bool *found_r,
    struct pfl_finding *f_r)
{
	struct pfl_budget_eom r;
	enum pfl_store_status status;
	char err[256];

	status =
	    pfl_budget_eom_count(s, st, t, NULL, id, now, &r, err, sizeof(err));
	if ((*found_r = r.msgid_found))
		*f_r = r.msgid;
	return status;
}

static void
test_bulk_threshold(void **state)
{
	struct pfl_budget_set *s = set_of("BulkThreshold 5\n");
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	static const int counts[] = { 1, 2, 2, 3 }; /* the 2nd is aborted */
	struct pfl_budget_bulk b;
	char err[256];
	int i, became = 0;

	(void)state;
	for (i = 1; i <= 4; i++) {
		one_message(s, st, t, "News.Example.com", PFL_PROV_GOOGLE,
		    false, now + i, &b);
		assert_string_equal(b.domain, "example.com");
		assert_int_equal(b.count[PFL_PROV_GOOGLE], counts[i - 1]);
		assert_false(b.bulk[PFL_PROV_GOOGLE]);
		if (i == 2) /* aborted: its count is given back */
			assert_int_equal(
			    pfl_budget_release(t, err, sizeof(err)),
			    PFL_STORE_OK);
		else
			pfl_budget_commit(t);
	}
	for (i = 5; i <= 12; i++) {
		one_message(s, st, t, "example.com", PFL_PROV_GOOGLE, false,
		    now + i, &b);
		pfl_budget_commit(t);
		if (i >= 6)
			assert_true(b.bulk[PFL_PROV_GOOGLE]);
		became += b.became_bulk[PFL_PROV_GOOGLE];
		if (i == 6)
			assert_true(b.became_bulk[PFL_PROV_GOOGLE]);
	}
	assert_int_equal(became, 1);
	/* once bulk, always bulk, even after the day has passed */
	one_message(s, st, t, "example.com", PFL_PROV_GOOGLE, false,
	    now + 3 * 86400, &b);
	pfl_budget_commit(t);
	assert_true(b.bulk[PFL_PROV_GOOGLE]);
	assert_false(b.became_bulk[PFL_PROV_GOOGLE]);
	/* yahoo counts apart; business tenants are not counted */
	one_message(s, st, t, "example.com", PFL_PROV_YAHOO, false, now, &b);
	pfl_budget_commit(t);
	assert_false(b.bulk[PFL_PROV_YAHOO]);
	assert_int_equal(b.count[PFL_PROV_YAHOO], 1);
	one_message(s, st, t, "example.com", PFL_PROV_YAHOO, true, now, &b);
	pfl_budget_commit(t);
	assert_int_equal(b.count[PFL_PROV_YAHOO], 0);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

static void
test_duplicate_message_id(void **state)
{
	struct pfl_budget_set *s = set_of("");
	struct pfl_budget_subject gm = subj(
				      "a@ex.com", "gmail.com", PFL_PROV_GOOGLE),
				  ya = subj(
				      "a@ex.com", "yahoo.com", PFL_PROV_YAHOO);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	struct pfl_budget_verdict v;
	struct pfl_finding f;
	bool found;
	int i;

	(void)state;
	for (i = 1; i <= PFL_BUDGET_MSGID_MAX + 1; i++) {
		assert_int_equal(
		    reserve(s, st, &gm, now + i, t, &v), PFL_BUDGET_ADMIT);
		assert_int_equal(
		    msgid(s, st, t, " <same@ex.com> ", now + i, &found, &f),
		    PFL_STORE_OK);
		pfl_budget_commit(t);
		assert_int_equal(found, i > PFL_BUDGET_MSGID_MAX);
	}
	assert_string_equal(f.check, "budget");
	assert_string_equal(f.reply, "421 4.7.28");
	has(f.reason, "Message-ID <same@ex.com> sent 11 times to google");
	assert_int_equal(f.action, PFL_ACT_DEFER);
	/* another Message-ID, or another provider, counts apart */
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	msgid(s, st, t, "<other@ex.com>", now, &found, &f);
	pfl_budget_commit(t);
	assert_false(found);
	assert_int_equal(reserve(s, st, &ya, now, t, &v), PFL_BUDGET_ADMIT);
	msgid(s, st, t, "<same@ex.com>", now, &found, &f);
	pfl_budget_commit(t);
	assert_false(found);
	/* a day later the count has aged out */
	assert_int_equal(
	    reserve(s, st, &gm, now + 86400 + 1500, t, &v), PFL_BUDGET_ADMIT);
	msgid(s, st, t, "<same@ex.com>", now + 86400 + 1500, &found, &f);
	pfl_budget_commit(t);
	assert_false(found);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

/* both end-of-message counts in one call: bulk and Message-ID together */
static void
test_eom_count(void **state)
{
	struct pfl_budget_set *s = set_of("BulkThreshold 3\n");
	struct pfl_budget_subject gm =
	    subj("a@ex.com", "gmail.com", PFL_PROV_GOOGLE);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_store *st = mem();
	time_t now = utc(2026, 3, 2, 14, 0, 0);
	struct pfl_budget_verdict v;
	struct pfl_budget_eom r;
	char err[256];
	bool aborted = false;
	int i, became = 0;

	(void)state;
	for (i = 1; i <= PFL_BUDGET_MSGID_MAX + 1; i++) {
		assert_int_equal(
		    reserve(s, st, &gm, now + i, t, &v), PFL_BUDGET_ADMIT);
		assert_int_equal(
		    pfl_budget_eom_count(s, st, t, "ex.com", "<one@ex.com>",
			now + i, &r, err, sizeof(err)),
		    PFL_STORE_OK);
		/* a domain that is bulk goes on being counted */
		assert_int_equal(r.bulk.count[PFL_PROV_GOOGLE], i);
		assert_int_equal(r.bulk.bulk[PFL_PROV_GOOGLE], i >= 3);
		became += r.bulk.became_bulk[PFL_PROV_GOOGLE];
		assert_int_equal(r.msgid_found, i > PFL_BUDGET_MSGID_MAX);
		if (i == 2 && !aborted) { /* both counts are given back */
			assert_int_equal(
			    pfl_budget_release(t, err, sizeof(err)),
			    PFL_STORE_OK);
			aborted = true;
			i--;
		} else {
			pfl_budget_commit(t);
		}
	}
	assert_int_equal(became, 1);
	has(r.msgid.reason, "Message-ID <one@ex.com> sent 11 times to google");
	/* neither given: nothing counted, no store call needed */
	assert_int_equal(reserve(s, st, &gm, now, t, &v), PFL_BUDGET_ADMIT);
	assert_int_equal(pfl_budget_eom_count(
			     s, st, t, NULL, " ", now, &r, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(r.bulk.count[PFL_PROV_GOOGLE], 0);
	assert_false(r.msgid_found);
	pfl_budget_commit(t);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
}

/* --- the invariant: random traffic against the memory store -------------- */

/* The budgets of the property test, as the model sees them. */
static const char prop_config[] = "EgressAddresses 192.0.2.1 192.0.2.2\n"
				  "Budget google sender-domain 5/1m 20/1h\n"
				  "Budget * sender 8/10m unit=recipients\n"
				  "Budget yahoo all 10/1h\n"
				  "Budget example.net sender 3/90s\n"
				  "Budget * egress-ip 30/1h\n";

static const struct mrule {
	int provider;       /* -1: any; else the provider */
	const char *domain; /* or a recipient domain (and below) */
	const char *target, *scope, *wtext, *unit;
	unsigned limit, window_s, bucket_s;
} mrules[] = {
	{ PFL_PROV_GOOGLE, NULL, "google", "sender-domain", "1m", "msg", 5, 60,
	    1 },
	{ PFL_PROV_GOOGLE, NULL, "google", "sender-domain", "1h", "msg", 20,
	    3600, 60 },
	{ -1, NULL, "*", "sender", "10m", "rcpt", 8, 600, 10 },
	{ PFL_PROV_YAHOO, NULL, "yahoo", "all", "1h", "msg", 10, 3600, 60 },
	{ -1, "example.net", "example.net", "sender", "90s", "msg", 3, 90, 2 },
	{ -1, NULL, "*", "egress-ip", "1h", "msg", 30, 3600, 60 },
};
#define NMRULES (sizeof(mrules) / sizeof(mrules[0]))

#define MAXKEYS 64

/* Charges of the model, per key. */
struct model {
	char keys[MAXKEYS][PFL_BUDGET_KEY_SIZE];
	const struct mrule *rule[MAXKEYS];
	time_t *kept[MAXKEYS]; /* committed charge times */
	size_t nkept[MAXKEYS];
	size_t nkeys;
	/* the message in flight: (key, time, recipient) */
	size_t pkey[64];
	time_t ptime[64];
	int prcpt[64];
	size_t npend;
};

/* key_index - the model's index of a key, added when new */
static size_t
key_index(struct model *m, const char *key, const struct mrule *r)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++)
		if (strcmp(m->keys[i], key) == 0)
			return i;
	assert_true(m->nkeys < MAXKEYS);
	snprintf(m->keys[i], sizeof(m->keys[i]), "%s", key);
	m->rule[i] = r;
	m->nkeys++;
	return i;
}

/* pending_has - is key charged by the message in flight? */
static bool
pending_has(const struct model *m, size_t k)
{
	size_t i;

	for (i = 0; i < m->npend; i++)
		if (m->pkey[i] == k)
			return true;
	return false;
}

/* Senders and recipients of the random traffic. */
static const struct {
	const char *auth, *from, *value, *org;
} senders[] = {
	{ NULL, "alice@one.com", "alice@one.com", "one.com" },
	{ "Bob", "bob@mail.one.com", "bob", "one.com" },
	{ NULL, "carol@sub.two.org", "carol@sub.two.org", "two.org" },
};
static const struct {
	const char *domain;
	enum pfl_provider p;
} rcpts[] = {
	{ "gmail.com", PFL_PROV_GOOGLE },
	{ "yahoo.com", PFL_PROV_YAHOO },
	{ "example.net", PFL_PROV_DEFAULT },
	{ "mail.example.net", PFL_PROV_DEFAULT },
};
static const char *const egress[] = { "192.0.2.1", "192.0.2.2" };

/* model_charge - the model's charges for one admitted recipient */
static void
model_charge(struct model *m, int snd, int rc, int rcpt_no, time_t now)
{
	char key[PFL_BUDGET_KEY_SIZE];
	const struct mrule *r;
	const char *vals[2];
	size_t i, nv, j, k;

	for (i = 0; i < NMRULES; i++) {
		r = &mrules[i];
		if ((r->provider >= 0 && (int)rcpts[rc].p != r->provider) ||
		    (r->domain != NULL &&
			strstr(rcpts[rc].domain, r->domain) == NULL))
			continue;
		nv = 1;
		if (strcmp(r->scope, "sender") == 0)
			vals[0] = senders[snd].value;
		else if (strcmp(r->scope, "sender-domain") == 0)
			vals[0] = senders[snd].org;
		else if (strcmp(r->scope, "all") == 0)
			vals[0] = "*";
		else {
			vals[0] = egress[0];
			vals[1] = egress[1];
			nv = 2;
		}
		for (j = 0; j < nv; j++) {
			snprintf(key, sizeof(key), "pfl:b:%s:%s:%s:%s:%s",
			    r->target, r->scope, vals[j], r->wtext, r->unit);
			k = key_index(m, key, r);
			if (strcmp(r->unit, "msg") == 0 && pending_has(m, k))
				continue;
			assert_true(m->npend < 64);
			m->pkey[m->npend] = k;
			m->ptime[m->npend] = now;
			m->prcpt[m->npend++] = rcpt_no;
		}
	}
}

/* model_undo - forget the charges of the message's recipient rcpt_no */
static void
model_undo(struct model *m, int rcpt_no)
{
	size_t i, n = 0;

	for (i = 0; i < m->npend; i++)
		if (m->prcpt[i] != rcpt_no) {
			m->pkey[n] = m->pkey[i];
			m->ptime[n] = m->ptime[i];
			m->prcpt[n++] = m->prcpt[i];
		}
	m->npend = n;
}

/* model_commit - the message's charges become kept */
static void
model_commit(struct model *m)
{
	size_t i, k;

	for (i = 0; i < m->npend; i++) {
		k = m->pkey[i];
		m->kept[k] = realloc(
		    m->kept[k], (m->nkept[k] + 1) * sizeof(*m->kept[k]));
		assert_non_null(m->kept[k]);
		m->kept[k][m->nkept[k]++] = m->ptime[i];
	}
	m->npend = 0;
}

/*
 * check_refusal - a refusal by key at now is fair: the charges it counts
 * (kept or in flight, within the window plus one bucket) reach the limit
 */
static void
check_refusal(struct model *m, const char *key, time_t now)
{
	size_t k, i, n = 0;
	const struct mrule *r;
	time_t edge;

	for (k = 0; k < m->nkeys; k++)
		if (strcmp(m->keys[k], key) == 0)
			break;
	if (k == m->nkeys)
		fail_msg("refused by %s, which nothing charged", key);
	r = m->rule[k];
	edge = now - (time_t)r->window_s - (time_t)r->bucket_s;
	for (i = 0; i < m->nkept[k]; i++)
		n += m->kept[k][i] > edge;
	for (i = 0; i < m->npend; i++)
		n += m->pkey[i] == k && m->ptime[i] > edge;
	if (n < r->limit)
		fail_msg("%s refused at %lld with only %zu of %u counted", key,
		    (long long)now, n, r->limit);
}

/* by_time - qsort order of times */
static int
by_time(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * check_invariant - no closed window of length W holds more than N (the
 * recipients of a message come a second apart, so a message may reach
 * the store before an earlier one's last recipient: sort first)
 */
static void
check_invariant(struct model *m)
{
	size_t k, i, lo;

	for (k = 0; k < m->nkeys; k++) {
		qsort(m->kept[k], m->nkept[k], sizeof(time_t), by_time);
		for (i = 0, lo = 0; i < m->nkept[k]; i++) {
			while (m->kept[k][lo] <
			    m->kept[k][i] - (time_t)m->rule[k]->window_s)
				lo++;
			if (i - lo + 1 > m->rule[k]->limit)
				fail_msg("%s: %zu in the %us before %lld",
				    m->keys[k], i - lo + 1,
				    m->rule[k]->window_s,
				    (long long)m->kept[k][i]);
		}
	}
}

/* rnd - xorshift64 */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* gap - seconds to the next message: bursts, pauses, long quiet */
static time_t
gap(uint64_t *seed)
{
	unsigned x = (unsigned)(rnd(seed) % 100);

	if (x < 70)
		return (time_t)(rnd(seed) % 4);
	if (x < 95)
		return (time_t)(rnd(seed) % 61);
	return (time_t)(rnd(seed) % 1801);
}

/* run_traffic - nmsg random messages; returns recipients admitted */
static unsigned
run_traffic(uint64_t seed, int nmsg, unsigned *refused_r)
{
	struct pfl_budget_set *s = set_of(prop_config);
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct model *m = calloc(1, sizeof(*m));
	struct pfl_store *st = mem();
	time_t now = utc(2026, 3, 2, 0, 0, 0);
	struct pfl_budget_subject sj;
	struct pfl_budget_verdict v;
	unsigned admitted = 0;
	int i, j, nr, snd, rc;
	char err[256];
	size_t k;

	assert_non_null(m);
	*refused_r = 0;
	for (i = 0; i < nmsg; i++) {
		now += gap(&seed);
		snd = (int)(rnd(&seed) % 3);
		nr = 1 + (int)(rnd(&seed) % 3);
		for (j = 0; j < nr; j++) {
			rc = (int)(rnd(&seed) % 4);
			sj = subj(
			    senders[snd].from, rcpts[rc].domain, rcpts[rc].p);
			sj.auth_user = senders[snd].auth;
			sj.egress = egress;
			sj.negress = 2;
			switch (reserve(s, st, &sj, now + j, t, &v)) {
			case PFL_BUDGET_ADMIT:
				model_charge(m, snd, rc, j, now + j);
				if (rnd(&seed) % 20 == 0) {
					pfl_budget_unreserve_last(
					    t, err, sizeof(err));
					model_undo(m, j);
				} else
					admitted++;
				break;
			case PFL_BUDGET_OVER:
				check_refusal(m, v.key, now + j);
				++*refused_r;
				break;
			default:
				fail_msg("store: %s", v.error);
			}
		}
		if (rnd(&seed) % 7 == 0) {
			pfl_budget_release(t, err, sizeof(err));
			m->npend = 0;
		} else {
			pfl_budget_commit(t);
			model_commit(m);
		}
	}
	check_invariant(m);
	for (k = 0; k < m->nkeys; k++)
		free(m->kept[k]);
	free(m);
	pfl_budget_ticket_free(&t);
	pfl_store_close(&st);
	pfl_budget_set_free(&s);
	return admitted;
}

static void
test_invariant_random(void **state)
{
	static const uint64_t seeds[] = { 0x9e3779b97f4a7c15ULL, 42, 20260302 };
	unsigned admitted, refused;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		admitted = run_traffic(seeds[i], 4000, &refused);
		/* both sides of the budgets were exercised */
		assert_true(admitted > 1000);
		assert_true(refused > 500);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_budget_lines),
		cmocka_unit_test(test_budget_errors),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_key_values),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_several_budgets),
		cmocka_unit_test(test_release_gives_back),
		cmocka_unit_test(test_message_unit),
		cmocka_unit_test(test_egress_and_all),
		cmocka_unit_test(test_next_slot_text),
		cmocka_unit_test(test_store_failure),
		cmocka_unit_test(test_batch_all_or_none),
		cmocka_unit_test(test_per_message_cap),
		cmocka_unit_test(test_warmup_growth),
		cmocka_unit_test(test_bulk_threshold),
		cmocka_unit_test(test_duplicate_message_id),
		cmocka_unit_test(test_eom_count),
		cmocka_unit_test(test_invariant_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
