/*
 * NAME
 *	egress 3h - reverse DNS of our egress addresses and the HELO name
 * DESCRIPTION
 *	Receivers look at the address a message arrives from before they
 *	read a byte of it. Gmail refuses an address without a PTR record,
 *	or whose PTR name does not resolve back to it (forward-confirmed
 *	reverse DNS, FCrDNS); Microsoft refuses IPv6 senders without a
 *	PTR; Yahoo and many smaller receivers want it too. pfl_egress_check
 *	asks, for each egress address, its PTR names (at most the first
 *	PFL_EGRESS_MAX_PTR) and their A (IPv4) or AAAA (IPv6) records: the
 *	address is OK as soon as one name resolves back to it. Addresses
 *	are compared in binary, so "2001:DB8:0::25" is "2001:db8::25"; an
 *	IPv4-mapped IPv6 address is checked as the IPv4 address. It also
 *	asks whether the HELO name (EgressHelo) resolves, by A and AAAA, to
 *	one of the egress addresses.
 *
 *	DNS trouble (SERVFAIL, timeout) is PFL_EGRESS_TEMPFAIL: never a
 *	missing PTR, never a mismatch. A PTR name that fails to resolve back
 *	while another name's lookup failed is TEMPFAIL too: the answer might
 *	have been yes.
 *
 *	pfl_egress_finding says what one receiver would make of a report:
 *
 *	provider   address problem                 predicted reply
 *	google     IPv4 no PTR or mismatch         550 5.7.25 (refuse)
 *	           IPv6 no PTR or mismatch         550 5.7.1 (refuse)
 *	microsoft  IPv6 no PTR                     450 4.7.25 (throttle)
 *	yahoo      no PTR or mismatch              554 5.7.1 (refuse)
 *	apple,     no PTR                          550 5.7.1 (refuse)
 *	default
 *
 *	Gmail's codes are those of RECEIVERS.md (the IPv6 one is its "IPv6
 *	sender without PTR" line). Microsoft documents a PTR (not FCrDNS)
 *	for IPv6 senders, answered 450 4.7.25 (Exchange Online's "sending
 *	IPv6 address must have reverse DNS record"); it says nothing of
 *	IPv4. Yahoo requires reverse DNS but documents no reply of its own
 *	for it: a generic 554 5.7.1. Apple and everyone else: many
 *	receivers refuse an address without a PTR; fewer insist it resolve
 *	back.
 *
 *	The HELO name matters only to receivers that check it, none of the
 *	big ones: for apple and default an unresolvable name is a throttle
 *	(450 4.7.1, what Postfix's reject_unknown_helo_hostname answers),
 *	a name that resolves elsewhere a warning (outcome deliver, reply
 *	"250", the action at most tag): the mail goes through, but spam
 *	filters count it against the sender. An address problem goes
 *	before a HELO problem; TEMPFAIL gives no finding (nothing is known).
 * FILES
 *	egress.c the check, egress_finding.c the findings and the summary.
 * OWNERSHIP
 *	A report is a value struct owned by the caller (about 8 KB: keep it
 *	off small stacks).
 * THREAD SAFETY
 *	Everything is reentrant; pfl_egress_check may run in any thread
 *	(the resolver is thread-safe). Nothing is logged.
 */
#ifndef PFL_EGRESS_H
#define PFL_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"

struct pfl_dns;
struct pfl_dns_answer;
struct pfl_finding;

#define PFL_EGRESS_MAX_ADDRS 16 /* addresses one report holds */
#define PFL_EGRESS_MAX_PTR   10 /* PTR names of one address looked at */

/* What was found of one address, or of the HELO name. */
enum pfl_egress_state {
	PFL_EGRESS_OK,              /* FCrDNS holds; HELO resolves to us */
	PFL_EGRESS_NO_PTR,          /* no PTR record (NXDOMAIN or NODATA) */
	PFL_EGRESS_PTR_MISMATCH,    /* no PTR name resolves back */
	PFL_EGRESS_HELO_UNRESOLVED, /* HELO: no A or AAAA record */
	PFL_EGRESS_HELO_MISMATCH,   /* HELO: resolves, to none of ours */
	PFL_EGRESS_TEMPFAIL,        /* DNS trouble: cannot tell */
	PFL_EGRESS_INVALID,         /* not an IP address: nothing asked */
	PFL_EGRESS_UNCHECKED,       /* HELO: none given */
};

/* One egress address. Text is printable. */
struct pfl_egress_addr_result {
	char addr[46];               /* the address as given */
	enum pfl_egress_state state; /* OK, NO_PTR, PTR_MISMATCH, TEMPFAIL,
					INVALID */
	char ptr[256];               /* OK: the name that resolves back;
					else the first PTR name, or "" */
	unsigned nptr;               /* PTR names found */
	char why[192];               /* what was found, when not OK */
};

/* All egress addresses and the HELO name, as of one check. */
struct pfl_egress_report {
	struct pfl_egress_addr_result addrs[PFL_EGRESS_MAX_ADDRS];
	size_t n;                         /* addresses checked */
	size_t skipped;                   /* beyond PFL_EGRESS_MAX_ADDRS */
	enum pfl_egress_state helo_state; /* OK, HELO_UNRESOLVED,
					     HELO_MISMATCH, TEMPFAIL,
					     UNCHECKED */
	char helo[256];                   /* the name, printable, or "" */
	char helo_why[192];               /* what was found, when not OK */
	time_t checked;                   /* when */
};

/*
 * pfl_egress_check - check addrs[0..n) (IPv4 or IPv6 in text form) and
 * helo (NULL or "": not checked) through dns into r
 */
void pfl_egress_check(struct pfl_dns *, const char *const *addrs, size_t n,
    const char *helo, struct pfl_egress_report *r);

/*
 * The resolver seam: lookup(arg, name, rrtype) returns an answer (never
 * NULL) that is freed with pfl_dns_answer_free.
 */
typedef struct pfl_dns_answer *(*pfl_egress_lookup_fn)(
    void *arg, const char *name, int rrtype);

/* pfl_egress_check_with - the same through any lookup function */
void pfl_egress_check_with(pfl_egress_lookup_fn lookup, void *arg,
    const char *const *addrs, size_t n, const char *helo,
    struct pfl_egress_report *r);

/*
 * pfl_egress_finding - would provider (enum pfl_provider) refuse or
 * throttle mail from us, as the report stands? When so, fills f_r
 * (check "egress", the predicted reply, the action on_misconfigured, our
 * reply codes, a reason such as "gmail.com would refuse this (550
 * 5.7.25): egress 192.0.2.25 has no PTR record" and a fix) and returns
 * true; else returns false and leaves f_r alone. See DESCRIPTION.
 */
bool pfl_egress_finding(const struct pfl_egress_report *, int provider,
    enum pfl_action on_misconfigured, struct pfl_finding *f_r);

/*
 * pfl_egress_summary - the report in one log field into buf (size n):
 * "egress=ok", or every problem, comma-separated: "egress=no-ptr(
 * 192.0.2.25),ptr-mismatch(2001:db8::25),helo-unresolved(mx.example)",
 * "egress=tempfail(192.0.2.30)"; "egress=none" when nothing was
 * checked. Returns buf.
 */
char *pfl_egress_summary(const struct pfl_egress_report *, char *buf, size_t n);

/*
 * pfl_egress_state_name - "ok", "no-ptr", "ptr-mismatch", "unresolved",
 * "mismatch", "tempfail", "invalid", "unchecked"
 */
const char *pfl_egress_state_name(enum pfl_egress_state);

/* pfl_egress_problem - is the state a misconfiguration (not OK, not DNS)? */
bool pfl_egress_problem(enum pfl_egress_state);

#endif
