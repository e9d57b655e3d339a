/*
 * NAME
 *	stats 3h - what the milter's own work costs: histograms, a stats line
 * DESCRIPTION
 *	A histogram keeps counts in a fixed number of buckets: exact below
 *	16, then eight buckets per power of two, so a percentile it gives is
 *	at most 1/8 above the true one and never below it. Values past the
 *	last bucket's start (about 71 minutes in microseconds) count in the
 *	last, whose percentiles are the largest value counted.
 *
 *	The process-wide statistics gather, over an interval, the messages
 *	decided, their time in the milter, the DNS lookups made and the
 *	DKIM keys decoded or found decoded; the
 *	daemon takes them as one line every minute and at exit, which
 *	starts the next interval. Memory is fixed: no per-message storage.
 * THREAD SAFETY
 *	A struct pfl_hist is the caller's to guard. The pfl_stats_*
 *	functions may be called from any thread (one mutex).
 */
#ifndef PFL_STATS_H
#define PFL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFL_HIST_BUCKETS 240

/* A histogram of non-negative values (microseconds here). */
struct pfl_hist {
	uint64_t n;                       /* values counted */
	uint64_t max;                     /* the largest value counted */
	uint64_t count[PFL_HIST_BUCKETS]; /* values per bucket */
};

/* pfl_hist_add - count one value */
void pfl_hist_add(struct pfl_hist *, uint64_t v);

/*
 * pfl_hist_quantile - the q-quantile (0 < q <= 1; 0.5 the median, 0.99
 * the 99th percentile): the upper end of the bucket holding the
 * ceil(q*n)-th smallest value, never more than the largest value
 * counted. 0 for an empty histogram.
 */
uint64_t pfl_hist_quantile(const struct pfl_hist *, double q);

/* pfl_stats_now - CLOCK_MONOTONIC in nanoseconds */
uint64_t pfl_stats_now(void);

/* pfl_stats_message - one decided message: its time in the milter (us) */
void pfl_stats_message(uint64_t total_us, uint64_t eom_us);

/* Lookups answered from a cache, and not. */
struct pfl_stats_lookups {
	unsigned long dns_hits, dns_misses; /* DNS (dns.h) */
	unsigned long key_hits, key_misses; /* DKIM keys decoded (dkim.h) */
};

/* pfl_stats_lookups - add the lookups made since the last call */
void pfl_stats_lookups(const struct pfl_stats_lookups *);

/* pfl_stats_start - forget everything; the interval starts at now_ns */
void pfl_stats_start(uint64_t now_ns);

/*
 * pfl_stats_take - the interval up to now_ns as "stats: messages=N
 * decisions/s=R dns_hits=H dns_misses=M dkim_key_hits=K
 * dkim_key_misses=L eom_us_p50=.. eom_us_p99=..
 * total_us_p50=.. total_us_p99=.. interval_s=S" into buf (size n), and
 * a new interval from now_ns. Returns false, and writes nothing, when
 * no message was decided in the interval unless force is set; the
 * interval starts again either way.
 */
bool pfl_stats_take(uint64_t now_ns, bool force, char *buf, size_t n);

#endif
