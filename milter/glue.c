/*
 * NAME
 *	glue - the milter callbacks
 * DESCRIPTION
 *	The session pins the config snapshot current at connect time. We ask
 *	for the macros we use (Sendmail does not send them by default) and
 *	skip the protocol steps we do not need.
 *
 *	By default the MTA takes the one space after a header's colon off
 *	the value it passes, and puts one in front of the values we add. We
 *	ask for SMFIP_HDR_LEADSPC, as OpenDKIM does, so that header values
 *	come exactly as written (a DKIM signature with simple header
 *	canonicalization covers those bytes); then the space in front of an
 *	added value is ours to write. An MTA that does not offer it gets the
 *	old protocol.
 *
 *	Nothing is decided before the end of the message, so the header
 *	fields, their end and the body need no answer (SMFIP_NR_HDR, _EOH,
 *	_BODY): each answer is a round trip the MTA waits for. Where the MTA
 *	cannot do without them, the body is wanted only for DKIM and a skip
 *	ends it early. DATA is answered (see xx_data).
 *
 *	Each callback of a message times itself (two clock reads) and adds
 *	the time to its stage in the session; after end of message the
 *	session logs the message's timing line and counts it.
 */
#include <autoconfig.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfapi.h>

#include "action.h"
#include "ctx.h"
#include "engine.h"
#include "glue.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "util.h"

/* mta_symval - macro lookup */
static const char *
mta_symval(void *ctx, const char *name)
{
	return pfl_engine_symval(ctx, name);
}

/* mta_setreply - the SMTP reply of a reject or tempfail */
static int
mta_setreply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	return pfl_engine_setreply(ctx, rcode, xcode, text);
}

/*
 * mta_addheader - header insertion (at the top, like Received); with
 * SMFIP_HDR_LEADSPC the MTA writes the value right after the colon, so
 * the usual space goes in front of it here
 */
static int
mta_addheader(void *ctx, const char *name, const char *value)
{
	const struct pfl_session *s = pfl_engine_getpriv(ctx);
	char *spaced = NULL;
	int rc;

	if (s != NULL && s->leadspc) {
		size_t len = strlen(value);

		spaced = pfl_xmalloc(len + 2);
		spaced[0] = ' ';
		memcpy(spaced + 1, value, len + 1);
		value = spaced;
	}
	rc = pfl_engine_insheader(ctx, 0, name, value);
	free(spaced);
	return rc;
}

/* mta_quarantine - quarantine (Postfix: hold queue) */
static int
mta_quarantine(void *ctx, const char *reason)
{
	return pfl_engine_quarantine(ctx, reason);
}

/* mta_for - the ops table for one callback's connection */
static struct pfl_mta
mta_for(struct pfl_engine_conn *conn)
{
	struct pfl_mta m = { conn, mta_symval, mta_setreply, mta_addheader,
		mta_quarantine };

	return m;
}

/* to_rc - our status to the engine's */
static enum pfl_engine_rc
to_rc(enum pfl_status st)
{
	switch (st) {
	case PFL_ACCEPT:
		return PFL_ENGINE_ACCEPT;
	case PFL_TEMPFAIL:
		return PFL_ENGINE_TEMPFAIL;
	case PFL_REJECT:
		return PFL_ENGINE_REJECT;
	default:
		return PFL_ENGINE_CONTINUE;
	}
}

/* xx_connect - a new connection: pin the config, make a session */
static enum pfl_engine_rc
xx_connect(struct pfl_engine_conn *conn, const char *hostname, const char *addr)
{
	struct pfl_ctx *c = pfl_ctx_current();
	struct pfl_session *s;

	if (c == NULL)
		return PFL_ENGINE_TEMPFAIL;
	s = pfl_session_new(c, hostname, addr,
	    pfl_engine_symval(conn, "{daemon_name}"),
	    pfl_engine_symval(conn, "j"));
	s->leadspc = pfl_engine_granted(conn, SMFIP_HDR_LEADSPC);
	pfl_engine_setpriv(conn, s);
	return PFL_ENGINE_CONTINUE;
}

/* xx_envfrom - MAIL FROM */
static enum pfl_engine_rc
xx_envfrom(struct pfl_engine_conn *conn, char **argv)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);
	struct pfl_mta m = mta_for(conn);
	enum pfl_status st;
	int i;

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	s->smtputf8 = false;
	for (i = 1; argv[i] != NULL; i++)
		if (strcasecmp(argv[i], "SMTPUTF8") == 0)
			s->smtputf8 = true;
	st = pfl_session_mail(s, &m, argv[0]);
	pfl_session_spent(s, PFL_STAGE_MAIL, t0);
	return to_rc(st);
}

/* xx_envrcpt - RCPT TO */
static enum pfl_engine_rc
xx_envrcpt(struct pfl_engine_conn *conn, char **argv)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);
	struct pfl_mta m = mta_for(conn);
	enum pfl_status st;

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	st = pfl_session_rcpt(s, &m, argv[0]);
	pfl_session_spent(s, PFL_STAGE_RCPT, t0);
	return to_rc(st);
}

/*
 * xx_header - one header field (the session's header step never refuses:
 * the decision waits for the end of the message)
 */
static enum pfl_engine_rc
xx_header(struct pfl_engine_conn *conn, const char *name, const char *value)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	(void)pfl_session_header(s, name, value);
	pfl_session_spent(s, PFL_STAGE_HDR, t0);
	return PFL_ENGINE_CONTINUE;
}

/* xx_eoh - end of headers */
static enum pfl_engine_rc
xx_eoh(struct pfl_engine_conn *conn)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	(void)pfl_session_eoh(s);
	pfl_session_spent(s, PFL_STAGE_HDR, t0);
	return PFL_ENGINE_CONTINUE;
}

/* xx_body - a body chunk; skip the rest when no check needs it */
static enum pfl_engine_rc
xx_body(struct pfl_engine_conn *conn, const unsigned char *buf, size_t len)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);
	enum pfl_engine_rc rc;

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	if (s->msg == NULL || !s->msg->need_body)
		rc = PFL_ENGINE_SKIP;
	else
		rc = to_rc(pfl_session_body(s, buf, len));
	pfl_session_spent(s, PFL_STAGE_BODY, t0);
	return rc;
}

/* xx_eom - end of message */
static enum pfl_engine_rc
xx_eom(struct pfl_engine_conn *conn)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = pfl_engine_getpriv(conn);
	struct pfl_mta m = mta_for(conn);
	enum pfl_status st;

	if (s == NULL)
		return PFL_ENGINE_TEMPFAIL;
	st = pfl_session_eom(s, &m);
	pfl_session_spent(s, PFL_STAGE_EOM, t0);
	pfl_session_timing(s, pfl_engine_symval(conn, "i"));
	return to_rc(st);
}

/* xx_abort - the message was aborted */
static void
xx_abort(struct pfl_engine_conn *conn)
{
	struct pfl_session *s = pfl_engine_getpriv(conn);

	if (s != NULL)
		pfl_session_abort(s);
}

/* xx_close - the connection ended */
static void
xx_close(struct pfl_engine_conn *conn)
{
	struct pfl_session *s = pfl_engine_getpriv(conn);

	pfl_session_free(&s);
	pfl_engine_setpriv(conn, NULL);
}

/*
 * The filter. DATA is answered although nothing is done there: Postfix
 * sends the DATA macros even when the step is skipped; with nothing to
 * answer, our side delays its ACK (40 ms on Linux), and the MTA's next
 * write, the first header, waits for it under Nagle's algorithm.
 */
static const struct pfl_engine_desc desc = {
	.actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_SKIP |
	    SMFIP_HDR_LEADSPC | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY,
	.macros = {
		[PFL_ENGINE_M_CONNECT] =
		    "j {daemon_name} {daemon_addr} {client_addr} _",
		[PFL_ENGINE_M_MAIL] =
		    "i {auth_type} {auth_authen} {auth_author} {mail_addr}",
		[PFL_ENGINE_M_RCPT] = "i {rcpt_addr}",
		[PFL_ENGINE_M_EOM] = "i",
	},
	.connect = xx_connect,
	.mail = xx_envfrom,
	.rcpt = xx_envrcpt,
	.header = xx_header,
	.eoh = xx_eoh,
	.body = xx_body,
	.eom = xx_eom,
	.abort = xx_abort,
	.close = xx_close,
};

/* pfl_glue_run - serve the MTA's connections until pfl_engine_stop */
int
pfl_glue_run(void)
{
	return pfl_engine_run(&desc);
}
