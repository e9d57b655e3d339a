/*
 * NAME
 *	cli_dkim - preflight dkim-verify and dkim-predict
 * SYNOPSIS
 *	preflight dkim-verify [--nameserver IP[@PORT]] [--timeout MS] FILE
 *	preflight dkim-predict [-c CONFIG] --from ADDR [--nameserver IP[@PORT]]
 *	    [--timeout MS]
 * DESCRIPTION
 *	dkim-verify checks every DKIM-Signature of the message in FILE (a
 *	whole message, LF or CRLF line ends; "-" reads standard input)
 *	exactly as the milter does, its header fields handed over as
 *	Postfix passes them (msgfile.h), and prints one line per signature:
 *
 *	    RESULT d=DOMAIN s=SELECTOR a=ALG bits=N h=NAME:NAME... [why="..."]
 *
 *	RESULT is pass, fail-body, fail-header, nokey, tempfail or
 *	permerror. A message without signatures prints "none". Exit status:
 *	0 when a signature passes, 1 when none does, 75 (EX_TEMPFAIL) when
 *	none passes and a key could not be fetched.
 *
 *	dkim-predict reads the signer's tables named in the config
 *	(SignerKeyTable, SignerSigningTable, SignerSignHeaders) and says
 *	what the signer would do with mail From: ADDR, checking the key it
 *	would use against DNS:
 *
 *	    RESULT d=DOMAIN s=SELECTOR bits=N key=STATE list-unsubscribe=yes|no
 *	        list-unsubscribe-post=yes|no [fix="..."]
 *
 *	RESULT is sign, nosign, keyproblem or keyunknown. Exit status: 0
 *	sign, 1 nosign or keyproblem, 75 keyunknown, 78 (EX_CONFIG) a bad
 *	config or table. Without --nameserver the config's Nameservers (or
 *	full recursion) is used.
 */
#include <autoconfig.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "arena.h"
#include "cli.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "msgfile.h"
#include "util.h"

#define MIN_TIMEOUT_MS 100 /* the dkim subcommands' --timeout floor */

/* Options both subcommands take. */
struct opts {
	const char *ns;     /* --nameserver */
	unsigned long ms;   /* --timeout, 0 = default */
	const char *config; /* -c */
	const char *from;   /* --from */
};

/* parse_opts - getopt over argv; the index of the first operand, or -1 */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "nameserver", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		if (c == 'n')
			o->ns = optarg;
		else if (c == 'c')
			o->config = optarg;
		else if (c == 'f')
			o->from = optarg;
		else if (c == 't') {
			if (pfl_cli_timeout(optarg, &o->ms) < 0 ||
			    o->ms < MIN_TIMEOUT_MS)
				return -1;
		} else
			return -1;
	}
	return optind;
}

/* walk_header - one header field for the verifier, value as written */
static void
walk_header(void *arg, const char *name, const char *value)
{
	pfl_dkim_verify_header(arg, name, value, true);
}

/* walk_eoh - the end of the headers; false without signatures */
static bool
walk_eoh(void *arg)
{
	return pfl_dkim_verify_eoh(arg) > 0;
}

/* walk_body - the body for the verifier */
static void
walk_body(void *arg, const unsigned char *buf, size_t len)
{
	pfl_dkim_verify_body(arg, buf, len);
}

/* print_sig - one result line */
static void
print_sig(const struct pfl_dkim_sig *s)
{
	size_t i;

	printf("%s d=%s s=%s a=%s bits=%u h=", pfl_dkim_result_name(s->result),
	    s->domain, s->selector, s->algorithm, s->bits);
	for (i = 0; i < s->nheaders; i++)
		printf("%s%s", i ? ":" : "", s->headers[i]);
	if (s->why[0])
		printf(" why=\"%s\"", s->why);
	putchar('\n');
}

/* verify_usage - the synopsis */
static int
verify_usage(void)
{
	fprintf(stderr,
	    "usage: preflight dkim-verify [--nameserver IP[@PORT]] "
	    "[--timeout MS] FILE\n");
	return EX_USAGE;
}

/* report - print every signature; the exit status */
static int
report(const struct pfl_dkim_verify *v)
{
	const struct pfl_dkim_sig *sigs;
	size_t n = pfl_dkim_verify_results(v, &sigs), i;
	int rc = 1;

	if (n == 0)
		puts("none");
	for (i = 0; i < n; i++) {
		print_sig(&sigs[i]);
		if (sigs[i].result == PFL_DKIM_PASS)
			rc = 0;
		else if (sigs[i].result == PFL_DKIM_TEMPFAIL && rc != 0)
			rc = EX_TEMPFAIL;
	}
	return rc;
}

/* pfl_cli_dkim_verify - the dkim-verify subcommand */
int
pfl_cli_dkim_verify(int argc, char **argv)
{
	static const struct pfl_msgfile_ops ops = { walk_header, walk_eoh,
		walk_body };
	struct opts o = { NULL, 0, NULL, NULL };
	struct pfl_dkim_verify *v;
	struct pfl_dkim_lib *lib;
	struct pfl_arena *arena;
	struct pfl_dns *dns;
	size_t len;
	char *msg;
	int i, rc;

	if ((i = parse_opts(argc, argv, &o)) < 0 || argc - i != 1 || o.config ||
	    o.from)
		return verify_usage();
	if ((msg = pfl_msgfile_read(argv[i], &len)) == NULL) {
		fprintf(
		    stderr, "preflight: %s: %s\n", argv[i], strerror(errno));
		return EX_NOINPUT;
	}
	if ((dns = pfl_cli_dns(o.ns, o.ms ? o.ms : 5000)) == NULL) {
		free(msg);
		return EX_USAGE;
	}
	lib = pfl_dkim_lib_new(dns);
	arena = pfl_arena_new();
	v = pfl_dkim_verify_new(lib, arena, argv[i]);
	pfl_msgfile_walk(msg, len, &ops, v);
	pfl_dkim_verify_eom(v);
	rc = report(v);
	pfl_dkim_verify_free(&v);
	pfl_arena_free(&arena);
	pfl_dkim_lib_free(&lib);
	pfl_dns_free(&dns);
	free(msg);
	return rc;
}

/* predict_usage - the synopsis */
static int
predict_usage(void)
{
	fprintf(stderr,
	    "usage: preflight dkim-predict [-c CONFIG] --from ADDR "
	    "[--nameserver IP[@PORT]] [--timeout MS]\n");
	return EX_USAGE;
}

/* print_prediction - one line; the exit status */
static int
print_prediction(const struct pfl_dkim_prediction *p)
{
	printf("%s", pfl_dkim_predict_name(p->result));
	if (p->result != PFL_DKIM_WOULD_NOT_SIGN)
		printf(" d=%s s=%s bits=%u key=%s", p->domain, p->selector,
		    p->bits, pfl_dkim_keystate_name(p->key));
	printf(" list-unsubscribe=%s list-unsubscribe-post=%s",
	    p->list_unsubscribe ? "yes" : "no",
	    p->list_unsubscribe_post ? "yes" : "no");
	if (p->fix[0])
		printf(" fix=\"%s\"", p->fix);
	putchar('\n');
	if (p->result == PFL_DKIM_WOULD_SIGN)
		return 0;
	return p->result == PFL_DKIM_KEY_UNKNOWN ? EX_TEMPFAIL : 1;
}

/* predict - load the signer and predict; the exit status */
static int
predict(const struct opts *o, struct pfl_config *cfg)
{
	struct pfl_dkim_prediction p;
	struct pfl_dkim_signer *signer;
	struct pfl_dkim_lib *lib;
	struct pfl_dns *dns;
	unsigned long ms = o->ms ? o->ms : cfg->dns_timeout_ms;
	char *errors;

	if (pfl_dkim_signer_load(cfg, &signer, &errors) < 0) {
		fputs(errors, stderr);
		free(errors);
		return EX_CONFIG;
	}
	if (signer == NULL) {
		fprintf(stderr,
		    "preflight: %s: no SignerKeyTable and "
		    "SignerSigningTable\n",
		    cfg->path);
		return EX_CONFIG;
	}
	if ((dns = pfl_cli_dns(o->ns ? o->ns : cfg->nameservers, ms)) == NULL) {
		pfl_dkim_signer_free(&signer);
		return EX_CONFIG;
	}
	lib = pfl_dkim_lib_new(dns);
	pfl_dkim_predict(signer, lib, o->from, &p);
	pfl_dkim_lib_free(&lib);
	pfl_dns_free(&dns);
	pfl_dkim_signer_free(&signer);
	return print_prediction(&p);
}

/* pfl_cli_dkim_predict - the dkim-predict subcommand */
int
pfl_cli_dkim_predict(int argc, char **argv)
{
	struct opts o = { NULL, 0, PFL_DEFAULT_CONFIG, NULL };
	struct pfl_config *cfg;
	char *errors = NULL;
	int i, rc;

	if ((i = parse_opts(argc, argv, &o)) < 0 || i != argc || o.from == NULL)
		return predict_usage();
	if ((cfg = pfl_config_load(o.config, &errors)) == NULL) {
		fputs(errors, stderr);
		free(errors);
		return EX_CONFIG;
	}
	rc = predict(&o, cfg);
	pfl_config_unref(cfg);
	return rc;
}
