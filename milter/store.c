/*
 * NAME
 *	store - shared counters for rate budgets: dispatch and bucket sums
 * SYNOPSIS
 *	#include "store.h"
 * DESCRIPTION
 *	pfl_store_open picks the backend by the spec's prefix ("memory",
 *	"lmdb:", "redis://"); a backend that was not compiled in is a clear
 *	error, not an unknown spec. Every call checks its arguments here, so
 *	the backends see only sane ones (see store_private.h), and a bad
 *	argument is TEMPFAIL with the reason, like any other store trouble.
 *
 *	Conventions all backends keep: window_total is NOTFOUND when no
 *	bucket of the key counts at now (the total is then 0); release is OK
 *	when the bucket is gone; delete is NOTFOUND when nothing was stored;
 *	list calls fn once per key in byte order, with no lock held, so fn
 *	may use the store. A key may still be listed after its buckets aged
 *	out, until the backend sweeps it. n above the limit is never
 *	admitted and gets next_free 0 ("never"). Limits above 2^52 count as
 *	2^52 (the Redis script does its sums in doubles). A timeout of 0
 *	at open means one second. A get copies what fits and is OK even
 *	when the value was cut short (*len_r > n tells). A value's expiry
 *	is checked to the millisecond, on the wall clock.
 *
 *	The bucket functions below are the reference arithmetic; the Redis
 *	script in store_redis.c mirrors them.
 * THREAD SAFETY
 *	Dispatch keeps no state; the backends lock what they share.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_private.h"
#include "util.h"

#ifdef HAVE_LMDB
#define LMDB_OPS (&pfl_store_lmdb_ops)
#else
#define LMDB_OPS NULL
#endif
#ifdef HAVE_HIREDIS
#define REDIS_OPS (&pfl_store_redis_ops)
#else
#define REDIS_OPS NULL
#endif

static const struct backend {
	const char *prefix;              /* what a spec starts with */
	bool whole;                      /* the prefix is the whole spec */
	const char *kind;                /* the backend's name */
	const char *needs;               /* what a build without it lacked */
	const struct pfl_store_ops *ops; /* NULL: not built */
} backends[] = {
	{ "memory", true, "memory", NULL, &pfl_store_mem_ops },
	{ "lmdb:", false, "lmdb", "LMDB (liblmdb-dev)", LMDB_OPS },
	{ "redis://", false, "redis", "hiredis (libhiredis-dev)", REDIS_OPS },
};

#define NBACKENDS          (sizeof(backends) / sizeof(backends[0]))
#define DEFAULT_TIMEOUT_MS 1000 /* for a timeout of 0 */

/* pfl_store_error - format a reason into the caller's buffer */
void
pfl_store_error(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || n == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

/* find_backend - the table entry a spec names, or NULL */
static const struct backend *
find_backend(const char *spec)
{
	size_t i, len;

	for (i = 0; i < NBACKENDS; i++) {
		len = strlen(backends[i].prefix);
		if (backends[i].whole
			? strcmp(spec, backends[i].prefix) == 0
			: strncmp(spec, backends[i].prefix, len) == 0)
			return &backends[i];
	}
	return NULL;
}

/* pfl_store_backend_built - was this kind compiled in? */
bool
pfl_store_backend_built(const char *kind)
{
	size_t i;

	for (i = 0; i < NBACKENDS; i++)
		if (strcmp(backends[i].kind, kind) == 0)
			return backends[i].ops != NULL;
	return false;
}

/* pfl_store_open - open the backend the spec names */
struct pfl_store *
pfl_store_open(const char *spec, unsigned timeout_ms, char *err, size_t n)
{
	const struct backend *be;
	struct pfl_store *st;
	char shown[128];

	if (spec == NULL || (be = find_backend(spec)) == NULL) {
		pfl_store_error(err, n,
		    "unknown store \"%s\": expected lmdb:PATH, "
		    "redis://HOST:PORT/DB or memory",
		    spec ? pfl_printable(shown, sizeof(shown), spec, NULL)
			 : "");
		return NULL;
	}
	if (be->ops == NULL) {
		pfl_store_error(err, n,
		    "store \"%s\": this preflight was built without the %s "
		    "backend (it needs %s)",
		    pfl_printable(shown, sizeof(shown), spec, NULL), be->kind,
		    be->needs);
		return NULL;
	}
	if (timeout_ms == 0)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	st = be->ops->open(spec + strlen(be->prefix), timeout_ms, err, n);
	if (st != NULL) {
		st->ops = be->ops;
		st->timeout_ms = timeout_ms;
	}
	return st;
}

/* pfl_store_close - close and free */
void
pfl_store_close(struct pfl_store **sp)
{
	if (*sp == NULL)
		return;
	(*sp)->ops->close(*sp);
	*sp = NULL;
}

/* pfl_store_kind - the backend's name */
const char *
pfl_store_kind(const struct pfl_store *st)
{
	return st->ops->kind();
}

/* bad_key - NULL when key is usable, else the reason */
static const char *
bad_key(const char *key)
{
	size_t len;

	if (key == NULL || (len = strlen(key)) == 0)
		return "empty key";
	if (len > PFL_STORE_KEY_MAX)
		return "key longer than 511 bytes";
	return NULL;
}

/* bad_window - NULL when the window shape is usable, else the reason */
static const char *
bad_window(const struct pfl_window *w)
{
	if (w == NULL || w->bucket_s == 0 || w->nbuckets == 0)
		return "window with no buckets";
	if ((uint64_t)w->bucket_s * w->nbuckets > PFL_STORE_WINDOW_MAX)
		return "window too long";
	return NULL;
}

/* bad_args - check key, window and time; TEMPFAIL with the reason */
static bool
bad_args(const char *key, const struct pfl_window *w, time_t t, char *err,
    size_t errlen)
{
	const char *why;

	if ((why = bad_key(key)) == NULL && (why = bad_window(w)) == NULL &&
	    (t < 0 || t > PFL_STORE_TIME_MAX))
		why = "time out of range";
	if (why == NULL)
		return false;
	pfl_store_error(err, errlen, "store: %s", why);
	return true;
}

/* clamp - counts beyond PFL_STORE_COUNT_MAX, as the backends see them */
static uint64_t
clamp(uint64_t v, uint64_t max)
{
	return v > max ? max : v;
}

/* pfl_store_window_add - the atomic sliding-window add */
enum pfl_store_status
pfl_store_window_add(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (bad_args(key, w, now, err, errlen))
		return PFL_STORE_TEMPFAIL;
	/* n above every limit stays above it, and is never stored */
	return st->ops->window_add(st, key, w, now,
	    clamp(n, PFL_STORE_COUNT_MAX + 1),
	    clamp(limit, PFL_STORE_COUNT_MAX), r, err, errlen);
}

/*
 * pfl_store_window_add_many - all the adds or none. The backend gets a
 * copy of ops with n and limit clamped as for a single add; a small
 * batch (a recipient's budgets) is copied on the stack.
 */
enum pfl_store_status
pfl_store_window_add_many(struct pfl_store *st, const struct pfl_window_op *ops,
    size_t nops, time_t now, struct pfl_window_result *results, size_t *at_r,
    char *err, size_t errlen)
{
	struct pfl_window_op local[16], *v;
	enum pfl_store_status s;
	size_t i;

	*at_r = 0;
	if (nops == 0)
		return PFL_STORE_OK;
	memset(results, 0, nops * sizeof(*results));
	for (i = 0; i < nops; i++) {
		if (bad_args(ops[i].key, &ops[i].w, now, err, errlen)) {
			*at_r = i;
			return PFL_STORE_TEMPFAIL;
		}
	}
	v = nops <= 16 ? local : pfl_xcalloc(nops, sizeof(*v));
	for (i = 0; i < nops; i++) {
		v[i] = ops[i];
		v[i].n = clamp(ops[i].n, PFL_STORE_COUNT_MAX + 1);
		v[i].limit = clamp(ops[i].limit, PFL_STORE_COUNT_MAX);
	}
	*at_r = nops;
	s = st->ops->window_add_many(
	    st, v, nops, now, results, at_r, err, errlen);
	if (v != local)
		free(v);
	if (s == PFL_STORE_TEMPFAIL && *at_r >= nops)
		*at_r = 0;
	return s;
}

/* pfl_store_window_total - the window's count at now */
enum pfl_store_status
pfl_store_window_total(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *total_r, char *err,
    size_t errlen)
{
	*total_r = 0;
	if (bad_args(key, w, now, err, errlen))
		return PFL_STORE_TEMPFAIL;
	return st->ops->window_total(st, key, w, now, total_r, err, errlen);
}

/* pfl_store_window_release - take back a reservation */
enum pfl_store_status
pfl_store_window_release(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n, char *err,
    size_t errlen)
{
	if (bad_args(key, w, bucket, err, errlen))
		return PFL_STORE_TEMPFAIL;
	if (n == 0)
		return PFL_STORE_OK;
	return st->ops->window_release(
	    st, key, w, bucket, clamp(n, PFL_STORE_COUNT_MAX), err, errlen);
}

/* pfl_store_put - set key to a value */
enum pfl_store_status
pfl_store_put(struct pfl_store *st, const char *key, const void *val,
    size_t len, unsigned ttl_s, char *err, size_t errlen)
{
	const char *why;

	if ((why = bad_key(key)) == NULL && len > PFL_STORE_VALUE_MAX)
		why = "value longer than 4096 bytes";
	else if (why == NULL && val == NULL && len > 0)
		why = "no value";
	if (why != NULL) {
		pfl_store_error(err, errlen, "store: %s", why);
		return PFL_STORE_TEMPFAIL;
	}
	return st->ops->put(st, key, val ? val : "", len, ttl_s, err, errlen);
}

/* pfl_store_get - a key's value */
enum pfl_store_status
pfl_store_get(struct pfl_store *st, const char *key, void *buf, size_t n,
    size_t *len_r, char *err, size_t errlen)
{
	static char none[1]; /* what a backend copies into when n is 0 */
	const char *why;
	size_t len = 0;
	enum pfl_store_status s;

	if (len_r != NULL)
		*len_r = 0;
	if ((why = bad_key(key)) == NULL && buf == NULL && n > 0)
		why = "no buffer";
	if (why != NULL) {
		pfl_store_error(err, errlen, "store: %s", why);
		return PFL_STORE_TEMPFAIL;
	}
	s = st->ops->get(st, key, n ? buf : none, n, &len, err, errlen);
	if (s == PFL_STORE_OK && len_r != NULL)
		*len_r = len;
	return s;
}

/* pfl_store_delete - forget a key */
enum pfl_store_status
pfl_store_delete(
    struct pfl_store *st, const char *key, char *err, size_t errlen)
{
	const char *why;

	if ((why = bad_key(key)) != NULL) {
		pfl_store_error(err, errlen, "store: %s", why);
		return PFL_STORE_TEMPFAIL;
	}
	return st->ops->del(st, key, err, errlen);
}

/* pfl_store_list - every key starting with prefix, in byte order */
enum pfl_store_status
pfl_store_list(struct pfl_store *st, const char *prefix,
    int (*fn)(const char *key, void *arg), void *arg, char *err, size_t errlen)
{
	if (prefix != NULL && strlen(prefix) > PFL_STORE_KEY_MAX) {
		pfl_store_error(err, errlen, "store: prefix too long");
		return PFL_STORE_TEMPFAIL;
	}
	return st->ops->list(st, prefix ? prefix : "", fn, arg, err, errlen);
}

/* pfl_store_now_ms - the wall clock in milliseconds */
int64_t
pfl_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pfl_store_expiry - the millisecond a value put now expires at */
int64_t
pfl_store_expiry(unsigned ttl_s)
{
	return ttl_s == 0 ? 0 : pfl_store_now_ms() + (int64_t)ttl_s * 1000;
}

/* pfl_store_expired - has the time of a value run out? */
bool
pfl_store_expired(int64_t expires, int64_t now_ms)
{
	return expires != 0 && now_ms >= expires;
}

/* pfl_store_span - the current bucket's start and the window's lower edge */
void
pfl_store_span(
    const struct pfl_window *w, time_t now, int64_t *cur_r, int64_t *lower_r)
{
	int64_t b = w->bucket_s;

	*cur_r = (int64_t)now - (int64_t)now % b; /* now >= 0 */
	*lower_r = *cur_r - b * (int64_t)w->nbuckets;
}

/* bucket_end - the first second after a bucket */
static int64_t
bucket_end(const struct pfl_store_bucket *e)
{
	return e->start + (int64_t)e->width;
}

/* prune - drop the buckets that ended at or before lower */
static bool
prune(struct pfl_store_buckets *b, int64_t lower)
{
	size_t i, o;

	for (i = o = 0; i < b->n; i++)
		if (bucket_end(&b->v[i]) > lower)
			b->v[o++] = b->v[i];
	if (o == b->n)
		return false;
	b->n = o;
	return true;
}

/* sum - the counts of the buckets that end above lower, saturating */
static uint64_t
sum(const struct pfl_store_buckets *b, int64_t lower, size_t *live_r)
{
	uint64_t total = 0;
	size_t i, live = 0;

	for (i = 0; i < b->n; i++) {
		if (bucket_end(&b->v[i]) <= lower)
			continue;
		live++;
		if (total > UINT64_MAX - b->v[i].count)
			total = UINT64_MAX;
		else
			total += b->v[i].count;
	}
	if (live_r != NULL)
		*live_r = live;
	return total;
}

/* by_end - qsort order: buckets that age out first come first */
static int
by_end(const void *a, const void *b)
{
	int64_t x = bucket_end(a), y = bucket_end(b);

	return x < y ? -1 : x > y;
}

/*
 * next_free - the first time at which the buckets now in b have aged
 * out enough to admit n; 0 when n is above the limit. A bucket stops
 * counting once the window's lower edge, a multiple of the bucket
 * width, reaches its end: at the first bucket start >= end + window.
 */
static time_t
next_free(struct pfl_store_buckets *b, const struct pfl_window *w,
    uint64_t total, uint64_t n, uint64_t limit)
{
	int64_t width = w->bucket_s, span = width * (int64_t)w->nbuckets, t;
	size_t i;

	if (n > limit)
		return 0;
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(b->v[0]), by_end);
	for (i = 0; i < b->n; i++) {
		total -= b->v[i].count < total ? b->v[i].count : total;
		t = bucket_end(&b->v[i]) + span;
		t += (width - t % width) % width; /* t > 0 here */
		if (total <= limit - n)
			return (time_t)t;
	}
	return 0; /* not reached: an empty window admits n <= limit */
}

/* add_to - add n to the bucket [start, start + width) */
static void
add_to(struct pfl_store_buckets *b, int64_t start, uint32_t width, uint64_t n)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->v[i].start == start && b->v[i].width == width) {
			b->v[i].count += n;
			return;
		}
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->v = pfl_xrealloc(b->v, b->cap * sizeof(b->v[0]));
	}
	memset(&b->v[b->n], 0, sizeof(b->v[0]));
	b->v[b->n].start = start;
	b->v[b->n].width = width;
	b->v[b->n].count = n;
	b->n++;
}

/* pfl_store_buckets_window_add - the window add on b */
bool
pfl_store_buckets_window_add(struct pfl_store_buckets *b,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r)
{
	int64_t cur, lower;
	bool changed;

	pfl_store_span(w, now, &cur, &lower);
	changed = prune(b, lower);
	memset(r, 0, sizeof(*r));
	r->total = sum(b, lower, NULL);
	r->bucket = (time_t)cur;
	if (n <= limit && r->total <= limit - n) {
		r->admitted = true;
		if (n > 0) {
			add_to(b, cur, w->bucket_s, n);
			changed = true;
		}
	} else {
		r->next_free = next_free(b, w, r->total, n, limit);
	}
	return changed;
}

/* pfl_store_buckets_window_total - the window's count at now */
uint64_t
pfl_store_buckets_window_total(const struct pfl_store_buckets *b,
    const struct pfl_window *w, time_t now, size_t *live_r)
{
	int64_t cur, lower;

	pfl_store_span(w, now, &cur, &lower);
	return sum(b, lower, live_r);
}

/* pfl_store_buckets_release - take n from one bucket */
bool
pfl_store_buckets_release(struct pfl_store_buckets *b,
    const struct pfl_window *w, time_t bucket, uint64_t n)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->v[i].start != (int64_t)bucket ||
		    b->v[i].width != w->bucket_s)
			continue;
		if (b->v[i].count > n) {
			b->v[i].count -= n;
		} else {
			b->v[i] = b->v[b->n - 1];
			b->n--;
		}
		return true;
	}
	return false;
}

/* pfl_store_buckets_expired - has every bucket aged out for good? */
bool
pfl_store_buckets_expired(
    const struct pfl_store_buckets *b, time_t now, uint32_t keep_s)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (bucket_end(&b->v[i]) + (int64_t)keep_s > (int64_t)now)
			return false;
	return true;
}

/* pfl_store_buckets_free - release the array */
void
pfl_store_buckets_free(struct pfl_store_buckets *b)
{
	free(b->v);
	memset(b, 0, sizeof(*b));
}
