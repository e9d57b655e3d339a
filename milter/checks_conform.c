/*
 * NAME
 *	checks_conform - the shape of the message as receivers parse it
 * DESCRIPTION
 *	The checks' side of conform.h: every header field goes to the
 *	conformance checker; at end of message its findings about the header
 *	section, whether the From: domain exists in DNS (Yahoo and Gmail
 *	refuse one that does not), and for bulk mail the RFC 8058 one-click
 *	unsubscribe with the DKIM coverage the receiver will see: the h= of
 *	the signature that passes, or what the signer would sign.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "config.h"
#include "conform.h"
#include "ctx.h"
#include "dns.h"
#include "util.h"

/* The rules by name, for the summary's conform= word. */
static const struct {
	unsigned bit;
	const char *name;
} rules[] = {
	{ PFL_CONFORM_FROM, "from" },
	{ PFL_CONFORM_MSGID, "message-id" },
	{ PFL_CONFORM_DATE, "date" },
	{ PFL_CONFORM_DUPLICATE, "duplicate" },
	{ PFL_CONFORM_FIELD, "field" },
	{ PFL_CONFORM_ENCWORD, "encoded-word" },
	{ PFL_CONFORM_8BIT, "8bit" },
	{ PFL_CONFORM_SIZE, "size" },
	{ PFL_CONFORM_UNSUB, "unsubscribe" },
	{ PFL_CONFORM_UNSUB_POST, "unsubscribe-post" },
	{ PFL_CONFORM_UNSUB_SIGN, "unsubscribe-unsigned" },
	{ PFL_CHECKS_FROM_NXDOMAIN, "from-domain-unresolvable" },
};

/* conform_of - the message's checker, made at first use */
static struct pfl_conform *
conform_of(struct pfl_checks *c)
{
	const struct pfl_config *cfg = c->ctx->cfg;
	struct pfl_conform_opts o;

	if (c->conform == NULL) {
		memset(&o, 0, sizeof(o));
		o.max_header_bytes = cfg->max_header_size;
		o.smtputf8 = c->smtputf8;
		o.mta_adds_missing = c->behind_mta;
		o.on_malformed = cfg->on_malformed;
		o.on_unsub_missing = cfg->on_unsubscribe_missing;
		c->conform = pfl_conform_new(c->arena, &o);
	}
	return c->conform;
}

/* pfl_checks_conform_header - one header field to the checker */
void
pfl_checks_conform_header(
    struct pfl_checks *c, const char *name, const char *value)
{
	pfl_conform_header(conform_of(c), name, value);
}

/*
 * exists - does a domain exist in DNS: 1 yes (an MX, or the name without
 * one: NODATA), 0 no (NXDOMAIN), -1 cannot tell (DNS trouble)
 */
static int
exists(struct pfl_dns *dns, const char *domain)
{
	struct pfl_dns_answer *a = pfl_dns_query(dns, domain, PFL_DNS_T_MX);
	int r;

	if (a->status == PFL_DNS_OK)
		r = 1;
	else if (a->status == PFL_DNS_NOTFOUND)
		r = a->nxdomain ? 0 : 1;
	else
		r = -1;
	pfl_dns_answer_free(&a);
	return r;
}

/* from_domain_finding - a From: domain that does not exist */
static size_t
from_domain_finding(struct pfl_checks *c, struct pfl_finding *f, size_t max)
{
	const struct pfl_config *cfg = c->ctx->cfg;
	const char *domain = pfl_conform_from_domain(c->conform);
	enum pfl_action act = cfg->on_malformed;
	char reason[512];

	if (domain == NULL || max == 0 || exists(c->ctx->dns, domain) != 0)
		return 0;
	snprintf(reason, sizeof(reason),
	    "Gmail and Yahoo would refuse this (550 5.7.1): the From: domain "
	    "%s does not exist in DNS (NXDOMAIN)",
	    domain);
	pfl_finding_set(f, "conform", PFL_OUT_REFUSE, act, "550 5.7.1",
	    act == PFL_ACT_REJECT ? "550" : "451",
	    act == PFL_ACT_REJECT ? "5.7.1" : "4.7.1", reason);
	snprintf(f->fix, sizeof(f->fix), "send from a domain that exists");
	c->conform_found |= PFL_CHECKS_FROM_NXDOMAIN;
	return 1;
}

/* signed_names - the header names the receiver will see signed */
static size_t
signed_names(const struct pfl_checks *c, const char **v, size_t max,
    const char *const **list_r)
{
	size_t i, n = 0;

	for (i = 0; i < c->nsigs; i++)
		if (c->sigs[i].result == PFL_DKIM_PASS) {
			*list_r = c->sigs[i].headers;
			return c->sigs[i].nheaders;
		}
	if (!c->predicted || c->pred.result != PFL_DKIM_WOULD_SIGN)
		return (size_t)-1; /* no signature at all */
	if (c->pred.list_unsubscribe && n < max)
		v[n++] = "list-unsubscribe";
	if (c->pred.list_unsubscribe_post && n < max)
		v[n++] = "list-unsubscribe-post";
	*list_r = v;
	return n;
}

/* pfl_checks_conform_eom - the conformance findings of the message */
size_t
pfl_checks_conform_eom(
    struct pfl_checks *c, bool bulk, struct pfl_finding *f, size_t max)
{
	const char *v[2], *const *list = NULL;
	size_t added, nsigned;

	added = pfl_conform_message(conform_of(c), f, max);
	added += from_domain_finding(c, f + added, max - added);
	if (bulk || pfl_conform_bulk_marked(c->conform)) {
		nsigned = signed_names(c, v, 2, &list);
		added += pfl_conform_unsubscribe(c->conform,
		    nsigned == (size_t)-1 ? NULL : list,
		    nsigned == (size_t)-1 ? 0 : nsigned, f + added,
		    max - added);
	}
	c->conform_found |= pfl_conform_found(c->conform);
	return added;
}

/* pfl_checks_conform_word - "from,message-id" or "" */
char *
pfl_checks_conform_word(const struct pfl_checks *c, char *buf, size_t n)
{
	size_t i, len = 0;

	*buf = '\0';
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if ((c->conform_found & rules[i].bit) && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
			    len ? "," : "", rules[i].name);
	return buf;
}
