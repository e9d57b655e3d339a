/*
 * NAME
 *	checks - the authentication checks of one message
 * DESCRIPTION
 *	See checks.h. Every DNS wait is bounded by the resolver's timeout;
 *	a failure shows up as temperror in the results, never as "none".
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "checks.h"
#include "config.h"
#include "ctx.h"
#include "util.h"

/* pfl_checks_new - checks for a message from sender */
struct pfl_checks *
pfl_checks_new(struct pfl_ctx *ctx, struct pfl_arena *arena, const char *sender,
    const char *id, bool leadspc)
{
	struct pfl_checks *c = pfl_arena_alloc(arena, sizeof(*c));

	c->ctx = ctx;
	c->arena = arena;
	c->leadspc = leadspc;
	pfl_addr_strip(c->sender, sizeof(c->sender), sender);
	if (ctx->dkim != NULL)
		c->verifier = pfl_dkim_verify_new(ctx->dkim, arena, id);
	c->want_urls = pfl_checks_want_urls(c);
	return c;
}

/* pfl_checks_free - release what the arena cannot */
void
pfl_checks_free(struct pfl_checks **cp)
{
	if (*cp == NULL)
		return;
	pfl_dkim_verify_free(&(*cp)->verifier);
	free((*cp)->raw);
	(*cp)->raw = NULL;
	*cp = NULL;
}

/* helo_name - the HELO name our MTA uses (for the null sender's SPF) */
static const char *
helo_name(const struct pfl_config *cfg)
{
	return cfg->egress_helo ? cfg->egress_helo : "localhost";
}

/* pfl_checks_mail - SPF from every egress address */
void
pfl_checks_mail(struct pfl_checks *c)
{
	const struct pfl_config *cfg = c->ctx->cfg;
	size_t i;

	for (i = 0; i < cfg->egress_addresses.n && i < PFL_CHECKS_MAX_EGRESS;
	     i++) {
		pfl_strlcpy(c->spf_ip[i], cfg->egress_addresses.v[i],
		    sizeof(c->spf_ip[i]));
		/*
		 * A DNS failure on the first address fails them all the same
		 * way: do not wait for it once per address.
		 */
		if (i > 0 && c->spf[0].code == PFL_SPF_TEMPERROR) {
			c->spf[i] = c->spf[0];
			continue;
		}
		pfl_spf_check(c->ctx->dns, c->spf_ip[i], helo_name(cfg),
		    c->sender, &c->spf[i]);
	}
	c->nspf = i;
}

/* pfl_checks_rcpt - note the provider of a recipient */
void
pfl_checks_rcpt(
    struct pfl_checks *c, const char *rcpt, struct pfl_provider_match *m_r)
{
	struct pfl_provider_match m;
	char domain[256];
	size_t i;

	memset(&m, 0, sizeof(m));
	pfl_addr_domain(domain, sizeof(domain), rcpt);
	if (domain[0] == '\0') {
		if (m_r != NULL)
			*m_r = m;
		return;
	}
	for (i = 0; i < c->nproviders; i++)
		if (strcmp(c->rcpts[i].match.domain, domain) == 0)
			break;
	if (i < c->nproviders)
		m = c->rcpts[i].match;
	else
		pfl_provider_for_domain(
		    c->ctx->providers, c->ctx->dns, domain, &m);
	if (m_r != NULL)
		*m_r = m;
	for (i = 0; i < c->nproviders; i++)
		if (c->rcpts[i].match.provider == m.provider &&
		    c->rcpts[i].match.tenant == m.tenant) {
			c->rcpts[i].nrcpt++;
			return;
		}
	if (c->nproviders == PFL_CHECKS_MAX_PROVIDERS)
		return; /* every known provider is already represented */
	c->rcpts[c->nproviders].match = m;
	c->rcpts[c->nproviders++].nrcpt = 1;
}

/* pfl_checks_rcpt_undo - a recipient noted by pfl_checks_rcpt was refused */
void
pfl_checks_rcpt_undo(struct pfl_checks *c, const struct pfl_provider_match *m)
{
	size_t i;

	for (i = 0; i < c->nproviders; i++)
		if (c->rcpts[i].match.provider == m->provider &&
		    c->rcpts[i].match.tenant == m->tenant) {
			if (--c->rcpts[i].nrcpt == 0) {
				memmove(&c->rcpts[i], &c->rcpts[i + 1],
				    (c->nproviders - i - 1) *
					sizeof(c->rcpts[0]));
				c->nproviders--;
			}
			return;
		}
}

/*
 * from_address - the first address of a From: value into dst: the
 * <angle-addr> when there is one, else the first word with an '@'.
 * Quoted strings and comments are skipped, and so is white space
 * (leading, or folding line ends). Bounded by n.
 */
static void
from_address(const char *v, char *dst, size_t n)
{
	const char *p, *start = NULL, *end = NULL, *word = NULL;
	int depth = 0;
	bool quoted = false;

	for (p = v; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"')
			quoted = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *p == '<' && start == NULL)
			start = p + 1;
		else if (depth == 0 && *p == '>' && start != NULL) {
			end = p;
			break;
		} else if (depth == 0 && *p == ',' && start == NULL)
			break;
		else if (depth == 0 && word == NULL &&
		    !isspace((unsigned char)*p))
			word = p;
		else if (depth == 0 && word != NULL && start == NULL &&
		    isspace((unsigned char)*p) && !memchr(word, '@', p - word))
			word = NULL;
	}
	if (start == NULL || end == NULL) {
		start = word ? word : "";
		for (end = start; *end && !isspace((unsigned char)*end) &&
		     *end != ',' && *end != '(';
		     end++)
			;
	}
	pfl_strlcpy(dst, "", n);
	if ((size_t)(end - start) < n) {
		memcpy(dst, start, (size_t)(end - start));
		dst[end - start] = '\0';
	}
}

/* pfl_checks_header - one header field */
void
pfl_checks_header(struct pfl_checks *c, const char *name, const char *value)
{
	if (strcasecmp(name, "From") == 0 && c->nfrom++ == 0) {
		char addr[512];

		from_address(value, addr, sizeof(addr));
		pfl_addr_domain(c->from_domain, sizeof(c->from_domain), addr);
		pfl_strlcpy(c->from_addr, addr, sizeof(c->from_addr));
	}
	if (strcasecmp(name, "Message-ID") == 0 && c->message_id[0] == '\0') {
		char tmp[sizeof(c->message_id)];

		pfl_strlcpy(tmp, value, sizeof(tmp));
		pfl_strlcpy(
		    c->message_id, pfl_trim(tmp), sizeof(c->message_id));
	}
	if (c->verifier != NULL)
		pfl_dkim_verify_header(c->verifier, name, value, c->leadspc);
	if (c->want_urls)
		pfl_checks_keep_header(c, name, value);
	pfl_checks_conform_header(c, name, value);
}

/* pfl_checks_eoh - end of headers; true when the body is needed */
bool
pfl_checks_eoh(struct pfl_checks *c)
{
	if (c->verifier != NULL)
		c->nsig_fields = pfl_dkim_verify_eoh(c->verifier);
	return c->nsig_fields > 0 || c->want_urls;
}

/* pfl_checks_body - a body chunk */
void
pfl_checks_body(struct pfl_checks *c, const unsigned char *buf, size_t len)
{
	if (c->verifier != NULL && c->nsig_fields > 0)
		pfl_dkim_verify_body(c->verifier, buf, len);
	if (c->want_urls)
		pfl_checks_keep_body(c, buf, len);
}

/* dmarc_spf - the SPF result as DMARC takes it */
static enum pfl_dmarc_spf
dmarc_spf(enum pfl_spf_code code)
{
	switch (code) {
	case PFL_SPF_PASS:
		return PFL_DMARC_SPF_PASS;
	case PFL_SPF_FAIL:
	case PFL_SPF_SOFTFAIL:
	case PFL_SPF_PERMERROR:
		return PFL_DMARC_SPF_FAIL;
	case PFL_SPF_TEMPERROR:
		return PFL_DMARC_SPF_TEMPERROR;
	default:
		return PFL_DMARC_SPF_NONE;
	}
}

/* run_dkim - verify the signatures, or predict the signer's */
static void
run_dkim(struct pfl_checks *c)
{
	if (c->verifier != NULL && c->nsig_fields > 0) {
		pfl_dkim_verify_eom(c->verifier);
		c->nsigs = pfl_dkim_verify_results(c->verifier, &c->sigs);
	}
	if (c->nsigs == 0 && c->ctx->signer != NULL && c->from_addr[0]) {
		pfl_dkim_predict(
		    c->ctx->signer, c->ctx->dkim, c->from_addr, &c->pred);
		c->predicted = true;
	}
}

/* run_dmarc - DMARC of the From: domain with what passed */
static void
run_dmarc(struct pfl_checks *c)
{
	const char *pass[16];
	const char *spf_domain;
	size_t i, n = 0;

	for (i = 0; i < c->nsigs && n < 16; i++)
		if (c->sigs[i].result == PFL_DKIM_PASS)
			pass[n++] = c->sigs[i].domain;
	if (c->predicted && c->pred.result == PFL_DKIM_WOULD_SIGN && n < 16)
		pass[n++] = c->pred.domain;
	spf_domain = c->auth.spf_domain[0] ? c->auth.spf_domain : NULL;
	pfl_dmarc_check(c->ctx->dns, c->from_domain, spf_domain,
	    c->auth.spf_checked ? dmarc_spf(c->auth.spf) : PFL_DMARC_SPF_NONE,
	    pass, n, &c->dmarc);
}

/* pfl_checks_eom - decide DKIM, DMARC and what each provider would do */
size_t
pfl_checks_eom(struct pfl_checks *c, struct pfl_finding *f, size_t max)
{
	const struct pfl_provider_map *map = c->ctx->providers;
	char sender_domain[256];
	size_t i, added = 0;
	bool bulk, bulk_any;

	run_dkim(c);
	pfl_addr_domain(sender_domain, sizeof(sender_domain), c->sender);
	bulk = pfl_provider_bulk(map, c->from_domain);
	pfl_auth_init(&c->auth, c->from_domain, sender_domain, bulk);
	for (i = 0; i < c->nspf; i++)
		pfl_auth_add_spf(&c->auth, c->spf_ip[i], &c->spf[i]);
	if (c->nsigs > 0)
		pfl_auth_add_dkim_sigs(&c->auth, c->sigs, c->nsigs);
	else if (c->predicted)
		pfl_auth_add_dkim_prediction(&c->auth, &c->pred);
	if (c->from_domain[0] != '\0') {
		run_dmarc(c);
		pfl_auth_set_dmarc(&c->auth, &c->dmarc);
	}
	bulk_any = bulk;
	for (i = 0; i < c->nproviders; i++) {
		struct pfl_finding one;

		c->auth.bulk =
		    bulk || c->bulk_volume[c->rcpts[i].match.provider];
		bulk_any = bulk_any || c->auth.bulk;
		pfl_provider_judge(map, &c->rcpts[i].match, &c->auth, &one);
		c->rcpts[i].outcome = one.outcome;
		pfl_strlcpy(
		    c->rcpts[i].reply, one.reply, sizeof(c->rcpts[i].reply));
		if ((one.outcome != PFL_OUT_DELIVER ||
			one.action != PFL_ACT_ACCEPT) &&
		    added < max)
			f[added++] = one;
	}
	added += pfl_checks_egress_eom(c, f + added, max - added);
	added += pfl_checks_conform_eom(c, bulk_any, f + added, max - added);
	added += pfl_checks_dnsbl_eom(c, f + added, max - added);
	return added;
}

/* spf_word - the SPF part of the summary */
static int
spf_word(const struct pfl_checks *c, char *buf, size_t n)
{
	const struct pfl_auth *a = &c->auth;

	if (!a->spf_checked)
		return snprintf(buf, n, "spf=unchecked");
	if (a->spf_mechanism[0])
		return snprintf(buf, n, "spf=%s(%s)", pfl_spf_code_name(a->spf),
		    a->spf_mechanism);
	return snprintf(buf, n, "spf=%s", pfl_spf_code_name(a->spf));
}

/* dkim_word - the DKIM part of the summary */
static int
dkim_word(const struct pfl_checks *c, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < c->nsigs; i++)
		if (c->sigs[i].result == PFL_DKIM_PASS)
			return snprintf(
			    buf, n, "dkim=pass(d=%s)", c->sigs[i].domain);
	if (c->nsigs > 0)
		return snprintf(buf, n, "dkim=%s(d=%s)",
		    pfl_dkim_result_name(c->sigs[0].result), c->sigs[0].domain);
	if (c->predicted && c->pred.result != PFL_DKIM_WOULD_NOT_SIGN)
		return snprintf(buf, n, "dkim=predicted-%s(d=%s,s=%s)",
		    pfl_dkim_predict_name(c->pred.result), c->pred.domain,
		    c->pred.selector);
	return snprintf(buf, n, "dkim=none");
}

/* pfl_checks_summary - the results in one line of key=value words */
char *
pfl_checks_summary(const struct pfl_checks *c, char *buf, size_t n)
{
	char tmp[1536], w[640];
	size_t i, len;

	spf_word(c, tmp, sizeof(tmp));
	len = strlen(tmp);
	dkim_word(c, w, sizeof(w));
	len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, " %s", w);
	if (len < sizeof(tmp)) {
		if (c->from_domain[0] == '\0')
			len += (size_t)snprintf(
			    tmp + len, sizeof(tmp) - len, " dmarc=unchecked");
		else if (c->dmarc.record_found)
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len,
			    " dmarc=%s(p=%s)",
			    pfl_dmarc_result_name(c->dmarc.result),
			    pfl_dmarc_policy_name(c->dmarc.published));
		else
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len,
			    " dmarc=%s",
			    pfl_dmarc_result_name(c->dmarc.result));
	}
	for (i = 0; i < c->nproviders && len < sizeof(tmp); i++) {
		const struct pfl_checks_rcpt *r = &c->rcpts[i];
		const char *code = strchr(r->reply, ' ');
		size_t clen;

		/* "550 5.7.26 ..." -> "5.7.26"; no enhanced code -> nothing */
		code = code ? code + 1 : "";
		clen = strcspn(code, " ");
		if (!isdigit((unsigned char)code[0]) || code[1] != '.')
			clen = 0;
		len += (size_t)snprintf(tmp + len, sizeof(tmp) - len,
		    "%s%s%s:%s%s%.*s", i == 0 ? " providers=" : ",",
		    pfl_provider_name(r->match.provider),
		    r->match.tenant ? "-tenant" : "",
		    pfl_outcome_name(r->outcome), clen ? ":" : "", (int)clen,
		    code);
	}
	if (c->egress_word[0] != '\0' && len < sizeof(tmp))
		len += (size_t)snprintf(
		    tmp + len, sizeof(tmp) - len, " egress=%s", c->egress_word);
	if (*pfl_checks_conform_word(c, w, sizeof(w)) && len < sizeof(tmp))
		len += (size_t)snprintf(
		    tmp + len, sizeof(tmp) - len, " conform=%s", w);
	if (c->dnsbl_word[0] != '\0' && len < sizeof(tmp))
		len += (size_t)snprintf(
		    tmp + len, sizeof(tmp) - len, " dnsbl=%s", c->dnsbl_word);
	if (c->want_urls && len < sizeof(tmp))
		len += (size_t)snprintf(tmp + len, sizeof(tmp) - len,
		    " urls=%zu/%zu%s", c->url_domains, c->url_links,
		    c->url_capped ? "(capped)" : "");
	return pfl_printable(buf, n, tmp, "\"");
}
