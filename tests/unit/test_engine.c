/*
 * test_engine - the milter protocol engine, spoken to as the MTA would
 *
 * One engine serves the whole program (its state is static and
 * pfl_engine_stop works once): the group setup starts pfl_engine_run on
 * a thread over a unix socket, the group teardown stops it. Each test
 * opens its own connections and writes raw milter packets (4-byte
 * network-order length counting the command byte, command, data). The
 * callbacks write what they get to an event log, one line per call,
 * which the tests compare; what the callbacks answer is set per test.
 */
#include <autoconfig.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libmilter/mfapi.h>

#include "engine.h"
#include "log.h"

#define WANT_ACTIONS                                                           \
	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
#define WANT_STEPS                                                             \
	(SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_SKIP |            \
	    SMFIP_NOUNKNOWN)
#define ALL_ACTIONS 0x1ffUL
#define ALL_STEPS   0x1fffffUL
#define BIG_LEN     (200 * 1024)
#define NCONN       20
#define NHEADERS    26000 /* 598 KB: more than the buffer a worker keeps */

/* --- the event log and what the callbacks answer -------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	char *text; /* one line per callback */
	size_t len, cap;
	size_t lines;      /* in text */
	const char *names; /* macros each callback looks up */
	enum pfl_engine_rc body_rc, eom_rc;
	bool eom_insheader, eom_quarantine;
} ev = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

/* ev_reset - an empty log and callbacks that continue */
static int
ev_reset(void **state)
{
	pthread_mutex_lock(&ev.lock);
	ev.len = ev.lines = 0;
	if (ev.text)
		ev.text[0] = '\0';
	ev.names = "";
	ev.body_rc = ev.eom_rc = PFL_ENGINE_CONTINUE;
	ev.eom_insheader = ev.eom_quarantine = false;
	pthread_mutex_unlock(&ev.lock);
	return 0;
}

/* ev_add - append a line to the log */
static void
ev_add(const char *line)
{
	size_t n = strlen(line);

	pthread_mutex_lock(&ev.lock);
	if (ev.len + n + 2 > ev.cap) {
		ev.cap = (ev.len + n + 2) * 2;
		ev.text = realloc(ev.text, ev.cap);
		if (ev.text == NULL)
			abort();
	}
	memcpy(ev.text + ev.len, line, n);
	ev.len += n;
	ev.text[ev.len++] = '\n';
	ev.text[ev.len] = '\0';
	ev.lines++;
	pthread_cond_broadcast(&ev.changed);
	pthread_mutex_unlock(&ev.lock);
}

/* count_of - how often needle is in the log; the lock is held */
static int
count_of(const char *needle)
{
	const char *p = ev.text;
	int n = 0;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* wait_log - wait up to 5 s for needle to be in the log n times; the count */
static int
wait_log(const char *needle, int n)
{
	struct timespec until;
	int have;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&ev.lock);
	while ((have = count_of(needle)) < n &&
	    pthread_cond_timedwait(&ev.changed, &ev.lock, &until) == 0)
		;
	pthread_mutex_unlock(&ev.lock);
	return have;
}

/* wait_lines - wait up to 5 s for n lines in the log; how many there are */
static size_t
wait_lines(size_t n)
{
	struct timespec until;
	size_t have;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&ev.lock);
	while (ev.lines < n &&
	    pthread_cond_timedwait(&ev.changed, &ev.lock, &until) == 0)
		;
	have = ev.lines;
	pthread_mutex_unlock(&ev.lock);
	return have;
}

/* expect_log - the log is want; empty it */
static void
expect_log(const char *want)
{
	size_t at, line = 0;
	char *have;

	pthread_mutex_lock(&ev.lock);
	have = strdup(ev.text ? ev.text : "");
	ev.len = ev.lines = 0;
	if (ev.text)
		ev.text[0] = '\0';
	pthread_mutex_unlock(&ev.lock);
	assert_non_null(have);
	for (at = 0; have[at] != '\0' && have[at] == want[at]; at++)
		if (have[at] == '\n')
			line = at + 1;
	if (have[at] != want[at])
		fail_msg("log differs at byte %zu:\n%.300s\nwanted:\n%.300s",
		    at, have + line, want + line);
	free(have);
}

/* set_names - the macros the callbacks look up from now on */
static void
set_names(const char *names)
{
	pthread_mutex_lock(&ev.lock);
	ev.names = names;
	pthread_mutex_unlock(&ev.lock);
}

/* set_answers - what the body and end-of-message callbacks do */
static void
set_answers(enum pfl_engine_rc body_rc, enum pfl_engine_rc eom_rc,
    bool insheader, bool quarantine)
{
	pthread_mutex_lock(&ev.lock);
	ev.body_rc = body_rc;
	ev.eom_rc = eom_rc;
	ev.eom_insheader = insheader;
	ev.eom_quarantine = quarantine;
	pthread_mutex_unlock(&ev.lock);
}

/* --- the filter ----------------------------------------------------------- */

struct conn_priv {
	char host[64];
};

struct line {
	char buf[1024];
	size_t len;
};

/* line_add - append printf-style text to a log line */
static void __attribute__((format(printf, 2, 3)))
line_add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= sizeof(l->buf))
		l->len = sizeof(l->buf) - 1;
}

/* line_end - add the macros asked for and log the line */
static void
line_end(struct pfl_engine_conn *c, struct line *l)
{
	char names[256], *name, *save;
	const char *value;

	pthread_mutex_lock(&ev.lock);
	snprintf(names, sizeof(names), "%s", ev.names);
	pthread_mutex_unlock(&ev.lock);
	for (name = strtok_r(names, " ", &save); name != NULL;
	     name = strtok_r(NULL, " ", &save)) {
		value = pfl_engine_symval(c, name);
		line_add(l, " %s=%s", name, value ? value : "(none)");
	}
	ev_add(l->buf);
}

/* line_argv - "what arg arg ..." */
static void
line_argv(struct line *l, const char *what, char **argv)
{
	line_add(l, "%s", what);
	for (; *argv != NULL; argv++)
		line_add(l, " %s", *argv);
}

/* cb_connect - log the client; priv names it */
static enum pfl_engine_rc
cb_connect(struct pfl_engine_conn *c, const char *host, const char *addr)
{
	struct conn_priv *p = calloc(1, sizeof(*p));
	struct line l = { .len = 0 };

	if (p == NULL)
		abort();
	snprintf(p->host, sizeof(p->host), "%s", host);
	pfl_engine_setpriv(c, p);
	line_add(&l, "connect %s [%s]", host, addr);
	line_end(c, &l);
	return PFL_ENGINE_CONTINUE;
}

/* cb_mail - log the arguments */
static enum pfl_engine_rc
cb_mail(struct pfl_engine_conn *c, char **argv)
{
	struct line l = { .len = 0 };

	line_argv(&l, "mail", argv);
	line_end(c, &l);
	return PFL_ENGINE_CONTINUE;
}

/* bad_replies - try malformed replies, then set a good one: the results */
static void
bad_replies(struct pfl_engine_conn *c, struct line *l)
{
	char longtext[990];

	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	line_add(l, " 250=%d", pfl_engine_setreply(c, "250", NULL, "x"));
	line_add(l, " 55=%d", pfl_engine_setreply(c, "55", NULL, "x"));
	line_add(
	    l, " 550/4.7.1=%d", pfl_engine_setreply(c, "550", "4.7.1", NULL));
	line_add(l, " 5.7=%d", pfl_engine_setreply(c, "550", "5.7", NULL));
	line_add(l, " cr=%d", pfl_engine_setreply(c, "550", NULL, "a\rb"));
	line_add(l, " lf=%d", pfl_engine_setreply(c, "550", NULL, "a\nb"));
	line_add(l, " long=%d", pfl_engine_setreply(c, "550", NULL, longtext));
	line_add(
	    l, " good=%d", pfl_engine_setreply(c, "451", "4.7.1", "later"));
}

/*
 * cb_rcpt - answer by the address: <reject@x> 550 5.7.1 no, <mismatch@x>
 * a 4xx text with a reject, <tempfail@x> a tempfail, <tempreply@x> a
 * tempfail with 451 later, <whoami> a reject naming the connection's
 * priv, <badreply@x> malformed replies, then a good one that the continue
 * drops,
 * <eomonly@x> header insertion and quarantine outside the end of message
 */
static enum pfl_engine_rc
cb_rcpt(struct pfl_engine_conn *c, char **argv)
{
	struct conn_priv *p = pfl_engine_getpriv(c);
	enum pfl_engine_rc rc = PFL_ENGINE_CONTINUE;
	struct line l = { .len = 0 };

	line_argv(&l, "rcpt", argv);
	if (strcmp(argv[0], "<reject@x>") == 0) {
		line_add(&l, " set=%d",
		    pfl_engine_setreply(c, "550", "5.7.1", "no"));
		rc = PFL_ENGINE_REJECT;
	} else if (strcmp(argv[0], "<mismatch@x>") == 0) {
		line_add(&l, " set=%d",
		    pfl_engine_setreply(c, "451", "4.7.1", "later"));
		rc = PFL_ENGINE_REJECT;
	} else if (strcmp(argv[0], "<tempfail@x>") == 0)
		rc = PFL_ENGINE_TEMPFAIL;
	else if (strcmp(argv[0], "<tempreply@x>") == 0) {
		line_add(&l, " set=%d",
		    pfl_engine_setreply(c, "451", NULL, "later"));
		rc = PFL_ENGINE_TEMPFAIL;
	} else if (strcmp(argv[0], "<whoami>") == 0) {
		line_add(&l, " set=%d",
		    pfl_engine_setreply(
			c, "550", NULL, p ? p->host : "nobody"));
		rc = PFL_ENGINE_REJECT;
	} else if (strcmp(argv[0], "<badreply@x>") == 0)
		bad_replies(c, &l);
	else if (strcmp(argv[0], "<eomonly@x>") == 0) {
		line_add(
		    &l, " ins=%d", pfl_engine_insheader(c, 0, "X-Test", " v"));
		line_add(&l, " quar=%d", pfl_engine_quarantine(c, "why"));
	}
	line_end(c, &l);
	return rc;
}

/* big_ok - is value the BIG_LEN pattern of big_value? */
static bool
big_ok(const char *value)
{
	size_t i;

	for (i = 0; i < BIG_LEN; i++)
		if (value[i] != 'a' + (char)(i % 26))
			return false;
	return value[BIG_LEN] == '\0';
}

/* cb_header - X-Reject is rejected; long values are checked, not logged */
static enum pfl_engine_rc
cb_header(struct pfl_engine_conn *c, const char *name, const char *value)
{
	struct line l = { .len = 0 };
	size_t len = strlen(value);

	if (len > 100)
		line_add(&l, "header %s len=%zu %s", name, len,
		    big_ok(value) ? "intact" : "garbled");
	else
		line_add(&l, "header %s=%s", name, value);
	line_end(c, &l);
	return strcmp(name, "X-Reject") == 0 ? PFL_ENGINE_REJECT
					     : PFL_ENGINE_CONTINUE;
}

/* cb_eoh - log the end of the header */
static enum pfl_engine_rc
cb_eoh(struct pfl_engine_conn *c)
{
	struct line l = { .len = 0 };

	line_add(&l, "eoh");
	line_end(c, &l);
	return PFL_ENGINE_CONTINUE;
}

/* cb_body - log the chunk; answer as the test says */
static enum pfl_engine_rc
cb_body(struct pfl_engine_conn *c, const unsigned char *buf, size_t len)
{
	struct line l = { .len = 0 };
	enum pfl_engine_rc rc;

	line_add(&l, "body %zu %.*s", len, len > 64 ? 64 : (int)len,
	    (const char *)buf);
	line_end(c, &l);
	pthread_mutex_lock(&ev.lock);
	rc = ev.body_rc;
	pthread_mutex_unlock(&ev.lock);
	return rc;
}

/* cb_eom - log, add a header and quarantine as the test says */
static enum pfl_engine_rc
cb_eom(struct pfl_engine_conn *c)
{
	struct line l = { .len = 0 };
	enum pfl_engine_rc rc;
	bool ins, quar;

	pthread_mutex_lock(&ev.lock);
	rc = ev.eom_rc;
	ins = ev.eom_insheader;
	quar = ev.eom_quarantine;
	pthread_mutex_unlock(&ev.lock);
	line_add(&l, "eom");
	if (ins)
		line_add(
		    &l, " ins=%d", pfl_engine_insheader(c, 0, "X-Test", " v"));
	if (quar)
		line_add(&l, " quar=%d", pfl_engine_quarantine(c, "why"));
	line_end(c, &l);
	return rc;
}

/* cb_abort - log the abort */
static void
cb_abort(struct pfl_engine_conn *c)
{
	struct line l = { .len = 0 };

	line_add(&l, "abort");
	line_end(c, &l);
}

/* cb_close - log the end of the connection by its priv; free it */
static void
cb_close(struct pfl_engine_conn *c)
{
	struct conn_priv *p = pfl_engine_getpriv(c);
	struct line l = { .len = 0 };

	line_add(&l, "close %s", p ? p->host : "(no priv)");
	ev_add(l.buf);
	free(p);
}

static const struct pfl_engine_desc desc = {
	.actions = WANT_ACTIONS,
	.steps = WANT_STEPS,
	.macros = {
	    [PFL_ENGINE_M_CONNECT] = "j {daemon_name}",
	    [PFL_ENGINE_M_MAIL] = "i {mail_addr}",
	    [PFL_ENGINE_M_EOM] = "{msg_id}",
	},
	.connect = cb_connect,
	.mail = cb_mail,
	.rcpt = cb_rcpt,
	.header = cb_header,
	.eoh = cb_eoh,
	.body = cb_body,
	.eom = cb_eom,
	.abort = cb_abort,
	.close = cb_close,
};

/* --- the engine for the whole program ------------------------------------- */

static char sock_path[108];
static pthread_t run_tid;
static int run_rc = -1;
static bool stop_failed;   /* cmocka does not count a teardown failure */
static int linger_fd = -1; /* left open for pfl_engine_stop to end */

/* run_engine - the engine's accepting thread */
static void *
run_engine(void *arg)
{
	run_rc = pfl_engine_run(&desc);
	return NULL;
}

/* engine_start - listen on a private unix socket and run the engine */
static int
engine_start(void **state)
{
	char spec[sizeof(sock_path) + 8];

	pfl_log_stderr(true);
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock_path, sizeof(sock_path), "/tmp/test_engine.%ld.sock",
	    (long)getpid());
	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	if (pfl_engine_listen(spec) < 0) {
		perror(spec);
		return -1;
	}
	return pthread_create(&run_tid, NULL, run_engine, NULL) == 0 ? 0 : -1;
}

/* stop_check - note a failed check of the teardown */
static void
stop_check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "after pfl_engine_stop: %s\n", what);
		stop_failed = true;
	}
}

/*
 * engine_stop - stop the engine: run returns 0, the connection left
 * open was ended after its close callback, the socket file is gone
 */
static int
engine_stop(void **state)
{
	struct stat st;
	int closed;
	char c;

	pfl_engine_stop();
	pthread_join(run_tid, NULL);
	stop_check(run_rc == 0, "pfl_engine_run did not return 0");
	pthread_mutex_lock(&ev.lock);
	closed = count_of("close lingering\n");
	pthread_mutex_unlock(&ev.lock);
	stop_check(closed == 1, "no close callback for the open connection");
	stop_check(linger_fd >= 0 && read(linger_fd, &c, 1) == 0,
	    "the open connection was not ended");
	if (linger_fd >= 0)
		close(linger_fd);
	stop_check(lstat(sock_path, &st) < 0 && errno == ENOENT,
	    "the socket file is still there");
	free(ev.text);
	ev.text = NULL;
	return stop_failed ? -1 : 0;
}

/* --- the MTA side ----------------------------------------------------------- */

struct mta {
	int fd;
	unsigned char *out; /* queued packets, written by mta_flush */
	size_t len, cap;
};

/* put32 - store a network-order number */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* get32 - a network-order number */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* mta_add - queue raw bytes */
static void
mta_add(struct mta *m, const void *data, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->out = realloc(m->out, m->cap);
		assert_non_null(m->out);
	}
	if (n > 0)
		memcpy(m->out + m->len, data, n);
	m->len += n;
}

/* mta_packet2 - queue a packet: cmd, then a and b */
static void
mta_packet2(
    struct mta *m, int cmd, const void *a, size_t an, const void *b, size_t bn)
{
	unsigned char hdr[5];

	put32(hdr, (uint32_t)(1 + an + bn));
	hdr[4] = (unsigned char)cmd;
	mta_add(m, hdr, 5);
	mta_add(m, a, an);
	mta_add(m, b, bn);
}

/* mta_packet - queue a packet */
static void
mta_packet(struct mta *m, int cmd, const void *data, size_t n)
{
	mta_packet2(m, cmd, data, n, NULL, 0);
}

/* MACROS - queue macros for cmd from a literal "name\0value\0..." */
#define MACROS(m, cmd, lit)                                                    \
	mta_packet2(m, SMFIC_MACRO, cmd, 1, lit, sizeof(lit) - 1)

/* mta_optneg - queue a negotiation */
static void
mta_optneg(struct mta *m, uint32_t version, uint32_t actions, uint32_t steps)
{
	unsigned char words[12];

	put32(words, version);
	put32(words + 4, actions);
	put32(words + 8, steps);
	mta_packet(m, SMFIC_OPTNEG, words, 12);
}

/* mta_connect - queue connection info: host, family, port 25, address */
static void
mta_connect(struct mta *m, const char *host, int family, const char *addr)
{
	unsigned char fam_port[3] = { (unsigned char)family, 0, 25 };
	struct mta body = { .fd = -1 };

	mta_add(&body, host, strlen(host) + 1);
	if (addr != NULL) {
		mta_add(&body, fam_port, 3);
		mta_add(&body, addr, strlen(addr) + 1);
	} else
		mta_add(&body, fam_port, 1);
	mta_packet(m, SMFIC_CONNECT, body.out, body.len);
	free(body.out);
}

/* mta_args - queue MAIL or RCPT with NUL-separated arguments, NULL ended */
static void
mta_args(struct mta *m, int cmd, ...)
{
	struct mta body = { .fd = -1 };
	const char *s;
	va_list ap;

	va_start(ap, cmd);
	while ((s = va_arg(ap, const char *)) != NULL)
		mta_add(&body, s, strlen(s) + 1);
	va_end(ap);
	mta_packet(m, cmd, body.out, body.len);
	free(body.out);
}

/* mta_header - queue a header field */
static void
mta_header(struct mta *m, const char *name, const char *value)
{
	mta_packet2(
	    m, SMFIC_HEADER, name, strlen(name) + 1, value, strlen(value) + 1);
}

/* mta_flush - write the queued packets in one write */
static void
mta_flush(struct mta *m)
{
	size_t done = 0;
	ssize_t n;

	while (done < m->len) {
		n = send(m->fd, m->out + done, m->len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("send: %s", strerror(errno));
		done += (size_t)n;
	}
	m->len = 0;
}

/* mta_open - connect to the engine; reads and writes time out after 5 s */
static void
mta_open(struct mta *m)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };

	memset(m, 0, sizeof(*m));
	m->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(m->fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	assert_int_equal(
	    connect(m->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(
	    setsockopt(m->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(
	    setsockopt(m->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* mta_close - drop the connection */
static void
mta_close(struct mta *m)
{
	close(m->fd);
	m->fd = -1;
	free(m->out);
	m->out = NULL;
	m->len = m->cap = 0;
}

/* read_full - read n bytes: how many came before EOF, or -1 */
static ssize_t
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * read_packet - the engine's next answer (*data malloc'd); 1, 0 at EOF,
 * -1 on a timeout or a broken packet
 */
static int
read_packet(int fd, int *cmd, unsigned char **data, size_t *len)
{
	unsigned char hdr[5];
	ssize_t n = read_full(fd, hdr, 5);
	uint32_t plen;

	if (n == 0)
		return 0;
	if (n != 5 || (plen = get32(hdr)) < 1 || plen > 1024 * 1024)
		return -1;
	*cmd = hdr[4];
	*len = plen - 1;
	*data = malloc(*len + 1);
	assert_non_null(*data);
	if (read_full(fd, *data, *len) != (ssize_t)*len) {
		free(*data);
		return -1;
	}
	return 1;
}

/* expect_packet - send what is queued; the next answer is cmd with data */
static void
expect_packet(struct mta *m, int cmd, const void *want, size_t wlen)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int got = 0, rc;

	mta_flush(m);
	rc = read_packet(m->fd, &got, &data, &len);
	if (rc != 1)
		fail_msg(
		    "wanted '%c', got %s", cmd, rc == 0 ? "EOF" : "nothing");
	if (got != cmd) {
		free(data);
		fail_msg("wanted '%c', got '%c'", cmd, got);
	}
	assert_int_equal(len, wlen);
	if (wlen > 0)
		assert_memory_equal(data, want, wlen);
	free(data);
}

/* EXPECT_STR - the next answer is cmd with a literal (its NUL included) */
#define EXPECT_STR(m, cmd, lit) expect_packet(m, cmd, lit, sizeof(lit))

/* expect_cmd - the next answer is cmd without data */
static void
expect_cmd(struct mta *m, int cmd)
{
	expect_packet(m, cmd, NULL, 0);
}

/* expect_eof - send what is queued; the engine closes the connection */
static void
expect_eof(struct mta *m)
{
	char c;

	mta_flush(m);
	assert_int_equal(read(m->fd, &c, 1), 0);
	mta_close(m);
}

/* expect_quiet - send what is queued; no answer comes within 100 ms */
static void
expect_quiet(struct mta *m)
{
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };

	mta_flush(m);
	assert_int_equal(poll(&pfd, 1, 100), 0);
}

/* expect_optneg - the negotiation answer: version, actions, steps, tail */
static void
expect_optneg(struct mta *m, uint32_t version, uint32_t actions, uint32_t steps,
    const void *tail, size_t tlen)
{
	unsigned char want[256];

	assert_true(tlen <= sizeof(want) - 12);
	put32(want, version);
	put32(want + 4, actions);
	put32(want + 8, steps);
	if (tlen > 0)
		memcpy(want + 12, tail, tlen);
	expect_packet(m, SMFIC_OPTNEG, want, 12 + tlen);
}

/*
 * mta_start - connect and negotiate version 6 offering actions (without
 * SMFIF_SETSYMLIST) and steps; the engine grants what desc wants of them
 */
static void
mta_start(struct mta *m, uint32_t actions, uint32_t steps)
{
	assert_false(actions & SMFIF_SETSYMLIST);
	mta_open(m);
	mta_optneg(m, 6, actions, steps);
	expect_optneg(
	    m, 6, actions & WANT_ACTIONS, steps & WANT_STEPS, NULL, 0);
}

/* mta_quit - end the connection with 'Q' and see it closed */
static void
mta_quit(struct mta *m)
{
	mta_packet(m, SMFIC_QUIT, NULL, 0);
	expect_eof(m);
}

/* --- 1. negotiation ------------------------------------------------------- */

/* test_negotiate - versions, granted bits, macro lists */
static void
test_negotiate(void **state)
{
	static const char lists[] = "\0\0\0\0j {daemon_name}\0"
				    "\0\0\0\2i {mail_addr}\0"
				    "\0\0\0\5{msg_id}";
	struct mta m;

	/* all offered: what desc wants, and its macro lists */
	mta_open(&m);
	mta_optneg(&m, 6, ALL_ACTIONS, ALL_STEPS);
	expect_optneg(&m, 6, WANT_ACTIONS, WANT_STEPS, lists, sizeof(lists));
	mta_quit(&m);

	/* no SMFIF_SETSYMLIST: no macro lists */
	mta_open(&m);
	mta_optneg(&m, 6, ALL_ACTIONS & ~SMFIF_SETSYMLIST, SMFIP_NR_HDR);
	expect_optneg(
	    &m, 6, WANT_ACTIONS & ~SMFIF_SETSYMLIST, SMFIP_NR_HDR, NULL, 0);
	mta_quit(&m);

	/* an older MTA gets its version, a newer one ours */
	mta_open(&m);
	mta_optneg(&m, 2, SMFIF_ADDHDRS, 0);
	expect_optneg(&m, 2, SMFIF_ADDHDRS, 0, NULL, 0);
	mta_quit(&m);
	mta_open(&m);
	mta_optneg(&m, 7, SMFIF_ADDHDRS, 0);
	expect_optneg(&m, 6, SMFIF_ADDHDRS, 0, NULL, 0);
	mta_quit(&m);

	/* version 1 is refused */
	mta_open(&m);
	mta_optneg(&m, 1, ALL_ACTIONS, ALL_STEPS);
	expect_eof(&m);
	expect_log("");
}

/* --- 2. macros ------------------------------------------------------------- */

/* test_macros - macros by stage, message ones forgotten */
static void
test_macros(void **state)
{
	struct mta m;

	set_names("j {j} daemon_name {daemon_name}");
	mta_start(&m, 0, 0);
	MACROS(&m, "C", "j\0host.example\0{daemon_name}\0smtpd\0");
	mta_connect(&m, "client.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("connect client.example [192.0.2.1] j=host.example "
		   "{j}=host.example daemon_name=smtpd {daemon_name}=smtpd\n");

	/* message 1: its MAIL, RCPT and end-of-message macros */
	set_names("j i {mail_addr} {rcpt_addr} {msg_id}");
	MACROS(&m, "M", "i\0Q1\0{mail_addr}\0a@x\0");
	mta_args(&m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	MACROS(&m, "R", "{rcpt_addr}\0r@x\0");
	mta_args(&m, SMFIC_RCPT, "<r@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	MACROS(&m, "E", "{msg_id}\0<id@x>\0");
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("mail <a@x> j=host.example i=Q1 {mail_addr}=a@x "
		   "{rcpt_addr}=(none) {msg_id}=(none)\n"
		   "rcpt <r@x> j=host.example i=Q1 {mail_addr}=a@x "
		   "{rcpt_addr}=r@x {msg_id}=(none)\n"
		   "eom j=host.example i=Q1 {mail_addr}=a@x {rcpt_addr}=r@x "
		   "{msg_id}=<id@x>\n");

	/* message 2 does not see message 1's */
	MACROS(&m, "M", "{mail_addr}\0b@x\0");
	mta_args(&m, SMFIC_MAIL, "<b@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	MACROS(&m, "R", "{rcpt_addr}\0s@x\0");
	mta_args(&m, SMFIC_RCPT, "<s@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("mail <b@x> j=host.example i=(none) {mail_addr}=b@x "
		   "{rcpt_addr}=(none) {msg_id}=(none)\n"
		   "rcpt <s@x> j=host.example i=(none) {mail_addr}=b@x "
		   "{rcpt_addr}=s@x {msg_id}=(none)\n");

	/* abort: no answer; the message's macros go, the connection's stay */
	set_names("j {daemon_name} {mail_addr} {rcpt_addr}");
	mta_packet(&m, SMFIC_ABORT, NULL, 0);
	mta_args(&m, SMFIC_MAIL, "<c@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("abort j=host.example {daemon_name}=smtpd {mail_addr}=b@x "
		   "{rcpt_addr}=s@x\n"
		   "mail <c@x> j=host.example {daemon_name}=smtpd "
		   "{mail_addr}=(none) {rcpt_addr}=(none)\n");
	mta_quit(&m);
	expect_log("close client.example\n");
}

/* --- 3. connect --------------------------------------------------------------- */

/* test_connect - client addresses of each family */
static void
test_connect(void **state)
{
	struct mta m;

	mta_start(&m, 0, 0);
	mta_connect(&m, "v4.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "v6.example", SMFIA_INET6, "2001:DB8:0:0::1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "v6p.example", SMFIA_INET6, "IPv6:2001:db8::2");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "bad.example", SMFIA_INET, "not-an-address");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "unix.example", SMFIA_UNIX, "/run/sock");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "unknown.example", SMFIA_UNKNOWN, NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);
	expect_log("connect v4.example [192.0.2.1]\n"
		   "close v4.example\n"
		   "connect v6.example [2001:db8::1]\n"
		   "close v6.example\n"
		   "connect v6p.example [2001:db8::2]\n"
		   "close v6p.example\n"
		   "connect bad.example []\n"
		   "close bad.example\n"
		   "connect unix.example []\n"
		   "close unix.example\n"
		   "connect unknown.example []\n"
		   "close unknown.example\n");
}

/* --- 4. MAIL, RCPT and replies ---------------------------------------------- */

/* test_envelope - MAIL and RCPT arguments, reply texts */
static void
test_envelope(void **state)
{
	struct mta m;

	mta_start(&m, 0, 0);
	/* before connect there is no callback to ask */
	mta_args(&m, SMFIC_MAIL, "<early@x>", NULL);
	expect_cmd(&m, SMFIR_TEMPFAIL);
	mta_connect(&m, "env.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_MAIL, "<a@x>", "SIZE=100", "BODY=8BITMIME", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_RCPT, "<r@x>", "NOTIFY=NEVER", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("connect env.example [192.0.2.1]\n"
		   "mail <a@x> SIZE=100 BODY=8BITMIME\n"
		   "rcpt <r@x> NOTIFY=NEVER\n");

	/* a reply text of the answer's class replaces it */
	mta_args(&m, SMFIC_RCPT, "<reject@x>", NULL);
	EXPECT_STR(&m, SMFIR_REPLYCODE, "550 5.7.1 no");
	mta_args(&m, SMFIC_RCPT, "<tempreply@x>", NULL);
	EXPECT_STR(&m, SMFIR_REPLYCODE, "451 later");
	/* of another class it does not, and is forgotten either way */
	mta_args(&m, SMFIC_RCPT, "<mismatch@x>", NULL);
	expect_cmd(&m, SMFIR_REJECT);
	mta_args(&m, SMFIC_RCPT, "<tempfail@x>", NULL);
	expect_cmd(&m, SMFIR_TEMPFAIL);
	/* malformed replies are refused; a good one is dropped by continue */
	mta_args(&m, SMFIC_RCPT, "<badreply@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_RCPT, "<tempfail@x>", NULL);
	expect_cmd(&m, SMFIR_TEMPFAIL);
	mta_quit(&m);
	expect_log("rcpt <reject@x> set=0\n"
		   "rcpt <tempreply@x> set=0\n"
		   "rcpt <mismatch@x> set=0\n"
		   "rcpt <tempfail@x>\n"
		   "rcpt <badreply@x> 250=-1 55=-1 550/4.7.1=-1 5.7=-1 cr=-1 "
		   "lf=-1 long=-1 good=0\n"
		   "rcpt <tempfail@x>\n"
		   "close env.example\n");
}

/* --- 5. steps without answers, skip ------------------------------------------- */

/* start_message - connect, MAIL, RCPT and DATA, each answered 'c' */
static void
start_message(struct mta *m, const char *host)
{
	mta_connect(m, host, SMFIA_INET, "192.0.2.1");
	expect_cmd(m, SMFIR_CONTINUE);
	mta_args(m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(m, SMFIR_CONTINUE);
	mta_args(m, SMFIC_RCPT, "<r@x>", NULL);
	expect_cmd(m, SMFIR_CONTINUE);
	mta_packet(m, SMFIC_DATA, NULL, 0);
	expect_cmd(m, SMFIR_CONTINUE);
}

static const char ins_test[] = "\0\0\0\0X-Test\0 v";

/* test_no_reply - SMFIP_NR_* steps unanswered; skip */
static void
test_no_reply(void **state)
{
	struct mta m;

	/* granted: headers, EOH and body unanswered, even a reject */
	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, true, false);
	mta_start(&m, SMFIF_ADDHDRS,
	    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_SKIP);
	start_message(&m, "nr.example");
	mta_header(&m, "Subject", " hi");
	mta_header(&m, "X-Reject", " yes");
	mta_packet(&m, SMFIC_EOH, NULL, 0);
	mta_packet(&m, SMFIC_BODY, "hello", 5);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_packet(&m, SMFIR_INSHEADER, ins_test, sizeof(ins_test));
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_quiet(&m);
	mta_quit(&m);
	expect_log("connect nr.example [192.0.2.1]\n"
		   "mail <a@x>\n"
		   "rcpt <r@x>\n"
		   "header Subject= hi\n"
		   "header X-Reject= yes\n"
		   "eoh\n"
		   "body 5 hello\n"
		   "eom ins=0\n"
		   "close nr.example\n");

	/* not granted: each answered; skip granted */
	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, false, false);
	mta_start(&m, SMFIF_ADDHDRS, SMFIP_SKIP);
	start_message(&m, "r.example");
	mta_header(&m, "Subject", " hi");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_header(&m, "X-Reject", " yes");
	expect_cmd(&m, SMFIR_REJECT);
	mta_packet(&m, SMFIC_EOH, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODY, "one", 3);
	expect_cmd(&m, SMFIR_CONTINUE);
	set_answers(PFL_ENGINE_SKIP, PFL_ENGINE_CONTINUE, false, false);
	mta_packet(&m, SMFIC_BODY, "two", 3);
	expect_cmd(&m, SMFIR_SKIP);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_quiet(&m);
	mta_quit(&m);

	/* skip not granted: continue */
	mta_start(&m, 0, 0);
	start_message(&m, "noskip.example");
	mta_packet(&m, SMFIC_BODY, "three", 5);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);
	expect_log("connect r.example [192.0.2.1]\n"
		   "mail <a@x>\n"
		   "rcpt <r@x>\n"
		   "header Subject= hi\n"
		   "header X-Reject= yes\n"
		   "eoh\n"
		   "body 3 one\n"
		   "body 3 two\n"
		   "eom\n"
		   "close r.example\n"
		   "connect noskip.example [192.0.2.1]\n"
		   "mail <a@x>\n"
		   "rcpt <r@x>\n"
		   "body 5 three\n"
		   "eom\n"
		   "close noskip.example\n");
}

/* --- 6. end of message ------------------------------------------------------- */

/* test_eom - header insertion, quarantine, final answers */
static void
test_eom(void **state)
{
	struct mta m;

	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, true, true);
	mta_start(&m, SMFIF_ADDHDRS | SMFIF_QUARANTINE, 0);
	mta_connect(&m, "eom.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_RCPT, "<eomonly@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, "tail", 4);
	expect_packet(&m, SMFIR_INSHEADER, ins_test, sizeof(ins_test));
	EXPECT_STR(&m, SMFIR_QUARANTINE, "why");
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_log("connect eom.example [192.0.2.1]\n"
		   "mail <a@x>\n"
		   "rcpt <eomonly@x> ins=-1 quar=-1\n"
		   "body 4 tail\n"
		   "eom ins=0 quar=0\n");

	/* the final answer can be an accept */
	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_ACCEPT, true, true);
	mta_args(&m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_packet(&m, SMFIR_INSHEADER, ins_test, sizeof(ins_test));
	EXPECT_STR(&m, SMFIR_QUARANTINE, "why");
	expect_cmd(&m, SMFIR_ACCEPT);

	/* a body rejected by the last chunk skips the eom callback */
	set_answers(PFL_ENGINE_REJECT, PFL_ENGINE_ACCEPT, true, true);
	mta_args(&m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, "bad", 3);
	expect_cmd(&m, SMFIR_REJECT);
	expect_quiet(&m);
	mta_quit(&m);
	expect_log("mail <a@x>\n"
		   "eom ins=0 quar=0\n"
		   "mail <a@x>\n"
		   "body 3 bad\n"
		   "close eom.example\n");

	/* actions not granted: -1, and nothing sent */
	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, true, true);
	mta_start(&m, SMFIF_ADDHDRS, 0);
	mta_connect(&m, "noquar.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_packet(&m, SMFIR_INSHEADER, ins_test, sizeof(ins_test));
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	mta_connect(&m, "none.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);

	mta_start(&m, 0, 0);
	mta_connect(&m, "none.example", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);
	expect_log("connect noquar.example [192.0.2.1]\n"
		   "eom ins=0 quar=-1\n"
		   "close noquar.example\n"
		   "connect none.example [192.0.2.1]\n"
		   "close none.example\n"
		   "connect none.example [192.0.2.1]\n"
		   "eom ins=-1 quar=-1\n"
		   "close none.example\n");
}

/* --- 7. streaming -------------------------------------------------------------- */

/* queue_session - a whole session; want gets the answers it should get */
static void
queue_session(struct mta *m, struct mta *want)
{
	unsigned char words[12];

	mta_optneg(m, 6, SMFIF_ADDHDRS, 0);
	put32(words, 6);
	put32(words + 4, SMFIF_ADDHDRS);
	put32(words + 8, 0);
	mta_packet(want, SMFIC_OPTNEG, words, 12);
	MACROS(m, "C", "j\0stream.example\0");
	mta_connect(m, "client.example", SMFIA_INET, "192.0.2.7");
	mta_args(m, SMFIC_HELO, "helo.example", NULL);
	MACROS(m, "M", "i\0Q7\0");
	mta_args(m, SMFIC_MAIL, "<s@x>", "SIZE=9", NULL);
	mta_args(m, SMFIC_RCPT, "<r@x>", NULL);
	mta_packet(m, SMFIC_DATA, NULL, 0);
	mta_header(m, "Subject", " hi");
	mta_header(m, "To", " r@x");
	mta_packet(m, SMFIC_EOH, NULL, 0);
	mta_packet(m, SMFIC_BODY, "hello body", 10);
	for (int i = 0; i < 9; i++)
		mta_packet(want, SMFIR_CONTINUE, NULL, 0);
	mta_packet(m, SMFIC_BODYEOB, NULL, 0);
	mta_packet(want, SMFIR_INSHEADER, ins_test, sizeof(ins_test));
	mta_packet(want, SMFIR_CONTINUE, NULL, 0);
	mta_packet(m, SMFIC_QUIT, NULL, 0);
}

/* read_all - everything the engine sends until it closes */
static void
read_all(struct mta *m, struct mta *got)
{
	unsigned char buf[4096];
	ssize_t n;

	while ((n = read(m->fd, buf, sizeof(buf))) > 0)
		mta_add(got, buf, (size_t)n);
	assert_int_equal(n, 0);
}

static const char session_log[] =
    "connect client.example [192.0.2.7] j=stream.example i=(none)\n"
    "mail <s@x> SIZE=9 j=stream.example i=Q7\n"
    "rcpt <r@x> j=stream.example i=Q7\n"
    "header Subject= hi j=stream.example i=Q7\n"
    "header To= r@x j=stream.example i=Q7\n"
    "eoh j=stream.example i=Q7\n"
    "body 10 hello body j=stream.example i=Q7\n"
    "eom ins=0 j=stream.example i=Q7\n"
    "close client.example\n";

/* test_stream - a session in one write and a byte at a time */
static void
test_stream(void **state)
{
	struct mta m, want = { .fd = -1 }, got = { .fd = -1 };
	size_t i;

	set_names("j i");
	set_answers(PFL_ENGINE_CONTINUE, PFL_ENGINE_CONTINUE, true, false);

	/* in one write */
	mta_open(&m);
	queue_session(&m, &want);
	mta_flush(&m);
	read_all(&m, &got);
	mta_close(&m);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.out, want.out, want.len);
	expect_log(session_log);

	/* a byte at a time */
	got.len = 0;
	mta_open(&m);
	queue_session(&m, &got); /* only to throw away: want is kept */
	got.len = 0;
	for (i = 0; i < m.len; i++) {
		assert_int_equal(send(m.fd, m.out + i, 1, MSG_NOSIGNAL), 1);
		usleep(100);
	}
	m.len = 0;
	read_all(&m, &got);
	mta_close(&m);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.out, want.out, want.len);
	expect_log(session_log);
	free(want.out);
	free(got.out);
}

/* test_big_header - a header field bigger than the buffer */
static void
test_big_header(void **state)
{
	struct mta m;
	char *big = malloc(BIG_LEN + 1);
	size_t i;

	assert_non_null(big);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = (char)('a' + i % 26);
	big[BIG_LEN] = '\0';
	mta_start(&m, 0, 0);
	start_message(&m, "big.example");
	mta_header(&m, "X-Big", big);
	mta_header(&m, "X-After", " small");
	mta_flush(&m);
	expect_cmd(&m, SMFIR_CONTINUE);
	expect_cmd(&m, SMFIR_CONTINUE);
	/* twice: the buffer kept by the worker serves it again */
	mta_header(&m, "X-Big", big);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);
	free(big);
	expect_log("connect big.example [192.0.2.1]\n"
		   "mail <a@x>\n"
		   "rcpt <r@x>\n"
		   "header X-Big len=204800 intact\n"
		   "header X-After= small\n"
		   "header X-Big len=204800 intact\n"
		   "close big.example\n");
}

/*
 * test_many_headers - unanswered headers sent in pieces that each end
 * inside a packet, so that the engine's buffer fills up with a part of
 * a packet at its end, whatever its size: a packet is 23 bytes, and no
 * multiple of an odd number is a power of two
 */
static void
test_many_headers(void **state)
{
	static const char start[] = "connect headers.example [192.0.2.1]\n"
				    "mail <a@x>\nrcpt <r@x>\n",
			  end[] = "eom\nclose headers.example\n";
	const size_t plen = 23;
	struct mta m, want = { .fd = -1 };
	char name[16], value[16], line[64];
	size_t sent, upto;
	int i;

	mta_start(&m, 0, SMFIP_NR_HDR);
	start_message(&m, "headers.example");
	mta_add(&want, start, strlen(start));
	for (i = 0; i < NHEADERS; i++) {
		snprintf(name, sizeof(name), "X-H%05d", i);
		snprintf(value, sizeof(value), " v%05d.", i);
		mta_header(&m, name, value);
		snprintf(line, sizeof(line), "header %s=%s\n", name, value);
		mta_add(&want, line, strlen(line));
	}
	assert_int_equal(m.len, NHEADERS * plen);
	for (sent = 0; sent < m.len; sent = upto) {
		upto = (sent / plen + 350) * plen + plen / 2;
		if (upto > m.len)
			upto = m.len;
		assert_int_equal(send(m.fd, m.out + sent, upto - sent, 0),
		    (ssize_t)(upto - sent));
		assert_int_equal(wait_lines(3 + upto / plen), 3 + upto / plen);
	}
	m.len = 0;
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_quit(&m);
	mta_add(&want, end, sizeof(end));
	expect_log((const char *)want.out);
	free(want.out);
}

/* --- 8. ends of connections ---------------------------------------------------- */

/* test_quit - SMFIC_QUIT_NC and SMFIC_QUIT */
static void
test_quit(void **state)
{
	struct mta m;

	/* K: close, then a new connect with fresh macros */
	set_names("j {daemon_name}");
	mta_start(&m, 0, 0);
	MACROS(&m, "C", "j\0first.example\0{daemon_name}\0smtpd\0");
	mta_connect(&m, "first", SMFIA_INET, "192.0.2.1");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_args(&m, SMFIC_MAIL, "<a@x>", NULL);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_packet(&m, SMFIC_QUIT_NC, NULL, 0);
	MACROS(&m, "C", "j\0second.example\0");
	mta_connect(&m, "second", SMFIA_INET, "192.0.2.2");
	expect_cmd(&m, SMFIR_CONTINUE);
	/* Q: close, and the engine closes the socket */
	mta_quit(&m);
	expect_log("connect first [192.0.2.1] j=first.example "
		   "{daemon_name}=smtpd\n"
		   "mail <a@x> j=first.example {daemon_name}=smtpd\n"
		   "close first\n"
		   "connect second [192.0.2.2] j=second.example "
		   "{daemon_name}=(none)\n"
		   "close second\n");
}

/* test_eof_in_message - the MTA goes away: abort in a message, close once */
static void
test_eof_in_message(void **state)
{
	static const unsigned char part[] = { 0, 0, 0, 20, SMFIC_HEADER, 'S' };
	struct mta m;

	mta_start(&m, 0, 0);
	start_message(&m, "eof.example");
	mta_header(&m, "Subject", " hi");
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_add(&m, part, sizeof(part));
	mta_flush(&m);
	mta_close(&m);
	/* the message is aborted, then the connection closed, as libmilter */
	assert_int_equal(wait_log("abort\nclose eof.example\n", 1), 1);
	usleep(100 * 1000);
	assert_int_equal(wait_log("close ", 1), 1);
	assert_int_equal(wait_log("abort", 1), 1);
	ev_reset(state);

	/* EOF between commands, in a message */
	mta_start(&m, 0, 0);
	start_message(&m, "eof2.example");
	mta_close(&m);
	assert_int_equal(wait_log("abort\nclose eof2.example\n", 1), 1);
	usleep(100 * 1000);
	assert_int_equal(wait_log("close ", 1), 1);
	ev_reset(state);

	/* EOF after the end of the message: nothing to abort */
	mta_start(&m, 0, 0);
	start_message(&m, "eof3.example");
	mta_packet(&m, SMFIC_BODYEOB, NULL, 0);
	expect_cmd(&m, SMFIR_CONTINUE);
	mta_close(&m);
	assert_int_equal(wait_log("close eof3.example\n", 1), 1);
	usleep(100 * 1000);
	assert_int_equal(wait_log("abort", 0), 0);
}

/* bad_stream - after connect (or not), raw bytes end the connection */
static void
bad_stream(const void *bytes, size_t n, bool connected)
{
	struct mta m;

	ev_reset(NULL);
	mta_start(&m, 0, 0);
	if (connected) {
		mta_connect(&m, "bad.example", SMFIA_INET, "192.0.2.1");
		expect_cmd(&m, SMFIR_CONTINUE);
	}
	mta_add(&m, bytes, n);
	expect_eof(&m);
	expect_log(connected ? "connect bad.example [192.0.2.1]\n"
			       "close bad.example\n"
			     : "");
}

/* test_bad_packets - bad lengths and commands end a connection */
static void
test_bad_packets(void **state)
{
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	static const unsigned char huge[] = { 0, 0x40, 0, 1 };
	static const unsigned char unknown[] = { 0, 0, 0, 1, 'Z' };

	bad_stream(zero, sizeof(zero), false);
	bad_stream(zero, sizeof(zero), true);
	bad_stream(huge, sizeof(huge), false);
	bad_stream(huge, sizeof(huge), true);
	bad_stream(unknown, sizeof(unknown), false);
	bad_stream(unknown, sizeof(unknown), true);
}

/* --- 9. connections at once ------------------------------------------------------ */

/* test_many - interleaved connections keep their own priv */
static void
test_many(void **state)
{
	struct mta m[NCONN];
	char host[32], want[40], needle[40];
	int i;

	for (i = 0; i < NCONN; i++) {
		snprintf(host, sizeof(host), "multi-%d", i);
		mta_start(&m[i], 0, 0);
		mta_connect(&m[i], host, SMFIA_INET, "192.0.2.1");
	}
	for (i = NCONN - 1; i >= 0; i--)
		expect_cmd(&m[i], SMFIR_CONTINUE);
	for (i = NCONN - 1; i >= 0; i--)
		mta_args(&m[i], SMFIC_RCPT, "<whoami>", NULL);
	for (i = 0; i < NCONN; i++) {
		snprintf(want, sizeof(want), "550 multi-%d", i);
		expect_packet(&m[i], SMFIR_REPLYCODE, want, strlen(want) + 1);
	}
	for (i = NCONN - 1; i >= 0; i--)
		mta_quit(&m[i]);
	for (i = 0; i < NCONN; i++) {
		snprintf(needle, sizeof(needle), "close multi-%d\n", i);
		assert_int_equal(wait_log(needle, 1), 1);
	}
}

/* test_open_at_stop - a connection in a message, left for the teardown */
static void
test_open_at_stop(void **state)
{
	struct mta m;

	mta_start(&m, 0, 0);
	start_message(&m, "lingering");
	mta_header(&m, "Subject", " hi");
	expect_cmd(&m, SMFIR_CONTINUE);
	linger_fd = m.fd;
	free(m.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_negotiate, ev_reset),
		cmocka_unit_test_setup(test_macros, ev_reset),
		cmocka_unit_test_setup(test_connect, ev_reset),
		cmocka_unit_test_setup(test_envelope, ev_reset),
		cmocka_unit_test_setup(test_no_reply, ev_reset),
		cmocka_unit_test_setup(test_eom, ev_reset),
		cmocka_unit_test_setup(test_stream, ev_reset),
		cmocka_unit_test_setup(test_big_header, ev_reset),
		cmocka_unit_test_setup(test_many_headers, ev_reset),
		cmocka_unit_test_setup(test_quit, ev_reset),
		cmocka_unit_test_setup(test_eof_in_message, ev_reset),
		cmocka_unit_test_setup(test_bad_packets, ev_reset),
		cmocka_unit_test_setup(test_many, ev_reset),
		cmocka_unit_test_setup(test_open_at_stop, ev_reset),
	};

	int rc = cmocka_run_group_tests(tests, engine_start, engine_stop);

	return rc != 0 || stop_failed;
}
