/*
 * NAME
 *	dns_cache - answers kept for their TTL
 * DESCRIPTION
 *	A chained hash table (FNV-1a over "type/name", lower case) plus a
 *	doubly linked list in order of last use; the tail is evicted when
 *	the table is full. Entries own a deep copy of their answer; get
 *	hands out another copy, so nothing cached is ever shared.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "util.h"

struct entry {
	char *key;
	uint32_t hash;
	time_t expires;
	struct pfl_dns_answer *answer;
	struct entry *chain;       /* next in the bucket */
	struct entry *prev, *next; /* use order: head is the most recent */
};

struct pfl_dns_cache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	struct entry *head, *tail;
	unsigned long hits, misses;
};

/* make_key - "type/name" in lower case without a trailing dot */
static char *
make_key(const char *name, int rrtype, uint32_t *hash_r)
{
	size_t len = strlen(name), i, o;
	char *key = pfl_xmalloc(len + 16);
	uint32_t h = 2166136261u;

	o = (size_t)snprintf(key, 16, "%d/", rrtype);
	if (len > 0 && name[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++)
		key[o++] = (char)tolower((unsigned char)name[i]);
	key[o] = '\0';
	for (i = 0; i < o; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	*hash_r = h;
	return key;
}

/* pfl_dns_cache_new - an empty cache */
struct pfl_dns_cache *
pfl_dns_cache_new(size_t max_entries)
{
	struct pfl_dns_cache *c = pfl_xcalloc(1, sizeof(*c));

	c->max = max_entries ? max_entries : 1;
	for (c->nbuckets = 16; c->nbuckets < c->max; c->nbuckets <<= 1)
		;
	c->buckets = pfl_xcalloc(c->nbuckets, sizeof(*c->buckets));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* unlink_use - take an entry out of the use list */
static void
unlink_use(struct pfl_dns_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

/* push_use - make an entry the most recently used */
static void
push_use(struct pfl_dns_cache *c, struct entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* drop - remove and free an entry */
static void
drop(struct pfl_dns_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	unlink_use(c, e);
	pfl_dns_answer_free(&e->answer);
	free(e->key);
	free(e);
	c->count--;
}

/* find - the live entry for a key, dropping it when expired */
static struct entry *
find(struct pfl_dns_cache *c, const char *key, uint32_t hash, time_t now)
{
	struct entry *e = c->buckets[hash & (c->nbuckets - 1)];

	while (e && !(e->hash == hash && strcmp(e->key, key) == 0))
		e = e->chain;
	if (e && e->expires <= now) {
		drop(c, e);
		e = NULL;
	}
	return e;
}

/* pfl_dns_cache_get - a copy of a live cached answer, or NULL */
struct pfl_dns_answer *
pfl_dns_cache_get(
    struct pfl_dns_cache *c, const char *name, int rrtype, time_t now)
{
	struct pfl_dns_answer *a = NULL;
	struct entry *e;
	uint32_t hash;
	char *key = make_key(name, rrtype, &hash);

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, hash, now)) != NULL) {
		unlink_use(c, e);
		push_use(c, e);
		a = pfl_dns_answer_copy(e->answer);
		a->ttl = (uint32_t)(e->expires - now);
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	free(key);
	return a;
}

/* keep_for - seconds an answer may stay; 0 when it may not be kept */
static uint32_t
keep_for(const struct pfl_dns_answer *a)
{
	if (a->status == PFL_DNS_OK)
		return a->ttl < PFL_DNS_CACHE_MAX_TTL ? a->ttl
						      : PFL_DNS_CACHE_MAX_TTL;
	if (a->status == PFL_DNS_NOTFOUND)
		return a->ttl < PFL_DNS_CACHE_MAX_NEG_TTL
		    ? a->ttl
		    : PFL_DNS_CACHE_MAX_NEG_TTL;
	return 0;
}

/* pfl_dns_cache_put - keep a copy of an answer for its TTL */
void
pfl_dns_cache_put(struct pfl_dns_cache *c, const char *name,
    const struct pfl_dns_answer *a, time_t now)
{
	uint32_t ttl = keep_for(a), hash;
	struct entry *e, *old;
	char *key;

	if (ttl == 0)
		return;
	key = make_key(name, a->rrtype, &hash);
	e = pfl_xcalloc(1, sizeof(*e));
	e->key = key;
	e->hash = hash;
	e->expires = now + (time_t)ttl;
	e->answer = pfl_dns_answer_copy(a);
	pthread_mutex_lock(&c->lock);
	if ((old = find(c, key, hash, now)) != NULL)
		drop(c, old);
	while (c->count >= c->max && c->tail)
		drop(c, c->tail);
	e->chain = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	push_use(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

/* pfl_dns_cache_stats - counters and size */
void
pfl_dns_cache_stats(struct pfl_dns_cache *c, unsigned long *hits_r,
    unsigned long *misses_r, size_t *entries_r)
{
	pthread_mutex_lock(&c->lock);
	if (hits_r)
		*hits_r = c->hits;
	if (misses_r)
		*misses_r = c->misses;
	if (entries_r)
		*entries_r = c->count;
	pthread_mutex_unlock(&c->lock);
}

/* pfl_dns_cache_free - free everything; NULLs *cp */
void
pfl_dns_cache_free(struct pfl_dns_cache **cp)
{
	struct pfl_dns_cache *c = *cp;

	if (c == NULL)
		return;
	while (c->head)
		drop(c, c->head);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}
