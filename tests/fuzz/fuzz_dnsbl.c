/*
 * fuzz_dnsbl - libFuzzer target: what a list's answer means
 * (pfl_dnsbl_classify)
 *
 * The lists come from fixed Dnsbl lines (one with listing codes and
 * labels, one taking any 127.0.0.0/8 code, one domain list). The first
 * input byte picks the list (bits 0-1), the answer's status (bits 2-4)
 * and its type (bit 5: AAAA records); the rest is the records, 4 bytes
 * (16 for AAAA) each.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns.h"
#include "dnsbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lists - the lists of the fixed config, made once */
static const struct pfl_dnsbl_set *
lists(void)
{
	static struct pfl_dnsbl_set *s;
	struct pfl_config *c;
	char *errors = NULL;

	if (s != NULL)
		return s;
	c = pfl_config_parse("fuzz.conf",
	    "DnsblResolver 127.0.0.1@1\n"
	    "Dnsbl zen.spamhaus.org ip providers=* "
	    "listed=127.0.0.2:SBL,127.0.0.4-127.0.0.7:XBL,127.0.0.10:PBL,"
	    "127.0.0.11:PBL\n"
	    "Dnsbl bl.test ip\n"
	    "Dnsbl dbl.test domain listed=127.0.1.2-127.0.1.99:spam\n",
	    &errors);
	if (c == NULL || (s = pfl_dnsbl_set_new(c, NULL, &errors)) == NULL ||
	    s->n != 3)
		abort();
	pfl_config_unref(c);
	return s;
}

/* check - what every classification must hold */
static void
check(const struct pfl_dnsbl_answer *r)
{
	if (memchr(r->code, '\0', sizeof(r->code)) == NULL ||
	    memchr(r->label, '\0', sizeof(r->label)) == NULL ||
	    memchr(r->why, '\0', sizeof(r->why)) == NULL)
		__builtin_trap();
	if (r->state == PFL_DNSBL_LISTED && r->code[0] == '\0')
		__builtin_trap();
	if (r->state > PFL_DNSBL_LISTED)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum pfl_dns_status st[] = { PFL_DNS_OK, PFL_DNS_OK,
		PFL_DNS_OK, PFL_DNS_OK, PFL_DNS_NOTFOUND, PFL_DNS_TEMPFAIL,
		PFL_DNS_PERMFAIL, PFL_DNS_OK };
	const struct pfl_dnsbl_set *s = lists();
	struct pfl_dnsbl_answer r;
	struct pfl_dns_answer *a;
	size_t i, w;
	bool v6;

	if (size == 0 || size > 4096)
		return 0;
	v6 = data[0] & 0x20;
	w = v6 ? 16 : 4;
	a = pfl_dns_answer_new(v6 ? 28 : 1, st[(data[0] >> 2) & 7]);
	a->ttl = (uint32_t)size * 37;
	if (data[0] & 0x40)
		a->nxdomain = true;
	for (i = 1; i + w <= size; i += w)
		pfl_dns_answer_add_addr(a, v6 ? AF_INET6 : AF_INET, data + i);
	memset(&r, 0xa5, sizeof(r));
	pfl_dnsbl_classify(&s->lists[(data[0] & 3) % s->n], a, &r);
	check(&r);
	pfl_dns_answer_free(&a);
	return 0;
}
