/*
 * NAME
 *	stats - what the milter's own work costs: histograms, a stats line
 * DESCRIPTION
 *	Bucket b holds: b itself for b < 16; above, with m = b / 8 and
 *	s = b % 8, the values (8 + s) << (m - 1) up to the next bucket's
 *	start, a width of 1 << (m - 1). That is eight buckets per power of
 *	two, the layout of HdrHistogram with three significant bits.
 *	Counting is an index computation and an increment: cheap enough to
 *	run under a mutex once per message.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats.h"

#define SUB_BITS 3 /* eight buckets per power of two */
#define SUB      (1u << SUB_BITS)

/* msb - the index of the highest bit set; v > 0 */
static unsigned
msb(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

/* bucket - the bucket counting v */
static size_t
bucket(uint64_t v)
{
	unsigned m;
	size_t b;

	if (v < 2 * SUB)
		return (size_t)v;
	m = msb(v) - SUB_BITS;
	b = (size_t)m * SUB + (size_t)(v >> m);
	return b < PFL_HIST_BUCKETS ? b : PFL_HIST_BUCKETS - 1;
}

/* bucket_top - the largest value bucket b holds */
static uint64_t
bucket_top(size_t b)
{
	unsigned shift;

	if (b < 2 * SUB)
		return b;
	shift = (unsigned)(b / SUB) - 1;
	return ((uint64_t)(SUB + b % SUB + 1) << shift) - 1;
}

/* pfl_hist_add - count one value */
void
pfl_hist_add(struct pfl_hist *h, uint64_t v)
{
	h->count[bucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

/* pfl_hist_quantile - the upper end of the bucket of the q-quantile */
uint64_t
pfl_hist_quantile(const struct pfl_hist *h, double q)
{
	uint64_t rank, seen = 0, top;
	size_t b;

	if (h->n == 0)
		return 0;
	/* ceil(q * n), at least 1 */
	rank = (uint64_t)(q * (double)h->n);
	if ((double)rank < q * (double)h->n || rank < 1)
		rank++;
	for (b = 0; b < PFL_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			break;
	}
	/* the last bucket has no upper end */
	if (b >= PFL_HIST_BUCKETS - 1)
		return h->max;
	top = bucket_top(b);
	return top < h->max ? top : h->max;
}

/* pfl_stats_now - CLOCK_MONOTONIC in nanoseconds */
uint64_t
pfl_stats_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The current interval. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t start_ns;
	uint64_t messages;
	struct pfl_stats_lookups look;
	struct pfl_hist eom, total;
} cur;

/* pfl_stats_message - one decided message */
void
pfl_stats_message(uint64_t total_us, uint64_t eom_us)
{
	pthread_mutex_lock(&lock);
	cur.messages++;
	pfl_hist_add(&cur.eom, eom_us);
	pfl_hist_add(&cur.total, total_us);
	pthread_mutex_unlock(&lock);
}

/* pfl_stats_lookups - add the lookups made since the last call */
void
pfl_stats_lookups(const struct pfl_stats_lookups *d)
{
	pthread_mutex_lock(&lock);
	cur.look.dns_hits += d->dns_hits;
	cur.look.dns_misses += d->dns_misses;
	cur.look.key_hits += d->key_hits;
	cur.look.key_misses += d->key_misses;
	pthread_mutex_unlock(&lock);
}

/* pfl_stats_start - forget everything; the interval starts at now_ns */
void
pfl_stats_start(uint64_t now_ns)
{
	pthread_mutex_lock(&lock);
	memset(&cur, 0, sizeof(cur));
	cur.start_ns = now_ns;
	pthread_mutex_unlock(&lock);
}

/* pfl_stats_take - the interval as a line; a new interval */
bool
pfl_stats_take(uint64_t now_ns, bool force, char *buf, size_t n)
{
	double secs;
	bool any;

	pthread_mutex_lock(&lock);
	secs =
	    now_ns > cur.start_ns ? (double)(now_ns - cur.start_ns) / 1e9 : 0.0;
	any = cur.messages > 0 || force;
	if (any)
		snprintf(buf, n,
		    "stats: messages=%llu decisions/s=%.2f dns_hits=%lu "
		    "dns_misses=%lu dkim_key_hits=%lu dkim_key_misses=%lu "
		    "eom_us_p50=%llu eom_us_p99=%llu "
		    "total_us_p50=%llu total_us_p99=%llu interval_s=%.1f",
		    (unsigned long long)cur.messages,
		    secs > 0 ? (double)cur.messages / secs : 0.0,
		    cur.look.dns_hits, cur.look.dns_misses, cur.look.key_hits,
		    cur.look.key_misses,
		    (unsigned long long)pfl_hist_quantile(&cur.eom, 0.5),
		    (unsigned long long)pfl_hist_quantile(&cur.eom, 0.99),
		    (unsigned long long)pfl_hist_quantile(&cur.total, 0.5),
		    (unsigned long long)pfl_hist_quantile(&cur.total, 0.99),
		    secs);
	memset(&cur, 0, sizeof(cur));
	cur.start_ns = now_ns;
	pthread_mutex_unlock(&lock);
	return any;
}
