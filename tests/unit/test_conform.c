/*
 * test_conform - the header shapes Gmail refuses, and one-click
 * unsubscribe of bulk mail
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arena.h"
#include "conform.h"
#include "util.h"
#include "verdict.h"

/* A message Gmail takes; fields as written, "Name:value". */
static const char *const good[] = {
	"From: \"Alice Example\" <alice@example.com>",
	"To: bob@example.net",
	"Subject: Hello",
	"Date: Mon, 2 Jan 2006 15:04:05 +0000",
	"Message-ID: <20060102150405.123@example.com>",
	"MIME-Version: 1.0",
	"Content-Type: text/plain; charset=utf-8",
	NULL,
};

/* One judged message. */
struct run {
	struct pfl_arena *a;
	struct pfl_conform *c;
	struct pfl_finding f[PFL_MAX_FINDINGS];
	size_t n;
	unsigned found;
};

/* feed - one "Name:value" field */
static void
feed(struct pfl_conform *c, const char *field)
{
	const char *colon = strchr(field, ':');
	char *name;

	assert_non_null(colon);
	name = pfl_xstrndup(field, (size_t)(colon - field));
	pfl_conform_header(c, name, colon + 1);
	free(name);
}

/* same_name - do fields a and b have the same name? */
static bool
same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, ":");

	return strncmp(a, b, n) == 0 && b[n] == ':';
}

/* edit - what becomes of field g: itself, a replacement, or NULL */
static const char *
edit(const char *g, const char *const *edits, bool *used)
{
	size_t i;

	for (i = 0; edits != NULL && edits[i] != NULL; i++) {
		if (edits[i][0] == '-' && same_name(edits[i] + 1, g))
			return NULL;
		if (edits[i][0] != '-' && edits[i][0] != '+' && !used[i] &&
		    same_name(edits[i], g)) {
			used[i] = true;
			return edits[i];
		}
	}
	return g;
}

/* start - a fresh checker in r */
static void
start(struct run *r, bool utf8, size_t maxhdr)
{
	struct pfl_conform_opts o = { maxhdr, utf8, PFL_ACT_REJECT,
		PFL_ACT_DEFER, false };

	pfl_arena_free(&r->a);
	memset(r, 0, sizeof(*r));
	r->a = pfl_arena_new();
	r->c = pfl_conform_new(r->a, &o);
}

/* finish - the message findings of r */
static unsigned
finish(struct run *r)
{
	r->n = pfl_conform_message(r->c, r->f, PFL_MAX_FINDINGS);
	r->found = pfl_conform_found(r->c);
	return r->found;
}

/*
 * judge - the good message edited: "-Name" drops a field, "Name:v"
 * replaces the first field of that name (or is added), "+Name:v" is
 * added at the end; returns the rules that found something
 */
static unsigned
judge_opts(struct run *r, const char *const *edits, bool utf8, size_t maxhdr)
{
	bool used[32] = { false };
	const char *g;
	size_t i;

	start(r, utf8, maxhdr);
	for (i = 0; good[i] != NULL; i++)
		if ((g = edit(good[i], edits, used)) != NULL)
			feed(r->c, g);
	for (i = 0; edits != NULL && edits[i] != NULL; i++)
		if (edits[i][0] == '+')
			feed(r->c, edits[i] + 1);
		else if (edits[i][0] != '-' && !used[i])
			feed(r->c, edits[i]);
	return finish(r);
}

static unsigned
judge(struct run *r, const char *const *edits)
{
	return judge_opts(r, edits, false, 0);
}

/* judge1 - the good message with one edit */
static unsigned
judge1(struct run *r, const char *e)
{
	const char *edits[] = { e, NULL };

	return judge(r, edits);
}

/* finding - the finding of rule bit (findings come in rule order) */
static const struct pfl_finding *
finding(const struct run *r, unsigned bit)
{
	unsigned below = r->found & (bit - 1);
	size_t i = 0;

	assert_true(r->found & bit);
	for (; below != 0; below &= below - 1)
		i++;
	assert_true(i < r->n);
	return &r->f[i];
}

/* assert_reason - rule bit's finding says text */
#define assert_reason(r, bit, text)                                            \
	do {                                                                   \
		const struct pfl_finding *f_ = finding(r, bit);                \
		if (strstr(f_->reason, text) == NULL)                          \
			fail_msg(                                              \
			    "reason \"%s\" lacks \"%s\"", f_->reason, text);   \
	} while (0)

static void
done(struct run *r)
{
	pfl_arena_free(&r->a);
}

/* the good message, also folded and with leading white space: nothing */
static void
test_good_message(void **state)
{
	const char *folded[] = {
		"From:  \"Alice\r\n Example\" <alice@example.com>",
		"To: bob@example.net,\r\n\tcarol@example.org",
		"Subject: a long\n subject folded the way Postfix gives it",
		"Date: Mon, 2 Jan 2006\r\n 15:04:05 +0000",
		"Message-ID:\r\n <20060102150405.123@example.com>",
		"+Received: from a.example (a.example [192.0.2.1])\r\n\tby "
		"b.example with ESMTPS; Mon, 2 Jan 2006 15:04:05 +0000",
		"+Received: from c.example by a.example",
		"+X-Mailer: test",
		NULL,
	};
	struct run r = { 0 };

	assert_int_equal(judge(&r, NULL), 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "example.com");
	assert_false(pfl_conform_bulk_marked(r.c));

	assert_int_equal(judge(&r, folded), 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "example.com");
	done(&r);
}

/* a finding's words and codes: ours follow the configured action */
static void
test_finding_fields(void **state)
{
	struct pfl_conform_opts o = { 0, false, PFL_ACT_DEFER, PFL_ACT_DEFER,
		false };
	const struct pfl_finding *f;
	struct run r = { 0 };
	size_t i;

	assert_int_equal(judge1(&r, "+From: b@example.com"), PFL_CONFORM_FROM);
	assert_int_equal(r.n, 1);
	f = &r.f[0];
	assert_string_equal(f->check, "conform");
	assert_int_equal(f->outcome, PFL_OUT_REFUSE);
	assert_int_equal(f->action, PFL_ACT_REJECT);
	assert_string_equal(f->reply, "550 5.7.1");
	assert_string_equal(f->rcode, "550");
	assert_string_equal(f->xcode, "5.7.1");
	assert_string_equal(f->reason,
	    "Gmail would refuse this (550 5.7.1): the message has 2 From: "
	    "headers (RFC 5322 3.6)");
	assert_string_equal(f->fix, "keep one From: header");
	assert_null(pfl_conform_from_domain(r.c));

	/* an action short of reject gets a 4xx of the same family */
	start(&r, false, 0);
	r.c = pfl_conform_new(r.a, &o);
	for (i = 0; good[i] != NULL; i++)
		if (strncmp(good[i], "From:", 5) != 0)
			feed(r.c, good[i]);
	assert_int_equal(finish(&r), PFL_CONFORM_FROM);
	assert_int_equal(r.f[0].action, PFL_ACT_DEFER);
	assert_string_equal(r.f[0].rcode, "451");
	assert_string_equal(r.f[0].xcode, "4.7.1");
	assert_reason(&r, PFL_CONFORM_FROM, "has no From: header");
	done(&r);
}

/*
 * behind an MTA that adds a missing Date: and Message-ID:, only invalid
 * ones are findings
 */
static void
test_mta_adds_missing(void **state)
{
	struct pfl_conform_opts o = { 0, false, PFL_ACT_REJECT, PFL_ACT_DEFER,
		true };
	struct run r = { 0 };
	size_t i;

	(void)state;
	start(&r, false, 0);
	r.c = pfl_conform_new(r.a, &o);
	for (i = 0; good[i] != NULL; i++)
		if (strncmp(good[i], "Date:", 5) != 0 &&
		    strncmp(good[i], "Message-ID:", 11) != 0)
			feed(r.c, good[i]);
	assert_int_equal(finish(&r), 0);
	done(&r);
	start(&r, false, 0);
	r.c = pfl_conform_new(r.a, &o);
	for (i = 0; good[i] != NULL; i++)
		if (strncmp(good[i], "Message-ID:", 11) != 0)
			feed(r.c, good[i]);
	feed(r.c, "Message-ID: no-angle-brackets");
	assert_int_equal(finish(&r), PFL_CONFORM_MSGID);
	done(&r);
}

/* several addresses, or a group, in From: */
static void
test_from_addresses(void **state)
{
	struct run r = { 0 };

	assert_int_equal(judge1(&r, "From: alice@example.com, bob@example.com"),
	    PFL_CONFORM_FROM);
	assert_reason(&r, PFL_CONFORM_FROM, "From: has 2 addresses");
	assert_null(pfl_conform_from_domain(r.c));

	assert_int_equal(
	    judge1(&r, "From: Team: alice@example.com, bob@example.com;"),
	    PFL_CONFORM_FROM);
	assert_reason(&r, PFL_CONFORM_FROM, "is a group");

	assert_int_equal(judge1(&r, "From: undisclosed:;"), PFL_CONFORM_FROM);
	assert_reason(&r, PFL_CONFORM_FROM, "is a group");

	/* obsolete but valid: empty list elements, one mailbox */
	assert_int_equal(judge1(&r, "From: , alice@example.com ,"), 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "example.com");
	done(&r);
}

/* From: that does not parse */
static void
test_from_unparsable(void **state)
{
	static const char *const bad[] = {
		"From: <alice@example.com",
		"From: alice",
		"From: Alice Example",
		"From: \"Alice <alice@example.com>",
		"From: alice@example.com (Alice",
		"From: alice@@example.com",
		"From: alice.@example.com",
		"From: <>",
		"From: alice@example.com bob",
		"From: a@b.example (((((((((((((((((((((((((((((((((((((x)))))"
		"))))))))))))))))))))))))))))))))",
		"From: \x01@example.com",
		"From:",
	};
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (judge1(&r, bad[i]) != PFL_CONFORM_FROM)
			fail_msg("%s: found %#x", bad[i], r.found);
		assert_reason(&r, PFL_CONFORM_FROM, "cannot be parsed");
		assert_null(pfl_conform_from_domain(r.c));
	}
	assert_int_equal(judge1(&r, bad[9]), PFL_CONFORM_FROM);
	assert_reason(&r, PFL_CONFORM_FROM, "nested too deep");
	done(&r);
}

/* obsolete and unusual but valid From: forms */
static void
test_from_valid_forms(void **state)
{
	static const char *const ok[] = {
		"From: alice@example.com",
		"From: alice@EXAMPLE.com (Alice (the (first)))",
		"From: Alice <alice @ example . com>",
		"From: \"Alice \\\"A\\\" Example\" <alice@example.com>",
		"From: \"very.(),:;<>[]\\\".VERY.\\\"very@\\\\ "
		"\\\"very\\\".unusual\"@example.com",
		"From: <@relay.example:alice@example.com>",
		"From: Alice Q. Example <alice@example.com>",
		"From: alice+tag@sub.example.com",
		"From: alice@xn--bcher-kva.example",
	};
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (judge1(&r, ok[i]) != 0)
			fail_msg("%s: found %#x: %s", ok[i], r.found,
			    r.n ? r.f[0].reason : "");
	assert_int_equal(judge1(&r, ok[1]), 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "example.com");
	assert_int_equal(judge1(&r, ok[7]), 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "sub.example.com");
	done(&r);
}

/* a From: domain that is not a domain name */
static void
test_from_bad_domain(void **state)
{
	static const char *const bad[] = {
		"From: alice@localhost",
		"From: alice@-example.com",
		"From: alice@example-.com",
		"From: alice@exa_mple.com",
		"From: alice@example.123",
		"From: alice@[192.0.2.1]",
		"From: "
		"alice@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaa.example",
	};
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (judge1(&r, bad[i]) != PFL_CONFORM_FROM)
			fail_msg("%s: found %#x", bad[i], r.found);
		assert_reason(&r, PFL_CONFORM_FROM, "not a valid domain name");
		assert_null(pfl_conform_from_domain(r.c));
	}
	assert_int_equal(judge1(&r, bad[0]), PFL_CONFORM_FROM);
	assert_reason(&r, PFL_CONFORM_FROM,
	    "the From: domain localhost is not a valid domain name (a single "
	    "label)");
	done(&r);
}

/* Message-ID: missing, invalid; valid with CFWS around */
static void
test_message_id(void **state)
{
	static const char *const bad[] = {
		"Message-ID: 20060102.123@example.com",
		"Message-ID: <no-at-sign>",
		"Message-ID: <a@example.com> <b@example.com>",
		"Message-ID: <a@example.com",
		"Message-ID: <@example.com>",
		"Message-ID: <a@>",
		"Message-ID:",
		"Message-ID: <a b@example.com>",
	};
	static const char *const ok[] = {
		"Message-ID: (comment) <a.b.c@example.com> (another)",
		"Message-ID:\r\n\t<a@[192.0.2.1]>",
		"Message-ID: <\"quoted id\"@example.com>",
		"Message-ID: <a$b%c!d@host>",
	};
	struct run r = { 0 };
	size_t i;

	assert_int_equal(judge1(&r, "-Message-ID"), PFL_CONFORM_MSGID);
	assert_reason(&r, PFL_CONFORM_MSGID, "has no Message-ID: header");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (judge1(&r, bad[i]) != PFL_CONFORM_MSGID)
			fail_msg("%s: found %#x", bad[i], r.found);
		assert_reason(&r, PFL_CONFORM_MSGID, "not a valid msg-id");
	}
	assert_int_equal(judge1(&r, bad[1]), PFL_CONFORM_MSGID);
	assert_reason(&r, PFL_CONFORM_MSGID,
	    "Message-ID: <no-at-sign> is not a valid msg-id (no @ in it; RFC "
	    "5322 3.6.4)");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (judge1(&r, ok[i]) != 0)
			fail_msg("%s: found %#x", ok[i], r.found);
	done(&r);
}

/* Date: missing, unparsable; the obsolete forms pass */
static void
test_date(void **state)
{
	static const char *const bad[] = {
		"Date: yesterday",
		"Date: 2006-01-02T15:04:05Z",
		"Date: Mon 2 Jan 2006 15:04:05 +0000",
		"Date: 30 Feb 2024 15:04:05 +0000",
		"Date: 29 Feb 2023 15:04:05 +0000",
		"Date: 2 Jan 2006 24:00:00 +0000",
		"Date: 2 Jan 2006 15:60:00 +0000",
		"Date: 2 Jan 2006 15:04:05 +0075",
		"Date: 2 Jan 2006 15:04:05",
		"Date: 2 Jan 2006 15:04:05 +0000 extra",
		"Date: 2 Jan 1850 15:04:05 +0000",
		"Date: 2 January 2006 15:04:05 +0000",
		"Date: 2 Jan 2006 5:04:05 +0000",
		"Date: 2 Jan 2006 15:04:05 J",
		"Date: 2 Jan 2006 15:04:05 EUROPE",
		"Date: 2 Jan 2006 15:04:05 +01:00",
		"Date: Mon, 2 Jan 2006 15:04:05 (unterminated",
		"Date:",
	};
	static const char *const ok[] = {
		"Date: 2 Jan 06 15:04:05 GMT",
		"Date: Mon, 2 Jan 2006 15:04 +0100",
		"Date: 2 Jan 2006 15:04:05 -0800",
		"Date: Thu, 29 Feb 2024 23:59:60 EST",
		"Date: Mon, 02 Jan 2006 15:04:05 +0000 (UTC)",
		"Date: mon , 2 jan 2006 15 : 04 : 05 pdt",
		"Date: 2 Jan 106 15:04:05 Z",
		"Date: 2 Jan 2006 15:04:05 UT",
		"Date: 1 Mar 2000 00:00:00 a",
		"Date: Tue, 2 Jan 2024 10:00:00 UTC",
		"Date: Tue, 2 Jan 2024 10:00:00 CEST",
		"Date: Mon, 2 Jan 2006\r\n 15:04:05 +0000",
	};
	struct run r = { 0 };
	size_t i;

	assert_int_equal(judge1(&r, "-Date"), PFL_CONFORM_DATE);
	assert_reason(&r, PFL_CONFORM_DATE, "has no Date: header");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (judge1(&r, bad[i]) != PFL_CONFORM_DATE)
			fail_msg("%s: found %#x", bad[i], r.found);
		assert_reason(&r, PFL_CONFORM_DATE, "not an RFC 5322 date");
	}
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (judge1(&r, ok[i]) != 0)
			fail_msg("%s: found %#x: %s", ok[i], r.found,
			    r.n ? r.f[0].reason : "");
	done(&r);
}

/* single-instance fields twice; fields that may repeat do */
static void
test_duplicates(void **state)
{
	static const char *const names[] = { "Date", "Sender", "To", "Cc",
		"Bcc", "Subject", "Message-ID", "Reply-To", "In-Reply-To",
		"References" };
	const char *twice[] = { "+Subject: again", "+To: carol@example.org",
		"+To: dave@example.org", NULL };
	const char *fine[] = { "+Received: from a by b",
		"+Received: from c by d", "+X-Tag: 1", "+X-Tag: 2",
		"+Resent-To: x@example.com", "+Resent-To: y@example.com",
		NULL };
	char field[64];
	struct run r = { 0 };
	size_t i;

	assert_int_equal(judge(&r, twice), PFL_CONFORM_DUPLICATE);
	assert_int_equal(r.n, 1);
	/* the first repeated field is named, with its count */
	assert_reason(&r, PFL_CONFORM_DUPLICATE,
	    "the message has 2 Subject: headers (RFC 5322 3.6)");
	assert_string_equal(r.f[0].fix, "keep one Subject: header");

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *e[] = { field, field, NULL };

		snprintf(
		    field, sizeof(field), "+%s: <x@example.com>", names[i]);
		judge(&r, e);
		if (r.found != PFL_CONFORM_DUPLICATE)
			fail_msg("%s twice: found %#x", names[i], r.found);
	}
	/* Sender, Bcc, Reply-To... once: no finding */
	assert_int_equal(judge1(&r, "+Sender: x@example.com"), 0);
	assert_int_equal(judge(&r, fine), 0);
	/* From twice is the From rule's, not also a duplicate */
	assert_int_equal(judge1(&r, "+FROM: x@example.com"), PFL_CONFORM_FROM);
	done(&r);
}

/* malformed field names */
static void
test_field_names(void **state)
{
	static const char *const bad[] = { "Bad Name", "", "X-\x80", "X-\t",
		"X-A:B", "X-\x7f" };
	struct run r = { 0 };
	size_t i, k;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&r, false, 0);
		for (k = 0; good[k] != NULL; k++)
			feed(r.c, good[k]);
		pfl_conform_header(r.c, bad[i], " value");
		if (finish(&r) != PFL_CONFORM_FIELD)
			fail_msg("name %zu: found %#x", i, r.found);
	}
	assert_reason(&r, PFL_CONFORM_FIELD,
	    "the header field name X-? has a character RFC 5322 2.2 does "
	    "not allow");
	/* NULL name and value are an empty name, not a crash */
	start(&r, false, 0);
	pfl_conform_header(r.c, NULL, NULL);
	finish(&r);
	assert_true(r.found & PFL_CONFORM_FIELD);
	assert_reason(&r, PFL_CONFORM_FIELD, "empty name");
	done(&r);
}

/* CR and LF only as part of a fold; lines up to 998 octets */
static void
test_line_ends_and_lengths(void **state)
{
	static const char *const bad[] = {
		"X-A: a\rb",
		"X-A: a\nb",
		"X-A: a\r\nb",
		"X-A: a\r\n",
		"X-A: a\n",
		"X-A: a\r\r\n b",
	};
	static const char *const ok[] = {
		"X-A: a\r\n b",
		"X-A: a\n\tb",
		"X-A: a\r\n\t\r\n b",
	};
	char *line = pfl_xmalloc(2100);
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (judge1(&r, bad[i]) != PFL_CONFORM_FIELD)
			fail_msg("bad %zu: found %#x", i, r.found);
	assert_int_equal(judge1(&r, bad[0]), PFL_CONFORM_FIELD);
	assert_reason(&r, PFL_CONFORM_FIELD, "X-A: header has a bare CR");
	assert_int_equal(judge1(&r, bad[1]), PFL_CONFORM_FIELD);
	assert_reason(&r, PFL_CONFORM_FIELD, "line break that is not a fold");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (judge1(&r, ok[i]) != 0)
			fail_msg("ok %zu: found %#x", i, r.found);

	/* "X-A:" and 994 more octets: 998, the limit */
	memcpy(line, "+X-A:", 5);
	memset(line + 5, 'x', 994);
	line[999] = '\0';
	assert_int_equal(judge1(&r, line), 0);
	line[999] = 'x';
	line[1000] = '\0';
	assert_int_equal(judge1(&r, line), PFL_CONFORM_FIELD);
	assert_reason(&r, PFL_CONFORM_FIELD,
	    "a line of the X-A: header is over "
	    "998 octets");
	/* the same octets folded in two: fine; the second line too long: not */
	line[500] = '\n';
	line[501] = ' ';
	assert_int_equal(judge1(&r, line), 0);
	memset(line + 1000, 'x', 1000);
	line[2000] = '\0';
	assert_int_equal(judge1(&r, line), PFL_CONFORM_FIELD);
	free(line);
	done(&r);
}

/* encoded words where RFC 2047 5 allows them, well formed */
static void
test_encoded_words_allowed(void **state)
{
	static const char *const ok[] = {
		"Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=",
		"Subject: =?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=",
		"Subject: =?utf-8?q?a?==?utf-8?q?b?=",
		"Subject: =?utf-8?q?not an encoded word because of spaces?=",
		"From: =?UTF-8?Q?Al=C3=AFce?= <alice@example.com>",
		"From: alice@example.com (=?ISO-8859-1?Q?Andr=E9?=)",
		"To: =?utf-8?b?Qm9i?= <bob@example.net>",
		"Content-Type: application/pdf; "
		"name=\"=?UTF-8?B?UmVjaG51bmcucGRm?=\"",
		"+X-Anything: =?bogus?X?whatever?=",
		"+Received: from a (=?utf-8?q?x?=) by b",
		"+Comments: =?utf-8*en?q?hi?=",
	};
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (judge1(&r, ok[i]) != 0)
			fail_msg("%s: found %#x: %s", ok[i], r.found,
			    r.n ? r.f[0].reason : "");
	done(&r);
}

/* encoded words where they are not allowed, or malformed */
static void
test_encoded_words_refused(void **state)
{
	static const struct {
		const char *field, *why;
	} bad[] = {
		{ "From: \"=?UTF-8?Q?Alice?=\" <alice@example.com>",
		    "inside a quoted string" },
		{ "From: Alice <=?utf-8?q?alice?=@example.com>",
		    "inside an address" },
		{ "From: =?utf-8?q?alice?=@example.com", "inside an address" },
		{ "To: bob@=?utf-8?q?example?=.net", "inside an address" },
		{ "Message-ID: <=?utf-8?q?x?=@example.com>",
		    "in a field that allows none" },
		{ "+References: <a@b.example> =?utf-8?q?x?=",
		    "in a field that allows none" },
		{ "Content-Type: =?utf-8?q?text?=/plain",
		    "in a field that allows none" },
		{ "Subject: =?UTF-8?X?abc?=", "other than B or Q" },
		{ "Subject: =?UTF-8?BB?abc?=", "other than B or Q" },
		{ "Subject: =?UTF-8?B?SGVsbG8g!29ybGQ=?=", "not base64" },
		{ "Subject: =?UTF-8?Q?a?b?=", "a ? inside" },
		{ "Subject: =?utf/8?Q?abc?=", "bad charset" },
		{ "Subject: =?UTF-8?B?"
		  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		  "QUFB?=",
		    "longer than 75" },
	};
	struct run r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (judge1(&r, bad[i].field) != PFL_CONFORM_ENCWORD)
			fail_msg("%s: found %#x: %s", bad[i].field, r.found,
			    r.n ? r.f[0].reason : "");
		assert_reason(&r, PFL_CONFORM_ENCWORD, bad[i].why);
	}
	assert_int_equal(judge1(&r, bad[0].field), PFL_CONFORM_ENCWORD);
	assert_reason(&r, PFL_CONFORM_ENCWORD,
	    "the From: header has an encoded word inside a quoted string: "
	    "=?UTF-8?Q?Alice?= (RFC 2047 5)");
	/* a misplaced word in Date: is also a date that does not parse */
	assert_int_equal(
	    judge1(&r, "Date: =?utf-8?q?Mon?=, 2 Jan 2006 15:04:05 +0000"),
	    PFL_CONFORM_DATE | PFL_CONFORM_ENCWORD);
	done(&r);
}

/* raw 8-bit text: only with SMTPUTF8, and then valid UTF-8 */
static void
test_8bit(void **state)
{
	const char *utf8[] = { "Subject: Gr\xc3\xbc\xc3\x9f"
			       "e \xe2\x82\xac \xf0\x9f\x98\x80",
		"From: J\xc3\xb6rg <j\xc3\xb6rg@example.com>", NULL };
	static const char *const broken[] = {
		"Subject: \xc3\x28",
		"Subject: \xc0\xaf",
		"Subject: \xed\xa0\x80",
		"Subject: \xf4\x90\x80\x80",
		"Subject: \xe2\x82",
		"Subject: \xff",
	};
	struct run r = { 0 };
	size_t i;

	assert_int_equal(judge_opts(&r, utf8, false, 0), PFL_CONFORM_8BIT);
	assert_reason(&r, PFL_CONFORM_8BIT,
	    "the From: header has raw non-ASCII text, which needs SMTPUTF8");
	assert_int_equal(judge_opts(&r, utf8, true, 0), 0);
	assert_string_equal(pfl_conform_from_domain(r.c), "example.com");
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		const char *e[] = { broken[i], NULL };

		if (judge_opts(&r, e, true, 0) != PFL_CONFORM_8BIT)
			fail_msg("broken %zu: found %#x", i, r.found);
		assert_reason(&r, PFL_CONFORM_8BIT, "is not valid UTF-8");
	}
	done(&r);
}

/* the header section and single fields within Gmail's limits */
static void
test_sizes(void **state)
{
	char *big = pfl_xmalloc(40000);
	struct run r = { 0 };
	size_t i;

	/* a good message is about 250 octets */
	assert_int_equal(judge_opts(&r, NULL, false, 400), 0);
	assert_int_equal(judge_opts(&r, NULL, false, 100), PFL_CONFORM_SIZE);
	assert_string_equal(r.f[0].reply, "552 5.3.4");
	assert_string_equal(r.f[0].xcode, "5.3.4");
	assert_reason(&r, PFL_CONFORM_SIZE, "the header section is ");

	/* one field over 32 KB, folded into short lines */
	memcpy(big, "+X-Big:", 7);
	for (i = 7; i < 33000; i++)
		big[i] = i % 70 == 0 ? '\n' : i % 70 == 1 ? ' ' : 'x';
	big[i] = '\0';
	assert_int_equal(judge1(&r, big), PFL_CONFORM_SIZE);
	assert_reason(&r, PFL_CONFORM_SIZE, "the X-Big: header is ");
	/* To: may be longer */
	memcpy(big, "+To:   ", 7);
	assert_int_equal(judge1(&r, big), PFL_CONFORM_DUPLICATE);

	/* Message-ID: over 500 */
	memcpy(big, "Message-ID: <", 13);
	memset(big + 13, 'a', 490);
	memcpy(big + 503, "@example.com>", 14);
	assert_int_equal(judge1(&r, big), PFL_CONFORM_SIZE);
	big[400] = '\0';
	strcat(big, "@example.com>");
	assert_int_equal(judge1(&r, big), 0);

	/* more than 5000 fields */
	start(&r, false, 1u << 30);
	for (i = 0; good[i] != NULL; i++)
		feed(r.c, good[i]);
	for (i = 0; i < 5000; i++)
		feed(r.c, "X-Many: 1");
	assert_int_equal(finish(&r), PFL_CONFORM_SIZE);
	assert_reason(&r, PFL_CONFORM_SIZE, "5007 header fields");
	free(big);
	done(&r);
}

/* one finding per rule, naming the first case; max is respected */
static void
test_one_finding_per_rule(void **state)
{
	const char *many[] = { "-From", "-Date", "+X-A: a\nb", "+X-B: c\rd",
		"+Subject: again", "+To: again", "+Message-ID: <b@example.com>",
		NULL };
	struct run r = { 0 };
	size_t n;

	assert_int_equal(judge(&r, many),
	    PFL_CONFORM_FROM | PFL_CONFORM_DATE | PFL_CONFORM_DUPLICATE |
		PFL_CONFORM_FIELD);
	assert_int_equal(r.n, 4);
	assert_reason(&r, PFL_CONFORM_FIELD, "X-A:");
	assert_reason(&r, PFL_CONFORM_DUPLICATE, "2 Subject: headers");

	n = pfl_conform_message(r.c, r.f, 2);
	assert_int_equal(n, 2);
	assert_non_null(strstr(r.f[0].reason, "no From:"));
	assert_non_null(strstr(r.f[1].reason, "no Date:"));
	assert_int_equal(pfl_conform_message(r.c, r.f, 0), 0);
	done(&r);
}

/* Precedence: bulk or list, or List-Id:, mark bulk mail */
static void
test_bulk_marked(void **state)
{
	struct run r = { 0 };

	judge1(&r, "+Precedence: bulk");
	assert_true(pfl_conform_bulk_marked(r.c));
	judge1(&r, "+precedence:  List ");
	assert_true(pfl_conform_bulk_marked(r.c));
	judge1(&r, "+Precedence: junk");
	assert_false(pfl_conform_bulk_marked(r.c));
	judge1(&r, "+List-Id: News <news.example.com>");
	assert_true(pfl_conform_bulk_marked(r.c));
	assert_int_equal(r.found, 0);
	done(&r);
}

/* unsub - judge one-click with the given fields and signed names */
static unsigned
unsub(struct run *r, const char *lu, const char *post,
    const char *const *signed_h, size_t nsigned)
{
	size_t i;

	start(r, false, 0);
	for (i = 0; good[i] != NULL; i++)
		feed(r->c, good[i]);
	if (lu != NULL)
		pfl_conform_header(r->c, "List-Unsubscribe", lu);
	if (post != NULL)
		pfl_conform_header(r->c, "List-Unsubscribe-Post", post);
	assert_int_equal(pfl_conform_message(r->c, r->f, PFL_MAX_FINDINGS), 0);
	r->n = pfl_conform_unsubscribe(
	    r->c, signed_h, nsigned, r->f, PFL_MAX_FINDINGS);
	r->found = pfl_conform_found(r->c);
	return r->found;
}

#define LU                                                                     \
	" <mailto:unsub@example.com?subject=u>,\r\n <https://example.com/u/1>"
#define POST " List-Unsubscribe=One-Click"

/* both fields present, https, signed: nothing */
static void
test_unsub_signed(void **state)
{
	const char *h[] = { "from", "to", "subject", "LIST-UNSUBSCRIBE",
		"list-unsubscribe-post" };
	struct run r = { 0 };

	assert_int_equal(unsub(&r, LU, POST, h, 5), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(unsub(&r, " <https://example.com/u/1>",
			     "list-unsubscribe=One-Click", h, 5),
	    0);
	done(&r);
}

/* List-Unsubscribe-Post not signed (OpenDKIM's default list) */
static void
test_unsub_post_unsigned(void **state)
{
	const char *h[] = { "from", "to", "subject", "list-unsubscribe" };
	struct run r = { 0 };

	assert_int_equal(unsub(&r, LU, POST, h, 4), PFL_CONFORM_UNSUB_SIGN);
	assert_int_equal(r.n, 1);
	assert_reason(&r, PFL_CONFORM_UNSUB_SIGN,
	    "does not cover List-Unsubscribe-Post:");
	/* the one-click findings take their own action: defer here */
	assert_int_equal(r.f[0].action, PFL_ACT_DEFER);
	assert_string_equal(r.f[0].rcode, "451");
	assert_string_equal(r.f[0].xcode, "4.7.1");
	assert_string_equal(r.f[0].reply, "550 5.7.1");
	assert_int_equal(r.f[0].outcome, PFL_OUT_REFUSE);
	assert_non_null(strstr(r.f[0].fix, "SignHeaders"));
	/* and List-Unsubscribe itself not signed */
	assert_int_equal(unsub(&r, LU, POST, h, 3), PFL_CONFORM_UNSUB_SIGN);
	assert_reason(
	    &r, PFL_CONFORM_UNSUB_SIGN, "does not cover List-Unsubscribe: ");
	done(&r);
}

/* mailto: only is not one-click */
static void
test_unsub_mailto_only(void **state)
{
	const char *h[] = { "list-unsubscribe", "list-unsubscribe-post" };
	struct run r = { 0 };

	assert_int_equal(unsub(&r, " <mailto:unsub@example.com>", POST, h, 2),
	    PFL_CONFORM_UNSUB);
	assert_reason(&r, PFL_CONFORM_UNSUB,
	    "List-Unsubscribe: <mailto:unsub@example.com> has no https URI");
	/* http is not https; a bare URI is not in <> */
	assert_int_equal(unsub(&r, " <http://example.com/u>", POST, h, 2),
	    PFL_CONFORM_UNSUB);
	assert_int_equal(
	    unsub(&r, " https://example.com/u", POST, h, 2), PFL_CONFORM_UNSUB);
	assert_int_equal(
	    unsub(&r, " <https://", POST, h, 2), PFL_CONFORM_UNSUB);
	done(&r);
}

/* no DKIM signature at all */
static void
test_unsub_no_signature(void **state)
{
	struct run r = { 0 };

	assert_int_equal(unsub(&r, LU, POST, NULL, 0), PFL_CONFORM_UNSUB_SIGN);
	assert_reason(&r, PFL_CONFORM_UNSUB_SIGN, "no DKIM signature covers");
	done(&r);
}

/* fields missing or List-Unsubscribe-Post not One-Click */
static void
test_unsub_missing_or_wrong(void **state)
{
	const char *h[] = { "list-unsubscribe", "list-unsubscribe-post" };
	struct run r = { 0 };

	/* nothing at all: two findings, none about signing absent fields */
	assert_int_equal(unsub(&r, NULL, NULL, NULL, 0),
	    PFL_CONFORM_UNSUB | PFL_CONFORM_UNSUB_POST);
	assert_int_equal(r.n, 2);
	assert_reason(&r, PFL_CONFORM_UNSUB, "without a List-Unsubscribe:");
	assert_reason(
	    &r, PFL_CONFORM_UNSUB_POST, "without a List-Unsubscribe-Post:");
	assert_int_equal(unsub(&r, LU, NULL, h, 2), PFL_CONFORM_UNSUB_POST);
	assert_int_equal(unsub(&r, LU, " List-Unsubscribe=one-click", h, 2),
	    PFL_CONFORM_UNSUB_POST);
	assert_reason(&r, PFL_CONFORM_UNSUB_POST,
	    "List-Unsubscribe-Post: List-Unsubscribe=one-click is not "
	    "List-Unsubscribe=One-Click");
	assert_int_equal(
	    unsub(&r, LU, " One-Click", h, 2), PFL_CONFORM_UNSUB_POST);
	assert_int_equal(
	    unsub(&r, LU, " List-Unsubscribe=One-Click; x=y", h, 2),
	    PFL_CONFORM_UNSUB_POST);
	done(&r);
}

/* hostile values end, and quickly */
static void
test_hostile(void **state)
{
	size_t len = 300000, i;
	char *v = pfl_xmalloc(len + 1);
	struct run r = { 0 };

	for (i = 0; i < len; i++)
		v[i] = "=?a?q"[i % 5];
	v[len] = '\0';
	start(&r, false, 0);
	pfl_conform_header(r.c, "Subject", v);
	pfl_conform_header(r.c, "From", v);
	pfl_conform_header(r.c, "Content-Type", v);
	memset(v, '(', len);
	pfl_conform_header(r.c, "Date", v);
	pfl_conform_header(r.c, "Message-ID", v);
	pfl_conform_header(r.c, "To", v);
	memset(v, '"', len);
	pfl_conform_header(r.c, "Cc", v);
	finish(&r);
	assert_true(r.found & PFL_CONFORM_FIELD);
	assert_true(r.found & PFL_CONFORM_FROM);
	free(v);
	done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_message),
		cmocka_unit_test(test_finding_fields),
		cmocka_unit_test(test_mta_adds_missing),
		cmocka_unit_test(test_from_addresses),
		cmocka_unit_test(test_from_unparsable),
		cmocka_unit_test(test_from_valid_forms),
		cmocka_unit_test(test_from_bad_domain),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_line_ends_and_lengths),
		cmocka_unit_test(test_encoded_words_allowed),
		cmocka_unit_test(test_encoded_words_refused),
		cmocka_unit_test(test_8bit),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_one_finding_per_rule),
		cmocka_unit_test(test_bulk_marked),
		cmocka_unit_test(test_unsub_signed),
		cmocka_unit_test(test_unsub_post_unsigned),
		cmocka_unit_test(test_unsub_mailto_only),
		cmocka_unit_test(test_unsub_no_signature),
		cmocka_unit_test(test_unsub_missing_or_wrong),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
