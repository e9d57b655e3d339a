/*
 * NAME
 *	dkim_predict - what the signer will do with a message
 * DESCRIPTION
 *	The SigningTable picks the key; the key is checked against DNS once
 *	per KeyCheckInterval (a DNS failure is retried after a minute at
 *	most) and the outcome says whether receivers will pass the
 *	signature. The signed-header list is the signer's: SignerSignHeaders,
 *	or OpenDKIM's default (RFC 6376 section 5.4, which leaves out
 *	List-Unsubscribe-Post); "*" in the list makes it a change to the
 *	default ("*, +list-unsubscribe-post"), as in OpenDKIM. From is always
 *	signed.
 * THREAD SAFETY
 *	The cache is guarded by the signer's mutex; a key is checked outside
 *	it, so two threads may check the same key at once (harmless).
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim_private.h"
#include "util.h"

#define MAX_CACHE         1024
#define TEMPFAIL_RETRY_MS 60000

/* add_hdr - add a header name to the signed list (once) */
static void
add_hdr(struct pfl_dkim_signer *s, const char *name)
{
	if (*name == '\0' || pfl_dkim_signer_signs(s, name))
		return;
	s->signhdrs = pfl_xrealloc(
	    s->signhdrs, (s->nsignhdrs + 1) * sizeof(*s->signhdrs));
	s->signhdrs[s->nsignhdrs++] = pfl_xstrdup(name);
}

/* del_hdr - remove a header name from the signed list */
static void
del_hdr(struct pfl_dkim_signer *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nsignhdrs; i++)
		if (pfl_strcaseeq(s->signhdrs[i], name)) {
			free(s->signhdrs[i]);
			s->signhdrs[i] = s->signhdrs[--s->nsignhdrs];
			return;
		}
}

/* pfl_dkim_signhdrs_setup - the signed-header list from SignerSignHeaders */
void
pfl_dkim_signhdrs_setup(struct pfl_dkim_signer *s, char *const *words, size_t n)
{
	bool delta = n == 0;
	size_t i;

	for (i = 0; i < n; i++)
		delta = delta || strcmp(words[i], "*") == 0;
	if (delta)
		for (i = 0; dkim_should_signhdrs[i] != NULL; i++)
			add_hdr(s, (const char *)dkim_should_signhdrs[i]);
	for (i = 0; i < n; i++) {
		if (strcmp(words[i], "*") == 0)
			continue;
		if (delta && words[i][0] == '-')
			del_hdr(s, words[i] + 1);
		else
			add_hdr(s, words[i] + (delta && words[i][0] == '+'));
	}
	add_hdr(s, "from"); /* required by RFC 6376 */
}

/* pfl_dkim_signer_signs - would the signer put this header in h=? */
bool
pfl_dkim_signer_signs(const struct pfl_dkim_signer *s, const char *header)
{
	size_t i;

	for (i = 0; i < s->nsignhdrs; i++)
		if (pfl_strcaseeq(s->signhdrs[i], header))
			return true;
	return false;
}

/* pfl_dkim_cache_free - forget every cached key check */
void
pfl_dkim_cache_free(struct pfl_dkim_signer *s)
{
	size_t i;

	for (i = 0; i < s->ncache; i++)
		free(s->cache[i].id);
	free(s->cache);
	s->cache = NULL;
	s->ncache = 0;
}

/* cache_get - a fresh cached check of id into c_r; false when none */
static bool
cache_get(
    struct pfl_dkim_signer *s, const char *id, struct pfl_dkim_cached *c_r)
{
	long long now = pfl_now_ms();
	bool found = false;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->ncache && !found; i++)
		if (strcmp(s->cache[i].id, id) == 0 &&
		    s->cache[i].until_ms > now) {
			*c_r = s->cache[i];
			found = true;
		}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* cache_put - remember a check; replaces the entry for id or the oldest */
static void
cache_put(
    struct pfl_dkim_signer *s, const char *id, const struct pfl_dkim_cached *c)
{
	size_t i, slot = s->ncache;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->ncache; i++)
		if (strcmp(s->cache[i].id, id) == 0)
			slot = i;
	if (slot == s->ncache && s->ncache >= MAX_CACHE)
		for (slot = 0, i = 1; i < s->ncache; i++)
			if (s->cache[i].until_ms < s->cache[slot].until_ms)
				slot = i;
	if (slot == s->ncache) {
		s->cache =
		    pfl_xrealloc(s->cache, (s->ncache + 1) * sizeof(*s->cache));
		s->ncache++;
	} else
		free(s->cache[slot].id);
	s->cache[slot] = *c;
	s->cache[slot].id = pfl_xstrdup(id);
	pthread_mutex_unlock(&s->lock);
}

/* check - the key's state, from the cache or from DNS */
static void
check(struct pfl_dkim_signer *s, struct pfl_dkim_lib *lib,
    const struct pfl_dkim_signkey *k, struct pfl_dkim_cached *c)
{
	char id[1300];
	long long ttl;

	snprintf(
	    id, sizeof(id), "%s\n%s\n%s", k->domain, k->selector, k->keyfile);
	if (cache_get(s, id, c))
		return;
	c->state = pfl_dkim_key_check(lib, k->domain, k->selector, k->keyfile,
	    &c->bits, c->fix, sizeof(c->fix));
	ttl = (long long)s->interval_ms;
	if (c->state == PFL_DKIM_KEY_TEMPFAIL && ttl > TEMPFAIL_RETRY_MS)
		ttl = TEMPFAIL_RETRY_MS;
	c->until_ms = pfl_now_ms() + ttl;
	cache_put(s, id, c);
}

/* pfl_dkim_predict - what the signer would do with mail from addr */
void
pfl_dkim_predict(struct pfl_dkim_signer *s, struct pfl_dkim_lib *lib,
    const char *addr, struct pfl_dkim_prediction *p)
{
	struct pfl_dkim_signkey k;
	struct pfl_dkim_cached c;
	char from[256];

	memset(p, 0, sizeof(*p));
	p->list_unsubscribe = pfl_dkim_signer_signs(s, "list-unsubscribe");
	p->list_unsubscribe_post =
	    pfl_dkim_signer_signs(s, "list-unsubscribe-post");
	if (!pfl_dkim_signer_match(s, addr, &k)) {
		p->result = PFL_DKIM_WOULD_NOT_SIGN;
		snprintf(p->fix, sizeof(p->fix),
		    "add a SigningTable entry for %s",
		    pfl_printable(from, sizeof(from), addr, NULL));
		return;
	}
	if (k.selector == NULL) {
		p->result = PFL_DKIM_KEY_PROBLEM;
		p->key = PFL_DKIM_KEY_UNDEFINED;
		snprintf(p->fix, sizeof(p->fix),
		    "%s:%d names a key the KeyTable does not have", k.file,
		    k.line);
		return;
	}
	pfl_printable(p->domain, sizeof(p->domain), k.domain, NULL);
	pfl_printable(p->selector, sizeof(p->selector), k.selector, NULL);
	check(s, lib, &k, &c);
	p->key = c.state;
	p->bits = c.bits;
	pfl_printable(p->fix, sizeof(p->fix), c.fix, NULL);
	if (c.state == PFL_DKIM_KEY_OK || c.state == PFL_DKIM_KEY_UNCHECKED)
		p->result = PFL_DKIM_WOULD_SIGN;
	else if (c.state == PFL_DKIM_KEY_TEMPFAIL)
		p->result = PFL_DKIM_KEY_UNKNOWN;
	else
		p->result = PFL_DKIM_KEY_PROBLEM;
}

/* pfl_dkim_predict_name - printable prediction */
const char *
pfl_dkim_predict_name(enum pfl_dkim_predict r)
{
	switch (r) {
	case PFL_DKIM_WOULD_SIGN:
		return "sign";
	case PFL_DKIM_WOULD_NOT_SIGN:
		return "nosign";
	case PFL_DKIM_KEY_PROBLEM:
		return "keyproblem";
	case PFL_DKIM_KEY_UNKNOWN:
		return "keyunknown";
	}
	return "?";
}
