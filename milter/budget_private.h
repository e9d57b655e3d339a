/*
 * NAME
 *	budget_private 3h - what budget_config.c and budget.c share
 * DESCRIPTION
 *	budget_config.c builds a set from the config and names keys;
 *	budget.c reserves, commits and releases with tickets and counts
 *	bulk and Message-IDs. Not for other modules.
 */
#ifndef PFL_BUDGET_PRIVATE_H
#define PFL_BUDGET_PRIVATE_H

#include "budget.h"
#include "config.h"
#include "errors.h"

/* What a budget's target matches. */
enum pfl_budget_target {
	PFL_BTARGET_ANY,      /* "*" */
	PFL_BTARGET_PROVIDER, /* a provider by name */
	PFL_BTARGET_DOMAIN,   /* a recipient domain and those below it */
};

/* One budget: one window of one Budget line, Warmup line or preset. */
struct pfl_budget_rule {
	enum pfl_budget_target target;
	enum pfl_provider provider; /* PFL_BTARGET_PROVIDER */
	char *domain;               /* PFL_BTARGET_DOMAIN: normalised */
	enum pfl_budget_scope scope;
	enum pfl_budget_unit unit;
	uint64_t limit; /* N (warm-ups: max) */
	unsigned window_s;
	struct pfl_window w;
	char origin[80];    /* "FILE:LINE", "SendingLimits NAME" */
	int line;           /* its config line, or 0 */
	const char *preset; /* the preset's name, or NULL */
	const char *reply;  /* the receiver's likely answer past it */
	enum pfl_outcome outcome;
	char prefix[PFL_BUDGET_KEY_SIZE]; /* keys: prefix VALUE suffix */
	char suffix[32];
	/* warm-up: the budget of one sender domain or egress address */
	bool warmup;
	char *value;      /* the domain or address */
	time_t start;     /* day 0, 00:00Z */
	uint64_t initial; /* N on day 0 */
	double growth;    /* factor per day */
};

struct pfl_budget_set {
	struct pfl_budget_rule *rules; /* in checking order */
	size_t n;
	unsigned permsg_max;         /* recipients per message; 0: no cap */
	bool permsg_external;        /* only recipients outside our domain */
	const char *permsg_preset;   /* the preset that set it */
	unsigned bulk_threshold;     /* BulkThreshold */
	enum pfl_action on_exceeded; /* OnBudgetExceeded */
	const struct pfl_psl *psl;   /* for organisational domains, or NULL */
};

/* One reservation. */
struct pfl_budget_entry {
	char *key;
	struct pfl_window w;
	time_t bucket; /* where the add went */
	uint64_t n;
};

/* What a ticket counts of its message's admitted recipients. */
struct pfl_budget_counts {
	unsigned rcpts;                    /* all */
	unsigned external;                 /* outside the sender's domain */
	unsigned prov[PFL_NPROVIDERS];     /* per provider */
	unsigned consumer[PFL_NPROVIDERS]; /* per provider, not tenants */
};

struct pfl_budget_ticket {
	struct pfl_store *store; /* of the first reservation, or NULL */
	struct pfl_budget_entry *e;
	size_t n, cap;
	struct pfl_budget_counts c;
	size_t undo_n; /* entries before the last admitting reserve */
	struct pfl_budget_counts undo; /* counts before it */
	bool can_undo;
};

/* pfl_budget_ticket_bind - set the ticket's store; abort on another */
void pfl_budget_ticket_bind(struct pfl_budget_ticket *, struct pfl_store *);

/* pfl_budget_ticket_push - remember a reservation */
void pfl_budget_ticket_push(struct pfl_budget_ticket *, const char *key,
    const struct pfl_window *, time_t bucket, uint64_t n);

/* The parse of one config line, for reporting its problems. */
struct pfl_budget_line {
	struct pfl_budget_set *set;   /* being built */
	const struct pfl_config *cfg; /* read from */
	const char *file;
	int line;
	const char *key; /* "Budget", "Warmup", ... */
	struct pfl_errors *e;
};

#define PFL_BUDGET_MAX_N 1000000000ULL /* largest N of a budget */

/* pfl_budget_line_err - one "FILE:LINE: Key: message" problem */
void pfl_budget_line_err(const struct pfl_budget_line *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pfl_budget_scope_parse - a scope name; -1 when unknown */
int pfl_budget_scope_parse(const char *);

/* pfl_budget_parse_u64 - a decimal number in [min, max]; -1 when not */
int pfl_budget_parse_u64(
    const char *, uint64_t min, uint64_t max, uint64_t *n_r);

/* pfl_budget_split_window - the bucket layout of a window; -1 if none */
int pfl_budget_split_window(unsigned window_s, struct pfl_window *w_r);

/* pfl_budget_add_rule - append a copy of a rule, its keys named */
struct pfl_budget_rule *pfl_budget_add_rule(
    struct pfl_budget_set *, const struct pfl_budget_rule *);

/* pfl_budget_set_reply - what the target's receiver answers past it */
void pfl_budget_set_reply(struct pfl_budget_rule *);

/* pfl_budget_parse_warmup - one Warmup line into the set */
void pfl_budget_parse_warmup(const struct pfl_budget_line *, const char *v);

/* pfl_budget_rule_keys - set a rule's key prefix and suffix */
void pfl_budget_rule_keys(struct pfl_budget_rule *);

/*
 * pfl_budget_key_fmt - format a store key into dst (size n); keys are
 * built from bounded parts, so one that does not fit is a bug: abort
 */
void pfl_budget_key_fmt(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pfl_budget_text - format text into dst (size n), cut to fit */
void pfl_budget_text(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pfl_budget_window_text - "1d", "1h", "90s": W in its largest unit */
char *pfl_budget_window_text(char *dst, size_t n, unsigned window_s);

/* pfl_budget_limit_at - a budget's N at now (warm-ups grow by day) */
uint64_t pfl_budget_limit_at(
    const struct pfl_budget_rule *, time_t now, long *day_r);

/* pfl_budget_rule_name - "google/sender-domain VALUE 500/1h" into dst */
char *pfl_budget_rule_name(char *dst, size_t n, const struct pfl_budget_rule *,
    const char *value, time_t now);

/*
 * pfl_budget_orgdomain - the organisational domain of a domain into dst
 * (size n); "" when it is no domain
 */
char *pfl_budget_orgdomain(
    const struct pfl_budget_set *, char *dst, size_t n, const char *domain);

/* pfl_budget_fnv64 - 64-bit FNV-1a of s */
uint64_t pfl_budget_fnv64(const char *s);

#endif
