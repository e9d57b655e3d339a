/*
 * NAME
 *	budget_count - the end-of-message counts: bulk senders, Message-IDs
 * DESCRIPTION
 *	Plain counters (no limit) over a rolling day, charged to the ticket
 *	like any reservation so that a release takes them back, per
 *	provider the message has recipients at. A From: domain whose count
 *	reaches BulkThreshold gets a sticky mark; a Message-ID counted more
 *	than PFL_BUDGET_MSGID_MAX times is a finding (see budget.h). The
 *	counts of a message and the reads of its bulk marks go to the store
 *	in one batch, one round trip to a Redis server; a domain already
 *	marked is counted too (its count no longer decides anything).
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

/* What an op of the end-of-message batch counts. */
enum eom_kind {
	EOM_MARK,  /* read the provider's bulk mark (n = 0) */
	EOM_BULK,  /* count the From: domain's message */
	EOM_MSGID, /* count the Message-ID */
};

#define EOM_OPS (3 * PFL_NPROVIDERS)

/* The end-of-message counts of one message: one store batch. */
struct eom_batch {
	struct pfl_window_op ops[EOM_OPS];
	struct pfl_window_result res[EOM_OPS];
	char keys[EOM_OPS][PFL_BUDGET_KEY_SIZE];
	enum eom_kind kind[EOM_OPS];
	int prov[EOM_OPS];
	size_t n;
};

/* eom_op - the op of the batch whose key was just formatted (at keys[n]) */
static void
eom_op(struct eom_batch *e, enum eom_kind kind, int p,
    const struct pfl_window *w, uint64_t n)
{
	e->ops[e->n] = (struct pfl_window_op){ e->keys[e->n], *w, n, NOLIMIT };
	e->kind[e->n] = kind;
	e->prov[e->n++] = p;
}

/* eom_ops - the batch for domain (or "") and Message-ID id (or "") */
static void
eom_ops(struct eom_batch *e, const struct pfl_budget_ticket *t,
    const char *domain, const char *id)
{
	char kv[PFL_BUDGET_KEY_SIZE];
	const char *name;
	uint64_t h = pfl_budget_fnv64(id);
	int p;

	pfl_budget_key_value(kv, sizeof(kv), domain);
	for (p = PFL_PROV_DEFAULT + 1; p < PFL_NPROVIDERS; p++) {
		name = pfl_provider_name((enum pfl_provider)p);
		if (*domain != '\0' && t->c.consumer[p] > 0) {
			pfl_budget_key_fmt(e->keys[e->n], PFL_BUDGET_KEY_SIZE,
			    "pfl:bulkmark:%s:%s", name, kv);
			eom_op(e, EOM_MARK, p, &mark_window, 0);
			pfl_budget_key_fmt(e->keys[e->n], PFL_BUDGET_KEY_SIZE,
			    "pfl:bulk:%s:%s:1d", name, kv);
			eom_op(e, EOM_BULK, p, &day_window, 1);
		}
		if (*id != '\0' && t->c.prov[p] > 0) {
			pfl_budget_key_fmt(e->keys[e->n], PFL_BUDGET_KEY_SIZE,
			    "pfl:mid:%s:%016" PRIx64 ":1d", name, h);
			eom_op(e, EOM_MSGID, p, &day_window, 1);
		}
	}
}

/*
 * set_mark - the From: domain reached BulkThreshold at provider p: set
 * its mark; limit 1, so exactly one add, fleet-wide, sets it
 */
static enum pfl_store_status
set_mark(struct pfl_budget_ticket *t, const char *mark, time_t now, int p,
    struct pfl_budget_bulk *b, char *err, size_t errlen)
{
	struct pfl_window_result r;

	memset(&r, 0, sizeof(r));
	b->bulk[p] = true;
	if (pfl_store_window_add(t->store, mark, &mark_window, now, 1, 1, &r,
		err, errlen) != PFL_STORE_OK)
		return PFL_STORE_TEMPFAIL;
	b->became_bulk[p] = r.admitted;
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

/*
 * pfl_budget_eom_count - the bulk count of from_domain and the count of
 * message_id (either NULL or empty: not counted), in one store call
 */
enum pfl_store_status
pfl_budget_eom_count(const struct pfl_budget_set *s, struct pfl_store *store,
    struct pfl_budget_ticket *t, const char *from_domain,
    const char *message_id, time_t now, struct pfl_budget_eom *r, char *err,
    size_t errlen)
{
	struct eom_batch *e = pfl_xcalloc(1, sizeof(*e));
	enum pfl_store_status st = PFL_STORE_OK;
	bool marked[PFL_NPROVIDERS] = { false };
	char *copy = pfl_xstrdup(message_id ? message_id : ""), *id;
	uint64_t count;
	size_t i, at;
	int p;

	memset(r, 0, sizeof(*r));
	pfl_budget_ticket_bind(t, store);
	pfl_budget_orgdomain(s, r->bulk.domain, sizeof(r->bulk.domain),
	    from_domain ? from_domain : "");
	id = pfl_trim(copy);
	eom_ops(e, t, r->bulk.domain, id);
	if (e->n > 0 &&
	    (st = pfl_store_window_add_many(t->store, e->ops, e->n, now, e->res,
		 &at, err, errlen)) == PFL_STORE_OK &&
	    at != e->n) {
		pfl_budget_text(err, errlen,
		    "store: a count without limit "
		    "was refused");
		st = PFL_STORE_TEMPFAIL;
	}
	for (i = 0; st == PFL_STORE_OK && i < e->n; i++) {
		p = e->prov[i];
		if (e->kind[i] == EOM_MARK) {
			marked[p] = e->res[i].total > 0;
			continue;
		}
		pfl_budget_ticket_push(
		    t, e->keys[i], &e->ops[i].w, e->res[i].bucket, 1);
		t->can_undo = false; /* unreserve_last must not take it back */
		count = e->res[i].total + 1;
		if (e->kind[i] == EOM_MSGID) {
			if (count > PFL_BUDGET_MSGID_MAX && !r->msgid_found) {
				r->msgid_found = true;
				msgid_finding(s, (enum pfl_provider)p, id,
				    count, &r->msgid);
			}
			continue;
		}
		r->bulk.count[p] = count;
		if (marked[p])
			r->bulk.bulk[p] = true;
		else if (count >= s->bulk_threshold)
			st = set_mark(
			    t, e->keys[i - 1], now, p, &r->bulk, err, errlen);
	}
	free(copy);
	free(e);
	return st;
}
