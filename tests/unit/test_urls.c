/*
 * test_urls - the link hosts of messages, through GMime's MIME parsing
 */
#include <autoconfig.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "urls.h"
#include "util.h"

static const struct pfl_urls_limits wide = { 1u << 20, 100, 100 };

/* The hosts found, joined by spaces, and the counts. */
struct got {
	char hosts[4096];
	size_t nhosts, nlinks;
	bool truncated;
};

/* extract_n - run pfl_urls_extract on len bytes of msg */
static struct got *
extract_n(struct got *g, const char *msg, size_t len,
    const struct pfl_urls_limits *lim)
{
	struct pfl_urls r;
	size_t i, n = 0;

	pfl_urls_extract(msg, len, lim, &r);
	g->hosts[0] = '\0';
	for (i = 0; i < r.nhosts; i++) {
		n += (size_t)snprintf(g->hosts + n, sizeof(g->hosts) - n,
		    "%s%s", i ? " " : "", r.hosts[i]);
		assert_true(n < sizeof(g->hosts));
	}
	g->nhosts = r.nhosts;
	g->nlinks = r.nlinks;
	g->truncated = r.truncated;
	pfl_urls_free(&r);
	assert_null(r.hosts);
	assert_int_equal(r.nhosts, 0);
	return g;
}

/* extract - the same on a string with the wide limits */
static struct got *
extract(struct got *g, const char *msg)
{
	return extract_n(g, msg, strlen(msg), &wide);
}

/* a URL in a plain message without MIME headers */
static void
test_plain(void **state)
{
	struct got g;

	extract(&g,
	    "From: a@example.com\r\nSubject: hi\r\n\r\n"
	    "Look at https://www.Example.COM/page?x=1 today.\r\n"
	    "Or (http://other.example.org).\r\n");
	assert_string_equal(g.hosts, "www.example.com other.example.org");
	assert_int_equal(g.nlinks, 2);
	assert_false(g.truncated);
}

/* a quoted-printable soft line break in the middle of the host */
static void
test_qp_soft_break(void **state)
{
	struct got g;

	extract(&g,
	    "From: a@example.com\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Go to https://split-ho=\r\nst.example/a=3Db now.\r\n");
	assert_string_equal(g.hosts, "split-host.example");
	/* the same with LF line ends */
	extract(&g,
	    "From: a@example.com\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "Go to https://split-ho=\nst.example/ now.\n");
	assert_string_equal(g.hosts, "split-host.example");
}

/* base64 HTML: the href's host lower-cased, without the root's dot */
static void
test_base64_html(void **state)
{
	struct got g;

	extract(&g,
	    "From: a@example.com\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "PGh0bWw+PGJvZHk+"
	    "PGEgaHJlZj0iaHR0cHM6Ly9FdmlsLkV4YW1wbGUuL3giPmxpbms8"
	    "L2E+PC9i\r\n"
	    "b2R5PjwvaHRtbD4NCg==\r\n");
	assert_string_equal(g.hosts, "evil.example");
	assert_int_equal(g.nlinks, 1); /* not once more as plain text */
}

/*
 * multipart/alternative inside multipart/mixed, a message/rfc822 part,
 * an attached text file; not the image nor the preamble
 */
static void
test_nested(void **state)
{
	struct got g;

	extract(&g,
	    "From: a@example.com\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	    "preamble http://preamble.example/\r\n"
	    "--outer\r\n"
	    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
	    "--inner\r\nContent-Type: text/plain\r\n\r\n"
	    "plain http://alt-plain.example/\r\n"
	    "--inner\r\nContent-Type: text/html\r\n\r\n"
	    "<p><a href='https://alt-html.example/'>x</a></p>\r\n"
	    "--inner--\r\n"
	    "--outer\r\nContent-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "aHR0cDovL2ltYWdlLmV4YW1wbGUv\r\n"
	    "--outer\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: b@example.net\r\nSubject: fwd\r\n\r\n"
	    "forwarded http://forwarded.example/\r\n"
	    "--outer\r\nContent-Type: text/plain\r\n"
	    "Content-Disposition: attachment; filename=a.txt\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "c2VlIGh0dHA6Ly9iNjQuZXhhbXBsZS8gaGVyZQ0K\r\n"
	    "--outer--\r\n");
	assert_string_equal(g.hosts,
	    "alt-plain.example alt-html.example forwarded.example b64.example");
	assert_false(g.truncated);
}

/* userinfo, port, case, trailing dot */
static void
test_userinfo_port(void **state)
{
	struct got g;

	extract(&g,
	    "Subject: x\n\n"
	    "http://user:pa:ss@Login.Bank.example:8443/x\n"
	    "https://a@b@real.example./?q=@fake.example\n"
	    "http://host.example:80#frag\n");
	assert_string_equal(
	    g.hosts, "login.bank.example real.example host.example");
}

/* scheme-relative and unquoted values; not data-href nor text */
static void
test_scheme_relative(void **state)
{
	struct got g;

	extract(&g,
	    "Content-Type: text/html\n\n"
	    "<img src=//cdn.example/i.png><a\n"
	    "HREF = \"//rel.example:81/p\">x</a>"
	    "<a href=//unq.example/p>y</a>"
	    "<a data-href=\"//no.example/\">z</a>"
	    "<a href=\"/local/path\">l</a>"
	    " see //text.example/\n");
	assert_string_equal(g.hosts, "cdn.example rel.example unq.example");
}

/* character references in href values */
static void
test_entities(void **state)
{
	struct got g;

	extract(&g,
	    "Content-Type: text/html\n\n"
	    "<a href=\"https:&#47;&#x2F;ent1.example/\">a</a>"
	    "<a href=\"&#104;ttps://ent2.example/\">b</a>"
	    "<a href=\"https://ent3&period;example&sol;x\">c</a>"
	    "<a href=\"http://x.example?a=1&amp;b=2\">d</a>"
	    "<a href=\"https://us&commat;ent4.example\">e</a>"
	    "<a href=\"https://&#233;vil.example/\">f</a>\n");
	assert_string_equal(g.hosts,
	    "ent1.example ent2.example ent3.example x.example "
	    "ent4.example");
	assert_int_equal(g.nlinks, 5);
}

/* repeats counted in nlinks, kept once; case and dot do not matter */
static void
test_dedupe(void **state)
{
	struct got g;

	extract(&g,
	    "Content-Type: text/html\n\n"
	    "http://one.example/ http://two.example/ HTTP://ONE.EXAMPLE./a "
	    "<a href=\"https://one.example/b\">https://two.example</a>\n");
	assert_string_equal(g.hosts, "one.example two.example");
	assert_int_equal(g.nlinks, 5);
	assert_false(g.truncated);
}

/* no IP literals, numeric last labels, single labels, odd bytes */
static void
test_not_hosts(void **state)
{
	struct got g;

	extract(&g,
	    "Subject: x\n\n"
	    "http://192.0.2.1/ http://[2001:db8::1]:80/ http://localhost/ "
	    "http://a.123/ http://x..example/ http://under_score.example/ "
	    "http://\xc3\xa9vil.example/ http://ok.123a/ "
	    "http://xn--bcher-kva.example/ http:// \n");
	assert_string_equal(g.hosts, "ok.123a xn--bcher-kva.example");
	assert_int_equal(g.nlinks, 2);
}

/* build_many - a message with n distinct link hosts, two links each */
static char *
build_many(size_t n, size_t *len_r)
{
	size_t cap = 64 + n * 80, len, i;
	char *msg = pfl_xmalloc(cap);

	len = (size_t)snprintf(msg, cap, "Subject: many\r\n\r\n");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(msg + len, cap - len,
		    "http://h%zu.example/ <https://H%zu.Example/again>\r\n", i,
		    i);
	assert_true(len < cap);
	*len_r = len;
	return msg;
}

/* max_hosts caps the list, not the count of links */
static void
test_max_hosts(void **state)
{
	struct pfl_urls_limits lim = { 1u << 20, 10, 20 };
	struct pfl_urls r;
	size_t len;
	char *msg = build_many(500, &len);

	pfl_urls_extract(msg, len, &lim, &r);
	assert_int_equal(r.nhosts, 20);
	assert_int_equal(r.nlinks, 1000);
	assert_true(r.truncated);
	assert_string_equal(r.hosts[0], "h0.example");
	assert_string_equal(r.hosts[19], "h19.example");
	pfl_urls_free(&r);
	lim.max_hosts = 500; /* all of them fit: the set grows */
	pfl_urls_extract(msg, len, &lim, &r);
	assert_int_equal(r.nhosts, 500);
	assert_int_equal(r.nlinks, 1000);
	assert_false(r.truncated);
	assert_string_equal(r.hosts[499], "h499.example");
	pfl_urls_free(&r);
	free(msg);
}

/* one link per host: nlinks is 500 */
static void
test_500_hosts(void **state)
{
	struct pfl_urls_limits lim = { 1u << 20, 10, 100 };
	char *msg = pfl_xmalloc(500 * 40 + 64);
	size_t len, i;
	struct got g;

	len = (size_t)sprintf(msg, "Subject: many\n\n");
	for (i = 0; i < 500; i++)
		len += (size_t)sprintf(msg + len, "https://d%zu.example/\n", i);
	extract_n(&g, msg, len, &lim);
	assert_int_equal(g.nhosts, 100);
	assert_int_equal(g.nlinks, 500);
	assert_true(g.truncated);
	free(msg);
}

/*
 * max_bytes bounds the decoded text, across parts (the first part's text
 * is 43 bytes: the line end before a boundary belongs to the boundary);
 * a link the limit cuts in two is left out
 */
static void
test_max_bytes(void **state)
{
	struct pfl_urls_limits lim = { 43 + 30, 10, 10 };
	static const char msg[] =
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\n"
	    "0123456789 http://first.example/ 0123456789\n"
	    "--b\nContent-Type: text/plain\n\n"
	    "http://second.example/ http://third.example/\n"
	    "--b--\n";
	static const char raw[] = "\x01 raw http://raw.example/";
	struct got g;

	extract_n(&g, msg, strlen(msg), &lim);
	assert_string_equal(g.hosts, "first.example second.example");
	assert_true(g.truncated);
	lim.max_bytes = 43 + 17; /* "http://second.exa" */
	extract_n(&g, msg, strlen(msg), &lim);
	assert_string_equal(g.hosts, "first.example");
	assert_true(g.truncated);
	lim.max_bytes = 43;
	extract_n(&g, msg, strlen(msg), &lim);
	assert_string_equal(g.hosts, "first.example");
	assert_true(g.truncated);
	lim.max_bytes = 43 + 44;
	extract_n(&g, msg, strlen(msg), &lim);
	assert_string_equal(
	    g.hosts, "first.example second.example third.example");
	assert_false(g.truncated);
	lim.max_bytes = 0;
	extract_n(&g, msg, strlen(msg), &lim);
	assert_int_equal(g.nhosts, 0);
	assert_true(g.truncated);
	/* the same limit on text read raw (GMime finds no header) */
	lim.max_bytes = 20;
	extract_n(&g, raw, strlen(raw), &lim);
	assert_int_equal(g.nhosts, 0);
	assert_true(g.truncated);
}

/* max_parts bounds the parts looked at (the multipart is one of them) */
static void
test_max_parts(void **state)
{
	struct pfl_urls_limits lim = { 1u << 20, 3, 10 };
	static const char msg[] =
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nhttp://p1.example/\n"
	    "--b\n\nhttp://p2.example/\n"
	    "--b\n\nhttp://p3.example/\n"
	    "--b--\n";
	struct got g;

	extract_n(&g, msg, strlen(msg), &lim);
	assert_string_equal(g.hosts, "p1.example p2.example");
	assert_true(g.truncated);
}

/* many empty parts: GMime sees only a bounded number of them */
static void
test_many_parts(void **state)
{
	struct pfl_urls_limits lim = { 1u << 20, 10, 10 };
	size_t n = 20000, cap = 100 + n * 8, len, i;
	char *msg = pfl_xmalloc(cap);
	struct got g;

	len = (size_t)sprintf(msg,
	    "MIME-Version: 1.0\nContent-Type: "
	    "multipart/mixed; boundary=b\n\n"
	    "--b\n\nhttp://first.example/\n");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(msg + len, "--b\n\nx\n");
	len +=
	    (size_t)sprintf(msg + len, "--b\n\nhttp://last.example/\n--b--\n");
	extract_n(&g, msg, len, &lim);
	assert_string_equal(g.hosts, "first.example");
	assert_true(g.truncated);
	free(msg);
}

/*
 * the cost of that bound: text with more lines starting with "--" than
 * 4 * max_parts + 64 is cut there too
 */
static void
test_dash_lines(void **state)
{
	struct pfl_urls_limits lim = { 1u << 20, 10, 10 };
	size_t cap = 4096, len, i;
	char *msg = pfl_xmalloc(cap);
	struct got g;

	len = (size_t)sprintf(msg, "Subject: x\n\nhttp://before.example/\n");
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(msg + len, "--\n");
	len += (size_t)sprintf(msg + len, "http://after.example/\n");
	extract_n(&g, msg, len, &lim);
	assert_string_equal(g.hosts, "before.example");
	assert_true(g.truncated);
	lim.max_parts = 50; /* 264 lines may pass */
	extract_n(&g, msg, len, &lim);
	assert_string_equal(g.hosts, "before.example after.example");
	assert_false(g.truncated);
	free(msg);
}

/* a multipart cut short, with no closing boundary */
static void
test_truncated_multipart(void **state)
{
	struct got g;

	extract(&g,
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"zz\"\r\n\r\n"
	    "--zz\r\nContent-Type: text/plain\r\n\r\n"
	    "first http://cut1.example/\r\n"
	    "--zz\r\nContent-Type: text/html\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<a href=3D\"https://cut2.example/\">and then noth");
	assert_string_equal(g.hosts, "cut1.example cut2.example");
	/* a header block cut in its middle */
	extract(&g, "Subject: x\r\nContent-Type: multipart/mixed; bound");
	assert_int_equal(g.nhosts, 0);
}

/* what GMime cannot take as a message is read raw */
static void
test_unparsable(void **state)
{
	struct got g;

	extract(&g,
	    "\x01\x02 no header line\n\n<a href=//raw.example/>"
	    " http://raw2.example\n");
	assert_string_equal(g.hosts, "raw.example raw2.example");
	extract(&g, "");
	assert_int_equal(g.nhosts, 0);
	assert_false(g.truncated);
}

/* base64 with a long run the decoder drops before the link */
static void
test_base64_junk(void **state)
{
	size_t cap = 20000, len, i;
	char *msg = pfl_xmalloc(cap);
	struct got g;

	len = (size_t)sprintf(msg,
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\n");
	for (i = 0; i < 12000; i++)
		msg[len++] = i % 70 == 69 ? '\n' : '*';
	len += (size_t)sprintf(
	    msg + len, "\nc2VlIGh0dHA6Ly9iNjQuZXhhbXBsZS8gaGVyZQ0K\n");
	extract_n(&g, msg, len, &wide);
	assert_string_equal(g.hosts, "b64.example");
	free(msg);
}

/* xorshift - a fixed stream of pseudo-random numbers */
static uint32_t
xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* random bytes, alone, with MIME-looking lines, as a body with a link */
static void
test_random_bytes(void **state)
{
	static const char *const pieces[] = { "\r\n", "--b\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n",
		"Content-Transfer-Encoding: base64\r\n", "=\r\n", "&#47;",
		" href=\"", "http://", "\r\n\r\n",
		"Content-Type: text/html\r\n" };
	size_t len = 65536, i, k;
	char *buf = pfl_xmalloc(len);
	uint32_t x = 2463534242u;
	struct got g;
	int round;

	for (round = 0; round < 40; round++) {
		for (i = 0; i < len; i++) {
			buf[i] = (char)xorshift(&x);
			if (round % 2 && buf[i] == 'Z') { /* some MIME noise */
				k = xorshift(&x) % 10;
				if (i + strlen(pieces[k]) < len) {
					memcpy(buf + i, pieces[k],
					    strlen(pieces[k]));
					i += strlen(pieces[k]) - 1;
				}
			}
		}
		extract_n(&g, buf, len, &wide);
		if (round % 2)
			continue;
		/* a random body of a plain message */
		memcpy(buf, "Subject: r\r\n\r\n", 14);
		memcpy(buf + 1000, " http://rnd.example/ ", 21);
		extract_n(&g, buf, len, &wide);
		assert_non_null(strstr(g.hosts, "rnd.example"));
	}
	free(buf);
}

static const char threaded_msg[] =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=t\r\n\r\n"
    "--t\r\nContent-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "http://one.example/ http://t=\r\nwo.example/\r\n"
    "--t\r\nContent-Type: text/html\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "PGEgaHJlZj0iLy90aHJlZS5leGFtcGxlIj4=\r\n"
    "--t--\r\n";

/* extract_many - extract threaded_msg over and over; the failures */
static void *
extract_many(void *arg)
{
	size_t *failures = arg, i;
	struct pfl_urls r;

	for (i = 0; i < 200; i++) {
		pfl_urls_extract(
		    threaded_msg, sizeof(threaded_msg) - 1, &wide, &r);
		if (r.nhosts != 3 || strcmp(r.hosts[0], "one.example") != 0 ||
		    strcmp(r.hosts[1], "two.example") != 0 ||
		    strcmp(r.hosts[2], "three.example") != 0)
			(*failures)++;
		pfl_urls_free(&r);
	}
	return NULL;
}

/* extractions at once in several threads, GMime started by the first */
static void
test_threads(void **state)
{
	pthread_t th[4];
	size_t failures[4] = { 0 };
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, extract_many, &failures[i]),
		    0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(failures[i], 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads), /* first: GMime not started */
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_qp_soft_break),
		cmocka_unit_test(test_base64_html),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_userinfo_port),
		cmocka_unit_test(test_scheme_relative),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_not_hosts),
		cmocka_unit_test(test_max_hosts),
		cmocka_unit_test(test_500_hosts),
		cmocka_unit_test(test_max_bytes),
		cmocka_unit_test(test_max_parts),
		cmocka_unit_test(test_many_parts),
		cmocka_unit_test(test_dash_lines),
		cmocka_unit_test(test_truncated_multipart),
		cmocka_unit_test(test_unparsable),
		cmocka_unit_test(test_base64_junk),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
