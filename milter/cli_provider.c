/*
 * NAME
 *	cli_provider - preflight provider: which receiver a domain's mail
 *	goes to
 * SYNOPSIS
 *	preflight provider [-c CONFIG] [--nameserver IP[@PORT]]
 *	    [--timeout MS] DOMAIN...
 * DESCRIPTION
 *	Recognises each recipient DOMAIN as the milter does: the consumer
 *	domain lists (with the config's ProviderDomains when -c names a
 *	config), then the most preferred MX host. Prints one line per
 *	domain:
 *
 *	    DOMAIN PROVIDER via=list|mx|default [tenant=yes] [mx=HOST]
 *	        [why="..."]
 *
 *	tenant=yes marks a business tenant (Workspace, Microsoft 365),
 *	judged by the tenant rules; why says why MX rollup found nothing
 *	(no MX, null MX, DNS failure, an unknown host).
 *
 *	Exit status: 0, 64 usage, 78 (EX_CONFIG) a bad config.
 */
#include <autoconfig.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "config.h"
#include "dns.h"
#include "provider.h"
#include "util.h"

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight provider [-c CONFIG] [--nameserver IP[@PORT]] "
	    "[--timeout MS] DOMAIN...\n");
	return EX_USAGE;
}

/* load_map - the provider map of a config file (or the built-in one) */
static struct pfl_provider_map *
load_map(const char *path)
{
	struct pfl_provider_map *map = NULL;
	struct pfl_config *cfg;
	char *errors = NULL;

	cfg = path ? pfl_config_load(path, &errors)
		   : pfl_config_parse("(built-in)", "", &errors);
	if (cfg != NULL)
		map = pfl_provider_map_new(cfg, &errors);
	if (map == NULL && errors)
		fputs(errors, stderr);
	free(errors);
	pfl_config_unref(cfg);
	return map;
}

/* print_match - one result line */
static void
print_match(const struct pfl_provider_match *m)
{
	printf("%s %s via=%s", m->domain, pfl_provider_name(m->provider),
	    pfl_provider_via_name(m->via));
	if (m->tenant)
		printf(" tenant=yes");
	if (m->mx[0])
		printf(" mx=%s", m->mx);
	if (m->why[0])
		printf(" why=\"%s\"", m->why);
	putchar('\n');
}

/* pfl_cli_provider - the provider subcommand */
int
pfl_cli_provider(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nameserver", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ns = NULL, *config = NULL;
	struct pfl_provider_match m;
	struct pfl_provider_map *map;
	unsigned long timeout = 5000;
	struct pfl_dns *dns;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 't':
			if (pfl_cli_timeout(optarg, &timeout) < 0)
				return usage();
			break;
		case 'c':
			config = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	if ((map = load_map(config)) == NULL)
		return EX_CONFIG;
	if ((dns = pfl_cli_dns(ns, timeout)) == NULL) {
		pfl_provider_map_free(&map);
		return EX_USAGE;
	}
	for (; optind < argc; optind++) {
		pfl_provider_for_domain(map, dns, argv[optind], &m);
		print_match(&m);
	}
	pfl_dns_free(&dns);
	pfl_provider_map_free(&map);
	return 0;
}
