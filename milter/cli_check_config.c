/*
 * NAME
 *	cli_check_config - preflight check-config: audit the Postfix around us
 * SYNOPSIS
 *	preflight check-config [-c CONFIG] [--postfix-dir DIR] [--milter ADDR]
 * DESCRIPTION
 *	Reads Postfix's settings through postconf(1) (-c DIR with
 *	--postfix-dir) and prints one line per finding on what would make
 *	mail fail on its way out:
 *
 *	    ok|warn|error NAME: what was found[; fix: what to change]
 *
 *	smtp_tls_security_level at least may; smtp_helo_name equal to the
 *	config's EgressHelo; preflight (its Socket in Postfix's form, or
 *	--milter) in smtpd_milters after any DKIM signer, and in
 *	non_smtpd_milters, for main.cf and for each master.cf service that
 *	overrides them (unix paths seen from inside the chroot of a chrooted
 *	service); milter_default_action; and a relayhost (or a
 *	sender_dependent_relayhost_maps entry, or a default_transport
 *	nexthop) on port 587 or 465: SMTP AUTH on, a password map with an
 *	entry for the relay (postmap -q), TLS the port needs. The smtp
 *	client's settings are read as default_transport's master.cf service
 *	sees them.
 *
 *	postconf and postmap run with a fixed argv (no shell), standard
 *	input from /dev/null, at most RUN_TIMEOUT_MS each; they are looked
 *	up in PATH, then in /usr/sbin.
 *
 *	Exit status: 0 only ok lines, 1 a warn, 2 an error, 64 usage, 69
 *	postconf missing or failing, 78 a bad preflight configuration.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ctx.h"
#include "util.h"

#define RUN_TIMEOUT_MS 10000
#define RUN_MAX_OUT    (1024 * 1024)
#define MAX_ARGS       32
#define MAX_RELAYS     16
#define OPENDKIM_CONF  "/etc/opendkim.conf"

enum level { L_OK, L_WARN, L_ERROR };

/* A milter address: a unix socket path, or an inet host and port. */
struct sock {
	char path[512]; /* unix: the path; empty for inet */
	char host[256]; /* inet: the host, no brackets; "" any */
	char port[32];  /* inet: the port */
};

/* How a Postfix milter entry compares with preflight's socket. */
enum match { M_NONE, M_EXACT, M_PORT, M_CHROOT };

/* One "name = value" line of postconf -x or -xP (in the output). */
struct kv {
	const char *name;
	const char *value;
};

/* A relay destination being checked. */
struct relay {
	const char *src;  /* the parameter that names it */
	const char *dest; /* as written: [host]:port */
	char host[256];   /* without brackets and port */
	int port;         /* 587, 465, or 0 for another */
	char map[512];    /* the password map asked last */
};

/* The audit: what preflight and Postfix say. */
struct audit {
	struct pfl_ctx *ctx;
	const char *dir;          /* --postfix-dir, or NULL */
	struct sock self;         /* preflight's socket */
	char self_text[600];      /* ... in Postfix's form */
	struct sock signer;       /* opendkim.conf's Socket */
	bool have_signer;         /* ... was read */
	char *out[3];             /* postconf -x, -xP and -M output */
	struct kv *kv;            /* lines of out[0] and out[1] */
	size_t nkv;               /* ... how many */
	char transport[64];       /* default_transport's service */
	char *relays[MAX_RELAYS]; /* relays checked (copies) */
	size_t nrelays;
	enum level worst;
};

static bool say(struct audit *, enum level, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight check-config [-c CONFIG] [--postfix-dir DIR] "
	    "[--milter ADDR]\n");
	return EX_USAGE;
}

/* say - "ok|warn|error NAME: what[; fix: FIX]", printable; is it ok? */
static bool
say(struct audit *a, enum level lv, const char *name, const char *fix,
    const char *fmt, ...)
{
	static const char *names[] = { "ok", "warn", "error" };
	va_list ap;

	va_start(ap, fmt);
	pfl_cli_vsay(names[lv], 5, name, fix, fmt, ap);
	va_end(ap);
	if (lv > a->worst)
		a->worst = lv;
	return lv == L_OK;
}

/* now_ms - a monotonic clock in milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* child - become argv[0] (PATH, then fallback); never returns */
static void
child(char *const argv[], const char *fallback, int out, int err)
{
	static const char msg[] = "not found in PATH nor in /usr/sbin\n";
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* its own process group: a timeout kills what it started too */
	if (setpgid(0, 0) < 0 || null < 0 || dup2(null, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	execvp(argv[0], argv);
	execv(fallback, argv);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(127);
}

/* drain - read what fd has into buf (size n, length *len); 0 at EOF */
static int
drain(int fd, char *buf, size_t n, size_t *len)
{
	char scratch[4096];
	ssize_t r;

	if (*len + 1 < n)
		r = read(fd, buf + *len, n - *len - 1);
	else
		r = read(fd, scratch, sizeof(scratch));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (r <= 0)
		return 0;
	if (*len + 1 < n)
		*len += (size_t)r;
	buf[*len] = '\0';
	return 1;
}

/* collect - both pipes until EOF or the deadline; 0, or -1 timed out */
static int
collect(int fds[2], char *out, size_t *outlen, char *err, size_t *errlen,
    size_t errsize)
{
	long long end = now_ms() + RUN_TIMEOUT_MS, left;
	struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
	int i;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if ((left = end - now_ms()) <= 0)
			return -1;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			if (!(i == 0 ? drain(p[i].fd, out, RUN_MAX_OUT, outlen)
				     : drain(p[i].fd, err, errsize, errlen)))
				p[i].fd = -1;
		}
	}
	return 0;
}

/* first_line - the "fatal:" line of a command's stderr, else its first */
static void
first_line(char *err)
{
	char *f = strstr(err, "fatal:"), *nl;

	if (f != NULL) {
		while (f > err && f[-1] != '\n')
			f--;
		memmove(err, f, strlen(f) + 1);
	}
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
}

/* close_pair - close end i of a pipe, if open */
static void
close_pair(int p[2], int i)
{
	if (p[i] >= 0)
		close(p[i]);
	p[i] = -1;
}

/*
 * run - argv's standard output into *out_r (the caller frees it); its
 * exit status, or -1 when it was killed or timed out. The line of its
 * standard error that says why goes to err (size n).
 */
static int
run(char *const argv[], char **out_r, char *err, size_t n)
{
	char fallback[64];
	int o[2] = { -1, -1 }, e[2] = { -1, -1 }, fds[2], status = 0;
	size_t outlen = 0, errlen = 0;
	pid_t pid = -1;

	snprintf(fallback, sizeof(fallback), "/usr/sbin/%s", argv[0]);
	*out_r = pfl_xmalloc(RUN_MAX_OUT);
	**out_r = *err = '\0';
	if (pipe2(o, O_CLOEXEC) == 0 && pipe2(e, O_CLOEXEC) == 0 &&
	    (pid = fork()) == 0)
		child(argv, fallback, o[1], e[1]);
	if (pid < 0)
		snprintf(err, n, "%s: %s", argv[0], strerror(errno));
	else
		(void)setpgid(pid, pid); /* as the child does: no race */
	close_pair(o, 1);
	close_pair(e, 1);
	fds[0] = o[0];
	fds[1] = e[0];
	if (pid > 0 && collect(fds, *out_r, &outlen, err, &errlen, n) < 0) {
		kill(-pid, SIGKILL);
		snprintf(err, n, "%s: no answer in %d s", argv[0],
		    RUN_TIMEOUT_MS / 1000);
	}
	close_pair(o, 0);
	close_pair(e, 0);
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	first_line(err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* postfix_cmd - run PROG [-c DIR] ARGS... (NULL-terminated) */
static int
postfix_cmd(const struct audit *a, const char *prog, const char *const *args,
    char **out_r, char *err, size_t n)
{
	const char *argv[MAX_ARGS];
	size_t i = 0;

	argv[i++] = prog;
	if (a->dir != NULL) {
		argv[i++] = "-c";
		argv[i++] = a->dir;
	}
	while (*args != NULL && i < MAX_ARGS - 1)
		argv[i++] = *args++;
	argv[i] = NULL;
	return run((char *const *)argv, out_r, err, n);
}

/* kv_parse - index the "name = value" lines of text (cut in place) */
static void
kv_parse(struct audit *a, char *text)
{
	char *line, *next, *eq;

	for (line = text; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if ((eq = strstr(line, " = ")) == NULL &&
		    (eq = strstr(line, " =")) == NULL)
			continue;
		*eq = '\0';
		a->kv = pfl_xrealloc(a->kv, (a->nkv + 1) * sizeof(*a->kv));
		a->kv[a->nkv].name = line;
		a->kv[a->nkv++].value =
		    eq[1] == '=' && eq[2] == ' ' ? eq + 3 : eq + 2;
	}
}

/* param - a main.cf value or a svc/type/name override; NULL when unset */
static const char *
param(const struct audit *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nkv; i++)
		if (strcmp(a->kv[i].name, name) == 0)
			return a->kv[i].value;
	return NULL;
}

/* main_param - a main.cf value, "" when unset */
static const char *
main_param(const struct audit *a, const char *name)
{
	const char *v = param(a, name);

	return v ? v : "";
}

/* client_param - an smtp client setting as default_transport sees it */
static const char *
client_param(const struct audit *a, const char *name)
{
	char key[256];
	const char *v;

	snprintf(key, sizeof(key), "%s/unix/%s", a->transport, name);
	return (v = param(a, key)) != NULL ? v : main_param(a, name);
}

/* read_postfix - postconf -x NAMES, -xP and -M; 0, or EX_UNAVAILABLE */
static int
read_postfix(struct audit *a)
{
	static const char *const names[] = { "-x", "queue_directory",
		"default_transport", "relayhost",
		"sender_dependent_relayhost_maps", "smtpd_milters",
		"non_smtpd_milters", "milter_default_action", "smtp_helo_name",
		"smtp_tls_security_level", "smtp_use_tls", "smtp_enforce_tls",
		"smtp_tls_wrappermode", "smtp_sasl_auth_enable",
		"smtp_sasl_password_maps",
		"smtp_sender_dependent_authentication", NULL };
	static const char *const over[] = { "-xP", NULL };
	static const char *const master[] = { "-M", NULL };
	const char *const *const cmds[] = { names, over, master };
	char err[512];
	size_t i;
	int rc;

	for (i = 0; i < 3; i++) {
		if ((rc = postfix_cmd(a, "postconf", cmds[i], &a->out[i], err,
			 sizeof(err))) != 0) {
			fprintf(stderr,
			    "preflight: postconf%s%s %s failed%s%s\n",
			    a->dir ? " -c " : "", a->dir ? a->dir : "",
			    cmds[i][0], *err ? ": " : "", err);
			return EX_UNAVAILABLE;
		}
	}
	kv_parse(a, a->out[0]);
	kv_parse(a, a->out[1]);
	snprintf(a->transport, sizeof(a->transport), "%.*s",
	    (int)strcspn(main_param(a, "default_transport"), ":"),
	    main_param(a, "default_transport"));
	return 0;
}

/* sock_from_milter - a libmilter spec (unix:P, local:P, inet:PORT@HOST) */
static bool
sock_from_milter(const char *spec, struct sock *s)
{
	const char *p, *at;
	int len;

	memset(s, 0, sizeof(*s));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		spec = strchr(spec, ':') + 1;
	if (*spec == '/')
		return (size_t)snprintf(s->path, sizeof(s->path), "%s", spec) <
		    sizeof(s->path);
	if (strncmp(spec, "inet:", 5) != 0 && strncmp(spec, "inet6:", 6) != 0)
		return false;
	p = strchr(spec, ':') + 1;
	if ((at = strchr(p, '@')) == NULL)
		at = p + strlen(p);
	len = snprintf(s->port, sizeof(s->port), "%.*s", (int)(at - p), p);
	if (*at == '@')
		snprintf(s->host, sizeof(s->host), "%.*s",
		    (int)strcspn(at + 1 + (at[1] == '['), "]"),
		    at + 1 + (at[1] == '['));
	return len > 0 && (size_t)len < sizeof(s->port);
}

/*
 * sock_from_postfix - a Postfix milter address (unix:P, inet:HOST:PORT,
 * inet:[V6]:PORT); a relative path lies under qdir, and so does an
 * absolute one when the service is chrooted (there)
 */
static bool
sock_from_postfix(const char *e, const char *qdir, bool chroot, struct sock *s)
{
	const char *p, *colon;

	memset(s, 0, sizeof(*s));
	if (strncmp(e, "unix:", 5) == 0 || strncmp(e, "local:", 6) == 0) {
		p = strchr(e, ':') + 1;
		snprintf(s->path, sizeof(s->path), "%s%s%s",
		    *p != '/' || chroot ? qdir : "", *p != '/' ? "/" : "", p);
		return true;
	}
	if (strncmp(e, "inet:", 5) != 0)
		return false;
	p = e + 5;
	if (*p == '[' && (colon = strchr(p, ']')) != NULL) {
		snprintf(s->host, sizeof(s->host), "%.*s", (int)(colon - p - 1),
		    p + 1);
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else if ((colon = strrchr(p, ':')) != NULL)
		snprintf(s->host, sizeof(s->host), "%.*s", (int)(colon - p), p);
	snprintf(s->port, sizeof(s->port), "%s", colon ? colon + 1 : p);
	return true;
}

/* sock_text - a socket in Postfix's form into buf (size n) */
static char *
sock_text(const struct sock *s, char *buf, size_t n)
{
	const char *h = *s->host ? s->host : "127.0.0.1";

	if (*s->path)
		snprintf(buf, n, "unix:%s", s->path);
	else
		snprintf(buf, n, strchr(h, ':') ? "inet:[%s]:%s" : "inet:%s:%s",
		    h, s->port);
	return buf;
}

/* loopback - does h name this machine's loopback? */
static bool
loopback(const char *h)
{
	unsigned char b[16];

	if (pfl_strcaseeq(h, "localhost"))
		return true;
	if (inet_pton(AF_INET, h, b) == 1)
		return b[0] == 127;
	return inet_pton(AF_INET6, h, b) == 1 &&
	    memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
}

/* same_path - are p and q one file (by name, or both resolved)? */
static bool
same_path(const char *p, const char *q)
{
	char *rp, *rq;
	bool same;

	if (strcmp(p, q) == 0)
		return true;
	rp = realpath(p, NULL);
	rq = realpath(q, NULL);
	same = rp != NULL && rq != NULL && strcmp(rp, rq) == 0;
	free(rp);
	free(rq);
	return same;
}

/* sock_match - how entry t (in Postfix's form) compares with ours */
static enum match
sock_match(
    const struct sock *ours, const char *t, const char *qdir, bool chroot)
{
	struct sock s;
	const char *h;

	if (!sock_from_postfix(t, qdir, chroot, &s))
		return M_NONE;
	if (*ours->path || *s.path) {
		if (*ours->path && *s.path && same_path(ours->path, s.path))
			return M_EXACT;
		if (chroot && *s.path &&
		    sock_from_postfix(t, qdir, false, &s) && *ours->path &&
		    same_path(ours->path, s.path))
			return M_CHROOT;
		return M_NONE;
	}
	if (strcmp(ours->port, s.port) != 0)
		return M_NONE;
	h = ours->host;
	if (*h == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ||
	    pfl_strcaseeq(h, s.host) || (loopback(h) && loopback(s.host)))
		return M_EXACT;
	return M_PORT;
}

/* list_next - the next item of a Postfix list, a {...} group whole */
static bool
list_next(const char **cur, char *buf, size_t n)
{
	const char *p = *cur + strspn(*cur, ", \t\n"), *q;
	int depth = 0;

	if (*p == '\0')
		return false;
	for (q = p; *q && (depth > 0 || !strchr(", \t\n", *q)); q++)
		depth += *q == '{' ? 1 : *q == '}' ? -1 : 0;
	snprintf(buf, n, "%.*s", (int)(q - p), p);
	*cur = q;
	return true;
}

/* milter_next - the address of the next entry of a milter list */
static bool
milter_next(const char **cur, char *buf, size_t n)
{
	char *p;

	if (!list_next(cur, buf, n))
		return false;
	if (*buf == '{') {
		p = buf + 1 + strspn(buf + 1, " \t\n");
		memmove(buf, p, strcspn(p, ", \t\n}"));
		buf[strcspn(p, ", \t\n}")] = '\0';
	}
	return true;
}

/* is_signer - does a milter entry look like a DKIM signer? */
static bool
is_signer(
    const struct audit *a, const char *entry, const char *qdir, bool chroot)
{
	char low[300];
	size_t i;

	for (i = 0; entry[i] && i < sizeof(low) - 1; i++)
		low[i] =
		    (char)(entry[i] >= 'A' && entry[i] <= 'Z' ? entry[i] + 32
							      : entry[i]);
	low[i] = '\0';
	return strstr(low, "dkim") != NULL ||
	    (a->have_signer &&
		sock_match(&a->signer, entry, qdir, chroot) == M_EXACT);
}

/* list_scan - where ours (*at_r, -1) and any signer after it are */
static enum match
list_scan(const struct audit *a, const char *list, bool chroot, int *at_r,
    char *other, char *signer, size_t n)
{
	const char *qdir = main_param(a, "queue_directory");
	enum match m, best = M_NONE;
	char entry[300];
	int i;

	*at_r = -1;
	*signer = *other = '\0';
	for (i = 0; milter_next(&list, entry, sizeof(entry)); i++) {
		m = sock_match(&a->self, entry, qdir, chroot);
		if (m == M_EXACT && *at_r < 0) {
			*at_r = i;
		} else if (m != M_NONE && m != M_EXACT) {
			if (best == M_NONE)
				snprintf(other, n, "%s", entry);
			best = best == M_NONE ? m : best;
		} else if (*at_r >= 0 && !*signer &&
		    is_signer(a, entry, qdir, chroot)) {
			snprintf(signer, n, "%s", entry);
		}
	}
	return *at_r >= 0 ? M_EXACT : best;
}

/* check_list - preflight in one milter list (local: non_smtpd_milters) */
static void
check_list(struct audit *a, const char *name, const char *list, bool chroot,
    bool local)
{
	const char *qdir = main_param(a, "queue_directory");
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	char other[300], signer[300], fix[1024];
	enum match m;
	int at;

	m = list_scan(a, list, chroot, &at, other, signer, sizeof(other));
	snprintf(fix, sizeof(fix),
	    base == name ? "%s = %s%s%s" : "-o %s=%s%s%s", base, list,
	    *list ? ", " : "", a->self_text);
	if (m == M_EXACT && *signer)
		say(a, L_WARN, name,
		    "list preflight after the DKIM signer so "
		    "it sees the signature",
		    "%s comes before the DKIM signer %s", a->self_text, signer);
	else if (m == M_EXACT)
		say(a, L_OK, name, NULL, "%s is listed", a->self_text);
	else if (m == M_CHROOT)
		say(a, L_ERROR, name,
		    "put preflight's Socket under the queue directory "
		    "(unix:QUEUE_DIR/preflight/milter.sock, listed as "
		    "unix:preflight/milter.sock), or set the service's chroot "
		    "column to n in master.cf",
		    "%s runs chrooted in %s, so %s is not preflight's %s",
		    strchr(name, '/') ? "the service"
			: local       ? "cleanup"
				      : "smtpd",
		    qdir, other, a->self_text);
	else if (m == M_PORT)
		say(a, L_WARN, name,
		    "name preflight's address, or use --milter",
		    "%s has preflight's port but preflight listens on %s",
		    other, a->self_text);
	else
		say(a, local ? L_WARN : L_ERROR, name, fix,
		    "%s is not listed%s", a->self_text,
		    local ? ": locally submitted mail (sendmail(1), cron) "
			    "is not checked"
			  : ": mail passes unchecked");
}

/* service_field - field i of a postconf -M line into buf (size n) */
static void
service_field(const char *line, int i, char *buf, size_t n)
{
	size_t len;

	line += strspn(line, " \t");
	while (i-- > 0) {
		line += strcspn(line, " \t\n");
		line += strspn(line, " \t");
	}
	len = strcspn(line, " \t\n");
	snprintf(buf, n, "%.*s", (int)len, line);
}

/* check_milters - param in main.cf and in each service of command */
static void
check_milters(
    struct audit *a, const char *param_name, const char *command, bool local)
{
	char svc[128], type[32], ch[8], cmd[64], key[256];
	const char *line, *next, *v;
	bool any = false, seen = false, chroot = false;

	for (line = a->out[2]; *line; line = next) {
		next = line + strcspn(line, "\n");
		next += *next == '\n';
		service_field(line, 7, cmd, sizeof(cmd));
		if (strcmp(cmd, command) != 0)
			continue;
		seen = true;
		service_field(line, 0, svc, sizeof(svc));
		service_field(line, 1, type, sizeof(type));
		service_field(line, 4, ch, sizeof(ch));
		snprintf(key, sizeof(key), "%s/%s/%s", svc, type, param_name);
		if ((v = param(a, key)) == NULL) {
			any = true;
			chroot |= strcmp(ch, "y") == 0;
		} else if (*v == '\0')
			say(a, L_WARN, key, NULL,
			    "-o %s= in master.cf: no milter sees the mail this "
			    "service receives (fine only for a content "
			    "filter's "
			    "return path)",
			    param_name);
		else
			check_list(a, key, v, strcmp(ch, "y") == 0, local);
	}
	if (any || !seen)
		check_list(
		    a, param_name, main_param(a, param_name), chroot, local);
}

/* tls_rank - 0 plaintext, 1 opportunistic TLS, 2 TLS required, -1 bad */
static int
tls_rank(const char *level)
{
	static const char *const req[] = { "encrypt", "dane-only",
		"fingerprint", "verify", "secure", NULL };
	int i;

	if (strcmp(level, "none") == 0)
		return 0;
	if (strcmp(level, "may") == 0 || strcmp(level, "dane") == 0)
		return 1;
	for (i = 0; req[i]; i++)
		if (strcmp(level, req[i]) == 0)
			return 2;
	return -1;
}

/* tls_level - the smtp client's TLS level (older smtp_*_tls too) */
static const char *
tls_level(const struct audit *a)
{
	const char *v = client_param(a, "smtp_tls_security_level");

	if (*v)
		return v;
	if (strcmp(client_param(a, "smtp_enforce_tls"), "yes") == 0)
		return "encrypt";
	return strcmp(client_param(a, "smtp_use_tls"), "yes") == 0 ? "may"
								   : "none";
}

/* check_tls - TLS to the receivers */
static void
check_tls(struct audit *a)
{
	const char *lv = tls_level(a);
	int r = tls_rank(lv);

	if (r > 0)
		say(a, L_OK, "smtp_tls_security_level", NULL, "%s", lv);
	else
		say(a, L_WARN, "smtp_tls_security_level",
		    "smtp_tls_security_level = may",
		    r == 0 ? "%s: mail leaves in plaintext; Gmail marks "
			     "unencrypted mail, and Microsoft and other "
			     "receivers increasingly refuse or flag it"
			   : "%s is not a level Postfix knows",
		    lv);
}

/* check_helo - the HELO name against the config's EgressHelo */
static void
check_helo(struct audit *a)
{
	const char *helo = client_param(a, "smtp_helo_name");
	const char *want = a->ctx->cfg->egress_helo;
	char fix[512];

	if (want == NULL) {
		snprintf(
		    fix, sizeof(fix), "EgressHelo %s in preflight.conf", helo);
		say(a, L_WARN, "smtp_helo_name", fix,
		    "%s, but EgressHelo is not set: preflight judges bounces "
		    "as from postmaster@localhost",
		    helo);
	} else if (!pfl_strcaseeq(helo, want)) {
		snprintf(fix, sizeof(fix),
		    "smtp_helo_name = %s in main.cf, or EgressHelo %s", want,
		    helo);
		say(a, L_WARN, "smtp_helo_name", fix,
		    "Postfix says HELO %s, preflight's EgressHelo is %s: SPF "
		    "of bounces is judged for the wrong name",
		    helo, want);
	} else
		say(a, L_OK, "smtp_helo_name", NULL, "%s, as EgressHelo", helo);
}

/* check_default_action - what happens to mail while preflight is down */
static void
check_default_action(struct audit *a)
{
	const char *v = main_param(a, "milter_default_action");
	const char *what = "see postconf(5)";

	if (strcmp(v, "accept") == 0)
		what = "while preflight is down mail flows unchecked";
	else if (strcmp(v, "tempfail") == 0)
		what = "while preflight is down mail waits (4xx) and is "
		       "retried";
	else if (strcmp(v, "reject") == 0)
		what = "while preflight is down mail is refused (5xx)";
	else if (strcmp(v, "quarantine") == 0)
		what = "while preflight is down mail is accepted into the hold "
		       "queue";
	say(a, L_OK, "milter_default_action", NULL, "%s: %s", v, what);
}

/* relay_parse - host and port (587, 465, or 0 for another) of r->dest */
static void
relay_parse(struct relay *r)
{
	const char *d = r->dest, *end, *port = "";

	if (*d == '[' && (end = strchr(d, ']')) != NULL) {
		snprintf(r->host, sizeof(r->host), "%.*s", (int)(end - d - 1),
		    d + 1);
		if (end[1] == ':')
			port = end + 2;
	} else {
		end = d + strcspn(d, ":");
		snprintf(r->host, sizeof(r->host), "%.*s", (int)(end - d), d);
		if (*end == ':')
			port = end + 1;
	}
	r->port = 0;
	if (strcmp(port, "587") == 0 || strcmp(port, "submission") == 0)
		r->port = 587;
	else if (strcmp(port, "465") == 0 || strcmp(port, "smtps") == 0 ||
	    strcmp(port, "submissions") == 0)
		r->port = 465;
}

/* vendor - what Microsoft 365 or Google need besides Postfix */
static const char *
vendor(const char *host)
{
	size_t n = strlen(host);

	if ((n >= 13 && pfl_strcaseeq(host + n - 13, "office365.com")) ||
	    (n >= 11 && pfl_strcaseeq(host + n - 11, "outlook.com")))
		return "; Microsoft 365 also needs SMTP AUTH enabled on the "
		       "mailbox (an app password when MFA is on)";
	if (n >= 9 && pfl_strcaseeq(host + n - 9, "gmail.com"))
		return "; Google needs an app password (smtp.gmail.com) or the "
		       "SMTP relay service allowing this server "
		       "(smtp-relay.gmail.com)";
	return "";
}

/*
 * password_entry - 1 when a password map has the relay as it is written
 * or its host name (the keys the smtp client asks), 0 when none has, -1
 * when r->map cannot be read (postmap's reason in err)
 */
static int
password_entry(
    struct audit *a, struct relay *r, const char *maps, char *err, size_t n)
{
	const char *keys[2] = { r->dest, r->host }, *args[4] = { "-q" };
	char *out;
	int k, rc;

	while (list_next(&maps, r->map, sizeof(r->map)))
		for (k = 0; k < 2; k++) {
			args[1] = keys[k];
			args[2] = r->map;
			rc = postfix_cmd(a, "postmap", args, &out, err, n);
			free(out);
			if (rc == 0)
				return 1;
			if (rc != 1 || *err)
				return -1;
		}
	return 0;
}

/* check_auth - SMTP AUTH towards a relay on a submission port */
static bool
check_auth(struct audit *a, struct relay *r)
{
	const char *maps = client_param(a, "smtp_sasl_password_maps");
	char fix[1024], err[512];
	int has;

	snprintf(fix, sizeof(fix),
	    "smtp_sasl_auth_enable = yes and smtp_sasl_password_maps = "
	    "hash:/etc/postfix/sasl_passwd with the line \"%s user:password\" "
	    "(then postmap it)%s",
	    r->dest, vendor(r->host));
	if (strcmp(client_param(a, "smtp_sasl_auth_enable"), "yes") != 0)
		return say(a, L_ERROR, r->src, fix,
		    "%s takes mail only from authenticated clients but "
		    "smtp_sasl_auth_enable is not yes: it will answer "
		    "530 5.7.57 Client not authenticated or 550 5.7.1 "
		    "Relaying denied",
		    r->dest);
	if (*maps == '\0')
		return say(a, L_ERROR, r->src, fix,
		    "%s: smtp_sasl_password_maps is empty: Postfix has "
		    "no password to give (530 5.7.57 Client not "
		    "authenticated)",
		    r->dest);
	/* per-sender passwords are keyed by senders we do not know */
	if (strcmp(client_param(a, "smtp_sender_dependent_authentication"),
		"yes") == 0)
		return true;
	if ((has = password_entry(a, r, maps, err, sizeof(err))) < 0)
		return say(a, L_ERROR, r->src,
		    "postmap the map, or fix its type",
		    "%s cannot be read (%s): mail to %s is deferred", r->map,
		    err, r->dest);
	if (has == 0)
		return say(a, L_ERROR, r->src, fix,
		    "%s has no entry for %s (nor %s): Postfix does not "
		    "authenticate and the relay answers 530 5.7.57",
		    maps, r->dest, r->host);
	return true;
}

/* check_relay_tls - the TLS the relay's port needs */
static bool
check_relay_tls(struct audit *a, const struct relay *r)
{
	const char *lv = tls_level(a);
	int rank = tls_rank(lv);

	if (r->port == 465 &&
	    strcmp(client_param(a, "smtp_tls_wrappermode"), "yes") != 0)
		return say(a, L_ERROR, r->src,
		    "smtp_tls_wrappermode = yes and "
		    "smtp_tls_security_level = encrypt",
		    "%s expects TLS from the first byte, but "
		    "smtp_tls_wrappermode is not yes: the session "
		    "stalls and mail is deferred",
		    r->dest);
	if (rank == 2)
		return true;
	if (r->port == 587 && rank == 1)
		return say(a, L_WARN, r->src,
		    "smtp_tls_security_level = encrypt",
		    "%s with smtp_tls_security_level = %s: the password "
		    "goes in clear if STARTTLS is not offered",
		    r->dest, lv);
	return say(a, L_ERROR, r->src, "smtp_tls_security_level = encrypt",
	    "%s with smtp_tls_security_level = %s: %s", r->dest, lv,
	    r->port == 465 ? "wrapper mode needs encrypt or stronger"
			   : "the password would go in clear, and the "
			     "relay offers AUTH only after STARTTLS");
}

/* check_relay - one relay destination (src: where it was configured) */
static void
check_relay(struct audit *a, const char *src, const char *dest)
{
	struct relay r = { .src = src, .dest = dest };
	size_t i;
	bool good;

	for (i = 0; i < a->nrelays; i++)
		if (strcmp(a->relays[i], dest) == 0)
			return;
	if (a->nrelays < MAX_RELAYS)
		a->relays[a->nrelays++] = pfl_xstrdup(dest);
	relay_parse(&r);
	if (r.port == 0) {
		say(a, L_OK, src, NULL,
		    "%s: not a submission port, no SMTP AUTH needed", dest);
		return;
	}
	good = check_auth(a, &r);
	if (check_relay_tls(a, &r) && good)
		say(a, L_OK, src, NULL, "%s with SMTP AUTH over TLS (%s%s)",
		    dest, tls_level(a), r.port == 465 ? ", wrapper mode" : "");
}

/* check_relay_maps - the relays of sender_dependent_relayhost_maps */
static void
check_relay_maps(struct audit *a, const char *maps)
{
	const char *name = "sender_dependent_relayhost_maps";
	const char *args[3] = { "-s", NULL, NULL };
	char map[512], err[512], *out, *line, *next, *v;

	while (list_next(&maps, map, sizeof(map))) {
		args[1] = map;
		if (postfix_cmd(a, "postmap", args, &out, err, sizeof(err))) {
			say(a, L_WARN, name, NULL,
			    "%s cannot be listed (%s): its relays are not "
			    "checked",
			    map, err);
			free(out);
			continue;
		}
		for (line = out; *line; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			else
				next = line + strlen(line);
			v = line + strcspn(line, " \t");
			v += strspn(v, " \t");
			if (*v && !pfl_strcaseeq(v, "DUNNO"))
				check_relay(a, name, v);
		}
		free(out);
	}
}

/* smtp_service - is name a master.cf service of the smtp client? */
static bool
smtp_service(const struct audit *a, const char *name)
{
	char svc[128], cmd[64];
	const char *line;

	for (line = a->out[2]; *line; line += strcspn(line, "\n")) {
		line += *line == '\n';
		service_field(line, 0, svc, sizeof(svc));
		service_field(line, 7, cmd, sizeof(cmd));
		if (strcmp(svc, name) == 0 && strcmp(cmd, "smtp") == 0)
			return true;
	}
	return false;
}

/* check_relays - relayhost, default_transport's nexthop, per sender */
static void
check_relays(struct audit *a)
{
	const char *list = main_param(a, "relayhost");
	const char *dt = main_param(a, "default_transport");
	const char *maps = main_param(a, "sender_dependent_relayhost_maps");
	char dest[512];

	if (*list == '\0' && *maps == '\0' &&
	    (strchr(dt, ':') == NULL || !smtp_service(a, a->transport)))
		say(a, L_OK, "relayhost", NULL,
		    "none: mail goes to the receivers' MX hosts");
	while (list_next(&list, dest, sizeof(dest)))
		check_relay(a, "relayhost", dest);
	if (strchr(dt, ':') != NULL && dt[strlen(dt) - 1] != ':' &&
	    smtp_service(a, a->transport))
		check_relay(a, "default_transport", strchr(dt, ':') + 1);
	check_relay_maps(a, maps);
}

/* read_signer - the Socket of opendkim.conf, when it can be read */
static void
read_signer(struct audit *a)
{
	char line[1024], *v;
	FILE *fp;

	if ((fp = fopen(OPENDKIM_CONF, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		v = line + strcspn(line, " \t\n");
		if (*v == '\0' || (size_t)(v - line) != 6 ||
		    strncasecmp(line, "Socket", 6) != 0)
			continue;
		*v++ = '\0';
		/* a later line wins in opendkim.conf */
		a->have_signer = sock_from_milter(pfl_trim(v), &a->signer);
	}
	fclose(fp);
}

/* find_self - preflight's socket from --milter or the config */
static int
find_self(struct audit *a, const char *milter)
{
	const char *spec = milter ? milter : a->ctx->cfg->socket;
	bool ok;

	if (milter == NULL || strchr(milter, '@') ||
	    strncmp(milter, "inet6:", 6) == 0)
		ok = sock_from_milter(spec, &a->self);
	else
		ok = sock_from_postfix(spec, "", false, &a->self);
	if (!ok || (*a->self.path == '\0' && *a->self.port == '\0')) {
		fprintf(stderr, "preflight: %s: not a milter address\n", spec);
		return EX_USAGE;
	}
	sock_text(&a->self, a->self_text, sizeof(a->self_text));
	return 0;
}

/* audit - every check, once the config and Postfix are read */
static void
audit(struct audit *a)
{
	check_tls(a);
	check_helo(a);
	check_milters(a, "smtpd_milters", "smtpd", false);
	check_milters(a, "non_smtpd_milters", "cleanup", true);
	check_default_action(a);
	check_relays(a);
}

/* pfl_cli_check_config - preflight check-config */
int
pfl_cli_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "postfix-dir", required_argument, NULL, 'd' },
		{ "milter", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PFL_DEFAULT_CONFIG, *milter = NULL;
	struct audit a = { 0 };
	int c, rc;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 'd')
			a.dir = optarg;
		else if (c == 'm')
			milter = optarg;
		else
			return usage();
	}
	if (optind != argc)
		return usage();
	if ((a.ctx = pfl_cli_load(config)) == NULL)
		return EX_CONFIG;
	read_signer(&a);
	if ((rc = find_self(&a, milter)) == 0 && (rc = read_postfix(&a)) == 0) {
		audit(&a);
		rc = (int)a.worst;
	}
	for (i = 0; i < 3; i++)
		free(a.out[i]);
	for (i = 0; i < a.nrelays; i++)
		free(a.relays[i]);
	free(a.kv);
	pfl_ctx_unref(a.ctx);
	return rc;
}
