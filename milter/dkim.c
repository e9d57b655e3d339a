/*
 * NAME
 *	dkim - the shared libopendkim handle and its DNS callbacks
 * DESCRIPTION
 *	Debian's libopendkim has no resolver of its own worth using (no
 *	libunbound, and dkim_dns_nslist does nothing), so every key lookup is
 *	routed through libopendkim's query callbacks into our resolver. The
 *	start callback asks our resolver synchronously and hands the library
 *	a whole DNS reply packet: the resolver's wire packet when it kept
 *	one, otherwise one built here from the parsed answer. A DNS failure
 *	is reported as DKIM_DNS_ERROR ("key retrieval failed"); anything
 *	else would make the library read it as "no key". The library calls
 *	the cancel callback after every query, successful ones too: the
 *	query handle is freed there.
 * SECURITY
 *	Names come from signatures (hostile): they are encoded with bounds
 *	and a name that cannot be asked becomes NXDOMAIN.
 */
#include <autoconfig.h>

#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_private.h"
#include "dns.h"
#include "util.h"

/* One query in flight between start and cancel. */
struct query {
	int status; /* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
	size_t len; /* bytes of reply in the library's buffer */
};

/* A bounded packet writer with a sticky error. */
struct pkt {
	unsigned char *p;
	size_t len, cap;
	bool err;
};

/* put - append n bytes */
static void
put(struct pkt *w, const void *src, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

/* put16 - append a 16-bit number in network order */
static void
put16(struct pkt *w, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(w, b, 2);
}

/* put32 - append a 32-bit number in network order */
static void
put32(struct pkt *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xffff);
}

/* name_ok - can name be asked (labels of 1..63 bytes, 255 in all)? */
static bool
name_ok(const char *name)
{
	const char *p = name, *dot;
	size_t total = 1, n;

	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || (total += n + 1) > 255)
			return false;
		p += n + (dot != NULL);
	}
	return true;
}

/* put_name - append a name that passed name_ok in wire form */
static void
put_name(struct pkt *w, const char *name)
{
	const char *p = name, *dot;
	size_t n;

	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		put(w, (unsigned char[]){ (unsigned char)n }, 1);
		put(w, p, n);
		p += n + (dot != NULL);
	}
	put(w, "", 1);
}

/* put_txt - append one TXT record (answer to the question at offset 12) */
static void
put_txt(struct pkt *w, const char *txt, size_t len, uint32_t ttl)
{
	size_t rdlen = len + (len + 254) / 255 + (len == 0), n;

	if (rdlen > 65535) {
		w->err = true;
		return;
	}
	put16(w, 0xc00c); /* compression pointer to the question name */
	put16(w, ns_t_txt);
	put16(w, ns_c_in);
	put32(w, ttl);
	put16(w, (unsigned)rdlen);
	if (len == 0)
		put(w, "", 1);
	for (; len > 0; txt += n, len -= n) {
		n = len > 255 ? 255 : len;
		put(w, (unsigned char[]){ (unsigned char)n }, 1);
		put(w, txt, n);
	}
}

/*
 * build_reply - a reply packet for a parsed answer; its length, or 0. A
 * name that cannot be asked (or was refused as such) has no key: NXDOMAIN
 * for the root name.
 */
static size_t
build_reply(const struct pfl_dns_answer *a, const char *name, int type,
    unsigned char *buf, size_t buflen)
{
	struct pkt w = { buf, 0, buflen, false };
	bool askable = name_ok(name) && a->status != PFL_DNS_PERMFAIL;
	bool nx = !askable || (a->status == PFL_DNS_NOTFOUND && a->nxdomain);
	size_t i, count = 0;

	if (askable && a->status == PFL_DNS_OK && type == ns_t_txt)
		count = a->count;
	put16(&w, 0);                     /* id */
	put16(&w, 0x8180 | (nx ? 3 : 0)); /* QR RD RA, rcode */
	put16(&w, 1);                     /* qdcount */
	put16(&w, (unsigned)count);       /* ancount */
	put16(&w, 0);                     /* nscount */
	put16(&w, 0);                     /* arcount */
	put_name(&w, askable ? name : "");
	put16(&w, (unsigned)type);
	put16(&w, ns_c_in);
	for (i = 0; i < count; i++)
		put_txt(&w, a->txt[i], a->txt_len[i], a->ttl);
	return w.err ? 0 : w.len;
}

/* dns_start - ask our resolver; the reply is ready when this returns */
static int
dns_start(void *srv, int type, unsigned char *name, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct pfl_dkim_lib *l = srv;
	struct query *q = pfl_xcalloc(1, sizeof(*q));
	struct pfl_dns_answer *a;

	a = l->res.query(l->res.ctx, (const char *)name, type);
	q->status = DKIM_DNS_ERROR;
	if (a->status == PFL_DNS_TEMPFAIL) {
		/* SERVFAIL, timeout: "key retrieval failed", never "no key" */
	} else if (a->status != PFL_DNS_PERMFAIL && a->packet != NULL &&
	    a->packet_len >= 12 && a->packet_len <= buflen) {
		memcpy(buf, a->packet, a->packet_len);
		q->len = a->packet_len;
		q->status = DKIM_DNS_SUCCESS;
	} else if ((q->len = build_reply(
			a, (const char *)name, type, buf, buflen)) > 0) {
		q->status = DKIM_DNS_SUCCESS;
	}
	l->res.answer_free(l->res.ctx, a);
	*qh = q;
	return 0;
}

/* dns_waitreply - the reply was produced by dns_start */
static int
dns_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes,
    int *error, int *dnssec)
{
	struct query *q = qh;

	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

/* dns_cancel - called after every query: free its handle */
static int
dns_cancel(void *srv, void *qh)
{
	free(qh);
	return 0;
}

/* dns_init - nothing to set up: the service is our struct */
static int
dns_init(void **srv)
{
	return 0;
}

/*
 * dns_close - nothing to close. The library's default would free the
 * service handle, which is ours (freed by pfl_dkim_lib_free).
 */
static void
dns_close(void *srv)
{
}

/* pfl_query - the default resolver: our DNS */
static struct pfl_dns_answer *
pfl_query(void *ctx, const char *name, int rrtype)
{
	return pfl_dns_query(ctx, name, rrtype);
}

/* pfl_answer_free - release an answer of our DNS */
static void
pfl_answer_free(void *ctx, struct pfl_dns_answer *a)
{
	pfl_dns_answer_free(&a);
}

/* pfl_dkim_lib_new_resolver - the shared libopendkim handle */
struct pfl_dkim_lib *
pfl_dkim_lib_new_resolver(const struct pfl_dkim_resolver *res)
{
	struct pfl_dkim_lib *l = pfl_xcalloc(1, sizeof(*l));

	if ((l->lib = dkim_init(NULL, NULL)) == NULL)
		abort(); /* only fails without memory */
	l->res = *res;
	(void)dkim_dns_set_query_service(l->lib, l);
	dkim_dns_set_query_start(l->lib, dns_start);
	dkim_dns_set_query_waitreply(l->lib, dns_waitreply);
	dkim_dns_set_query_cancel(l->lib, dns_cancel);
	dkim_dns_set_init(l->lib, dns_init);
	dkim_dns_set_close(l->lib, dns_close);
	return l;
}

/* pfl_dkim_lib_new - the shared handle, asking our resolver */
struct pfl_dkim_lib *
pfl_dkim_lib_new(struct pfl_dns *dns)
{
	struct pfl_dkim_resolver res = { pfl_query, pfl_answer_free, dns };

	return pfl_dkim_lib_new_resolver(&res);
}

/* pfl_dkim_lib_free - free the handle */
void
pfl_dkim_lib_free(struct pfl_dkim_lib **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	dkim_close((*lp)->lib);
	free(*lp);
	*lp = NULL;
	pfl_dkim_keycache_clear();
}

/* pfl_dkim_crlf - append src to a growing buffer with bare LF made CRLF */
size_t
pfl_dkim_crlf(
    char **bufp, size_t *capp, size_t at, const char *src, size_t len, bool *cr)
{
	size_t i;

	if (*capp - at < 2 * len + 1) {
		*capp = at + 2 * len + 1;
		*bufp = pfl_xrealloc(*bufp, *capp);
	}
	for (i = 0; i < len; i++) {
		if (src[i] == '\n' && !*cr)
			(*bufp)[at++] = '\r';
		(*bufp)[at++] = src[i];
		*cr = src[i] == '\r';
	}
	(*bufp)[at] = '\0';
	return at;
}
