/*
 * NAME
 *	store_redis_pipe - the window adds of concurrent threads, sent together
 * DESCRIPTION
 *	The milter's sessions ask for their budgets' window adds at the
 *	same time; each add is one script call, a round trip of its own on
 *	its thread's connection. Here they queue instead: a thread that
 *	finds fewer than SENDERS threads sending takes every request waiting
 *	(up to PIPE_MAX), writes them together on its own connection and
 *	reads their replies in order (pfl_redis_call_pipe), then wakes their
 *	threads and the next one waiting, which sends what queued meanwhile.
 *	Two senders keep the server busy: one batch is written while the
 *	other runs. A thread alone sends at once, as before; under load one
 *	write, one read and one pass of the server's event loop serve many
 *	adds. Each script still runs on its own, atomically, so what a
 *	request does and answers is what it would be alone.
 *
 *	Time: a batch is bounded by the earliest deadline of its requests,
 *	so none waits past its own. A request that is still queued when its
 *	deadline comes leaves the queue and is TEMPFAIL ("timed out").
 * THREAD SAFETY
 *	That is the point: any thread may call, at any time.
 */
#include <autoconfig.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "store_redis.h"

#define PIPE_MAX 32 /* the most requests one write carries */
#define SENDERS  2  /* threads sending at once, each its own batch */

/* A request in the queue, and its thread. */
struct pfl_redis_waiter {
	struct pfl_redis_item it;
	int64_t deadline;
	bool taken; /* in a batch being sent */
	bool done;  /* it.status and it.r are final */
	pthread_cond_t cv;
	struct pfl_redis_waiter *next;
};

/* pfl_redis_queue_init - an empty queue */
void
pfl_redis_queue_init(struct store_redis *sr)
{
	pthread_mutex_init(&sr->qlock, NULL);
	sr->qhead = NULL;
	sr->qtail = &sr->qhead;
	sr->sending = 0;
}

/* pfl_redis_queue_free - the queue's lock (no thread may be in it) */
void
pfl_redis_queue_free(struct store_redis *sr)
{
	pthread_mutex_destroy(&sr->qlock);
}

/* unqueue - take w out of the queue */
static void
unqueue(struct store_redis *sr, struct pfl_redis_waiter *w)
{
	struct pfl_redis_waiter **pp;

	for (pp = &sr->qhead; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != w)
			continue;
		if ((*pp = w->next) == NULL)
			sr->qtail = pp;
		return;
	}
}

/* take - up to PIPE_MAX queued requests into batch; their count */
static size_t
take(struct store_redis *sr, struct pfl_redis_waiter **batch, int64_t *dl)
{
	struct pfl_redis_waiter *w;
	size_t n = 0;

	while (n < PIPE_MAX && (w = sr->qhead) != NULL) {
		if ((sr->qhead = w->next) == NULL)
			sr->qtail = &sr->qhead;
		w->taken = true;
		if (n == 0 || w->deadline < *dl)
			*dl = w->deadline;
		batch[n++] = w;
	}
	return n;
}

/* send_batch - the next batch, on this thread's connection; lock held */
static void
send_batch(struct store_redis *sr, struct pfl_redis_waiter *self)
{
	struct pfl_redis_waiter *batch[PIPE_MAX];
	struct pfl_redis_item *items[PIPE_MAX];
	int64_t deadline = 0;
	size_t n, i;

	if ((n = take(sr, batch, &deadline)) == 0)
		return;
	for (i = 0; i < n; i++)
		items[i] = &batch[i]->it;
	sr->sending++;
	pthread_mutex_unlock(&sr->qlock);
	pfl_redis_call_pipe(sr, items, n, deadline);
	pthread_mutex_lock(&sr->qlock);
	sr->sending--;
	for (i = 0; i < n; i++) {
		batch[i]->done = true;
		if (batch[i] != self)
			pthread_cond_signal(&batch[i]->cv);
	}
	if (sr->qhead != NULL) /* the next batch: its first thread sends */
		pthread_cond_signal(&sr->qhead->cv);
}

/* wait_turn - sleep until w is done or may send; false at its deadline */
static bool
wait_turn(struct store_redis *sr, struct pfl_redis_waiter *w)
{
	struct timespec ts;

	if (w->taken) { /* its batch's deadline is no later than its own */
		pthread_cond_wait(&w->cv, &sr->qlock);
		return true;
	}
	ts.tv_sec = (time_t)(w->deadline / 1000);
	ts.tv_nsec = (long)(w->deadline % 1000) * 1000000;
	return pthread_cond_timedwait(&w->cv, &sr->qlock, &ts) != ETIMEDOUT ||
	    w->taken || w->done;
}

/*
 * pfl_redis_call_shared - pfl_redis_call, with the requests of other
 * threads that wait at the same time written in the same batch
 */
enum pfl_store_status
pfl_redis_call_shared(struct store_redis *sr, struct request *q,
    int64_t deadline, redisReply **r, char *err, size_t errlen)
{
	struct pfl_redis_waiter w = { .it = { .q = q }, .deadline = deadline };
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&sr->qlock);
	*sr->qtail = &w;
	sr->qtail = &w.next;
	while (!w.done) {
		if (!w.taken && sr->sending < SENDERS) {
			send_batch(sr, &w);
		} else if (!wait_turn(sr, &w)) {
			unqueue(sr, &w);
			w.done = true;
			w.it.status = PFL_STORE_TEMPFAIL;
			pfl_store_error(w.it.err, sizeof(w.it.err),
			    "redis %s: timed out", sr->name);
		}
	}
	if (sr->qhead != NULL && sr->sending < SENDERS)
		pthread_cond_signal(&sr->qhead->cv);
	pthread_mutex_unlock(&sr->qlock);
	pthread_cond_destroy(&w.cv);
	*r = w.it.r;
	if (w.it.status == PFL_STORE_TEMPFAIL)
		pfl_store_error(err, errlen, "%s", w.it.err);
	return w.it.status;
}
