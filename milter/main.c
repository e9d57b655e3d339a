/*
 * NAME
 *	preflight-milter - predict receiver refusals of outbound mail
 * SYNOPSIS
 *	preflight-milter [-c FILE] [-n] [-f] [-V]
 * DESCRIPTION
 *	Reads the config, opens the milter socket, drops privileges and runs
 *	libmilter on a second thread. The main thread only waits for
 *	signals: SIGHUP and SIGUSR1 reload the config, SIGTERM and SIGINT
 *	stop. libmilter's own signal thread would stop the milter on SIGHUP;
 *	Linux hands a process-directed signal to the main thread first when
 *	it is waiting for it, so ours is the one that sees SIGHUP.
 */
#include <autoconfig.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "config.h"
#include "ctx.h"
#include "dnsbl.h"
#include "daemon.h"
#include "glue.h"
#include "log.h"
#include "util.h"
#include "version.h"

#define PROGNAME "preflight-milter"

/* Set by the milter thread when smfi_main returns. */
static int milter_result;
static int milter_done;

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
	pfl_ctx_install(ctx);
	pfl_ctx_unref(oldctx);
	pfl_dnsbl_monitor_kick();
}

/* milter_thread - run libmilter until it stops, then wake main */
static void *
milter_thread(void *arg)
{
	milter_result = smfi_main();
	__atomic_store_n(&milter_done, 1, __ATOMIC_RELEASE);
	kill(getpid(), SIGUSR2);
	return NULL;
}

/* open_socket - libmilter socket with our umask, owned by UserID */
static int
open_socket(const struct pfl_config *cfg)
{
	const char *sock = cfg->socket;
	mode_t old;
	int rc;

	if (smfi_setconn((char *)sock) != MI_SUCCESS)
		return -1;
	old = umask(cfg->umask);
	rc = smfi_opensocket(1);
	umask(old);
	if (rc != MI_SUCCESS)
		return -1;
	if (cfg->user_id && geteuid() == 0 &&
	    (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0))
		(void)pfl_daemon_chown(strchr(sock, ':') + 1, cfg->user_id);
	return 0;
}

/* become_user - drop root as configured, or refuse to run as root */
static int
become_user(const struct pfl_config *cfg)
{
	char err[256];

	if (geteuid() != 0)
		return 0;
	if (cfg->user_id == NULL) {
		if (cfg->allow_root)
			return 0;
		pfl_log(PFL_LOG_ERR,
		    "refusing to run as root: set UserID "
		    "(or AllowRunAsRoot yes)");
		return -1;
	}
	if (pfl_daemon_drop(cfg->user_id, err, sizeof(err)) < 0) {
		pfl_log(PFL_LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

/* serve - run the milter thread and wait for signals */
static int
serve(const char *path)
{
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
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP || sig == SIGUSR1) {
			reload(path);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			pfl_log(PFL_LOG_NOTICE, "stopping on signal %d", sig);
			smfi_stop();
			break;
		}
		/* SIGUSR2 counts only when the milter thread sent it */
		if (__atomic_load_n(&milter_done, __ATOMIC_ACQUIRE))
			break;
	}
	pthread_join(tid, NULL);
	pfl_dnsbl_monitor_stop();
	return milter_result == MI_SUCCESS ? 0 : EX_SOFTWARE;
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
	/* so that a reload, run as UserID, can reopen it */
	if (cfg->log_file && cfg->user_id && geteuid() == 0)
		(void)pfl_daemon_chown(cfg->log_file, cfg->user_id);
	if (pfl_glue_register(PROGNAME) < 0 || open_socket(cfg) < 0) {
		pfl_log(
		    PFL_LOG_ERR, "cannot open milter socket %s", cfg->socket);
		return EX_UNAVAILABLE;
	}
	if (!foreground && pfl_daemon_background() < 0) {
		pfl_log(PFL_LOG_ERR, "cannot go to the background: %s",
		    strerror(errno));
		return EX_OSERR;
	}
	/* cfg goes away with its context on a reload: copy what exit needs */
	pfl_strlcpy(
	    pidfile, cfg->pid_file ? cfg->pid_file : "", sizeof(pidfile));
	if (cfg->pid_file && pfl_daemon_pidfile(cfg->pid_file) < 0)
		pfl_log(PFL_LOG_WARNING, "cannot write %s: %s", cfg->pid_file,
		    strerror(errno));
	if (become_user(cfg) < 0)
		return EX_NOPERM;
	pfl_log(PFL_LOG_NOTICE, "%s %s starting: socket=%s mode=%s", PROGNAME,
	    PACKAGE_VERSION, cfg->socket, pfl_config_mode_name(cfg->mode));
	if (cfg->egress_addresses.n == 0)
		pfl_log(PFL_LOG_WARNING,
		    "EgressAddresses is not set: SPF as "
		    "receivers see it cannot be predicted");
	pfl_ctx_install(ctx);
	rc = serve(path);
	if (pidfile[0] != '\0')
		(void)unlink(pidfile); /* may fail after dropping root */
	pfl_log(PFL_LOG_NOTICE, "%s stopped", PROGNAME);
	return rc;
}
