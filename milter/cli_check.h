/*
 * NAME
 *	cli_check 3h - private to preflight check-message and check-domain
 * DESCRIPTION
 *	cli_check.c takes the options both subcommands share, builds the
 *	run-time context from the config and the options that replace its
 *	keys, and runs check-message; cli_check_json.c writes the JSON
 *	form of check-message's result; cli_check_domain.c runs
 *	check-domain.
 */
#ifndef PFL_CLI_CHECK_H
#define PFL_CLI_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct pfl_checks;
struct pfl_ctx;
struct pfl_verdict;

#define PFL_CLI_MAX_LIST 64 /* values of each repeatable option */

/* What the options of either subcommand said; strings point into argv. */
struct pfl_cli_opts {
	const char *config;                   /* -c, or NULL for the default */
	const char *egress[PFL_CLI_MAX_LIST]; /* --egress-ip */
	size_t negress;
	const char *helo;                   /* --helo */
	const char *ns;                     /* --nameserver */
	const char *mail_from;              /* --mail-from */
	const char *rcpt[PFL_CLI_MAX_LIST]; /* --rcpt */
	size_t nrcpt;
	const char *selector[PFL_CLI_MAX_LIST]; /* --selector */
	size_t nselector;
	bool json; /* --json */
};

/*
 * pfl_cli_check_opts - getopt over argv taking only the options whose
 * letters are in allow: c (-c), e (--egress-ip), h (--helo), n
 * (--nameserver), m (--mail-from), r (--rcpt), s (--selector), j
 * (--json). Values are checked (addresses, no control characters).
 * Returns the index of the first operand, or -1 on a usage error.
 */
int pfl_cli_check_opts(
    int argc, char **argv, const char *allow, struct pfl_cli_opts *o);

/*
 * pfl_cli_check_ctx - the context of the config (-c, else
 * /etc/preflight/preflight.conf when it exists, else the built-in
 * defaults) in which --egress-ip, --helo and --nameserver replace
 * EgressAddresses, EgressHelo and Nameservers. NULL after printing
 * every problem to standard error.
 */
struct pfl_ctx *pfl_cli_check_ctx(const struct pfl_cli_opts *o);

/*
 * pfl_cli_check_json - check-message's result as one JSON object on
 * standard output: the checks after pfl_checks_eom, their verdict, the
 * number of recipients and pfl_checks_summary's line
 */
void pfl_cli_check_json(const struct pfl_checks *, const struct pfl_verdict *,
    size_t nrcpt, const char *summary);

#endif
