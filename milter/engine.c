/*
 * NAME
 *	engine - the milter protocol: a connection's commands
 * DESCRIPTION
 *	A connection is served by one worker (engine_pool.c) from its first
 *	command to its last, with blocking reads into a buffer that takes
 *	whatever the MTA has sent: the header fields and body chunks the
 *	MTA streams without waiting for answers (the no-reply steps) arrive
 *	in a few reads, and a command costs no poll and no hand-over between
 *	threads.
 *
 *	A broken or malformed stream ends the connection (the MTA applies
 *	its milter_default_action); a message in progress gets the abort
 *	callback first, then the connection the close callback, as with
 *	libmilter.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "engine_private.h"
#include "log.h"
#include "util.h"

#define PROTO_VERSION 6          /* the newest we speak */
#define BUF_START     (4 * 1024) /* input buffer, kept between commands */
#define PACKET_MAX    (4 * 1024 * 1024) /* longest command accepted */
#define MAX_ARGS      64                /* MAIL/RCPT arguments */

/* --- input ------------------------------------------------------------- */

/*
 * next_packet - the next command: its character and data (valid until
 * the next call); 1, 0 at the end of the stream, -1 on an error
 */
static int
next_packet(
    struct pfl_engine_conn *c, int *cmd, unsigned char **data, size_t *dlen)
{
	size_t avail, need, plen;
	ssize_t n;

	for (;;) {
		avail = c->len - c->off;
		need = 4;
		if (avail >= 4) {
			plen = pfl_engine_get32(c->in + c->off);
			if (plen == 0 || plen > PACKET_MAX) {
				pfl_log(PFL_LOG_WARNING,
				    "milter connection: bad command length %zu",
				    plen);
				return -1;
			}
			need = 4 + plen;
			if (avail >= need) {
				*cmd = c->in[c->off + 4];
				*data = c->in + c->off + 5;
				*dlen = plen - 1;
				c->off += need;
				return 1;
			}
		}
		if (avail == 0)
			c->off = c->len = 0;
		else if (c->cap - c->off < need) {
			memmove(c->in, c->in + c->off, avail);
			c->off = 0;
			c->len = avail;
		}
		if (c->cap < need) {
			size_t cap = c->cap * 2;

			while (cap < need)
				cap *= 2;
			c->in = pfl_xrealloc(c->in, cap);
			c->cap = cap;
		}
		n = read(c->fd, c->in + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && avail == 0)
			return 0;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

/*
 * take_str - the NUL-terminated string at *p before end, and move *p
 * past it; NULL when there is none
 */
static char *
take_str(unsigned char **p, const unsigned char *end)
{
	unsigned char *s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	return (char *)s;
}

/* --- the commands -------------------------------------------------------- */

/* negotiate - SMFIC_OPTNEG: grant what is wanted and offered; 0 or -1 */
static int
negotiate(struct pfl_engine_conn *c, const unsigned char *data, size_t dlen)
{
	const struct pfl_engine_desc *d = c->desc;
	uint32_t version, actions, steps;
	size_t at;
	int i;

	if (dlen < 12)
		return -1;
	version = pfl_engine_get32(data);
	actions = pfl_engine_get32(data + 4);
	steps = pfl_engine_get32(data + 8);
	if (version < 2) {
		pfl_log(PFL_LOG_WARNING,
		    "milter connection: protocol version %u is too old",
		    (unsigned)version);
		return -1;
	}
	c->actions = d->actions & actions;
	c->steps = d->steps & steps;
	at = pfl_engine_out_begin(c, SMFIC_OPTNEG);
	pfl_engine_out_add32(
	    c, version < PROTO_VERSION ? version : PROTO_VERSION);
	pfl_engine_out_add32(c, (uint32_t)c->actions);
	pfl_engine_out_add32(c, (uint32_t)c->steps);
	/* the macros wanted at each stage, where the MTA lets us say */
	for (i = 0; i < PFL_ENGINE_M_STAGES; i++) {
		if (!(c->actions & SMFIF_SETSYMLIST) || d->macros[i] == NULL)
			continue;
		pfl_engine_out_add32(c, (uint32_t)i);
		pfl_engine_out_add(c, d->macros[i], strlen(d->macros[i]) + 1);
	}
	pfl_engine_out_end(c, at);
	return pfl_engine_out_flush(c);
}

/*
 * connect_info - SMFIC_CONNECT: host name, family, port, address; the
 * address is given to the callback in inet_ntop's form ("" when it is
 * not an IP address)
 */
static enum pfl_engine_rc
connect_info(struct pfl_engine_conn *c, unsigned char *data, size_t dlen)
{
	unsigned char *p = data, *end = data + dlen;
	char addr[INET6_ADDRSTRLEN] = "", *host, *text;
	unsigned char bin[sizeof(struct in6_addr)];
	int family;

	if ((host = take_str(&p, end)) == NULL || p >= end)
		return PFL_ENGINE_TEMPFAIL;
	family = *p++;
	if (family == SMFIA_INET || family == SMFIA_INET6) {
		int af = family == SMFIA_INET ? AF_INET : AF_INET6;

		p += 2; /* the port */
		if ((text = take_str(&p, end)) == NULL)
			return PFL_ENGINE_TEMPFAIL;
		if (af == AF_INET6 && strncasecmp(text, "IPv6:", 5) == 0)
			text += 5;
		if (inet_pton(af, text, bin) == 1)
			inet_ntop(af, bin, addr, sizeof(addr));
	}
	c->connected = true;
	return c->desc->connect(c, host, addr);
}

/*
 * args - split MAIL's or RCPT's NUL-separated arguments into argv (at
 * most MAX_ARGS); the count, or -1 when there is none
 */
static int
args(unsigned char *data, size_t dlen, char **argv)
{
	unsigned char *p = data, *end = data + dlen;
	char *s;
	int n = 0;

	while (n < MAX_ARGS && (s = take_str(&p, end)) != NULL)
		argv[n++] = s;
	argv[n] = NULL;
	return n > 0 ? n : -1;
}

/*
 * conn_end - the connection (or its part before SMFIC_QUIT_NC) ended;
 * when it broke in a message, the message is aborted first
 */
static void
conn_end(struct pfl_engine_conn *c, bool broke)
{
	if (broke && c->connected && c->in_msg)
		c->desc->abort(c);
	if (c->connected)
		c->desc->close(c);
	c->connected = c->in_msg = false;
	c->priv = NULL;
	free(c->reply);
	c->reply = NULL;
	pfl_engine_mac_clear(c, true);
}

/* envelope - SMFIC_MAIL or SMFIC_RCPT; 0 or -1 */
static int
envelope(struct pfl_engine_conn *c, int cmd, unsigned char *data, size_t dlen)
{
	char *argv[MAX_ARGS + 1];
	enum pfl_engine_rc rc = PFL_ENGINE_TEMPFAIL;

	if (args(data, dlen, argv) < 0)
		return -1;
	if (cmd == SMFIC_MAIL) {
		c->in_msg = true;
		if (c->connected)
			rc = c->desc->mail(c, argv);
		return pfl_engine_step_answer(c, SMFIP_NR_MAIL, rc);
	}
	if (c->connected)
		rc = c->desc->rcpt(c, argv);
	return pfl_engine_step_answer(c, SMFIP_NR_RCPT, rc);
}

/* header - SMFIC_HEADER: name and value; 0 or -1 */
static int
header(struct pfl_engine_conn *c, unsigned char *data, size_t dlen)
{
	unsigned char *p = data;
	enum pfl_engine_rc rc = PFL_ENGINE_TEMPFAIL;
	char *name, *value;

	if ((name = take_str(&p, data + dlen)) == NULL ||
	    (value = take_str(&p, data + dlen)) == NULL)
		return -1;
	if (c->connected)
		rc = c->desc->header(c, name, value);
	return pfl_engine_step_answer(c, SMFIP_NR_HDR, rc);
}

/*
 * end_of_message - SMFIC_BODYEOB: its data to the body callback, then
 * the end-of-message callback, whose actions go out with its answer;
 * 0 or -1
 */
static int
end_of_message(struct pfl_engine_conn *c, unsigned char *data, size_t dlen)
{
	enum pfl_engine_rc rc = PFL_ENGINE_TEMPFAIL;

	if (c->connected)
		rc = dlen > 0 ? c->desc->body(c, data, dlen)
			      : PFL_ENGINE_CONTINUE;
	if (c->connected &&
	    (rc == PFL_ENGINE_CONTINUE || rc == PFL_ENGINE_SKIP)) {
		c->in_eom = true;
		rc = c->desc->eom(c);
		c->in_eom = false;
	}
	c->in_msg = false;
	pfl_engine_answer(c, rc);
	pfl_engine_mac_clear(c, false);
	return pfl_engine_out_flush(c);
}

/* no_callback - the answer to a command that needs no callback */
static int
no_callback(struct pfl_engine_conn *c, unsigned long nr)
{
	return pfl_engine_step_answer(c, nr, PFL_ENGINE_CONTINUE);
}

/*
 * command - carry out one command; 1 to go on, 0 at the end of the
 * connection, -1 on an error
 */
static int
command(struct pfl_engine_conn *c, int cmd, unsigned char *data, size_t dlen)
{
	const struct pfl_engine_desc *d = c->desc;
	int rc;

	switch (cmd) {
	case SMFIC_OPTNEG:
		rc = negotiate(c, data, dlen);
		break;
	case SMFIC_MACRO:
		pfl_engine_mac_set(c, data, dlen);
		return 1;
	case SMFIC_CONNECT:
		rc = pfl_engine_step_answer(
		    c, SMFIP_NR_CONN, connect_info(c, data, dlen));
		break;
	case SMFIC_HELO:
		rc = no_callback(c, SMFIP_NR_HELO);
		break;
	case SMFIC_MAIL:
	case SMFIC_RCPT:
		rc = envelope(c, cmd, data, dlen);
		break;
	case SMFIC_DATA:
		rc = no_callback(c, SMFIP_NR_DATA);
		break;
	case SMFIC_UNKNOWN:
		rc = no_callback(c, SMFIP_NR_UNKN);
		break;
	case SMFIC_HEADER:
		rc = header(c, data, dlen);
		break;
	case SMFIC_EOH:
		rc = pfl_engine_step_answer(c, SMFIP_NR_EOH,
		    c->connected ? d->eoh(c) : PFL_ENGINE_TEMPFAIL);
		break;
	case SMFIC_BODY:
		rc = pfl_engine_step_answer(c, SMFIP_NR_BODY,
		    c->connected ? d->body(c, data, dlen)
				 : PFL_ENGINE_TEMPFAIL);
		break;
	case SMFIC_BODYEOB:
		rc = end_of_message(c, data, dlen);
		break;
	case SMFIC_ABORT:
		if (c->connected)
			d->abort(c);
		c->in_msg = false;
		free(c->reply);
		c->reply = NULL;
		pfl_engine_mac_clear(c, false);
		return 1;
	case SMFIC_QUIT_NC:
		conn_end(c, false);
		return 1;
	case SMFIC_QUIT:
		return 0;
	default:
		pfl_log(PFL_LOG_WARNING,
		    "milter connection: unknown command 0x%02x", cmd & 0xff);
		return -1;
	}
	return rc < 0 ? -1 : 1;
}

/*
 * shrink - give back an input buffer grown for a big command (a body
 * chunk) once it is used up: with a worker per connection, 100 sessions
 * would otherwise each keep 64 KB or more
 */
static void
shrink(struct pfl_engine_conn *c)
{
	if (c->cap <= BUF_START || c->off < c->len)
		return;
	free(c->in);
	c->in = pfl_xmalloc(BUF_START);
	c->cap = BUF_START;
	c->off = c->len = 0;
}

struct pfl_engine_conn *
pfl_engine_conn_new(const struct pfl_engine_desc *desc)
{
	struct pfl_engine_conn *c = pfl_xcalloc(1, sizeof(*c));

	c->desc = desc;
	c->fd = -1;
	c->in = pfl_xmalloc(BUF_START);
	c->cap = BUF_START;
	return c;
}

void
pfl_engine_conn_free(struct pfl_engine_conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

void
pfl_engine_serve(struct pfl_engine_conn *c)
{
	unsigned char *data;
	size_t dlen;
	int cmd, rc = 1;

	/* ends with SMFIC_QUIT (0), or broken: EOF, an error, bad data */
	while (rc > 0 && next_packet(c, &cmd, &data, &dlen) > 0) {
		rc = command(c, cmd, data, dlen);
		shrink(c);
	}
	conn_end(c, rc != 0);
	c->off = c->len = 0;
	c->olen = 0;
	c->actions = c->steps = 0;
	shrink(c);
}
