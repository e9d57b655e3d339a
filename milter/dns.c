/*
 * NAME
 *	dns - the one resolver: libunbound, a deadline, a cache
 * DESCRIPTION
 *	Lookups go to libunbound asynchronously (its own resolver thread)
 *	and the asking thread waits on a condition variable until the
 *	answer arrives or timeout_ms has passed; then the query is
 *	cancelled and the answer is TEMPFAIL. A dead server therefore
 *	costs timeout_ms, not libunbound's ~17 s of retries. A dispatcher
 *	thread of ours calls ub_process() whenever libunbound has results
 *	and hands each one to the thread waiting for it.
 *
 *	A query that timed out is "abandoned": if ub_cancel() succeeds its
 *	callback will never run and the asking thread frees it; if not, the
 *	callback is running or about to, and frees it instead. libunbound
 *	decides this under its own lock (the callback is taken, or the query
 *	is marked cancelled, never both).
 *
 *	Answers come from the reply packet (dns_packet.c), so the packet is
 *	kept for callers that need it whole (libopendkim).
 * STAGE LIMIT
 *	A thread may also set a limit for all its lookups together
 *	(pfl_dns_stage_limit): the milter sets one for each SMTP stage, so
 *	that a dead server costs a stage at most that long however many
 *	lookups its checks make. A lookup waits for the earlier of its own
 *	timeout and the limit; once the limit has passed, a lookup the
 *	cache cannot answer fails at once.
 * FORWARDING
 *	With Nameservers set, libunbound forwards everything. Its default
 *	local zones answer special-use names itself; forwarding makes the
 *	test and documentation names (test., the reverse zones of
 *	192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 and the
 *	private ranges) go to the servers, while localhost., invalid. and
 *	onion. stay unresolvable.
 * THREADS
 *	The dispatcher starts at the first lookup, not in pfl_dns_new, so a
 *	process may create the resolver and then fork (daemonize) as long
 *	as it has not looked anything up yet. Both our thread and
 *	libunbound's block every signal: the daemon's main thread takes them
 *	with sigtimedwait().
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unbound.h>

#include "dns.h"
#include "dns_cache.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 5000u
#define CACHE_ENTRIES      10000u

enum qstate { Q_WAITING, Q_DONE, Q_ABANDONED };

/* this thread's stage limit (monotonic ms, 0: none) and its length */
static __thread long long stage_until;
static __thread unsigned long stage_ms;
static __thread unsigned stage_cut; /* lookups the limit cut short */

struct query {
	struct pfl_dns *dns;
	pthread_cond_t done;
	enum qstate state;
	int err;
	struct ub_result *res;
	struct query *prev, *next; /* in dns->inflight */
};

struct pfl_dns {
	struct ub_ctx *ctx;
	unsigned timeout_ms;
	struct pfl_dns_cache *cache;
	pthread_mutex_t lock; /* query states, inflight, dispatcher start */
	struct query *inflight;
	pthread_t dispatcher;
	bool dispatching;
	int wake[2]; /* a byte here stops the dispatcher */
};

/* Special-use zones that forwarding sends to the servers after all. */
static const char *transparent_zones[] = {
	"test.",
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

/* set_forwarding - forward to each server of a comma/space list */
static int
set_forwarding(struct ub_ctx *ctx, const char *list, char *err, size_t n)
{
	char *copy = pfl_xstrdup(list), *tok, *save = NULL;
	size_t i;
	int rc = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ", \t", &save))
		if (ub_ctx_set_fwd(ctx, tok) != 0) {
			snprintf(err, n, "bad nameserver \"%.64s\"", tok);
			rc = -1;
		}
	free(copy);
	for (i = 0; rc == 0 &&
	     i < sizeof(transparent_zones) / sizeof(transparent_zones[0]);
	     i++) {
		char zone[64];

		snprintf(
		    zone, sizeof(zone), "%s transparent", transparent_zones[i]);
		if (ub_ctx_set_option(ctx, "local-zone:", zone) != 0)
			rc = -1;
	}
	if (rc == 0 && ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes"))
		rc = -1;
	if (rc != 0 && err[0] == '\0')
		snprintf(err, n, "cannot set resolver options");
	return rc;
}

/* pfl_dns_new - a resolver forwarding to nameservers, or recursing */
struct pfl_dns *
pfl_dns_new(const char *nameservers, unsigned timeout_ms, char *err, size_t n)
{
	struct pfl_dns *dns;
	struct ub_ctx *ctx;

	err[0] = '\0';
	if ((ctx = ub_ctx_create()) == NULL) {
		snprintf(err, n, "cannot create a libunbound context");
		return NULL;
	}
	if (ub_ctx_async(ctx, 1) != 0 ||
	    (nameservers && *nameservers &&
		set_forwarding(ctx, nameservers, err, n) != 0)) {
		if (err[0] == '\0')
			snprintf(err, n, "cannot set up libunbound");
		ub_ctx_delete(ctx);
		return NULL;
	}
	dns = pfl_xcalloc(1, sizeof(*dns));
	if (pipe(dns->wake) != 0) {
		snprintf(err, n, "pipe: %s", strerror(errno));
		ub_ctx_delete(ctx);
		free(dns);
		return NULL;
	}
	(void)fcntl(dns->wake[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(dns->wake[1], F_SETFD, FD_CLOEXEC);
	dns->ctx = ctx;
	dns->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
	dns->cache = pfl_dns_cache_new(CACHE_ENTRIES);
	pthread_mutex_init(&dns->lock, NULL);
	return dns;
}

/* dispatch - the dispatcher thread: hand results to their queries */
static void *
dispatch(void *arg)
{
	struct pfl_dns *dns = arg;
	struct pollfd p[2];

	for (;;) {
		p[0].fd = ub_fd(dns->ctx);
		p[0].events = POLLIN;
		p[1].fd = dns->wake[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents && ub_process(dns->ctx) != 0)
			break; /* the pipe is gone; waiters will time out */
	}
	return NULL;
}

/* start_dispatcher - start the dispatcher once; 0 or -1 */
static int
start_dispatcher(struct pfl_dns *dns)
{
	sigset_t all, old;
	int rc = 0;

	pthread_mutex_lock(&dns->lock);
	if (!dns->dispatching) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&dns->dispatcher, NULL, dispatch, dns);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		dns->dispatching = rc == 0;
	}
	pthread_mutex_unlock(&dns->lock);
	return rc == 0 ? 0 : -1;
}

/* link_query - put a query on the in-flight list (lock held) */
static void
link_query(struct pfl_dns *dns, struct query *q)
{
	q->prev = NULL;
	q->next = dns->inflight;
	if (dns->inflight)
		dns->inflight->prev = q;
	dns->inflight = q;
}

/* unlink_query - take a query off the in-flight list (lock held) */
static void
unlink_query(struct pfl_dns *dns, struct query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		dns->inflight = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

/* free_query - free a query that nobody refers to any more */
static void
free_query(struct query *q)
{
	if (q->res)
		ub_resolve_free(q->res);
	pthread_cond_destroy(&q->done);
	free(q);
}

/* on_answer - libunbound's callback (in the dispatcher thread) */
static void
on_answer(void *arg, int err, struct ub_result *res)
{
	struct query *q = arg;
	struct pfl_dns *dns = q->dns;

	pthread_mutex_lock(&dns->lock);
	q->err = err;
	q->res = res;
	if (q->state == Q_ABANDONED) {
		unlink_query(dns, q);
		pthread_mutex_unlock(&dns->lock);
		free_query(q);
		return;
	}
	q->state = Q_DONE;
	pthread_cond_signal(&q->done);
	pthread_mutex_unlock(&dns->lock);
}

/* failed - an answer that says what went wrong: what, then detail */
static struct pfl_dns_answer *
failed(int rrtype, enum pfl_dns_status s, const char *what, const char *detail)
{
	struct pfl_dns_answer *a = pfl_dns_answer_new(rrtype, s);

	snprintf(a->why, sizeof(a->why), "%s%s", what, detail);
	return a;
}

/* from_result - turn libunbound's result into an answer */
static struct pfl_dns_answer *
from_result(int err, struct ub_result *res, int rrtype)
{
	struct pfl_dns_answer *a;

	if (err != 0 || res == NULL)
		return failed(
		    rrtype, PFL_DNS_TEMPFAIL, "resolver: ", ub_strerror(err));
	if (res->bogus)
		return failed(rrtype, PFL_DNS_TEMPFAIL,
		    "DNSSEC: ", res->why_bogus ? res->why_bogus : "bogus");
	if (res->answer_packet && res->answer_len > 0)
		return pfl_dns_packet_parse(
		    res->answer_packet, (size_t)res->answer_len, rrtype);
	if (res->rcode == 0 && !res->havedata) {
		a = pfl_dns_answer_new(rrtype, PFL_DNS_NOTFOUND);
		return a;
	}
	if (res->rcode == 3) {
		a = pfl_dns_answer_new(rrtype, PFL_DNS_NOTFOUND);
		a->nxdomain = true;
		return a;
	}
	return failed(rrtype, PFL_DNS_TEMPFAIL, "no reply packet", "");
}

/* deadline - now + ms on the monotonic clock */
static struct timespec
deadline(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* new_query - a query waiting on the monotonic clock */
static struct query *
new_query(struct pfl_dns *dns)
{
	struct query *q = pfl_xcalloc(1, sizeof(*q));
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->done, &attr);
	pthread_condattr_destroy(&attr);
	q->dns = dns;
	q->state = Q_WAITING;
	return q;
}

/* ask - start a query; libunbound's thread (made here the first time)
 * must not take our signals either */
static int
ask(struct pfl_dns *dns, const char *name, int rrtype, struct query *q, int *id)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = ub_resolve_async(dns->ctx, name, rrtype, 1, q, on_answer, id);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* wait_for - wait until answered or ms have passed; the answer or NULL */
static struct pfl_dns_answer *
wait_for(struct pfl_dns *dns, struct query *q, int rrtype, unsigned ms)
{
	struct timespec until = deadline(ms);
	struct pfl_dns_answer *a;

	pthread_mutex_lock(&dns->lock);
	while (q->state == Q_WAITING &&
	    pthread_cond_timedwait(&q->done, &dns->lock, &until) != ETIMEDOUT)
		;
	if (q->state != Q_DONE) {
		q->state = Q_ABANDONED;
		pthread_mutex_unlock(&dns->lock);
		return NULL;
	}
	unlink_query(dns, q);
	pthread_mutex_unlock(&dns->lock);
	a = from_result(q->err, q->res, rrtype);
	free_query(q);
	return a;
}

/*
 * wait_ms - how long a lookup may wait: timeout_ms, or what is left of
 * the thread's stage limit when that is less (0: the limit has passed)
 */
static unsigned
wait_ms(const struct pfl_dns *dns)
{
	long long left;

	if (stage_until == 0)
		return dns->timeout_ms;
	left = stage_until - pfl_now_ms();
	if (left <= 0)
		return 0;
	return left < (long long)dns->timeout_ms ? (unsigned)left
						 : dns->timeout_ms;
}

/* pfl_dns_stage_limit - limit this thread's lookups together; 0: none */
unsigned
pfl_dns_stage_limit(unsigned long ms)
{
	unsigned cut = stage_cut;

	stage_ms = ms;
	stage_until = ms != 0 ? pfl_now_ms() + (long long)ms : 0;
	stage_cut = 0;
	return cut;
}

/* resolve - one lookup through libunbound, bounded by wait_ms() */
static struct pfl_dns_answer *
resolve(struct pfl_dns *dns, const char *name, int rrtype)
{
	struct pfl_dns_answer *a;
	struct query *q;
	unsigned limit = wait_ms(dns);
	char ms[80];
	int id = 0, rc;

	if (limit == 0) {
		stage_cut++;
		snprintf(
		    ms, sizeof(ms), "%lu ms for the stage's lookups", stage_ms);
		return failed(rrtype, PFL_DNS_TEMPFAIL,
		    "no time left: StageTimeout allows ", ms);
	}
	if (start_dispatcher(dns) != 0)
		return failed(rrtype, PFL_DNS_TEMPFAIL,
		    "cannot start the resolver thread", "");
	q = new_query(dns);
	pthread_mutex_lock(&dns->lock);
	link_query(dns, q);
	pthread_mutex_unlock(&dns->lock);
	if ((rc = ask(dns, name, rrtype, q, &id)) != 0) {
		pthread_mutex_lock(&dns->lock);
		unlink_query(dns, q);
		pthread_mutex_unlock(&dns->lock);
		free_query(q);
		return failed(rrtype,
		    rc == UB_SYNTAX ? PFL_DNS_PERMFAIL : PFL_DNS_TEMPFAIL,
		    "resolver: ", ub_strerror(rc));
	}
	if ((a = wait_for(dns, q, rrtype, limit)) != NULL)
		return a;
	if (ub_cancel(dns->ctx, id) == 0) { /* the callback will not run */
		pthread_mutex_lock(&dns->lock);
		unlink_query(dns, q);
		pthread_mutex_unlock(&dns->lock);
		free_query(q);
	}
	if (limit < dns->timeout_ms) {
		stage_cut++;
		snprintf(
		    ms, sizeof(ms), "%u ms (the rest of StageTimeout)", limit);
	} else {
		snprintf(ms, sizeof(ms), "%u ms", limit);
	}
	return failed(rrtype, PFL_DNS_TEMPFAIL, "no answer within ", ms);
}

/* monotonic_seconds - for cache expiry */
static time_t
monotonic_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* pfl_dns_query - look up name/rrtype, from the cache when it can */
struct pfl_dns_answer *
pfl_dns_query(struct pfl_dns *dns, const char *name, int rrtype)
{
	struct pfl_dns_answer *a;

	if (name == NULL || !pfl_dns_name_ok(name))
		return failed(rrtype, PFL_DNS_PERMFAIL,
		    "not a name that can be looked up", "");
	if (rrtype <= 0 || rrtype > 65535)
		return failed(rrtype, PFL_DNS_PERMFAIL, "bad type", "");
	if ((a = pfl_dns_cache_get(
		 dns->cache, name, rrtype, monotonic_seconds())) != NULL)
		return a;
	a = resolve(dns, name, rrtype);
	pfl_dns_cache_put(dns->cache, name, a, monotonic_seconds());
	return a;
}

/* pfl_dns_stats - lookups answered from cache and from the network */
void
pfl_dns_stats(
    struct pfl_dns *dns, unsigned long *hits_r, unsigned long *misses_r)
{
	pfl_dns_cache_stats(dns->cache, hits_r, misses_r, NULL);
}

/* pfl_dns_free - stop the dispatcher, free the context and leftovers */
void
pfl_dns_free(struct pfl_dns **dp)
{
	struct pfl_dns *dns = *dp;
	struct query *q;

	if (dns == NULL)
		return;
	if (dns->dispatching) {
		(void)!write(dns->wake[1], "x", 1);
		pthread_join(dns->dispatcher, NULL);
	}
	ub_ctx_delete(dns->ctx);
	/* abandoned queries whose answers never came */
	while ((q = dns->inflight) != NULL) {
		unlink_query(dns, q);
		free_query(q);
	}
	pfl_dns_cache_free(&dns->cache);
	close(dns->wake[0]);
	close(dns->wake[1]);
	pthread_mutex_destroy(&dns->lock);
	free(dns);
	*dp = NULL;
}
