/*
 * fuzz_engine - libFuzzer target: the milter protocol engine
 * (pfl_engine_serve) on what an MTA sends
 *
 * The input is the byte stream of one milter connection. It is written
 * into one end of a socketpair by a writer thread, whose end is then
 * shut down for writing; a drain thread reads and discards the answers
 * so that the engine never blocks; the engine serves the other end on
 * the fuzzer's thread until the stream ends.
 *
 * The callbacks use what the API gives a filter on hostile data:
 * macros by fixed names and by names from the input, a private object
 * (set in connect, freed in close: the sanitizers see a leak or a double
 * free), reply texts from RCPT's argument (CR, LF and over-long text
 * must be refused), header insertion and quarantine at the end of the
 * message. The answers depend on the input's bytes.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz).
 */
#include <autoconfig.h>

#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "engine.h"
#include "engine_private.h"

#define INPUT_MAX (256 * 1024)
#define REPLY_MAX 980 /* what pfl_engine_setreply takes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The private object of a connection. */
struct priv {
	char *host;      /* from connect */
	unsigned seed;   /* mixed from the input, picks answers */
	unsigned events; /* callbacks seen */
};

/* The writer thread's job. */
struct feed {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* pick - an answer from a byte */
static enum pfl_engine_rc
pick(unsigned v)
{
	static const enum pfl_engine_rc rcs[] = { PFL_ENGINE_CONTINUE,
		PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, PFL_ENGINE_ACCEPT,
		PFL_ENGINE_REJECT, PFL_ENGINE_TEMPFAIL, PFL_ENGINE_SKIP,
		PFL_ENGINE_CONTINUE };

	return rcs[v % (sizeof(rcs) / sizeof(rcs[0]))];
}

/* mix - fold a string into a seed */
static unsigned
mix(unsigned seed, const char *s)
{
	while (*s != '\0')
		seed = seed * 31 + (unsigned char)*s++;
	return seed;
}

/* macros - look macros up; a value must be a string (strlen reads it) */
static unsigned
macros(struct pfl_engine_conn *c, const char *extra)
{
	static const char *names[] = { "i", "{i}", "j", "{daemon_name}",
		"{mail_addr}", "{rcpt_addr}", "_", "{", "{}", "" };
	const char *v;
	unsigned n = 0;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((v = pfl_engine_symval(c, names[i])) != NULL)
			n += (unsigned)strlen(v);
	if (extra != NULL && (v = pfl_engine_symval(c, extra)) != NULL)
		n += (unsigned)strlen(v);
	return n;
}

/* get - the connection's object; there is one after connect */
static struct priv *
get(struct pfl_engine_conn *c)
{
	struct priv *p = pfl_engine_getpriv(c);

	if (p == NULL)
		__builtin_trap();
	p->events++;
	return p;
}

/*
 * fz_connect - the connect callback: a new object (a second connect
 * without QUIT_NC replaces the first)
 */
static enum pfl_engine_rc
fz_connect(struct pfl_engine_conn *c, const char *host, const char *addr)
{
	struct priv *p = pfl_engine_getpriv(c);

	if (p != NULL) {
		free(p->host);
		free(p);
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->host = strdup(host)) == NULL)
		abort();
	p->seed = mix(mix(0, host), addr);
	pfl_engine_setpriv(c, p);
	p->seed += macros(c, host);
	return pick(p->seed >> 3);
}

/* fz_mail - MAIL: macros, an answer from the sender */
static enum pfl_engine_rc
fz_mail(struct pfl_engine_conn *c, char **argv)
{
	struct priv *p = get(c);

	p->seed = mix(p->seed, argv[0]) + macros(c, argv[0]);
	return pick(p->seed >> 5);
}

/* fz_rcpt - RCPT: a reply text from the recipient */
static enum pfl_engine_rc
fz_rcpt(struct pfl_engine_conn *c, char **argv)
{
	struct priv *p = get(c);
	const char *text = argv[0];
	bool bad = strpbrk(text, "\r\n") != NULL || strlen(text) > REPLY_MAX;
	int r;

	p->seed = mix(p->seed, text) + macros(c, argv[1]);
	switch (p->seed % 4) {
	case 0:
		r = pfl_engine_setreply(c, "550", "5.7.1", text);
		break;
	case 1:
		r = pfl_engine_setreply(c, "451", NULL, text);
		break;
	case 2:
		r = pfl_engine_setreply(c, "550", "4.7.1", text);
		if (r == 0)
			__builtin_trap(); /* the classes differ */
		return PFL_ENGINE_REJECT;
	default:
		/* reply text of one class, answer of the other */
		r = pfl_engine_setreply(c, "421", "4.3.2", text);
		if (r == 0 && !bad)
			return PFL_ENGINE_REJECT;
		break;
	}
	if (bad && r == 0)
		__builtin_trap();
	if (!bad && r != 0)
		__builtin_trap();
	return pick(p->seed >> 2);
}

/* fz_header - a header field: its name as a macro name */
static enum pfl_engine_rc
fz_header(struct pfl_engine_conn *c, const char *name, const char *value)
{
	struct priv *p = get(c);

	p->seed = mix(mix(p->seed, name), value) + macros(c, name);
	return (p->seed & 0x70) == 0x70 ? pick(p->seed) : PFL_ENGINE_CONTINUE;
}

/* fz_eoh - the end of the header */
static enum pfl_engine_rc
fz_eoh(struct pfl_engine_conn *c)
{
	struct priv *p = get(c);

	return (p->seed & 0x300) == 0x300 ? pick(p->seed >> 4)
					  : PFL_ENGINE_CONTINUE;
}

/* fz_body - a body chunk: skip the rest sometimes */
static enum pfl_engine_rc
fz_body(struct pfl_engine_conn *c, const unsigned char *buf, size_t len)
{
	struct priv *p = get(c);

	if (len == 0)
		return PFL_ENGINE_CONTINUE; /* a BODY command may be empty */
	p->seed = p->seed * 31 + buf[0] + buf[len - 1] + (unsigned)len;
	if (buf[0] == 'S')
		return PFL_ENGINE_SKIP;
	return (p->seed & 0xc00) == 0xc00 ? pick(p->seed >> 1)
					  : PFL_ENGINE_CONTINUE;
}

/* fz_eom - the end of the message: insert, quarantine, answer */
static enum pfl_engine_rc
fz_eom(struct pfl_engine_conn *c)
{
	struct priv *p = get(c);
	bool hdrs = c->actions & SMFIF_ADDHDRS,
	     quar = c->actions & SMFIF_QUARANTINE;
	const char *i = pfl_engine_symval(c, "i");

	macros(c, p->host);
	if ((pfl_engine_insheader(c, 0, "X-Fuzz", p->host) == 0) != hdrs)
		__builtin_trap();
	if ((pfl_engine_insheader(c, p->seed % 7, "X-Queue-ID",
		 i != NULL ? i : "none") == 0) != hdrs)
		__builtin_trap();
	if (p->seed & 1) {
		if (pfl_engine_quarantine(c, "") == 0)
			__builtin_trap();
		if ((pfl_engine_quarantine(c, p->host[0] ? p->host : "x") ==
			0) != quar)
			__builtin_trap();
	}
	if (p->seed & 2)
		pfl_engine_setreply(c, "554", "5.7.0", p->host);
	return pick(p->seed >> 7);
}

/* fz_abort - the message is aborted */
static void
fz_abort(struct pfl_engine_conn *c)
{
	struct priv *p = get(c);

	p->seed ^= 0x55;
}

/* fz_close - the connection ends: free the object */
static void
fz_close(struct pfl_engine_conn *c)
{
	struct priv *p = get(c);

	/* outside the callbacks that may, these must refuse */
	if (pfl_engine_insheader(c, 0, "X-Late", "1") == 0 ||
	    pfl_engine_quarantine(c, "late") == 0)
		__builtin_trap();
	free(p->host);
	free(p);
	pfl_engine_setpriv(c, NULL);
}

static const struct pfl_engine_desc desc = {
	.actions = SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
	.steps = SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_SKIP |
	    SMFIP_NOUNKNOWN | SMFIP_NR_HELO | SMFIP_NR_DATA,
	.macros = {
	    [PFL_ENGINE_M_CONNECT] = "j {daemon_name} _",
	    [PFL_ENGINE_M_MAIL] = "i {mail_addr} {auth_authen}",
	    [PFL_ENGINE_M_RCPT] = "{rcpt_addr}",
	    [PFL_ENGINE_M_EOM] = "i",
	},
	.connect = fz_connect,
	.mail = fz_mail,
	.rcpt = fz_rcpt,
	.header = fz_header,
	.eoh = fz_eoh,
	.body = fz_body,
	.eom = fz_eom,
	.abort = fz_abort,
	.close = fz_close,
};

/* writer - write the input, then end the MTA's side */
static void *
writer(void *arg)
{
	struct feed *f = arg;
	size_t done = 0;
	ssize_t n;

	while (done < f->size) {
		n = send(f->fd, f->data + done, f->size - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the engine closed its end */
		done += (size_t)n;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

/* drain - read and drop the answers until the engine's end closes */
static void *
drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfl_engine_conn *c;
	struct feed f;
	pthread_t wt, dt;
	int sv[2];

	if (size > INPUT_MAX)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	f.fd = sv[1];
	f.data = data;
	f.size = size;
	if (pthread_create(&wt, NULL, writer, &f) != 0 ||
	    pthread_create(&dt, NULL, drain, &sv[1]) != 0)
		abort();
	c = pfl_engine_conn_new(&desc);
	c->fd = sv[0];
	pfl_engine_serve(c);
	if (pfl_engine_getpriv(c) != NULL)
		__builtin_trap(); /* close ran, or connect never did */
	close(sv[0]);
	pthread_join(wt, NULL);
	pthread_join(dt, NULL);
	close(sv[1]);
	pfl_engine_conn_free(c);
	return 0;
}
