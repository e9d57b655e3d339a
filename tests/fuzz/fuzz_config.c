/*
 * fuzz_config - libFuzzer target: config file text through
 * pfl_config_parse, then, for a config that parses, the Budget/Warmup/
 * SendingLimits lines (pfl_budget_set_new) and the Dnsbl lines
 * (pfl_dnsbl_set_new, without a Nameservers resolver)
 *
 * The input is the file's text. A line "DnsblResolver 127.0.0.1@1" goes
 * first so that a Dnsbl line gets a forwarder that is never asked
 * (nothing here queries; creating a resolver sends nothing).
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "dnsbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "DnsblResolver 127.0.0.1@1\n";
	struct pfl_budget_set *b;
	struct pfl_dnsbl_set *d;
	struct pfl_config *c;
	char *text, *errors = NULL;

	if (size > 65536)
		return 0;
	text = malloc(sizeof(head) + size);
	if (text == NULL)
		abort();
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, data, size);
	text[sizeof(head) - 1 + size] = '\0';
	c = pfl_config_parse("fuzz.conf", text, &errors);
	free(text);
	if (c == NULL) {
		if (errors == NULL)
			__builtin_trap();
		free(errors);
		return 0;
	}
	free(errors);
	errors = NULL;
	if ((b = pfl_budget_set_new(c, &errors)) == NULL && errors == NULL)
		__builtin_trap();
	pfl_budget_set_free(&b);
	free(errors);
	errors = NULL;
	if ((d = pfl_dnsbl_set_new(c, NULL, &errors)) == NULL && errors == NULL)
		__builtin_trap();
	pfl_dnsbl_set_free(&d);
	free(errors);
	pfl_config_unref(c);
	return 0;
}
