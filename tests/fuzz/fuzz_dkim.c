/*
 * fuzz_dkim - libFuzzer target: DKIM key records (pfl_dkim_keyrec_parse)
 * and DKIM-Signature fields as the verifier reads them (libopendkim's
 * tag parser, then ours: h=, a=, the result classes)
 *
 * The input is a key record, a NUL byte, then a message: header fields
 * one a line (a line starting with white space continues the field),
 * an empty line, the body. The key record is parsed on its own and is
 * also every TXT answer the verifier gets, whatever name it asks.
 * Without a NUL byte the whole input is a key record.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dkim.h"
#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *keytxt;
static size_t keylen;

/* query - every TXT name holds the input's key record */
static struct pfl_dns_answer *
query(void *ctx, const char *name, int rrtype)
{
	struct pfl_dns_answer *a = pfl_dns_answer_new(rrtype, PFL_DNS_OK);

	(void)ctx;
	(void)name;
	if (rrtype == 16 && keylen > 0)
		pfl_dns_answer_add_txt(a, keytxt, keylen);
	else
		a->status = PFL_DNS_NOTFOUND;
	return a;
}

/* answer_free - release an answer of query */
static void
answer_free(void *ctx, struct pfl_dns_answer *a)
{
	(void)ctx;
	pfl_dns_answer_free(&a);
}

/* fold_follows - does a continuation line start at s[i]? */
static int
fold_follows(const char *s, size_t i, size_t len)
{
	return i < len && (s[i] == ' ' || s[i] == '\t');
}

/* verify - run the message s[0..len) through a verifier */
static void
verify(struct pfl_dkim_lib *lib, const char *s, size_t len)
{
	struct pfl_arena *a = pfl_arena_new();
	struct pfl_dkim_verify *v = pfl_dkim_verify_new(lib, a, "fuzz");
	const struct pfl_dkim_sig *sigs;
	size_t i, start = 0, n;

	for (i = 0; i < len; i++) {
		if (s[i] != '\n' || fold_follows(s, i + 1, len))
			continue;
		if (i == start) { /* the empty line */
			start = i + 1;
			break;
		}
		pfl_dkim_verify_field(v, s + start, i - start);
		start = i + 1;
	}
	if (i == len && start < len) {
		pfl_dkim_verify_field(v, s + start, len - start);
		start = len;
	}
	if (pfl_dkim_verify_eoh(v) > 0)
		pfl_dkim_verify_body(
		    v, (const unsigned char *)s + start, len - start);
	pfl_dkim_verify_eom(v);
	n = pfl_dkim_verify_results(v, &sigs);
	for (i = 0; i < n; i++) {
		(void)pfl_dkim_result_name(sigs[i].result);
		(void)pfl_dkim_sig_covers(&sigs[i], "from");
	}
	(void)pfl_dkim_covered(
	    sigs, n, "from", "example.org", PFL_DKIM_ALIGN_RELAXED);
	if (n > 0)
		(void)pfl_dkim_aligned(
		    sigs[0].domain, "example.org", PFL_DKIM_ALIGN_STRICT);
	pfl_dkim_verify_free(&v);
	pfl_arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pfl_dkim_resolver res = { query, answer_free,
		NULL };
	static struct pfl_dkim_lib *lib;
	const char *s = (const char *)data, *nul;
	struct pfl_dkim_keyrec k;

	if (size > 65536)
		return 0;
	if (lib == NULL && (lib = pfl_dkim_lib_new_resolver(&res)) == NULL)
		abort();
	nul = memchr(s, '\0', size);
	keytxt = s;
	keylen = nul ? (size_t)(nul - s) : size;
	memset(&k, 0xa5, sizeof(k));
	if (pfl_dkim_keyrec_parse(keytxt, keylen, &k) != 0 &&
	    memchr(k.why, '\0', sizeof(k.why)) == NULL)
		__builtin_trap();
	if (nul != NULL)
		verify(lib, nul + 1, size - keylen - 1);
	return 0;
}
