/*
 * NAME
 *	session - one SMTP connection and its current message
 * DESCRIPTION
 *	Decides whether a message is outbound (authenticated client, client
 *	in InternalHosts, or the local submission path), gathers findings,
 *	and at end of message asks the verdict and the action modules, then
 *	writes the message's one log line.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "checks.h"
#include "cidr.h"
#include "ctx.h"
#include "dns.h"
#include "dnsbl.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "util.h"

#define ADDR_MAX 512

/* pfl_session_new - a session for a new connection */
struct pfl_session *
pfl_session_new(struct pfl_ctx *ctx, const char *client_name,
    const char *client_addr, const char *daemon_name, const char *host)
{
	struct pfl_session *s = pfl_xcalloc(1, sizeof(*s));
	const struct pfl_config *cfg = ctx->cfg;

	s->ctx = ctx;
	s->cfg = ctx->cfg;
	s->client_name = pfl_xstrdup(client_name ? client_name : "");
	s->client_addr = pfl_xstrdup(client_addr ? client_addr : "");
	s->host = pfl_xstrdup(host ? host : "");
	s->internal = pfl_cidr_list_match(cfg->internal_hosts, s->client_addr);
	s->local = daemon_name != NULL && cfg->local_daemon_name != NULL &&
	    strcmp(daemon_name, cfg->local_daemon_name) == 0;
	return s;
}

/* msg_free - the one place a message's memory is released */
static void
msg_free(struct pfl_session *s)
{
	if (s->msg != NULL) {
		struct pfl_arena *a = s->msg->arena;

		pfl_session_budget_end(s, false);
		pfl_checks_free(&s->msg->checks);
		pfl_arena_free(&a);
		s->msg = NULL;
	}
}

/* pfl_session_free - end the session */
void
pfl_session_free(struct pfl_session **sp)
{
	struct pfl_session *s = *sp;

	if (s == NULL)
		return;
	msg_free(s);
	pfl_ctx_unref(s->ctx);
	free(s->client_name);
	free(s->client_addr);
	free(s->host);
	free(s);
	*sp = NULL;
}

/* pfl_msg_add_finding - a slot for a finding; past the cap, the last */
struct pfl_finding *
pfl_msg_add_finding(struct pfl_msg *m)
{
	if (m->nfindings < PFL_MAX_FINDINGS)
		return &m->findings[m->nfindings++];
	/* Keep the decision safe: overwrite nothing, count the overflow. */
	m->ndropped++;
	return NULL;
}

/* domain_listed - domain equal to an entry, or under a ".entry" */
static bool
domain_listed(const struct pfl_strlist *l, const char *domain)
{
	size_t i, dlen = strlen(domain), elen;

	for (i = 0; i < l->n; i++) {
		const char *e = l->v[i];

		if (strcmp(e, domain) == 0)
			return true;
		elen = strlen(e);
		if (e[0] == '.' && dlen > elen &&
		    strcmp(domain + dlen - elen, e) == 0)
			return true;
	}
	return false;
}

/* sender_held - does HoldSenders name this sender, "@domain" or domain? */
static bool
sender_held(const struct pfl_strlist *l, const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *e = l->v[i];

		if (strcmp(e, sender) == 0)
			return true;
		if (at != NULL &&
		    (strcmp(e, at) == 0 || strcmp(e, at + 1) == 0))
			return true;
	}
	return false;
}

/* mail_stage - MAIL FROM: start a message */
static enum pfl_status
mail_stage(struct pfl_session *s, const struct pfl_mta *mta, const char *sender)
{
	char buf[ADDR_MAX], safe[ADDR_MAX];
	struct pfl_arena *a;
	struct pfl_msg *m;
	const char *auth;

	msg_free(s);
	s->decided = false;
	memset(s->spent_ns, 0, sizeof(s->spent_ns));
	a = pfl_arena_new();
	m = pfl_arena_alloc(a, sizeof(*m));
	m->arena = a;
	s->msg = m;
	m->sender =
	    pfl_arena_strdup(a, pfl_addr_strip(buf, sizeof(buf), sender));
	auth = mta->symval(mta->ctx, "{auth_authen}");
	if (auth != NULL && *auth != '\0')
		m->auth = pfl_arena_strdup(a, auth);
	m->outbound = s->local || s->internal || m->auth != NULL;
	if (!m->outbound) {
		pfl_log(PFL_LOG_DEBUG,
		    "inbound from=<%s> client=%s: passed untouched",
		    pfl_printable(safe, sizeof(safe), m->sender, NULL),
		    s->client_addr);
		msg_free(s);
		return PFL_ACCEPT;
	}
	if (sender_held(&s->cfg->hold_senders, m->sender)) {
		struct pfl_finding *f = pfl_msg_add_finding(m);

		if (f != NULL)
			pfl_finding_set(f, "operator", PFL_OUT_DELIVER,
			    PFL_ACT_HOLD, NULL, NULL, NULL,
			    "sender is held by the operator (HoldSenders)");
	}
	m->checks =
	    pfl_checks_new(s->ctx, a, m->sender, "preflight", s->leadspc);
	m->checks->smtputf8 = s->smtputf8;
	m->checks->behind_mta = true;
	pfl_checks_mail(m->checks);
	pfl_session_budget_mail(s);
	return PFL_CONTINUE;
}

/*
 * rcpt_finding - act on a finding about one recipient: defer (or reject)
 * that recipient alone, or, where that is not done (monitor and tag
 * modes, the local submission path), let it through and let the message
 * carry the finding. pm: the recipient's provider as the checks noted
 * it, taken back when the recipient is refused (NULL: not noted).
 */
static enum pfl_status
rcpt_finding(struct pfl_session *s, const struct pfl_mta *mta, const char *rcpt,
    const struct pfl_finding *f, const struct pfl_provider_match *pm)
{
	char safe[ADDR_MAX], safe_from[ADDR_MAX], addr[ADDR_MAX];
	struct pfl_verdict v;
	const char *qid;

	pfl_verdict_decide(f, 1, s->cfg->mode, s->local, &v);
	if (v.action != PFL_ACT_DEFER && v.action != PFL_ACT_REJECT) {
		struct pfl_finding *slot = NULL;
		size_t i;

		/* one finding for all the recipients it is about */
		for (i = 0; i < s->msg->nfindings; i++)
			if (strcmp(s->msg->findings[i].reason, f->reason) == 0)
				break;
		if (i == s->msg->nfindings)
			slot = pfl_msg_add_finding(s->msg);
		if (slot != NULL)
			*slot = *f;
		if (pm == NULL)
			pfl_checks_rcpt(s->msg->checks, rcpt, NULL);
		s->msg->nrcpt++;
		return PFL_CONTINUE;
	}
	if (pm != NULL)
		pfl_checks_rcpt_undo(s->msg->checks, pm);
	qid = mta->symval(mta->ctx, "i");
	pfl_addr_strip(addr, sizeof(addr), rcpt);
	pfl_log(PFL_LOG_INFO,
	    "%s: preflight: action=%s mode=%s rcpt=<%s> from=<%s> "
	    "finding=%s reason=\"%s\"",
	    qid && *qid ? qid : "NOQUEUE", pfl_action_name(v.action),
	    pfl_config_mode_name(s->cfg->mode),
	    pfl_printable(safe, sizeof(safe), addr, "<>\""),
	    pfl_printable(safe_from, sizeof(safe_from), s->msg->sender, "<>"),
	    f->check, f->reason);
	s->msg->ndeferred++;
	return pfl_action_rcpt(mta, &v);
}

/* rcpt_stage - RCPT TO: per-recipient decision */
static enum pfl_status
rcpt_stage(struct pfl_session *s, const struct pfl_mta *mta, const char *rcpt)
{
	char domain[ADDR_MAX], reason[ADDR_MAX + 64];
	struct pfl_provider_match pm;
	struct pfl_finding f;

	if (s->msg == NULL || !s->msg->outbound)
		return PFL_CONTINUE;
	pfl_addr_domain(domain, sizeof(domain), rcpt);
	if (domain_listed(&s->cfg->pause_domains, domain)) {
		snprintf(reason, sizeof(reason),
		    "deliveries to %s are paused by the operator "
		    "(PauseDomains)",
		    domain);
		pfl_finding_set(&f, "operator", PFL_OUT_DELIVER, PFL_ACT_DEFER,
		    NULL, "451", "4.7.1", reason);
		return rcpt_finding(s, mta, rcpt, &f, NULL);
	}
	pfl_checks_rcpt(s->msg->checks, rcpt, &pm);
	if (pfl_dnsbl_paused(s->ctx, (int)pm.provider, &f))
		return rcpt_finding(s, mta, rcpt, &f, &pm);
	if (!pfl_session_budget_rcpt(s, rcpt, &pm, &f))
		return rcpt_finding(s, mta, rcpt, &f, &pm);
	s->msg->nrcpt++;
	return PFL_CONTINUE;
}

/* pfl_session_header - one header field */
enum pfl_status
pfl_session_header(struct pfl_session *s, const char *name, const char *value)
{
	if (s->msg != NULL && s->msg->outbound) {
		s->msg->nheaders++;
		pfl_checks_header(s->msg->checks, name, value);
	}
	return PFL_CONTINUE;
}

/* pfl_session_eoh - end of headers; true when the body is wanted */
bool
pfl_session_eoh(struct pfl_session *s)
{
	if (s->msg == NULL || !s->msg->outbound)
		return false;
	return s->msg->need_body = pfl_checks_eoh(s->msg->checks);
}

/* pfl_session_body - a body chunk */
enum pfl_status
pfl_session_body(struct pfl_session *s, const unsigned char *buf, size_t len)
{
	if (s->msg != NULL && s->msg->need_body)
		pfl_checks_body(s->msg->checks, buf, len);
	return PFL_CONTINUE;
}

/* header_value - the X-Preflight value for a verdict */
static void
header_value(const struct pfl_session *s, const struct pfl_verdict *v,
    const char *summary, char *buf, size_t n)
{
	char host[256];
	int len;

	len = snprintf(
	    buf, n, "v=1 verdict=%s %s", pfl_outcome_name(v->outcome), summary);
	if (v->cause != NULL && len >= 0 && (size_t)len < n)
		len += snprintf(buf + len, n - (size_t)len,
		    " action=%s finding=%s reason=\"%s\"",
		    pfl_action_name(v->would), v->cause->check,
		    v->cause->reason);
	if (len >= 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, " host=%s",
		    pfl_printable(host, sizeof(host), s->host, " \";"));
}

/* pfl_session_decision - the decision line without queue id and client */
char *
pfl_session_decision(const struct pfl_decision *d, char *buf, size_t n)
{
	const struct pfl_verdict *v = d->v;
	char safe_from[ADDR_MAX], extra[512] = "";
	int len = 0;

	if (v->action != v->would && v->would > PFL_ACT_TAG)
		len += snprintf(extra + len, sizeof(extra) - (size_t)len,
		    " would=%s", pfl_action_name(v->would));
	if (v->cause != NULL && len >= 0 && (size_t)len < sizeof(extra))
		len += snprintf(extra + len, sizeof(extra) - (size_t)len,
		    " finding=%s reason=\"%s\"", v->cause->check,
		    v->cause->reason);
	if (d->ndeferred && len >= 0 && (size_t)len < sizeof(extra))
		snprintf(extra + len, sizeof(extra) - (size_t)len,
		    " deferred=%zu", d->ndeferred);
	snprintf(buf, n,
	    "preflight: action=%s mode=%s verdict=%s %s%s from=<%s> rcpts=%zu",
	    pfl_action_name(d->done), pfl_config_mode_name(d->mode),
	    pfl_outcome_name(v->outcome), d->summary, extra,
	    pfl_printable(safe_from, sizeof(safe_from), d->sender, "<>"),
	    d->nrcpt);
	return buf;
}

/* log_decision - the message's one log line */
static void
log_decision(const struct pfl_session *s, const struct pfl_verdict *v,
    const char *summary, const char *qid, enum pfl_status st)
{
	const struct pfl_msg *m = s->msg;
	struct pfl_decision d = { v, v->action, s->cfg->mode, summary,
		m->sender, m->nrcpt, m->ndeferred };
	char safe_auth[256], *line = pfl_xmalloc(PFL_DECISION_SIZE);

	/* a hold the MTA refused became a tempfail (see pfl_action_eom) */
	if (st == PFL_TEMPFAIL && v->action == PFL_ACT_HOLD)
		d.done = PFL_ACT_DEFER;
	pfl_log(PFL_LOG_INFO, "%s: %s path=%s auth=%s client=%s",
	    qid && *qid ? qid : "NOQUEUE",
	    pfl_session_decision(&d, line, PFL_DECISION_SIZE),
	    s->local ? "local" : "smtp",
	    m->auth ? pfl_printable(safe_auth, sizeof(safe_auth), m->auth, " ")
		    : "-",
	    s->client_addr[0] ? s->client_addr : "-");
	free(line);
}

/* eom_stage - end of message: verdict, action, one log line */
static enum pfl_status
eom_stage(struct pfl_session *s, const struct pfl_mta *mta)
{
	struct pfl_msg *m = s->msg;
	struct pfl_verdict v;
	enum pfl_status st;
	char hdr[2048], summary[1024];
	const char *qid;

	if (m == NULL || !m->outbound) {
		msg_free(s);
		return PFL_ACCEPT;
	}
	pfl_session_budget_eom(s);
	m->nfindings += pfl_checks_eom(m->checks, m->findings + m->nfindings,
	    PFL_MAX_FINDINGS - m->nfindings);
	pfl_checks_summary(m->checks, summary, sizeof(summary));
	pfl_verdict_decide(
	    s->msg->findings, s->msg->nfindings, s->cfg->mode, s->local, &v);
	header_value(s, &v, summary, hdr, sizeof(hdr));
	st = pfl_action_eom(mta, &v, hdr, s->local);
	qid = mta->symval(mta->ctx, "i");
	log_decision(s, &v, summary, qid, st);
	s->decided = true;
	/* counted only when the message goes on (held mail is kept too) */
	pfl_session_budget_end(s, st == PFL_ACCEPT || st == PFL_CONTINUE);
	msg_free(s);
	return st;
}

/*
 * The stages that look things up do so within StageTimeout together, so
 * that a dead DNS server cannot outlast the MTA's patience with a milter
 * (Postfix: 30 s a command), whatever number of lookups the checks make.
 */

/* stage_end - end the stage's limit; say so when it cut lookups short */
static void
stage_end(struct pfl_session *s, const struct pfl_mta *mta, const char *stage)
{
	unsigned cut = pfl_dns_stage_limit(0);
	const char *qid;

	if (cut == 0)
		return;
	qid = mta->symval(mta->ctx, "i");
	pfl_log(PFL_LOG_WARNING,
	    "%s: preflight: %s: StageTimeout %lums reached, %u lookup%s "
	    "cut short (DNS errors, OnDnsError applies); client=%s",
	    qid && *qid ? qid : "NOQUEUE", stage, s->cfg->stage_timeout_ms, cut,
	    cut == 1 ? "" : "s", s->client_addr);
}

/* pfl_session_mail - MAIL FROM: start a message */
enum pfl_status
pfl_session_mail(
    struct pfl_session *s, const struct pfl_mta *mta, const char *sender)
{
	enum pfl_status st;

	pfl_dns_stage_limit(s->cfg->stage_timeout_ms);
	st = mail_stage(s, mta, sender);
	stage_end(s, mta, "MAIL FROM");
	return st;
}

/* pfl_session_rcpt - RCPT TO: per-recipient decision */
enum pfl_status
pfl_session_rcpt(
    struct pfl_session *s, const struct pfl_mta *mta, const char *rcpt)
{
	enum pfl_status st;

	pfl_dns_stage_limit(s->cfg->stage_timeout_ms);
	st = rcpt_stage(s, mta, rcpt);
	stage_end(s, mta, "RCPT TO");
	return st;
}

/* pfl_session_eom - end of message: verdict, action, one log line */
enum pfl_status
pfl_session_eom(struct pfl_session *s, const struct pfl_mta *mta)
{
	enum pfl_status st;

	pfl_dns_stage_limit(s->cfg->stage_timeout_ms);
	st = eom_stage(s, mta);
	stage_end(s, mta, "end of message");
	return st;
}

/* pfl_session_abort - the message was aborted: forget it */
void
pfl_session_abort(struct pfl_session *s)
{
	msg_free(s);
}

/* pfl_session_spent - add the time since start_ns to a stage */
void
pfl_session_spent(
    struct pfl_session *s, enum pfl_stage stage, uint64_t start_ns)
{
	s->spent_ns[stage] += pfl_stats_now() - start_ns;
}

/* pfl_session_timing - statistics and the timing line of a decision */
void
pfl_session_timing(struct pfl_session *s, const char *qid)
{
	unsigned long long us[PFL_STAGES], total = 0;
	size_t i;

	if (!s->decided)
		return;
	s->decided = false;
	for (i = 0; i < PFL_STAGES; i++) {
		us[i] = (s->spent_ns[i] + 500) / 1000;
		total += us[i];
	}
	pfl_stats_message(total, us[PFL_STAGE_EOM]);
	pfl_log(PFL_LOG_DEBUG,
	    "%s: preflight: timing total_us=%llu mail_us=%llu rcpt_us=%llu "
	    "hdr_us=%llu body_us=%llu eom_us=%llu",
	    qid && *qid ? qid : "NOQUEUE", total, us[PFL_STAGE_MAIL],
	    us[PFL_STAGE_RCPT], us[PFL_STAGE_HDR], us[PFL_STAGE_BODY],
	    us[PFL_STAGE_EOM]);
}
