/*
 * NAME
 *	store_lmdb - the "lmdb:PATH" store backend
 * DESCRIPTION
 *	PATH names the data file itself (MDB_NOSUBDIR); LMDB keeps its lock
 *	table in PATH-lock next to it. A relative PATH is made absolute at
 *	open (the daemon changes to "/"); its directory must exist. Several
 *	processes may share the file: LMDB's writer lock makes each write
 *	transaction, and so each window add (a read-modify-write of the key's
 *	bucket array), atomic across them. Counts survive restarts.
 *
 *	The environment is opened at first use, in the process and as the
 *	user that uses it: the daemon forks and drops privileges after it
 *	loads its config, and an LMDB environment must not cross fork().
 *	A handle used in a child after fork opens a fresh environment and
 *	leaves the inherited one untouched (closing it would drop the
 *	parent's file locks). Within one process, handles on the same file
 *	share one environment (a reload opens the store again while the old
 *	context is still in use; LMDB forbids opening a file twice).
 *
 *	A window record is a header (magic "PFL1", the window plus one
 *	bucket in seconds) and an array of struct pfl_store_bucket; a value
 *	record is a header (magic "PFV1", the millisecond it expires at, 0
 *	for never) and the value's bytes. Both are in host byte order: the
 *	file belongs to one host. The magic tells the two apart, so a window
 *	is never read as a value or the other way round. Buckets that aged
 *	out are dropped when the key is written, and each add also sweeps a
 *	few other keys, deleting those whose buckets have all aged out and
 *	values that expired, so keys that are never written again do not
 *	pile up. A value that expired and was not swept yet reads as no key
 *	and is overwritten by the next put or window add.
 *
 *	A batch (window_add_many) is one write transaction: every add is
 *	made in it, in order, and the first refusal aborts it, so nothing
 *	is written. LMDB's writer lock serializes write transactions across
 *	processes, so several milters on one file never exceed a budget.
 * DURABILITY
 *	Commits are not flushed one by one (MDB_NOSYNC): a thread per
 *	environment flushes them every SYNC_MS (1 s), and once more when
 *	the environment closes. A commit is in the kernel's page cache,
 *	and seen by every process, as soon as it returns, so a crash of
 *	the process loses nothing; a crash of the system or a power cut
 *	may lose the commits of the last second and, as LMDB warns for
 *	this mode, may leave the file damaged (removing it, and PATH-lock,
 *	starts the counts afresh). A flush per commit would hold the
 *	decisions to the disk's flush rate: a few thousand a second at
 *	best, one batch per recipient as they are.
 * THE MAP
 *	The file is mapped writable (MDB_WRITEMAP): a commit stores into
 *	the map instead of writing every page it changed, and LMDB sizes
 *	the file to the map (ftruncate). So that no process cuts the file
 *	under another's longer map (that one would die of SIGBUS at its
 *	next store), every change of a map's size -- open, growth, taking
 *	on another process's growth -- holds the map lock (flock on PATH)
 *	and never maps less than the file holds. The file is allocated as
 *	far as the map goes (fallocate), so a full disk shows up as a
 *	TEMPFAIL when the map grows, not as a SIGBUS on a store into a
 *	hole (on a file system without fallocate it remains possible).
 *	The map starts at 1 MiB and doubles when full, up to 4 GiB;
 *	beyond that an add or put is TEMPFAIL.
 * ERRORS
 *	Every failure is TEMPFAIL with "lmdb PATH: reason". A record that
 *	does not decode is reported, never overwritten by a window call;
 *	a put replaces it and delete removes it.
 * THREAD SAFETY
 *	One transaction at a time per process and file (LMDB serializes
 *	writers anyway); the wait for it is bounded by the timeout. The wait
 *	for another process's write transaction is LMDB's own and not
 *	bounded, but those last microseconds. The sync thread only flushes;
 *	it takes no transaction and no signal.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_private.h"
#include "util.h"

#define MAP_INITIAL  ((size_t)1 << 20)
#define MAP_MAX      ((size_t)1 << 32)
#define RECORD_MAGIC 0x314c4650u /* "PFL1": a window */
#define VALUE_MAGIC  0x31564650u /* "PFV1": a value */
#define SWEEP_STEPS  8           /* keys looked at per add */
#define SYNC_MS      1000        /* commits reach the disk within this */
#define BAD_RECORD   (-1)        /* the reason is already in err */
#define ROLLBACK     (-2)        /* done, but abort: nothing to write */

/* See DURABILITY and THE MAP above. */
#define ENV_FLAGS                                                              \
	(MDB_NOSUBDIR | MDB_NOTLS | MDB_WRITEMAP | MDB_NOSYNC | MDB_NOMETASYNC)

struct record_head {
	uint32_t magic;
	uint32_t keep_s; /* window + one bucket, seconds */
};

struct value_head {
	uint32_t magic;
	uint32_t unused; /* zero */
	int64_t expires; /* wall clock, ms; 0: never */
};

/* One environment per file and process, shared by its handles. */
struct lenv {
	char *path;
	pid_t pid; /* the process that opened it */
	int mapfd; /* PATH, for the map lock and the file's size */
	MDB_env *env;
	MDB_dbi dbi;
	pthread_mutex_t lock; /* one transaction at a time */
	int refs;
	/* the syncer: flushes the commits to disk every SYNC_MS */
	pthread_t syncer;
	bool syncing;              /* it runs (else commits sync) */
	pthread_mutex_t sync_lock; /* guards the three below */
	pthread_cond_t sync_cond;  /* wakes it to stop */
	bool stop;
	uint64_t commits;                  /* write commits so far */
	char sweep[PFL_STORE_KEY_MAX + 1]; /* where the sweep goes on */
	struct lenv *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lenv *registry;

struct store_lmdb {
	struct pfl_store base; /* first: the handle callers hold */
	char *path;            /* absolute */
	pthread_mutex_t lock;  /* guards le */
	struct lenv *le;       /* NULL until first use in this process */
};

/* A transaction body: returns 0, MDB_NOTFOUND, an MDB error or BAD_RECORD */
typedef int (*txn_body)(struct lenv *, MDB_txn *, void *);

/* lmdb_kind - the backend's name */
static const char *
lmdb_kind(void)
{
	return "lmdb";
}

/* absolute_path - PATH with its directory resolved; NULL and err if bad */
static char *
absolute_path(const char *arg, char *err, size_t n)
{
	char *copy = pfl_xstrdup(arg), *slash, *dir, real[PATH_MAX], *out;
	const char *base;
	size_t len;

	slash = strrchr(copy, '/');
	dir = slash == NULL ? "." : slash == copy ? "/" : copy;
	base = slash == NULL ? copy : slash + 1;
	if (slash != NULL)
		*slash = '\0';
	if (*base == '\0' || realpath(dir, real) == NULL) {
		pfl_store_error(err, n, "lmdb %s: %s", arg,
		    *base == '\0' ? "no file name" : strerror(errno));
		free(copy);
		return NULL;
	}
	len = strlen(real) + strlen(base) + 2;
	out = pfl_xmalloc(len);
	snprintf(out, len, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
	free(copy);
	return out;
}

/* lmdb_open - check the path; the environment opens at first use */
static struct pfl_store *
lmdb_open(const char *arg, unsigned timeout_ms, char *err, size_t n)
{
	struct store_lmdb *sl;
	struct stat sb;
	char *path;

	(void)timeout_ms;
	if ((path = absolute_path(arg, err, n)) == NULL)
		return NULL;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		pfl_store_error(err, n, "lmdb %s: not a regular file", path);
		free(path);
		return NULL;
	}
	sl = pfl_xcalloc(1, sizeof(*sl));
	sl->path = path;
	pthread_mutex_init(&sl->lock, NULL);
	return &sl->base;
}

/*
 * map_begin - take the map lock: the file's flock, held by whoever
 * changes the size of a map onto it; 0 or an errno value
 */
static int
map_begin(struct lenv *le)
{
	while (flock(le->mapfd, LOCK_EX) != 0)
		if (errno != EINTR)
			return errno;
	return 0;
}

/* map_end - let go of the map lock */
static void
map_end(struct lenv *le)
{
	(void)flock(le->mapfd, LOCK_UN);
}

/*
 * map_size - under the map lock: the size to map when want is asked,
 * never below the file's size (a map is as long as the file: LMDB
 * truncates the file to the map's size), the file allocated that far
 * so that a full disk is ENOSPC here and not SIGBUS on a store into
 * the map; 0 or an errno value
 */
static int
map_size(struct lenv *le, size_t want, size_t *size_r)
{
	struct stat sb;

	if (fstat(le->mapfd, &sb) != 0)
		return errno;
	if ((uint64_t)sb.st_size > want)
		want = (size_t)sb.st_size;
	if (fallocate(le->mapfd, 0, 0, (off_t)want) != 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return errno;
	*size_r = want;
	return 0;
}

/*
 * env_open_locked - under the map lock: the environment, mapped no
 * shorter than the file (a new file is allocated once LMDB wrote its
 * head: it reads a file of zeros as no LMDB file)
 */
static int
env_open_locked(struct lenv *le)
{
	MDB_envinfo info;
	struct stat sb;
	size_t size;
	int rc;

	if (fstat(le->mapfd, &sb) != 0)
		return errno;
	size = (uint64_t)sb.st_size > MAP_INITIAL ? (size_t)sb.st_size
						  : MAP_INITIAL;
	if ((rc = mdb_env_set_mapsize(le->env, size)) == 0 &&
	    (rc = mdb_env_open(le->env, le->path, ENV_FLAGS, 0600)) == 0 &&
	    (rc = mdb_env_info(le->env, &info)) == 0)
		rc = map_size(le, info.me_mapsize, &size);
	return rc;
}

/* env_open - open the file's environment and its main database */
static int
env_open(struct lenv *le)
{
	MDB_txn *txn;
	int rc, dead;

	le->mapfd = open(le->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (le->mapfd < 0)
		return errno;
	if ((rc = mdb_env_create(&le->env)) != 0) {
		close(le->mapfd);
		return rc;
	}
	if ((rc = map_begin(le)) == 0) {
		rc = env_open_locked(le);
		map_end(le);
	}
	if (rc == 0 && (rc = mdb_reader_check(le->env, &dead)) == 0 &&
	    (rc = mdb_txn_begin(le->env, NULL, MDB_RDONLY, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, NULL, 0, &le->dbi)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc != 0) {
		mdb_env_close(le->env);
		le->env = NULL;
		close(le->mapfd);
	}
	return rc;
}

/* sync_wait - sleep until SYNC_MS passed or stop; true to stop */
static bool
sync_wait(struct lenv *le, uint64_t *commits_r)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SYNC_MS / 1000;
	until.tv_nsec += (long)(SYNC_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&le->sync_lock);
	while (!le->stop &&
	    pthread_cond_timedwait(&le->sync_cond, &le->sync_lock, &until) !=
		ETIMEDOUT)
		;
	stop = le->stop;
	*commits_r = le->commits;
	pthread_mutex_unlock(&le->sync_lock);
	return stop;
}

/*
 * syncer - the environment's sync thread: every SYNC_MS, and once more
 * when told to stop, flush what was committed since the last flush. A
 * failed flush is not reported: the kernel still writes the pages back,
 * and the commits are already visible to every process.
 */
static void *
syncer(void *arg)
{
	struct lenv *le = arg;
	uint64_t done = 0, now;
	bool stop;

	do {
		stop = sync_wait(le, &now);
		if (now != done)
			(void)mdb_env_sync(le->env, 1);
		done = now;
	} while (!stop);
	return NULL;
}

/* sync_start - start the syncer; without one, every commit syncs */
static void
sync_start(struct lenv *le)
{
	pthread_condattr_t ca;
	sigset_t all, old;

	pthread_mutex_init(&le->sync_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&le->sync_cond, &ca);
	pthread_condattr_destroy(&ca);
	/* the thread takes no signal meant for the process */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	le->syncing = pthread_create(&le->syncer, NULL, syncer, le) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!le->syncing)
		(void)mdb_env_set_flags(
		    le->env, MDB_NOSYNC | MDB_NOMETASYNC, 0);
}

/* sync_stop - stop the syncer after its last flush */
static void
sync_stop(struct lenv *le)
{
	if (le->syncing) {
		pthread_mutex_lock(&le->sync_lock);
		le->stop = true;
		pthread_cond_signal(&le->sync_cond);
		pthread_mutex_unlock(&le->sync_lock);
		pthread_join(le->syncer, NULL);
	}
	pthread_cond_destroy(&le->sync_cond);
	pthread_mutex_destroy(&le->sync_lock);
}

/* sync_note - a write transaction committed: the syncer has work */
static void
sync_note(struct lenv *le)
{
	pthread_mutex_lock(&le->sync_lock);
	le->commits++;
	pthread_mutex_unlock(&le->sync_lock);
}

/* lenv_get - this process's environment for path, opened if need be */
static struct lenv *
lenv_get(const char *path, char *err, size_t n)
{
	struct lenv *le;
	pid_t pid = getpid();
	int rc;

	pthread_mutex_lock(&registry_lock);
	for (le = registry; le != NULL; le = le->next)
		if (le->pid == pid && strcmp(le->path, path) == 0)
			break;
	if (le == NULL) {
		le = pfl_xcalloc(1, sizeof(*le));
		le->path = pfl_xstrdup(path);
		le->pid = pid;
		if ((rc = env_open(le)) != 0) {
			pfl_store_error(
			    err, n, "lmdb %s: %s", path, mdb_strerror(rc));
			free(le->path);
			free(le);
			pthread_mutex_unlock(&registry_lock);
			return NULL;
		}
		pthread_mutex_init(&le->lock, NULL);
		sync_start(le);
		le->next = registry;
		registry = le;
	}
	le->refs++;
	pthread_mutex_unlock(&registry_lock);
	return le;
}

/* lenv_put - drop a reference; the last one closes the environment */
static void
lenv_put(struct lenv *le)
{
	struct lenv **lp;

	pthread_mutex_lock(&registry_lock);
	if (--le->refs > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (lp = &registry; *lp != le; lp = &(*lp)->next)
		;
	*lp = le->next;
	pthread_mutex_unlock(&registry_lock);
	sync_stop(le);
	mdb_env_close(le->env);
	close(le->mapfd);
	pthread_mutex_destroy(&le->lock);
	free(le->path);
	free(le);
}

/* attach - the handle's environment in this process */
static struct lenv *
attach(struct store_lmdb *sl, char *err, size_t n)
{
	struct lenv *le;

	pthread_mutex_lock(&sl->lock);
	if (sl->le != NULL && sl->le->pid != getpid())
		sl->le = NULL; /* inherited across fork: leave it alone */
	if (sl->le == NULL)
		sl->le = lenv_get(sl->path, err, n);
	le = sl->le;
	pthread_mutex_unlock(&sl->lock);
	return le;
}

/* lmdb_close - drop the handle's environment and free it */
static void
lmdb_close(struct pfl_store *st)
{
	struct store_lmdb *sl = (struct store_lmdb *)st;

	if (sl->le != NULL && sl->le->pid == getpid())
		lenv_put(sl->le);
	pthread_mutex_destroy(&sl->lock);
	free(sl->path);
	free(sl);
}

/* lock_within - take the process's transaction lock, waiting at most ms */
static int
lock_within(pthread_mutex_t *lock, unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(lock, &until);
}

/*
 * remap - map want bytes, or the whole file when it is longer (no
 * transaction is open); 0, or an errno or MDB error
 */
static int
remap(struct lenv *le, size_t want)
{
	size_t size;
	int rc;

	if ((rc = map_begin(le)) != 0)
		return rc;
	if ((rc = map_size(le, want, &size)) == 0)
		rc = mdb_env_set_mapsize(le->env, size);
	map_end(le);
	return rc;
}

/* grow - double the map after MDB_MAP_FULL (no transaction is open) */
static int
grow(struct lenv *le)
{
	MDB_envinfo info;
	size_t size;

	if (mdb_env_info(le->env, &info) != 0 || info.me_mapsize >= MAP_MAX)
		return MDB_MAP_FULL;
	size = info.me_mapsize * 2 > MAP_MAX ? MAP_MAX : info.me_mapsize * 2;
	return remap(le, size);
}

/* attempt - one transaction running body; commits a write when it is 0 */
static int
attempt(struct lenv *le, bool write, txn_body body, void *arg)
{
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(le->env, NULL, write ? 0 : MDB_RDONLY, &txn);
	if (rc == MDB_MAP_RESIZED) /* another process grew the map */
		return remap(le, 0) == 0 ? MDB_MAP_RESIZED : MDB_PANIC;
	if (rc != 0)
		return rc;
	if ((rc = body(le, txn, arg)) == 0 && write) {
		if ((rc = mdb_txn_commit(txn)) == 0)
			sync_note(le);
		return rc;
	}
	mdb_txn_abort(txn);
	return rc == ROLLBACK ? 0 : rc;
}

/* run - body in a transaction, retried after the map grew */
static enum pfl_store_status
run(struct store_lmdb *sl, bool write, txn_body body, void *arg, char *err,
    size_t errlen)
{
	struct lenv *le;
	int rc;

	if ((le = attach(sl, err, errlen)) == NULL)
		return PFL_STORE_TEMPFAIL;
	if ((rc = lock_within(&le->lock, sl->base.timeout_ms)) != 0) {
		pfl_store_error(err, errlen, "lmdb %s: busy for %u ms",
		    sl->path, sl->base.timeout_ms);
		return PFL_STORE_TEMPFAIL;
	}
	while ((rc = attempt(le, write, body, arg)) == MDB_MAP_RESIZED ||
	    (rc == MDB_MAP_FULL && (rc = grow(le)) == 0))
		;
	pthread_mutex_unlock(&le->lock);
	if (rc == 0)
		return PFL_STORE_OK;
	if (rc == MDB_NOTFOUND)
		return PFL_STORE_NOTFOUND;
	if (rc != BAD_RECORD)
		pfl_store_error(
		    err, errlen, "lmdb %s: %s", sl->path, mdb_strerror(rc));
	return PFL_STORE_TEMPFAIL;
}

/* decode - a record into b; false when it is not one of ours */
static bool
decode(const MDB_val *v, struct pfl_store_buckets *b, uint32_t *keep_r)
{
	struct record_head h;
	size_t n, i;

	if (v->mv_size < sizeof(h) ||
	    (v->mv_size - sizeof(h)) % sizeof(b->v[0]) != 0)
		return false;
	memcpy(&h, v->mv_data, sizeof(h));
	n = (v->mv_size - sizeof(h)) / sizeof(b->v[0]);
	if (h.magic != RECORD_MAGIC)
		return false;
	b->v = pfl_xcalloc(n ? n : 1, sizeof(b->v[0]));
	b->n = b->cap = n;
	memcpy(b->v, (const char *)v->mv_data + sizeof(h), n * sizeof(b->v[0]));
	for (i = 0; i < n; i++)
		if (b->v[i].width == 0 || b->v[i].count == 0)
			return false;
	if (keep_r != NULL)
		*keep_r = h.keep_s;
	return true;
}

/* as_value - the head of a value record; false when v is none */
static bool
as_value(const MDB_val *v, struct value_head *h)
{
	if (v->mv_size < sizeof(*h))
		return false;
	memcpy(h, v->mv_data, sizeof(*h));
	return h->magic == VALUE_MAGIC;
}

/* is_window - does v carry a window record's magic? */
static bool
is_window(const MDB_val *v)
{
	struct record_head h;

	if (v->mv_size < sizeof(h))
		return false;
	memcpy(&h, v->mv_data, sizeof(h));
	return h.magic == RECORD_MAGIC;
}

/*
 * load - the key's buckets (none stored, or a value that expired:
 * empty); 0, or BAD_RECORD
 */
static int
load(struct lenv *le, MDB_txn *txn, MDB_val *k, struct pfl_store_buckets *b,
    uint32_t *keep_r, char *err, size_t errlen)
{
	struct value_head h = { 0 };
	char shown[64];
	MDB_val v;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = mdb_get(txn, le->dbi, k, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (decode(&v, b, keep_r))
		return 0;
	pfl_store_buckets_free(b);
	if (as_value(&v, &h) &&
	    pfl_store_expired(h.expires, pfl_store_now_ms()))
		return 0; /* as if no key: the write replaces it */
	pfl_store_error(err, errlen, "lmdb %s: key %s holds %s", le->path,
	    pfl_printable(shown, sizeof(shown), k->mv_data, NULL),
	    h.magic == VALUE_MAGIC ? "a value, not a window"
				   : "no window record (delete it)");
	return BAD_RECORD;
}

/* save - write the key's buckets back, or delete it when none are left */
static int
save(struct lenv *le, MDB_txn *txn, MDB_val *k,
    const struct pfl_store_buckets *b, uint32_t keep_s)
{
	struct record_head h = { RECORD_MAGIC, keep_s };
	MDB_val v;
	int rc;

	if (b->n == 0) {
		rc = mdb_del(txn, le->dbi, k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	v.mv_size = sizeof(h) + b->n * sizeof(b->v[0]);
	if ((rc = mdb_put(txn, le->dbi, k, &v, MDB_RESERVE)) != 0)
		return rc;
	memcpy(v.mv_data, &h, sizeof(h));
	memcpy((char *)v.mv_data + sizeof(h), b->v, b->n * sizeof(b->v[0]));
	return 0;
}

/*
 * expired - does the record under the cursor hold only aged-out buckets,
 * or a value whose time ran out (on the wall clock, now_ms)?
 */
static bool
expired(const MDB_val *v, time_t now, int64_t now_ms)
{
	struct pfl_store_buckets b = { 0 };
	struct value_head h;
	uint32_t keep = 0;
	bool gone;

	if (as_value(v, &h))
		return pfl_store_expired(h.expires, now_ms);
	/* a record that does not decode waits for an explicit delete */
	gone = decode(v, &b, &keep) && pfl_store_buckets_expired(&b, now, keep);
	pfl_store_buckets_free(&b);
	return gone;
}

/* sweep - look at a few keys after the last one seen; delete dead ones */
static int
sweep(struct lenv *le, MDB_txn *txn, const MDB_val *written, time_t now)
{
	MDB_cursor *cur;
	MDB_val k = { strlen(le->sweep), le->sweep }, v;
	int64_t now_ms = pfl_store_now_ms();
	int rc, i;

	if ((rc = mdb_cursor_open(txn, le->dbi, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	for (i = 0; i < SWEEP_STEPS && rc == 0; i++) {
		if (!(k.mv_size == written->mv_size &&
			memcmp(k.mv_data, written->mv_data, k.mv_size) == 0) &&
		    expired(&v, now, now_ms) &&
		    (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == 0 && k.mv_size < sizeof(le->sweep)) {
		memcpy(le->sweep, k.mv_data, k.mv_size);
		le->sweep[k.mv_size] = '\0';
	} else if (rc == MDB_NOTFOUND) {
		le->sweep[0] = '\0'; /* at the end: start over next time */
		rc = 0;
	}
	mdb_cursor_close(cur);
	return rc;
}

struct add_args {
	const char *key;
	const struct pfl_window *w;
	time_t now;
	uint64_t n, limit;
	struct pfl_window_result *r;
	char *err;
	size_t errlen;
};

/* add_body - read, add, write back, sweep: one write transaction */
static int
add_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct add_args *a = arg;
	MDB_val k = { strlen(a->key), (void *)a->key };
	struct pfl_store_buckets b;
	uint32_t keep = a->w->bucket_s * (a->w->nbuckets + 1);
	int rc;

	if ((rc = load(le, txn, &k, &b, NULL, a->err, a->errlen)) != 0)
		return rc;
	if (pfl_store_buckets_window_add(
		&b, a->w, a->now, a->n, a->limit, a->r))
		rc = save(le, txn, &k, &b, keep);
	pfl_store_buckets_free(&b);
	return rc != 0 ? rc : sweep(le, txn, &k, a->now);
}

/* lmdb_window_add - the window add in one write transaction */
static enum pfl_store_status
lmdb_window_add(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen)
{
	struct add_args a = { key, w, now, n, limit, r, err, errlen };

	return run((struct store_lmdb *)st, true, add_body, &a, err, errlen);
}

struct many_args {
	const struct pfl_window_op *ops;
	size_t nops;
	time_t now;
	struct pfl_window_result *res;
	size_t *at_r; /* the op being worked on, then nops when all admit */
	char *err;
	size_t errlen;
};

/* many_one - op i in the transaction: read, add, write back */
static int
many_one(struct lenv *le, MDB_txn *txn, struct many_args *a, size_t i)
{
	const struct pfl_window_op *op = &a->ops[i];
	MDB_val k = { strlen(op->key), (void *)op->key };
	struct pfl_store_buckets b;
	uint32_t keep = op->w.bucket_s * (op->w.nbuckets + 1);
	int rc;

	if ((rc = load(le, txn, &k, &b, NULL, a->err, a->errlen)) != 0)
		return rc;
	if (pfl_store_buckets_window_add(
		&b, &op->w, a->now, op->n, op->limit, &a->res[i]) &&
	    a->res[i].admitted)
		rc = save(le, txn, &k, &b, keep);
	pfl_store_buckets_free(&b);
	return rc;
}

/*
 * many_body - every add in one write transaction, which is aborted
 * (nothing written) at the first refusal; a write transaction sees its
 * own writes, so a key named twice counts its earlier add
 */
static int
many_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct many_args *a = arg;
	struct pfl_window_result refused;
	MDB_val k;
	size_t i;
	int rc;

	memset(a->res, 0, a->nops * sizeof(*a->res));
	for (i = 0; i < a->nops; i++) {
		*a->at_r = i;
		if ((rc = many_one(le, txn, a, i)) != 0)
			return rc;
		if (!a->res[i].admitted) {
			refused = a->res[i];
			memset(a->res, 0, a->nops * sizeof(*a->res));
			a->res[i] = refused;
			return ROLLBACK;
		}
	}
	*a->at_r = a->nops;
	k.mv_size = strlen(a->ops[0].key);
	k.mv_data = (void *)a->ops[0].key;
	return sweep(le, txn, &k, a->now);
}

/* lmdb_window_add_many - all the adds or none, in one write transaction */
static enum pfl_store_status
lmdb_window_add_many(struct pfl_store *st, const struct pfl_window_op *ops,
    size_t nops, time_t now, struct pfl_window_result *res, size_t *at_r,
    char *err, size_t errlen)
{
	struct many_args a = { ops, nops, now, res, at_r, err, errlen };
	enum pfl_store_status s;

	*at_r = 0; /* a failure before the first op belongs to none */
	s = run((struct store_lmdb *)st, true, many_body, &a, err, errlen);
	if (s != PFL_STORE_OK) {
		memset(res, 0, nops * sizeof(*res));
		if (*at_r >= nops)
			*at_r = 0; /* the commit failed */
	}
	return s;
}

struct total_args {
	const char *key;
	const struct pfl_window *w;
	time_t now;
	uint64_t *total_r;
	char *err;
	size_t errlen;
};

/* total_body - the window's count in a read transaction */
static int
total_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct total_args *a = arg;
	MDB_val k = { strlen(a->key), (void *)a->key };
	struct pfl_store_buckets b;
	size_t live = 0;
	int rc;

	if ((rc = load(le, txn, &k, &b, NULL, a->err, a->errlen)) != 0)
		return rc;
	*a->total_r = pfl_store_buckets_window_total(&b, a->w, a->now, &live);
	pfl_store_buckets_free(&b);
	return live > 0 ? 0 : MDB_NOTFOUND;
}

/* lmdb_window_total - the window's count, changing nothing */
static enum pfl_store_status
lmdb_window_total(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *total_r, char *err,
    size_t errlen)
{
	struct total_args a = { key, w, now, total_r, err, errlen };

	return run((struct store_lmdb *)st, false, total_body, &a, err, errlen);
}

struct release_args {
	const char *key;
	const struct pfl_window *w;
	time_t bucket;
	uint64_t n;
	char *err;
	size_t errlen;
};

/* release_body - take n back from one bucket, if it is still there */
static int
release_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct release_args *a = arg;
	MDB_val k = { strlen(a->key), (void *)a->key };
	struct pfl_store_buckets b;
	uint32_t keep = 0;
	int rc;

	if ((rc = load(le, txn, &k, &b, &keep, a->err, a->errlen)) != 0)
		return rc;
	if (pfl_store_buckets_release(&b, a->w, a->bucket, a->n))
		rc = save(le, txn, &k, &b, keep);
	pfl_store_buckets_free(&b);
	return rc;
}

/* lmdb_window_release - take back a reservation */
static enum pfl_store_status
lmdb_window_release(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n, char *err,
    size_t errlen)
{
	struct release_args a = { key, w, bucket, n, err, errlen };

	return run(
	    (struct store_lmdb *)st, true, release_body, &a, err, errlen);
}

struct put_args {
	const char *key;
	const void *val;
	size_t len;
	int64_t expires;
};

/* put_body - write the value record over whatever the key held */
static int
put_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct put_args *a = arg;
	struct value_head h = { VALUE_MAGIC, 0, a->expires };
	MDB_val k = { strlen(a->key), (void *)a->key }, v;
	int rc;

	v.mv_size = sizeof(h) + a->len;
	if ((rc = mdb_put(txn, le->dbi, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	memcpy(v.mv_data, &h, sizeof(h));
	memcpy((char *)v.mv_data + sizeof(h), a->val, a->len);
	return 0;
}

/* lmdb_put - set a value in one write transaction */
static enum pfl_store_status
lmdb_put(struct pfl_store *st, const char *key, const void *val, size_t len,
    unsigned ttl_s, char *err, size_t errlen)
{
	struct put_args a = { key, val, len, pfl_store_expiry(ttl_s) };

	return run((struct store_lmdb *)st, true, put_body, &a, err, errlen);
}

struct get_args {
	const char *key;
	void *buf;
	size_t n, *len_r;
	char *err;
	size_t errlen;
};

/* get_body - copy out a live value; a window or an expired one is none */
static int
get_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct get_args *a = arg;
	MDB_val k = { strlen(a->key), (void *)a->key }, v;
	struct value_head h;
	char shown[64];
	size_t len;
	int rc;

	if ((rc = mdb_get(txn, le->dbi, &k, &v)) != 0)
		return rc;
	if (as_value(&v, &h)) {
		if (pfl_store_expired(h.expires, pfl_store_now_ms()))
			return MDB_NOTFOUND;
		len = v.mv_size - sizeof(h);
		memcpy(a->buf, (const char *)v.mv_data + sizeof(h),
		    len < a->n ? len : a->n);
		*a->len_r = len;
		return 0;
	}
	if (is_window(&v))
		return MDB_NOTFOUND;
	pfl_store_error(a->err, a->errlen,
	    "lmdb %s: key %s holds no record of ours (delete it)", le->path,
	    pfl_printable(shown, sizeof(shown), a->key, NULL));
	return BAD_RECORD;
}

/* lmdb_get - a key's value in a read transaction */
static enum pfl_store_status
lmdb_get(struct pfl_store *st, const char *key, void *buf, size_t n,
    size_t *len_r, char *err, size_t errlen)
{
	struct get_args a = { key, buf, n, len_r, err, errlen };

	return run((struct store_lmdb *)st, false, get_body, &a, err, errlen);
}

struct del_args {
	const char *key;
	bool expired; /* the key held a value whose time had run out */
};

/* del_body - delete the key's record */
static int
del_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct del_args *a = arg;
	MDB_val k = { strlen(a->key), (void *)a->key }, v;
	struct value_head h;
	int rc;

	if ((rc = mdb_get(txn, le->dbi, &k, &v)) != 0)
		return rc;
	a->expired = as_value(&v, &h) &&
	    pfl_store_expired(h.expires, pfl_store_now_ms());
	return mdb_del(txn, le->dbi, &k, NULL);
}

/* lmdb_del - forget a key; one that had just expired was not there */
static enum pfl_store_status
lmdb_del(struct pfl_store *st, const char *key, char *err, size_t errlen)
{
	struct del_args a = { key, false };
	enum pfl_store_status s;

	s = run((struct store_lmdb *)st, true, del_body, &a, err, errlen);
	return s == PFL_STORE_OK && a.expired ? PFL_STORE_NOTFOUND : s;
}

struct list_args {
	const char *prefix;
	char **keys; /* collected copies */
	size_t n, cap;
};

/* list_body - collect the keys that start with the prefix, in order */
static int
list_body(struct lenv *le, MDB_txn *txn, void *arg)
{
	struct list_args *a = arg;
	size_t plen = strlen(a->prefix);
	int64_t now_ms = pfl_store_now_ms();
	struct value_head h;
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)a->prefix }, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, le->dbi, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, a->prefix, plen))
			break;
		if (as_value(&v, &h) && pfl_store_expired(h.expires, now_ms))
			continue;
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 64;
			a->keys =
			    pfl_xrealloc(a->keys, a->cap * sizeof(char *));
		}
		a->keys[a->n++] = pfl_xstrndup(k.mv_data, k.mv_size);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* lmdb_list - call fn for each key starting with prefix, no lock held */
static enum pfl_store_status
lmdb_list(struct pfl_store *st, const char *prefix,
    int (*fn)(const char *, void *), void *arg, char *err, size_t errlen)
{
	struct list_args a = { prefix, NULL, 0, 0 };
	enum pfl_store_status s;
	bool stop = false;
	size_t i;

	s = run((struct store_lmdb *)st, false, list_body, &a, err, errlen);
	for (i = 0; i < a.n; i++) {
		if (s == PFL_STORE_OK && !stop && fn(a.keys[i], arg) != 0)
			stop = true;
		free(a.keys[i]);
	}
	free(a.keys);
	return s;
}

const struct pfl_store_ops pfl_store_lmdb_ops = {
	.kind = lmdb_kind,
	.open = lmdb_open,
	.close = lmdb_close,
	.window_add = lmdb_window_add,
	.window_add_many = lmdb_window_add_many,
	.window_total = lmdb_window_total,
	.window_release = lmdb_window_release,
	.put = lmdb_put,
	.get = lmdb_get,
	.del = lmdb_del,
	.list = lmdb_list,
};
