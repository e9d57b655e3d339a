/*
 * NAME
 *	preflight - the companion command
 * SYNOPSIS
 *	preflight version
 *	preflight config-check [FILE]
 *	preflight dns-query [--nameserver IP@PORT] [--timeout MS] NAME TYPE
 *	preflight spf --ip IP [--helo NAME] --mail-from ADDR [...]
 *	preflight dkim-verify [--nameserver IP@PORT] FILE
 *	preflight dkim-predict [-c CONFIG] --from ADDR [--nameserver IP@PORT]
 *	preflight provider [-c CONFIG] [--nameserver IP@PORT] DOMAIN...
 *	preflight check-message [-c CONFIG] --mail-from ADDR --rcpt ADDR...
 *	    [--egress-ip IP...] [--helo NAME] [--nameserver IP@PORT] [--json]
 *	    [FILE|-]
 *	preflight check-domain [-c CONFIG] [--egress-ip IP...]
 *	    [--selector S...] [--nameserver IP@PORT] DOMAIN
 *	preflight budget show [-c CONFIG] [--target T] [--scope S] [--key KEY]
 *	preflight budget reset [-c CONFIG] KEY
 *	preflight dnsbl status [-c CONFIG] [--refresh]
 *	preflight dnsbl check [-c CONFIG] IP|DOMAIN...
 *	preflight check-config [-c CONFIG] [--postfix-dir DIR] [--milter ADDR]
 *	preflight egress [-c CONFIG] [--egress-ip IP...] [--helo NAME]
 *	    [--nameserver IP@PORT]
 * DESCRIPTION
 *	Subcommands share the daemon's library, so they reach the same
 *	conclusions as the milter. This file dispatches to them and holds
 *	the option handling several of them share (cli.h).
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ctx.h"
#include "daemon.h"
#include "dns.h"
#include "util.h"
#include "version.h"

#define MAX_TIMEOUT_MS 600000

/* pfl_cli_timeout - a --timeout value in ms; -1 when it is not one */
int
pfl_cli_timeout(const char *arg, unsigned long *ms_r)
{
	char *end;
	unsigned long ms = strtoul(arg, &end, 10);

	if (*end || ms == 0 || ms > MAX_TIMEOUT_MS)
		return -1;
	*ms_r = ms;
	return 0;
}

/* pfl_cli_dns - a resolver; NULL after saying why */
struct pfl_dns *
pfl_cli_dns(const char *nameservers, unsigned long ms)
{
	struct pfl_dns *dns;
	char err[256];

	if ((dns = pfl_dns_new(nameservers, (unsigned)ms, err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "preflight: %s\n", err);
	return dns;
}

/* pfl_cli_load - the context of a config file */
struct pfl_ctx *
pfl_cli_load(const char *path)
{
	struct pfl_ctx *ctx;
	char *errors = NULL;

	if ((ctx = pfl_ctx_load(path, &errors)) == NULL && errors)
		fputs(errors, stderr);
	free(errors);
	return ctx;
}

/* pfl_cli_memory_note - the memory store cannot be seen from here */
int
pfl_cli_memory_note(void)
{
	fprintf(stderr,
	    "preflight: StateStore memory: the counts live inside each "
	    "preflight-milter process and die with it; no other process can "
	    "read or reset them (use lmdb:PATH or redis://...)\n");
	return EX_UNAVAILABLE;
}

/* pfl_cli_lmdb_absent - does spec name an LMDB file not there yet? */
bool
pfl_cli_lmdb_absent(const char *spec)
{
	struct stat sb;

	return strncmp(spec, "lmdb:", 5) == 0 && stat(spec + 5, &sb) < 0 &&
	    errno == ENOENT;
}

/* pfl_cli_open_store - the config's store, as the daemon's user */
struct pfl_store *
pfl_cli_open_store(struct pfl_ctx *ctx)
{
	const struct pfl_config *cfg = ctx->cfg;
	struct pfl_store *st;
	char err[256];

	if (geteuid() == 0 && cfg->user_id != NULL &&
	    pfl_daemon_drop(cfg->user_id, err, sizeof(err)) < 0) {
		fprintf(
		    stderr, "preflight: UserID %s: %s\n", cfg->user_id, err);
		return NULL;
	}
	if ((st = pfl_ctx_store(ctx, err, sizeof(err))) == NULL)
		fprintf(stderr, "preflight: %s\n", err);
	return st;
}

/* pfl_cli_vsay - one audit line "LABEL NAME: what[; fix: FIX]", printable */
void
pfl_cli_vsay(const char *label, int width, const char *name, const char *fix,
    const char *fmt, va_list ap)
{
	char what[2048], line[3072], safe[3072];

	vsnprintf(what, sizeof(what), fmt, ap);
	snprintf(line, sizeof(line), "%-*s %s: %s%s%s", width, label, name,
	    what, fix ? "; fix: " : "", fix ? fix : "");
	puts(pfl_printable(safe, sizeof(safe), line, NULL));
}

/* pfl_cli_valid_ip - an IPv4 or IPv6 address in text form */
bool
pfl_cli_valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* usage - list the subcommands */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight version\n"
	    "       preflight config-check [FILE]\n"
	    "       preflight config-check --keys\n"
	    "       preflight dns-query [--nameserver IP@PORT] [--timeout MS] "
	    "NAME TYPE\n"
	    "       preflight spf --ip IP [--helo NAME] --mail-from ADDR "
	    "[--nameserver IP@PORT] [--timeout MS]\n"
	    "       preflight dkim-verify [--nameserver IP@PORT] FILE\n"
	    "       preflight dkim-predict [-c CONFIG] --from ADDR "
	    "[--nameserver IP@PORT]\n"
	    "       preflight dmarc [--nameserver IP@PORT] [--timeout MS] "
	    "--from-domain D\n"
	    "           [--spf-domain D --spf RESULT] [--dkim-pass D]...\n"
	    "       preflight provider [-c CONFIG] [--nameserver IP@PORT] "
	    "DOMAIN...\n"
	    "       preflight check-message [-c CONFIG] --mail-from ADDR "
	    "--rcpt ADDR... [--egress-ip IP...]\n"
	    "           [--helo NAME] [--nameserver IP@PORT] [--json] "
	    "[FILE|-]\n"
	    "       preflight check-domain [-c CONFIG] [--egress-ip IP...] "
	    "[--selector S...]\n"
	    "           [--nameserver IP@PORT] DOMAIN\n"
	    "       preflight budget show [-c CONFIG] [--target T] "
	    "[--scope S] [--key KEY]\n"
	    "       preflight budget reset [-c CONFIG] KEY\n"
	    "       preflight dnsbl status [-c CONFIG] [--refresh]\n"
	    "       preflight dnsbl check [-c CONFIG] IP|DOMAIN...\n"
	    "       preflight check-config [-c CONFIG] [--postfix-dir DIR] "
	    "[--milter ADDR]\n"
	    "       preflight egress [-c CONFIG] [--egress-ip IP...] "
	    "[--helo NAME] [--nameserver IP@PORT]\n");
	return EX_USAGE;
}

/*
 * cmd_config_check - parse a config file and report every problem; with
 * --keys, list the keys the parser knows instead, one per line
 */
static int
cmd_config_check(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : PFL_DEFAULT_CONFIG;
	const char *const *key;
	struct pfl_ctx *ctx;
	char *errors = NULL;

	if (argc > 2)
		return usage();
	if (strcmp(path, "--keys") == 0) {
		for (key = pfl_config_keys(); *key != NULL; key++)
			printf("%s\n", *key);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	if ((ctx = pfl_ctx_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		free(errors);
		return EX_CONFIG;
	}
	printf("%s: configuration OK (mode=%s)\n", path,
	    pfl_config_mode_name(ctx->cfg->mode));
	pfl_ctx_unref(ctx);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "version") == 0 && argc == 2) {
		pfl_version_print(stdout, "preflight");
		return 0;
	}
	if (strcmp(argv[1], "config-check") == 0)
		return cmd_config_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "dns-query") == 0)
		return pfl_cli_dns_query(argc - 1, argv + 1);
	if (strcmp(argv[1], "spf") == 0)
		return pfl_cli_spf(argc - 1, argv + 1);
	if (strcmp(argv[1], "dkim-verify") == 0)
		return pfl_cli_dkim_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "dkim-predict") == 0)
		return pfl_cli_dkim_predict(argc - 1, argv + 1);
	if (strcmp(argv[1], "dmarc") == 0)
		return pfl_cli_dmarc(argc - 1, argv + 1);
	if (strcmp(argv[1], "provider") == 0)
		return pfl_cli_provider(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-message") == 0)
		return pfl_cli_check_message(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-domain") == 0)
		return pfl_cli_check_domain(argc - 1, argv + 1);
	if (strcmp(argv[1], "budget") == 0)
		return pfl_cli_budget(argc - 1, argv + 1);
	if (strcmp(argv[1], "dnsbl") == 0)
		return pfl_cli_dnsbl(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-config") == 0)
		return pfl_cli_check_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "egress") == 0)
		return pfl_cli_egress(argc - 1, argv + 1);
	return usage();
}
