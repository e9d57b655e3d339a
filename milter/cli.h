/*
 * NAME
 *	cli 3h - subcommands of the preflight command
 * DESCRIPTION
 *	Each subcommand gets argv from its own name on (argv[0] is the
 *	subcommand) and returns the process exit status: 0, or a
 *	<sysexits.h> code (EX_USAGE for a usage error). The pfl_cli_*
 *	helpers before them take the options several subcommands share.
 */
#ifndef PFL_CLI_H
#define PFL_CLI_H

#include <stdarg.h>
#include <stdbool.h>

struct pfl_ctx;
struct pfl_dns;
struct pfl_store;

/*
 * pfl_cli_timeout - a --timeout value: a whole number of milliseconds
 * from 1 to 600000 into *ms_r; -1 (*ms_r untouched) when it is not one
 */
int pfl_cli_timeout(const char *arg, unsigned long *ms_r);

/*
 * pfl_cli_dns - a resolver forwarding to nameservers (NULL or "": full
 * recursion) with lookups bounded by ms; NULL after printing
 * "preflight: why" to standard error
 */
struct pfl_dns *pfl_cli_dns(const char *nameservers, unsigned long ms);

/* pfl_cli_load - a config file's context; NULL after printing its errors */
struct pfl_ctx *pfl_cli_load(const char *path);

/*
 * pfl_cli_open_store - the config's StateStore, opened as the daemon's
 * user when run as root with a UserID (files LMDB creates then stay
 * usable by the daemon); NULL after saying why
 */
struct pfl_store *pfl_cli_open_store(struct pfl_ctx *);

/* pfl_cli_lmdb_absent - does spec name an LMDB file that is not there? */
bool pfl_cli_lmdb_absent(const char *spec);

/* pfl_cli_memory_note - say the memory store cannot be seen; EX_UNAVAILABLE */
int pfl_cli_memory_note(void);

/*
 * pfl_cli_vsay - print one audit line "LABEL NAME: what[; fix: FIX]"
 * (LABEL padded to width), made printable: check-domain and check-config
 */
void pfl_cli_vsay(const char *label, int width, const char *name,
    const char *fix, const char *fmt, va_list ap);

/* pfl_cli_valid_ip - is s an IPv4 or IPv6 address in text form? */
bool pfl_cli_valid_ip(const char *s);

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

/* pfl_cli_budget - preflight budget show [...] | reset [-c CONFIG] KEY */
int pfl_cli_budget(int argc, char **argv);

/* pfl_cli_dnsbl - preflight dnsbl status [--refresh] | check IP|DOMAIN... */
int pfl_cli_dnsbl(int argc, char **argv);

/* pfl_cli_check_config - preflight check-config [-c CONFIG] [...] */
int pfl_cli_check_config(int argc, char **argv);

/* pfl_cli_egress - preflight egress [-c CONFIG] [--egress-ip IP...] ... */
int pfl_cli_egress(int argc, char **argv);

#endif
