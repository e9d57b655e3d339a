/*
 * NAME
 *	store_private 3h - what the store backends share
 * DESCRIPTION
 *	Each backend (store_mem.c, store_lmdb.c, store_redis.c) fills one
 *	struct pfl_store_ops and embeds struct pfl_store as the first member
 *	of its own handle. store.c checks every argument before it calls a
 *	backend, so a backend sees only a key of 1..PFL_STORE_KEY_MAX bytes,
 *	a window of at most PFL_STORE_WINDOW_MAX seconds, 0 <= now <=
 *	PFL_STORE_TIME_MAX, counts of at most PFL_STORE_COUNT_MAX and values
 *	of at most PFL_STORE_VALUE_MAX bytes (val and buf not NULL).
 *
 *	The backends that keep values in C (memory, LMDB) store with each
 *	one the wall-clock millisecond at which it expires (0: never) and
 *	judge it by pfl_store_expired; Redis keeps its own TTL.
 *
 *	The bucket arithmetic (store.c) is shared by the backends that keep
 *	buckets in C (memory, LMDB); the Redis backend does the same sums in
 *	its server-side script. A bucket carries its own width, so a key
 *	whose window shape changes keeps counting its old buckets correctly.
 */
#ifndef PFL_STORE_PRIVATE_H
#define PFL_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

#define PFL_STORE_KEY_MAX    511                 /* LMDB's key size limit */
#define PFL_STORE_WINDOW_MAX 0x7fffffffu         /* seconds in a window */
#define PFL_STORE_TIME_MAX   ((time_t)1 << 40)   /* latest "now" */
#define PFL_STORE_COUNT_MAX  ((uint64_t)1 << 52) /* exact in a double */

struct pfl_store_ops {
	/* kind - the backend's name: "memory", "lmdb", "redis" */
	const char *(*kind)(void);
	/* open - arg is the spec after the backend's prefix */
	struct pfl_store *(*open)(
	    const char *arg, unsigned timeout_ms, char *err, size_t n);
	/* close - free everything the handle owns */
	void (*close)(struct pfl_store *);
	enum pfl_store_status (*window_add)(struct pfl_store *, const char *,
	    const struct pfl_window *, time_t, uint64_t, uint64_t,
	    struct pfl_window_result *, char *, size_t);
	/*
	 * window_add_many - all the adds or none (see store.h); ops are
	 * checked and clamped, results zeroed, *at_r set to nops and
	 * nops >= 1 before the call
	 */
	enum pfl_store_status (*window_add_many)(struct pfl_store *,
	    const struct pfl_window_op *, size_t, time_t,
	    struct pfl_window_result *, size_t *, char *, size_t);
	enum pfl_store_status (*window_total)(struct pfl_store *, const char *,
	    const struct pfl_window *, time_t, uint64_t *, char *, size_t);
	enum pfl_store_status (*window_release)(struct pfl_store *,
	    const char *, const struct pfl_window *, time_t, uint64_t, char *,
	    size_t);
	/* put - the key's value; ttl_s 0: no expiry */
	enum pfl_store_status (*put)(struct pfl_store *, const char *,
	    const void *, size_t, unsigned, char *, size_t);
	/* get - copy at most n bytes; the whole length into *len_r */
	enum pfl_store_status (*get)(struct pfl_store *, const char *, void *,
	    size_t, size_t *, char *, size_t);
	enum pfl_store_status (*del)(
	    struct pfl_store *, const char *, char *, size_t);
	enum pfl_store_status (*list)(struct pfl_store *, const char *,
	    int (*)(const char *, void *), void *, char *, size_t);
};

/* The head of every backend's handle. */
struct pfl_store {
	const struct pfl_store_ops *ops;
	unsigned timeout_ms; /* bound of every call */
};

/* The backends that were built (see store.c for the table). */
extern const struct pfl_store_ops pfl_store_mem_ops;
extern const struct pfl_store_ops pfl_store_lmdb_ops;
extern const struct pfl_store_ops pfl_store_redis_ops;

/*
 * pfl_store_backend_built - was the backend of this kind ("memory",
 * "lmdb", "redis") compiled in? Tests use it to run every backend built.
 */
bool pfl_store_backend_built(const char *kind);

/* pfl_store_error - format a reason into err (size n; err may be NULL) */
void pfl_store_error(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pfl_store_now_ms - the wall clock in milliseconds since the epoch */
int64_t pfl_store_now_ms(void);

/* pfl_store_expiry - when a value put now with ttl_s expires (0: never) */
int64_t pfl_store_expiry(unsigned ttl_s);

/* pfl_store_expired - has a value that expires at expires (ms) expired? */
bool pfl_store_expired(int64_t expires, int64_t now_ms);

/* One bucket: count units in [start, start + width). */
struct pfl_store_bucket {
	int64_t start;   /* seconds */
	uint32_t width;  /* seconds, >= 1 */
	uint32_t unused; /* zero: keeps the LMDB record layout fixed */
	uint64_t count;  /* > 0 */
};

/* A key's buckets, in no particular order; v is malloc'd and owned. */
struct pfl_store_buckets {
	struct pfl_store_bucket *v;
	size_t n, cap;
};

/*
 * pfl_store_span - the start of the bucket of now (cur_r) and the lower
 * edge of the window (lower_r = cur - window): a bucket counts while its
 * end is above lower.
 */
void pfl_store_span(
    const struct pfl_window *, time_t now, int64_t *cur_r, int64_t *lower_r);

/*
 * pfl_store_buckets_window_add - the window add on b, dropping the buckets
 * that aged out; returns true when b changed.
 */
bool pfl_store_buckets_window_add(struct pfl_store_buckets *b,
    const struct pfl_window *, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r);

/*
 * pfl_store_buckets_window_total - the window's count at now without
 * changing b; *live_r (may be NULL) is the number of buckets counted.
 */
uint64_t pfl_store_buckets_window_total(const struct pfl_store_buckets *b,
    const struct pfl_window *, time_t now, size_t *live_r);

/*
 * pfl_store_buckets_release - take n from the bucket that starts at bucket
 * and has the window's bucket width; nothing when there is none. Returns
 * true when b changed.
 */
bool pfl_store_buckets_release(struct pfl_store_buckets *b,
    const struct pfl_window *, time_t bucket, uint64_t n);

/*
 * pfl_store_buckets_expired - would every bucket be dropped at now, for
 * a window whose span plus one bucket is keep_s seconds?
 */
bool pfl_store_buckets_expired(
    const struct pfl_store_buckets *b, time_t now, uint32_t keep_s);

/* pfl_store_buckets_free - release v and empty b */
void pfl_store_buckets_free(struct pfl_store_buckets *b);

#endif
