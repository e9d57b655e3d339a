/*
 * fuzz_dns_packet - libFuzzer target: DNS replies (wire format) through
 * pfl_dns_packet_parse
 *
 * The first input byte picks the type asked (A, AAAA, TXT, MX, PTR,
 * CNAME); the rest is the reply. Each answer must be consistent (OK
 * only with records, though an error reply may carry some: a CNAME
 * before an NXDOMAIN; TXT lengths matching their strings, MX sorted,
 * names without a trailing dot) and survive pfl_dns_answer_copy.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* name_ok - a parsed host name: NUL-terminated, no trailing dot */
static void
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		__builtin_trap();
	if (n > 1024)
		__builtin_trap();
}

/* check - what every parsed answer must hold */
static void
check(const struct pfl_dns_answer *a, int rrtype)
{
	size_t i;

	if (a->rrtype != rrtype || memchr(a->why, '\0', sizeof(a->why)) == NULL)
		__builtin_trap();
	if (a->status == PFL_DNS_OK && a->count == 0)
		__builtin_trap();
	for (i = 0; i < a->count; i++) {
		switch (rrtype) {
		case 16:
			if (a->txt[i][a->txt_len[i]] != '\0')
				__builtin_trap();
			break;
		case 15:
			name_ok(a->mx[i].host);
			if (i > 0 && a->mx[i].pref < a->mx[i - 1].pref)
				__builtin_trap();
			break;
		case 12:
		case 5:
			name_ok(a->names[i]);
			break;
		case 1:
			if (a->addr[i].family != AF_INET)
				__builtin_trap();
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { 1, 28, 16, 15, 12, 5 };
	struct pfl_dns_answer *a, *b;
	int rrtype;

	if (size == 0)
		return 0;
	rrtype = types[data[0] % 6];
	a = pfl_dns_packet_parse(data + 1, size - 1, rrtype);
	check(a, rrtype);
	b = pfl_dns_answer_copy(a);
	check(b, rrtype);
	if (b->count != a->count || b->status != a->status)
		__builtin_trap();
	pfl_dns_answer_free(&a);
	pfl_dns_answer_free(&b);
	return 0;
}
