/*
 * fuzz_dmarc_record - libFuzzer target: DMARC records
 * (pfl_dmarc_record_select, pfl_dmarc_record_parse and what follows a
 * parse: usable, canon, policy_pick)
 *
 * The input is a TXT answer: records separated by NUL bytes. The one
 * record selected (or, with none selected, the first) is parsed; its
 * canonical form must parse again to the same policy tags.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXREC 16

/* check - what every parsed record must hold */
static void
check(const struct pfl_dmarc_record *r)
{
	if (r->pct > 100 || (r->adkim != 'r' && r->adkim != 's') ||
	    (r->aspf != 'r' && r->aspf != 's'))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt[MAXREC], *s = (const char *)data, *tag;
	size_t len[MAXREC], n = 0, start = 0, i;
	struct pfl_dmarc_record r, r2;
	char canon[256];
	int k;

	if (size > 8192)
		return 0;
	for (i = 0; i <= size && n < MAXREC; i++) {
		if (i == size || s[i] == '\0') {
			txt[n] = s + start;
			len[n++] = i - start;
			start = i + 1;
		}
	}
	k = pfl_dmarc_record_select(txt, len, n);
	if (k >= (int)n || k < -2)
		__builtin_trap();
	if (pfl_dmarc_record_parse(
		txt[k >= 0 ? k : 0], len[k >= 0 ? k : 0], &r) != 0) {
		if (k >= 0)
			__builtin_trap();
		return 0;
	}
	check(&r);
	if (!pfl_dmarc_record_usable(&r))
		return 0;
	(void)pfl_dmarc_policy_pick(
	    &r, data[0] & 1, data[0] & 2, data[0] & 4, &tag);
	(void)pfl_dmarc_policy_soften(r.p);
	pfl_dmarc_record_canon(&r, canon, sizeof(canon));
	if (memchr(canon, '\0', sizeof(canon)) == NULL)
		__builtin_trap();
	if (pfl_dmarc_record_parse(canon, strlen(canon), &r2) != 0)
		__builtin_trap();
	check(&r2);
	if (r2.p != r.p ||
	    (r.sp_state == PFL_DMARC_TAG_VALID && r2.sp != r.sp) ||
	    r2.adkim != r.adkim || r2.aspf != r.aspf || r2.pct != r.pct)
		__builtin_trap();
	return 0;
}
