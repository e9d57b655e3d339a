/*
 * NAME
 *	dkim_verify - verify the signatures a message carries
 * DESCRIPTION
 *	A thin state machine over a libopendkim verifying handle: headers,
 *	end of headers (the keys are fetched then), body chunks, end of
 *	message. At end of message every signature is classified the way a
 *	receiver sees it and copied into the message arena; the library
 *	handle is released at once.
 *
 *	The milter hands over header values and body chunks as the MTA
 *	passed them; bare LF line ends become CRLF, the form a receiver
 *	hashes. Header values are exact only when the MTA passes them with
 *	their leading white space (SMFIP_HDR_LEADSPC); without it one space
 *	after the colon is assumed.
 * SECURITY
 *	Signature fields are hostile: everything copied out of a signature
 *	is made printable; h= is split with explicit bounds.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dkim_private.h"
#include "util.h"

enum vstate {
	V_HEADERS, /* taking header fields */
	V_BODY,    /* after end of headers, with signatures */
	V_DONE,    /* no signature, or end of message seen */
};

struct pfl_dkim_verify {
	struct pfl_dkim_lib *lib;
	struct pfl_arena *arena; /* owns the results */
	DKIM *dkim;              /* NULL once done */
	enum vstate state;
	size_t nseen; /* DKIM-Signature fields found */
	bool body_cr; /* the last body byte was CR */
	char *buf;    /* scratch for CRLF conversion */
	size_t cap;
	struct pfl_dkim_sig *sigs; /* in the arena */
	size_t nsigs;
};

/* pfl_dkim_verify_new - a verifier for one message */
struct pfl_dkim_verify *
pfl_dkim_verify_new(
    struct pfl_dkim_lib *lib, struct pfl_arena *arena, const char *id)
{
	struct pfl_dkim_verify *v = pfl_xcalloc(1, sizeof(*v));
	DKIM_STAT st;

	v->lib = lib;
	v->arena = arena;
	v->dkim = dkim_verify(
	    lib->lib, (const unsigned char *)(id && *id ? id : "-"), NULL, &st);
	if (v->dkim == NULL)
		abort(); /* fails only without memory */
	return v;
}

/* pfl_dkim_verify_field - one whole header field */
void
pfl_dkim_verify_field(struct pfl_dkim_verify *v, const char *field, size_t len)
{
	bool cr = false;
	size_t n;

	if (v->state != V_HEADERS)
		return;
	n = pfl_dkim_crlf(&v->buf, &v->cap, 0, field, len, &cr);
	/* a field the library cannot parse is left out, as by a receiver */
	(void)dkim_header(v->dkim, (unsigned char *)v->buf, n);
}

/* pfl_dkim_verify_header - one header field from the milter */
void
pfl_dkim_verify_header(struct pfl_dkim_verify *v, const char *name,
    const char *value, bool leadspc)
{
	const char *sep = leadspc ? ":" : ": ";
	size_t nlen = strlen(name), slen = strlen(sep), vlen = strlen(value);
	char *f = pfl_xmalloc(nlen + slen + vlen + 1);

	memcpy(f, name, nlen);
	memcpy(f + nlen, sep, slen);
	memcpy(f + nlen + slen, value, vlen + 1);
	pfl_dkim_verify_field(v, f, nlen + slen + vlen);
	free(f);
}

/* pfl_dkim_verify_eoh - end of headers: signatures found, keys fetched */
size_t
pfl_dkim_verify_eoh(struct pfl_dkim_verify *v)
{
	DKIM_SIGINFO **list;
	DKIM_STAT st;
	int n = 0;

	if (v->state != V_HEADERS)
		return v->nseen;
	st = dkim_eoh(v->dkim);
	if (st != DKIM_STAT_NOSIG &&
	    dkim_getsiglist(v->dkim, &list, &n) == DKIM_STAT_OK && n > 0)
		v->nseen = (size_t)n;
	if (v->nseen == 0) {
		dkim_free(v->dkim);
		v->dkim = NULL;
		v->state = V_DONE;
		return 0;
	}
	v->state = V_BODY;
	return v->nseen;
}

/* bare_lf - has the chunk an LF without CR before it (cr: the byte before)? */
static bool
bare_lf(const unsigned char *p, size_t len, bool cr)
{
	const unsigned char *end = p + len, *lf = p;

	while ((lf = memchr(lf, '\n', (size_t)(end - lf))) != NULL) {
		if (lf == p ? !cr : lf[-1] != '\r')
			return true;
		lf++;
	}
	return false;
}

/* pfl_dkim_verify_body - a body chunk */
void
pfl_dkim_verify_body(
    struct pfl_dkim_verify *v, const unsigned char *buf, size_t len)
{
	size_t n;

	if (v->state != V_BODY || len == 0)
		return;
	if (!bare_lf(buf, len, v->body_cr)) { /* as Postfix passes it */
		v->body_cr = buf[len - 1] == '\r';
		(void)dkim_body(v->dkim, (unsigned char *)buf, len);
		return;
	}
	n = pfl_dkim_crlf(
	    &v->buf, &v->cap, 0, (const char *)buf, len, &v->body_cr);
	(void)dkim_body(v->dkim, (unsigned char *)v->buf, n);
}

/* adup - printable, lower-cased copy of library text in the arena */
static const char *
adup(struct pfl_arena *a, const unsigned char *s, bool lower)
{
	size_t len = s ? strlen((const char *)s) : 0, i;
	char *d = pfl_arena_alloc(a, len + 1);

	pfl_printable(d, len + 1, (const char *)s, NULL);
	for (i = 0; lower && i < len; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* split_h - the h= list as lower-case names in the arena */
static void
split_h(struct pfl_arena *a, const unsigned char *h, struct pfl_dkim_sig *s)
{
	const char *p = (const char *)h, *end;
	size_t max = 1, len;
	char *name;

	if (h == NULL)
		return;
	for (end = p; *end; end++)
		max += *end == ':';
	s->headers = pfl_arena_alloc(a, max * sizeof(*s->headers));
	for (; *p != '\0'; p = *end ? end + 1 : end) {
		for (end = p; *end && *end != ':'; end++)
			;
		while (p < end && isspace((unsigned char)*p))
			p++;
		for (len = (size_t)(end - p);
		     len > 0 && isspace((unsigned char)p[len - 1]); len--)
			;
		if (len == 0 || s->nheaders >= max)
			continue;
		name = pfl_xstrndup(p, len);
		s->headers[s->nheaders++] =
		    adup(a, (const unsigned char *)name, true);
		free(name);
	}
}

/* alg_name - the a= value */
static const char *
alg_name(struct pfl_arena *a, DKIM_SIGINFO *sig)
{
	dkim_alg_t alg;

	if (dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK) {
		if (alg == DKIM_SIGN_RSASHA256)
			return "rsa-sha256";
		if (alg == DKIM_SIGN_RSASHA1)
			return "rsa-sha1";
		if (alg == DKIM_SIGN_ED25519SHA256)
			return "ed25519-sha256";
	}
	return adup(
	    a, dkim_sig_gettagvalue(sig, 0, (unsigned char *)"a"), true);
}

/* classify - a receiver's view of one signature */
static void
classify(struct pfl_arena *a, DKIM_SIGINFO *sig, struct pfl_dkim_sig *s)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	const char *es;

	s->testkey = (flags & DKIM_SIGFLAG_TESTKEY) != 0;
	s->revoked = err == DKIM_SIGERROR_KEYREVOKED;
	s->why = "";
	if ((flags & DKIM_SIGFLAG_PASSED) &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH) {
		s->result = s->testkey ? PFL_DKIM_PERMERROR : PFL_DKIM_PASS;
		if (s->testkey)
			s->why = "key in test mode (t=y)";
	} else if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		s->result = PFL_DKIM_FAIL_BODY;
		s->why = "body hash mismatch: body changed after signing";
	} else if (err == DKIM_SIGERROR_BADSIG) {
		s->result = PFL_DKIM_FAIL_HEADER;
		s->why = "signature mismatch: a signed header changed, or the "
			 "published key is not the signing key";
	} else if (err == DKIM_SIGERROR_NOKEY) {
		s->result = PFL_DKIM_NOKEY;
		s->why = "no key published";
	} else if (err == DKIM_SIGERROR_KEYFAIL) {
		s->result = PFL_DKIM_TEMPFAIL;
		s->why = "key retrieval failed (DNS)";
	} else {
		s->result = PFL_DKIM_PERMERROR;
		es = s->revoked ? "key revoked (empty p=)"
				: dkim_sig_geterrorstr(err);
		s->why = es ? es : "signature not verified";
	}
}

/* collect - copy every signature's outcome into the arena */
static void
collect(struct pfl_dkim_verify *v)
{
	DKIM_SIGINFO **list;
	struct pfl_dkim_sig *s;
	int n = 0, i;

	if (dkim_getsiglist(v->dkim, &list, &n) != DKIM_STAT_OK || n <= 0)
		return;
	v->sigs = pfl_arena_alloc(v->arena, (size_t)n * sizeof(*v->sigs));
	for (i = 0; i < n; i++) {
		s = &v->sigs[v->nsigs++];
		classify(v->arena, list[i], s);
		s->domain = adup(v->arena, dkim_sig_getdomain(list[i]), true);
		s->selector =
		    adup(v->arena, dkim_sig_getselector(list[i]), true);
		s->algorithm = alg_name(v->arena, list[i]);
		if (dkim_sig_getkeysize(list[i], &s->bits) != DKIM_STAT_OK)
			s->bits = 0;
		split_h(v->arena,
		    dkim_sig_gettagvalue(list[i], 0, (unsigned char *)"h"), s);
	}
}

/* pfl_dkim_verify_eom - end of message: decide every signature */
void
pfl_dkim_verify_eom(struct pfl_dkim_verify *v)
{
	_Bool testkey = 0;

	if (v->state != V_BODY)
		return;
	/* the overall status is the first signature's; each one is read */
	(void)dkim_eom(v->dkim, &testkey);
	collect(v);
	dkim_free(v->dkim);
	v->dkim = NULL;
	v->state = V_DONE;
}

/* pfl_dkim_verify_results - the signatures in header order */
size_t
pfl_dkim_verify_results(
    const struct pfl_dkim_verify *v, const struct pfl_dkim_sig **sigs_r)
{
	*sigs_r = v->sigs;
	return v->nsigs;
}

/* pfl_dkim_verify_free - free the verifier (not its results) */
void
pfl_dkim_verify_free(struct pfl_dkim_verify **vp)
{
	if (vp == NULL || *vp == NULL)
		return;
	if ((*vp)->dkim != NULL)
		dkim_free((*vp)->dkim);
	free((*vp)->buf);
	free(*vp);
	*vp = NULL;
}

/* pfl_dkim_result_name - printable result */
const char *
pfl_dkim_result_name(enum pfl_dkim_result r)
{
	switch (r) {
	case PFL_DKIM_PASS:
		return "pass";
	case PFL_DKIM_FAIL_BODY:
		return "fail-body";
	case PFL_DKIM_FAIL_HEADER:
		return "fail-header";
	case PFL_DKIM_NOKEY:
		return "nokey";
	case PFL_DKIM_TEMPFAIL:
		return "tempfail";
	case PFL_DKIM_PERMERROR:
		return "permerror";
	}
	return "?";
}

/* pfl_dkim_aligned - does d= align with domain? */
bool
pfl_dkim_aligned(const char *d, const char *domain, enum pfl_dkim_align align)
{
	size_t dl, ol;

	if (d == NULL || domain == NULL || *domain == '\0')
		return false;
	if (pfl_strcaseeq(d, domain))
		return true;
	if (align == PFL_DKIM_ALIGN_STRICT)
		return false;
	dl = strlen(d);
	ol = strlen(domain);
	return dl > ol + 1 && d[dl - ol - 1] == '.' &&
	    pfl_strcaseeq(d + dl - ol, domain);
}

/* pfl_dkim_sig_covers - does h= name this header? */
bool
pfl_dkim_sig_covers(const struct pfl_dkim_sig *s, const char *header)
{
	size_t i;

	for (i = 0; i < s->nheaders; i++)
		if (pfl_strcaseeq(s->headers[i], header))
			return true;
	return false;
}

/* pfl_dkim_covered - a passing, aligned signature covering header */
const struct pfl_dkim_sig *
pfl_dkim_covered(const struct pfl_dkim_sig *sigs, size_t n, const char *header,
    const char *domain, enum pfl_dkim_align align)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sigs[i].result == PFL_DKIM_PASS &&
		    pfl_dkim_aligned(sigs[i].domain, domain, align) &&
		    pfl_dkim_sig_covers(&sigs[i], header))
			return &sigs[i];
	return NULL;
}
