/*
 * NAME
 *	session 3h - one SMTP connection and its current message
 * DESCRIPTION
 *	The milter callbacks hand over to these functions with the MTA ops
 *	table; nothing here knows the milter protocol. A session pins the
 *	config snapshot current at connect. The message (envelope, findings) lives
 *	in its own arena, freed at end of message, abort or close.
 * THREAD SAFETY
 *	The engine runs one connection's callbacks one at a time: a session
 *	needs no lock.
 */
#ifndef PFL_SESSION_H
#define PFL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "action.h"
#include "config.h"
#include "verdict.h"

struct pfl_arena;
struct pfl_budget_ticket;
struct pfl_checks;
struct pfl_ctx;
struct pfl_provider_match;

struct pfl_msg {
	struct pfl_arena *arena;   /* owns everything below */
	const char *sender;        /* envelope sender, no <>, lower case */
	const char *auth;          /* {auth_authen}, or NULL */
	bool outbound;             /* checked and acted on */
	size_t nrcpt;              /* recipients let through */
	size_t ndeferred;          /* recipients deferred or rejected at RCPT */
	size_t nheaders;           /* header fields seen */
	struct pfl_checks *checks; /* authentication checks (outbound only) */
	struct pfl_budget_ticket *ticket; /* budget reservations, or NULL */
	bool need_body;                   /* the checks want the body */
	struct pfl_finding findings[PFL_MAX_FINDINGS];
	size_t nfindings;
	size_t ndropped; /* findings beyond PFL_MAX_FINDINGS */
};

/* Where a message's time in the milter goes: the callbacks of each stage. */
enum pfl_stage {
	PFL_STAGE_MAIL, /* MAIL FROM */
	PFL_STAGE_RCPT, /* every RCPT TO */
	PFL_STAGE_HDR,  /* the header fields and end of headers */
	PFL_STAGE_BODY, /* the body chunks */
	PFL_STAGE_EOM,  /* end of message */
	PFL_STAGES
};

struct pfl_session {
	struct pfl_ctx *ctx;    /* pinned context (a reference) */
	struct pfl_config *cfg; /* ctx->cfg, for brevity */
	char *client_addr;      /* text form, or "" */
	char *client_name;      /* as the MTA gave it, or "" */
	char *host;             /* our MTA's host name ("j" macro) */
	bool internal;          /* client in InternalHosts */
	bool local;             /* local submission path */
	bool leadspc;           /* header values keep their leading space */
	bool smtputf8;          /* the current MAIL FROM asked for SMTPUTF8 */
	struct pfl_msg *msg;    /* current message, or NULL */
	bool decided;           /* the last end of message logged a decision */
	uint64_t spent_ns[PFL_STAGES]; /* this message's time per stage */
};

/*
 * pfl_session_new - a session for a new connection. Takes ownership of the
 * caller's reference on ctx. Any string may be NULL. The caller sets
 * leadspc when the MTA passes header values with the white space after
 * the colon intact (SMFIP_HDR_LEADSPC); by default it took one space.
 */
struct pfl_session *pfl_session_new(struct pfl_ctx *ctx,
    const char *client_name, const char *client_addr, const char *daemon_name,
    const char *host);

/* pfl_session_free - end the session, its message and its pin; NULLs *sp */
void pfl_session_free(struct pfl_session **sp);

/* pfl_session_mail - MAIL FROM: start a message, decide outbound or not */
enum pfl_status pfl_session_mail(
    struct pfl_session *, const struct pfl_mta *, const char *sender);

/* pfl_session_rcpt - RCPT TO: per-recipient decision */
enum pfl_status pfl_session_rcpt(
    struct pfl_session *, const struct pfl_mta *, const char *rcpt);

/* pfl_session_header - one header field (value as leadspc says) */
enum pfl_status pfl_session_header(
    struct pfl_session *, const char *name, const char *value);

/* pfl_session_eoh - end of headers; true when the body is wanted */
bool pfl_session_eoh(struct pfl_session *);

/* pfl_session_body - a body chunk */
enum pfl_status pfl_session_body(
    struct pfl_session *, const unsigned char *buf, size_t len);

/* pfl_session_eom - end of message: verdict, action, one log line */
enum pfl_status pfl_session_eom(struct pfl_session *, const struct pfl_mta *);

/* pfl_session_abort - the message was aborted: forget it */
void pfl_session_abort(struct pfl_session *);

/*
 * pfl_session_spent - add the time from start_ns (pfl_stats_now) to now to
 * a stage of the current message. The callbacks time themselves; MAIL
 * FROM starts the count again. Time spent waiting for the MTA between
 * callbacks is nobody's.
 */
void pfl_session_spent(struct pfl_session *, enum pfl_stage, uint64_t start_ns);

/*
 * pfl_session_timing - after end of message: if it logged a decision,
 * count the message in the statistics and, at LogLevel debug, log
 * "QID: preflight: timing total_us=T mail_us=.. rcpt_us=.. hdr_us=..
 * body_us=.. eom_us=.." (total: the sum of the stages). qid may be NULL.
 */
void pfl_session_timing(struct pfl_session *, const char *qid);

/*
 * Rate budgets in the dialogue (session_budget.c): a ticket at MAIL, a
 * reservation per recipient (false and a finding when refused), the bulk
 * and Message-ID counts before the checks decide, commit or release.
 */
void pfl_session_budget_mail(struct pfl_session *);
bool pfl_session_budget_rcpt(struct pfl_session *, const char *rcpt,
    const struct pfl_provider_match *, struct pfl_finding *f_r);
void pfl_session_budget_eom(struct pfl_session *);
void pfl_session_budget_end(struct pfl_session *, bool accepted);

/* pfl_msg_add_finding - record a finding on the current message */
struct pfl_finding *pfl_msg_add_finding(struct pfl_msg *);

/* What the decision line says about a message; all borrowed. */
struct pfl_decision {
	const struct pfl_verdict *v;
	enum pfl_action done; /* what was done (a refused hold: defer) */
	enum pfl_mode mode;
	const char *summary; /* pfl_checks_summary */
	const char *sender;  /* envelope sender (made printable here) */
	size_t nrcpt;        /* recipients let through */
	size_t ndeferred;    /* recipients deferred or rejected at RCPT */
};

/* A buffer of this size holds any decision line. */
#define PFL_DECISION_SIZE 3072

/*
 * pfl_session_decision - "preflight: action=A mode=M verdict=V SUMMARY
 * [would=A] [finding=F reason="..."] [deferred=N] from=<S> rcpts=N" into
 * buf (size n); returns buf. The milter logs it after the queue id and
 * before the connection's path, auth and client; `preflight
 * check-message` prints it as it is.
 */
char *pfl_session_decision(const struct pfl_decision *, char *buf, size_t n);

#endif
