/*
 * NAME
 *	store_redis_conn - the Redis backend's connections and requests
 * DESCRIPTION
 *	Each thread has its own connection (a pthread key), made at its
 *	first request: AUTH, SELECT and SCRIPT LOAD of both scripts. A
 *	request names its script by index and goes as EVALSHA, as EVAL
 *	when the server answers NOSCRIPT. A connection that fails is
 *	dropped; the next request connects again. A connection that was
 *	idle and turns out dead (the server restarted) is retried once
 *	within the same request. Several requests may be written together
 *	and their replies read in order (pfl_redis_call_pipe).
 * ERRORS
 *	TEMPFAIL with "redis HOST:PORT: reason". Connect, every command and
 *	the whole request are bounded by the deadline. SIGPIPE is held off
 *	while a command is written, so a closed connection cannot kill the
 *	process.
 */
#include <autoconfig.h>

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store_redis.h"
#include "util.h"

#define TIMEOUT_SLACK_MS 64

/* pfl_redis_conn_free - a connection's end: at thread exit, close, or after fork */
void
pfl_redis_conn_free(void *arg)
{
	struct conn *cn = arg;
	struct store_redis *sr = cn->owner;

	pthread_mutex_lock(&sr->lock);
	if (cn->prev != NULL)
		cn->prev->next = cn->next;
	else
		sr->conns = cn->next;
	if (cn->next != NULL)
		cn->next->prev = cn->prev;
	pthread_mutex_unlock(&sr->lock);
	if (cn->c != NULL)
		redisFree(cn->c); /* in a child: closes only its copy */
	free(cn);
}

/* pfl_redis_now_ms - a monotonic clock in milliseconds */
int64_t
pfl_redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time_left - what remains until the deadline; false when nothing does */
static bool
time_left(int64_t deadline, struct timeval *tv)
{
	int64_t ms = deadline - pfl_redis_now_ms();

	if (ms <= 0)
		return false; /* a zero socket timeout would mean "forever" */
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return true;
}

/* hold_sigpipe - block SIGPIPE while writing; remembers if one was due */
static bool
hold_sigpipe(sigset_t *old)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	pthread_sigmask(SIG_BLOCK, &pipe, old);
	return sigismember(&pending, SIGPIPE) == 1;
}

/* release_sigpipe - swallow a SIGPIPE our write raised; restore the mask */
static void
release_sigpipe(const sigset_t *old, bool was_pending)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/*
 * set_timeout - the socket timeout of cn's next command: tv, or up to
 * TIMEOUT_SLACK_MS less when that is what is set already (a timeout
 * may come early, never late), so that the two setsockopt calls are
 * made once in a while, not at every request
 */
static bool
set_timeout(struct conn *cn, const struct timeval *tv)
{
	int64_t have = (int64_t)cn->tv.tv_sec * 1000 + cn->tv.tv_usec / 1000;
	int64_t want = (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;

	if (have != 0 && have <= want && want - have < TIMEOUT_SLACK_MS)
		return true;
	if (redisSetTimeout(cn->c, *tv) != 0)
		return false;
	cn->tv = *tv;
	return true;
}

/* as_evalsha - a script's request goes by the SHA1 cn loaded */
static void
as_evalsha(struct conn *cn, struct request *q)
{
	q->argv[0] = "EVALSHA";
	q->argv[1] = cn->sha[q->script];
	q->len[0] = 7;
	q->len[1] = strlen(cn->sha[q->script]);
}

/* as_eval - a script's request goes with the script's text */
static void
as_eval(struct request *q)
{
	q->argv[0] = "EVAL";
	q->argv[1] = pfl_redis_scripts[q->script].text;
	q->len[0] = 4;
	q->len[1] = pfl_redis_scripts[q->script].len;
}

/*
 * exchange - write the requests of items[0..n) on cn together (a
 * script's by EVALSHA) and read their replies, in order, into the
 * items; returns how many came, with the reason the next did not in err
 */
static size_t
exchange(struct store_redis *sr, struct conn *cn, struct pfl_redis_item **items,
    size_t n, int64_t deadline, bool *timeout_r, char *err, size_t errlen)
{
	struct timeval tv;
	struct request *q;
	sigset_t old;
	size_t got = 0, i;
	bool pending;
	void *r;
	int saved = 0;

	*timeout_r = true;
	if (!time_left(deadline, &tv) || !set_timeout(cn, &tv)) {
		pfl_store_error(err, errlen, "redis %s: timed out", sr->name);
		return 0;
	}
	for (i = 0; i < n; i++) {
		q = items[i]->q;
		if (q->script != NO_SCRIPT)
			as_evalsha(cn, q);
		if (redisAppendCommandArgv(cn->c, q->argc, q->argv, q->len) !=
		    REDIS_OK) {
			*timeout_r = false;
			pfl_store_error(err, errlen, "redis %s: %s", sr->name,
			    cn->c->errstr);
			return 0;
		}
	}
	pending = hold_sigpipe(&old);
	for (; got < n; got++) {
		if (redisGetReply(cn->c, &r) != REDIS_OK || r == NULL) {
			saved = errno;
			break;
		}
		items[got]->r = r;
	}
	release_sigpipe(&old, pending);
	if (got == n)
		return got;
	*timeout_r = cn->c->err == REDIS_ERR_IO &&
	    (saved == EAGAIN || saved == EWOULDBLOCK);
	pfl_store_error(err, errlen, "redis %s: %s", sr->name,
	    *timeout_r ? "timed out" : cn->c->errstr);
	return got;
}

/* send_argv - one command and its reply; NULL with the reason in err */
static redisReply *
send_argv(struct store_redis *sr, struct conn *cn, int64_t deadline, int argc,
    const char **argv, const size_t *len, bool *timeout_r, char *err,
    size_t errlen)
{
	struct request q = { argc, argv, (size_t *)len, NO_SCRIPT, false };
	struct pfl_redis_item it = { .q = &q }, *p = &it;

	if (exchange(sr, cn, &p, 1, deadline, timeout_r, err, errlen) != 1)
		return NULL;
	return it.r;
}

/* pfl_redis_expect - a reply of the given type, else false with the reason */
bool
pfl_redis_expect(struct store_redis *sr, redisReply *r, int type,
    const char *what, char *err, size_t errlen)
{
	char shown[128];
	bool ok = r != NULL && r->type == type;

	if (r != NULL && !ok)
		pfl_store_error(err, errlen, "redis %s: %s: %s", sr->name, what,
		    r->type == REDIS_REPLY_ERROR
			? pfl_printable(shown, sizeof(shown), r->str, NULL)
			: "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

/* load_scripts - SCRIPT LOAD each script; its SHA1 into cn */
static bool
load_scripts(struct store_redis *sr, struct conn *cn, int64_t deadline,
    char *err, size_t errlen)
{
	const char *argv[3] = { "SCRIPT", "LOAD", NULL };
	size_t len[3] = { 6, 4, 0 }, i;
	redisReply *r;
	bool to;

	for (i = 0; i < NSCRIPTS; i++) {
		argv[2] = pfl_redis_scripts[i].text;
		len[2] = pfl_redis_scripts[i].len;
		r = send_argv(sr, cn, deadline, 3, argv, len, &to, err, errlen);
		if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40)
			memcpy(cn->sha[i], r->str, 41);
		if (!pfl_redis_expect(sr, r, REDIS_REPLY_STRING, "SCRIPT LOAD",
			err, errlen) ||
		    cn->sha[i][0] == '\0')
			return false;
	}
	return true;
}

/* setup - AUTH, SELECT and SCRIPT LOAD on a new connection */
static bool
setup(struct store_redis *sr, struct conn *cn, int64_t deadline, char *err,
    size_t errlen)
{
	const char *argv[3];
	char db[16];
	bool to;
	int n = 1;

	argv[0] = "AUTH";
	if (sr->user != NULL)
		argv[n++] = sr->user;
	argv[n++] = sr->password;
	if (sr->password != NULL &&
	    !pfl_redis_expect(sr,
		send_argv(sr, cn, deadline, n, argv, NULL, &to, err, errlen),
		REDIS_REPLY_STATUS, "AUTH", err, errlen))
		return false;
	snprintf(db, sizeof(db), "%u", sr->db);
	argv[0] = "SELECT";
	argv[1] = db;
	if (sr->db != 0 &&
	    !pfl_redis_expect(sr,
		send_argv(sr, cn, deadline, 2, argv, NULL, &to, err, errlen),
		REDIS_REPLY_STATUS, "SELECT", err, errlen))
		return false;
	return load_scripts(sr, cn, deadline, err, errlen);
}

/* connect_to - a new connection, set up, within the deadline */
static bool
connect_to(struct store_redis *sr, struct conn *cn, int64_t deadline, char *err,
    size_t errlen)
{
	struct timeval tv;

	if (!time_left(deadline, &tv)) {
		pfl_store_error(err, errlen, "redis %s: timed out", sr->name);
		return false;
	}
	cn->tv = (struct timeval){ 0, 0 }; /* a new socket: none set yet */
	cn->c = redisConnectWithTimeout(sr->host, sr->port, tv);
	if (cn->c == NULL || cn->c->err != 0)
		pfl_store_error(err, errlen, "redis %s: connect: %s", sr->name,
		    cn->c ? cn->c->errstr : "out of memory");
	else if (setup(sr, cn, deadline, err, errlen))
		return true;
	if (cn->c != NULL)
		redisFree(cn->c);
	cn->c = NULL;
	memset(cn->sha, 0, sizeof(cn->sha));
	return false;
}

/* forget_parent - drop the connections a fork left us (none are ours) */
static void
forget_parent(struct store_redis *sr)
{
	struct conn *cn, *next;
	pid_t pid = getpid();

	pthread_setspecific(sr->key, NULL);
	pthread_mutex_lock(&sr->lock);
	cn = sr->conns;
	pthread_mutex_unlock(&sr->lock);
	for (; cn != NULL; cn = next) {
		next = cn->next;
		if (cn->pid != pid)
			pfl_redis_conn_free(cn);
	}
}

/* conn_get - this thread's connection, connected; NULL with the reason */
static struct conn *
conn_get(struct store_redis *sr, int64_t deadline, bool *fresh_r, char *err,
    size_t errlen)
{
	struct conn *cn = pthread_getspecific(sr->key);

	if (cn != NULL && cn->pid != getpid()) {
		forget_parent(sr);
		cn = NULL;
	}
	if (cn == NULL) {
		cn = pfl_xcalloc(1, sizeof(*cn));
		cn->owner = sr;
		cn->pid = getpid();
		pthread_mutex_lock(&sr->lock);
		if ((cn->next = sr->conns) != NULL)
			cn->next->prev = cn;
		sr->conns = cn;
		pthread_mutex_unlock(&sr->lock);
		pthread_setspecific(sr->key, cn);
	}
	*fresh_r = cn->c == NULL;
	if (cn->c == NULL && !connect_to(sr, cn, deadline, err, errlen))
		return NULL;
	return cn;
}

/* is_noscript - the server does not have our script (flushed, failover) */
static bool
is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* is_wrongtype - the key holds another type than the command wants */
static bool
is_wrongtype(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "WRONGTYPE", 9) == 0;
}

/* fail - items[from..n) get TEMPFAIL and the reason err */
static void
fail(struct pfl_redis_item **items, size_t from, size_t n, const char *err)
{
	for (; from < n; from++) {
		items[from]->r = NULL;
		items[from]->status = PFL_STORE_TEMPFAIL;
		snprintf(items[from]->err, sizeof(items[from]->err), "%s", err);
	}
}

/*
 * finish - an item with a reply: OK, TEMPFAIL for an error reply
 * (NOTFOUND for WRONGTYPE when the request says so); a script the
 * server did not have (NOSCRIPT) goes again by its text first, on cn
 * while it works (else it is TEMPFAIL)
 */
static void
finish(struct store_redis *sr, struct conn *cn, struct pfl_redis_item *it,
    int64_t deadline)
{
	struct request *q = it->q;
	bool to;

	if (q->script != NO_SCRIPT && is_noscript(it->r)) {
		freeReplyObject(it->r);
		it->r = NULL;
		as_eval(q);
		if (cn->c == NULL) {
			pfl_store_error(it->err, sizeof(it->err),
			    "redis %s: connection lost", sr->name);
			it->status = PFL_STORE_TEMPFAIL;
			return;
		}
		it->r = send_argv(sr, cn, deadline, q->argc, q->argv, q->len,
		    &to, it->err, sizeof(it->err));
		if (it->r == NULL) {
			redisFree(cn->c);
			cn->c = NULL;
			it->status = PFL_STORE_TEMPFAIL;
			return;
		}
	}
	it->status = PFL_STORE_OK;
	if (it->r->type != REDIS_REPLY_ERROR)
		return;
	it->status = PFL_STORE_TEMPFAIL;
	if (q->wrongtype_none && is_wrongtype(it->r)) {
		freeReplyObject(it->r);
		it->status = PFL_STORE_NOTFOUND;
	} else {
		pfl_redis_expect(sr, it->r, REDIS_REPLY_ARRAY, q->argv[0],
		    it->err, sizeof(it->err));
	}
	it->r = NULL;
}

/*
 * pfl_redis_call_pipe - the requests of items[0..n) on this thread's
 * connection, connecting as needed, written together and answered in
 * order; each item gets its reply and status, as pfl_redis_call tells.
 * Replies that came before a failure stand (their scripts ran); the
 * rest are TEMPFAIL.
 */
void
pfl_redis_call_pipe(struct store_redis *sr, struct pfl_redis_item **items,
    size_t n, int64_t deadline)
{
	char err[PFL_REDIS_ERR_MAX];
	struct conn *cn;
	bool fresh, timeout;
	size_t got, i;
	int tries;

	for (tries = 0;; tries++) {
		cn = conn_get(sr, deadline, &fresh, err, sizeof(err));
		if (cn == NULL) {
			fail(items, 0, n, err);
			return;
		}
		got = exchange(
		    sr, cn, items, n, deadline, &timeout, err, sizeof(err));
		if (got == n)
			break;
		redisFree(cn->c); /* unusable after an error */
		cn->c = NULL;
		/* an idle connection found dead: the server restarted */
		if (got > 0 || fresh || timeout || tries > 0)
			break;
	}
	if (got < n)
		fail(items, got, n, err);
	for (i = 0; i < got; i++)
		finish(sr, cn, items[i], deadline);
}

/*
 * pfl_redis_call - a request on this thread's connection, connecting
 * as needed; TEMPFAIL when no reply came in time or the server answered
 * an error (NOTFOUND for WRONGTYPE when the request says so).
 */
enum pfl_store_status
pfl_redis_call(struct store_redis *sr, struct request *q, int64_t deadline,
    redisReply **r, char *err, size_t errlen)
{
	struct pfl_redis_item it = { .q = q }, *p = &it;

	pfl_redis_call_pipe(sr, &p, 1, deadline);
	*r = it.r;
	if (it.status == PFL_STORE_TEMPFAIL)
		pfl_store_error(err, errlen, "%s", it.err);
	return it.status;
}
