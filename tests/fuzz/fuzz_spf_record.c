/*
 * fuzz_spf_record - libFuzzer target: SPF records (pfl_spf_record_parse)
 * and macro-strings (pfl_spf_macro_expand, pfl_spf_domain_spec_ok)
 *
 * The input is one TXT record. When it is an SPF record it is parsed;
 * every domain-spec of the result is then expanded with a fixed
 * environment and fitted as a query name. The whole input is also
 * checked as a domain-spec and expanded as explanation text.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* validated - the p macro's name */
static const char *
validated(void *arg, const char *domain)
{
	(void)arg;
	(void)domain;
	return "mail.example.org";
}

static const unsigned char ip[16] = { 192, 0, 2, 1 };
static const struct pfl_spf_macro_env env = { "user+tag@example.org",
	"user+tag", "example.org", "example.org", "helo.example.org",
	"192.0.2.1", ip, true, "mx.example.net", 1700000000, validated, NULL };

/* expand - expand s[0..len) with env; a domain is fitted as a name */
static void
expand(const char *s, size_t len, bool exp_text)
{
	char err[128], *out = NULL;

	if (pfl_spf_macro_expand(
		&env, s, len, exp_text, &out, err, sizeof(err)) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		return;
	}
	if (out == NULL)
		__builtin_trap();
	if (!exp_text && pfl_spf_domain_fit(out) != NULL && strlen(out) > 253)
		__builtin_trap();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pfl_spf_record *rec = NULL;
	char err[128];
	size_t i;

	if (size > 8192)
		return 0;
	if (pfl_spf_domain_spec_ok(s, size, err, sizeof(err)))
		expand(s, size, false);
	expand(s, size, true);
	if (!pfl_spf_record_is_spf(s, size))
		return 0;
	if (pfl_spf_record_parse(s, size, &rec, err, sizeof(err)) != 0) {
		if (rec != NULL || memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		return 0;
	}
	for (i = 0; i < rec->count; i++) {
		const struct pfl_spf_term *t = &rec->terms[i];

		if (t->cidr4 > 32 || t->cidr6 > 128 || t->text == NULL)
			__builtin_trap();
		if (t->domain != NULL)
			expand(t->domain, strlen(t->domain), false);
	}
	if (rec->redirect != NULL)
		expand(rec->redirect, strlen(rec->redirect), false);
	if (rec->exp != NULL)
		expand(rec->exp, strlen(rec->exp), false);
	pfl_spf_record_free(&rec);
	return 0;
}
