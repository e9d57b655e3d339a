/*
 * NAME
 *	budget_count - the end-of-message counts: bulk senders, Message-IDs
 * DESCRIPTION
 *	Plain counters (no limit) over a rolling day, charged to the ticket
 *	like any reservation so that a release takes them back, per
 *	provider the message has recipients at. A From: domain whose count
 *	reaches BulkThreshold gets a sticky mark; a Message-ID counted more
 *	than PFL_BUDGET_MSGID_MAX times is a finding (see budget.h).
 */
#include <autoconfig.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget_private.h"
#include "util.h"

/* "No limit" for plain counters; well inside every backend's numbers. */
#define NOLIMIT ((uint64_t)1 << 50)

/* The bulk counter's window and the sticky mark's (see budget.h). */
static const struct pfl_window day_window = { 1440, 60 };
static const struct pfl_window mark_window = { 365u * 86400, 1 };

/* counter - add n to a plain counter (no limit) and remember it */
static enum pfl_store_status
counter(struct pfl_budget_ticket *t, const char *key,
    const struct pfl_window *w, time_t now, uint64_t *count_r, char *err,
    size_t errlen)
{
	struct pfl_window_result r;

	memset(&r, 0, sizeof(r));
	if (pfl_store_window_add(t->store, key, w, now, 1, NOLIMIT, &r, err,
		errlen) != PFL_STORE_OK)
		return PFL_STORE_TEMPFAIL;
	pfl_budget_ticket_push(t, key, w, r.bucket, 1);
	t->can_undo = false; /* unreserve_last must not take this back */
	*count_r = r.total + 1;
	return PFL_STORE_OK;
}

/* bulk_one - the bulk count of b->domain at provider p */
static enum pfl_store_status
bulk_one(const struct pfl_budget_set *s, struct pfl_budget_ticket *t,
    enum pfl_provider p, time_t now, struct pfl_budget_bulk *b, char *err,
    size_t errlen)
{
	char kv[PFL_BUDGET_KEY_SIZE], mark[PFL_BUDGET_KEY_SIZE];
	char key[PFL_BUDGET_KEY_SIZE];
	struct pfl_window_result r;
	enum pfl_store_status st;
	uint64_t total = 0;

	pfl_budget_key_value(kv, sizeof(kv), b->domain);
	pfl_budget_key_fmt(
	    mark, sizeof(mark), "pfl:bulkmark:%s:%s", pfl_provider_name(p), kv);
	pfl_budget_key_fmt(
	    key, sizeof(key), "pfl:bulk:%s:%s:1d", pfl_provider_name(p), kv);
	st = pfl_store_window_total(
	    t->store, mark, &mark_window, now, &total, err, errlen);
	if (st == PFL_STORE_TEMPFAIL)
		return st;
	if (st == PFL_STORE_OK && total > 0) {
		b->bulk[p] = true;
		return PFL_STORE_OK;
	}
	if (counter(t, key, &day_window, now, &b->count[p], err, errlen) !=
	    PFL_STORE_OK)
		return PFL_STORE_TEMPFAIL;
	if (b->count[p] < s->bulk_threshold)
		return PFL_STORE_OK;
	b->bulk[p] = true;
	memset(&r, 0, sizeof(r));
	/* limit 1: exactly one add, fleet-wide, sets the mark */
	if (pfl_store_window_add(t->store, mark, &mark_window, now, 1, 1, &r,
		err, errlen) != PFL_STORE_OK)
		return PFL_STORE_TEMPFAIL;
	b->became_bulk[p] = r.admitted;
	return PFL_STORE_OK;
}

/* pfl_budget_bulk_count - count the message for its From: domain */
enum pfl_store_status
pfl_budget_bulk_count(const struct pfl_budget_set *s, struct pfl_store *store,
    struct pfl_budget_ticket *t, const char *from_domain, time_t now,
    struct pfl_budget_bulk *b, char *err, size_t errlen)
{
	int p;

	memset(b, 0, sizeof(*b));
	pfl_budget_ticket_bind(t, store);
	pfl_budget_orgdomain(s, b->domain, sizeof(b->domain), from_domain);
	if (b->domain[0] == '\0')
		return PFL_STORE_OK;
	for (p = PFL_PROV_DEFAULT + 1; p < PFL_NPROVIDERS; p++)
		if (t->c.consumer[p] > 0 &&
		    bulk_one(s, t, (enum pfl_provider)p, now, b, err, errlen) !=
			PFL_STORE_OK)
			return PFL_STORE_TEMPFAIL;
	return PFL_STORE_OK;
}

/* msgid_finding - the finding for a Message-ID sent too often */
static void
msgid_finding(const struct pfl_budget_set *s, enum pfl_provider p,
    const char *id, uint64_t count, struct pfl_finding *f)
{
	char reason[256];

	pfl_budget_text(reason, sizeof(reason),
	    "Message-ID %.80s sent %" PRIu64 " times to %s in 24 h (more "
	    "than %d); give every message its own Message-ID",
	    id, count, pfl_provider_name(p), PFL_BUDGET_MSGID_MAX);
	pfl_finding_set(f, "budget", PFL_OUT_THROTTLE, s->on_exceeded,
	    p == PFL_PROV_GOOGLE ? "421 4.7.28" : "4xx", "451", "4.7.1",
	    reason);
}

/* pfl_budget_msgid - count the Message-ID per provider */
enum pfl_store_status
pfl_budget_msgid(const struct pfl_budget_set *s, struct pfl_store *store,
    struct pfl_budget_ticket *t, const char *message_id, time_t now,
    bool *found_r, struct pfl_finding *f_r, char *err, size_t errlen)
{
	char key[PFL_BUDGET_KEY_SIZE], *copy, *id;
	enum pfl_store_status st = PFL_STORE_OK;
	uint64_t h, count;
	int p;

	*found_r = false;
	pfl_budget_ticket_bind(t, store);
	copy = pfl_xstrdup(message_id ? message_id : "");
	id = pfl_trim(copy);
	if (*id == '\0')
		goto out;
	h = pfl_budget_fnv64(id);
	for (p = PFL_PROV_DEFAULT + 1; p < PFL_NPROVIDERS; p++) {
		if (t->c.prov[p] == 0)
			continue;
		pfl_budget_key_fmt(key, sizeof(key),
		    "pfl:mid:%s:%016" PRIx64 ":1d",
		    pfl_provider_name((enum pfl_provider)p), h);
		if ((st = counter(t, key, &day_window, now, &count, err,
			 errlen)) != PFL_STORE_OK)
			break;
		if (count > PFL_BUDGET_MSGID_MAX && !*found_r) {
			*found_r = true;
			msgid_finding(s, (enum pfl_provider)p, id, count, f_r);
		}
	}
out:
	free(copy);
	return st;
}
