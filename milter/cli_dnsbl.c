/*
 * NAME
 *	cli_dnsbl - preflight dnsbl: the egress monitor's view, and lookups
 * SYNOPSIS
 *	preflight dnsbl status [-c CONFIG] [--refresh]
 *	preflight dnsbl check [-c CONFIG] IP|DOMAIN...
 * DESCRIPTION
 *	status prints what the egress monitor knows, as the daemons of the
 *	fleet wrote it to the StateStore: one line per list (its health) and
 *	one per egress address and IP list (and HELO name and domain list):
 *
 *	    list ZONE NAME kind=ip providers=microsoft,yahoo: healthy
 *	        since=TIME checked=TIME
 *	    egress 203.0.113.5 ZONE: listed 127.0.0.2 (SBL) since=TIME
 *	        checked=TIME delist=URL
 *
 *	States: unknown (never checked), clean, listed, cannot-tell (the
 *	list answered with an error code: the reason follows), tempfail (the
 *	lookups failed; never a listing), unhealthy (the list fails its test
 *	entries and is ignored). --refresh checks everything now, saves it
 *	to the store (the daemons take it within DnsblInterval or 10 s,
 *	whichever is less) and prints the changes first.
 *
 *	check asks every list of the right kind about each address or
 *	domain, through the DnsblResolver, and prints one line per list.
 *
 *	Exit status: 0 nothing listed; 1 something listed; 64 usage; 69 a
 *	memory store without --refresh; 75 the store failed; 78 a bad
 *	configuration.
 */
#include <autoconfig.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "ctx.h"
#include "dnsbl.h"
#include "store.h"
#include "util.h"

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight dnsbl status [-c CONFIG] [--refresh]\n"
	    "       preflight dnsbl check [-c CONFIG] IP|DOMAIN...\n");
	return EX_USAGE;
}

/* when - a time as YYYY-MM-DDTHH:MM:SSZ, or "never" */
static const char *
when(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		return "never";
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* print_note - a change the refresh found */
static void
print_note(void *arg, int level, const char *line)
{
	(void)arg;
	(void)level;
	printf("%s\n", line);
}

/* print_status - one line of the status */
static void
print_status(void *arg, const struct pfl_dnsbl_status *st)
{
	const struct pfl_dnsbl_list *L = st->list;
	char since[32], checked[32], prov[64];
	int *listed = arg;

	if (st->subject == NULL) {
		printf("list %s \"%s\" kind=%s providers=%s: %s", L->zone,
		    L->name, L->kind == PFL_DNSBL_IP ? "ip" : "domain",
		    pfl_dnsbl_providers_text(L->providers, prov, sizeof(prov)),
		    st->state == PFL_DNSBL_CLEAN
			? "healthy"
			: pfl_dnsbl_state_name(st->state));
	} else {
		printf("egress %s%s %s: %s",
		    L->kind == PFL_DNSBL_IP ? "" : "helo ", st->subject,
		    L->zone, pfl_dnsbl_state_name(st->state));
		if (st->state == PFL_DNSBL_LISTED)
			*listed = 1;
	}
	if (*st->code)
		printf(" %s", st->code);
	if (*st->label)
		printf(" (%s)", st->label);
	printf(" since=%s checked=%s", when(st->since, since, sizeof(since)),
	    when(st->checked, checked, sizeof(checked)));
	if (st->state == PFL_DNSBL_LISTED && L->delist != NULL)
		printf(" delist=%s", L->delist);
	if (*st->why)
		printf(" why=\"%s\"", st->why);
	printf("\n");
}

/* status - preflight dnsbl status, once the config is loaded */
static int
status(struct pfl_ctx *ctx, bool refresh)
{
	const char *spec = ctx->cfg->state_store;
	struct pfl_store *st = NULL;
	int listed = 0;

	if (ctx->dnsbl == NULL || ctx->dnsbl->n == 0) {
		printf("no Dnsbl lists configured\n");
		return 0;
	}
	printf("store %s\n", spec);
	if (strcmp(spec, "memory") == 0 && !refresh)
		return pfl_cli_memory_note();
	if (strcmp(spec, "memory") != 0 &&
	    (refresh || !pfl_cli_lmdb_absent(spec)) &&
	    (st = pfl_cli_open_store(ctx)) == NULL)
		return EX_TEMPFAIL;
	if (refresh)
		pfl_dnsbl_round(ctx, st, time(NULL), print_note, NULL);
	else if (st != NULL)
		pfl_dnsbl_sync(ctx, st, NULL, NULL);
	pfl_dnsbl_status(ctx, print_status, &listed);
	return listed;
}

/* check - ask every list of the right kind about each subject */
static int
check(struct pfl_ctx *ctx, int argc, char **argv)
{
	const struct pfl_dnsbl_set *s = ctx->dnsbl;
	struct pfl_dnsbl_answer a;
	enum pfl_dnsbl_kind kind;
	int i, rc = 0, asked;
	size_t j;

	if (s == NULL || s->n == 0) {
		printf("no Dnsbl lists configured\n");
		return 0;
	}
	for (i = 0; i < argc; i++) {
		kind =
		    pfl_cli_valid_ip(argv[i]) ? PFL_DNSBL_IP : PFL_DNSBL_DOMAIN;
		asked = 0;
		for (j = 0; j < s->n; j++) {
			const struct pfl_dnsbl_list *L = &s->lists[j];

			if (L->kind != kind)
				continue;
			asked++;
			pfl_dnsbl_lookup(L, argv[i], &a);
			printf("%s %s: %s", argv[i], L->zone,
			    pfl_dnsbl_state_name(a.state));
			if (*a.code)
				printf(" %s", a.code);
			if (*a.label)
				printf(" (%s)", a.label);
			if (a.state == PFL_DNSBL_LISTED && L->delist)
				printf(" delist=%s", L->delist);
			if (*a.why)
				printf(" why=\"%s\"", a.why);
			printf("\n");
			if (a.state == PFL_DNSBL_LISTED)
				rc = 1;
		}
		if (asked == 0)
			printf("%s: no %s lists configured\n", argv[i],
			    kind == PFL_DNSBL_IP ? "IP" : "domain");
	}
	return rc;
}

/* pfl_cli_dnsbl - preflight dnsbl status | check */
int
pfl_cli_dnsbl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "refresh", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PFL_DEFAULT_CONFIG, *cmd;
	bool refresh = false;
	struct pfl_ctx *ctx;
	int c, rc;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (strcmp(cmd, "status") != 0 && strcmp(cmd, "check") != 0)
		return usage();
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			refresh = true;
			break;
		default:
			return usage();
		}
	}
	if (strcmp(cmd, "status") == 0 ? optind != argc - 1
				       : optind >= argc - 1 || refresh)
		return usage();
	if ((ctx = pfl_cli_load(config)) == NULL)
		return EX_CONFIG;
	if (strcmp(cmd, "status") == 0)
		rc = status(ctx, refresh);
	else
		rc = check(ctx, argc - 1 - optind, argv + 1 + optind);
	pfl_ctx_unref(ctx);
	return rc;
}
