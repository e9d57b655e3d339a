/*
 * NAME
 *	provider_map - the provider map: built-in rules plus the config's
 * DESCRIPTION
 *	Reads the config's ProviderRule and ProviderDomains lines (each
 *	kept with its line number by the config parser), the actions and
 *	BulkSenderDomains into a struct pfl_provider_map. Every bad line is
 *	reported as "FILE:LINE: Key: message", all of them, not the first.
 * THREAD SAFETY
 *	A map is read-only after pfl_provider_map_new.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "provider_private.h"
#include "util.h"

/* add_err - record one "FILE:LINE: Key: message" problem */
static void __attribute__((format(printf, 5, 6))) add_err(struct pfl_errors *e,
    const char *file, int line, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pfl_errors_add(e, file, line, "%s: %s", key, msg);
}

/* next_word - the next comma/space separated word of *cur, or NULL */
static char *
next_word(char **cur)
{
	return strtok_r(NULL, ", \t", cur);
}

/* first_word - start splitting s (modified in place) */
static char *
first_word(char *s, char **cur)
{
	return strtok_r(s, ", \t", cur);
}

/* parse_rule - one ProviderRule value; 0, or -1 after reporting */
static int
parse_rule(struct pfl_provider_map *m, const char *v, const char *file,
    int line, int seen[PFL_NPROVIDERS][PFL_NCLASSES], struct pfl_errors *e)
{
	static const char *key = "ProviderRule";
	char *copy = pfl_xstrdup(v), *cur, *w;
	int p, c = -1, rc = -1;
	unsigned bits = 0, bit;
	bool none = false;

	if ((w = first_word(copy, &cur)) == NULL ||
	    (p = pfl_provider_parse(w)) < 0) {
		add_err(e, file, line, key,
		    "unknown provider \"%.64s\" (google, yahoo, microsoft, "
		    "apple, default)",
		    w ? w : "");
		goto out;
	}
	if ((w = next_word(&cur)) != NULL)
		for (c = 0; c < PFL_NCLASSES; c++)
			if (pfl_strcaseeq(w, pfl_rule_class_name(c)))
				break;
	if (w == NULL || c == PFL_NCLASSES) {
		add_err(e, file, line, key,
		    "unknown class \"%.64s\" (all, bulk, tenant)", w ? w : "");
		goto out;
	}
	while ((w = next_word(&cur)) != NULL) {
		if (pfl_strcaseeq(w, "none")) {
			none = true;
		} else if ((bit = pfl_requirement_parse(w)) != 0) {
			bits |= bit;
		} else {
			add_err(e, file, line, key,
			    "unknown requirement \"%.64s\"", w);
			goto out;
		}
	}
	if (bits == 0 && !none) {
		add_err(e, file, line, key,
		    "no requirements (write \"none\" for an empty set)");
		goto out;
	}
	if (none && bits != 0) {
		add_err(
		    e, file, line, key, "\"none\" together with requirements");
		goto out;
	}
	if (seen[p][c]) {
		add_err(e, file, line, key, "%s %s already set at line %d",
		    pfl_provider_name(p), pfl_rule_class_name(c), seen[p][c]);
		goto out;
	}
	seen[p][c] = line;
	m->rules[p][c] = bits;
	rc = 0;
out:
	free(copy);
	return rc;
}

/* parse_pattern - a domain or "label.*" into d; NULL or the reason */
static const char *
parse_pattern(const char *w, struct pfl_provider_domain *d)
{
	char label[PFL_DOMAIN_SIZE], norm[PFL_DOMAIN_SIZE];
	size_t len = strlen(w);

	d->wildcard = len > 2 && strcmp(w + len - 2, ".*") == 0;
	if (d->wildcard) {
		if (len - 2 >= sizeof(label))
			return "not a domain";
		memcpy(label, w, len - 2);
		label[len - 2] = '\0';
		if (strchr(label, '.') != NULL ||
		    pfl_orgdomain_normalize(label, norm, sizeof(norm)) < 0)
			return "a pattern is one label and \".*\"";
	} else if (pfl_orgdomain_normalize(w, norm, sizeof(norm)) < 0) {
		return "not a domain";
	}
	d->name = pfl_xstrdup(norm);
	return NULL;
}

/* parse_domains - one ProviderDomains value; 0, or -1 after reporting */
static int
parse_domains(struct pfl_provider_map *m, const char *v, const char *file,
    int line, struct pfl_errors *e)
{
	static const char *key = "ProviderDomains";
	char *copy = pfl_xstrdup(v), *cur, *w;
	struct pfl_provider_domain d;
	const char *bad;
	int p, rc = -1, n = 0;

	if ((w = first_word(copy, &cur)) == NULL ||
	    (p = pfl_provider_parse(w)) < 0) {
		add_err(e, file, line, key,
		    "unknown provider \"%.64s\" (google, yahoo, microsoft, "
		    "apple, default)",
		    w ? w : "");
		goto out;
	}
	while ((w = next_word(&cur)) != NULL) {
		if ((bad = parse_pattern(w, &d)) != NULL) {
			add_err(e, file, line, key, "%s: \"%.128s\"", bad, w);
			goto out;
		}
		d.provider = (enum pfl_provider)p;
		m->extra =
		    pfl_xrealloc(m->extra, (m->nextra + 1) * sizeof(*m->extra));
		m->extra[m->nextra++] = d;
		n++;
	}
	if (n == 0) {
		add_err(e, file, line, key, "no domains after the provider");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* copy_bulk - BulkSenderDomains, normalised */
static void
copy_bulk(struct pfl_provider_map *m, const struct pfl_strlist *l,
    const char *file, struct pfl_errors *e)
{
	char norm[PFL_DOMAIN_SIZE];
	size_t i;

	m->bulk = pfl_xcalloc(l->n ? l->n : 1, sizeof(*m->bulk));
	for (i = 0; i < l->n; i++) {
		if (pfl_orgdomain_normalize(l->v[i], norm, sizeof(norm)) < 0) {
			add_err(e, file, 0, "BulkSenderDomains",
			    "not a domain: \"%.128s\"", l->v[i]);
			continue;
		}
		m->bulk[m->nbulk++] = pfl_xstrdup(norm);
	}
}

/* pfl_provider_map_new - built-in lists and rules plus the config's */
struct pfl_provider_map *
pfl_provider_map_new(const struct pfl_config *cfg, char **errors_r)
{
	struct pfl_provider_map *m = pfl_xcalloc(1, sizeof(*m));
	int seen[PFL_NPROVIDERS][PFL_NCLASSES] = { { 0 } };
	struct pfl_errors e = { 0 };
	size_t i;

	pfl_provider_rules_builtin(m->rules);
	m->on_reject = cfg->on_auth_reject;
	m->on_throttle = cfg->on_auth_throttle;
	m->on_dns = cfg->on_dns_error;
	for (i = 0; i < cfg->provider_rules.n; i++)
		parse_rule(m, cfg->provider_rules.v[i], cfg->path,
		    cfg->provider_rules.line[i], seen, &e);
	for (i = 0; i < cfg->provider_domains.n; i++)
		parse_domains(m, cfg->provider_domains.v[i], cfg->path,
		    cfg->provider_domains.line[i], &e);
	copy_bulk(m, &cfg->bulk_sender_domains, cfg->path, &e);
	if ((*errors_r = pfl_errors_take(&e)) != NULL)
		pfl_provider_map_free(&m);
	return m;
}

/* pfl_provider_map_free - free a map */
void
pfl_provider_map_free(struct pfl_provider_map **mp)
{
	struct pfl_provider_map *m = *mp;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nextra; i++)
		free(m->extra[i].name);
	free(m->extra);
	for (i = 0; i < m->nbulk; i++)
		free(m->bulk[i]);
	free(m->bulk);
	free(m);
	*mp = NULL;
}

/* pfl_provider_rules - the requirement bits for a provider and class */
unsigned
pfl_provider_rules(const struct pfl_provider_map *m, enum pfl_provider p,
    enum pfl_rule_class c)
{
	if ((unsigned)p >= PFL_NPROVIDERS || (unsigned)c >= PFL_NCLASSES)
		return 0;
	return m->rules[p][c];
}

/* pfl_provider_bulk - is the From: domain a bulk sender? */
bool
pfl_provider_bulk(const struct pfl_provider_map *m, const char *from_domain)
{
	char norm[PFL_DOMAIN_SIZE];
	size_t i;

	if (from_domain == NULL ||
	    pfl_orgdomain_normalize(from_domain, norm, sizeof(norm)) < 0)
		return false;
	for (i = 0; i < m->nbulk; i++)
		if (pfl_orgdomain_is_under(norm, m->bulk[i]))
			return true;
	return false;
}
