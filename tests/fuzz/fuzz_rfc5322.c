/*
 * fuzz_rfc5322 - libFuzzer target: the RFC 5322 field parsers on their
 * own: address lists (From:, To:...), msg-id, date-time, host names,
 * and the RFC 2047 encoded-word scan
 *
 * The first input byte picks the parser (and, for the encoded-word
 * scan, the context); the rest is the field value.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc5322.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* addresses - an address list; the result must be consistent */
static void
addresses(const char *s, size_t len)
{
	struct pfl_rfc5322_addrs r;

	memset(&r, 0xa5, sizeof(r));
	if (pfl_rfc5322_addresses(s, len, &r) != NULL)
		return;
	if (memchr(r.domain, '\0', sizeof(r.domain)) == NULL)
		__builtin_trap();
	if (r.nmailbox == 0 && r.domain[0] != '\0')
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	enum pfl_rfc2047_where where;
	char *z, why[128];
	size_t len;

	if (size == 0 || size > 65536)
		return 0;
	len = size - 1;
	switch (data[0] % 5) {
	case 0:
		addresses(s, len);
		break;
	case 1:
		(void)pfl_rfc5322_msgid(s, len);
		break;
	case 2:
		(void)pfl_rfc5322_date(s, len);
		break;
	case 3:
		if ((z = malloc(len + 1)) == NULL)
			abort();
		memcpy(z, s, len);
		z[len] = '\0';
		(void)pfl_rfc5322_domain(z);
		free(z);
		break;
	default:
		where = (enum pfl_rfc2047_where)(data[0] / 5 % 4);
		memset(why, 0xa5, sizeof(why));
		if (pfl_rfc2047_scan(s, len, where, why, sizeof(why)) != NULL &&
		    memchr(why, '\0', sizeof(why)) == NULL)
			__builtin_trap();
		break;
	}
	return 0;
}
