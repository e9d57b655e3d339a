/*
 * test_stats - histograms, percentiles and the stats line
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stats.h"

/* lcg - a fixed pseudo-random sequence */
static uint64_t
lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/* cmp_u64 - qsort order */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* exact - the ceil(q*n)-th smallest of sorted v */
static uint64_t
exact(const uint64_t *v, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);

	if ((double)rank < q * (double)n || rank == 0)
		rank++;
	return v[rank - 1];
}

static void
test_empty(void **state)
{
	struct pfl_hist h = { 0 };

	assert_int_equal(pfl_hist_quantile(&h, 0.5), 0);
	assert_int_equal(pfl_hist_quantile(&h, 0.99), 0);
}

static void
test_small_values_exact(void **state)
{
	struct pfl_hist h = { 0 };
	uint64_t v;

	/* 0..15 have a bucket each: percentiles are exact */
	for (v = 0; v < 16; v++)
		pfl_hist_add(&h, v);
	assert_int_equal(h.n, 16);
	assert_int_equal(pfl_hist_quantile(&h, 0.5), 7);
	assert_int_equal(pfl_hist_quantile(&h, 0.25), 3);
	assert_int_equal(pfl_hist_quantile(&h, 1.0), 15);
	assert_int_equal(pfl_hist_quantile(&h, 0.01), 0);
}

static void
test_single_value(void **state)
{
	struct pfl_hist h = { 0 };

	/* one value: every percentile is that value, not its bucket's end */
	pfl_hist_add(&h, 1234);
	assert_int_equal(pfl_hist_quantile(&h, 0.5), 1234);
	assert_int_equal(pfl_hist_quantile(&h, 0.99), 1234);
}

static void
test_bucket_ends(void **state)
{
	struct pfl_hist h = { 0 };
	int i;

	/* 50 in bucket 48..51, 90 in 88..95, 100 the max */
	for (i = 1; i <= 100; i++)
		pfl_hist_add(&h, (uint64_t)i);
	assert_int_equal(pfl_hist_quantile(&h, 0.5), 51);
	assert_int_equal(pfl_hist_quantile(&h, 0.99), 100);
	assert_int_equal(pfl_hist_quantile(&h, 0.9), 95);
}

static void
test_bounded_error(void **state)
{
	static const double qs[] = { 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0 };
	size_t n = 20000, i, j, round;
	uint64_t *v = malloc(n * sizeof(*v)), x = 42, got, want;

	assert_non_null(v);
	for (round = 0; round < 4; round++) {
		struct pfl_hist h = { 0 };

		for (i = 0; i < n; i++) {
			/* wide ranges: microseconds up to about an hour */
			v[i] = lcg(&x) % ((uint64_t)1 << (8 + 8 * round));
			pfl_hist_add(&h, v[i]);
		}
		qsort(v, n, sizeof(*v), cmp_u64);
		for (j = 0; j < sizeof(qs) / sizeof(qs[0]); j++) {
			want = exact(v, n, qs[j]);
			got = pfl_hist_quantile(&h, qs[j]);
			/* never below, at most 1/8 above */
			assert_true(got >= want);
			assert_true(got <= want + want / 8);
		}
	}
	free(v);
}

static void
test_huge_values(void **state)
{
	struct pfl_hist h = { 0 };

	/* beyond the last bucket: counted there, reported as the max */
	pfl_hist_add(&h, UINT64_MAX);
	pfl_hist_add(&h, (uint64_t)1 << 40);
	pfl_hist_add(&h, 5);
	assert_int_equal(h.n, 3);
	assert_int_equal(pfl_hist_quantile(&h, 0.3), 5);
	assert_true(pfl_hist_quantile(&h, 0.5) == UINT64_MAX);
	assert_true(pfl_hist_quantile(&h, 1.0) == UINT64_MAX);
}

static void
test_stats_line(void **state)
{
	const uint64_t s = 1000000000ull;
	char buf[512];
	int i;

	pfl_stats_start(10 * s);
	for (i = 1; i <= 100; i++)
		pfl_stats_message((uint64_t)i * 10, (uint64_t)i);
	pfl_stats_lookups(&(struct pfl_stats_lookups){ 7, 3, 20, 1 });
	pfl_stats_lookups(&(struct pfl_stats_lookups){ 1, 2, 9, 0 });
	assert_true(pfl_stats_take(30 * s, false, buf, sizeof(buf)));
	assert_string_equal(buf,
	    "stats: messages=100 decisions/s=5.00 dns_hits=8 dns_misses=5 "
	    "dkim_key_hits=29 dkim_key_misses=1 eom_us_p50=51 eom_us_p99=100 "
	    "total_us_p50=511 "
	    "total_us_p99=1000 interval_s=20.0");

	/* the next interval starts empty: nothing to say unless forced */
	strcpy(buf, "untouched");
	pfl_stats_lookups(&(struct pfl_stats_lookups){ 4, 4, 4, 4 });
	assert_false(pfl_stats_take(90 * s, false, buf, sizeof(buf)));
	assert_string_equal(buf, "untouched");
	/* ... and the lookup counts went with that interval */
	assert_true(pfl_stats_take(100 * s, true, buf, sizeof(buf)));
	assert_string_equal(buf,
	    "stats: messages=0 decisions/s=0.00 dns_hits=0 dns_misses=0 "
	    "dkim_key_hits=0 dkim_key_misses=0 eom_us_p50=0 eom_us_p99=0 "
	    "total_us_p50=0 total_us_p99=0 "
	    "interval_s=10.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_single_value),
		cmocka_unit_test(test_bucket_ends),
		cmocka_unit_test(test_bounded_error),
		cmocka_unit_test(test_huge_values),
		cmocka_unit_test(test_stats_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
