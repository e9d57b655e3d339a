/*
 * NAME
 *	cli 3h - subcommands of the preflight command
 * DESCRIPTION
 *	Each subcommand gets argv from its own name on (argv[0] is the
 *	subcommand) and returns the process exit status: 0, or a
 *	<sysexits.h> code (EX_USAGE for a usage error).
 */
#ifndef PFL_CLI_H
#define PFL_CLI_H

/* pfl_cli_dns_query - preflight dns-query [--nameserver S] [--timeout MS] NAME TYPE */
int pfl_cli_dns_query(int argc, char **argv);

/* pfl_cli_spf - preflight spf --ip IP [--helo NAME] --mail-from ADDR ... */
int pfl_cli_spf(int argc, char **argv);

/* pfl_cli_dkim_verify - preflight dkim-verify [--nameserver S] FILE */
int pfl_cli_dkim_verify(int argc, char **argv);

/* pfl_cli_dkim_predict - preflight dkim-predict [-c CONFIG] --from ADDR ... */
int pfl_cli_dkim_predict(int argc, char **argv);

/* pfl_cli_dmarc - preflight dmarc --from-domain D [--spf-domain D --spf R] ... */
int pfl_cli_dmarc(int argc, char **argv);

/* pfl_cli_provider - preflight provider [-c CONFIG] [--nameserver S] DOMAIN... */
int pfl_cli_provider(int argc, char **argv);

/* pfl_cli_check_message - preflight check-message --mail-from A --rcpt A... FILE */
int pfl_cli_check_message(int argc, char **argv);

/* pfl_cli_check_domain - preflight check-domain [--selector S...] DOMAIN */
int pfl_cli_check_domain(int argc, char **argv);

#endif
