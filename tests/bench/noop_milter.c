/*
 * NAME
 *	noop_milter - a milter that does nothing, fast
 * SYNOPSIS
 *	noop_milter [-e] SOCKET
 * DESCRIPTION
 *	The cheapest milter libmilter can make: it negotiates, answers
 *	SMFIS_ACCEPT to the connect callback and so is asked nothing more
 *	for that connection. With -e it takes every step instead (envelope,
 *	each header, the body) and accepts at the end of the message: the
 *	least any milter that reads the whole message costs, libmilter's
 *	share of a real milter's cost. Like preflight it asks the MTA not
 *	to wait for answers to the header fields, their end and the body
 *	(SMFIP_NR_HDR, _EOH, _BODY) and answers DATA. tests/bench/run.sh measures the MTA
 *	with both, to tell the cost of talking to a milter at all from the
 *	cost of preflight's checks.
 *
 *	SOCKET is in libmilter's notation (unix:/path, inet:PORT@127.0.0.1).
 *	A unix socket is created with umask 0, so that the MTA, running as
 *	another user, can connect. Runs in the foreground until killed.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include <libmilter/mfapi.h>

#define NR_STEPS (SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

/* the no-reply steps the MTA agreed to */
static unsigned long no_reply;

/* noop_negotiate - no answers to the header fields, their end, the body */
static sfsistat
noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf1 = f1 & (NR_STEPS | SMFIP_NOHELO | SMFIP_NOUNKNOWN);
	*pf2 = *pf3 = 0;
	no_reply = f1 & NR_STEPS;
	return SMFIS_CONTINUE;
}

/* answer - SMFIS_NOREPLY for a step the MTA does not wait for */
static sfsistat
answer(unsigned long step)
{
	return (no_reply & step) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* noop_accept - accept the connection and everything on it */
static sfsistat
noop_accept(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_ACCEPT;
}

/* noop_connect - go on with the connection */
static sfsistat
noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

/* noop_args - MAIL FROM or RCPT TO: go on */
static sfsistat
noop_args(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

/* noop_header - one header field: go on */
static sfsistat
noop_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return answer(SMFIP_NR_HDR);
}

/* noop_body - a body chunk: go on */
static sfsistat
noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return answer(SMFIP_NR_BODY);
}

/* noop_data - DATA: go on */
static sfsistat
noop_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* noop_eoh - the end of the header: go on */
static sfsistat
noop_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return answer(SMFIP_NR_EOH);
}

/* noop_eom - the end of the message: accept it */
static sfsistat
noop_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "noop",
		.xxfi_version = SMFI_VERSION,
		.xxfi_connect = noop_accept,
	};
	const char *sock = argv[argc - 1];

	if (argc == 3 && strcmp(argv[1], "-e") == 0) {
		desc.xxfi_connect = noop_connect;
		desc.xxfi_envfrom = noop_args;
		desc.xxfi_envrcpt = noop_args;
		desc.xxfi_negotiate = noop_negotiate;
		desc.xxfi_data = noop_data;
		desc.xxfi_header = noop_header;
		desc.xxfi_eoh = noop_eoh;
		desc.xxfi_body = noop_body;
		desc.xxfi_eom = noop_eom;
	} else if (argc != 2) {
		fprintf(stderr, "usage: noop_milter [-e] SOCKET\n");
		return 64;
	}
	umask(0);
	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "noop_milter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
