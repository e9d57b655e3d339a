/*
 * NAME
 *	dkim_signer - read the signer's KeyTable and SigningTable
 * DESCRIPTION
 *	The tables are OpenDKIM's, in the two forms a file can take: a flat
 *	file ("file:PATH" or a bare absolute path; lines "key value") and,
 *	for the SigningTable, a wildcard file ("refile:PATH"; the key is a
 *	pattern where '*' matches anything). '#' starts a comment. A KeyTable
 *	value is "domain:selector:keydata", where keydata is a path (starting
 *	with /, ./ or ../) or the key itself; a SigningTable value starts
 *	with a key name (an optional ":signer" follows). "%" as a domain or
 *	key name means the From: domain, as in OpenDKIM.
 *
 *	Lookups follow OpenDKIM's dkimf_apply_signtable: a refile table tries
 *	its patterns in file order against user@domain; a flat table tries
 *	the literal keys user@domain, domain, user@.parent and .parent for
 *	every parent domain, user@* and *. A '*' in a flat table is literal:
 *	"*@example.com" there never matches, as with OpenDKIM.
 * SECURITY
 *	The tables are trusted (root-owned) but still parsed with bounds;
 *	each problem is reported with its file and line.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dkim_private.h"
#include "errors.h"
#include "util.h"

#define MAX_TABLE (16u << 20)

/* table_path - the file a table spec names; NULL for other table types */
static const char *
table_path(const char *spec, bool *refile_r)
{
	*refile_r = false;
	if (strncmp(spec, "file:", 5) == 0)
		spec += 5;
	else if (strncmp(spec, "refile:", 7) == 0) {
		spec += 7;
		*refile_r = true;
	}
	return *spec == '/' ? spec : NULL;
}

/* lower - lower-case a string in place */
static char *
lower(char *s)
{
	char *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* dns_word - a domain or selector: letters, digits, '-', '_', '.' */
static bool
dns_word(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

typedef void line_fn(struct pfl_dkim_signer *, char *key, char *value,
    const char *file, int line, struct pfl_errors *);

/* each_line - call fn for every "key value" line of a table */
static void
each_line(struct pfl_dkim_signer *s, char *text, const char *file, line_fn *fn,
    struct pfl_errors *e)
{
	char *line, *next, *hash, *key, *val;
	int lineno = 0;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		key = pfl_trim(line);
		if (*key == '\0')
			continue;
		for (val = key; *val && !isspace((unsigned char)*val); val++)
			;
		if (*val != '\0')
			*val++ = '\0';
		val = pfl_trim(val);
		if (*val == '\0') {
			pfl_errors_add(
			    e, file, lineno, "\"%.64s\" has no value", key);
			continue;
		}
		fn(s, key, val, file, lineno, e);
	}
}

/* find_key - the KeyTable entry of a name, or NULL */
static const struct pfl_dkim_keyent *
find_key(const struct pfl_dkim_signer *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (pfl_strcaseeq(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

/* add_key - one KeyTable line: "name domain:selector:keydata" */
static void
add_key(struct pfl_dkim_signer *s, char *name, char *val, const char *file,
    int line, struct pfl_errors *e)
{
	const struct pfl_dkim_keyent *dup;
	struct pfl_dkim_keyent *k;
	char *sel, *data;

	if ((sel = strchr(val, ':')) == NULL ||
	    (data = strchr(sel + 1, ':')) == NULL) {
		pfl_errors_add(e, file, line,
		    "expected \"%.64s domain:selector:keyfile\"", name);
		return;
	}
	*sel++ = '\0';
	*data++ = '\0';
	if (strcmp(val, "%") != 0 && !dns_word(val))
		pfl_errors_add(e, file, line, "bad domain \"%.64s\"", val);
	else if (!dns_word(sel))
		pfl_errors_add(e, file, line, "bad selector \"%.64s\"", sel);
	else if (*data == '\0')
		pfl_errors_add(
		    e, file, line, "no private key after the selector");
	else if (strlen(data) > 500)
		pfl_errors_add(
		    e, file, line, "private key path longer than 500 bytes");
	else if ((dup = find_key(s, name)) != NULL)
		pfl_errors_add(e, file, line,
		    "key \"%.64s\" already defined at line %d", name,
		    dup->line);
	else {
		s->keys = pfl_xrealloc(s->keys, (s->nkeys + 1) * sizeof(*k));
		k = &s->keys[s->nkeys++];
		k->name = pfl_xstrdup(name);
		k->domain = lower(pfl_xstrdup(val));
		k->selector = lower(pfl_xstrdup(sel));
		k->keydata = pfl_xstrdup(data);
		k->line = line;
	}
}

/* add_sig - one SigningTable line: "pattern keyname[:signer]" */
static void
add_sig(struct pfl_dkim_signer *s, char *pattern, char *val, const char *file,
    int line, struct pfl_errors *e)
{
	struct pfl_dkim_sigent *g;
	size_t n = strcspn(val, ": \t");

	if (n == 0) {
		pfl_errors_add(
		    e, file, line, "no key name for \"%.64s\"", pattern);
		return;
	}
	val[n] = '\0';
	if (strcmp(val, "%") != 0 && find_key(s, val) == NULL) {
		pfl_errors_add(e, file, line,
		    "key \"%.64s\" is not in the KeyTable %s", val, s->keyfile);
		return;
	}
	s->sigs = pfl_xrealloc(s->sigs, (s->nsigs + 1) * sizeof(*g));
	g = &s->sigs[s->nsigs++];
	g->pattern = lower(pfl_xstrdup(pattern));
	g->keyname = pfl_xstrdup(val);
	g->line = line;
}

/* load_table - read one table file through fn */
static void
load_table(struct pfl_dkim_signer *s, const char *path, line_fn *fn,
    struct pfl_errors *e)
{
	char *text = pfl_text_file_read(path, MAX_TABLE, e);

	if (text != NULL)
		each_line(s, text, path, fn, e);
	free(text);
}

/* load - both tables and the header list */
static void
load(struct pfl_dkim_signer *s, const struct pfl_config *cfg,
    struct pfl_errors *e)
{
	const char *kpath, *spath;
	bool krefile;

	kpath = table_path(cfg->signer_key_table, &krefile);
	spath = table_path(cfg->signer_signing_table, &s->refile);
	if (kpath == NULL || krefile)
		pfl_errors_add(e, cfg->path, 0,
		    "SignerKeyTable: expected file:PATH or an absolute path");
	if (spath == NULL)
		pfl_errors_add(e, cfg->path, 0,
		    "SignerSigningTable: expected refile:PATH, file:PATH or "
		    "an absolute path");
	if (e->count > 0)
		return;
	s->keyfile = pfl_xstrdup(kpath);
	s->sigfile = pfl_xstrdup(spath);
	load_table(s, kpath, add_key, e);
	if (e->count == 0)
		load_table(s, spath, add_sig, e);
	pfl_dkim_signhdrs_setup(
	    s, cfg->signer_sign_headers.v, cfg->signer_sign_headers.n);
	s->interval_ms = cfg->key_check_interval_ms;
}

/* pfl_dkim_signer_load - read the tables the config names */
int
pfl_dkim_signer_load(const struct pfl_config *cfg,
    struct pfl_dkim_signer **signer_r, char **errors_r)
{
	struct pfl_errors e = { 0 };
	struct pfl_dkim_signer *s;

	*signer_r = NULL;
	*errors_r = NULL;
	if (cfg->signer_key_table == NULL && cfg->signer_signing_table == NULL)
		return 0;
	if (cfg->signer_key_table == NULL ||
	    cfg->signer_signing_table == NULL) {
		pfl_errors_add(&e, cfg->path, 0,
		    "SignerKeyTable and SignerSigningTable go together");
		*errors_r = pfl_errors_take(&e);
		return -1;
	}
	s = pfl_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	load(s, cfg, &e);
	if (e.count > 0) {
		pfl_dkim_signer_free(&s);
		*errors_r = pfl_errors_take(&e);
		return -1;
	}
	*signer_r = s;
	return 0;
}

/* pfl_dkim_signer_free - free tables and cache */
void
pfl_dkim_signer_free(struct pfl_dkim_signer **sp)
{
	struct pfl_dkim_signer *s;
	size_t i;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (i = 0; i < s->nkeys; i++) {
		free(s->keys[i].name);
		free(s->keys[i].domain);
		free(s->keys[i].selector);
		free(s->keys[i].keydata);
	}
	for (i = 0; i < s->nsigs; i++) {
		free(s->sigs[i].pattern);
		free(s->sigs[i].keyname);
	}
	for (i = 0; i < s->nsignhdrs; i++)
		free(s->signhdrs[i]);
	pfl_dkim_cache_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s->keys);
	free(s->sigs);
	free(s->signhdrs);
	free(s->keyfile);
	free(s->sigfile);
	free(s);
	*sp = NULL;
}

/* glob - does the lower-case pattern ('*' wildcards) match all of s? */
static bool
glob(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else
			return false;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* find_sig - the first entry matching one query, or NULL */
static const struct pfl_dkim_sigent *
find_sig(const struct pfl_dkim_signer *s, const char *query)
{
	size_t i;

	for (i = 0; i < s->nsigs; i++)
		if (s->refile ? glob(s->sigs[i].pattern, query)
			      : strcmp(s->sigs[i].pattern, query) == 0)
			return &s->sigs[i];
	return NULL;
}

/* lookup - the SigningTable entry for user@domain, OpenDKIM's order */
static const struct pfl_dkim_sigent *
lookup(const struct pfl_dkim_signer *s, const char *user, const char *domain)
{
	const struct pfl_dkim_sigent *g;
	const char *p;
	char q[1024];

	snprintf(q, sizeof(q), "%s@%s", user, domain);
	if ((g = find_sig(s, q)) != NULL || s->refile)
		return g;
	if ((g = find_sig(s, domain)) != NULL)
		return g;
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		snprintf(q, sizeof(q), "%s@%s", user, p);
		if ((g = find_sig(s, q)) != NULL ||
		    (g = find_sig(s, p)) != NULL)
			return g;
	}
	snprintf(q, sizeof(q), "%s@*", user);
	if ((g = find_sig(s, q)) != NULL)
		return g;
	return find_sig(s, "*");
}

/* subst - copy in to out (size n), "%" replaced by sub; false if too long */
static bool
subst(char *out, size_t n, const char *in, const char *sub)
{
	size_t k = 0, sl = strlen(sub);

	for (; *in; in++) {
		if (*in == '%' && k + sl < n) {
			memcpy(out + k, sub, sl);
			k += sl;
		} else if (*in != '%' && k + 1 < n)
			out[k++] = *in;
		else {
			out[0] = '\0';
			return false;
		}
	}
	out[k] = '\0';
	return true;
}

/* pfl_dkim_signer_match - the key that would sign mail from addr */
bool
pfl_dkim_signer_match(const struct pfl_dkim_signer *s, const char *addr,
    struct pfl_dkim_signkey *key_r)
{
	const struct pfl_dkim_sigent *g;
	const struct pfl_dkim_keyent *k;
	char buf[512], *at;
	const char *name;

	memset(key_r, 0, sizeof(*key_r));
	pfl_addr_strip(buf, sizeof(buf), addr);
	if ((at = strrchr(buf, '@')) == NULL || at == buf || at[1] == '\0')
		return false;
	*at++ = '\0';
	if ((g = lookup(s, buf, at)) == NULL)
		return false;
	name = strcmp(g->keyname, "%") == 0 ? at : g->keyname;
	key_r->file = s->sigfile;
	key_r->line = g->line;
	key_r->keyname = g->keyname;
	if ((k = find_key(s, name)) == NULL)
		return true; /* "%" naming a key that is not there */
	key_r->keyname = k->name;
	key_r->selector = k->selector;
	pfl_strlcpy(key_r->domain, strcmp(k->domain, "%") == 0 ? at : k->domain,
	    sizeof(key_r->domain));
	if (k->keydata[0] == '/' || strncmp(k->keydata, "./", 2) == 0 ||
	    strncmp(k->keydata, "../", 3) == 0)
		(void)subst(key_r->keyfile, sizeof(key_r->keyfile), k->keydata,
		    key_r->domain);
	return true;
}
