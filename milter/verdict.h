/*
 * NAME
 *	verdict 3h - findings in, one decision out
 * DESCRIPTION
 *	Checks describe what they found as findings: what the receiver would
 *	likely answer, and which configured action that class of finding
 *	takes. pfl_verdict_decide is a pure function of the findings, the
 *	mode and the submission path: it is the only place that decides.
 */
#ifndef PFL_VERDICT_H
#define PFL_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* enum pfl_action is in config.h: config keys (OnAuthReject...) name one. */

/* What the receiving side would likely do; ordered by weight. */
enum pfl_outcome {
	PFL_OUT_DELIVER,  /* accepted */
	PFL_OUT_THROTTLE, /* a 4xx is likely */
	PFL_OUT_REFUSE,   /* a 5xx is likely */
};

#define PFL_MAX_FINDINGS 16

/* One thing a check found. All text is printable (see pfl_printable). */
struct pfl_finding {
	char check[16];           /* "operator", "spf", "dkim"... */
	enum pfl_outcome outcome; /* the receiver's likely answer */
	enum pfl_action action;   /* the configured action for this class */
	char reply[64];           /* predicted receiver reply, "550 5.7.26" */
	char rcode[4];            /* our reply code when we defer/reject */
	char xcode[10];           /* our enhanced status code */
	char reason[256];         /* what and why, for reply, header and log */
	char fix[128];            /* what to change, one phrase, or "" */
};

/* The decision for a message (or a recipient). */
struct pfl_verdict {
	enum pfl_action action;   /* what is done now */
	enum pfl_action would;    /* what enforce mode does (same there) */
	enum pfl_outcome outcome; /* worst predicted receiver answer */
	bool add_header;          /* add X-Preflight */
	const struct pfl_finding *cause; /* the finding that decided, or NULL */
	char rcode[4], xcode[10];        /* our reply for defer/reject */
	char text[320];                  /* our reply text for defer/reject */
};

/*
 * pfl_verdict_decide - the decision for findings f[0..n) in a mode. On the
 * local submission path (local) a defer or reject becomes a hold: Postfix
 * treats a milter tempfail/reject there as a configuration error.
 */
void pfl_verdict_decide(const struct pfl_finding *f, size_t n,
    enum pfl_mode mode, bool local, struct pfl_verdict *v_r);

/* pfl_action_name - "accept", "tag", "hold", "defer", "reject" */
const char *pfl_action_name(enum pfl_action);

/* pfl_outcome_name - "deliver", "throttle", "reject" */
const char *pfl_outcome_name(enum pfl_outcome);

/*
 * pfl_finding_set - fill a finding; reason is made printable and '%'-free
 * (it may reach an SMTP reply); returns f.
 */
struct pfl_finding *pfl_finding_set(struct pfl_finding *f, const char *check,
    enum pfl_outcome outcome, enum pfl_action action, const char *reply,
    const char *rcode, const char *xcode, const char *reason);

#endif
