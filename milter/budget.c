/*
 * NAME
 *	budget - reserve, commit and release
 * DESCRIPTION
 *	A ticket is the message's list of reservations, each as the store's
 *	add returned it (key, window, bucket, n), so a release takes back
 *	exactly what was added, and a message-unit budget already charged
 *	for this message is found in the ticket by its key when a later
 *	recipient would charge it again. A recipient's adds, one per budget
 *	and scope value in checking order, go to the store in one batch
 *	that admits all or none (pfl_store_window_add_many): a refusal or a
 *	store failure leaves nothing to give back, and the first budget
 *	that refused is reported as a budget-by-budget charge would have.
 *	The ticket also counts the message's admitted recipients (per
 *	provider, external ones) for the per-message cap and the
 *	end-of-message counts (budget_count.c).
 * OWNERSHIP
 *	A ticket owns its entries and their keys.
 */
#include <autoconfig.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget_private.h"
#include "util.h"

/* The subject's values as budgets compare and key them. */
struct who {
	char sender[320];                 /* auth user or envelope sender */
	char sender_org[PFL_DOMAIN_SIZE]; /* its organisational domain */
	char rcpt[PFL_DOMAIN_SIZE];       /* recipient domain, normalised */
	char rcpt_org[PFL_DOMAIN_SIZE];
};

/* One add of a recipient's batch, and the budget it is for. */
struct batch_add {
	const struct pfl_budget_rule *r;
	const char *value; /* the scope value (borrowed) */
	char key[PFL_BUDGET_KEY_SIZE];
	uint64_t limit; /* the budget's N at now */
};

/* A recipient's adds, in checking order; add is malloc'd. */
struct batch {
	struct batch_add *add;
	size_t n, cap;
};

/* pfl_budget_ticket_new - an empty ticket */
struct pfl_budget_ticket *
pfl_budget_ticket_new(void)
{
	return pfl_xcalloc(1, sizeof(struct pfl_budget_ticket));
}

/* drop_entries - forget entries [from, n) without releasing them */
static void
drop_entries(struct pfl_budget_ticket *t, size_t from)
{
	while (t->n > from)
		free(t->e[--t->n].key);
}

/* reset - an empty ticket again */
static void
reset(struct pfl_budget_ticket *t)
{
	drop_entries(t, 0);
	memset(&t->c, 0, sizeof(t->c));
	t->can_undo = false;
	t->store = NULL;
}

/* pfl_budget_ticket_free - free a ticket */
void
pfl_budget_ticket_free(struct pfl_budget_ticket **tp)
{
	struct pfl_budget_ticket *t = *tp;

	if (t == NULL)
		return;
	drop_entries(t, 0);
	free(t->e);
	free(t);
	*tp = NULL;
}

/* pfl_budget_ticket_bind - the ticket's store; one ticket never spans two */
void
pfl_budget_ticket_bind(struct pfl_budget_ticket *t, struct pfl_store *store)
{
	if (t->store != NULL && t->store != store)
		abort();
	t->store = store;
}

/* pfl_budget_ticket_push - remember a reservation */
void
pfl_budget_ticket_push(struct pfl_budget_ticket *t, const char *key,
    const struct pfl_window *w, time_t bucket, uint64_t n)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->e = pfl_xrealloc(t->e, t->cap * sizeof(*t->e));
	}
	t->e[t->n].key = pfl_xstrdup(key);
	t->e[t->n].w = *w;
	t->e[t->n].bucket = bucket;
	t->e[t->n++].n = n;
}

/* has_key - is key reserved in the ticket? */
static bool
has_key(const struct pfl_budget_ticket *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0)
			return true;
	return false;
}

/*
 * give_back - release entries [from, n), newest first, and drop them;
 * the first failure is returned (with its reason in err), the others
 * are still tried
 */
static enum pfl_store_status
give_back(struct pfl_budget_ticket *t, size_t from, char *err, size_t errlen)
{
	enum pfl_store_status st = PFL_STORE_OK;
	char why[256];
	size_t i;

	for (i = t->n; i > from; i--) {
		struct pfl_budget_entry *e = &t->e[i - 1];

		if (pfl_store_window_release(t->store, e->key, &e->w, e->bucket,
			e->n, why, sizeof(why)) == PFL_STORE_TEMPFAIL &&
		    st == PFL_STORE_OK) {
			st = PFL_STORE_TEMPFAIL;
			pfl_budget_text(
			    err, errlen, "release %s: %s", e->key, why);
		}
	}
	drop_entries(t, from);
	return st;
}

/* who_init - the subject's values, normalised */
static void
who_init(const struct pfl_budget_set *s, const struct pfl_budget_subject *subj,
    struct who *w)
{
	char dom[PFL_DOMAIN_SIZE];

	if (subj->auth_user != NULL && *subj->auth_user != '\0')
		pfl_addr_strip(w->sender, sizeof(w->sender), subj->auth_user);
	else
		pfl_addr_strip(
		    w->sender, sizeof(w->sender), subj->envelope_sender);
	pfl_addr_domain(dom, sizeof(dom), subj->envelope_sender);
	pfl_budget_orgdomain(s, w->sender_org, sizeof(w->sender_org), dom);
	if (subj->rcpt_domain == NULL ||
	    pfl_orgdomain_normalize(
		subj->rcpt_domain, w->rcpt, sizeof(w->rcpt)) < 0)
		w->rcpt[0] = '\0';
	pfl_budget_orgdomain(s, w->rcpt_org, sizeof(w->rcpt_org), w->rcpt);
}

/* applies - does the rule's target take this recipient? */
static bool
applies(const struct pfl_budget_rule *r, const struct pfl_budget_subject *subj,
    const struct who *w)
{
	switch (r->target) {
	case PFL_BTARGET_ANY:
		return true;
	case PFL_BTARGET_PROVIDER:
		return subj->provider == r->provider;
	case PFL_BTARGET_DOMAIN:
		return w->rcpt[0] && pfl_orgdomain_is_under(w->rcpt, r->domain);
	}
	return false;
}

/* has_egress - is addr one of the subject's egress addresses? */
static bool
has_egress(const struct pfl_budget_subject *subj, const char *addr)
{
	size_t i;

	for (i = 0; i < subj->negress; i++)
		if (strcmp(subj->egress[i], addr) == 0)
			return true;
	return false;
}

/* scope_value - the k-th value the rule counts this subject under, or NULL */
static const char *
scope_value(const struct pfl_budget_rule *r,
    const struct pfl_budget_subject *subj, const struct who *w, size_t k)
{
	const char *v = NULL;

	if (r->warmup) {
		if (k == 0 && r->scope == PFL_BSCOPE_SENDER_DOMAIN &&
		    strcmp(w->sender_org, r->value) == 0)
			v = r->value;
		if (k == 0 && r->scope == PFL_BSCOPE_EGRESS_IP &&
		    has_egress(subj, r->value))
			v = r->value;
		return v;
	}
	switch (r->scope) {
	case PFL_BSCOPE_SENDER:
		v = k == 0 ? w->sender : NULL;
		break;
	case PFL_BSCOPE_SENDER_DOMAIN:
		v = k == 0 ? w->sender_org : NULL;
		break;
	case PFL_BSCOPE_EGRESS_IP:
		v = k < subj->negress ? subj->egress[k] : NULL;
		break;
	case PFL_BSCOPE_ALL:
		v = k == 0 ? "*" : NULL;
		break;
	}
	return v != NULL && *v != '\0' ? v : NULL;
}

/* make_key - the store key of a rule for a value */
static char *
make_key(char *dst, size_t n, const struct pfl_budget_rule *r, const char *v)
{
	char kv[PFL_BUDGET_KEY_SIZE];

	if (r->scope == PFL_BSCOPE_ALL && !r->warmup)
		pfl_strlcpy(kv, "*", sizeof(kv));
	else
		pfl_budget_key_value(kv, sizeof(kv), v);
	pfl_budget_key_fmt(dst, n, "%s%s%s", r->prefix, kv, r->suffix);
	return dst;
}

/* slot_text - "14:05:10Z" today (UTC), else the date too */
static char *
slot_text(char *dst, size_t n, time_t next, time_t now)
{
	struct tm a, b;

	if (next <= 0 || gmtime_r(&next, &a) == NULL ||
	    gmtime_r(&now, &b) == NULL) {
		pfl_strlcpy(dst, "unknown", n);
		return dst;
	}
	if (a.tm_year == b.tm_year && a.tm_yday == b.tm_yday)
		strftime(dst, n, "%H:%M:%SZ", &a);
	else
		strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &a);
	return dst;
}

/* refuse - fill the verdict for a budget that refused */
static void
refuse(const struct pfl_budget_set *s, const struct pfl_budget_rule *r,
    const char *key, const char *value, const struct pfl_window_result *res,
    time_t now, struct pfl_budget_verdict *v)
{
	char slot[32], reason[320], from[96] = "", name[160];

	pfl_strlcpy(v->key, key, sizeof(v->key));
	/* the value is a sender's address: untrusted text */
	pfl_budget_rule_name(name, sizeof(name), r, value, now);
	pfl_printable(v->budget, sizeof(v->budget), name, "%\"");
	pfl_strlcpy(v->origin, r->origin, sizeof(v->origin));
	v->limit = pfl_budget_limit_at(r, now, NULL);
	v->used = res->total;
	v->next_free = res->next_free;
	if (r->preset != NULL)
		pfl_budget_text(from, sizeof(from), " (%s)", r->origin);
	pfl_budget_text(reason, sizeof(reason),
	    "budget %s exhausted%s; next slot %s", v->budget, from,
	    slot_text(slot, sizeof(slot), res->next_free, now));
	pfl_finding_set(&v->finding, "budget", r->outcome, s->on_exceeded,
	    r->reply, "452", "4.7.1", reason);
}

/* in_batch - is key among the batch's adds? */
static bool
in_batch(const struct batch *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->add[i].key, key) == 0)
			return true;
	return false;
}

/*
 * batch_push - the add of one recipient in one budget under one value;
 * nothing when a message-unit budget already counts this message (an
 * earlier recipient, or an earlier add of this batch)
 */
static void
batch_push(struct batch *b, const struct pfl_budget_rule *r,
    const struct pfl_budget_ticket *t, const char *value, time_t now)
{
	struct batch_add *a;
	char key[PFL_BUDGET_KEY_SIZE];

	make_key(key, sizeof(key), r, value);
	if (r->unit == PFL_BUNIT_MESSAGES &&
	    (has_key(t, key) || in_batch(b, key)))
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->add = pfl_xrealloc(b->add, b->cap * sizeof(*b->add));
	}
	a = &b->add[b->n++];
	a->r = r;
	a->value = value;
	pfl_strlcpy(a->key, key, sizeof(a->key));
	a->limit = pfl_budget_limit_at(r, now, NULL);
}

/* batch_collect - the adds of every budget that applies to the subject */
static void
batch_collect(const struct pfl_budget_set *s,
    const struct pfl_budget_subject *subj, const struct who *w, time_t now,
    const struct pfl_budget_ticket *t, struct batch *b)
{
	const char *val;
	size_t i, k;

	for (i = 0; i < s->n; i++) {
		if (!applies(&s->rules[i], subj, w))
			continue;
		for (k = 0; (val = scope_value(&s->rules[i], subj, w, k)); k++)
			batch_push(b, &s->rules[i], t, val, now);
	}
}

/*
 * charge - the batch's adds in one store call, all or none: on ADMIT
 * they are in the ticket; on OVER the first budget that refused is in
 * v (what a budget-by-budget add would have said); on TEMPFAIL nothing
 * was added
 */
static enum pfl_budget_status
charge(const struct pfl_budget_set *s, struct pfl_budget_ticket *t,
    const struct batch *b, time_t now, struct pfl_budget_verdict *v)
{
	struct pfl_window_result *res;
	struct pfl_window_op *ops;
	enum pfl_budget_status st = PFL_BUDGET_ADMIT;
	char why[200];
	size_t i, at;

	if (b->n == 0)
		return PFL_BUDGET_ADMIT;
	ops = pfl_xcalloc(b->n, sizeof(*ops));
	res = pfl_xcalloc(b->n, sizeof(*res));
	for (i = 0; i < b->n; i++)
		ops[i] = (struct pfl_window_op){ b->add[i].key, b->add[i].r->w,
			1, b->add[i].limit };
	if (pfl_store_window_add_many(t->store, ops, b->n, now, res, &at, why,
		sizeof(why)) != PFL_STORE_OK) {
		pfl_budget_text(v->error, sizeof(v->error), "%s store, %s: %s",
		    pfl_store_kind(t->store), b->add[at < b->n ? at : 0].key,
		    why);
		st = PFL_BUDGET_TEMPFAIL;
	} else if (at < b->n) {
		refuse(s, b->add[at].r, b->add[at].key, b->add[at].value,
		    &res[at], now, v);
		st = PFL_BUDGET_OVER;
	} else {
		for (i = 0; i < b->n; i++)
			pfl_budget_ticket_push(
			    t, ops[i].key, &ops[i].w, res[i].bucket, 1);
	}
	free(ops);
	free(res);
	return st;
}

/* over_permsg - is the message at its preset's recipients-per-message cap? */
static bool
over_permsg(const struct pfl_budget_set *s, const struct pfl_budget_ticket *t,
    bool external, struct pfl_budget_verdict *v)
{
	const char *ext = s->permsg_external ? " external" : "";
	unsigned count = s->permsg_external ? t->c.external : t->c.rcpts;
	char reason[256];

	if (s->permsg_max == 0 || (s->permsg_external && !external) ||
	    count < s->permsg_max)
		return false;
	snprintf(v->budget, sizeof(v->budget), "%u%s recipients per message",
	    s->permsg_max, ext);
	snprintf(
	    v->origin, sizeof(v->origin), "SendingLimits %s", s->permsg_preset);
	v->limit = s->permsg_max;
	v->used = count;
	pfl_budget_text(reason, sizeof(reason),
	    "%s allows %u%s recipients per message; send the others in "
	    "another transaction",
	    s->permsg_preset, s->permsg_max, ext);
	pfl_finding_set(&v->finding, "budget", PFL_OUT_THROTTLE, s->on_exceeded,
	    "452 4.5.3", "452", "4.5.3", reason);
	return true;
}

/* admit - count an admitted recipient; its reservations from mark on */
static void
admit(struct pfl_budget_ticket *t, size_t mark,
    const struct pfl_budget_subject *subj, bool external)
{
	unsigned p = (unsigned)subj->provider < PFL_NPROVIDERS
	    ? (unsigned)subj->provider
	    : PFL_PROV_DEFAULT;

	t->undo = t->c;
	t->undo_n = mark;
	t->can_undo = true;
	t->c.rcpts++;
	t->c.external += external;
	t->c.prov[p]++;
	if (!subj->tenant)
		t->c.consumer[p]++;
}

/* pfl_budget_reserve - at RCPT: reserve in every budget that applies */
enum pfl_budget_status
pfl_budget_reserve(const struct pfl_budget_set *s, struct pfl_store *store,
    const struct pfl_budget_subject *subj, time_t now,
    struct pfl_budget_ticket *t, struct pfl_budget_verdict *v)
{
	struct batch b = { NULL, 0, 0 };
	enum pfl_budget_status st;
	size_t mark = t->n;
	struct who w;
	bool external;

	memset(v, 0, sizeof(*v));
	pfl_budget_ticket_bind(t, store);
	who_init(s, subj, &w);
	external = w.sender_org[0] == '\0' || strcmp(w.rcpt_org, w.sender_org);
	if (over_permsg(s, t, external, v))
		return PFL_BUDGET_OVER;
	batch_collect(s, subj, &w, now, t, &b);
	st = charge(s, t, &b, now, v);
	free(b.add);
	if (st != PFL_BUDGET_ADMIT)
		return st;
	admit(t, mark, subj, external);
	v->admitted = true;
	return PFL_BUDGET_ADMIT;
}

/* pfl_budget_unreserve_last - give back the last admitted recipient */
enum pfl_store_status
pfl_budget_unreserve_last(struct pfl_budget_ticket *t, char *err, size_t errlen)
{
	enum pfl_store_status st;

	if (!t->can_undo)
		return PFL_STORE_OK;
	st = give_back(t, t->undo_n, err, errlen);
	t->c = t->undo;
	t->can_undo = false;
	return st;
}

/* pfl_budget_commit - the message is accepted: keep everything counted */
void
pfl_budget_commit(struct pfl_budget_ticket *t)
{
	reset(t);
}

/* pfl_budget_release - give back every reservation */
enum pfl_store_status
pfl_budget_release(struct pfl_budget_ticket *t, char *err, size_t errlen)
{
	enum pfl_store_status st = PFL_STORE_OK;

	if (t->store != NULL)
		st = give_back(t, 0, err, errlen);
	reset(t);
	return st;
}
