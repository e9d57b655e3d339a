/*
 * NAME
 *	config - parse preflight.conf into an immutable snapshot
 * DESCRIPTION
 *	Every key is one row of the keys[] table: its name, type, where it
 *	lands in struct pfl_config, its default (as config text, parsed by
 *	the same code as the file) and its bounds. Adding a key is adding a
 *	row and a field.
 * SECURITY
 *	The file is trusted (root-owned) but is still parsed with bounds:
 *	overlong lines and values are errors, not truncations.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cidr.h"
#include "config.h"
#include "errors.h"
#include "util.h"

#define MAX_LINE 8192

enum ktype {
	K_STRING,   /* any non-empty text */
	K_PATH,     /* an absolute path */
	K_BOOL,     /* yes/no */
	K_SOCKET,   /* inet:PORT@ADDR, inet6:PORT@ADDR, unix:PATH */
	K_OCTAL,    /* a umask */
	K_USER,     /* user[:group], must exist */
	K_MODE,     /* monitor/tag/enforce */
	K_CIDRS,    /* network list */
	K_WORDS,    /* word list, lines accumulate */
	K_FACILITY, /* syslog facility name */
	K_LOGLEVEL, /* log level name */
	K_UINT,     /* a whole number within [min, max] */
	K_MSEC,     /* a duration: 500ms, 5s, 10m, 6h, 1d; stored in ms */
	K_ACTION,   /* accept/tag/hold/defer/reject */
	K_LINES,    /* whole values with line numbers, lines accumulate */
	K_ADDRS,    /* IP addresses (no networks), lines accumulate */
};

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	const char *def; /* default as config text, or NULL */
	long min, max;   /* bounds for numbers */
};

#define F(field) offsetof(struct pfl_config, field)
/* K_ACTION: max is a mask of the actions allowed (0: all of them) */
#define ACTS(a) (1L << (a))

static const struct key keys[] = {
	{ "Socket", K_SOCKET, F(socket), "unix:/run/preflight/milter.sock", 0,
	    0 },
	{ "UMask", K_OCTAL, F(umask), "007", 0, 0777 },
	{ "UserID", K_USER, F(user_id), NULL, 0, 0 },
	{ "AllowRunAsRoot", K_BOOL, F(allow_root), "no", 0, 0 },
	{ "PidFile", K_PATH, F(pid_file), NULL, 0, 0 },
	{ "Mode", K_MODE, F(mode), "tag", 0, 0 },
	{ "InternalHosts", K_CIDRS, F(internal_hosts), "127.0.0.0/8, ::1", 0,
	    0 },
	{ "LocalSubmissionDaemonName", K_STRING, F(local_daemon_name),
	    "local-submit", 0, 0 },
	{ "Syslog", K_BOOL, F(syslog), "yes", 0, 0 },
	{ "SyslogFacility", K_FACILITY, F(syslog_facility), "mail", 0, 0 },
	{ "LogFile", K_PATH, F(log_file), NULL, 0, 0 },
	{ "LogLevel", K_LOGLEVEL, F(log_level), "info", 0, 0 },
	{ "PauseDomains", K_WORDS, F(pause_domains), NULL, 0, 0 },
	{ "HoldSenders", K_WORDS, F(hold_senders), NULL, 0, 0 },
	{ "Nameservers", K_STRING, F(nameservers), NULL, 0, 0 },
	{ "DnsTimeout", K_MSEC, F(dns_timeout_ms), "5s", 100, 25000 },
	{ "StageTimeout", K_MSEC, F(stage_timeout_ms), "20s", 1000, 25000 },
	{ "SignerKeyTable", K_STRING, F(signer_key_table), NULL, 0, 0 },
	{ "SignerSigningTable", K_STRING, F(signer_signing_table), NULL, 0, 0 },
	{ "SignerSignHeaders", K_WORDS, F(signer_sign_headers), NULL, 0, 0 },
	{ "KeyCheckInterval", K_MSEC, F(key_check_interval_ms), "1h", 1000,
	    604800000 },
	{ "ProviderRule", K_LINES, F(provider_rules), NULL, 0, 0 },
	{ "ProviderDomains", K_LINES, F(provider_domains), NULL, 0, 0 },
	{ "OnAuthReject", K_ACTION, F(on_auth_reject), "defer", 0, 0 },
	{ "OnAuthThrottle", K_ACTION, F(on_auth_throttle), "tag", 0, 0 },
	{ "OnDnsError", K_ACTION, F(on_dns_error), "tag", 0, 0 },
	{ "BulkSenderDomains", K_WORDS, F(bulk_sender_domains), NULL, 0, 0 },
	{ "EgressAddresses", K_ADDRS, F(egress_addresses), NULL, 0, 0 },
	{ "EgressHelo", K_STRING, F(egress_helo), NULL, 0, 0 },
	{ "Budget", K_LINES, F(budgets), NULL, 0, 0 },
	{ "Warmup", K_LINES, F(warmups), NULL, 0, 0 },
	{ "SendingLimits", K_LINES, F(sending_limits), NULL, 0, 0 },
	{ "BulkThreshold", K_UINT, F(bulk_threshold), "5000", 1, 100000000 },
	{ "StateStore", K_STRING, F(state_store),
	    "lmdb:/var/lib/preflight/state.lmdb", 0, 0 },
	{ "OnStoreError", K_ACTION, F(on_store_error), "accept", 0,
	    ACTS(PFL_ACT_ACCEPT) | ACTS(PFL_ACT_DEFER) },
	{ "OnBudgetExceeded", K_ACTION, F(on_budget_exceeded), "defer", 0,
	    ACTS(PFL_ACT_DEFER) | ACTS(PFL_ACT_HOLD) | ACTS(PFL_ACT_TAG) },
	{ "Dnsbl", K_LINES, F(dnsbls), NULL, 0, 0 },
	{ "DnsblResolver", K_STRING, F(dnsbl_resolver), "recursive", 0, 0 },
	{ "DnsblInterval", K_MSEC, F(dnsbl_interval_ms), "6h", 1000,
	    604800000 },
	{ "OnListed", K_ACTION, F(on_listed), "defer", 0,
	    ACTS(PFL_ACT_DEFER) | ACTS(PFL_ACT_HOLD) | ACTS(PFL_ACT_TAG) },
	{ "OnDomainListed", K_ACTION, F(on_domain_listed), "defer", 0, 0 },
	{ "DnsblCheckUrls", K_BOOL, F(dnsbl_check_urls), "no", 0, 0 },
	{ "DnsblMaxUrlDomains", K_UINT, F(dnsbl_max_url_domains), "20", 1,
	    1000 },
	{ "DnsblUrlScanBytes", K_UINT, F(dnsbl_url_scan_bytes), "1048576", 4096,
	    67108864 },
	{ "OnMalformed", K_ACTION, F(on_malformed), "tag", 0, 0 },
	{ "OnUnsubscribeMissing", K_ACTION, F(on_unsubscribe_missing), "tag", 0,
	    0 },
	{ "MaxHeaderSize", K_UINT, F(max_header_size), "512000", 1024,
	    16777216 },
	{ "EgressCheckInterval", K_MSEC, F(egress_check_interval_ms), "1h",
	    1000, 604800000 },
	{ "OnEgressMisconfigured", K_ACTION, F(on_egress_misconfigured), "tag",
	    0, 0 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* find_key - table row for a name, or NULL */
static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (pfl_strcaseeq(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* parse_bool - yes/no words; -1 when not one */
static int
parse_bool(const char *v)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (pfl_strcaseeq(v, yes[i]))
			return 1;
		if (pfl_strcaseeq(v, no[i]))
			return 0;
	}
	return -1;
}

/* check_port - a decimal port 1..65535 in [p, end) */
static bool
check_port(const char *p, size_t len)
{
	long port = 0;
	size_t i;

	if (len == 0 || len > 5)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		port = port * 10 + (p[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* check_socket - validate a Socket value; NULL or the reason */
static const char *
check_socket(const char *v)
{
	const char *at;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		const char *path = strchr(v, ':') + 1;

		if (*path != '/')
			return "a unix socket needs an absolute path";
		if (strlen(path) >= 108)
			return "unix socket path too long (max 107 bytes)";
		return NULL;
	}
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		const char *port = strchr(v, ':') + 1;

		at = strchr(port, '@');
		if (!check_port(port, at ? (size_t)(at - port) : strlen(port)))
			return "bad port (expected inet:PORT@ADDRESS)";
		if (at && at[1] == '\0')
			return "empty address after '@'";
		return NULL;
	}
	return "expected inet:PORT@ADDRESS, inet6:PORT@ADDRESS or unix:PATH";
}

/* check_user - does "user[:group]" name an existing user (and group)? */
static const char *
check_user(const char *v)
{
	char name[256], *colon;

	if (pfl_strlcpy(name, v, sizeof(name)) >= sizeof(name))
		return "user name too long";
	colon = strchr(name, ':');
	if (colon)
		*colon++ = '\0';
	if (getpwnam(name) == NULL)
		return "no such user";
	if (colon && getgrnam(colon) == NULL)
		return "no such group";
	return NULL;
}

/* add_words - append comma/space separated words, lower-cased */
static void
add_words(struct pfl_strlist *l, const char *v)
{
	char *copy = pfl_xstrdup(v), *tok, *save = NULL, *p;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		for (p = tok; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		l->v = pfl_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = pfl_xstrdup(tok);
	}
	free(copy);
}

/* parse_msec - "500ms", "5s", "10m", "6h", "1d" (or bare seconds) */
static int
parse_msec(const char *v, unsigned long *ms_r)
{
	static const struct {
		const char *unit;
		unsigned long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 } };
	unsigned long n;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (n > ULONG_MAX / units[i].ms)
				return -1;
			*ms_r = n * units[i].ms;
			return 0;
		}
	return -1;
}

/* parse_action - an action name; -1 when not one */
static int
parse_action(const char *v)
{
	static const char *names[] = { "accept", "tag", "hold", "defer",
		"reject" };
	int i;

	for (i = 0; i < 5; i++)
		if (pfl_strcaseeq(v, names[i]))
			return PFL_ACT_ACCEPT + i;
	return -1;
}

/* set_action_of - an action among the key's allowed ones; NULL or why */
static const char *
set_action_of(
    const struct key *k, char *base, const char *v, char *why, size_t whylen)
{
	static const char *names[] = { "accept", "tag", "hold", "defer",
		"reject" };
	int b = parse_action(v), i, n = 0, left = 0;
	size_t len;

	if (b >= 0 && (k->max & ACTS(b))) {
		*(enum pfl_action *)base = (enum pfl_action)b;
		return NULL;
	}
	for (i = 0; i < 5; i++)
		left += (k->max & ACTS(i)) != 0;
	len = (size_t)snprintf(why, whylen, "expected");
	for (i = 0; i < 5 && len < whylen; i++)
		if (k->max & ACTS(i))
			len += (size_t)snprintf(why + len, whylen - len, "%s%s",
			    n++ == 0        ? " "
				: n == left ? " or "
					    : ", ",
			    names[i]);
	return why;
}

/* add_line - append a whole value and its line number */
static void
add_line(struct pfl_linelist *l, const char *v, int lineno)
{
	l->v = pfl_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->line = pfl_xrealloc(l->line, (l->n + 1) * sizeof(*l->line));
	l->v[l->n] = pfl_xstrdup(v);
	l->line[l->n++] = lineno;
}

/* add_addrs - append IP addresses in normal form; NULL or the reason */
static const char *
add_addrs(struct pfl_strlist *l, const char *v, char *why, size_t whylen)
{
	char *copy = pfl_xstrdup(v), *tok, *save = NULL;
	char text[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	int af;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		af = strchr(tok, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(af, tok, bin) != 1 ||
		    inet_ntop(af, bin, text, sizeof(text)) == NULL) {
			snprintf(why, whylen,
			    "\"%.64s\" is not an IP address (one each, no "
			    "networks)",
			    tok);
			free(copy);
			return why;
		}
		l->v = pfl_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = pfl_xstrdup(text);
	}
	free(copy);
	return NULL;
}

/* accumulates - may the key be given on several lines? */
static bool
accumulates(const struct key *k)
{
	return k->type == K_WORDS || k->type == K_LINES || k->type == K_ADDRS;
}

/* set_string - replace a string field */
static void
set_string(struct pfl_config *c, const struct key *k, const char *v)
{
	char **slot = (char **)((char *)c + k->off);

	free(*slot);
	*slot = pfl_xstrdup(v);
}

/* set_value - check v for key k and store it; NULL or the reason */
static const char *
set_value(struct pfl_config *c, const struct key *k, const char *v, int lineno,
    char *why, size_t whylen)
{
	char *base = (char *)c + k->off, *end;
	const char *bad;
	long n;
	int b;

	switch (k->type) {
	case K_STRING:
		set_string(c, k, v);
		return NULL;
	case K_PATH:
		if (*v != '/')
			return "expected an absolute path";
		set_string(c, k, v);
		return NULL;
	case K_BOOL:
		if ((b = parse_bool(v)) < 0)
			return "expected yes or no";
		*(bool *)base = b;
		return NULL;
	case K_SOCKET:
		if ((bad = check_socket(v)) != NULL)
			return bad;
		set_string(c, k, v);
		return NULL;
	case K_OCTAL:
		errno = 0;
		n = strtol(v, &end, 8);
		if (*end != '\0' || errno || n < k->min || n > k->max)
			return "expected an octal mode such as 007";
		*(mode_t *)base = (mode_t)n;
		return NULL;
	case K_USER:
		if ((bad = check_user(v)) != NULL)
			return bad;
		set_string(c, k, v);
		return NULL;
	case K_MODE:
		if (pfl_strcaseeq(v, "monitor"))
			*(enum pfl_mode *)base = PFL_MODE_MONITOR;
		else if (pfl_strcaseeq(v, "tag"))
			*(enum pfl_mode *)base = PFL_MODE_TAG;
		else if (pfl_strcaseeq(v, "enforce"))
			*(enum pfl_mode *)base = PFL_MODE_ENFORCE;
		else
			return "expected monitor, tag or enforce";
		return NULL;
	case K_CIDRS: {
		struct pfl_cidr_list **slot = (void *)base;
		struct pfl_cidr_list *l = pfl_cidr_list_parse(v, why, whylen);

		if (l == NULL)
			return why;
		pfl_cidr_list_free(*slot);
		*slot = l;
		return NULL;
	}
	case K_WORDS:
		add_words((struct pfl_strlist *)base, v);
		return NULL;
	case K_FACILITY:
		if ((b = pfl_log_facility_parse(v)) < 0)
			return "unknown syslog facility (mail, daemon, "
			       "local0..7)";
		*(int *)base = b;
		return NULL;
	case K_LOGLEVEL:
		if ((b = pfl_log_level_parse(v)) < 0)
			return "expected err, warning, notice, info or debug";
		*(enum pfl_log_level *)base = (enum pfl_log_level)b;
		return NULL;
	case K_UINT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end != '\0' || errno ||
		    n < k->min || n > k->max) {
			snprintf(why, whylen,
			    "expected a number from %ld to %ld", k->min,
			    k->max);
			return why;
		}
		*(unsigned *)base = (unsigned)n;
		return NULL;
	case K_MSEC: {
		unsigned long ms;

		if (parse_msec(v, &ms) < 0 || ms < (unsigned long)k->min ||
		    ms > (unsigned long)k->max) {
			snprintf(why, whylen,
			    "expected a duration from %ldms to %ldms "
			    "(such as 500ms, 5s, 10m, 6h, 1d)",
			    k->min, k->max);
			return why;
		}
		*(unsigned long *)base = ms;
		return NULL;
	}
	case K_ACTION:
		if (k->max != 0)
			return set_action_of(k, base, v, why, whylen);
		if ((b = parse_action(v)) < 0)
			return "expected accept, tag, hold, defer or reject";
		*(enum pfl_action *)base = (enum pfl_action)b;
		return NULL;
	case K_LINES:
		add_line((struct pfl_linelist *)base, v, lineno);
		return NULL;
	case K_ADDRS:
		return add_addrs((struct pfl_strlist *)base, v, why, whylen);
	}
	abort();
}

/* apply_defaults - set every key that has a default */
static void
apply_defaults(struct pfl_config *c)
{
	char why[256];
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].def &&
		    set_value(c, &keys[i], keys[i].def, 0, why, sizeof(why)) !=
			NULL)
			abort(); /* a bad built-in default is a bug */
}

/* parse_line - one line: comment, blank, or "Key value" */
static void
parse_line(struct pfl_config *c, char *line, const char *file, int lineno,
    int *seen, struct pfl_errors *e)
{
	const struct key *k;
	char *key, *val, *hash, why[256];
	const char *bad;

	for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
		if (hash == line || isspace((unsigned char)hash[-1])) {
			*hash = '\0';
			break;
		}
	key = pfl_trim(line);
	if (*key == '\0')
		return;
	for (val = key; *val && !isspace((unsigned char)*val); val++)
		;
	if (*val)
		*val++ = '\0';
	val = pfl_trim(val);
	if ((k = find_key(key)) == NULL) {
		pfl_errors_add(e, file, lineno, "unknown key \"%.64s\"", key);
		return;
	}
	if (*val == '\0') {
		pfl_errors_add(e, file, lineno, "%s: missing value", k->name);
		return;
	}
	if (!accumulates(k) && seen[k - keys] > 0) {
		pfl_errors_add(e, file, lineno, "%s: already set at line %d",
		    k->name, seen[k - keys]);
		return;
	}
	seen[k - keys] = lineno;
	if ((bad = set_value(c, k, val, lineno, why, sizeof(why))) != NULL)
		pfl_errors_add(
		    e, file, lineno, "%s: %s: \"%.128s\"", k->name, bad, val);
}

/* key_of - the table row a line [p, p+len) sets; NULL for none */
static const struct key *
key_of(const char *p, size_t len)
{
	char name[64];
	size_t i = 0, n = 0;

	while (i < len && isspace((unsigned char)p[i]))
		i++;
	while (i + n < len && !isspace((unsigned char)p[i + n]))
		n++;
	if (n == 0 || n >= sizeof(name) || p[i] == '#')
		return NULL;
	memcpy(name, p + i, n);
	name[n] = '\0';
	return find_key(name);
}

/*
 * parse_text - parse the lines of text into c; a line setting a key whose
 * skip[] entry is set (skip may be NULL) is passed over
 */
static void
parse_text(struct pfl_config *c, const char *name, const char *text,
    const bool *skip, int *seen, struct pfl_errors *e)
{
	const struct key *k;
	const char *p = text, *nl;
	int lineno = 0;
	char *line;

	while (*p) {
		nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		if (len > MAX_LINE) {
			pfl_errors_add(e, name, lineno,
			    "line longer than %d bytes", MAX_LINE);
		} else if (memchr(p, '\0', len) != NULL) {
			pfl_errors_add(e, name, lineno, "NUL byte in line");
		} else if (skip == NULL || (k = key_of(p, len)) == NULL ||
		    !skip[k - keys]) {
			line = pfl_xstrndup(p, len);
			parse_line(c, line, name, lineno, seen, e);
			free(line);
		}
		p += len + (nl != NULL);
	}
}

/* config_new - a snapshot holding the defaults */
static struct pfl_config *
config_new(const char *name)
{
	struct pfl_config *c = pfl_xcalloc(1, sizeof(*c));

	c->refs = 1;
	c->path = pfl_xstrdup(name);
	apply_defaults(c);
	return c;
}

/* config_done - the snapshot, or NULL with the problems in *errors_r */
static struct pfl_config *
config_done(struct pfl_config *c, struct pfl_errors *e, char **errors_r)
{
	if (e->count > 0) {
		pfl_config_unref(c);
		*errors_r = pfl_errors_take(e);
		return NULL;
	}
	*errors_r = NULL;
	return c;
}

/* pfl_config_parse - parse text in memory */
struct pfl_config *
pfl_config_parse(const char *name, const char *text, char **errors_r)
{
	struct pfl_config *c = config_new(name);
	struct pfl_errors e = { 0 };
	int seen[NKEYS] = { 0 };

	parse_text(c, name, text, NULL, seen, &e);
	return config_done(c, &e, errors_r);
}

/* pfl_config_load - read and check a file */
struct pfl_config *
pfl_config_load(const char *path, char **errors_r)
{
	struct pfl_errors e = { 0 };
	struct pfl_config *c;
	char *buf;

	if ((buf = pfl_text_file_read(path, 64u << 20, &e)) == NULL) {
		*errors_r = pfl_errors_take(&e);
		return NULL;
	}
	c = pfl_config_parse(path, buf, errors_r);
	free(buf);
	return c;
}

/* pfl_config_load_override - a file (or the defaults) with lines replaced */
struct pfl_config *
pfl_config_load_override(
    const char *path, const char *origin, const char *override, char **errors_r)
{
	struct pfl_errors e = { 0 };
	bool skip[NKEYS] = { false };
	int seen[NKEYS] = { 0 };
	const struct key *k;
	struct pfl_config *c;
	const char *p, *nl;
	char *buf = NULL;
	size_t len;

	if (path != NULL &&
	    (buf = pfl_text_file_read(path, 64u << 20, &e)) == NULL) {
		*errors_r = pfl_errors_take(&e);
		return NULL;
	}
	for (p = override; *p; p += len + (nl != NULL)) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if ((k = key_of(p, len)) != NULL)
			skip[k - keys] = true;
	}
	c = config_new(path ? path : PFL_CONFIG_DEFAULTS);
	if (buf != NULL)
		parse_text(c, path, buf, skip, seen, &e);
	free(buf);
	parse_text(c, origin, override, NULL, seen, &e);
	return config_done(c, &e, errors_r);
}

/* pfl_config_ref - take another reference */
struct pfl_config *
pfl_config_ref(struct pfl_config *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

/* free_words - free a word list */
static void
free_words(struct pfl_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* free_lines - free a line list */
static void
free_lines(struct pfl_linelist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->line);
}

/* pfl_config_unref - drop a reference; frees on the last */
void
pfl_config_unref(struct pfl_config *c)
{
	size_t i;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < NKEYS; i++) {
		char *base = (char *)c + keys[i].off;

		switch (keys[i].type) {
		case K_STRING:
		case K_PATH:
		case K_SOCKET:
		case K_USER:
			free(*(char **)base);
			break;
		case K_CIDRS:
			pfl_cidr_list_free(*(struct pfl_cidr_list **)base);
			break;
		case K_WORDS:
		case K_ADDRS:
			free_words((struct pfl_strlist *)base);
			break;
		case K_LINES:
			free_lines((struct pfl_linelist *)base);
			break;
		default:
			break;
		}
	}
	free(c->path);
	free(c);
}

/* pfl_config_mode_name - printable mode */
const char *
pfl_config_mode_name(enum pfl_mode m)
{
	switch (m) {
	case PFL_MODE_MONITOR:
		return "monitor";
	case PFL_MODE_TAG:
		return "tag";
	case PFL_MODE_ENFORCE:
		return "enforce";
	}
	return "?";
}

/* pfl_strlist_has - is the word in the list? */
bool
pfl_strlist_has(const struct pfl_strlist *l, const char *w)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], w) == 0)
			return true;
	return false;
}

/* pfl_config_keys - the NULL-terminated list of key names */
const char *const *
pfl_config_keys(void)
{
	static const char *names[NKEYS + 1];
	size_t i;

	for (i = 0; i < NKEYS; i++)
		names[i] = keys[i].name;
	names[NKEYS] = NULL;
	return names;
}
