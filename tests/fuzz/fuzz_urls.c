/*
 * fuzz_urls - libFuzzer target for pfl_urls_extract
 *
 * Built and run by tests/fuzz/run.sh (make fuzz). The limits are small
 * so that each input runs through all of them: a host list that fills,
 * a decoded-text budget that runs out, a part count that stops the walk.
 */
#include <autoconfig.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "urls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - what every result must hold */
static void
check(const struct pfl_urls *r, const struct pfl_urls_limits *lim)
{
	size_t i, n;

	if (r->nhosts > lim->max_hosts || r->nhosts > r->nlinks)
		__builtin_trap();
	for (i = 0; i < r->nhosts; i++) {
		n = strlen(r->hosts[i]);
		if (n == 0 || n > 253 || r->hosts[i][n - 1] == '.' ||
		    strchr(r->hosts[i], '.') == NULL)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pfl_urls_limits lim = { 4096, 16, 8 };
	struct pfl_urls r;

	pfl_urls_extract((const char *)data, size, &lim, &r);
	check(&r, &lim);
	pfl_urls_free(&r);
	return 0;
}
