/*
 * NAME
 *	cli_dns - preflight dns-query: one lookup through preflight's resolver
 * SYNOPSIS
 *	preflight dns-query [--nameserver IP[@PORT]] [--timeout MS] NAME TYPE
 * DESCRIPTION
 *	Asks exactly as the milter would (same resolver, same forwarding of
 *	special-use names, same timeout) and prints the status line
 *	"STATUS ttl=N" (plus "nxdomain" or the reason of a failure), then
 *	one record per line: an address, "PREF HOST" for MX, the joined
 *	text for TXT (bytes that are not printable as \DDD), a name for PTR
 *	and CNAME. TYPE is A, AAAA, TXT, MX, PTR, CNAME or a number; for PTR
 *	an address may be given as NAME. Without --nameserver the resolver
 *	recurses from the root.
 *
 *	Exit status: 0 found, 1 not found, 75 (EX_TEMPFAIL) the lookup
 *	failed, 65 (EX_DATAERR) the name cannot be asked, 64 usage.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

#include "cli.h"
#include "dns.h"
#include "util.h"

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight dns-query [--nameserver IP[@PORT]] "
	    "[--timeout MS] NAME TYPE\n");
	return EX_USAGE;
}

/* print_text - a TXT record with unprintable bytes as \DDD */
static void
print_text(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '\\')
			printf("\\%03u", c);
		else
			putchar(c);
	}
	putchar('\n');
}

/* print_record - record i of an answer, one line */
static void
print_record(const struct pfl_dns_answer *a, size_t i)
{
	char buf[INET6_ADDRSTRLEN];

	if (a->addr)
		puts(inet_ntop(
		    a->addr[i].family, &a->addr[i].a, buf, sizeof(buf)));
	else if (a->mx)
		printf("%u %s\n", a->mx[i].pref,
		    a->mx[i].host[0] ? a->mx[i].host : ".");
	else if (a->txt)
		print_text(a->txt[i], a->txt_len[i]);
	else if (a->names)
		puts(a->names[i]);
}

/* print_answer - status line and records; the exit status */
static int
print_answer(const struct pfl_dns_answer *a)
{
	char why[sizeof(a->why)];
	size_t i;

	printf("%s ttl=%lu", pfl_dns_status_name(a->status),
	    (unsigned long)a->ttl);
	if (a->nxdomain)
		printf(" nxdomain");
	if (a->why[0])
		printf(" (%s)", pfl_printable(why, sizeof(why), a->why, NULL));
	putchar('\n');
	for (i = 0; i < a->count; i++)
		print_record(a, i);
	switch (a->status) {
	case PFL_DNS_OK:
		return 0;
	case PFL_DNS_NOTFOUND:
		return 1;
	case PFL_DNS_TEMPFAIL:
		return EX_TEMPFAIL;
	case PFL_DNS_PERMFAIL:
		break;
	}
	return EX_DATAERR;
}

/* pfl_cli_dns_query - the dns-query subcommand */
int
pfl_cli_dns_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nameserver", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ns = NULL, *name;
	char rev[128];
	unsigned long timeout = 5000;
	struct pfl_dns_answer *a;
	struct pfl_dns *dns;
	int c, type, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			ns = optarg;
		else if (c == 't') {
			if (pfl_cli_timeout(optarg, &timeout) < 0)
				return usage();
		} else
			return usage();
	}
	if (argc - optind != 2 ||
	    (type = pfl_dns_type_code(argv[optind + 1])) < 0)
		return usage();
	name = argv[optind];
	if (type == PFL_DNS_T_PTR &&
	    pfl_dns_reverse_name(name, rev, sizeof(rev)) == 0)
		name = rev;
	if ((dns = pfl_cli_dns(ns, timeout)) == NULL)
		return EX_USAGE;
	a = pfl_dns_query(dns, name, type);
	rc = print_answer(a);
	pfl_dns_answer_free(&a);
	pfl_dns_free(&dns);
	return rc;
}
