/*
 * NAME
 *	dkim_keycache - decoded DKIM public keys kept between messages
 * DESCRIPTION
 *	libopendkim decodes the signer's public key (the DER bytes of the
 *	key record's p=) with OpenSSL's d2i_PUBKEY_bio for every signature
 *	it verifies. Under OpenSSL 3 that decode runs through the provider
 *	decoders and costs about 130 us for an RSA-2048 key on a current
 *	CPU, several times the RSA verification itself (about 17 us); with
 *	a few keys signing all of a site's mail, it was the largest part of
 *	preflight's CPU per signed message.
 *
 *	This file defines d2i_PUBKEY_bio in the program. The dynamic linker
 *	looks in the program before the libraries, so libopendkim's call
 *	lands here. A key read from a memory BIO, which is what libopendkim
 *	passes, is looked up by its exact bytes among the last KEYS_MAX
 *	decoded; a hit returns another reference to the same EVP_PKEY and
 *	consumes the key's bytes from the BIO, as OpenSSL's function would.
 *	A key is never changed once decoded and its reference count is
 *	atomic; the RSA form libopendkim asks of it (EVP_PKEY_get1_RSA) is
 *	made once and kept in the key by OpenSSL, under the key's lock.
 *	Everything else goes to OpenSSL's own function: another kind of
 *	BIO, a key object to reuse (a != NULL), more than DER_MAX bytes. A
 *	key that does not decode is not kept, so it fails again each time.
 *
 *	Only the decoding of bytes already seen is saved: every signature
 *	is still verified against the key. A key is known by its bytes, so
 *	a rotated key is a miss and the least recently used entry makes
 *	room for it; nothing goes stale.
 * THREAD SAFETY
 *	One mutex guards the table; a miss decodes outside it.
 */
#include <autoconfig.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_private.h"
#include "util.h"

#define KEYS_MAX 32   /* keys kept */
#define DER_MAX  4096 /* longer input is not looked up (RSA-16384: 2.1 KB) */

struct entry {
	unsigned char *der; /* the bytes looked up, NULL: free slot */
	size_t len;
	size_t used;   /* of them the key's own (what a decode reads) */
	uint64_t hash; /* of der */
	uint64_t tick; /* last use, for eviction */
	EVP_PKEY *key; /* the cache's reference */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[KEYS_MAX];
static uint64_t clock_tick;
static unsigned long nhits, nmisses;

typedef EVP_PKEY *(*d2i_bio_fn)(BIO *, EVP_PKEY **);

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static d2i_bio_fn real_fn;

/* find_real - OpenSSL's own d2i_PUBKEY_bio, the next definition */
static void
find_real(void)
{
	void *sym = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");

	memcpy(&real_fn, &sym, sizeof(real_fn));
}

/* real_d2i - call OpenSSL's function; NULL when it cannot be found */
static EVP_PKEY *
real_d2i(BIO *bp, EVP_PKEY **a)
{
	pthread_once(&real_once, find_real);
	return real_fn != NULL ? real_fn(bp, a) : NULL;
}

/* fnv1a - the hash a lookup compares first */
static uint64_t
fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

/* lookup - a new reference to the key for these bytes, or NULL; locked */
static EVP_PKEY *
lookup(const unsigned char *der, size_t len, uint64_t h, size_t *used_r)
{
	struct entry *e;

	for (e = table; e < table + KEYS_MAX; e++) {
		if (e->der == NULL || e->hash != h || e->len != len ||
		    memcmp(e->der, der, len) != 0)
			continue;
		if (EVP_PKEY_up_ref(e->key) != 1)
			return NULL;
		e->tick = ++clock_tick;
		*used_r = e->used;
		return e->key;
	}
	return NULL;
}

/* keep - add a decoded key (taking a reference), evicting the oldest */
static void
keep(const unsigned char *der, size_t len, uint64_t h, size_t used,
    EVP_PKEY *key)
{
	struct entry *e, *victim = table;
	EVP_PKEY *other;
	size_t unused;

	pthread_mutex_lock(&lock);
	/* another thread may have decoded the same bytes meanwhile */
	if ((other = lookup(der, len, h, &unused)) != NULL) {
		EVP_PKEY_free(other); /* the reference lookup took */
		pthread_mutex_unlock(&lock);
		return;
	}
	for (e = table; e < table + KEYS_MAX; e++) {
		if (e->der == NULL) {
			victim = e;
			break;
		}
		if (e->tick < victim->tick)
			victim = e;
	}
	if (EVP_PKEY_up_ref(key) == 1) {
		free(victim->der);
		EVP_PKEY_free(victim->key);
		victim->der = pfl_xmalloc(len);
		memcpy(victim->der, der, len);
		victim->len = len;
		victim->used = used;
		victim->hash = h;
		victim->tick = ++clock_tick;
		victim->key = key;
	}
	pthread_mutex_unlock(&lock);
}

/*
 * d2i_PUBKEY_bio - OpenSSL's function (see DESCRIPTION): a public key
 * from the DER bytes read from bp, a new reference the caller frees
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	const unsigned char *der, *p;
	unsigned char sink[DER_MAX];
	EVP_PKEY *key;
	size_t len, used = 0;
	uint64_t h;
	long n;

	if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM)
		return real_d2i(bp, a);
	n = BIO_get_mem_data(bp, (char **)&der);
	if (n <= 0 || n > DER_MAX)
		return real_d2i(bp, a);
	len = (size_t)n;
	h = fnv1a(der, len);
	pthread_mutex_lock(&lock);
	key = lookup(der, len, h, &used);
	if (key != NULL)
		nhits++;
	else
		nmisses++;
	pthread_mutex_unlock(&lock);
	if (key == NULL) {
		p = der;
		if ((key = d2i_PUBKEY(NULL, &p, n)) == NULL)
			return NULL;
		used = (size_t)(p - der);
		keep(der, len, h, used, key);
	}
	/* the key's bytes are read, as by a decode (they are copied out) */
	if (BIO_read(bp, sink, (int)used) != (int)used) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* pfl_dkim_keycache_stats - lookups answered from the cache, and not, so far */
void
pfl_dkim_keycache_stats(unsigned long *hits, unsigned long *misses)
{
	pthread_mutex_lock(&lock);
	*hits = nhits;
	*misses = nmisses;
	pthread_mutex_unlock(&lock);
}

/* pfl_dkim_keycache_clear - drop every key kept (the counts go on) */
void
pfl_dkim_keycache_clear(void)
{
	struct entry *e;

	pthread_mutex_lock(&lock);
	for (e = table; e < table + KEYS_MAX; e++) {
		free(e->der);
		EVP_PKEY_free(e->key);
		memset(e, 0, sizeof(*e));
	}
	clock_tick = 0;
	pthread_mutex_unlock(&lock);
}
