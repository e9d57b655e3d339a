/*
 * NAME
 *	dns_cache 3h - answers kept for their TTL (private to dns)
 * DESCRIPTION
 *	A bounded table of answers keyed by (name, type), names compared
 *	without case and without a trailing dot. When full, the least
 *	recently used entry goes. Only OK and NOTFOUND answers with a TTL
 *	are kept; TTLs are capped (PFL_DNS_CACHE_MAX_TTL, _MAX_NEG_TTL).
 *	Time is passed in (monotonic seconds) so tests can move it.
 * THREAD SAFETY
 *	All functions may be called from any thread (one mutex inside).
 */
#ifndef PFL_DNS_CACHE_H
#define PFL_DNS_CACHE_H

#include <stddef.h>
#include <time.h>

#include "dns.h"

#define PFL_DNS_CACHE_MAX_TTL     3600u /* positive answers */
#define PFL_DNS_CACHE_MAX_NEG_TTL 600u  /* NXDOMAIN and NODATA */

struct pfl_dns_cache;

/* pfl_dns_cache_new - a cache of at most max_entries answers */
struct pfl_dns_cache *pfl_dns_cache_new(size_t max_entries);

/* pfl_dns_cache_free - free the cache and its answers; NULLs *cp */
void pfl_dns_cache_free(struct pfl_dns_cache **cp);

/*
 * pfl_dns_cache_get - a copy of the cached answer (ttl lowered by the
 * time it spent here; caller frees), or NULL. Counts a hit or a miss.
 */
struct pfl_dns_answer *pfl_dns_cache_get(
    struct pfl_dns_cache *, const char *name, int rrtype, time_t now);

/* pfl_dns_cache_put - keep a copy of an answer, if it may be kept */
void pfl_dns_cache_put(struct pfl_dns_cache *, const char *name,
    const struct pfl_dns_answer *, time_t now);

/* pfl_dns_cache_stats - hits and misses counted so far; entries held */
void pfl_dns_cache_stats(struct pfl_dns_cache *, unsigned long *hits_r,
    unsigned long *misses_r, size_t *entries_r);

#endif
