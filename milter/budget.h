/*
 * NAME
 *	budget 3h - rate budgets: how much a sender may send, and when
 * DESCRIPTION
 *	A budget is "N messages (or recipients) per rolling window W" for a
 *	target (a provider, a recipient domain or every recipient, "*") and
 *	a scope (per sender, per organisational sender domain, per egress
 *	address, or all mail together). Config lines:
 *
 *	  Budget TARGET SCOPE N/W [N/W...] [unit=messages|recipients]
 *	  Warmup sender-domain|egress-ip VALUE start=YYYY-MM-DD initial=N
 *	      growth=F max=N
 *	  SendingLimits google-workspace|microsoft-365|none
 *
 *	TARGET: google, microsoft, yahoo, apple (the recipient's provider as
 *	recognised by provider.h, MX rollup included, so a Workspace domain
 *	counts against google), a recipient domain (that domain and those
 *	below it share one counter) or "*". SCOPE: sender (the authenticated
 *	user, else the envelope sender), sender-domain (the organisational
 *	domain of the envelope sender), egress-ip (each EgressAddresses
 *	entry: Postfix does not tell which one it will use, so every one is
 *	charged) or all. W: a number with s, m, h or d (24h and 1d are the
 *	same window). Each N/W is a budget of its own; all budgets that
 *	apply to a recipient must admit it. A budget whose scope value the
 *	message lacks (a null envelope sender without authentication) does
 *	not apply.
 *
 *	Warm-up: the daily budget (messages per rolling 24 h, every target)
 *	of that sender domain or egress address on day d after start (day 0
 *	is the start date, UTC; dates before it count as day 0) is
 *	min(max, floor(initial * growth^d)).
 *
 *	SendingLimits presets, the documented per-user caps of the service
 *	the mail is relayed through (RECEIVERS.md), as budgets "* sender":
 *	  google-workspace: 2000/1d messages, 10000/1d recipients, and at
 *	      most 500 external recipients (recipient organisational domain
 *	      other than the sender's) per message
 *	  microsoft-365: 10000/1d recipients, 30/1m messages, and at most
 *	      500 recipients per message
 *	A Budget line with the same target, scope, unit and window replaces
 *	the preset's budget. The per-message cap is no window: recipients
 *	past it get "452 4.5.3" (too many recipients) and the client sends
 *	them in another transaction.
 * BUCKETS AND THE INVARIANT
 *	Each window W is kept in the store (store.h) as nbuckets buckets of
 *	B = W / nbuckets seconds: nbuckets is the largest divisor of W up to
 *	PFL_BUDGET_BUCKETS (60), so 1m has 1 s buckets, 1h 60 s, 1d 24 min.
 *	A W that cannot be cut into at least 10 equal buckets (61s, 3601s)
 *	is a config error. The store counts the partly covered oldest bucket
 *	whole, so no window of length W ever admits more than N; the price
 *	is over-counting: an admission stays counted for at most W + B
 *	seconds instead of W, so a refusal (and its "next slot") comes at
 *	most B = W/60 (at worst W/10) seconds early, and a sender held at
 *	the cap gets at least N per W + B.
 * KEYS
 *	Store keys are printable ASCII, at most PFL_BUDGET_KEY_SIZE - 1
 *	bytes, lower case:
 *	  pfl:b:TARGET:SCOPE:VALUE:WINDOW:UNIT   a budget
 *	      pfl:b:google:sender-domain:example.com:1h:msg
 *	      pfl:b:*:sender:alice@example.com:1d:rcpt
 *	      pfl:b:gmail.com:egress-ip:192.0.2.1:1m:msg
 *	      pfl:b:yahoo:all:*:1d:msg
 *	  pfl:w:SCOPE:VALUE:1d:msg               a warm-up
 *	  pfl:bulk:PROVIDER:ORGDOMAIN:1d         bulk counter (From: domain)
 *	  pfl:bulkmark:PROVIDER:ORGDOMAIN        bulk status, sticky
 *	  pfl:mid:PROVIDER:HASH:1d               one Message-ID's count
 *	WINDOW is the window in its largest whole unit (86400 s is "1d").
 *	A TARGET or VALUE longer than 64 bytes, or with bytes other than
 *	lower-case letters, digits and ".-_@+=", is written as its first 40
 *	bytes (lower-cased, any other byte as "_"), "~" and the 16 hex
 *	digits of the 64-bit FNV-1a hash of the whole value (an IPv6
 *	address: "2001_db8__1~..."); a Message-ID is always hashed. A
 *	collision would make two senders share a counter: the values are
 *	our own senders' names, not an attacker's free choice.
 *	A key is at most 163 bytes ("pfl:b:" 64 ":" 13 ":" 64 ":" 8 ":" 4).
 * BULK AND MESSAGE-ID COUNTS
 *	At end of message, per provider with recipients in the ticket
 *	(default and business tenants excepted for bulk), the organisational
 *	From: domain's messages of the last 24 h are counted; the message
 *	that brings the count to BulkThreshold sets a sticky store mark
 *	(kept between one and two years; `preflight budget reset` clears
 *	it) and only the one add that set it, fleet-wide, sees became_bulk.
 *	The same Message-ID sent to one provider (google, yahoo, microsoft,
 *	apple) more than PFL_BUDGET_MSGID_MAX times in 24 h is a finding
 *	(Gmail answers 421 4.7.28): applications that reuse one Message-ID
 *	are the cause, and ten is far above what a resend after a failure
 *	produces.
 * OWNERSHIP
 *	A set is built from a config snapshot (it copies what it needs).
 *	A ticket belongs to one message: created at MAIL FROM, given to
 *	every pfl_budget_reserve of its recipients, then committed or
 *	released; after either it is empty and may serve the next message.
 *	It remembers the store of its first reservation; the caller keeps
 *	that store open until the ticket is committed or released. Freeing
 *	a ticket neither commits nor releases: what it holds stays counted
 *	(conservative, like a crash).
 * THREAD SAFETY
 *	A set is read-only once built: any number of threads may use it.
 *	A ticket is used by one thread at a time. Nothing is logged.
 */
#ifndef PFL_BUDGET_H
#define PFL_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "orgdomain.h"
#include "provider.h"
#include "store.h"
#include "verdict.h"

#define PFL_BUDGET_BUCKETS  60  /* buckets per window, at most */
#define PFL_BUDGET_KEY_SIZE 192 /* a store key and its NUL */
#define PFL_BUDGET_MSGID_MAX                                                   \
	10 /* messages with one Message-ID to one provider in 24 h */

enum pfl_budget_scope {
	PFL_BSCOPE_SENDER,        /* authenticated user, else envelope sender */
	PFL_BSCOPE_SENDER_DOMAIN, /* organisational envelope sender domain */
	PFL_BSCOPE_EGRESS_IP,     /* each egress address */
	PFL_BSCOPE_ALL,           /* everything together */
};

enum pfl_budget_unit {
	PFL_BUNIT_MESSAGES,   /* a message counts once per budget */
	PFL_BUNIT_RECIPIENTS, /* every recipient counts */
};

enum pfl_budget_status {
	PFL_BUDGET_ADMIT,    /* every budget admitted the recipient */
	PFL_BUDGET_OVER,     /* a budget refused: see the verdict */
	PFL_BUDGET_TEMPFAIL, /* store trouble: the caller applies
				OnStoreError; nothing stays reserved */
};

/* Who sends to whom: one recipient of one message. Borrowed strings. */
struct pfl_budget_subject {
	const char *auth_user;       /* SASL login, or NULL/"" */
	const char *envelope_sender; /* MAIL FROM address, or NULL/"" */
	const char *const *egress;   /* egress addresses (EgressAddresses) */
	size_t negress;
	const char *rcpt_domain;    /* the recipient's domain */
	enum pfl_provider provider; /* its provider (pfl_provider_for_domain) */
	bool tenant;                /* a business tenant there */
};

/* The answer for one recipient. All text is printable. */
struct pfl_budget_verdict {
	bool admitted;
	char key[PFL_BUDGET_KEY_SIZE]; /* refused: the budget's store key */
	char budget[160]; /* refused: "google/sender-domain example.com
			      500/1h" */
	char origin[80];  /* where it was set: "FILE:LINE" or
			      "SendingLimits google-workspace" */
	uint64_t limit;   /* its N (the warm-up's N of the day) */
	uint64_t used;    /* the window's count when refused */
	time_t next_free; /* when it admits again (0: per-message cap) */
	struct pfl_finding finding; /* refused: check "budget", action
				       OnBudgetExceeded, our "452 4.7.1"
				       (4.5.3 for the per-message cap) */
	char error[256];            /* TEMPFAIL: what the store said */
};

/* A budget as configured, for `preflight budget show`. */
struct pfl_budget_info {
	char name[128];  /* "google/sender-domain 500/1h", "warmup
			    sender-domain example.com 40/1d (day 3)" */
	char origin[80]; /* "FILE:LINE" or "SendingLimits microsoft-365" */
	char prefix[PFL_BUDGET_KEY_SIZE]; /* its keys start with this */
	char suffix[32];                  /* and end with this (":1h:msg") */
	enum pfl_budget_scope scope;
	enum pfl_budget_unit unit;
	uint64_t limit; /* N now (warm-ups: of today) */
	unsigned window_s;
	struct pfl_window window; /* the store's bucket layout */
};

/* End-of-message bulk counts, per provider. */
struct pfl_budget_bulk {
	char domain[PFL_DOMAIN_SIZE];     /* organisational From: domain */
	bool bulk[PFL_NPROVIDERS];        /* bulk rules apply there */
	bool became_bulk[PFL_NPROVIDERS]; /* this message crossed: log once */
	uint64_t count[PFL_NPROVIDERS];   /* messages in 24 h, this one
					     included; 0: not counted (no
					     recipient there) */
};

/* The end-of-message counts: bulk, and the Message-ID's. */
struct pfl_budget_eom {
	struct pfl_budget_bulk bulk;
	bool msgid_found;         /* the Message-ID is over the cap ... */
	struct pfl_finding msgid; /* ... at a provider: the finding */
};

struct pfl_config;
struct pfl_budget_set;
struct pfl_budget_ticket;

/*
 * pfl_budget_set_new - the budgets of a config: Budget, Warmup and
 * SendingLimits lines, BulkThreshold, OnBudgetExceeded. Returns NULL with
 * every bad line as "FILE:LINE: Key: message" in *errors_r (malloc'd; the
 * caller frees it); else *errors_r is NULL.
 */
struct pfl_budget_set *pfl_budget_set_new(
    const struct pfl_config *, char **errors_r);

/* pfl_budget_set_free - free a set; NULLs *sp */
void pfl_budget_set_free(struct pfl_budget_set **sp);

/* pfl_budget_set_count - number of budgets (windows) in the set */
size_t pfl_budget_set_count(const struct pfl_budget_set *);

/*
 * pfl_budget_describe - budget i (in checking order: Budget lines,
 * Warmup lines, then presets) as of now; false past the end.
 */
bool pfl_budget_describe(const struct pfl_budget_set *, size_t i, time_t now,
    struct pfl_budget_info *info_r);

/*
 * pfl_budget_key_value - a value (a domain, an address, a Message-ID) as
 * it appears in keys (see KEYS), into dst (size n); returns dst.
 */
char *pfl_budget_key_value(char *dst, size_t n, const char *value);

/* pfl_budget_ticket_new - an empty ticket for one message */
struct pfl_budget_ticket *pfl_budget_ticket_new(void);

/* pfl_budget_ticket_free - free a ticket (see OWNERSHIP); NULLs *tp */
void pfl_budget_ticket_free(struct pfl_budget_ticket **tp);

/*
 * pfl_budget_reserve - at RCPT: reserve the recipient in every budget
 * that applies to subj at now, into ticket t. A message-unit budget this
 * message is already counted in (an earlier recipient to the same
 * target) is not charged again. Every budget must admit; when one
 * refuses (or the store fails) the reservations of this call are given
 * back and t is as before. On OVER, v_r names the budget and the next
 * free slot; on TEMPFAIL, v_r->error says why.
 */
enum pfl_budget_status pfl_budget_reserve(const struct pfl_budget_set *,
    struct pfl_store *, const struct pfl_budget_subject *subj, time_t now,
    struct pfl_budget_ticket *t, struct pfl_budget_verdict *v_r);

/*
 * pfl_budget_unreserve_last - give back what the last admitting
 * pfl_budget_reserve on t took (another check refused that recipient).
 * Only the last one, once, before the end-of-message counts; PFL_STORE_OK
 * when there is nothing to undo.
 */
enum pfl_store_status pfl_budget_unreserve_last(
    struct pfl_budget_ticket *t, char *err, size_t errlen);

/*
 * pfl_budget_commit - at end of message, the message accepted: its
 * reservations stay counted; the ticket is emptied.
 */
void pfl_budget_commit(struct pfl_budget_ticket *t);

/*
 * pfl_budget_release - on abort, defer, reject or disconnect: give back
 * every reservation of the ticket (also the bulk and Message-ID counts)
 * and empty it. A store failure leaves that reservation counted (never
 * too few) and returns PFL_STORE_TEMPFAIL with the first reason in err.
 */
enum pfl_store_status pfl_budget_release(
    struct pfl_budget_ticket *t, char *err, size_t errlen);

/*
 * pfl_budget_eom_count - at end of message, in one store call, at every
 * provider with admitted recipients in t (see BULK AND MESSAGE-ID
 * COUNTS): count the message for the organisational domain of
 * from_domain (r->bulk; default and business tenants excepted), and
 * count message_id at every big provider (r->msgid_found tells whether
 * one is over PFL_BUDGET_MSGID_MAX, and then r->msgid is the finding:
 * check "budget", predicted "421 4.7.28" at google, action
 * OnBudgetExceeded). A NULL or empty from_domain or message_id is not
 * counted. The counts are released with the ticket. On store trouble
 * nothing is counted: PFL_STORE_TEMPFAIL with the reason in err.
 */
enum pfl_store_status pfl_budget_eom_count(const struct pfl_budget_set *,
    struct pfl_store *, struct pfl_budget_ticket *t, const char *from_domain,
    const char *message_id, time_t now, struct pfl_budget_eom *r, char *err,
    size_t errlen);

/* pfl_budget_scope_name - "sender", "sender-domain", "egress-ip", "all" */
const char *pfl_budget_scope_name(enum pfl_budget_scope);

#endif
