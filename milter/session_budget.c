/*
 * NAME
 *	session_budget - rate budgets in the SMTP dialogue
 * DESCRIPTION
 *	The session's side of budget.h: a ticket per message, a reservation
 *	per recipient at RCPT, the bulk and Message-ID counts at end of
 *	message, then commit (the message was accepted) or release (deferred,
 *	rejected, aborted, or the connection dropped). A store failure takes
 *	OnStoreError (accept: go on without budgets; defer: 4xx), bounded by
 *	the store's timeout and logged when the store goes down and when it
 *	comes back, not for every message.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "checks.h"
#include "ctx.h"
#include "log.h"
#include "session.h"
#include "util.h"

/* Is the store known to be down? Logged on each change only. */
static int store_down;

/*
 * While the store is down it is asked again only every RETRY_S seconds:
 * a store that hangs would otherwise cost its timeout for every
 * recipient of every message.
 */
#define RETRY_S 3
static time_t retry_at;

/* store_trouble - note a store failure; log only the first of an outage */
static void
store_trouble(const struct pfl_session *s, const char *why)
{
	__atomic_store_n(&retry_at, time(NULL) + RETRY_S, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&store_down, 1, __ATOMIC_RELAXED) == 0)
		pfl_log(PFL_LOG_ERR,
		    "store %s failed: %s; budgets not enforced (OnStoreError "
		    "%s) until it answers again",
		    s->cfg->state_store, why,
		    pfl_action_name(s->cfg->on_store_error));
}

/* store_ok - the store answered: log the end of an outage */
static void
store_ok(const struct pfl_session *s)
{
	if (__atomic_exchange_n(&store_down, 0, __ATOMIC_RELAXED) != 0)
		pfl_log(PFL_LOG_NOTICE, "store %s answers again",
		    s->cfg->state_store);
}

/* store_of - the session's store, or NULL after logging why */
static struct pfl_store *
store_of(struct pfl_session *s)
{
	char err[256];
	struct pfl_store *st;

	if (__atomic_load_n(&store_down, __ATOMIC_RELAXED) &&
	    time(NULL) < __atomic_load_n(&retry_at, __ATOMIC_RELAXED))
		return NULL; /* known down: OnStoreError without waiting */
	if ((st = pfl_ctx_store(s->ctx, err, sizeof(err))) == NULL)
		store_trouble(s, err);
	return st;
}

/* pfl_session_budget_mail - a ticket for the new message */
void
pfl_session_budget_mail(struct pfl_session *s)
{
	s->msg->ticket = pfl_budget_ticket_new();
}

/*
 * pfl_session_budget_rcpt - reserve a recipient. Returns false and fills
 * f_r when a budget refuses it (or the store failed under OnStoreError
 * defer); true when it may go on.
 */
bool
pfl_session_budget_rcpt(struct pfl_session *s, const char *rcpt,
    const struct pfl_provider_match *m, struct pfl_finding *f_r)
{
	const struct pfl_config *cfg = s->cfg;
	struct pfl_budget_subject subj;
	struct pfl_budget_verdict v;
	struct pfl_store *st;
	char domain[256];

	if (s->msg->ticket == NULL || (st = store_of(s)) == NULL)
		goto trouble;
	pfl_addr_domain(domain, sizeof(domain), rcpt);
	memset(&subj, 0, sizeof(subj));
	subj.auth_user = s->msg->auth;
	subj.envelope_sender = s->msg->sender;
	subj.egress = (const char *const *)cfg->egress_addresses.v;
	subj.negress = cfg->egress_addresses.n;
	subj.rcpt_domain = domain;
	subj.provider = m->provider;
	subj.tenant = m->tenant;
	switch (pfl_budget_reserve(
	    s->ctx->budgets, st, &subj, time(NULL), s->msg->ticket, &v)) {
	case PFL_BUDGET_ADMIT:
		store_ok(s);
		return true;
	case PFL_BUDGET_OVER:
		store_ok(s);
		*f_r = v.finding;
		return false;
	case PFL_BUDGET_TEMPFAIL:
		store_trouble(s, v.error);
		break;
	}
trouble:
	if (cfg->on_store_error != PFL_ACT_DEFER)
		return true;
	pfl_finding_set(f_r, "store", PFL_OUT_DELIVER, PFL_ACT_DEFER, NULL,
	    "451", "4.3.0",
	    "the budget store does not answer (OnStoreError defer)");
	return false;
}

/*
 * pfl_session_budget_eom - before the checks decide: the bulk and
 * Message-ID counts; findings go to the message
 */
void
pfl_session_budget_eom(struct pfl_session *s)
{
	struct pfl_msg *m = s->msg;
	struct pfl_budget_eom r;
	struct pfl_finding *slot;
	struct pfl_store *st;
	char err[256];
	int p;

	if (m->ticket == NULL || m->nrcpt == 0 || (st = store_of(s)) == NULL)
		return;
	if (pfl_budget_eom_count(s->ctx->budgets, st, m->ticket,
		m->checks->from_domain, m->checks->message_id, time(NULL), &r,
		err, sizeof(err)) != PFL_STORE_OK) {
		store_trouble(s, err);
		return;
	}
	for (p = 0; p < PFL_NPROVIDERS; p++) {
		m->checks->bulk_volume[p] = r.bulk.bulk[p];
		if (r.bulk.became_bulk[p])
			pfl_log(PFL_LOG_NOTICE,
			    "%s is now a bulk sender at %s (%llu messages in "
			    "24h, BulkThreshold %u): bulk rules apply",
			    r.bulk.domain,
			    pfl_provider_name((enum pfl_provider)p),
			    (unsigned long long)r.bulk.count[p],
			    s->cfg->bulk_threshold);
	}
	if (r.msgid_found && (slot = pfl_msg_add_finding(m)) != NULL)
		*slot = r.msgid;
}

/* pfl_session_budget_end - commit (accepted) or release the ticket */
void
pfl_session_budget_end(struct pfl_session *s, bool accepted)
{
	char err[256];

	if (s->msg == NULL || s->msg->ticket == NULL)
		return;
	if (accepted)
		pfl_budget_commit(s->msg->ticket);
	else if (pfl_budget_release(s->msg->ticket, err, sizeof(err)) !=
	    PFL_STORE_OK)
		store_trouble(s, err);
	pfl_budget_ticket_free(&s->msg->ticket);
}
