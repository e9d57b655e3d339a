/*
 * fuzz_headers - libFuzzer target: header fields through the conform
 * checks (conform.c and the rfc5322/rfc2047 parsers)
 *
 * The first input byte sets options (bit 0: SMTPUTF8, bit 1: no DKIM
 * signature, bit 2: a tiny MaxHeaderSize); the rest is split into
 * fields as a message's header section is: a line starting with white
 * space continues the field before it, the name ends at the first
 * colon. NUL bytes end a field (values are C strings).
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "conform.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* field - hand s[0..len) to the checker as one "name:value" field */
static void
field(struct pfl_conform *c, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t nlen = colon ? (size_t)(colon - s) : len;
	char *name = malloc(nlen + 1), *value;
	size_t vlen = colon ? len - nlen - 1 : 0;

	value = malloc(vlen + 1);
	if (name == NULL || value == NULL)
		abort();
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	memcpy(value, colon ? colon + 1 : "", vlen);
	value[vlen] = '\0';
	pfl_conform_header(c, name, value);
	free(name);
	free(value);
}

/* fold_follows - does a continuation line start at s[i]? */
static int
fold_follows(const char *s, size_t i, size_t len)
{
	return i < len && (s[i] == ' ' || s[i] == '\t');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const signed_h[] = { "from", "list-unsubscribe",
		"List-Unsubscribe-Post" };
	struct pfl_conform_opts o = { 0, false, PFL_ACT_REJECT, PFL_ACT_DEFER };
	struct pfl_finding f[PFL_MAX_FINDINGS];
	const char *s = (const char *)data + 1;
	struct pfl_arena *a;
	struct pfl_conform *c;
	size_t len, start = 0, i, n;

	if (size == 0)
		return 0;
	o.smtputf8 = data[0] & 1;
	o.max_header_bytes = data[0] & 4 ? 64 : 0;
	len = size - 1;
	a = pfl_arena_new();
	c = pfl_conform_new(a, &o);
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' ||
		    (s[i] == '\n' && !fold_follows(s, i + 1, len))) {
			field(c, s + start, i - start);
			start = i + 1;
		}
	}
	if (start < len)
		field(c, s + start, len - start);
	n = pfl_conform_message(c, f, PFL_MAX_FINDINGS);
	(void)pfl_conform_from_domain(c);
	(void)pfl_conform_bulk_marked(c);
	n += pfl_conform_unsubscribe(
	    c, data[0] & 2 ? NULL : signed_h, 3, f + n, PFL_MAX_FINDINGS - n);
	if (n > PFL_MAX_FINDINGS)
		abort();
	pfl_arena_free(&a);
	return 0;
}
