/*
 * NAME
 *	action - carry out a verdict through the MTA
 */
#include <autoconfig.h>

#include <stdbool.h>
#include <string.h>

#include "action.h"
#include "log.h"

/* reply - set our reply; a refusal by the MTA is logged, not fatal */
static void
reply(const struct pfl_mta *mta, const struct pfl_verdict *v)
{
	if (mta->setreply(mta->ctx, v->rcode, v->xcode, v->text) < 0)
		pfl_log(PFL_LOG_WARNING, "MTA refused reply \"%s %s %s\"",
		    v->rcode, v->xcode, v->text);
}

/* pfl_action_rcpt - apply a per-recipient verdict */
enum pfl_status
pfl_action_rcpt(const struct pfl_mta *mta, const struct pfl_verdict *v)
{
	switch (v->action) {
	case PFL_ACT_DEFER:
		reply(mta, v);
		return PFL_TEMPFAIL;
	case PFL_ACT_REJECT:
		reply(mta, v);
		return PFL_REJECT;
	default:
		return PFL_CONTINUE;
	}
}

/* pfl_action_eom - apply a message verdict at end of message */
enum pfl_status
pfl_action_eom(const struct pfl_mta *mta, const struct pfl_verdict *v,
    const char *header_value, bool local)
{
	static const struct pfl_verdict held_failed = {
		.action = PFL_ACT_DEFER,
		.rcode = "451",
		.xcode = "4.3.0",
		.text =
		    "preflight: could not hold the message, try again later",
	};

	if (v->add_header && header_value != NULL &&
	    mta->addheader(mta->ctx, PFL_HEADER, header_value) < 0)
		pfl_log(PFL_LOG_WARNING, "MTA refused to add %s header",
		    PFL_HEADER);
	switch (v->action) {
	case PFL_ACT_HOLD:
		if (mta->quarantine(mta->ctx,
			v->cause ? v->cause->reason : "preflight hold") == 0)
			return PFL_ACCEPT;
		pfl_log(PFL_LOG_ERR, "MTA refused to hold the message%s",
		    local ? "; accepting it (local submission)"
			  : "; deferring it");
		if (local)
			return PFL_ACCEPT;
		reply(mta, &held_failed);
		return PFL_TEMPFAIL;
	case PFL_ACT_DEFER:
		reply(mta, v);
		return PFL_TEMPFAIL;
	case PFL_ACT_REJECT:
		reply(mta, v);
		return PFL_REJECT;
	default:
		return PFL_ACCEPT;
	}
}
