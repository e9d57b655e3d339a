/*
 * NAME
 *	engine - the milter protocol: socket, connections, commands
 * DESCRIPTION
 *	One thread accepts; a connection is then served by one worker from
 *	its first command to its last, with blocking reads into a buffer
 *	that takes whatever the MTA has sent. The header fields and body
 *	chunks the MTA streams without waiting for answers (the no-reply
 *	steps) therefore arrive in a few reads, and a command costs no poll
 *	and no hand-over between threads. A worker whose connection ended
 *	waits for the next one (up to IDLE_MAX of them wait), so a
 *	connection per message, Postfix's way, costs no thread creation.
 *
 *	Answers are gathered in an output buffer and written once per
 *	command that needs one: at the end of the message, the header
 *	insertions, the quarantine and the final answer go out in one write.
 *	A reply text set by a callback replaces its reject or tempfail when
 *	the classes agree (5xx, 4xx), as libmilter does; it is forgotten
 *	after that command either way.
 *
 *	A read waits at most READ_TIMEOUT for the MTA (libmilter's default),
 *	a write WRITE_TIMEOUT; a broken or malformed stream ends the
 *	connection (the MTA applies its milter_default_action), after the
 *	close callback.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "util.h"

#define PROTO_VERSION 6                 /* the newest we speak */
#define BUF_START     (16 * 1024)       /* input buffer to begin with */
#define BUF_KEEP      (256 * 1024)      /* kept between connections */
#define PACKET_MAX    (4 * 1024 * 1024) /* longest command accepted */
#define REPLY_MAX     980               /* reply text, as libmilter */
#define IDLE_MAX      16                /* workers waiting for a connection */
#define READ_TIMEOUT  7210              /* s the MTA may stay silent */
#define WRITE_TIMEOUT 60                /* s a write may block */
#define STOP_WAIT_MS  5000              /* callbacks may finish at stop */
#define MAX_ARGS      64                /* MAIL/RCPT arguments */

/* The command characters whose macros are kept, in the order searched. */
static const char mac_cmds[] = "ELBNTRMHC";
#define MAC_SLOTS (sizeof(mac_cmds) - 1)

struct pfl_engine_conn {
	int fd;
	unsigned char *in; /* input: [off, len) not yet taken */
	size_t cap, off, len;
	unsigned char *out; /* answers not yet written */
	size_t ocap, olen;
	unsigned long actions, steps; /* granted */
	char *macros[MAC_SLOTS];      /* "name\0value\0..." per command */
	size_t maclen[MAC_SLOTS];
	char *reply;    /* set by a callback, for its answer */
	bool in_eom;    /* the end-of-message callback runs */
	bool connected; /* the connect callback ran: close is owed */
	void *priv;
	struct pfl_engine_conn *next; /* the active list */
};

/* The workers and the connections waiting for one. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a connection queued, or stopping */
	pthread_cond_t gone; /* a worker ended */
	int *queue;
	size_t qhead, qlen, qcap;
	unsigned idle, workers;
	bool stopping;
	struct pfl_engine_conn *active;
	const struct pfl_engine_desc *desc;
	int listen_fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t unix_dev;
	ino_t unix_ino;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
	.listen_fd = -1,
};

/* get32 - a network-order 32-bit number */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* put32 - store a network-order 32-bit number */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* --- output ------------------------------------------------------------ */

/* out_room - make room for n more output bytes */
static unsigned char *
out_room(struct pfl_engine_conn *c, size_t n)
{
	if (c->olen + n > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 256;

		while (cap < c->olen + n)
			cap *= 2;
		c->out = pfl_xrealloc(c->out, cap);
		c->ocap = cap;
	}
	return c->out + c->olen;
}

/*
 * out_packet - queue an answer: cmd, then parts (each n bytes; a NULL
 * part of n 4 is the number num, network order)
 */
static void
out_packet(struct pfl_engine_conn *c, int cmd, const void *a, size_t an,
    const void *b, size_t bn)
{
	unsigned char *p = out_room(c, 5 + an + bn);

	put32(p, (uint32_t)(1 + an + bn));
	p[4] = (unsigned char)cmd;
	if (an)
		memcpy(p + 5, a, an);
	if (bn)
		memcpy(p + 5 + an, b, bn);
	c->olen += 5 + an + bn;
}

/* out_flush - write the queued answers; 0 or -1 */
static int
out_flush(struct pfl_engine_conn *c)
{
	size_t done = 0;
	ssize_t n;

	while (done < c->olen) {
		n = send(c->fd, c->out + done, c->olen - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	c->olen = 0;
	return 0;
}

/*
 * answer - queue the answer for rc (with the reply text set for it, when
 * the classes agree) and forget the reply text
 */
static void
answer(struct pfl_engine_conn *c, enum pfl_engine_rc rc)
{
	char *reply = c->reply;
	int cmd;

	c->reply = NULL;
	switch (rc) {
	case PFL_ENGINE_ACCEPT:
		cmd = SMFIR_ACCEPT;
		break;
	case PFL_ENGINE_REJECT:
		cmd = SMFIR_REJECT;
		break;
	case PFL_ENGINE_TEMPFAIL:
		cmd = SMFIR_TEMPFAIL;
		break;
	case PFL_ENGINE_SKIP:
		cmd = (c->steps & SMFIP_SKIP) ? SMFIR_SKIP : SMFIR_CONTINUE;
		break;
	default:
		cmd = SMFIR_CONTINUE;
	}
	if (reply != NULL &&
	    ((cmd == SMFIR_REJECT && reply[0] == '5') ||
		(cmd == SMFIR_TEMPFAIL && reply[0] == '4')))
		out_packet(
		    c, SMFIR_REPLYCODE, reply, strlen(reply) + 1, NULL, 0);
	else
		out_packet(c, cmd, NULL, 0, NULL, 0);
	free(reply);
}

/*
 * step_answer - answer a step unless the MTA agreed not to wait for it
 * (nr: its SMFIP_NR_* bit); 0 or -1
 */
static int
step_answer(struct pfl_engine_conn *c, unsigned long nr, enum pfl_engine_rc rc)
{
	if (c->steps & nr) {
		free(c->reply);
		c->reply = NULL;
		return 0;
	}
	answer(c, rc);
	return out_flush(c);
}

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
			plen = get32(c->in + c->off);
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

/* --- macros ------------------------------------------------------------ */

/* mac_slot - the slot of a command's macros, or -1 */
static int
mac_slot(int cmd)
{
	const char *p = cmd ? strchr(mac_cmds, cmd) : NULL;

	return p ? (int)(p - mac_cmds) : -1;
}

/* mac_clear - forget the macros of slots from..MAC_SLOTS-1 */
static void
mac_clear_slot(struct pfl_engine_conn *c, int slot)
{
	free(c->macros[slot]);
	c->macros[slot] = NULL;
	c->maclen[slot] = 0;
}

/*
 * mac_message_clear - forget the macros of a message (those sent for
 * MAIL and later commands), at its start and end
 */
static void
mac_message_clear(struct pfl_engine_conn *c)
{
	int slot;

	for (slot = 0; slot <= mac_slot(SMFIC_MAIL); slot++)
		mac_clear_slot(c, slot);
}

/* mac_set - keep the macros sent for a command ("cmd name\0value\0...") */
static void
mac_set(struct pfl_engine_conn *c, const unsigned char *data, size_t dlen)
{
	int slot;
	size_t i;

	if (dlen < 1 || (slot = mac_slot(data[0])) < 0)
		return;
	if (data[0] == SMFIC_CONNECT) {
		for (i = 0; i < MAC_SLOTS; i++)
			mac_clear_slot(c, (int)i);
	} else if (data[0] == SMFIC_MAIL)
		mac_message_clear(c);
	else
		mac_clear_slot(c, slot);
	c->macros[slot] = pfl_xmalloc(dlen);
	memcpy(c->macros[slot], data + 1, dlen - 1);
	c->macros[slot][dlen - 1] = '\0';
	c->maclen[slot] = dlen - 1;
}

/*
 * same_name - does a macro name match what was asked; "i" and "{i}" are
 * one name
 */
static bool
same_name(const char *have, const char *want)
{
	size_t hl = strlen(have), wl = strlen(want);

	if (hl == wl)
		return memcmp(have, want, hl) == 0;
	if (hl == wl + 2 && have[0] == '{' && have[hl - 1] == '}')
		return memcmp(have + 1, want, wl) == 0;
	if (wl == hl + 2 && want[0] == '{' && want[wl - 1] == '}')
		return memcmp(want + 1, have, hl) == 0;
	return false;
}

const char *
pfl_engine_symval(const struct pfl_engine_conn *c, const char *name)
{
	size_t slot;

	for (slot = 0; slot < MAC_SLOTS; slot++) {
		const char *p = c->macros[slot], *end = p + c->maclen[slot];

		if (p == NULL)
			continue;
		while (p < end) {
			const char *name_at = p, *value;

			value = name_at + strlen(name_at) + 1;
			if (value >= end)
				break;
			if (same_name(name_at, name))
				return value;
			p = value + strlen(value) + 1;
		}
	}
	return NULL;
}

/* --- what a callback may do --------------------------------------------- */

void
pfl_engine_setpriv(struct pfl_engine_conn *c, void *priv)
{
	c->priv = priv;
}

void *
pfl_engine_getpriv(const struct pfl_engine_conn *c)
{
	return c->priv;
}

bool
pfl_engine_granted(const struct pfl_engine_conn *c, unsigned long steps)
{
	return (c->steps & steps) == steps;
}

/* enhanced - is s an enhanced status code of class cls ("5.7.1")? */
static bool
enhanced(const char *s, char cls)
{
	int part, digits;

	if (s[0] != cls || s[1] != '.')
		return false;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits < 1 || digits > 3)
			return false;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

int
pfl_engine_setreply(struct pfl_engine_conn *c, const char *rcode,
    const char *xcode, const char *text)
{
	size_t len;

	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') || rcode[1] < '0' ||
	    rcode[1] > '9' || rcode[2] < '0' || rcode[2] > '9')
		return -1;
	if (xcode != NULL && !enhanced(xcode, rcode[0]))
		return -1;
	if (text != NULL &&
	    (strpbrk(text, "\r\n") != NULL || strlen(text) > REPLY_MAX))
		return -1;
	len = 4 + (xcode ? strlen(xcode) + 1 : 0) + (text ? strlen(text) : 0);
	free(c->reply);
	c->reply = pfl_xmalloc(len + 1);
	snprintf(c->reply, len + 1, "%s%s%s%s%s", rcode,
	    xcode || text ? " " : "", xcode ? xcode : "",
	    xcode && text ? " " : "", text ? text : "");
	return 0;
}

int
pfl_engine_insheader(struct pfl_engine_conn *c, unsigned idx, const char *name,
    const char *value)
{
	unsigned char num[4];
	size_t nl, vl;
	unsigned char *p;

	if (!c->in_eom || !(c->actions & SMFIF_ADDHDRS) || name == NULL ||
	    value == NULL)
		return -1;
	nl = strlen(name) + 1;
	vl = strlen(value) + 1;
	put32(num, idx);
	p = out_room(c, 9 + nl + vl);
	put32(p, (uint32_t)(5 + nl + vl));
	p[4] = SMFIR_INSHEADER;
	memcpy(p + 5, num, 4);
	memcpy(p + 9, name, nl);
	memcpy(p + 9 + nl, value, vl);
	c->olen += 9 + nl + vl;
	return 0;
}

int
pfl_engine_quarantine(struct pfl_engine_conn *c, const char *reason)
{
	if (!c->in_eom || !(c->actions & SMFIF_QUARANTINE) || reason == NULL ||
	    *reason == '\0')
		return -1;
	out_packet(c, SMFIR_QUARANTINE, reason, strlen(reason) + 1, NULL, 0);
	return 0;
}

/* --- the commands -------------------------------------------------------- */

/* negotiate - SMFIC_OPTNEG: grant what is wanted and offered; 0 or -1 */
static int
negotiate(struct pfl_engine_conn *c, const unsigned char *data, size_t dlen)
{
	const struct pfl_engine_desc *d = pool.desc;
	uint32_t version, actions, steps;
	unsigned char words[12], stage[4];
	int i;

	if (dlen < 12)
		return -1;
	version = get32(data);
	actions = get32(data + 4);
	steps = get32(data + 8);
	if (version < 2) {
		pfl_log(PFL_LOG_WARNING,
		    "milter connection: protocol version %u is too old",
		    (unsigned)version);
		return -1;
	}
	c->actions = d->actions & actions;
	c->steps = d->steps & steps;
	put32(words, version < PROTO_VERSION ? version : PROTO_VERSION);
	put32(words + 4, (uint32_t)c->actions);
	put32(words + 8, (uint32_t)c->steps);
	if (!(c->actions & SMFIF_SETSYMLIST)) {
		out_packet(c, SMFIC_OPTNEG, words, 12, NULL, 0);
		return out_flush(c);
	}
	{
		size_t n = 12;
		unsigned char *p;

		for (i = 0; i < PFL_ENGINE_M_STAGES; i++)
			if (d->macros[i] != NULL)
				n += 4 + strlen(d->macros[i]) + 1;
		p = out_room(c, 5 + n);
		put32(p, (uint32_t)(1 + n));
		p[4] = SMFIC_OPTNEG;
		memcpy(p + 5, words, 12);
		p += 17;
		for (i = 0; i < PFL_ENGINE_M_STAGES; i++) {
			size_t ml;

			if (d->macros[i] == NULL)
				continue;
			ml = strlen(d->macros[i]) + 1;
			put32(stage, (uint32_t)i);
			memcpy(p, stage, 4);
			memcpy(p + 4, d->macros[i], ml);
			p += 4 + ml;
		}
		c->olen += 5 + n;
	}
	return out_flush(c);
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
	return pool.desc->connect(c, host, addr);
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

/* conn_end - the connection (or its part before SMFIC_QUIT_NC) ended */
static void
conn_end(struct pfl_engine_conn *c)
{
	size_t i;

	if (c->connected)
		pool.desc->close(c);
	c->connected = false;
	c->priv = NULL;
	free(c->reply);
	c->reply = NULL;
	for (i = 0; i < MAC_SLOTS; i++)
		mac_clear_slot(c, (int)i);
}

/*
 * command - carry out one command; 1 to go on, 0 at the end of the
 * connection, -1 on an error
 */
static int
command(struct pfl_engine_conn *c, int cmd, unsigned char *data, size_t dlen)
{
	const struct pfl_engine_desc *d = pool.desc;
	char *argv[MAX_ARGS + 1], *name, *value;
	unsigned char *p = data;
	enum pfl_engine_rc rc;

	switch (cmd) {
	case SMFIC_OPTNEG:
		return negotiate(c, data, dlen) < 0 ? -1 : 1;
	case SMFIC_MACRO:
		mac_set(c, data, dlen);
		return 1;
	case SMFIC_CONNECT:
		rc = connect_info(c, data, dlen);
		return step_answer(c, SMFIP_NR_CONN, rc) < 0 ? -1 : 1;
	case SMFIC_HELO:
		return step_answer(c, SMFIP_NR_HELO, PFL_ENGINE_CONTINUE) < 0
		    ? -1
		    : 1;
	case SMFIC_MAIL:
	case SMFIC_RCPT:
		if (args(data, dlen, argv) < 0)
			return -1;
		if (!c->connected)
			rc = PFL_ENGINE_TEMPFAIL;
		else
			rc = cmd == SMFIC_MAIL ? d->mail(c, argv)
					       : d->rcpt(c, argv);
		return step_answer(c,
			   cmd == SMFIC_MAIL ? SMFIP_NR_MAIL : SMFIP_NR_RCPT,
			   rc) < 0
		    ? -1
		    : 1;
	case SMFIC_DATA:
		return step_answer(c, SMFIP_NR_DATA, PFL_ENGINE_CONTINUE) < 0
		    ? -1
		    : 1;
	case SMFIC_UNKNOWN:
		return step_answer(c, SMFIP_NR_UNKN, PFL_ENGINE_CONTINUE) < 0
		    ? -1
		    : 1;
	case SMFIC_HEADER:
		if ((name = take_str(&p, data + dlen)) == NULL ||
		    (value = take_str(&p, data + dlen)) == NULL)
			return -1;
		rc = c->connected ? d->header(c, name, value)
				  : PFL_ENGINE_TEMPFAIL;
		return step_answer(c, SMFIP_NR_HDR, rc) < 0 ? -1 : 1;
	case SMFIC_EOH:
		rc = c->connected ? d->eoh(c) : PFL_ENGINE_TEMPFAIL;
		return step_answer(c, SMFIP_NR_EOH, rc) < 0 ? -1 : 1;
	case SMFIC_BODY:
		rc =
		    c->connected ? d->body(c, data, dlen) : PFL_ENGINE_TEMPFAIL;
		return step_answer(c, SMFIP_NR_BODY, rc) < 0 ? -1 : 1;
	case SMFIC_BODYEOB:
		rc = PFL_ENGINE_CONTINUE;
		if (!c->connected)
			rc = PFL_ENGINE_TEMPFAIL;
		else if (dlen > 0)
			rc = d->body(c, data, dlen);
		if (rc == PFL_ENGINE_CONTINUE || rc == PFL_ENGINE_SKIP) {
			c->in_eom = true;
			rc = d->eom(c);
			c->in_eom = false;
		}
		answer(c, rc);
		mac_message_clear(c);
		return out_flush(c) < 0 ? -1 : 1;
	case SMFIC_ABORT:
		if (c->connected)
			d->abort(c);
		free(c->reply);
		c->reply = NULL;
		mac_message_clear(c);
		return 1;
	case SMFIC_QUIT_NC:
		conn_end(c);
		return 1;
	case SMFIC_QUIT:
		return 0;
	default:
		pfl_log(PFL_LOG_WARNING,
		    "milter connection: unknown command 0x%02x", cmd & 0xff);
		return -1;
	}
}

/* serve - carry out a connection's commands until it ends */
static void
serve(struct pfl_engine_conn *c)
{
	unsigned char *data;
	size_t dlen;
	int cmd, rc;

	do {
		if ((rc = next_packet(c, &cmd, &data, &dlen)) <= 0)
			break;
		rc = command(c, cmd, data, dlen);
	} while (rc > 0);
	conn_end(c);
	c->off = c->len = 0;
	c->olen = 0;
	if (c->cap > BUF_KEEP) {
		free(c->in);
		c->in = pfl_xmalloc(BUF_START);
		c->cap = BUF_START;
	}
}

/* --- workers -------------------------------------------------------------- */

/* timeouts - bound a connection's reads and writes */
static void
timeouts(int fd)
{
	struct timeval rt = { READ_TIMEOUT, 0 }, wt = { WRITE_TIMEOUT, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof(wt));
}

/* worker - serve queued connections; wait for more while few others do */
static void *
worker(void *arg)
{
	struct pfl_engine_conn *c = pfl_xcalloc(1, sizeof(*c)), **pp;

	(void)arg;
	c->in = pfl_xmalloc(BUF_START);
	c->cap = BUF_START;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.qlen == 0 && !pool.stopping) {
			pool.idle++;
			pthread_cond_wait(&pool.work, &pool.lock);
			pool.idle--;
		}
		if (pool.stopping)
			break;
		c->fd = pool.queue[pool.qhead];
		pool.qhead = (pool.qhead + 1) % pool.qcap;
		pool.qlen--;
		c->next = pool.active;
		pool.active = c;
		pthread_mutex_unlock(&pool.lock);

		timeouts(c->fd);
		serve(c);

		pthread_mutex_lock(&pool.lock);
		for (pp = &pool.active; *pp != c; pp = &(*pp)->next)
			;
		*pp = c->next;
		close(c->fd);
		if (pool.idle >= IDLE_MAX && pool.qlen == 0)
			break;
	}
	pool.workers--;
	pthread_cond_broadcast(&pool.gone);
	pthread_mutex_unlock(&pool.lock);
	free(c->in);
	free(c->out);
	free(c);
	return NULL;
}

/* hand_over - queue an accepted connection for a worker */
static void
hand_over(int fd)
{
	pthread_attr_t attr;
	pthread_t tid;

	pthread_mutex_lock(&pool.lock);
	if (pool.stopping) {
		pthread_mutex_unlock(&pool.lock);
		close(fd);
		return;
	}
	if (pool.qlen == pool.qcap) {
		size_t cap = pool.qcap ? pool.qcap * 2 : 64, i;
		int *q = pfl_xmalloc(cap * sizeof(*q));

		for (i = 0; i < pool.qlen; i++)
			q[i] = pool.queue[(pool.qhead + i) % pool.qcap];
		free(pool.queue);
		pool.queue = q;
		pool.qcap = cap;
		pool.qhead = 0;
	}
	pool.queue[(pool.qhead + pool.qlen) % pool.qcap] = fd;
	pool.qlen++;
	if (pool.idle >= pool.qlen) {
		pthread_cond_signal(&pool.work);
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, worker, NULL) == 0)
		pool.workers++;
	else if (pool.workers == 0) {
		/* nobody to serve it: the MTA sees the milter unavailable */
		pfl_log(
		    PFL_LOG_ERR, "milter connection: cannot start a thread");
		pool.qlen--;
		close(fd);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&pool.lock);
}

int
pfl_engine_run(const struct pfl_engine_desc *desc)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int fd, lfd = pool.listen_fd, rc = 0;

	pool.desc = desc;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (__atomic_load_n(&pool.stopping, __ATOMIC_ACQUIRE)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd >= 0) {
			hand_over(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			pfl_log(PFL_LOG_WARNING, "milter socket: accept: %s",
			    strerror(errno));
			nanosleep(&pause, NULL);
			continue;
		}
		pfl_log(
		    PFL_LOG_ERR, "milter socket: accept: %s", strerror(errno));
		rc = -1;
		break;
	}
	close(lfd);
	pool.listen_fd = -1;
	return rc;
}

/* unlink_ours - remove the unix socket file if it is still the one made */
static void
unlink_ours(void)
{
	struct stat st;

	if (pool.unix_path[0] == '\0' || lstat(pool.unix_path, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode) && st.st_dev == pool.unix_dev &&
	    st.st_ino == pool.unix_ino)
		(void)unlink(pool.unix_path);
}

void
pfl_engine_stop(void)
{
	struct pfl_engine_conn *c;
	struct timespec until;

	pthread_mutex_lock(&pool.lock);
	__atomic_store_n(&pool.stopping, true, __ATOMIC_RELEASE);
	if (pool.listen_fd >= 0)
		(void)shutdown(pool.listen_fd, SHUT_RDWR);
	for (c = pool.active; c != NULL; c = c->next)
		(void)shutdown(c->fd, SHUT_RDWR);
	while (pool.qlen > 0) {
		close(pool.queue[pool.qhead]);
		pool.qhead = (pool.qhead + 1) % pool.qcap;
		pool.qlen--;
	}
	pthread_cond_broadcast(&pool.work);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_MS / 1000;
	while (pool.workers > 0 &&
	    pthread_cond_timedwait(&pool.gone, &pool.lock, &until) == 0)
		;
	if (pool.workers > 0)
		pfl_log(PFL_LOG_WARNING,
		    "stopping with %u milter connections still busy",
		    pool.workers);
	else {
		free(pool.queue);
		pool.queue = NULL;
		pool.qcap = 0;
	}
	pthread_mutex_unlock(&pool.lock);
	unlink_ours();
}

/* --- the listening socket ------------------------------------------------ */

/* listen_unix - a unix socket at path; fd or -1 */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (pfl_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a stale socket is removed; any other file is left alone */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, SOMAXCONN) < 0 || stat(path, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	memcpy(pool.unix_path, sun.sun_path, sizeof(pool.unix_path));
	pool.unix_dev = st.st_dev;
	pool.unix_ino = st.st_ino;
	return fd;
}

/* listen_inet - a TCP socket of family on port at host (NULL: any) */
static int
listen_inet(int family, unsigned port, const char *host)
{
	struct addrinfo hints, *res = NULL;
	char name[256], service[8];
	int fd = -1, on = 1, e;
	size_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (host != NULL) {
		/* "[::1]" as well as "::1" */
		len = strlen(host);
		if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
			host++, len -= 2;
		if (len >= sizeof(name)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, host, len);
		name[len] = '\0';
		host = name;
	}
	snprintf(service, sizeof(service), "%u", port);
	if ((e = getaddrinfo(host, service, &hints, &res)) != 0) {
		pfl_log(PFL_LOG_ERR, "milter socket: %s: %s", host ? host : "*",
		    gai_strerror(e));
		errno = EADDRNOTAVAIL;
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
		listen(fd, SOMAXCONN) < 0)) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	return fd;
}

int
pfl_engine_listen(const char *spec)
{
	unsigned port;
	int family, fd;
	const char *at;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		fd = listen_unix(strchr(spec, ':') + 1);
	else if (pfl_daemon_inet_spec(spec, &family, &port) == 0) {
		at = strchr(spec, '@');
		fd = listen_inet(family, port, at ? at + 1 : NULL);
	} else {
		errno = EINVAL;
		return -1;
	}
	if (fd >= 0)
		pool.listen_fd = fd;
	return fd;
}
