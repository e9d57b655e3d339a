/*
 * NAME
 *	dnsbl 3h - DNS blocklists: the lists, their answers, their health
 * DESCRIPTION
 *	A list is one "Dnsbl ZONE ip|domain [listed=CODES] [providers=LIST]
 *	[name=LABEL] [delist=URL] [server=ADDR[@PORT]] [test=ENTRY|no]"
 *	config line. Well-known zones (Spamhaus ZEN and DBL, also through
 *	DQS, Barracuda, SpamCop, Mailspike) come with their listing codes,
 *	the providers known to use them and their delisting page; a line's
 *	options replace those.
 *
 *	Only listing codes count. An answer in 127.255.255.0/24 (Spamhaus:
 *	.252 typing error in the zone name, .254 query through a public
 *	resolver, .255 too many queries), a domain list's 127.0.1.255 (an IP
 *	asked of a domain list) or anything outside 127.0.0.0/8 means the
 *	list *cannot tell*: never a listing, a configuration problem to
 *	report. A DNS failure is a temporary state, never a listing.
 *
 *	A list is healthy when its RFC 5782 test entries answer right: for an
 *	IP list 127.0.0.2 listed and 127.0.0.1 not, for a domain list "test"
 *	(or the list's own test entry, such as Spamhaus's dbltest.com) listed
 *	and "invalid" not. An unhealthy list is ignored until it answers
 *	right again.
 *
 *	Lookups go through the DnsblResolver: its own fully recursive
 *	resolver by default (Spamhaus refuses queries that reach it through
 *	public resolvers), the Nameservers resolver, or the servers given;
 *	a list's server= option gives it a resolver of its own (a local
 *	rbldnsd mirror, for one).
 * THREAD SAFETY
 *	A set is read-only after pfl_dnsbl_set_new and may be used by all
 *	threads.
 */
#ifndef PFL_DNSBL_H
#define PFL_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct pfl_config;
struct pfl_dns;
struct pfl_dns_answer;

enum pfl_dnsbl_kind {
	PFL_DNSBL_IP,     /* asked with a reversed address */
	PFL_DNSBL_DOMAIN, /* asked with a domain name */
};

/* What a list says of one address or domain; ordered by weight. */
enum pfl_dnsbl_state {
	PFL_DNSBL_UNKNOWN,     /* not asked yet */
	PFL_DNSBL_CLEAN,       /* not listed */
	PFL_DNSBL_TEMPFAIL,    /* DNS trouble: try again; not a listing */
	PFL_DNSBL_CANNOT_TELL, /* an error code: never a listing */
	PFL_DNSBL_UNHEALTHY,   /* the list fails its test: ignored */
	PFL_DNSBL_LISTED,      /* a listing code */
};

/* A range of listing codes (addresses in host order) and its meaning. */
struct pfl_dnsbl_code {
	uint32_t lo, hi;
	char label[24]; /* "SBL", "PBL", "spam"..., or "" */
};

struct pfl_dnsbl_list {
	char *zone; /* lower case, no trailing dot */
	char *name; /* for logs and replies: name= or the zone */
	enum pfl_dnsbl_kind kind;
	struct pfl_dnsbl_code *codes; /* listing codes; none: any answer in
					 127.0.0.0/8 but the error codes */
	size_t ncodes;
	unsigned providers;  /* bit (1 << enum pfl_provider) per provider */
	char *delist;        /* the delisting page, or NULL */
	char *test_listed;   /* RFC 5782 test entry, or NULL: no test */
	char *test_clean;    /* the entry that must not be listed */
	struct pfl_dns *dns; /* the resolver this list is asked through */
	bool own_dns;        /* dns is the list's own (server=) */
	int line;            /* config line */
};

struct pfl_dnsbl_set {
	struct pfl_dnsbl_list *lists;
	size_t n;
	size_t nip, ndomain; /* lists of each kind */
	struct pfl_dns *dns; /* the DnsblResolver when it is our own */
};

/* What one lookup found. */
struct pfl_dnsbl_answer {
	enum pfl_dnsbl_state state;
	char code[16];  /* the answer that decided ("127.0.0.2"), or "" */
	char label[48]; /* its meanings ("SBL", "SBL,XBL"), or "" */
	uint32_t ttl;   /* how long the answer holds */
	char why[192];  /* cannot-tell, tempfail, unhealthy: the reason */
};

/*
 * pfl_dnsbl_set_new - the lists of the config's Dnsbl lines, asked
 * through the DnsblResolver (dns: the Nameservers resolver, borrowed,
 * for "DnsblResolver nameservers"). Returns NULL with every problem as
 * "FILE:LINE: Dnsbl: message" lines in *errors_r (malloc'd). A config
 * without Dnsbl lines gives an empty set and creates no resolver.
 */
struct pfl_dnsbl_set *pfl_dnsbl_set_new(
    const struct pfl_config *, struct pfl_dns *dns, char **errors_r);

/* pfl_dnsbl_set_free - free a set; NULLs *sp */
void pfl_dnsbl_set_free(struct pfl_dnsbl_set **sp);

/*
 * pfl_dnsbl_query_name - the name to ask a list about subject (an
 * address for an IP list: "2.0.0.127.zen.spamhaus.org", nibbles for
 * IPv6; a domain for a domain list) into dst (size n). Returns 0, or -1
 * when subject is not of the list's kind or the name is too long.
 */
int pfl_dnsbl_query_name(
    const struct pfl_dnsbl_list *, const char *subject, char *dst, size_t n);

/*
 * pfl_dnsbl_classify - what an A answer to a list's query means (pure;
 * see DESCRIPTION)
 */
void pfl_dnsbl_classify(const struct pfl_dnsbl_list *,
    const struct pfl_dns_answer *, struct pfl_dnsbl_answer *r);

/* pfl_dnsbl_lookup - ask a list about subject */
void pfl_dnsbl_lookup(const struct pfl_dnsbl_list *, const char *subject,
    struct pfl_dnsbl_answer *r);

/*
 * pfl_dnsbl_health - ask a list its test entries: CLEAN when they answer
 * right (or the list has none), UNHEALTHY with the reason in r->why,
 * TEMPFAIL or CANNOT_TELL when the test itself could not be read
 */
void pfl_dnsbl_health(
    const struct pfl_dnsbl_list *, struct pfl_dnsbl_answer *r);

/* pfl_dnsbl_state_name - "unknown", "clean", "tempfail", ... */
const char *pfl_dnsbl_state_name(enum pfl_dnsbl_state);

/* pfl_dnsbl_state_parse - the state of a name; -1 when unknown */
int pfl_dnsbl_state_parse(const char *);

/*
 * pfl_dnsbl_providers_text - "microsoft,yahoo" (or "*") for a provider
 * mask into buf (size n); returns buf
 */
char *pfl_dnsbl_providers_text(unsigned providers, char *buf, size_t n);

/* --- the egress monitor (dnsbl_monitor.c) --------------------------------- */

struct pfl_ctx;
struct pfl_finding;
struct pfl_store;

/*
 * What the monitor has to say (a listing, a delisting, a list gone
 * unhealthy...): one line, with the log level it deserves (log.h).
 */
typedef void (*pfl_dnsbl_note_fn)(void *arg, int level, const char *line);

/*
 * pfl_dnsbl_round - check every EgressAddresses address against the IP
 * lists and EgressHelo against the domain lists, after each list's health
 * test, at time now. The outcome goes to the process's state and to the
 * store (st, may be NULL) where a fleet and the CLI see it; every change
 * of state is said once through note. Returns the number of changes.
 */
int pfl_dnsbl_round(struct pfl_ctx *, struct pfl_store *st, time_t now,
    pfl_dnsbl_note_fn note, void *arg);

/*
 * pfl_dnsbl_sync - take what the store says (written by another member
 * of the fleet or by `preflight dnsbl status --refresh`) where it is newer
 * than what this process knows; changes are said through note
 */
int pfl_dnsbl_sync(
    struct pfl_ctx *, struct pfl_store *st, pfl_dnsbl_note_fn note, void *arg);

/*
 * pfl_dnsbl_paused - is mail to provider paused: an egress address (or
 * the HELO name) listed on a healthy list that provider uses? Fills f_r
 * (check "dnsbl", the receiver's predicted reply, OnListed) when it is.
 */
bool pfl_dnsbl_paused(
    const struct pfl_ctx *, int provider, struct pfl_finding *f_r);

/*
 * pfl_dnsbl_usable - may a list's answers be used: not known to be
 * unhealthy (or answering its test with an error code)
 */
bool pfl_dnsbl_usable(const struct pfl_dnsbl_list *);

/* One line of `preflight dnsbl status`. */
struct pfl_dnsbl_status {
	const char *subject; /* address or HELO name; NULL for a list's
				health line */
	const struct pfl_dnsbl_list *list;
	enum pfl_dnsbl_state state;
	const char *code, *label, *why;
	time_t since, checked; /* 0: never */
};

/*
 * pfl_dnsbl_status - call fn for every list's health and then every
 * (subject, list) pair of the config, as the process knows them (after
 * pfl_dnsbl_sync or pfl_dnsbl_round)
 */
void pfl_dnsbl_status(struct pfl_ctx *,
    void (*fn)(void *arg, const struct pfl_dnsbl_status *), void *arg);

/*
 * The daemon's monitor thread: a round at start and every DnsblInterval
 * (and right after a reload), the store read in between.
 */
void pfl_dnsbl_monitor_start(void);
void pfl_dnsbl_monitor_kick(void);
void pfl_dnsbl_monitor_stop(void);

#endif
