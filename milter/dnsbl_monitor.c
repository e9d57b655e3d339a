/*
 * NAME
 *	dnsbl_monitor - the egress monitor: our own addresses on the lists
 * DESCRIPTION
 *	Receivers that use a list refuse everything from a listed address;
 *	sending on only digs the hole deeper. A round asks every list its
 *	RFC 5782 test entries, then every IP list about every egress address
 *	and every domain list about the HELO name. The process keeps the
 *	outcome in one table (read at every RCPT), the store keeps it for a
 *	fleet and the CLI: each record says the state, since when it holds
 *	and when it was last checked, and the newest check wins.
 *
 *	A DNS failure never changes a known state (it is said once, when the
 *	trouble starts); an error code ("cannot tell") ends a listing's pause
 *	but is never a listing; an unhealthy list pauses nothing.
 */
#include <autoconfig.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "ctx.h"
#include "dnsbl.h"
#include "egress_state.h"
#include "log.h"
#include "provider.h"
#include "store.h"
#include "util.h"
#include "verdict.h"

/* What is known of one subject on one list, or of one list's health. */
struct entry {
	char subject[256]; /* address, HELO name, or "" for a list's health */
	char zone[256];
	enum pfl_dnsbl_state state;
	char code[16], label[48], why[192];
	time_t since, checked;
	bool failing; /* the last lookup failed (said once) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table;
static size_t ntable;

/* The daemon's thread (see the end of this file). */
static pthread_t thread;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping, kicked;

/* Records live a week past their last check. */
#define RECORD_TTL (7 * 86400)

/* find - the entry for (subject, zone), created when missing; locked */
static struct entry *
find(const char *subject, const char *zone)
{
	size_t i;

	for (i = 0; i < ntable; i++)
		if (strcmp(table[i].subject, subject) == 0 &&
		    strcmp(table[i].zone, zone) == 0)
			return &table[i];
	table = pfl_xrealloc(table, (ntable + 1) * sizeof(*table));
	memset(&table[ntable], 0, sizeof(*table));
	pfl_strlcpy(table[ntable].subject, subject, sizeof(table->subject));
	pfl_strlcpy(table[ntable].zone, zone, sizeof(table->zone));
	return &table[ntable++];
}

/* lookup_entry - the entry for (subject, zone) or NULL; locked */
static const struct entry *
lookup_entry(const char *subject, const char *zone)
{
	size_t i;

	for (i = 0; i < ntable; i++)
		if (strcmp(table[i].subject, subject) == 0 &&
		    strcmp(table[i].zone, zone) == 0)
			return &table[i];
	return NULL;
}

/* record_key - the store key of (subject, zone) */
static void
record_key(char *dst, size_t n, const char *subject, const char *zone)
{
	if (*subject == '\0')
		snprintf(dst, n, "pfl:dnsbl:list:%s", zone);
	else
		snprintf(dst, n, "pfl:dnsbl:egress:%s:%s", zone, subject);
}

/* record_write - an entry as a store record */
static void
record_write(struct pfl_store *st, const struct entry *e)
{
	char key[600], val[512], err[256];
	int len;

	if (st == NULL)
		return;
	record_key(key, sizeof(key), e->subject, e->zone);
	len = snprintf(val, sizeof(val),
	    "state=%s since=%lld checked=%lld code=%s label=%s why=%s",
	    pfl_dnsbl_state_name(e->state), (long long)e->since,
	    (long long)e->checked, *e->code ? e->code : "-",
	    *e->label ? e->label : "-", e->why);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(val))
		len = sizeof(val) - 1;
	if (pfl_store_put(st, key, val, (size_t)len, RECORD_TTL, err,
		sizeof(err)) != PFL_STORE_OK)
		pfl_log(PFL_LOG_WARNING, "dnsbl: cannot save %s: %s", key, err);
}

/* word - the value of "name=" in a record, up to the next space */
static bool
word(const char *rec, const char *name, char *dst, size_t n)
{
	size_t nl = strlen(name), len;
	const char *p;

	for (p = rec; (p = strstr(p, name)) != NULL; p++) {
		if ((p != rec && p[-1] != ' ') || p[nl] != '=')
			continue;
		p += nl + 1;
		len = strcmp(name, "why") == 0 ? strlen(p) : strcspn(p, " ");
		if (len >= n)
			len = n - 1;
		memcpy(dst, p, len);
		dst[len] = '\0';
		if (strcmp(dst, "-") == 0)
			*dst = '\0';
		return true;
	}
	return false;
}

/* record_read - a store record into e; false when there is none */
static bool
record_read(struct pfl_store *st, const char *subject, const char *zone,
    struct entry *e)
{
	char key[600], val[513], w[32], err[256];
	size_t len;
	int s;

	record_key(key, sizeof(key), subject, zone);
	if (pfl_store_get(st, key, val, sizeof(val) - 1, &len, err,
		sizeof(err)) != PFL_STORE_OK)
		return false;
	val[len < sizeof(val) - 1 ? len : sizeof(val) - 1] = '\0';
	memset(e, 0, sizeof(*e));
	pfl_strlcpy(e->subject, subject, sizeof(e->subject));
	pfl_strlcpy(e->zone, zone, sizeof(e->zone));
	if (!word(val, "state", w, sizeof(w)) ||
	    (s = pfl_dnsbl_state_parse(w)) < 0)
		return false;
	e->state = (enum pfl_dnsbl_state)s;
	if (word(val, "since", w, sizeof(w)))
		e->since = (time_t)strtoll(w, NULL, 10);
	if (word(val, "checked", w, sizeof(w)))
		e->checked = (time_t)strtoll(w, NULL, 10);
	word(val, "code", e->code, sizeof(e->code));
	word(val, "label", e->label, sizeof(e->label));
	word(val, "why", e->why, sizeof(e->why));
	return true;
}

/* say - a note, formatted */
static void say(pfl_dnsbl_note_fn note, void *arg, int level, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static void
say(pfl_dnsbl_note_fn note, void *arg, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (note != NULL)
		note(arg, level, line);
}

/* who - "egress 203.0.113.5" or "egress helo mail.example.com" */
static void
who(const struct pfl_dnsbl_list *L, const char *subject, char *dst, size_t n)
{
	snprintf(dst, n, "egress %s%s", L->kind == PFL_DNSBL_IP ? "" : "helo ",
	    subject);
}

/*
 * tell_pair - say what a change of (subject, list) means: listed ->
 * pausing, listed no more -> resuming, cannot tell
 */
static void
tell_pair(const struct pfl_ctx *ctx, const struct pfl_dnsbl_list *L,
    const struct entry *old, const struct entry *e, pfl_dnsbl_note_fn note,
    void *arg)
{
	char w[300], prov[64];

	who(L, e->subject, w, sizeof(w));
	pfl_dnsbl_providers_text(L->providers, prov, sizeof(prov));
	if (e->state == PFL_DNSBL_LISTED)
		say(note, arg, PFL_LOG_ERR,
		    "%s LISTED %s %s%s%s%s -> pausing %s (OnListed %s)%s%s", w,
		    L->zone, e->code, *e->label ? " (" : "", e->label,
		    *e->label ? ")" : "", prov,
		    pfl_action_name(ctx->cfg->on_listed),
		    L->delist ? "; delisting: " : "",
		    L->delist ? L->delist : "");
	else if (old->state == PFL_DNSBL_LISTED)
		say(note, arg, PFL_LOG_NOTICE, "%s DELISTED %s -> resuming %s",
		    w, L->zone, prov);
	if (e->state == PFL_DNSBL_CANNOT_TELL)
		say(note, arg, PFL_LOG_WARNING,
		    "%s CANNOT-TELL %s %s: %s; not a listing, nothing paused",
		    w, L->zone, e->code, e->why);
	else if (e->state == PFL_DNSBL_CLEAN && old->state != PFL_DNSBL_LISTED)
		say(note, arg, PFL_LOG_INFO, "%s clean on %s", w, L->zone);
}

/* tell_health - say what a change of a list's health means */
static void
tell_health(const struct pfl_dnsbl_list *L, const struct entry *old,
    const struct entry *e, pfl_dnsbl_note_fn note, void *arg)
{
	if (e->state == PFL_DNSBL_UNHEALTHY)
		say(note, arg, PFL_LOG_ERR,
		    "dnsbl %s UNHEALTHY: %s -> ignored until it answers "
		    "right",
		    L->zone, e->why);
	else if (e->state == PFL_DNSBL_CANNOT_TELL)
		say(note, arg, PFL_LOG_WARNING, "dnsbl %s CANNOT-TELL %s: %s",
		    L->zone, e->code, e->why);
	else if (old->state == PFL_DNSBL_UNHEALTHY ||
	    old->state == PFL_DNSBL_CANNOT_TELL)
		say(note, arg, PFL_LOG_NOTICE, "dnsbl %s healthy again -> used",
		    L->zone);
}

/*
 * update - put what a lookup found into the table and the store; say
 * the change. A failed lookup keeps the state it had.
 */
static int
update(struct pfl_ctx *ctx, struct pfl_store *st,
    const struct pfl_dnsbl_list *L, const char *subject,
    const struct pfl_dnsbl_answer *a, time_t now, pfl_dnsbl_note_fn note,
    void *arg)
{
	struct entry *e, old;
	char w[300];
	int changed = 0;

	pthread_mutex_lock(&lock);
	e = find(subject, L->zone);
	old = *e;
	e->checked = now;
	if (a->state == PFL_DNSBL_TEMPFAIL) {
		if (e->state == PFL_DNSBL_UNKNOWN)
			e->state = PFL_DNSBL_TEMPFAIL;
		if (!e->failing) {
			e->failing = true;
			if (*subject)
				who(L, subject, w, sizeof(w));
			else
				snprintf(w, sizeof(w), "dnsbl %s health test",
				    L->zone);
			say(note, arg, PFL_LOG_WARNING,
			    "%s: lookup on %s failed (%s); a temporary "
			    "state, not a listing: keeping %s",
			    w, L->zone, a->why, pfl_dnsbl_state_name(e->state));
		}
	} else {
		e->failing = false;
		if (e->state != a->state || strcmp(e->code, a->code) != 0)
			e->since = now;
		e->state = a->state;
		pfl_strlcpy(e->code, a->code, sizeof(e->code));
		pfl_strlcpy(e->label, a->label, sizeof(e->label));
		pfl_strlcpy(e->why, a->why, sizeof(e->why));
	}
	if (old.state != e->state) {
		changed = 1;
		if (a->state != PFL_DNSBL_TEMPFAIL) {
			if (*subject)
				tell_pair(ctx, L, &old, e, note, arg);
			else
				tell_health(L, &old, e, note, arg);
		}
	}
	old = *e;
	pthread_mutex_unlock(&lock);
	record_write(st, &old);
	return changed;
}

/* pfl_dnsbl_round - check the egress addresses and HELO name now */
int
pfl_dnsbl_round(struct pfl_ctx *ctx, struct pfl_store *st, time_t now,
    pfl_dnsbl_note_fn note, void *arg)
{
	const struct pfl_dnsbl_set *s = ctx->dnsbl;
	const struct pfl_config *cfg = ctx->cfg;
	struct pfl_dnsbl_answer a;
	const struct entry *h;
	size_t i, j;
	int changes;

	if (s == NULL || s->n == 0)
		return 0;
	changes = st ? pfl_dnsbl_sync(ctx, st, note, arg) : 0;
	for (i = 0; i < s->n; i++) {
		const struct pfl_dnsbl_list *L = &s->lists[i];
		bool healthy;

		if (__atomic_load_n(&stopping, __ATOMIC_RELAXED))
			break;
		pfl_dnsbl_health(L, &a);
		if (a.state == PFL_DNSBL_CLEAN)
			a.label[0] = '\0';
		changes += update(ctx, st, L, "", &a, now, note, arg);
		pthread_mutex_lock(&lock);
		h = lookup_entry("", L->zone);
		healthy = h && h->state == PFL_DNSBL_CLEAN;
		pthread_mutex_unlock(&lock);
		if (!healthy)
			continue; /* its answers mean nothing now */
		if (L->kind == PFL_DNSBL_IP) {
			for (j = 0; j < cfg->egress_addresses.n; j++) {
				pfl_dnsbl_lookup(
				    L, cfg->egress_addresses.v[j], &a);
				changes += update(ctx, st, L,
				    cfg->egress_addresses.v[j], &a, now, note,
				    arg);
			}
		} else if (cfg->egress_helo != NULL) {
			pfl_dnsbl_lookup(L, cfg->egress_helo, &a);
			changes += update(
			    ctx, st, L, cfg->egress_helo, &a, now, note, arg);
		}
	}
	return changes;
}

/* adopt - take a store record newer than what we know; say the change */
static int
adopt(struct pfl_ctx *ctx, const struct pfl_dnsbl_list *L,
    const struct entry *rec, pfl_dnsbl_note_fn note, void *arg)
{
	struct entry *e, old;
	int changed = 0;

	pthread_mutex_lock(&lock);
	e = find(rec->subject, rec->zone);
	if (rec->checked >= e->checked) {
		old = *e;
		*e = *rec;
		e->failing = old.failing;
		if (old.state != e->state && e->state != PFL_DNSBL_TEMPFAIL) {
			changed = 1;
			if (*rec->subject)
				tell_pair(ctx, L, &old, e, note, arg);
			else
				tell_health(L, &old, e, note, arg);
		}
	}
	pthread_mutex_unlock(&lock);
	return changed;
}

/* pfl_dnsbl_sync - take newer records from the store */
int
pfl_dnsbl_sync(struct pfl_ctx *ctx, struct pfl_store *st,
    pfl_dnsbl_note_fn note, void *arg)
{
	const struct pfl_dnsbl_set *s = ctx->dnsbl;
	const struct pfl_config *cfg = ctx->cfg;
	struct entry rec;
	size_t i, j;
	int changes = 0;

	if (s == NULL || st == NULL)
		return 0;
	for (i = 0; i < s->n; i++) {
		const struct pfl_dnsbl_list *L = &s->lists[i];

		if (record_read(st, "", L->zone, &rec))
			changes += adopt(ctx, L, &rec, note, arg);
		if (L->kind == PFL_DNSBL_IP) {
			for (j = 0; j < cfg->egress_addresses.n; j++)
				if (record_read(st, cfg->egress_addresses.v[j],
					L->zone, &rec))
					changes +=
					    adopt(ctx, L, &rec, note, arg);
		} else if (cfg->egress_helo != NULL &&
		    record_read(st, cfg->egress_helo, L->zone, &rec)) {
			changes += adopt(ctx, L, &rec, note, arg);
		}
	}
	return changes;
}

/* listed_reply - what a provider answers a listed address */
static const char *
listed_reply(int provider, const struct pfl_dnsbl_list *L)
{
	bool spamhaus = strstr(L->zone, "spamhaus") != NULL;

	switch (provider) {
	case PFL_PROV_YAHOO:
		return spamhaus ? "553 5.7.1 [BL21]" : "553 5.7.1 [BL23]";
	case PFL_PROV_MICROSOFT:
		return "550 5.7.1";
	default:
		return "554 5.7.1";
	}
}

/* list_of - the set's list of a zone, or NULL */
static const struct pfl_dnsbl_list *
list_of(const struct pfl_dnsbl_set *s, const char *zone)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->lists[i].zone, zone) == 0)
			return &s->lists[i];
	return NULL;
}

/* pfl_dnsbl_usable - may a list's answers be used? */
bool
pfl_dnsbl_usable(const struct pfl_dnsbl_list *L)
{
	const struct entry *h;
	bool ok;

	pthread_mutex_lock(&lock);
	h = lookup_entry("", L->zone);
	ok = h == NULL ||
	    (h->state != PFL_DNSBL_UNHEALTHY &&
		h->state != PFL_DNSBL_CANNOT_TELL);
	pthread_mutex_unlock(&lock);
	return ok;
}

/* pfl_dnsbl_paused - is mail to provider paused by a listing? */
bool
pfl_dnsbl_paused(
    const struct pfl_ctx *ctx, int provider, struct pfl_finding *f_r)
{
	const struct pfl_dnsbl_set *s = ctx->dnsbl;
	const struct pfl_config *cfg = ctx->cfg;
	const struct pfl_dnsbl_list *L;
	const struct entry *e, *h;
	char reason[512], w[300];
	bool defer = cfg->on_listed == PFL_ACT_DEFER;
	size_t i;

	if (s == NULL || s->n == 0 || provider < 0)
		return false;
	pthread_mutex_lock(&lock);
	for (i = 0; i < ntable; i++) {
		e = &table[i];
		if (e->state != PFL_DNSBL_LISTED || *e->subject == '\0')
			continue;
		L = list_of(s, e->zone);
		h = L ? lookup_entry("", L->zone) : NULL;
		if (L == NULL || !(L->providers & (1u << provider)) ||
		    h == NULL || h->state != PFL_DNSBL_CLEAN)
			continue;
		if (L->kind == PFL_DNSBL_IP
			? !pfl_strlist_has(&cfg->egress_addresses, e->subject)
			: (cfg->egress_helo == NULL ||
			      strcasecmp(cfg->egress_helo, e->subject) != 0))
			continue;
		who(L, e->subject, w, sizeof(w));
		snprintf(reason, sizeof(reason),
		    "%s would refuse this (%s): %s is listed on %s (%s%s%s); "
		    "paused until delisted%s%s",
		    pfl_provider_name((enum pfl_provider)provider),
		    listed_reply(provider, L), w, L->zone, e->code,
		    *e->label ? " " : "", e->label, L->delist ? ": " : "",
		    L->delist ? L->delist : "");
		pfl_finding_set(f_r, "dnsbl", PFL_OUT_REFUSE, cfg->on_listed,
		    listed_reply(provider, L), defer ? "451" : NULL,
		    defer ? "4.7.1" : NULL, reason);
		if (L->delist != NULL)
			snprintf(f_r->fix, sizeof(f_r->fix), "delist at %s",
			    L->delist);
		pthread_mutex_unlock(&lock);
		return true;
	}
	pthread_mutex_unlock(&lock);
	return false;
}

/* status_of - one status line from an entry (or its absence) */
static void
status_of(const struct pfl_dnsbl_list *L, const char *subject,
    void (*fn)(void *, const struct pfl_dnsbl_status *), void *arg)
{
	struct pfl_dnsbl_status st = { 0 };
	const struct entry *e;
	struct entry copy;

	pthread_mutex_lock(&lock);
	e = lookup_entry(subject ? subject : "", L->zone);
	if (e != NULL)
		copy = *e;
	pthread_mutex_unlock(&lock);
	st.subject = subject;
	st.list = L;
	st.state = PFL_DNSBL_UNKNOWN;
	st.code = st.label = st.why = "";
	if (e != NULL) {
		st.state = copy.state;
		st.code = copy.code;
		st.label = copy.label;
		st.why = copy.why;
		st.since = copy.since;
		st.checked = copy.checked;
	}
	fn(arg, &st);
}

/* pfl_dnsbl_status - every list's health, then every pair */
void
pfl_dnsbl_status(struct pfl_ctx *ctx,
    void (*fn)(void *arg, const struct pfl_dnsbl_status *), void *arg)
{
	const struct pfl_dnsbl_set *s = ctx->dnsbl;
	const struct pfl_config *cfg = ctx->cfg;
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		status_of(&s->lists[i], NULL, fn, arg);
	for (i = 0; i < s->n; i++) {
		const struct pfl_dnsbl_list *L = &s->lists[i];

		if (L->kind == PFL_DNSBL_IP)
			for (j = 0; j < cfg->egress_addresses.n; j++)
				status_of(
				    L, cfg->egress_addresses.v[j], fn, arg);
		else if (cfg->egress_helo != NULL)
			status_of(L, cfg->egress_helo, fn, arg);
	}
}

/* --- the daemon's thread ---------------------------------------------- */

/* How often the store is read between rounds (at most). */
#define SYNC_S 10

/* log_note - monitor notes go to the log */
static void
log_note(void *arg, int level, const char *line)
{
	(void)arg;
	pfl_log((enum pfl_log_level)level, "%s", line);
}

/*
 * monitor - DNSBL rounds every DnsblInterval (the store read in between)
 * and egress checks every EgressCheckInterval; both at start and right
 * after a reload
 */
static void *
monitor(void *arg)
{
	time_t next = 0, now, until, egress_next;
	struct pfl_store *st;
	struct pfl_ctx *ctx;
	struct timespec ts;
	char err[256];
	unsigned interval;
	bool round;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		if (stopping) {
			pthread_mutex_unlock(&lock);
			break;
		}
		round = kicked;
		kicked = false;
		pthread_mutex_unlock(&lock);
		ctx = pfl_ctx_current();
		interval = 3600;
		now = time(NULL);
		egress_next = now + interval;
		if (ctx != NULL)
			egress_next = pfl_egress_state_round(
			    ctx, now, round || next == 0);
		if (ctx != NULL && ctx->dnsbl != NULL && ctx->dnsbl->n > 0) {
			interval =
			    (unsigned)(ctx->cfg->dnsbl_interval_ms / 1000);
			if ((st = pfl_ctx_store(ctx, err, sizeof(err))) == NULL)
				pfl_log(PFL_LOG_WARNING,
				    "dnsbl: store %s: %s; the monitor's state "
				    "is kept in this process only",
				    ctx->cfg->state_store, err);
			if (round || now >= next) {
				pfl_dnsbl_round(ctx, st, now, log_note, NULL);
				next = time(NULL) + interval;
			} else if (st != NULL) {
				pfl_dnsbl_sync(ctx, st, log_note, NULL);
			}
		} else if (next == 0) {
			next = now + interval;
		}
		pfl_ctx_unref(ctx);
		now = time(NULL);
		until = now + (interval < SYNC_S ? interval : SYNC_S);
		if (next > now && next < until)
			until = next;
		if (egress_next > now && egress_next < until)
			until = egress_next;
		ts.tv_sec = until;
		ts.tv_nsec = 0;
		pthread_mutex_lock(&lock);
		while (!stopping && !kicked && time(NULL) < until)
			if (pthread_cond_timedwait(&wake, &lock, &ts) != 0)
				break;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/* pfl_dnsbl_monitor_start - start the monitor thread */
void
pfl_dnsbl_monitor_start(void)
{
	stopping = false;
	if (pthread_create(&thread, NULL, monitor, NULL) != 0)
		pfl_log(PFL_LOG_ERR, "dnsbl: cannot start the monitor thread");
	else
		running = true;
}

/* pfl_dnsbl_monitor_kick - a round now (after a reload) */
void
pfl_dnsbl_monitor_kick(void)
{
	pthread_mutex_lock(&lock);
	kicked = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

/* pfl_dnsbl_monitor_stop - stop the thread and wait for it */
void
pfl_dnsbl_monitor_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
