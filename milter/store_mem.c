/*
 * NAME
 *	store_mem - the "memory" store backend
 * DESCRIPTION
 *	A chained hash table (FNV-1a over the key) of bucket arrays and
 *	values behind one mutex, for tests and single-process use: nothing
 *	survives the process, and each pfl_store_open makes a new, empty
 *	store. Buckets that aged out are dropped when their key is written;
 *	a key whose last bucket goes is removed. A value that expired is
 *	dropped when its key is next looked up.
 * THREAD SAFETY
 *	Every call holds the mutex for its whole length; list collects the
 *	keys first and calls fn without it.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"
#include "util.h"

struct entry {
	char *key;
	uint32_t hash;
	bool is_value;              /* holds val, not buckets */
	struct pfl_store_buckets b; /* a window's buckets */
	unsigned char *val;         /* a value's bytes (malloc'd) */
	size_t len;
	int64_t expires; /* a value's expiry, ms (0: never) */
	struct entry *chain;
};

struct store_mem {
	struct pfl_store base; /* first: the handle callers hold */
	pthread_mutex_t lock;
	struct entry **slots;
	size_t nslots; /* a power of two */
	size_t count;
};

/* mem_kind - the backend's name */
static const char *
mem_kind(void)
{
	return "memory";
}

/* hash - FNV-1a of a key */
static uint32_t
hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

/* mem_open - a new empty store; the memory spec takes no argument */
static struct pfl_store *
mem_open(const char *arg, unsigned timeout_ms, char *err, size_t n)
{
	struct store_mem *m = pfl_xcalloc(1, sizeof(*m));

	(void)arg;
	(void)timeout_ms;
	(void)err;
	(void)n;
	pthread_mutex_init(&m->lock, NULL);
	m->nslots = 64;
	m->slots = pfl_xcalloc(m->nslots, sizeof(*m->slots));
	return &m->base;
}

/* free_entry - release one entry */
static void
free_entry(struct entry *e)
{
	pfl_store_buckets_free(&e->b);
	free(e->val);
	free(e->key);
	free(e);
}

/* mem_close - free every entry and the table */
static void
mem_close(struct pfl_store *st)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry *e, *next;
	size_t i;

	for (i = 0; i < m->nslots; i++)
		for (e = m->slots[i]; e != NULL; e = next) {
			next = e->chain;
			free_entry(e);
		}
	free(m->slots);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* find - the slot pointer that holds key (it points at NULL if absent) */
static struct entry **
find(struct store_mem *m, const char *key, uint32_t h)
{
	struct entry **ep = &m->slots[h & (m->nslots - 1)];

	for (; *ep != NULL; ep = &(*ep)->chain)
		if ((*ep)->hash == h && strcmp((*ep)->key, key) == 0)
			break;
	return ep;
}

/* grow - double the table when it gets crowded */
static void
grow(struct store_mem *m)
{
	struct entry **old = m->slots, *e, *next;
	size_t i, nold = m->nslots;

	m->nslots *= 2;
	m->slots = pfl_xcalloc(m->nslots, sizeof(*m->slots));
	for (i = 0; i < nold; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->chain;
			e->chain = m->slots[e->hash & (m->nslots - 1)];
			m->slots[e->hash & (m->nslots - 1)] = e;
		}
	free(old);
}

/* lookup - the entry for key, created when create is set */
static struct entry **
lookup(struct store_mem *m, const char *key, bool create)
{
	uint32_t h = hash(key);
	struct entry **ep = find(m, key, h);

	if (*ep != NULL || !create)
		return ep;
	if (m->count >= 2 * m->nslots) {
		grow(m);
		ep = find(m, key, h);
	}
	*ep = pfl_xcalloc(1, sizeof(**ep));
	(*ep)->key = pfl_xstrdup(key);
	(*ep)->hash = h;
	m->count++;
	return ep;
}

/* unlink_entry - remove and free the entry at ep */
static void
unlink_entry(struct store_mem *m, struct entry **ep)
{
	struct entry *e = *ep;

	*ep = e->chain;
	free_entry(e);
	m->count--;
}

/* drop_if_empty - remove the window entry at ep once it has no bucket */
static void
drop_if_empty(struct store_mem *m, struct entry **ep)
{
	if (*ep != NULL && !(*ep)->is_value && (*ep)->b.n == 0)
		unlink_entry(m, ep);
}

/* gone - is e a value whose time ran out? */
static bool
gone(const struct entry *e, int64_t now_ms)
{
	return e->is_value && pfl_store_expired(e->expires, now_ms);
}

/* lookup_live - lookup, after dropping the key's value if it expired */
static struct entry **
lookup_live(struct store_mem *m, const char *key, bool create)
{
	struct entry **ep = lookup(m, key, false);

	if (*ep != NULL && gone(*ep, pfl_store_now_ms()))
		unlink_entry(m, ep);
	return lookup(m, key, create);
}

/* holds_value - the TEMPFAIL of a window call on a key with a value */
static enum pfl_store_status
holds_value(const char *key, char *err, size_t errlen)
{
	char shown[64];

	pfl_store_error(err, errlen,
	    "memory: key %s holds a value, not a window",
	    pfl_printable(shown, sizeof(shown), key, NULL));
	return PFL_STORE_TEMPFAIL;
}

/* mem_window_add - the window add under the lock */
static enum pfl_store_status
mem_window_add(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry **ep;
	bool value;

	pthread_mutex_lock(&m->lock);
	ep = lookup_live(m, key, true);
	if (!(value = (*ep)->is_value)) {
		(void)pfl_store_buckets_window_add(
		    &(*ep)->b, w, now, n, limit, r);
		drop_if_empty(m, ep);
	}
	pthread_mutex_unlock(&m->lock);
	return value ? holds_value(key, err, errlen) : PFL_STORE_OK;
}

/* undo - release ops[0..n) in reverse, as their results say they went */
static void
undo(struct store_mem *m, const struct pfl_window_op *ops, size_t n,
    const struct pfl_window_result *res)
{
	struct entry **ep;

	while (n-- > 0) {
		ep = lookup(m, ops[n].key, false);
		if (*ep == NULL || (*ep)->is_value || ops[n].n == 0)
			continue;
		(void)pfl_store_buckets_release(
		    &(*ep)->b, &ops[n].w, res[n].bucket, ops[n].n);
		drop_if_empty(m, ep);
	}
}

/*
 * mem_window_add_many - the adds one after another under the lock; the
 * first that refuses (or finds a value) undoes the earlier ones
 */
static enum pfl_store_status
mem_window_add_many(struct pfl_store *st, const struct pfl_window_op *ops,
    size_t nops, time_t now, struct pfl_window_result *res, size_t *at_r,
    char *err, size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct pfl_window_result refused;
	struct entry **ep;
	bool value = false;
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < nops; i++) {
		ep = lookup_live(m, ops[i].key, true);
		if ((value = (*ep)->is_value))
			break;
		(void)pfl_store_buckets_window_add(
		    &(*ep)->b, &ops[i].w, now, ops[i].n, ops[i].limit, &res[i]);
		drop_if_empty(m, ep);
		if (!res[i].admitted)
			break;
	}
	if (i < nops) {
		refused = res[i];
		undo(m, ops, i, res);
		memset(res, 0, nops * sizeof(*res));
		if (!value)
			res[i] = refused;
		*at_r = i;
	}
	pthread_mutex_unlock(&m->lock);
	return value ? holds_value(ops[i].key, err, errlen) : PFL_STORE_OK;
}

/* mem_window_total - the window's count, changing nothing */
static enum pfl_store_status
mem_window_total(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *total_r, char *err,
    size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry **ep;
	size_t live = 0;
	bool value = false;

	pthread_mutex_lock(&m->lock);
	ep = lookup_live(m, key, false);
	if (*ep != NULL && !(value = (*ep)->is_value))
		*total_r =
		    pfl_store_buckets_window_total(&(*ep)->b, w, now, &live);
	pthread_mutex_unlock(&m->lock);
	if (value)
		return holds_value(key, err, errlen);
	return live > 0 ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* mem_window_release - take n back from one bucket */
static enum pfl_store_status
mem_window_release(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n, char *err,
    size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry **ep;
	bool value = false;

	pthread_mutex_lock(&m->lock);
	ep = lookup_live(m, key, false);
	if (*ep != NULL && !(value = (*ep)->is_value)) {
		(void)pfl_store_buckets_release(&(*ep)->b, w, bucket, n);
		drop_if_empty(m, ep);
	}
	pthread_mutex_unlock(&m->lock);
	return value ? holds_value(key, err, errlen) : PFL_STORE_OK;
}

/* mem_put - replace what key holds with a value */
static enum pfl_store_status
mem_put(struct pfl_store *st, const char *key, const void *val, size_t len,
    unsigned ttl_s, char *err, size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	unsigned char *copy = pfl_xmalloc(len ? len : 1);
	struct entry *e;

	(void)err;
	(void)errlen;
	memcpy(copy, val, len);
	pthread_mutex_lock(&m->lock);
	e = *lookup(m, key, true);
	pfl_store_buckets_free(&e->b);
	free(e->val);
	e->is_value = true;
	e->val = copy;
	e->len = len;
	e->expires = pfl_store_expiry(ttl_s);
	pthread_mutex_unlock(&m->lock);
	return PFL_STORE_OK;
}

/* mem_get - copy out a key's value */
static enum pfl_store_status
mem_get(struct pfl_store *st, const char *key, void *buf, size_t n,
    size_t *len_r, char *err, size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry *e;
	bool found;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	e = *lookup_live(m, key, false);
	if ((found = e != NULL && e->is_value)) {
		memcpy(buf, e->val, e->len < n ? e->len : n);
		*len_r = e->len;
	}
	pthread_mutex_unlock(&m->lock);
	return found ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* mem_del - forget a key */
static enum pfl_store_status
mem_del(struct pfl_store *st, const char *key, char *err, size_t errlen)
{
	struct store_mem *m = (struct store_mem *)st;
	struct entry **ep;
	bool found;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	ep = lookup_live(m, key, false);
	if ((found = *ep != NULL))
		unlink_entry(m, ep);
	pthread_mutex_unlock(&m->lock);
	return found ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* by_name - qsort order of key pointers */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* collect - copies of the live keys starting with prefix (caller frees) */
static char **
collect(struct store_mem *m, const char *prefix, size_t *n_r)
{
	size_t i, n = 0, plen = strlen(prefix);
	int64_t now_ms = pfl_store_now_ms();
	struct entry *e;
	char **keys;

	pthread_mutex_lock(&m->lock);
	keys = pfl_xcalloc(m->count + 1, sizeof(*keys));
	for (i = 0; i < m->nslots; i++)
		for (e = m->slots[i]; e != NULL; e = e->chain)
			if (strncmp(e->key, prefix, plen) == 0 &&
			    !gone(e, now_ms))
				keys[n++] = pfl_xstrdup(e->key);
	pthread_mutex_unlock(&m->lock);
	if (n > 1)
		qsort(keys, n, sizeof(*keys), by_name);
	*n_r = n;
	return keys;
}

/* mem_list - call fn for each key starting with prefix */
static enum pfl_store_status
mem_list(struct pfl_store *st, const char *prefix,
    int (*fn)(const char *, void *), void *arg, char *err, size_t errlen)
{
	size_t i, n;
	char **keys = collect((struct store_mem *)st, prefix, &n);
	bool stop = false;

	(void)err;
	(void)errlen;
	for (i = 0; i < n; i++) {
		if (!stop && fn(keys[i], arg) != 0)
			stop = true;
		free(keys[i]);
	}
	free(keys);
	return PFL_STORE_OK;
}

const struct pfl_store_ops pfl_store_mem_ops = {
	.kind = mem_kind,
	.open = mem_open,
	.close = mem_close,
	.window_add = mem_window_add,
	.window_add_many = mem_window_add_many,
	.window_total = mem_window_total,
	.window_release = mem_window_release,
	.put = mem_put,
	.get = mem_get,
	.del = mem_del,
	.list = mem_list,
};
