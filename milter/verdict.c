/*
 * NAME
 *	verdict - findings in, one decision out
 * DESCRIPTION
 *	Pure: no I/O, no globals. The heaviest configured action among the
 *	findings wins; the mode then limits what may actually be done.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "verdict.h"

/* pfl_action_name - printable action */
const char *
pfl_action_name(enum pfl_action a)
{
	static const char *names[] = { "accept", "tag", "hold", "defer",
		"reject" };

	return (unsigned)a < 5 ? names[a] : "?";
}

/* pfl_outcome_name - printable outcome */
const char *
pfl_outcome_name(enum pfl_outcome o)
{
	static const char *names[] = { "deliver", "throttle", "reject" };

	return (unsigned)o < 3 ? names[o] : "?";
}

/* pfl_finding_set - fill a finding */
struct pfl_finding *
pfl_finding_set(struct pfl_finding *f, const char *check,
    enum pfl_outcome outcome, enum pfl_action action, const char *reply,
    const char *rcode, const char *xcode, const char *reason)
{
	memset(f, 0, sizeof(*f));
	pfl_printable(f->check, sizeof(f->check), check, " =\"");
	f->outcome = outcome;
	f->action = action;
	pfl_printable(f->reply, sizeof(f->reply), reply ? reply : "", "%\"");
	pfl_printable(f->rcode, sizeof(f->rcode), rcode ? rcode : "", "%");
	pfl_printable(f->xcode, sizeof(f->xcode), xcode ? xcode : "", "%");
	pfl_printable(
	    f->reason, sizeof(f->reason), reason ? reason : "", "%\"");
	return f;
}

/* default_reply - our reply code when a finding names none */
static void
default_reply(enum pfl_action a, struct pfl_verdict *v)
{
	if (a == PFL_ACT_REJECT) {
		pfl_strlcpy(v->rcode, "550", sizeof(v->rcode));
		pfl_strlcpy(v->xcode, "5.7.1", sizeof(v->xcode));
	} else {
		pfl_strlcpy(v->rcode, "451", sizeof(v->rcode));
		pfl_strlcpy(v->xcode, "4.7.1", sizeof(v->xcode));
	}
}

/* pfl_verdict_decide - the decision for a set of findings */
void
pfl_verdict_decide(const struct pfl_finding *f, size_t n, enum pfl_mode mode,
    bool local, struct pfl_verdict *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->would = PFL_ACT_ACCEPT;
	for (i = 0; i < n; i++) {
		if (f[i].outcome > v->outcome)
			v->outcome = f[i].outcome;
		if (v->cause == NULL || f[i].action > v->would) {
			v->would = f[i].action;
			v->cause = &f[i];
		}
	}
	if (local && v->would > PFL_ACT_HOLD)
		v->would = PFL_ACT_HOLD;
	switch (mode) {
	case PFL_MODE_MONITOR:
		v->action = PFL_ACT_ACCEPT;
		break;
	case PFL_MODE_TAG:
		v->action = PFL_ACT_TAG;
		v->add_header = true;
		break;
	case PFL_MODE_ENFORCE:
		v->action = v->would == PFL_ACT_ACCEPT ? PFL_ACT_TAG : v->would;
		v->add_header = true;
		break;
	}
	if (v->action != PFL_ACT_DEFER && v->action != PFL_ACT_REJECT)
		return;
	default_reply(v->action, v);
	/* A finding's own code is used only when it fits the action. */
	if (v->cause->rcode[0] == (v->action == PFL_ACT_REJECT ? '5' : '4')) {
		pfl_strlcpy(v->rcode, v->cause->rcode, sizeof(v->rcode));
		if (v->cause->xcode[0] == v->cause->rcode[0])
			pfl_strlcpy(
			    v->xcode, v->cause->xcode, sizeof(v->xcode));
	}
	snprintf(v->text, sizeof(v->text), "preflight: %s", v->cause->reason);
}
