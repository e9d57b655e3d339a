/*
 * test_dkim_keycache - the decoded-key cache in front of OpenSSL's
 * d2i_PUBKEY_bio: hits by exact bytes, the BIO read as OpenSSL would,
 * keys that do not decode, what is passed through, eviction, threads.
 * The keys are fresh EC P-256 keys (quick to make); libopendkim's own
 * use is in test_dkim.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim.h"

#define KEPT  32 /* keys the cache keeps */
#define NKEYS 40 /* more than that */

struct der {
	unsigned char *p;
	int len;
};

static struct der ders[NKEYS];

/* make_keys - NKEYS public keys as DER, as a key record's p= holds */
static int
make_keys(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NKEYS; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");

		if (k == NULL)
			return -1;
		ders[i].p = NULL;
		ders[i].len = i2d_PUBKEY(k, &ders[i].p);
		EVP_PKEY_free(k);
		if (ders[i].len <= 0)
			return -1;
	}
	return 0;
}

static int
free_keys(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NKEYS; i++)
		OPENSSL_free(ders[i].p);
	pfl_dkim_keycache_clear();
	return 0;
}

/* decode - d2i_PUBKEY_bio over a memory BIO of der plus extra bytes */
static EVP_PKEY *
decode(const unsigned char *der, int len, const char *extra, int *left_r)
{
	unsigned char buf[600];
	int n = len + (int)strlen(extra);
	EVP_PKEY *k;
	BIO *b;

	assert_true(n <= (int)sizeof(buf));
	memcpy(buf, der, (size_t)len);
	memcpy(buf + len, extra, strlen(extra));
	b = BIO_new_mem_buf(buf, n);
	assert_non_null(b);
	k = d2i_PUBKEY_bio(b, NULL);
	*left_r = (int)BIO_pending(b);
	BIO_free(b);
	return k;
}

/* same_key - the two keys are the same public key */
static bool
same_key(EVP_PKEY *a, const struct der *d)
{
	unsigned char *p = NULL;
	int n = i2d_PUBKEY(a, &p);
	bool same = n == d->len && memcmp(p, d->p, (size_t)n) == 0;

	OPENSSL_free(p);
	return same;
}

/* use - decode key i and let it go */
static void
use(int i)
{
	EVP_PKEY *k;
	int left;

	k = decode(ders[i].p, ders[i].len, "", &left);
	assert_non_null(k);
	assert_true(same_key(k, &ders[i]));
	EVP_PKEY_free(k);
}

/* The counts go on across a clear: a test counts from its own start. */
static unsigned long base_hits, base_misses;

/* reset - an empty cache, and the counts from here */
static void
reset(void)
{
	pfl_dkim_keycache_clear();
	pfl_dkim_keycache_stats(&base_hits, &base_misses);
}

/* counts - the hits and misses since reset */
static void
counts(unsigned long want_hits, unsigned long want_misses)
{
	unsigned long hits, misses;

	pfl_dkim_keycache_stats(&hits, &misses);
	assert_int_equal(hits - base_hits, want_hits);
	assert_int_equal(misses - base_misses, want_misses);
}

static void
test_hit_by_bytes(void **state)
{
	EVP_PKEY *k1, *k2, *k3;
	int left;

	(void)state;
	reset();
	k1 = decode(ders[0].p, ders[0].len, "", &left);
	assert_non_null(k1);
	assert_int_equal(left, 0);
	assert_true(same_key(k1, &ders[0]));
	counts(0, 1);
	/* the same bytes: the same key object, one more reference */
	k2 = decode(ders[0].p, ders[0].len, "", &left);
	assert_ptr_equal(k2, k1);
	assert_int_equal(left, 0);
	counts(1, 1);
	/* other bytes: another key */
	k3 = decode(ders[1].p, ders[1].len, "", &left);
	assert_non_null(k3);
	assert_ptr_not_equal(k3, k1);
	assert_true(same_key(k3, &ders[1]));
	counts(1, 2);
	/* each reference is the caller's to free; the cache keeps its own */
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	k1 = decode(ders[0].p, ders[0].len, "", &left);
	assert_true(same_key(k1, &ders[0]));
	EVP_PKEY_free(k1);
	counts(2, 2);
}

/* bytes after the key stay in the BIO, hit or miss, as OpenSSL leaves them */
static void
test_reads_only_the_key(void **state)
{
	EVP_PKEY *k;
	int left;

	(void)state;
	reset();
	k = decode(ders[2].p, ders[2].len, "tail", &left);
	assert_non_null(k);
	assert_int_equal(left, 4);
	EVP_PKEY_free(k);
	k = decode(ders[2].p, ders[2].len, "tail", &left);
	assert_non_null(k);
	assert_int_equal(left, 4);
	EVP_PKEY_free(k);
	counts(1, 1);
}

/* bytes that are no key fail every time, and are not kept */
static void
test_bad_key(void **state)
{
	unsigned char junk[100];
	EVP_PKEY *k;
	int left;

	(void)state;
	reset();
	memset(junk, 0x30, sizeof(junk));
	assert_null(decode(junk, sizeof(junk), "", &left));
	assert_null(decode(junk, sizeof(junk), "", &left));
	/* a key cut short */
	assert_null(decode(ders[3].p, ders[3].len - 1, "", &left));
	counts(0, 3);
	k = decode(ders[3].p, ders[3].len, "", &left);
	assert_non_null(k);
	EVP_PKEY_free(k);
	counts(0, 4);
}

/* another kind of BIO, or a key object to fill, goes to OpenSSL itself */
static void
test_passed_through(void **state)
{
	EVP_PKEY *k, *into = NULL;
	BIO *b;
	FILE *fp;

	(void)state;
	reset();
	fp = tmpfile();
	assert_non_null(fp);
	assert_int_equal(
	    fwrite(ders[4].p, 1, (size_t)ders[4].len, fp), (size_t)ders[4].len);
	rewind(fp);
	b = BIO_new_fp(fp, BIO_CLOSE);
	k = d2i_PUBKEY_bio(b, NULL);
	BIO_free(b);
	assert_non_null(k);
	assert_true(same_key(k, &ders[4]));
	EVP_PKEY_free(k);
	b = BIO_new_mem_buf(ders[4].p, ders[4].len);
	k = d2i_PUBKEY_bio(b, &into);
	BIO_free(b);
	assert_non_null(k);
	assert_ptr_equal(k, into);
	assert_true(same_key(k, &ders[4]));
	EVP_PKEY_free(k);
	counts(0, 0);
}

/* the least recently used key makes room */
static void
test_eviction(void **state)
{
	int i;

	(void)state;
	reset();
	for (i = 0; i < KEPT; i++)
		use(i);
	counts(0, KEPT);
	use(0); /* now key 1 is the least recently used */
	for (i = KEPT; i < NKEYS; i++)
		use(i);
	counts(1, NKEYS);
	use(0);
	use(NKEYS - 1);
	counts(3, NKEYS);
	use(1);
	counts(3, NKEYS + 1);
}

static void *
worker(void *arg)
{
	long *failures = arg;
	int i, left;

	for (i = 0; i < 2000; i++) {
		const struct der *d = &ders[i % 5];
		EVP_PKEY *k = decode(d->p, d->len, "", &left);

		if (k == NULL || !same_key(k, d) || left != 0)
			__atomic_add_fetch(failures, 1, __ATOMIC_RELAXED);
		EVP_PKEY_free(k);
	}
	return NULL;
}

/* threads share the keys; every reference they get is sound */
static void
test_threads(void **state)
{
	unsigned long hits, misses;
	long failures = 0;
	pthread_t t[8];
	int i;

	(void)state;
	reset();
	for (i = 0; i < 8; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker, &failures), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(failures, 0);
	pfl_dkim_keycache_stats(&hits, &misses);
	hits -= base_hits;
	misses -= base_misses;
	assert_int_equal(hits + misses, 8 * 2000);
	/* a key is decoded again only by threads that missed it together */
	assert_true(misses <= 8 * 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_by_bytes),
		cmocka_unit_test(test_reads_only_the_key),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_passed_through),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, make_keys, free_keys);
}
