/*
 * NAME
 *	cli_check - preflight check-message: the milter's verdict on a
 *	message file
 * SYNOPSIS
 *	preflight check-message [-c FILE] --mail-from ADDR --rcpt ADDR...
 *	    [--egress-ip IP...] [--helo NAME] [--nameserver IP[@PORT]]
 *	    [--json] [FILE|-]
 * DESCRIPTION
 *	Runs the milter's checks (checks.h) on a message in FILE (RFC 5322,
 *	LF or CRLF line ends; "-" or no FILE reads standard input) without
 *	an MTA, as if it were submitted with that envelope, and decides as
 *	the milter does in enforce mode. Header fields are handed over the
 *	way Postfix gives them to a milter: the name, and the value after
 *	the colon without the one space that follows it, continuation lines
 *	kept with their line ends; so DKIM signatures verify exactly as in
 *	the milter. Prints the milter's decision line (session.h) without
 *	queue id and connection details:
 *
 *	    preflight: action=A mode=enforce verdict=V spf=... dkim=...
 *	        dmarc=... providers=... [finding=F reason="..."]
 *	        from=<SENDER> rcpts=N
 *
 *	or with --json one JSON object (cli_check_json.c). Operator lists
 *	that act on the envelope (HoldSenders, PauseDomains) are not
 *	applied: the question is what the receivers would do.
 *
 *	The config is -c FILE, by default /etc/preflight/preflight.conf
 *	when it exists and the built-in defaults otherwise; --egress-ip
 *	replaces its EgressAddresses, --helo its EgressHelo and
 *	--nameserver its Nameservers (check-domain takes the same).
 *
 *	Exit status: 0 deliver, 1 throttle, 2 reject (the worst answer a
 *	receiver would likely give), 64 usage, 66 unreadable message, 78
 *	bad config.
 */
#include <autoconfig.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

#include "arena.h"
#include "checks.h"
#include "cli.h"
#include "cli_check.h"
#include "config.h"
#include "ctx.h"
#include "egress_state.h"
#include "msgfile.h"
#include "session.h"
#include "util.h"
#include "verdict.h"

/* --- options and the context ---------------------------------------------- */

/* plain - a non-empty value without control characters */
static bool
plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

/* valid_ns - "IP" or "IP@PORT" */
static bool
valid_ns(const char *s)
{
	const char *at = strchr(s, '@');
	char ip[64];
	size_t n = at ? (size_t)(at - s) : strlen(s);

	if (n >= sizeof(ip))
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (at != NULL &&
	    (at[1] == '\0' || strspn(at + 1, "0123456789") != strlen(at + 1) ||
		strlen(at + 1) > 5 || atoi(at + 1) < 1 || atoi(at + 1) > 65535))
		return false;
	return pfl_cli_valid_ip(ip);
}

/* push - add a repeatable option's value; false when there are too many */
static bool
push(const char **list, size_t *n, const char *v)
{
	if (*n == PFL_CLI_MAX_LIST || *v == '\0' || !plain(v))
		return false;
	list[(*n)++] = v;
	return true;
}

/* option - take one option c (allowed: the letters in allow); false: bad */
static bool
option(struct pfl_cli_opts *o, int c, const char *allow)
{
	if (c == '?' || strchr(allow, c) == NULL)
		return false;
	switch (c) {
	case 'c':
		return (o->config = optarg) != NULL;
	case 'e':
		return pfl_cli_valid_ip(optarg) &&
		    push(o->egress, &o->negress, optarg);
	case 'h':
		return *(o->helo = optarg) != '\0' && plain(optarg);
	case 'n':
		return valid_ns(o->ns = optarg);
	case 'm':
		return plain(o->mail_from = optarg);
	case 'r':
		return push(o->rcpt, &o->nrcpt, optarg);
	case 's':
		return push(o->selector, &o->nselector, optarg);
	case 'j':
		return o->json = true;
	}
	return false;
}

/* pfl_cli_check_opts - the options; the index of the first operand, or -1 */
int
pfl_cli_check_opts(
    int argc, char **argv, const char *allow, struct pfl_cli_opts *o)
{
	static const struct option longopts[] = {
		{ "egress-ip", required_argument, NULL, 'e' },
		{ "helo", required_argument, NULL, 'h' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "selector", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1)
		if (!option(o, c, allow))
			return -1;
	return optind;
}

/* override_text - config lines for the options that replace config keys */
static char *
override_text(const struct pfl_cli_opts *o)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		abort(); /* out of memory, as in pfl_xmalloc */
	for (i = 0; i < o->negress; i++)
		fprintf(fp, "EgressAddresses %s\n", o->egress[i]);
	if (o->helo != NULL)
		fprintf(fp, "EgressHelo %s\n", o->helo);
	if (o->ns != NULL)
		fprintf(fp, "Nameservers %s\n", o->ns);
	if (fclose(fp) != 0)
		abort();
	return text;
}

/* pfl_cli_check_ctx - the config with the overrides, and its context */
struct pfl_ctx *
pfl_cli_check_ctx(const struct pfl_cli_opts *o)
{
	const char *path = o->config;
	char *over = override_text(o), *errors = NULL;
	struct pfl_config *cfg;
	struct pfl_ctx *ctx = NULL;

	if (path == NULL && access(PFL_DEFAULT_CONFIG, F_OK) == 0)
		path = PFL_DEFAULT_CONFIG;
	cfg = pfl_config_load_override(path, "command line", over, &errors);
	if (cfg != NULL)
		ctx = pfl_ctx_new(cfg, &errors);
	if (ctx == NULL)
		fputs(errors ? errors : "preflight: cannot load the config\n",
		    stderr);
	free(errors);
	free(over);
	return ctx;
}

/* --- check-message: the message ------------------------------------------- */

/* walk_header - one header field for the checks */
static void
walk_header(void *arg, const char *name, const char *value)
{
	pfl_checks_header(arg, name, value);
}

/* walk_eoh - the end of the headers; false: the checks want no body */
static bool
walk_eoh(void *arg)
{
	return pfl_checks_eoh(arg);
}

/* walk_body - the body for the checks */
static void
walk_body(void *arg, const unsigned char *buf, size_t len)
{
	pfl_checks_body(arg, buf, len);
}

/* --- check-message -------------------------------------------------------- */

/* message_usage - the synopsis */
static int
message_usage(void)
{
	fprintf(stderr,
	    "usage: preflight check-message [-c FILE] --mail-from ADDR "
	    "--rcpt ADDR [--rcpt ADDR...]\n"
	    "           [--egress-ip IP...] [--helo NAME] "
	    "[--nameserver IP[@PORT]] [--json] [FILE|-]\n");
	return EX_USAGE;
}

/* check_message - run the checks and decide; the exit status */
static int
check_message(struct pfl_ctx *ctx, const struct pfl_cli_opts *o,
    const char *msg, size_t len)
{
	static const struct pfl_msgfile_ops ops = { walk_header, walk_eoh,
		walk_body };
	struct pfl_finding f[PFL_MAX_FINDINGS];
	struct pfl_arena *arena = pfl_arena_new();
	struct pfl_checks *c;
	struct pfl_verdict v;
	char summary[1024], *line;
	size_t i, n;

	c = pfl_checks_new(ctx, arena, o->mail_from, "check-message", true);
	pfl_checks_mail(c);
	for (i = 0; i < o->nrcpt; i++)
		pfl_checks_rcpt(c, o->rcpt[i], NULL);
	pfl_msgfile_walk(msg, len, &ops, c);
	/* what the daemon's egress check would say of these addresses */
	pfl_egress_state_round(ctx, time(NULL), true);
	n = pfl_checks_eom(c, f, PFL_MAX_FINDINGS);
	pfl_checks_summary(c, summary, sizeof(summary));
	pfl_verdict_decide(f, n, PFL_MODE_ENFORCE, false, &v);
	if (o->json)
		pfl_cli_check_json(c, &v, o->nrcpt, summary);
	else {
		struct pfl_decision d = { &v, v.action, PFL_MODE_ENFORCE,
			summary, c->sender, o->nrcpt, 0 };

		line = pfl_xmalloc(PFL_DECISION_SIZE);
		puts(pfl_session_decision(&d, line, PFL_DECISION_SIZE));
		free(line);
	}
	pfl_checks_free(&c);
	pfl_arena_free(&arena);
	return v.outcome == PFL_OUT_DELIVER ? 0
	    : v.outcome == PFL_OUT_THROTTLE ? 1
					    : 2;
}

/* pfl_cli_check_message - the check-message subcommand */
int
pfl_cli_check_message(int argc, char **argv)
{
	struct pfl_ctx *ctx;
	struct pfl_cli_opts o;
	const char *path;
	size_t len;
	char *msg;
	int i, rc;

	if ((i = pfl_cli_check_opts(argc, argv, "cehnmrj", &o)) < 0 ||
	    argc - i > 1 || o.mail_from == NULL || o.nrcpt == 0)
		return message_usage();
	path = i < argc ? argv[i] : "-";
	if ((msg = pfl_msgfile_read(path, &len)) == NULL) {
		fprintf(stderr, "preflight: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	if ((ctx = pfl_cli_check_ctx(&o)) == NULL) {
		free(msg);
		return EX_CONFIG;
	}
	rc = check_message(ctx, &o, msg, len);
	pfl_ctx_unref(ctx);
	free(msg);
	return rc;
}
