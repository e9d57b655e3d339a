/*
 * NAME
 *	cli_budget - preflight budget: what the rate budgets have counted
 * SYNOPSIS
 *	preflight budget show [-c CONFIG] [--target T] [--scope S] [--key K]
 *	preflight budget reset [-c CONFIG] KEY
 * DESCRIPTION
 *	show reads the budgets of a configuration (Budget, Warmup and
 *	SendingLimits lines, as pfl_budget_describe tells them) and, in the
 *	store its StateStore names, every key each one counts under. After
 *	a first line "store SPEC" it prints one line per key:
 *
 *	    NAME: VALUE USED/LIMIT [full next=YYYY-MM-DDTHH:MM:SSZ]
 *	        origin="FILE:LINE" key=KEY
 *
 *	(NAME as in the milter's replies, "google/sender-domain 3/1h";
 *	origin "SendingLimits google-workspace" for a preset), a line
 *	"NAME: nothing counted origin=..." for a budget with no key, and one
 *	line "bulk PROVIDER DOMAIN marked key=KEY" per sticky bulk mark.
 *	--target and --scope keep the budgets of that target ("google",
 *	"gmail.com", "*"; warm-ups count against "*") and scope; --key shows
 *	one key, counted or not. The time of the next slot is learnt from a
 *	window add that the full window refuses; if a slot opened meanwhile
 *	the add is given back at once.
 *
 *	reset deletes one key: a budget's count, a warm-up's, or a bulk mark
 *	(which `show` lists); the milter starts counting it from zero.
 *
 *	Run as root with a UserID in the configuration, the command becomes
 *	that user before it opens the store, as the daemon does: files LMDB
 *	creates (its lock file) then belong to the daemon's user and stay
 *	usable by it. A store file that does not exist yet is not created.
 *	The memory store lives inside each preflight-milter process: there
 *	is nothing to read from outside, and the command says so.
 *
 *	Exit status: 0; 1 no such key (reset), or a --key no budget counts
 *	(show); 64 usage; 69 (EX_UNAVAILABLE) a memory store; 75
 *	(EX_TEMPFAIL) the store failed; 78 a bad configuration.
 */
#include <autoconfig.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "cli.h"
#include "config.h"
#include "ctx.h"
#include "daemon.h"
#include "store.h"
#include "util.h"

#define BULKMARK_PREFIX "pfl:bulkmark:"

/* What show looks at, and what it met on the way. */
struct show {
	struct pfl_store *store; /* NULL: an LMDB file not created yet */
	const char *target;      /* --target, or NULL */
	const char *scope;       /* --scope, or NULL */
	const char *key;         /* --key, or NULL */
	time_t now;
	const struct pfl_budget_info *info; /* the budget being listed */
	size_t shown;                       /* its keys printed */
	int rc;                             /* 0, or EX_TEMPFAIL */
};

/* usage - the subcommand's synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: preflight budget show [-c CONFIG] [--target T] "
	    "[--scope S] [--key KEY]\n"
	    "       preflight budget reset [-c CONFIG] KEY\n");
	return EX_USAGE;
}

/* utc_text - a time as 2026-11-28T14:05:10Z */
static char *
utc_text(char *dst, size_t n, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		pfl_strlcpy(dst, "?", n);
	return dst;
}

/* target_of - a budget's target as --target names it ("*" for warm-ups) */
static char *
target_of(char *dst, size_t n, const struct pfl_budget_info *info)
{
	size_t len = strcspn(info->name, "/ ");

	if (strncmp(info->name, "warmup ", 7) == 0 || info->name[len] != '/')
		len = 0;
	if (len == 0 || len >= n) {
		pfl_strlcpy(dst, "*", n);
		return dst;
	}
	memcpy(dst, info->name, len);
	dst[len] = '\0';
	return dst;
}

/* wanted - does the budget pass the --target and --scope filters? */
static bool
wanted(const struct show *sh, const struct pfl_budget_info *info)
{
	char target[PFL_BUDGET_KEY_SIZE];

	if (sh->scope &&
	    strcasecmp(sh->scope, pfl_budget_scope_name(info->scope)) != 0)
		return false;
	return sh->target == NULL ||
	    strcasecmp(sh->target, target_of(target, sizeof(target), info)) ==
	    0;
}

/*
 * value_of - the value a key of this budget counts (between prefix and
 * suffix; a warm-up's is in its prefix) into dst; false when the key is
 * not one of the budget's
 */
static bool
value_of(
    char *dst, size_t n, const struct pfl_budget_info *info, const char *key)
{
	size_t plen = strlen(info->prefix), slen = strlen(info->suffix);
	size_t klen = strlen(key), vlen;
	const char *v;

	if (klen < plen + slen || strncmp(key, info->prefix, plen) != 0 ||
	    strcmp(key + klen - slen, info->suffix) != 0)
		return false;
	v = key + plen;
	vlen = klen - plen - slen;
	if (memchr(v, ':', vlen) != NULL || vlen >= n)
		return false; /* another budget's key, sharing the prefix */
	if (vlen == 0) {      /* a warm-up: prefix "pfl:w:SCOPE:VALUE" */
		if (strncmp(info->prefix, "pfl:w:", 6) != 0)
			return false;
		pfl_strlcpy(dst, strrchr(info->prefix, ':') + 1, n);
		return true;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return true;
}

/*
 * next_slot - when a full window admits one more: the time a refused
 * add reports (0: never, the limit is 0). -1 when the add was admitted
 * after all (a slot opened since the count; the add is given back) or
 * the store failed (then err says why).
 */
static time_t
next_slot(struct pfl_store *st, const struct pfl_budget_info *info,
    const char *key, time_t now, char *err, size_t errlen)
{
	struct pfl_window_result r;

	if (pfl_store_window_add(st, key, &info->window, now, 1, info->limit,
		&r, err, errlen) != PFL_STORE_OK)
		return -1;
	if (!r.admitted)
		return r.next_free;
	(void)pfl_store_window_release(
	    st, key, &info->window, r.bucket, 1, err, errlen);
	return -1;
}

/* print_key - one key's line; -1 when the store failed (said why) */
static int
print_key(struct show *sh, const char *key, const char *value)
{
	const struct pfl_budget_info *info = sh->info;
	char err[256] = "", when[32];
	enum pfl_store_status s;
	uint64_t used = 0;
	time_t next = -1;

	s = sh->store == NULL
	    ? PFL_STORE_NOTFOUND /* no store file yet */
	    : pfl_store_window_total(sh->store, key, &info->window, sh->now,
		  &used, err, sizeof(err));
	if (s == PFL_STORE_OK && used >= info->limit)
		next =
		    next_slot(sh->store, info, key, sh->now, err, sizeof(err));
	if (s == PFL_STORE_TEMPFAIL || err[0] != '\0') {
		fprintf(stderr, "preflight: %s\n", err);
		return -1;
	}
	printf("%s: %s %" PRIu64 "/%" PRIu64, info->name, value, used,
	    info->limit);
	if (next > 0)
		printf(" full next=%s", utc_text(when, sizeof(when), next));
	else if (next == 0)
		printf(" full next=never");
	printf(" origin=\"%s\" key=%s\n", info->origin, key);
	sh->shown++;
	return 0;
}

/* each_key - pfl_store_list callback: print the budget's own keys */
static int
each_key(const char *key, void *arg)
{
	struct show *sh = arg;
	char value[PFL_BUDGET_KEY_SIZE];

	if (!value_of(value, sizeof(value), sh->info, key))
		return 0;
	if (print_key(sh, key, value) < 0) {
		sh->rc = EX_TEMPFAIL;
		return 1;
	}
	return 0;
}

/* show_budget - every key of one budget; false when the store failed */
static bool
show_budget(struct show *sh, const struct pfl_budget_info *info)
{
	char err[256];

	sh->info = info;
	sh->shown = 0;
	if (pfl_store_list(sh->store, info->prefix, each_key, sh, err,
		sizeof(err)) != PFL_STORE_OK) {
		fprintf(stderr, "preflight: %s\n", err);
		sh->rc = EX_TEMPFAIL;
	}
	if (sh->rc == 0 && sh->shown == 0)
		printf("%s: nothing counted origin=\"%s\"\n", info->name,
		    info->origin);
	return sh->rc == 0;
}

/* each_mark - pfl_store_list callback: one bulk mark's line */
static int
each_mark(const char *key, void *arg)
{
	struct show *sh = arg;
	const char *p = key + strlen(BULKMARK_PREFIX);
	size_t plen = strcspn(p, ":");

	if (p[plen] != ':' || (sh->key && strcmp(sh->key, key) != 0))
		return 0;
	if (sh->target &&
	    (strlen(sh->target) != plen ||
		strncasecmp(sh->target, p, plen) != 0))
		return 0;
	printf("bulk %.*s %s marked key=%s\n", (int)plen, p, p + plen + 1, key);
	sh->shown++;
	return 0;
}

/* show_marks - the sticky bulk marks (no scope: none when one is asked) */
static bool
show_marks(struct show *sh)
{
	char err[256];

	if (sh->scope != NULL)
		return true;
	if (pfl_store_list(sh->store, sh->key ? sh->key : BULKMARK_PREFIX,
		each_mark, sh, err, sizeof(err)) == PFL_STORE_OK)
		return true;
	fprintf(stderr, "preflight: %s\n", err);
	sh->rc = EX_TEMPFAIL;
	return false;
}

/* show_one - --key: the budget that counts it, or the bulk mark */
static int
show_one(struct show *sh, const struct pfl_budget_set *set)
{
	char value[PFL_BUDGET_KEY_SIZE];
	struct pfl_budget_info info;
	size_t i;

	if (strncmp(sh->key, BULKMARK_PREFIX, strlen(BULKMARK_PREFIX)) == 0) {
		if (sh->store != NULL && !show_marks(sh))
			return sh->rc;
		if (sh->shown == 0)
			printf("bulk mark not set key=%s\n", sh->key);
		return 0;
	}
	for (i = 0; pfl_budget_describe(set, i, sh->now, &info); i++) {
		if (!wanted(sh, &info) ||
		    !value_of(value, sizeof(value), &info, sh->key))
			continue;
		sh->info = &info;
		return print_key(sh, sh->key, value) < 0 ? EX_TEMPFAIL : 0;
	}
	fprintf(stderr, "preflight: %s: no configured budget counts this key\n",
	    sh->key);
	return 1;
}

/* show_all - every budget that passes the filters, then the bulk marks */
static int
show_all(struct show *sh, const struct pfl_budget_set *set)
{
	struct pfl_budget_info info;
	size_t i;

	for (i = 0; pfl_budget_describe(set, i, sh->now, &info); i++)
		if (wanted(sh, &info) && !show_budget(sh, &info))
			return sh->rc;
	show_marks(sh);
	return sh->rc;
}

/* list_config - the budgets without counts (a store we cannot read) */
static void
list_config(
    const struct show *sh, const struct pfl_budget_set *set, const char *why)
{
	struct pfl_budget_info info;
	size_t i;

	for (i = 0; pfl_budget_describe(set, i, sh->now, &info); i++)
		if (wanted(sh, &info))
			printf("%s: %s origin=\"%s\"\n", info.name, why,
			    info.origin);
}

/* show_ctx - show, once the config is loaded */
static int
show_ctx(struct show *sh, struct pfl_ctx *ctx)
{
	const char *spec = ctx->cfg->state_store;

	printf("store %s\n", spec);
	if (ctx->budgets == NULL || pfl_budget_set_count(ctx->budgets) == 0) {
		printf("no budgets configured\n");
		return 0;
	}
	if (strcmp(spec, "memory") == 0) {
		list_config(sh, ctx->budgets, "counts not visible");
		return pfl_cli_memory_note();
	}
	if (pfl_cli_lmdb_absent(spec) && sh->key == NULL) {
		list_config(
		    sh, ctx->budgets, "nothing counted (no store file)");
		return 0;
	}
	if (!pfl_cli_lmdb_absent(spec) &&
	    (sh->store = pfl_cli_open_store(ctx)) == NULL)
		return EX_TEMPFAIL;
	return sh->key ? show_one(sh, ctx->budgets)
		       : show_all(sh, ctx->budgets);
}

/* cmd_show - preflight budget show */
static int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "target", required_argument, NULL, 't' },
		{ "scope", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PFL_DEFAULT_CONFIG;
	struct show sh = { 0 };
	struct pfl_ctx *ctx;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 't':
			sh.target = optarg;
			break;
		case 's':
			sh.scope = optarg;
			break;
		case 'k':
			sh.key = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if ((ctx = pfl_cli_load(config)) == NULL)
		return EX_CONFIG;
	sh.now = time(NULL);
	rc = show_ctx(&sh, ctx);
	pfl_ctx_unref(ctx);
	return rc;
}

/* reset_ctx - delete key from the config's store */
static int
reset_ctx(struct pfl_ctx *ctx, const char *key)
{
	struct pfl_store *st;
	char err[256];

	if (strcmp(ctx->cfg->state_store, "memory") == 0)
		return pfl_cli_memory_note();
	if (pfl_cli_lmdb_absent(ctx->cfg->state_store)) {
		fprintf(stderr, "preflight: %s: no such key\n", key);
		return 1;
	}
	if ((st = pfl_cli_open_store(ctx)) == NULL)
		return EX_TEMPFAIL;
	switch (pfl_store_delete(st, key, err, sizeof(err))) {
	case PFL_STORE_OK:
		printf("deleted %s\n", key);
		return 0;
	case PFL_STORE_NOTFOUND:
		fprintf(stderr, "preflight: %s: no such key\n", key);
		return 1;
	default:
		fprintf(stderr, "preflight: %s\n", err);
		return EX_TEMPFAIL;
	}
}

/* our_key - is s a printable key of ours ("pfl:...", as show lists)? */
static bool
our_key(const char *s)
{
	size_t i, len = strlen(s);

	if (len <= 4 || len >= PFL_BUDGET_KEY_SIZE || strncmp(s, "pfl:", 4))
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/* cmd_reset - preflight budget reset */
static int
cmd_reset(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PFL_DEFAULT_CONFIG;
	struct pfl_ctx *ctx;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c')
			return usage();
		config = optarg;
	}
	if (optind != argc - 1)
		return usage();
	if (!our_key(argv[optind])) {
		fprintf(stderr,
		    "preflight: not a budget key (pfl:..., as "
		    "`preflight budget show` lists them)\n");
		return EX_USAGE;
	}
	if ((ctx = pfl_cli_load(config)) == NULL)
		return EX_CONFIG;
	rc = reset_ctx(ctx, argv[optind]);
	pfl_ctx_unref(ctx);
	return rc;
}

/* pfl_cli_budget - the budget subcommand: show or reset */
int
pfl_cli_budget(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "reset") == 0)
		return cmd_reset(argc - 1, argv + 1);
	return usage();
}
