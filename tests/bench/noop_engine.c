/*
 * NAME
 *	noop_engine - a milter on preflight's protocol engine that does nothing
 * SYNOPSIS
 *	noop_engine SOCKET
 * DESCRIPTION
 *	The no-op milter of tests/bench/noop_milter.c with -e, on the
 *	milter protocol engine of preflight-milter (milter/engine.c) instead
 *	of libmilter: it negotiates what preflight negotiates (the same
 *	steps, no answers to the header fields, their end and the body),
 *	takes every step, and accepts at the end of the message. What the
 *	engine alone costs a milter that reads the whole message:
 *	tests/bench/run.sh measures it beside preflight.
 *
 *	SOCKET is in libmilter's notation (unix:/path, inet:PORT@127.0.0.1).
 *	A unix socket is created with umask 0, so that the MTA, running as
 *	another user, can connect. Runs in the foreground until killed.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

#include "engine.h"

/* noop_connect - go on with the connection */
static enum pfl_engine_rc
noop_connect(struct pfl_engine_conn *c, const char *host, const char *addr)
{
	(void)c;
	(void)host;
	(void)addr;
	return PFL_ENGINE_CONTINUE;
}

/* noop_args - MAIL FROM or RCPT TO: go on */
static enum pfl_engine_rc
noop_args(struct pfl_engine_conn *c, char **argv)
{
	(void)c;
	(void)argv;
	return PFL_ENGINE_CONTINUE;
}

/* noop_header - a header field: go on */
static enum pfl_engine_rc
noop_header(struct pfl_engine_conn *c, const char *name, const char *value)
{
	(void)c;
	(void)name;
	(void)value;
	return PFL_ENGINE_CONTINUE;
}

/* noop_step - end of headers: go on */
static enum pfl_engine_rc
noop_step(struct pfl_engine_conn *c)
{
	(void)c;
	return PFL_ENGINE_CONTINUE;
}

/* noop_body - a body chunk: go on (the whole body is read) */
static enum pfl_engine_rc
noop_body(struct pfl_engine_conn *c, const unsigned char *buf, size_t len)
{
	(void)c;
	(void)buf;
	(void)len;
	return PFL_ENGINE_CONTINUE;
}

/* noop_eom - end of message: accept */
static enum pfl_engine_rc
noop_eom(struct pfl_engine_conn *c)
{
	(void)c;
	return PFL_ENGINE_ACCEPT;
}

/* noop_end - abort or close: nothing to free */
static void
noop_end(struct pfl_engine_conn *c)
{
	(void)c;
}

static const struct pfl_engine_desc desc = {
	.steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY,
	.connect = noop_connect,
	.mail = noop_args,
	.rcpt = noop_args,
	.header = noop_header,
	.eoh = noop_step,
	.body = noop_body,
	.eom = noop_eom,
	.abort = noop_end,
	.close = noop_end,
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: noop_engine SOCKET\n");
		return 64;
	}
	umask(0);
	if (pfl_engine_listen(argv[1]) < 0) {
		perror(argv[1]);
		return 1;
	}
	return pfl_engine_run(&desc) == 0 ? 0 : 1;
}
