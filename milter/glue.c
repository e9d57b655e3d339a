/*
 * NAME
 *	glue - the libmilter callbacks
 * DESCRIPTION
 *	The session pins the config snapshot current at connect time. We ask
 *	for the macros we use with smfi_setsymlist (Sendmail does not send
 *	them by default) and skip the protocol steps we do not need.
 *
 *	By default the MTA takes the one space after a header's colon off
 *	the value it passes, and puts one in front of the values we add. We
 *	ask for SMFIP_HDR_LEADSPC, as OpenDKIM does, so that header values
 *	come exactly as written (a DKIM signature with simple header
 *	canonicalization covers those bytes); then the space in front of an
 *	added value is ours to write. An MTA that does not offer it gets the
 *	old protocol.
 *
 *	Each callback of a message times itself (two clock reads) and adds
 *	the time to its stage in the session; after end of message the
 *	session logs the message's timing line and counts it.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "action.h"
#include "ctx.h"
#include "glue.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "util.h"

/* Did the MTA offer SMFIS_SKIP (skip the rest of the body)? */
static bool can_skip;

/* Did the MTA grant SMFIP_HDR_LEADSPC (values with their leading space)? */
static bool hdr_leadspc;

/*
 * The steps the MTA agreed not to wait for (SMFIP_NR_HDR, _EOH, _BODY):
 * it streams the header fields and the body without a round trip each;
 * their callbacks must then answer SMFIS_NOREPLY.
 */
static unsigned long no_reply;

/* mta_symval - libmilter macro lookup */
static const char *
mta_symval(void *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)name);
}

/* mta_setreply - libmilter reply */
static int
mta_setreply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text) ==
		MI_SUCCESS
	    ? 0
	    : -1;
}

/*
 * mta_addheader - libmilter header insertion (at the top, like Received);
 * with SMFIP_HDR_LEADSPC the MTA writes the value right after the colon,
 * so the usual space goes in front of it here
 */
static int
mta_addheader(void *ctx, const char *name, const char *value)
{
	const struct pfl_session *s = smfi_getpriv(ctx);
	char *spaced = NULL;
	int rc;

	if (s != NULL && s->leadspc) {
		size_t len = strlen(value);

		spaced = pfl_xmalloc(len + 2);
		spaced[0] = ' ';
		memcpy(spaced + 1, value, len + 1);
		value = spaced;
	}
	rc = smfi_insheader(ctx, 0, (char *)name, (char *)value) == MI_SUCCESS
	    ? 0
	    : -1;
	free(spaced);
	return rc;
}

/* mta_quarantine - libmilter quarantine (Postfix: hold queue) */
static int
mta_quarantine(void *ctx, const char *reason)
{
	return smfi_quarantine(ctx, (char *)reason) == MI_SUCCESS ? 0 : -1;
}

/* mta_for - the ops table for one callback's context */
static struct pfl_mta
mta_for(SMFICTX *ctx)
{
	struct pfl_mta m = { ctx, mta_symval, mta_setreply, mta_addheader,
		mta_quarantine };

	return m;
}

/* to_smfis - our status to libmilter's */
static sfsistat
to_smfis(enum pfl_status st)
{
	switch (st) {
	case PFL_ACCEPT:
		return SMFIS_ACCEPT;
	case PFL_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case PFL_REJECT:
		return SMFIS_REJECT;
	default:
		return SMFIS_CONTINUE;
	}
}

/* addr_text - a socket address as text, or "" */
static void
addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
	buf[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)n);
}

/* xx_negotiate - ask for the actions and macros we use */
static sfsistat
xx_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want =
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	/*
	 * Header values are wanted as written: SMFIP_HDR_LEADSPC. Nothing
	 * is decided before the end of the message, so the header fields,
	 * their end and the body need no answer: each answer is a round
	 * trip the MTA waits for. Where the MTA cannot do without them, the
	 * body is wanted only for DKIM and SMFIS_SKIP ends it early. DATA is
	 * not skipped (see xx_data).
	 */
	unsigned long nr = SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
	unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_SKIP |
	    SMFIP_HDR_LEADSPC | nr;

	*pf0 = want & f0;
	*pf1 = steps & f1;
	__atomic_store_n(&no_reply, nr & f1, __ATOMIC_RELAXED);
	__atomic_store_n(&can_skip, (f1 & SMFIP_SKIP) != 0, __ATOMIC_RELAXED);
	__atomic_store_n(
	    &hdr_leadspc, (f1 & SMFIP_HDR_LEADSPC) != 0, __ATOMIC_RELAXED);
	*pf2 = *pf3 = 0;
	smfi_setsymlist(ctx, SMFIM_CONNECT,
	    "j {daemon_name} {daemon_addr} {client_addr} _");
	smfi_setsymlist(ctx, SMFIM_ENVFROM,
	    "i {auth_type} {auth_authen} {auth_author} {mail_addr}");
	smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
	smfi_setsymlist(ctx, SMFIM_EOM, "i");
	return SMFIS_CONTINUE;
}

/* xx_connect - a new connection: pin the config, make a session */
static sfsistat
xx_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct pfl_ctx *c = pfl_ctx_current();
	char addr[INET6_ADDRSTRLEN];
	struct pfl_session *s;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	addr_text(sa, addr, sizeof(addr));
	s = pfl_session_new(c, hostname, addr,
	    smfi_getsymval(ctx, "{daemon_name}"), smfi_getsymval(ctx, "j"));
	s->leadspc = __atomic_load_n(&hdr_leadspc, __ATOMIC_RELAXED);
	smfi_setpriv(ctx, s);
	return SMFIS_CONTINUE;
}

/* xx_envfrom - MAIL FROM */
static sfsistat
xx_envfrom(SMFICTX *ctx, char **argv)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);
	struct pfl_mta m = mta_for(ctx);
	enum pfl_status st;
	int i;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	s->smtputf8 = false;
	for (i = 1; argv[i] != NULL; i++)
		if (strcasecmp(argv[i], "SMTPUTF8") == 0)
			s->smtputf8 = true;
	st = pfl_session_mail(s, &m, argv[0]);
	pfl_session_spent(s, PFL_STAGE_MAIL, t0);
	return to_smfis(st);
}

/* xx_envrcpt - RCPT TO */
static sfsistat
xx_envrcpt(SMFICTX *ctx, char **argv)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);
	struct pfl_mta m = mta_for(ctx);
	enum pfl_status st;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	st = pfl_session_rcpt(s, &m, argv[0]);
	pfl_session_spent(s, PFL_STAGE_RCPT, t0);
	return to_smfis(st);
}

/*
 * xx_data - DATA: nothing to do, but answering it saves a stall. Postfix
 * sends the DATA macros even when the step is skipped; with nothing to
 * answer, our side delays its ACK (40 ms on Linux), and the MTA's next
 * write, the first header, waits for it under Nagle's algorithm.
 */
static sfsistat
xx_data(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

/*
 * answer - what a step the MTA may not wait for answers: SMFIS_NOREPLY
 * when it agreed to that (flag), else rc
 */
static sfsistat
answer(unsigned long flag, sfsistat rc)
{
	return (__atomic_load_n(&no_reply, __ATOMIC_RELAXED) & flag) != 0
	    ? SMFIS_NOREPLY
	    : rc;
}

/*
 * xx_header - one header field (the session's header step never refuses:
 * the decision waits for the end of the message)
 */
static sfsistat
xx_header(SMFICTX *ctx, char *name, char *value)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return answer(SMFIP_NR_HDR, SMFIS_TEMPFAIL);
	(void)pfl_session_header(s, name, value);
	pfl_session_spent(s, PFL_STAGE_HDR, t0);
	return answer(SMFIP_NR_HDR, SMFIS_CONTINUE);
}

/* xx_eoh - end of headers */
static sfsistat
xx_eoh(SMFICTX *ctx)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return answer(SMFIP_NR_EOH, SMFIS_TEMPFAIL);
	(void)pfl_session_eoh(s);
	pfl_session_spent(s, PFL_STAGE_HDR, t0);
	return answer(SMFIP_NR_EOH, SMFIS_CONTINUE);
}

/* xx_body - a body chunk; skip the rest when no check needs it */
static sfsistat
xx_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);
	sfsistat rc;

	if (s == NULL)
		return answer(SMFIP_NR_BODY, SMFIS_TEMPFAIL);
	if (s->msg == NULL || !s->msg->need_body)
		rc = __atomic_load_n(&can_skip, __ATOMIC_RELAXED)
		    ? SMFIS_SKIP
		    : SMFIS_CONTINUE;
	else
		rc = to_smfis(pfl_session_body(s, buf, len));
	pfl_session_spent(s, PFL_STAGE_BODY, t0);
	return answer(SMFIP_NR_BODY, rc);
}

/* xx_eom - end of message */
static sfsistat
xx_eom(SMFICTX *ctx)
{
	uint64_t t0 = pfl_stats_now();
	struct pfl_session *s = smfi_getpriv(ctx);
	struct pfl_mta m = mta_for(ctx);
	enum pfl_status st;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	st = pfl_session_eom(s, &m);
	pfl_session_spent(s, PFL_STAGE_EOM, t0);
	pfl_session_timing(s, smfi_getsymval(ctx, "i"));
	return to_smfis(st);
}

/* xx_abort - the message was aborted */
static sfsistat
xx_abort(SMFICTX *ctx)
{
	struct pfl_session *s = smfi_getpriv(ctx);

	if (s != NULL)
		pfl_session_abort(s);
	return SMFIS_CONTINUE;
}

/* xx_close - the connection ended */
static sfsistat
xx_close(SMFICTX *ctx)
{
	struct pfl_session *s = smfi_getpriv(ctx);

	pfl_session_free(&s);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

/* pfl_glue_register - register the filter with libmilter */
int
pfl_glue_register(const char *name)
{
	static struct smfiDesc desc = {
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		    SMFIF_SETSYMLIST,
		.xxfi_connect = xx_connect,
		.xxfi_envfrom = xx_envfrom,
		.xxfi_envrcpt = xx_envrcpt,
		.xxfi_data = xx_data,
		.xxfi_header = xx_header,
		.xxfi_eoh = xx_eoh,
		.xxfi_body = xx_body,
		.xxfi_eom = xx_eom,
		.xxfi_abort = xx_abort,
		.xxfi_close = xx_close,
		.xxfi_negotiate = xx_negotiate,
	};

	desc.xxfi_name = (char *)name;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
