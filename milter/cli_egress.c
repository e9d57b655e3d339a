/*
 * NAME
 *	cli_egress - preflight egress: reverse DNS of the egress addresses
 * SYNOPSIS
 *	preflight egress [-c FILE] [--egress-ip IP...] [--helo NAME]
 *	    [--nameserver IP[@PORT]]
 * DESCRIPTION
 *	Checks each egress address (--egress-ip, else EgressAddresses) for
 *	forward-confirmed reverse DNS and the HELO name (--helo, else
 *	EgressHelo) for resolving to one of them (egress.h), and prints
 *
 *	    egress 192.0.2.25: ok ptr=mail.example.com
 *	    egress 192.0.2.26: no-ptr why="no PTR record at ..."
 *	    egress 192.0.2.27: ptr-mismatch ptr=NAME why="..."
 *	    egress 192.0.2.30: tempfail why="..."
 *	    helo mail.example.com: ok|unresolved|mismatch|tempfail [why="..."]
 *
 *	then, per provider, what it would make of that: "google: ok", or
 *	"google: 550 5.7.25 refuse reason="..." fix="..."", or "google:
 *	unknown" when DNS trouble left it open.
 *
 *	The config and the options that replace its keys are as for
 *	check-message (cli_check.c).
 *
 *	Exit status: 0 all is well; 1 a misconfiguration; 75 DNS trouble
 *	and nothing else; 64 usage; 78 a bad configuration or nothing to
 *	check.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_check.h"
#include "config.h"
#include "ctx.h"
#include "egress.h"
#include "provider.h"
#include "util.h"
#include "verdict.h"

/* The providers, in the order they are printed. */
static const enum pfl_provider order[] = { PFL_PROV_GOOGLE, PFL_PROV_YAHOO,
	PFL_PROV_MICROSOFT, PFL_PROV_APPLE, PFL_PROV_DEFAULT };

/* usage - the synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight egress [-c FILE] [--egress-ip IP...] "
	    "[--helo NAME]\n"
	    "           [--nameserver IP[@PORT]]\n");
	return EX_USAGE;
}

/* print_addr - one egress address's line */
static void
print_addr(const struct pfl_egress_addr_result *a)
{
	printf("egress %s: %s", a->addr, pfl_egress_state_name(a->state));
	if (*a->ptr)
		printf(" ptr=%s", a->ptr);
	if (a->state != PFL_EGRESS_OK && *a->why)
		printf(" why=\"%s\"", a->why);
	printf("\n");
}

/* print_helo - the HELO name's line */
static void
print_helo(const struct pfl_egress_report *r)
{
	if (r->helo_state == PFL_EGRESS_UNCHECKED) {
		printf("helo: unchecked (no EgressHelo)\n");
		return;
	}
	printf("helo %s: %s", r->helo, pfl_egress_state_name(r->helo_state));
	if (*r->helo_why)
		printf(" why=\"%s\"", r->helo_why);
	printf("\n");
}

/* print_provider - what one provider would make of the report */
static void
print_provider(const struct pfl_egress_report *r, enum pfl_provider p,
    enum pfl_action act, bool trouble)
{
	struct pfl_finding f;

	printf("%s: ", pfl_provider_name(p));
	if (!pfl_egress_finding(r, (int)p, act, &f)) {
		printf("%s\n", trouble ? "unknown (DNS trouble)" : "ok");
		return;
	}
	printf("%s %s reason=\"%s\"", f.reply, pfl_outcome_name(f.outcome),
	    f.reason);
	if (*f.fix)
		printf(" fix=\"%s\"", f.fix);
	printf("\n");
}

/* report - print the report; the exit status */
static int
report(const struct pfl_egress_report *r, enum pfl_action act)
{
	bool problem = pfl_egress_problem(r->helo_state);
	bool trouble = r->helo_state == PFL_EGRESS_TEMPFAIL;
	size_t i;

	for (i = 0; i < r->n; i++) {
		print_addr(&r->addrs[i]);
		problem |= pfl_egress_problem(r->addrs[i].state);
		trouble |= r->addrs[i].state == PFL_EGRESS_TEMPFAIL;
	}
	if (r->skipped > 0)
		printf("egress: %zu more addresses not checked (at most %d)\n",
		    r->skipped, PFL_EGRESS_MAX_ADDRS);
	print_helo(r);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		print_provider(r, order[i], act, trouble);
	return problem ? 1 : trouble ? EX_TEMPFAIL : 0;
}

/* pfl_cli_egress - the egress subcommand */
int
pfl_cli_egress(int argc, char **argv)
{
	struct pfl_egress_report *r;
	const struct pfl_config *cfg;
	struct pfl_cli_opts o;
	struct pfl_ctx *ctx;
	int rc;

	if (pfl_cli_check_opts(argc, argv, "cehn", &o) != argc)
		return usage();
	if ((ctx = pfl_cli_check_ctx(&o)) == NULL)
		return EX_CONFIG;
	cfg = ctx->cfg;
	if (cfg->egress_addresses.n == 0 &&
	    (cfg->egress_helo == NULL || *cfg->egress_helo == '\0')) {
		fprintf(stderr,
		    "preflight: nothing to check: set EgressAddresses "
		    "(or give --egress-ip)\n");
		pfl_ctx_unref(ctx);
		return EX_CONFIG;
	}
	r = pfl_xcalloc(1, sizeof(*r));
	pfl_egress_check(ctx->dns, (const char *const *)cfg->egress_addresses.v,
	    cfg->egress_addresses.n, cfg->egress_helo, r);
	/* the action is the daemon's business; a prediction shows no action */
	rc = report(r, PFL_ACT_TAG);
	free(r);
	pfl_ctx_unref(ctx);
	return rc;
}
