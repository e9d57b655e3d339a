/*
 * NAME
 *	rfc5322 3h - parsers for the structured header fields preflight judges
 * DESCRIPTION
 *	Each parser takes a header field value with an explicit length, as
 *	the MTA hands it over (leading white space, CRLF or LF folding and
 *	comments included), and says whether it is well formed per RFC 5322
 *	including the obsolete syntax of RFC 5322 4 that receivers still
 *	accept. On failure a short static phrase says why.
 *
 *	pfl_rfc5322_addresses reads an address-list (groups included, so
 *	that a group in From: can be reported as such); pfl_rfc5322_msgid
 *	one msg-id; pfl_rfc5322_date one date-time; pfl_rfc5322_domain
 *	checks the syntax of a domain name; pfl_rfc2047_scan finds encoded
 *	words (RFC 2047) where they are not allowed or malformed.
 * SECURITY
 *	Values are hostile. Parsing is iterative (comment nesting is counted,
 *	not recursed, and capped at PFL_RFC5322_MAX_NEST), every read is
 *	bounded by the given length, and nothing is allocated.
 */
#ifndef PFL_RFC5322_H
#define PFL_RFC5322_H

#include <stdbool.h>
#include <stddef.h>

#define PFL_RFC5322_MAX_NEST 32 /* comment nesting a parser accepts */

/* What pfl_rfc5322_addresses found in an address list. */
struct pfl_rfc5322_addrs {
	size_t nmailbox;     /* mailboxes, those inside groups included */
	size_t ngroup;       /* groups ("name: a, b;") */
	char domain[256];    /* first mailbox's domain, lower case, or "" */
	bool domain_long;    /* ... which was longer than domain[] holds */
	bool domain_literal; /* ... which is a domain-literal ("[1.2.3.4]") */
};

/*
 * pfl_rfc5322_addresses - parse s[0..len) as an address-list into r;
 * NULL when it parses, else why not (a static phrase)
 */
const char *pfl_rfc5322_addresses(
    const char *s, size_t len, struct pfl_rfc5322_addrs *r);

/* pfl_rfc5322_msgid - NULL when s[0..len) is one msg-id, else why not */
const char *pfl_rfc5322_msgid(const char *s, size_t len);

/* pfl_rfc5322_date - NULL when s[0..len) is one date-time, else why not */
const char *pfl_rfc5322_date(const char *s, size_t len);

/*
 * pfl_rfc5322_domain - NULL when d is a syntactically valid host name
 * (LDH labels of 1..63 octets, two labels at least, at most 253
 * octets, a top label not all digits; octets >= 0x80 pass, as U-labels
 * do under SMTPUTF8), else why not
 */
const char *pfl_rfc5322_domain(const char *d);

/* Where a field allows encoded words (RFC 2047 5). */
enum pfl_rfc2047_where {
	PFL_EW_TEXT,    /* unstructured (Subject:, X-...): anywhere */
	PFL_EW_ADDRESS, /* address fields: in phrases and comments only */
	PFL_EW_PARAMS,  /* Content-Type:, Content-Disposition: only in
			   quoted parameter values (common practice) */
	PFL_EW_NEVER,   /* Message-ID:, Date:, Received:...: nowhere */
};

/*
 * pfl_rfc2047_scan - look at every encoded word in s[0..len) for a field
 * of kind where; NULL when all are allowed and well formed, else what is
 * wrong with the first that is not, written into why (size n)
 */
const char *pfl_rfc2047_scan(const char *s, size_t len,
    enum pfl_rfc2047_where where, char *why, size_t n);

#endif
