/*
 * NAME
 *	cli_check_json - the JSON form of preflight check-message's result
 * DESCRIPTION
 *	One object: verdict (deliver, throttle, reject), action (what
 *	enforce mode does), mode, mail_from, from, rcpts, summary (the
 *	decision line's words), spf (the result receivers see, the egress
 *	address and domain that got it, and each egress address's own
 *	result), dkim (the signatures, or the signer's prediction), dmarc,
 *	providers (each recipient provider: how it was recognised, its
 *	likely reply, reason and fix), and the deciding finding, reason,
 *	fix and our reply. Absent values are null. Strings are escaped as
 *	RFC 8259 asks; bytes that are not UTF-8 become U+FFFD.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "cli_check.h"
#include "ctx.h"
#include "provider.h"
#include "verdict.h"

#define JSON_DEPTH 8

/* A JSON writer on standard output: two-space indents, commas as due. */
struct json {
	int depth;
	bool more[JSON_DEPTH]; /* something was written at this depth */
};

/* utf8_seq - length of the valid UTF-8 sequence at s (2..4), or 0 */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned long cp;
	size_t n, i;

	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2, cp = *s & 0x1f;
	else if ((*s & 0xf0) == 0xe0)
		n = 3, cp = *s & 0x0f;
	else if (*s >= 0xf0 && *s <= 0xf4)
		n = 4, cp = *s & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL ends it here too */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* json_quote - s as a JSON string (NULL: null); bad UTF-8 becomes U+FFFD */
static void
json_quote(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\r')
			fputs("\\r", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else if (*p < 0x80)
			putchar(*p);
		else if ((n = utf8_seq(p)) > 0) {
			fwrite(p, 1, n, stdout);
			p += n - 1;
		} else
			fputs("\\ufffd", stdout);
	}
	putchar('"');
}

/* json_key - the separator, the indent and "key": (no key in arrays) */
static void
json_key(struct json *j, const char *key)
{
	if (j->more[j->depth])
		putchar(',');
	j->more[j->depth] = true;
	if (j->depth > 0)
		printf("\n%*s", 2 * j->depth, "");
	if (key != NULL) {
		json_quote(key);
		fputs(": ", stdout);
	}
}

/* json_open - start an object ('{') or array ('[') */
static void
json_open(struct json *j, const char *key, char c)
{
	if (j->depth + 1 >= JSON_DEPTH)
		abort(); /* our documents are shallow: a bug */
	json_key(j, key);
	putchar(c);
	j->more[++j->depth] = false;
}

/* json_close - end it with c */
static void
json_close(struct json *j, char c)
{
	if (j->more[j->depth--])
		printf("\n%*s", 2 * j->depth, "");
	putchar(c);
}

/* json_str - "key": "value", or null for NULL or "" */
static void
json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_quote(v && *v ? v : NULL);
}

/* json_num - "key": n */
static void
json_num(struct json *j, const char *key, unsigned long n)
{
	json_key(j, key);
	printf("%lu", n);
}

/* json_bool - "key": true|false */
static void
json_bool(struct json *j, const char *key, bool b)
{
	json_key(j, key);
	fputs(b ? "true" : "false", stdout);
}

/* json_spf - SPF as the receiver sees it, and per egress address */
static void
json_spf(struct json *j, const struct pfl_checks *c)
{
	const struct pfl_auth *a = &c->auth;
	size_t i;

	json_open(j, "spf", '{');
	json_str(j, "result",
	    a->spf_checked ? pfl_spf_code_name(a->spf) : "unchecked");
	json_str(j, "ip", a->spf_ip);
	json_str(j, "domain", a->spf_domain);
	json_str(j, "mechanism", a->spf_mechanism);
	json_str(
	    j, "suspicious", a->spf_suspicious ? a->spf_suspicious_why : NULL);
	json_open(j, "addresses", '[');
	for (i = 0; i < c->nspf; i++) {
		const struct pfl_spf_result *r = &c->spf[i];

		json_open(j, NULL, '{');
		json_str(j, "ip", c->spf_ip[i]);
		json_str(j, "result", pfl_spf_code_name(r->code));
		json_str(j, "reason", r->reason);
		json_str(j, "explanation", r->explanation);
		json_num(j, "lookups", r->dns_lookups);
		json_num(j, "void_lookups", r->void_lookups);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_close(j, '}');
}

/* auth_dkim_name - DKIM as the receiver sees it */
static const char *
auth_dkim_name(enum pfl_auth_dkim d)
{
	static const char *names[] = { "none", "pass", "fail", "temperror" };

	return (unsigned)d < 4 ? names[d] : "?";
}

/* json_dkim - the signatures, or the signer's predicted one */
static void
json_dkim(struct json *j, const struct pfl_checks *c)
{
	const struct pfl_auth *a = &c->auth;
	size_t i;

	json_open(j, "dkim", '{');
	json_str(j, "result", auth_dkim_name(a->dkim));
	json_str(j, "domain", a->dkim_domain);
	json_str(j, "problem", a->dkim_problem);
	json_open(j, "signatures", '[');
	for (i = 0; i < c->nsigs; i++) {
		const struct pfl_dkim_sig *s = &c->sigs[i];

		json_open(j, NULL, '{');
		json_str(j, "result", pfl_dkim_result_name(s->result));
		json_str(j, "domain", s->domain);
		json_str(j, "selector", s->selector);
		json_str(j, "algorithm", s->algorithm);
		json_num(j, "bits", s->bits);
		json_str(j, "why", s->why);
		json_close(j, '}');
	}
	json_close(j, ']');
	if (!c->predicted)
		json_str(j, "prediction", NULL);
	else {
		json_open(j, "prediction", '{');
		json_str(j, "result", pfl_dkim_predict_name(c->pred.result));
		json_str(j, "domain", c->pred.domain);
		json_str(j, "selector", c->pred.selector);
		json_num(j, "bits", c->pred.bits);
		json_str(j, "key", pfl_dkim_keystate_name(c->pred.key));
		json_str(j, "fix", c->pred.fix);
		json_close(j, '}');
	}
	json_close(j, '}');
}

/* json_dmarc - DMARC of the From: domain */
static void
json_dmarc(struct json *j, const struct pfl_checks *c)
{
	const struct pfl_dmarc_result *d = &c->dmarc;
	bool checked = c->from_domain[0] != '\0';

	json_open(j, "dmarc", '{');
	json_str(j, "result",
	    checked ? pfl_dmarc_result_name(d->result) : "unchecked");
	json_str(j, "domain", c->from_domain);
	json_str(j, "policy",
	    d->record_found ? pfl_dmarc_policy_name(d->published) : NULL);
	json_str(j, "applied",
	    d->result == PFL_DMARC_FAIL ? pfl_dmarc_policy_name(d->applied)
					: NULL);
	json_str(j, "record_domain", d->record_domain);
	json_str(j, "org_domain", d->org_domain_walk);
	json_str(j, "org_domain_psl", d->org_domain_psl);
	json_bool(j, "spf_aligned", d->spf_aligned);
	json_bool(j, "dkim_aligned", d->dkim_aligned);
	json_str(j, "why", d->why);
	json_close(j, '}');
}

/* json_providers - each recipient provider and what it would answer */
static void
json_providers(struct json *j, const struct pfl_checks *c)
{
	struct pfl_finding f;
	size_t i;

	json_open(j, "providers", '[');
	for (i = 0; i < c->nproviders; i++) {
		const struct pfl_checks_rcpt *r = &c->rcpts[i];

		/* the judgement again, for its words: pure, no DNS */
		pfl_provider_judge(c->ctx->providers, &r->match, &c->auth, &f);
		json_open(j, NULL, '{');
		json_str(j, "provider", pfl_provider_name(r->match.provider));
		json_str(j, "domain", r->match.domain);
		json_bool(j, "tenant", r->match.tenant);
		json_str(j, "via", pfl_provider_via_name(r->match.via));
		json_str(j, "mx", r->match.mx);
		json_num(j, "recipients", r->nrcpt);
		json_str(j, "outcome", pfl_outcome_name(r->outcome));
		json_str(j, "reply", r->reply);
		json_str(j, "reason", f.reason);
		json_str(j, "fix", f.fix);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* pfl_cli_check_json - the whole result as one JSON object */
void
pfl_cli_check_json(const struct pfl_checks *c, const struct pfl_verdict *v,
    size_t nrcpt, const char *summary)
{
	const struct pfl_finding *f = v->cause;
	struct json j = { 0, { false } };
	char reply[400] = "";

	if (v->action == PFL_ACT_DEFER || v->action == PFL_ACT_REJECT)
		snprintf(reply, sizeof(reply), "%s %s %s", v->rcode, v->xcode,
		    v->text);
	json_open(&j, NULL, '{');
	json_str(&j, "verdict", pfl_outcome_name(v->outcome));
	json_str(&j, "action", pfl_action_name(v->action));
	json_str(&j, "mode", pfl_config_mode_name(PFL_MODE_ENFORCE));
	json_str(&j, "mail_from", c->sender);
	json_str(&j, "from", c->from_addr);
	json_num(&j, "rcpts", nrcpt);
	json_str(&j, "summary", summary);
	json_spf(&j, c);
	json_dkim(&j, c);
	json_dmarc(&j, c);
	json_providers(&j, c);
	json_str(&j, "finding", f ? f->check : NULL);
	json_str(&j, "reason", f ? f->reason : NULL);
	json_str(&j, "fix", f ? f->fix : NULL);
	json_str(&j, "reply", reply);
	json_close(&j, '}');
	putchar('\n');
}
