/*
 * NAME
 *	preflight-milter - predict receiver refusals of outbound mail
 * SYNOPSIS
 *	preflight-milter [-c FILE] [-n] [-f] [-V]
 * DESCRIPTION
 *	Reads the config, opens the milter socket, drops privileges and runs
 *	the milter protocol engine on a second thread. The main thread only
 *	waits for signals: SIGHUP and SIGUSR1 reload the config, SIGTERM and
 *	SIGINT stop.
 *
 *	The main thread also logs the statistics line: every STATS_INTERVAL
 *	when messages were decided, and at exit. Its DNS counts are the
 *	lookups of the current context's resolvers since the last line
 *	(those of a replaced context are taken at the reload).
 */
#include <autoconfig.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"
#include "daemon.h"
#include "dkim.h"
#include "dns.h"
#include "dnsbl.h"
#include "engine.h"
#include "glue.h"
#include "log.h"
#include "stats.h"
#include "util.h"
#include "version.h"

#define PROGNAME       "preflight-milter"
#define STATS_INTERVAL (60 * 1000000000ull) /* ns between stats lines */
#define THREAD_STACK   ((size_t)1 << 20)    /* bytes of stack a thread */

/* Set by the milter thread when the engine returns. */
static int milter_result;
static int milter_done;

/* The lookup counters at the last stats sample (main thread only). */
static struct pfl_stats_lookups seen;

/* usage - complain and exit */
static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c FILE] [-n] [-f] [-V]\n", PROGNAME);
	exit(EX_USAGE);
}

/* load - read the config and build its context; print every problem */
static struct pfl_ctx *
load(const char *path, bool to_log)
{
	struct pfl_ctx *ctx;
	char *errors = NULL, *line, *save = NULL;

	if ((ctx = pfl_ctx_load(path, &errors)) != NULL)
		return ctx;
	for (line = strtok_r(errors, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (to_log)
			pfl_log(PFL_LOG_ERR, "config: %s", line);
		else
			fprintf(stderr, "%s\n", line);
	}
	free(errors);
	return NULL;
}

/* log_setup - point the log where the config says */
static void
log_setup(const struct pfl_config *cfg)
{
	if (pfl_log_setup(PROGNAME, cfg->syslog, cfg->syslog_facility,
		cfg->log_file, cfg->log_level) < 0)
		pfl_log(PFL_LOG_ERR, "cannot open LogFile %s: %s",
		    cfg->log_file, strerror(errno));
}

/*
 * lookup_counts - lookups so far: of a context's resolvers, and of the
 * DKIM keys decoded (process-wide), hits and misses of each
 */
static void
lookup_counts(const struct pfl_ctx *ctx, struct pfl_stats_lookups *r)
{
	unsigned long h = 0, m = 0;

	pfl_dns_stats(ctx->dns, &r->dns_hits, &r->dns_misses);
	/* a DnsblResolver of its own, asked by the checks and the monitor */
	if (ctx->dnsbl != NULL && ctx->dnsbl->dns != NULL &&
	    ctx->dnsbl->dns != ctx->dns) {
		pfl_dns_stats(ctx->dnsbl->dns, &h, &m);
		r->dns_hits += h;
		r->dns_misses += m;
	}
	pfl_dkim_keycache_stats(&r->key_hits, &r->key_misses);
}

/* lookup_sample - hand the lookups since the last sample to the stats */
static void
lookup_sample(const struct pfl_ctx *ctx)
{
	struct pfl_stats_lookups now, d;

	lookup_counts(ctx, &now);
	d.dns_hits = now.dns_hits - seen.dns_hits;
	d.dns_misses = now.dns_misses - seen.dns_misses;
	d.key_hits = now.key_hits - seen.key_hits;
	d.key_misses = now.key_misses - seen.key_misses;
	pfl_stats_lookups(&d);
	seen = now;
}

/* stats_log - log the stats line (always when at_exit) */
static void
stats_log(bool at_exit)
{
	struct pfl_ctx *ctx = pfl_ctx_current();
	char line[512];

	if (ctx != NULL)
		lookup_sample(ctx);
	pfl_ctx_unref(ctx);
	if (pfl_stats_take(pfl_stats_now(), at_exit, line, sizeof(line)))
		pfl_log(PFL_LOG_INFO, "%s", line);
}

/* reload - swap in a new config if it loads; keep the old one if not */
static void
reload(const char *path)
{
	struct pfl_ctx *oldctx = pfl_ctx_current(), *ctx;
	const struct pfl_config *cfg, *old = oldctx->cfg;

	if ((ctx = load(path, true)) == NULL) {
		pfl_log(PFL_LOG_ERR,
		    "reload of %s failed; keeping the running configuration",
		    path);
		pfl_ctx_unref(oldctx);
		return;
	}
	cfg = ctx->cfg;
	if (strcmp(cfg->socket, old->socket) != 0 ||
	    (cfg->user_id == NULL) != (old->user_id == NULL) ||
	    (cfg->user_id && strcmp(cfg->user_id, old->user_id) != 0))
		pfl_log(PFL_LOG_WARNING,
		    "Socket and UserID changes take effect only on restart");
	log_setup(cfg);
	pfl_log(PFL_LOG_NOTICE, "reloaded %s (mode=%s)", path,
	    pfl_config_mode_name(cfg->mode));
	/* the old resolvers' lookups so far; the new ones count from here */
	lookup_sample(oldctx);
	lookup_counts(ctx, &seen);
	pfl_ctx_install(ctx);
	pfl_ctx_unref(oldctx);
	pfl_dnsbl_monitor_kick();
}

/* milter_thread - run the engine until it stops, then wake main */
static void *
milter_thread(void *arg)
{
	(void)arg;
	milter_result = pfl_glue_run();
	__atomic_store_n(&milter_done, 1, __ATOMIC_RELEASE);
	kill(getpid(), SIGUSR2);
	return NULL;
}

/*
 * open_socket - the milter socket with our umask, owned by UserID; an
 * inet socket gets TCP_NODELAY, which the connections it accepts
 * inherit: otherwise an answer may wait for a delayed ACK (40 ms)
 */
static int
open_socket(const struct pfl_config *cfg)
{
	const char *sock = cfg->socket;
	mode_t old;
	int fd;

	old = umask(cfg->umask);
	fd = pfl_engine_listen(sock);
	umask(old);
	if (fd < 0) {
		pfl_log(PFL_LOG_ERR, "cannot open milter socket %s: %s", sock,
		    strerror(errno));
		return -1;
	}
	if (strncmp(sock, "inet", 4) == 0) {
		if (pfl_daemon_nodelay(fd) < 0)
			pfl_log(PFL_LOG_WARNING,
			    "inet socket: cannot set TCP_NODELAY: %s",
			    strerror(errno));
		else
			pfl_log(PFL_LOG_INFO, "inet socket: TCP_NODELAY set");
	}
	if (cfg->user_id && geteuid() == 0 &&
	    (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0))
		(void)pfl_daemon_chown(strchr(sock, ':') + 1, cfg->user_id);
	return 0;
}

/*
 * root_refused - started as root with no UserID and no AllowRunAsRoot:
 * say so; asked before anything (socket, pid file) is made
 */
static bool
root_refused(const struct pfl_config *cfg)
{
	if (geteuid() != 0 || cfg->user_id != NULL || cfg->allow_root)
		return false;
	pfl_log(PFL_LOG_ERR,
	    "refusing to run as root: set UserID (or AllowRunAsRoot yes)");
	return true;
}

/* become_user - drop root for UserID when it is set */
static int
become_user(const struct pfl_config *cfg)
{
	char err[256];

	if (geteuid() != 0 || cfg->user_id == NULL)
		return 0;
	if (pfl_daemon_drop(cfg->user_id, err, sizeof(err)) < 0) {
		pfl_log(PFL_LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * next_signal - wait for one of set; log the stats line whenever the
 * deadline *next_ns (pfl_stats_now) passes on the way
 */
static int
next_signal(const sigset_t *set, uint64_t *next_ns)
{
	struct timespec ts;
	uint64_t now, wait;
	int sig;

	for (;;) {
		if ((now = pfl_stats_now()) >= *next_ns) {
			stats_log(false);
			*next_ns = now + STATS_INTERVAL;
		}
		wait = *next_ns - now;
		ts.tv_sec = (time_t)(wait / 1000000000u);
		ts.tv_nsec = (long)(wait % 1000000000u);
		if ((sig = sigtimedwait(set, NULL, &ts)) > 0)
			return sig;
	}
}

/* serve - run the milter thread and wait for signals */
static int
serve(const char *path)
{
	uint64_t next = pfl_stats_now() + STATS_INTERVAL;
	sigset_t set;
	pthread_t tid;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
		pfl_log(PFL_LOG_ERR, "cannot start the milter thread");
		return EX_OSERR;
	}
	pfl_dnsbl_monitor_start();
	for (;;) {
		sig = next_signal(&set, &next);
		if (sig == SIGHUP || sig == SIGUSR1) {
			reload(path);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			pfl_log(PFL_LOG_NOTICE, "stopping on signal %d", sig);
			pfl_engine_stop();
			break;
		}
		/* SIGUSR2 counts only when the milter thread sent it */
		if (__atomic_load_n(&milter_done, __ATOMIC_ACQUIRE))
			break;
	}
	pthread_join(tid, NULL);
	pfl_dnsbl_monitor_stop();
	return milter_result == 0 ? 0 : EX_SOFTWARE;
}

/*
 * thread_stacks - 1 MB stacks for the threads made from here on (those
 * of the protocol engine, libunbound's and ours)
 * instead of glibc's 8 MB: glibc keeps up to 40 MB of a finished
 * thread's stack for the next one, so with 8 MB stacks a thread per
 * connection meant an mmap and munmap of a stack for most connections.
 * The deepest stack in preflight (hostile MIME, 100 levels) uses a
 * small part of it, also under ASan.
 */
static void
thread_stacks(void)
{
	pthread_attr_t attr;

	if (pthread_getattr_default_np(&attr) != 0)
		return;
	(void)pthread_attr_setstacksize(&attr, THREAD_STACK);
	(void)pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
}

int
main(int argc, char **argv)
{
	const char *path = PFL_DEFAULT_CONFIG;
	char abspath[PATH_MAX], pidfile[PATH_MAX];
	bool check = false, foreground = false;
	const struct pfl_config *cfg;
	struct pfl_ctx *ctx;
	int ch, rc;

	/*
	 * the engine runs a thread per busy connection; glibc would give each
	 * its own malloc arena, most of the resident memory at 100 sessions
	 * (the benchmark measured 32-36 MB; 27 MB with one arena)
	 */
	(void)mallopt(M_ARENA_MAX, 2);
	thread_stacks();
	while ((ch = getopt(argc, argv, "c:nfVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'V':
			pfl_version_print(stdout, PROGNAME);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* reloads happen after chdir("/"): keep the file's absolute name */
	if (realpath(path, abspath) != NULL)
		path = abspath;
	if ((ctx = load(path, false)) == NULL)
		return EX_CONFIG;
	cfg = ctx->cfg;
	if (check) {
		printf("%s: configuration OK\n", path);
		pfl_ctx_unref(ctx);
		return 0;
	}
	pfl_log_stderr(foreground);
	log_setup(cfg);
	if (root_refused(cfg)) {
		pfl_ctx_unref(ctx);
		return EX_NOPERM;
	}
	/* so that a reload, run as UserID, can reopen it */
	if (cfg->log_file && cfg->user_id && geteuid() == 0)
		(void)pfl_daemon_chown(cfg->log_file, cfg->user_id);
	if (open_socket(cfg) < 0) {
		pfl_ctx_unref(ctx);
		return EX_UNAVAILABLE;
	}
	if (!foreground && pfl_daemon_background() < 0) {
		pfl_log(PFL_LOG_ERR, "cannot go to the background: %s",
		    strerror(errno));
		pfl_ctx_unref(ctx);
		return EX_OSERR;
	}
	/* cfg goes away with its context on a reload: copy what exit needs */
	pfl_strlcpy(
	    pidfile, cfg->pid_file ? cfg->pid_file : "", sizeof(pidfile));
	if (cfg->pid_file && pfl_daemon_pidfile(cfg->pid_file) < 0)
		pfl_log(PFL_LOG_WARNING, "cannot write %s: %s", cfg->pid_file,
		    strerror(errno));
	if (become_user(cfg) < 0) {
		pfl_ctx_unref(ctx);
		return EX_NOPERM;
	}
	if (pfl_daemon_no_new_privs() < 0)
		pfl_log(PFL_LOG_WARNING, "cannot set no_new_privs: %s",
		    strerror(errno));
	pfl_log(PFL_LOG_NOTICE, "%s %s starting: socket=%s mode=%s", PROGNAME,
	    PACKAGE_VERSION, cfg->socket, pfl_config_mode_name(cfg->mode));
	if (cfg->egress_addresses.n == 0)
		pfl_log(PFL_LOG_WARNING,
		    "EgressAddresses is not set: SPF as "
		    "receivers see it cannot be predicted");
	lookup_counts(ctx, &seen);
	pfl_stats_start(pfl_stats_now());
	pfl_ctx_install(ctx);
	rc = serve(path);
	stats_log(true);
	if (pidfile[0] != '\0')
		(void)unlink(pidfile); /* may fail after dropping root */
	pfl_log(PFL_LOG_NOTICE, "%s stopped", PROGNAME);
	return rc;
}
