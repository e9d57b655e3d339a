/*
 * NAME
 *	store 3h - shared counters for rate budgets, and small values
 * DESCRIPTION
 *	One small interface over three backends chosen by StateStore:
 *	"lmdb:PATH" (embedded, the default; safe for several processes on
 *	one host), "redis://HOST:PORT/DB" (a fleet of MTAs shares budgets;
 *	atomic through a server-side script) and "memory" (tests).
 *
 *	The one operation that matters is the sliding-window add. A window of
 *	W seconds is kept as buckets of width B (W a multiple of B) under one
 *	key. A window add counts every bucket that overlaps [now - W, now]
 *	-- the partly covered oldest bucket counted whole -- and, only when
 *	that total plus n stays within the limit, adds n to the bucket of
 *	now. Counting the oldest bucket whole is what keeps the invariant
 *	that no window of length W ever admits more than the limit (a token
 *	bucket that refills continuously breaks it for daily caps).
 *	Adds are reservations: a release subtracts from the bucket the add
 *	went to. Buckets older than the window are dropped by the backend.
 *	The adds of one recipient's budgets go in one call, all or none
 *	(pfl_store_window_add_many): one LMDB write transaction, one Redis
 *	round trip.
 *
 *	A key may hold a value instead: up to PFL_STORE_VALUE_MAX bytes
 *	(any bytes, NULs too) set by pfl_store_put, with an optional time
 *	to live, for state that is not a count (the DNSBL monitor's). Keys
 *	are one name space: delete and list see values and windows alike.
 *	A put replaces whatever the key held, a window too. A get on a key
 *	that holds a window is NOTFOUND; a window call on a key that holds
 *	a value is TEMPFAIL ("holds a value, not a window") and leaves the
 *	value alone. A value whose time ran out is gone for every call
 *	(get, delete and the window calls see no key, list skips it), even
 *	while the backend still keeps its bytes. Times to live run on the
 *	wall clock, not on the "now" the window calls are given.
 * DURABILITY
 *	LMDB commits reach the disk within about a second (a thread flushes
 *	them), not one by one: a crash of the process loses nothing, but a
 *	crash of the system or a power cut may lose the counts of the last
 *	second -- that much more mail may then pass a budget once -- and
 *	may leave the file damaged, as LMDB warns; removing it (and
 *	PATH-lock) starts the counts afresh. Redis keeps what its own
 *	persistence settings keep; memory keeps nothing.
 * ERRORS
 *	A backend failure (server down, file unwritable, map full and not
 *	growable, timeout) is PFL_STORE_TEMPFAIL with the reason in the
 *	caller's buffer; the caller takes the OnStoreError path. Every call
 *	is bounded by the timeout given at open.
 * THREAD SAFETY
 *	A struct pfl_store may be used by all threads (backends keep a
 *	connection or transaction per thread as they need).
 */
#ifndef PFL_STORE_H
#define PFL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* how long the milter lets one store call take (Postfix allows 30 s) */
#define PFL_STORE_TIMEOUT_MS 2000

/* the longest value a key may hold, bytes */
#define PFL_STORE_VALUE_MAX 4096

enum pfl_store_status {
	PFL_STORE_OK,
	PFL_STORE_NOTFOUND, /* no such key */
	PFL_STORE_TEMPFAIL, /* backend trouble: try again later */
};

/* The shape of a sliding window: nbuckets buckets of bucket_s seconds. */
struct pfl_window {
	unsigned bucket_s; /* width of one bucket, seconds (>= 1) */
	unsigned nbuckets; /* buckets in the window (window = product) */
};

/* The outcome of a window add. */
struct pfl_window_result {
	bool admitted;    /* n was added */
	uint64_t total;   /* the window's count before this add */
	time_t bucket;    /* start of the bucket n went to (for release) */
	time_t next_free; /* when enough of the window ages out to admit n
			      (0 when admitted) */
};

struct pfl_store;

/*
 * pfl_store_open - open a store by spec ("lmdb:/var/lib/preflight/state",
 * "redis://127.0.0.1:6379/0", "memory"). timeout_ms bounds every call.
 * Returns NULL with the reason in err (size n).
 */
struct pfl_store *pfl_store_open(
    const char *spec, unsigned timeout_ms, char *err, size_t n);

/* pfl_store_close - close and free; NULLs *sp */
void pfl_store_close(struct pfl_store **sp);

/*
 * pfl_store_window_add - the atomic sliding-window add described above,
 * for key at time now: admit n when the window's total + n <= limit.
 */
enum pfl_store_status pfl_store_window_add(struct pfl_store *, const char *key,
    const struct pfl_window *, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen);

/* One add of a batch (pfl_store_window_add_many). */
struct pfl_window_op {
	const char *key;     /* borrowed */
	struct pfl_window w; /* the key's window */
	uint64_t n;          /* to add */
	uint64_t limit;      /* admit while the window's total + n <= limit */
};

/*
 * pfl_store_window_add_many - the window adds of ops[0..nops) at now,
 * all or none, in one step of the backend (one LMDB write transaction,
 * one Redis script call): as if each were a pfl_store_window_add in
 * order (a key named twice sees its earlier add) and, as soon as one
 * refuses, the earlier ones were released. *at_r is nops when every op
 * admitted: results[i] is then op i's result, and all are counted. Else
 * it is the index of the first op that refused (OK; results[*at_r]
 * says why, with the total and next_free its single add would give;
 * the other results are zero; nothing was added) or, on TEMPFAIL, of
 * the op the failure belongs to (0 when it belongs to none).
 */
enum pfl_store_status pfl_store_window_add_many(struct pfl_store *,
    const struct pfl_window_op *ops, size_t nops, time_t now,
    struct pfl_window_result *results, size_t *at_r, char *err, size_t errlen);

/* pfl_store_window_total - the window's count at now, adding nothing */
enum pfl_store_status pfl_store_window_total(struct pfl_store *,
    const char *key, const struct pfl_window *, time_t now, uint64_t *total_r,
    char *err, size_t errlen);

/*
 * pfl_store_window_release - take back n from the bucket starting at
 * bucket (as returned by the add); a bucket already dropped is fine.
 */
enum pfl_store_status pfl_store_window_release(struct pfl_store *,
    const char *key, const struct pfl_window *, time_t bucket, uint64_t n,
    char *err, size_t errlen);

/*
 * pfl_store_put - set key to the value val (len bytes, at most
 * PFL_STORE_VALUE_MAX = 4096), forgotten after ttl_s seconds (0: kept
 * until deleted). Replaces what key held, its time to live too.
 */
enum pfl_store_status pfl_store_put(struct pfl_store *, const char *key,
    const void *val, size_t len, unsigned ttl_s, char *err, size_t errlen);

/*
 * pfl_store_get - copy key's value into buf (size n; truncated to n) and
 * its whole length into *len_r (may be NULL; 0 unless OK): PFL_STORE_OK;
 * PFL_STORE_NOTFOUND when the key is missing, expired or holds a window,
 * not a value.
 */
enum pfl_store_status pfl_store_get(struct pfl_store *, const char *key,
    void *buf, size_t n, size_t *len_r, char *err, size_t errlen);

/* pfl_store_delete - forget a key (a window or a value) */
enum pfl_store_status pfl_store_delete(
    struct pfl_store *, const char *key, char *err, size_t errlen);

/*
 * pfl_store_list - call fn(key, arg) for every key starting with prefix,
 * windows and values alike; fn returns 0 to go on, non-zero to stop.
 */
enum pfl_store_status pfl_store_list(struct pfl_store *, const char *prefix,
    int (*fn)(const char *key, void *arg), void *arg, char *err, size_t errlen);

/* pfl_store_kind - "lmdb", "redis" or "memory" */
const char *pfl_store_kind(const struct pfl_store *);

#endif
