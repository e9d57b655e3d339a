/*
 * NAME
 *	store_redis - the "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" backend
 * DESCRIPTION
 *	A fleet of MTAs shares budgets through one Redis server. A key is
 *	one Redis hash, "pfl:{KEY}" (the hash tag keeps it in one Redis
 *	Cluster slot), with one field per bucket, "START:WIDTH" = count,
 *	and the window's running sum ("sum", "win"; see store_redis_lua.c).
 *	Every window operation is one server-side Lua script (EVALSHA, EVAL
 *	when the server answers NOSCRIPT), so several milters sharing the
 *	server stay exact; it mirrors the bucket arithmetic of store.c. Every
 *	add sets the key's TTL to the window plus one bucket, so keys that
 *	are no longer written go away by themselves; list uses SCAN.
 *
 *	A batch (window_add_many) is one call of a second script with all
 *	its keys: one round trip per recipient, however many budgets apply;
 *	the batches of threads that ask at the same time go together in one
 *	write (store_redis_pipe.c).
 *	A script names its keys, so the batch is atomic on one server; on a
 *	Redis Cluster the keys of a batch would have to share a slot, which
 *	their hash tags do not give (this backend does not follow cluster
 *	redirections anyway). Both scripts are loaded at connect.
 *
 *	A value is a Redis string under the same name, set by SET (with EX
 *	for a time to live) and read by GET; Redis's own expiry drops it.
 *	GET on a window's hash answers WRONGTYPE, which is "no value" here;
 *	the window script refuses a key that is not a hash.
 *
 *	Each thread has its own connection (a pthread key), made at its
 *	first call, never at open: open only checks the spec, so a server
 *	that is down at start is TEMPFAIL per call, not a failed start, and
 *	no connection crosses the daemon's fork. A call whose connection
 *	fails is TEMPFAIL and drops it; the next call connects again. A
 *	connection that was idle and turns out dead (the server restarted)
 *	is retried once within the same call.
 * ERRORS
 *	TEMPFAIL with "redis HOST:PORT: reason". Connect, every command and
 *	the whole call are bounded by the timeout; HOST should be an address
 *	(name resolution is not bounded). SIGPIPE is held off while a
 *	command is written, so a closed connection cannot kill the process.
 * THREAD SAFETY
 *	A handle may be used by all threads.
 */
#include <autoconfig.h>

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store_redis.h"
#include "util.h"

/* redis_kind - the backend's name */
static const char *
redis_kind(void)
{
	return "redis";
}

/* number - the decimal number at *pp (at most max), moving on; -1 if none */
static long
number(const char **pp, long max)
{
	const char *p = *pp;
	long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (*p - '0')) > max)
			return -1;
	*pp = p;
	return v;
}

/* parse_auth - [[USER]:PASSWORD@]; returns where the host starts */
static const char *
parse_auth(struct store_redis *sr, const char *arg)
{
	const char *at = strrchr(arg, '@'), *colon;

	if (at == NULL)
		return arg;
	colon = memchr(arg, ':', (size_t)(at - arg));
	if (colon == NULL) {
		sr->password = pfl_xstrndup(arg, (size_t)(at - arg));
		return at + 1;
	}
	if (colon > arg)
		sr->user = pfl_xstrndup(arg, (size_t)(colon - arg));
	sr->password = pfl_xstrndup(colon + 1, (size_t)(at - colon - 1));
	return at + 1;
}

/* parse_spec - fill host, port, db and credentials; false when bad */
static bool
parse_spec(struct store_redis *sr, const char *arg)
{
	const char *p = parse_auth(sr, arg), *end;
	long v;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			return false;
		sr->host = pfl_xstrndup(p + 1, (size_t)(end - p - 1));
		p = end + 1;
	} else {
		end = p + strcspn(p, ":/");
		sr->host = pfl_xstrndup(p, (size_t)(end - p));
		p = end;
	}
	sr->port = 6379;
	if (*p == ':') {
		p++;
		if ((v = number(&p, 65535)) <= 0)
			return false;
		sr->port = (int)v;
	}
	if (*p == '/' && *++p != '\0') {
		if ((v = number(&p, 1L << 30)) < 0)
			return false;
		sr->db = (unsigned)v;
	}
	return *p == '\0' && sr->host[0] != '\0' && strlen(sr->host) < 256;
}

/* redis_open - check the spec; connections are made at first use */
static struct pfl_store *
redis_open(const char *arg, unsigned timeout_ms, char *err, size_t n)
{
	struct store_redis *sr = pfl_xcalloc(1, sizeof(*sr));
	char shown[128];

	(void)timeout_ms;
	if (!parse_spec(sr, arg)) {
		pfl_store_error(err, n,
		    "redis://%s: expected redis://[[USER]:PASSWORD@]HOST"
		    "[:PORT][/DB]",
		    pfl_printable(shown, sizeof(shown), arg, NULL));
	} else if (pthread_key_create(&sr->key, pfl_redis_conn_free) != 0) {
		pfl_store_error(err, n, "redis://%s: no thread key left",
		    pfl_printable(shown, sizeof(shown), arg, NULL));
	} else {
		snprintf(sr->name, sizeof(sr->name),
		    strchr(sr->host, ':') ? "[%s]:%d" : "%s:%d", sr->host,
		    sr->port);
		pthread_mutex_init(&sr->lock, NULL);
		pfl_redis_queue_init(sr);
		return &sr->base;
	}
	free(sr->host);
	free(sr->user);
	free(sr->password);
	free(sr);
	return NULL;
}

/* redis_close - close every thread's connection and free the handle */
static void
redis_close(struct pfl_store *st)
{
	struct store_redis *sr = (struct store_redis *)st;

	/* no destructor runs for a deleted key: free the connections here */
	pthread_key_delete(sr->key);
	while (sr->conns != NULL)
		pfl_redis_conn_free(sr->conns);
	pthread_mutex_destroy(&sr->lock);
	pfl_redis_queue_free(sr);
	free(sr->host);
	free(sr->user);
	free(sr->password);
	free(sr);
}

/* key_name - "pfl:{KEY}" into buf (big enough for any valid key) */
static size_t
key_name(char *buf, size_t n, const char *key)
{
	return (size_t)snprintf(buf, n, KEY_HEAD "%s}", key);
}

/* Numbers for the script, as decimal strings. */
struct script_args {
	char name[PFL_STORE_KEY_MAX + 8];
	char t[24], width[16], count[16], n[24], limit[24];
};

/*
 * run_script - the window script in mode on key; out gets its five
 * numbers (admitted, total, bucket, next_free, live: non-zero when a
 * bucket counts).
 */
static enum pfl_store_status
run_script(struct store_redis *sr, const char *mode, const char *key,
    const struct pfl_window *w, time_t t, uint64_t n, uint64_t limit,
    long long out[5], char *err, size_t errlen)
{
	struct script_args a;
	const char *argv[10] = { NULL, NULL, "1", a.name, mode, a.t, a.width,
		a.count, a.n, a.limit };
	size_t len[10] = { 0 };
	struct request q = { 10, argv, len, SCRIPT_ONE, false };
	enum pfl_store_status s;
	redisReply *r;
	size_t i;

	key_name(a.name, sizeof(a.name), key);
	snprintf(a.t, sizeof(a.t), "%lld", (long long)t);
	snprintf(a.width, sizeof(a.width), "%u", w->bucket_s);
	snprintf(a.count, sizeof(a.count), "%u", w->nbuckets);
	snprintf(a.n, sizeof(a.n), "%llu", (unsigned long long)n);
	snprintf(a.limit, sizeof(a.limit), "%llu", (unsigned long long)limit);
	for (i = 2; i < 10; i++)
		q.len[i] = strlen(q.argv[i]);
	s = pfl_redis_call(
	    sr, &q, pfl_redis_now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && r->elements == 5 && i < 5 &&
	     r->element[i]->type == REDIS_REPLY_INTEGER;
	     i++)
		out[i] = r->element[i]->integer;
	freeReplyObject(r);
	if (i == 5)
		return PFL_STORE_OK;
	pfl_store_error(
	    err, errlen, "redis %s: unexpected reply from script", sr->name);
	return PFL_STORE_TEMPFAIL;
}

/* redis_window_add - the window add as one script on the server */
static enum pfl_store_status
redis_window_add(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t n, uint64_t limit,
    struct pfl_window_result *r, char *err, size_t errlen)
{
	enum pfl_store_status s;
	long long out[5];

	s = run_script((struct store_redis *)st, "add", key, w, now, n, limit,
	    out, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	r->admitted = out[0] == 1;
	r->total = out[1] < 0 ? 0 : (uint64_t)out[1];
	r->bucket = (time_t)out[2];
	r->next_free = (time_t)out[3];
	return PFL_STORE_OK;
}

/* The most text one op of the batch needs: its key's name, 4 numbers, 2 texts */
#define MANY_OP_TEXT (PFL_STORE_KEY_MAX + 8 + 4 * 24 + 2 * 48)

/*
 * The arguments of the batch script: argv and len (4 + 7 * nops each)
 * and the text they point into (key names and numbers), all malloc'd.
 */
struct many_req {
	const char **argv;
	size_t *len;
	int argc;
	char *text, *p; /* the text; where the next argument goes */
	size_t left;    /* bytes left at p */
};

/* many_arg - append one argument, formatted into the text */
static void many_arg(struct many_req *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
many_arg(struct many_req *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->p, m->left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= m->left)
		abort(); /* the text is sized for the longest arguments */
	m->argv[m->argc] = m->p;
	m->len[m->argc++] = (size_t)n;
	m->p += n + 1;
	m->left -= (size_t)n + 1;
}

/* many_req_new - the batch script's arguments for ops at now */
static void
many_req_new(struct many_req *m, const struct pfl_window_op *ops, size_t nops,
    time_t now)
{
	size_t i, argc = 4 + 7 * nops;

	m->argv = pfl_xcalloc(argc, sizeof(*m->argv));
	m->len = pfl_xcalloc(argc, sizeof(*m->len));
	m->left = nops * MANY_OP_TEXT + 64;
	m->text = m->p = pfl_xmalloc(m->left);
	m->argc = 2; /* EVALSHA and the SHA1 go in when it is sent */
	many_arg(m, "%zu", nops);
	for (i = 0; i < nops; i++)
		many_arg(m, KEY_HEAD "%s}", ops[i].key);
	many_arg(m, "%lld", (long long)now);
	for (i = 0; i < nops; i++) {
		many_arg(m, "%u", ops[i].w.bucket_s);
		many_arg(m, "%u", ops[i].w.nbuckets);
		many_arg(m, "%llu", (unsigned long long)ops[i].n);
		many_arg(m, "%llu", (unsigned long long)ops[i].limit);
		many_arg(m, "%lld:%u",
		    (long long)(now - now % (time_t)ops[i].w.bucket_s),
		    ops[i].w.bucket_s);
		many_arg(m, "%u %u ", ops[i].w.bucket_s, ops[i].w.nbuckets);
	}
}

/* many_req_free - free the arguments */
static void
many_req_free(struct many_req *m)
{
	free(m->argv);
	free(m->len);
	free(m->text);
}

/* reply_int - element i of an array reply, when it is an integer */
static bool
reply_int(const redisReply *r, size_t i, long long *v)
{
	if (r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
	    r->element[i]->type != REDIS_REPLY_INTEGER)
		return false;
	*v = r->element[i]->integer;
	return true;
}

/* many_admitted - the results of a batch every op of which admitted */
static bool
many_admitted(const redisReply *r, size_t nops, struct pfl_window_result *res)
{
	long long total, bucket;
	size_t i;

	if (r->elements != 2 + 2 * nops)
		return false;
	for (i = 0; i < nops; i++) {
		if (!reply_int(r, 2 + 2 * i, &total) ||
		    !reply_int(r, 3 + 2 * i, &bucket))
			return false;
		res[i].admitted = true;
		res[i].total = total < 0 ? 0 : (uint64_t)total;
		res[i].bucket = (time_t)bucket;
	}
	return true;
}

/*
 * many_reply - the batch script's reply into res and *at_r: OK, or
 * TEMPFAIL for a key that holds a value; -1 when the reply is none the
 * script gives
 */
static int
many_reply(struct store_redis *sr, const redisReply *r, size_t nops,
    struct pfl_window_result *res, size_t *at_r, char *err, size_t errlen)
{
	long long kind, at, total, bucket, next;

	if (!reply_int(r, 0, &kind) || !reply_int(r, 1, &at) || at < 0 ||
	    (size_t)at > nops)
		return -1;
	if (kind == 0)
		return (size_t)at == nops && many_admitted(r, nops, res)
		    ? PFL_STORE_OK
		    : -1;
	if ((size_t)at == nops)
		return -1;
	*at_r = (size_t)at;
	if (kind == 2) {
		/* what the window script says of such a key */
		pfl_store_error(err, errlen,
		    "redis %s: EVALSHA: key holds a value, not a window",
		    sr->name);
		return PFL_STORE_TEMPFAIL;
	}
	if (kind != 1 || r->elements != 5 || !reply_int(r, 2, &total) ||
	    !reply_int(r, 3, &bucket) || !reply_int(r, 4, &next))
		return -1;
	res[at].total = total < 0 ? 0 : (uint64_t)total;
	res[at].bucket = (time_t)bucket;
	res[at].next_free = (time_t)next;
	return PFL_STORE_OK;
}

/* redis_window_add_many - all the adds or none, in one script call */
static enum pfl_store_status
redis_window_add_many(struct pfl_store *st, const struct pfl_window_op *ops,
    size_t nops, time_t now, struct pfl_window_result *res, size_t *at_r,
    char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	struct many_req m;
	struct request q;
	redisReply *r;
	int s;

	many_req_new(&m, ops, nops, now);
	q = (struct request){ m.argc, m.argv, m.len, SCRIPT_MANY, false };
	*at_r = 0; /* a failure of the call belongs to no op */
	s = pfl_redis_call_shared(
	    sr, &q, pfl_redis_now_ms() + sr->base.timeout_ms, &r, err, errlen);
	many_req_free(&m);
	if (s != PFL_STORE_OK)
		return s;
	*at_r = nops;
	s = many_reply(sr, r, nops, res, at_r, err, errlen);
	freeReplyObject(r);
	if (s == PFL_STORE_OK)
		return PFL_STORE_OK;
	memset(res, 0, nops * sizeof(*res));
	if (s < 0) {
		*at_r = 0;
		pfl_store_error(err, errlen,
		    "redis %s: unexpected reply from script", sr->name);
	}
	return PFL_STORE_TEMPFAIL;
}

/* redis_window_total - the window's count, changing nothing */
static enum pfl_store_status
redis_window_total(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *total_r, char *err,
    size_t errlen)
{
	enum pfl_store_status s;
	long long out[5];

	s = run_script((struct store_redis *)st, "total", key, w, now, 0, 0,
	    out, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	*total_r = out[1] < 0 ? 0 : (uint64_t)out[1];
	return out[4] > 0 ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* redis_window_release - take back a reservation */
static enum pfl_store_status
redis_window_release(struct pfl_store *st, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n, char *err,
    size_t errlen)
{
	long long out[5];

	return run_script((struct store_redis *)st, "release", key, w, bucket,
	    n, 0, out, err, errlen);
}

/* redis_put - SET the key's string, with EX when it has a time to live */
static enum pfl_store_status
redis_put(struct pfl_store *st, const char *key, const void *val, size_t len,
    unsigned ttl_s, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8], ttl[16];
	const char *argv[5] = { "SET", name, val, "EX", ttl };
	size_t lens[5] = { 3, 0, len, 2, 0 };
	struct request q = { ttl_s ? 5 : 3, argv, lens, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;

	lens[1] = key_name(name, sizeof(name), key);
	lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	s = pfl_redis_call(
	    sr, &q, pfl_redis_now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	return pfl_redis_expect(sr, r, REDIS_REPLY_STATUS, "SET", err, errlen)
	    ? PFL_STORE_OK
	    : PFL_STORE_TEMPFAIL;
}

/* redis_get - GET the key's string; a window's hash is no value */
static enum pfl_store_status
redis_get(struct pfl_store *st, const char *key, void *buf, size_t n,
    size_t *len_r, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8];
	const char *argv[2] = { "GET", name };
	size_t len[2] = { 3, 0 };
	struct request q = { 2, argv, len, NO_SCRIPT, true };
	enum pfl_store_status s;
	redisReply *r;

	q.len[1] = key_name(name, sizeof(name), key);
	s = pfl_redis_call(
	    sr, &q, pfl_redis_now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return PFL_STORE_NOTFOUND;
	}
	if (r->type == REDIS_REPLY_STRING) {
		memcpy(buf, r->str, r->len < n ? r->len : n);
		*len_r = r->len;
		freeReplyObject(r);
		return PFL_STORE_OK;
	}
	freeReplyObject(r);
	pfl_store_error(
	    err, errlen, "redis %s: unexpected reply to GET", sr->name);
	return PFL_STORE_TEMPFAIL;
}

/* redis_del - forget a key */
static enum pfl_store_status
redis_del(struct pfl_store *st, const char *key, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	char name[PFL_STORE_KEY_MAX + 8];
	const char *argv[2] = { "DEL", name };
	size_t len[2] = { 3, 0 };
	struct request q = { 2, argv, len, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;
	bool gone;

	q.len[1] = key_name(name, sizeof(name), key);
	s = pfl_redis_call(
	    sr, &q, pfl_redis_now_ms() + sr->base.timeout_ms, &r, err, errlen);
	if (s != PFL_STORE_OK)
		return s;
	gone = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return gone ? PFL_STORE_OK : PFL_STORE_NOTFOUND;
}

/* glob_quote - prefix with the SCAN MATCH pattern characters escaped */
static void
glob_quote(char *buf, size_t n, const char *prefix)
{
	size_t o = 0;

	o = (size_t)snprintf(buf, n, "%s", KEY_HEAD);
	for (; *prefix != '\0' && o + 3 < n; prefix++) {
		if (strchr("*?[]\\", *prefix) != NULL)
			buf[o++] = '\\';
		buf[o++] = *prefix;
	}
	buf[o++] = '*';
	buf[o] = '\0';
}

struct key_list {
	char **keys;
	size_t n, cap;
};

/* keep_names - add the store keys among SCAN's names to the list */
static void
keep_names(struct key_list *l, const redisReply *names, size_t plen)
{
	const redisReply *e;
	size_t i, hlen = strlen(KEY_HEAD);

	for (i = 0; i < names->elements; i++) {
		e = names->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len < hlen + 1 + plen ||
		    e->str[e->len - 1] != '}' || memchr(e->str, 0, e->len))
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->keys =
			    pfl_xrealloc(l->keys, l->cap * sizeof(char *));
		}
		l->keys[l->n++] =
		    pfl_xstrndup(e->str + hlen, e->len - hlen - 1);
	}
}

/* scan_step - one SCAN; *cursor moves on ("0" at the end) */
static enum pfl_store_status
scan_step(struct store_redis *sr, char cursor[32], const char *pattern,
    size_t plen, struct key_list *l, int64_t deadline, char *err, size_t errlen)
{
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
		"1000" };
	size_t len[6] = { 4, strlen(cursor), 5, strlen(pattern), 5, 4 };
	struct request q = { 6, argv, len, NO_SCRIPT, false };
	enum pfl_store_status s;
	redisReply *r;

	if ((s = pfl_redis_call(sr, &q, deadline, &r, err, errlen)) !=
	    PFL_STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= 32 ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		pfl_store_error(
		    err, errlen, "redis %s: unexpected SCAN reply", sr->name);
		return PFL_STORE_TEMPFAIL;
	}
	memcpy(cursor, r->element[0]->str, r->element[0]->len);
	cursor[r->element[0]->len] = '\0';
	keep_names(l, r->element[1], plen);
	freeReplyObject(r);
	return PFL_STORE_OK;
}

/* by_name - qsort order of key pointers */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* redis_list - SCAN for the prefix, then fn once per key in order */
static enum pfl_store_status
redis_list(struct pfl_store *st, const char *prefix,
    int (*fn)(const char *, void *), void *arg, char *err, size_t errlen)
{
	struct store_redis *sr = (struct store_redis *)st;
	int64_t deadline = pfl_redis_now_ms() + sr->base.timeout_ms;
	char cursor[32] = "0", *pattern;
	size_t i, plen = strlen(prefix), n = 2 * plen + 8;
	struct key_list l = { NULL, 0, 0 };
	enum pfl_store_status s;
	bool stop = false;

	pattern = pfl_xmalloc(n);
	glob_quote(pattern, n, prefix);
	do
		s = scan_step(
		    sr, cursor, pattern, plen, &l, deadline, err, errlen);
	while (s == PFL_STORE_OK && strcmp(cursor, "0") != 0);
	free(pattern);
	if (l.n > 1)
		qsort(l.keys, l.n, sizeof(char *), by_name);
	for (i = 0; s == PFL_STORE_OK && !stop && i < l.n; i++)
		/* SCAN may name a key twice */
		if ((i == 0 || strcmp(l.keys[i], l.keys[i - 1]) != 0) &&
		    fn(l.keys[i], arg) != 0)
			stop = true;
	for (i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	return s;
}

const struct pfl_store_ops pfl_store_redis_ops = {
	.kind = redis_kind,
	.open = redis_open,
	.close = redis_close,
	.window_add = redis_window_add,
	.window_add_many = redis_window_add_many,
	.window_total = redis_window_total,
	.window_release = redis_window_release,
	.put = redis_put,
	.get = redis_get,
	.del = redis_del,
	.list = redis_list,
};
