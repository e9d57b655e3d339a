/*
 * NAME
 *	cli_spf - preflight spf: the SPF result a receiver would reach
 * SYNOPSIS
 *	preflight spf --ip IP [--helo NAME] --mail-from ADDR
 *		[--nameserver IP[@PORT]] [--timeout MS]
 * DESCRIPTION
 *	Evaluates SPF exactly as the milter does and prints one line: the
 *	RFC 7208 result first (pass fail softfail neutral none permerror
 *	temperror), then key="value" fields: reason, explanation (the
 *	domain's exp= text on fail), mechanism (the deciding term),
 *	domain, lookups and void (the RFC 7208 counters) and, when the
 *	record looks like what Gmail refuses with 5.7.24, suspicious.
 *	An empty --mail-from is the null sender (checked as
 *	postmaster@HELO).
 *
 *	Exit status: 0 whatever the result; 64 on a usage error.
 */
#include <autoconfig.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "spf.h"
#include "util.h"

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight spf --ip IP [--helo NAME] "
	    "--mail-from ADDR [--nameserver IP[@PORT]] "
	    "[--timeout MS]\n");
	return EX_USAGE;
}

/* field - print key="value" with the value made printable */
static void
field(const char *key, const char *value)
{
	char buf[512];

	printf(" %s=\"%s\"", key, pfl_printable(buf, sizeof(buf), value, "\""));
}

/* print_result - the one output line */
static void
print_result(const struct pfl_spf_result *r)
{
	printf("%s", pfl_spf_code_name(r->code));
	field("reason", r->reason);
	if (r->explanation[0])
		field("explanation", r->explanation);
	if (r->mechanism[0])
		field("mechanism", r->mechanism);
	if (r->domain[0])
		field("domain", r->domain);
	printf(" lookups=%u void=%u", r->dns_lookups, r->void_lookups);
	if (r->suspicious)
		field("suspicious", r->suspicious_why);
	putchar('\n');
}

/* pfl_cli_spf - the spf subcommand */
int
pfl_cli_spf(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'h' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ip = NULL, *helo = NULL, *from = NULL, *ns = NULL;
	unsigned long timeout = 5000;
	struct pfl_spf_result r;
	struct pfl_dns *dns;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ip = optarg;
			break;
		case 'h':
			helo = optarg;
			break;
		case 'm':
			from = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 't':
			if (pfl_cli_timeout(optarg, &timeout) < 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || ip == NULL || from == NULL ||
	    !pfl_cli_valid_ip(ip))
		return usage();
	if ((dns = pfl_cli_dns(ns, timeout)) == NULL)
		return EX_USAGE;
	pfl_spf_check(dns, ip, helo, from, &r);
	print_result(&r);
	pfl_dns_free(&dns);
	return 0;
}
