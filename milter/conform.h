/*
 * NAME
 *	conform 3h - would the receiver refuse the shape of this message?
 * DESCRIPTION
 *	Gmail refuses malformed messages with "550 5.7.1" (RECEIVERS.md, the
 *	RFC 5322 family): no From:, several From: fields or addresses, a bad
 *	From: domain, a missing or invalid Message-ID:, duplicated
 *	single-instance fields, malformed fields, encoded words where RFC
 *	2047 forbids them, raw 8-bit text without SMTPUTF8. Bulk mail must
 *	also carry an RFC 8058 one-click unsubscribe that the DKIM signature
 *	covers.
 *
 *	The caller hands over every header field with pfl_conform_header,
 *	then asks pfl_conform_message for findings about the header section
 *	and, for bulk mail only, pfl_conform_unsubscribe. Each rule yields
 *	at most one finding, whose reason names the first case seen.
 *	Findings have check "conform" and outcome PFL_OUT_REFUSE; their
 *	reply is ours (550/5.x.y when the configured action is reject,
 *	451/4.x.y otherwise). Pure: no I/O, no logging, no DNS.
 * OWNERSHIP
 *	A struct pfl_conform and everything it keeps live in the arena given
 *	to pfl_conform_new; the arena frees them. Strings returned are the
 *	arena's. Not thread-safe: one per message.
 * SECURITY
 *	Header names and values are hostile: every parse is bounded by the
 *	value's length, comment nesting is capped, text put into findings is
 *	cut and made printable.
 */
#ifndef PFL_CONFORM_H
#define PFL_CONFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "verdict.h"

struct pfl_arena;
struct pfl_conform;

/* Gmail's limit on the header section (support.google.com/a/answer/14016360) */
#define PFL_CONFORM_MAX_HEADER_DEFAULT (500u * 1024)

/* The rules, as bits of pfl_conform_found. */
#define PFL_CONFORM_FROM                                                       \
	(1u << 0)                   /* From: missing, repeated,
					     several addresses, unparsable,
					     bad domain */
#define PFL_CONFORM_MSGID (1u << 1) /* Message-ID: missing, invalid */
#define PFL_CONFORM_DATE  (1u << 2) /* Date: missing, unparsable */
#define PFL_CONFORM_DUPLICATE                                                  \
	(1u << 3) /* a single-instance field
					     repeated (From: aside) */
#define PFL_CONFORM_FIELD                                                      \
	(1u << 4) /* a malformed field: name, bare
					     CR or LF, line over 998 */
#define PFL_CONFORM_ENCWORD                                                    \
	(1u << 5) /* encoded word misplaced or
					     malformed */
#define PFL_CONFORM_8BIT                                                       \
	(1u << 6) /* raw 8-bit without SMTPUTF8,
					     or bad UTF-8 with it */
#define PFL_CONFORM_SIZE                                                       \
	(1u << 7) /* header section or a field over
					     Gmail's limits */
#define PFL_CONFORM_UNSUB                                                      \
	(1u << 8) /* bulk: no List-Unsubscribe with
					     an https URI */
#define PFL_CONFORM_UNSUB_POST                                                 \
	(1u << 9) /* bulk: List-Unsubscribe-Post
					     missing or not One-Click */
#define PFL_CONFORM_UNSUB_SIGN                                                 \
	(1u << 10) /* bulk: those fields not covered
					     by a DKIM signature */

struct pfl_conform_opts {
	size_t max_header_bytes;      /* header section over this is a finding;
				    0: PFL_CONFORM_MAX_HEADER_DEFAULT */
	bool smtputf8;                /* SMTPUTF8 session: UTF-8 allowed */
	enum pfl_action on_malformed; /* action of the RFC 5322 findings */
	enum pfl_action on_unsub_missing; /* action of the one-click findings */
	bool mta_adds_missing;            /* the MTA adds a missing Date: and
				  Message-ID: (Postfix before the milter
				  sees the header, Sendmail after): only
				  invalid ones are findings */
};

/* pfl_conform_new - a checker for one message, in arena; opts copied */
struct pfl_conform *pfl_conform_new(
    struct pfl_arena *, const struct pfl_conform_opts *);

/*
 * pfl_conform_header - one header field: its name and its value as the
 * MTA gives it (leading white space and CRLF or LF folding kept)
 */
void pfl_conform_header(
    struct pfl_conform *, const char *name, const char *value);

/*
 * pfl_conform_message - findings about the header section, appended to
 * f (room for max); returns how many. Call after the last header.
 */
size_t pfl_conform_message(
    struct pfl_conform *, struct pfl_finding *f, size_t max);

/*
 * pfl_conform_from_domain - the domain (lower case) of the one address
 * of the one From: field, when it parses and is a valid domain name;
 * else NULL
 */
const char *pfl_conform_from_domain(const struct pfl_conform *);

/* pfl_conform_bulk_marked - Precedence: bulk or list, or a List-Id: */
bool pfl_conform_bulk_marked(const struct pfl_conform *);

/*
 * pfl_conform_unsubscribe - RFC 8058 one-click unsubscribe of bulk mail:
 * List-Unsubscribe: with an https URI, List-Unsubscribe-Post:
 * List-Unsubscribe=One-Click, both among signed_headers[0..nsigned)
 * (the h= names of the verified DKIM signature, or those the signer
 * would sign; NULL when the message has and gets no signature).
 * Findings appended to f (room for max); returns how many.
 */
size_t pfl_conform_unsubscribe(struct pfl_conform *,
    const char *const *signed_headers, size_t nsigned, struct pfl_finding *f,
    size_t max);

/* pfl_conform_found - the PFL_CONFORM_* rules that gave findings so far */
unsigned pfl_conform_found(const struct pfl_conform *);

#endif
