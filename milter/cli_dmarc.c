/*
 * NAME
 *	cli_dmarc - preflight dmarc: DMARC as the receiver would evaluate it
 * SYNOPSIS
 *	preflight dmarc [--nameserver IP[@PORT]] [--timeout MS]
 *	    --from-domain DOMAIN [--spf-domain DOMAIN --spf RESULT]
 *	    [--dkim-pass DOMAIN]...
 * DESCRIPTION
 *	Evaluates DMARC for a message whose From: domain is DOMAIN, whose
 *	MAIL FROM domain got the SPF RESULT (pass, fail, softfail, neutral,
 *	none, temperror or permerror) and whose DKIM signatures by the
 *	--dkim-pass domains verified, asking DNS exactly as the milter does.
 *
 *	Prints one line: the result (pass, fail, none, temperror,
 *	permerror), then key=value fields: policy (what the receiver
 *	applies), published and tag (what the record asks, and by which of
 *	p, sp, np), record (where it was found), org and org_psl (the
 *	Organizational Domain by the RFC 9989 tree walk and by the Public
 *	Suffix List), walk_decided (yes when they differ), spf_aligned,
 *	dkim_aligned, adkim, aspf, pct, testing, from_exists, rfc7489 (the
 *	result and policy of a receiver on RFC 7489) and libopendmarc
 *	(agrees, or differs when libopendmarc 1.4.2 got it wrong). A second
 *	line "why: ..." explains.
 *
 *	Exit status: 0 pass or none, 1 fail, 75 (EX_TEMPFAIL) temperror,
 *	65 (EX_DATAERR) permerror, 64 usage.
 */
#include <autoconfig.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "dmarc.h"
#include "dns.h"
#include "util.h"

#define DKIM_ARGS 16

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight dmarc [--nameserver IP[@PORT]] [--timeout MS]\n"
	    "           --from-domain DOMAIN [--spf-domain DOMAIN --spf "
	    "RESULT]\n"
	    "           [--dkim-pass DOMAIN]...\n");
	return EX_USAGE;
}

/* spf_result - an SPF result word; -1 when unknown */
static int
spf_result(const char *s)
{
	if (strcmp(s, "pass") == 0)
		return PFL_DMARC_SPF_PASS;
	if (strcmp(s, "fail") == 0 || strcmp(s, "softfail") == 0 ||
	    strcmp(s, "permerror") == 0)
		return PFL_DMARC_SPF_FAIL;
	if (strcmp(s, "temperror") == 0)
		return PFL_DMARC_SPF_TEMPERROR;
	if (strcmp(s, "none") == 0 || strcmp(s, "neutral") == 0)
		return PFL_DMARC_SPF_NONE;
	return -1;
}

/* yes_no - "yes" or "no" */
static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* or_dash - s, or "-" when empty */
static const char *
or_dash(const char *s)
{
	return s[0] ? s : "-";
}

/* print_result - the result line and the why line; the exit status */
static int
print_result(const struct pfl_dmarc_result *r)
{
	printf("%s policy=%s published=%s tag=%s record=%s org=%s org_psl=%s "
	       "walk_decided=%s spf_aligned=%s dkim_aligned=%s adkim=%c "
	       "aspf=%c pct=%u testing=%s from_exists=%s rfc7489=%s/%s "
	       "libopendmarc=%s\n",
	    pfl_dmarc_result_name(r->result), pfl_dmarc_policy_name(r->applied),
	    pfl_dmarc_policy_name(r->published), or_dash(r->policy_tag),
	    or_dash(r->record_domain), or_dash(r->org_domain_walk),
	    or_dash(r->org_domain_psl), yes_no(r->org_differs),
	    yes_no(r->spf_aligned), yes_no(r->dkim_aligned), r->adkim, r->aspf,
	    r->pct, yes_no(r->testing), yes_no(r->from_exists),
	    pfl_dmarc_result_name(r->psl_result),
	    pfl_dmarc_policy_name(r->psl_applied),
	    r->lib_differs ? "differs" : "agrees");
	printf("why: %s\n", r->why);
	switch (r->result) {
	case PFL_DMARC_PASS:
	case PFL_DMARC_NONE:
		return 0;
	case PFL_DMARC_FAIL:
		return 1;
	case PFL_DMARC_TEMPERROR:
		return EX_TEMPFAIL;
	case PFL_DMARC_PERMERROR:
		break;
	}
	return EX_DATAERR;
}

/* pfl_cli_dmarc - the dmarc subcommand */
int
pfl_cli_dmarc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nameserver", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "from-domain", required_argument, NULL, 'f' },
		{ "spf-domain", required_argument, NULL, 'd' },
		{ "spf", required_argument, NULL, 's' },
		{ "dkim-pass", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ns = NULL, *from = NULL, *spf_domain = NULL;
	const char *dkim[DKIM_ARGS];
	int c, spf = PFL_DMARC_SPF_NONE, rc;
	unsigned long timeout = 5000;
	struct pfl_dmarc_result r;
	struct pfl_dns *dns;
	size_t ndkim = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 't':
			if (pfl_cli_timeout(optarg, &timeout) < 0)
				return usage();
			break;
		case 'f':
			from = optarg;
			break;
		case 'd':
			spf_domain = optarg;
			break;
		case 's':
			if ((spf = spf_result(optarg)) < 0)
				return usage();
			break;
		case 'k':
			if (ndkim == DKIM_ARGS)
				return usage();
			dkim[ndkim++] = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || from == NULL ||
	    (spf != PFL_DMARC_SPF_NONE && spf_domain == NULL))
		return usage();
	if ((dns = pfl_cli_dns(ns, timeout)) == NULL)
		return EX_USAGE;
	pfl_dmarc_check(
	    dns, from, spf_domain, (enum pfl_dmarc_spf)spf, dkim, ndkim, &r);
	rc = print_result(&r);
	pfl_dns_free(&dns);
	return rc;
}
