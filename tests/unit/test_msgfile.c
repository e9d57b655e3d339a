/*
 * test_msgfile - a message file split as Postfix hands it to a milter
 * that asked for header values with their leading white space
 */
#include <autoconfig.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "msgfile.h"
#include "util.h"

/* What the walk called, as text: "H name|value\n", "E\n", "B body". */
struct rec {
	char text[1024];
	size_t len;
	bool want_body;
};

static void
add(struct rec *r, const char *a, const char *b, const char *c)
{
	r->len += (size_t)snprintf(
	    r->text + r->len, sizeof(r->text) - r->len, "%s%s%s", a, b, c);
	assert_true(r->len < sizeof(r->text));
}

static void
rec_header(void *arg, const char *name, const char *value)
{
	add(arg, "H ", name, "|");
	add(arg, value, "\n", "");
}

static bool
rec_eoh(void *arg)
{
	struct rec *r = arg;

	add(r, "E\n", "", "");
	return r->want_body;
}

static void
rec_body(void *arg, const unsigned char *buf, size_t len)
{
	char *s = pfl_xstrndup((const char *)buf, len);

	assert_int_equal(strlen(s), len);
	add(arg, "B ", s, "");
	free(s);
}

static const struct pfl_msgfile_ops ops = { rec_header, rec_eoh, rec_body };

/* walk - the record of walking msg */
static const char *
walk(struct rec *r, const char *msg)
{
	r->len = 0;
	r->text[0] = '\0';
	pfl_msgfile_walk(msg, strlen(msg), &ops, r);
	return r->text;
}

/* values keep every byte after the colon; names lose the space before it */
static void
test_values_as_written(void **state)
{
	struct rec r = { .want_body = true };

	(void)state;
	assert_string_equal(walk(&r,
				"From: a@example.org\n"
				"Subject:no space\n"
				"X-Two:  two spaces\n"
				"X-Tab:\ttab\n"
				"X-Sp : before colon\n"
				"X-Empty:\n"
				"X-Blank: \n"
				"X-Colon:: x\n"
				"\n"
				"body\n"),
	    "H From| a@example.org\n"
	    "H Subject|no space\n"
	    "H X-Two|  two spaces\n"
	    "H X-Tab|\ttab\n"
	    "H X-Sp| before colon\n"
	    "H X-Empty|\n"
	    "H X-Blank| \n"
	    "H X-Colon|: x\n"
	    "E\n"
	    "B body\n");
}

static void
test_folded_and_crlf(void **state)
{
	struct rec r = { .want_body = true };

	(void)state;
	assert_string_equal(walk(&r,
				"Subject: one\r\n"
				" two\r\n"
				"\tthree\r\n"
				"To: b@example.org\r\n"
				"\r\n"
				"line 1\r\n"
				"\r\n"
				"line 3\r\n"),
	    "H Subject| one\r\n two\r\n\tthree\n"
	    "H To| b@example.org\n"
	    "E\n"
	    "B line 1\r\n\r\nline 3\r\n");
}

static void
test_mbox_line_skipped(void **state)
{
	struct rec r = { .want_body = true };

	(void)state;
	assert_string_equal(walk(&r,
				"From a@example.org Mon Jan  1 00:00:00 2024\n"
				"From: a@example.org\n\nx\n"),
	    "H From| a@example.org\nE\nB x\n");
}

static void
test_non_field_starts_body(void **state)
{
	struct rec r = { .want_body = true };

	(void)state;
	assert_string_equal(walk(&r,
				"From: a@example.org\n"
				"not a field\n"
				"Subject: in the body\n"),
	    "H From| a@example.org\n"
	    "E\n"
	    "B not a field\nSubject: in the body\n");
	assert_string_equal(walk(&r, " folded first\nFrom: a\n"),
	    "E\nB  folded first\nFrom: a\n");
	assert_string_equal(walk(&r, ": no name\n"), "E\nB : no name\n");
}

static void
test_no_body(void **state)
{
	struct rec r = { .want_body = true };

	(void)state;
	assert_string_equal(
	    walk(&r, "From: a\nTo:b"), "H From| a\nH To|b\nE\n");
	assert_string_equal(walk(&r, "From: a\n\n"), "H From| a\nE\n");
	assert_string_equal(walk(&r, "From:"), "H From|\nE\n");
	assert_string_equal(walk(&r, ""), "E\n");
	r.want_body = false;
	assert_string_equal(walk(&r, "From: a\n\nbody\n"), "H From| a\nE\n");
}

static void
test_read(void **state)
{
	char path[] = "/tmp/test_msgfile.XXXXXX", *buf;
	size_t len = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "From: a\n\nx\n", 11), 11);
	buf = pfl_msgfile_read(path, &len);
	assert_non_null(buf);
	assert_int_equal(len, 11);
	assert_memory_equal(buf, "From: a\n\nx\n", 11);
	free(buf);
	/* one byte over the bound: refused, not cut */
	assert_int_equal(ftruncate(fd, (off_t)PFL_MSGFILE_MAX + 1), 0);
	errno = 0;
	assert_null(pfl_msgfile_read(path, &len));
	assert_int_equal(errno, EFBIG);
	close(fd);
	unlink(path);
	errno = 0;
	assert_null(pfl_msgfile_read(path, &len));
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_as_written),
		cmocka_unit_test(test_folded_and_crlf),
		cmocka_unit_test(test_mbox_line_skipped),
		cmocka_unit_test(test_non_field_starts_body),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
