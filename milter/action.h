/*
 * NAME
 *	action 3h - carry out a verdict through the MTA
 * DESCRIPTION
 *	The only module that talks back to the MTA (reply codes, headers,
 *	quarantine). It does so through struct pfl_mta, an ops table: the
 *	milter glue fills it with the protocol engine's calls, unit tests with a fake
 *	MTA that records what was asked.
 */
#ifndef PFL_ACTION_H
#define PFL_ACTION_H

#include <stddef.h>

#include "verdict.h"

/* Ops table of the MTA side; each call returns 0 or -1. */
struct pfl_mta {
	void *ctx;
	/* the value of a macro such as "i" or "{auth_authen}", or NULL */
	const char *(*symval)(void *ctx, const char *name);
	int (*setreply)(
	    void *ctx, const char *rcode, const char *xcode, const char *text);
	int (*addheader)(void *ctx, const char *name, const char *value);
	int (*quarantine)(void *ctx, const char *reason);
};

/* What the glue answers the MTA. */
enum pfl_status {
	PFL_CONTINUE, /* go on with this message */
	PFL_ACCEPT,   /* accept, no further callbacks for this message */
	PFL_TEMPFAIL, /* 4xx (our reply if one was set) */
	PFL_REJECT,   /* 5xx (our reply if one was set) */
};

/*
 * pfl_action_rcpt - apply a per-recipient verdict: defer or reject that
 * recipient, or let it through.
 */
enum pfl_status pfl_action_rcpt(
    const struct pfl_mta *, const struct pfl_verdict *);

/*
 * pfl_action_eom - apply a message verdict at end of message: add the
 * header value (when the verdict says so), then hold, defer or reject.
 * A failed MTA call never loses the message: a failed hold becomes a
 * defer (or, on the local path, an accept that is logged).
 */
enum pfl_status pfl_action_eom(const struct pfl_mta *,
    const struct pfl_verdict *, const char *header_value, bool local);

#define PFL_HEADER "X-Preflight"

#endif
