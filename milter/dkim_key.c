/*
 * NAME
 *	dkim_key - the published key: parse the record, check it against
 *	the private key
 * DESCRIPTION
 *	A key record (RFC 6376 section 3.6.1) is a tag list; we read v=, k=,
 *	t= and p= and work out the key size from the DER in p= (RSA
 *	SubjectPublicKeyInfo or a bare RSAPublicKey; 32 raw bytes for
 *	ed25519). Whether the published key is the signing key is left to
 *	libopendkim's dkim_test_key, which fetches the record through our
 *	DNS callbacks.
 * SECURITY
 *	Records are hostile: parsed with explicit lengths, base64 and DER
 *	with bounds checks. Private key bytes are wiped after use.
 */
#include <autoconfig.h>

#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim_private.h"
#include "dns.h"
#include "util.h"

#define MAX_PRIVKEY (64 * 1024)

/* b64val - value of a base64 digit, -1 for anything else */
static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * b64decode - decode base64 in [s, s+len) skipping white space into out
 * (at least len bytes); returns the length, or -1 on a bad digit.
 */
static long
b64decode(const char *s, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, n = 0, digits = 0, pad = 0;
	int v;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64val(c)) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		if (++digits % 4 == 0) {
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (digits % 4 == 1 || pad > 2)
		return -1;
	if (digits % 4 == 2)
		out[n++] = (unsigned char)(acc >> 4);
	else if (digits % 4 == 3) {
		out[n++] = (unsigned char)(acc >> 10);
		out[n++] = (unsigned char)(acc >> 2);
	}
	return (long)n;
}

/* A DER cursor. */
struct der {
	const unsigned char *p, *end;
};

/* der_next - read one element of the given tag; its contents in *in */
static bool
der_next(struct der *d, unsigned char tag, struct der *in)
{
	size_t len = 0, nb, i;

	if (d->end - d->p < 2 || *d->p++ != tag)
		return false;
	len = *d->p++;
	if (len & 0x80) {
		nb = len & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(d->end - d->p) < nb)
			return false;
		for (len = 0, i = 0; i < nb; i++)
			len = (len << 8) | *d->p++;
	}
	if ((size_t)(d->end - d->p) < len)
		return false;
	in->p = d->p;
	in->end = d->p + len;
	d->p += len;
	return true;
}

/* int_bits - bits in a DER INTEGER's contents (unsigned) */
static unsigned
int_bits(const struct der *n)
{
	const unsigned char *p = n->p;
	unsigned bits;
	unsigned char c;

	while (p < n->end && *p == 0)
		p++;
	if (p == n->end)
		return 0;
	bits = (unsigned)(n->end - p - 1) * 8;
	for (c = *p; c != 0; c >>= 1)
		bits++;
	return bits;
}

/* rsa_bits - modulus size of an RSA public key in DER; 0 when not one */
static unsigned
rsa_bits(const unsigned char *der, size_t len)
{
	struct der d = { der, der + len }, seq, alg, bits, key, n;

	if (!der_next(&d, 0x30, &seq))
		return 0;
	if (seq.p < seq.end && *seq.p == 0x02) /* RSAPublicKey */
		return der_next(&seq, 0x02, &n) ? int_bits(&n) : 0;
	if (!der_next(&seq, 0x30, &alg) || !der_next(&seq, 0x03, &bits) ||
	    bits.p == bits.end || *bits.p++ != 0)
		return 0;
	if (!der_next(&bits, 0x30, &key) || !der_next(&key, 0x02, &n))
		return 0;
	return int_bits(&n);
}

/* trim_span - strip white space around [*p, *end) */
static void
trim_span(const char **p, const char **end)
{
	while (*p < *end && isspace((unsigned char)**p))
		(*p)++;
	while (*end > *p && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

/* has_flag - does the colon list [p, end) hold the flag? */
static bool
has_flag(const char *p, const char *end, const char *flag)
{
	const char *e, *q;

	for (; p < end; p = e + 1) {
		for (e = p; e < end && *e != ':'; e++)
			;
		q = p;
		trim_span(&q, &e);
		if ((size_t)(e - q) == strlen(flag) &&
		    strncasecmp(q, flag, (size_t)(e - q)) == 0)
			return true;
		if (e == end)
			break;
	}
	return false;
}

/* key_bits - size of the key in p= (k=rsa or ed25519); 0 when bad */
static unsigned
key_bits(const char *p, const char *end, bool ed25519)
{
	unsigned char *der = pfl_xmalloc((size_t)(end - p) + 1);
	long n = b64decode(p, (size_t)(end - p), der);
	unsigned bits = 0;

	if (n > 0)
		bits = ed25519 ? (n == 32 ? 256 : 0) : rsa_bits(der, (size_t)n);
	free(der);
	return bits;
}

/* Where p= was found in a record. */
struct pval {
	const char *p, *end; /* NULL when there is no p= */
};

/*
 * key_tag - take one tag=value of a key record (tag is 0 for names longer
 * than one letter, which we ignore); -1 with the reason in r->why
 */
static int
key_tag(struct pfl_dkim_keyrec *r, char tag, const char *v, const char *ve,
    bool first, struct pval *pv)
{
	const char *why = NULL;

	if (tag == 'v' &&
	    (!first || ve - v != 5 || strncmp(v, "DKIM1", 5) != 0))
		why = "v= is not DKIM1 (or not first)";
	else if (tag == 'k' && ve - v == 7 && strncasecmp(v, "ed25519", 7) == 0)
		r->ed25519 = true;
	else if (tag == 'k' && (ve - v != 3 || strncasecmp(v, "rsa", 3) != 0))
		why = "unknown key type k=";
	else if (tag == 't' && has_flag(v, ve, "y"))
		r->testmode = true;
	else if (tag == 'p') {
		pv->p = v;
		pv->end = ve;
	}
	if (why != NULL)
		pfl_strlcpy(r->why, why, sizeof(r->why));
	return why ? -1 : 0;
}

/* key_value - check p= once the tags are read */
static int
key_value(struct pfl_dkim_keyrec *r, const struct pval *pv)
{
	if (pv->p == NULL) {
		pfl_strlcpy(r->why, "no p= tag", sizeof(r->why));
		return -1;
	}
	if (pv->p == pv->end) {
		r->revoked = true;
		return 0;
	}
	if ((r->bits = key_bits(pv->p, pv->end, r->ed25519)) == 0) {
		pfl_strlcpy(r->why, "p= is not a public key", sizeof(r->why));
		return -1;
	}
	return 0;
}

/* pfl_dkim_keyrec_parse - parse a key record */
int
pfl_dkim_keyrec_parse(const char *txt, size_t len, struct pfl_dkim_keyrec *r)
{
	const char *s, *end = txt + len, *semi, *eq, *t, *te, *v, *ve;
	struct pval pv = { NULL, NULL };
	bool first = true;

	memset(r, 0, sizeof(*r));
	for (s = txt; s < end; s = semi + 1) {
		if ((semi = memchr(s, ';', (size_t)(end - s))) == NULL)
			semi = end;
		t = s;
		te = semi;
		trim_span(&t, &te);
		if (t < te && (eq = memchr(t, '=', (size_t)(te - t))) == NULL) {
			pfl_strlcpy(r->why, "tag without '='", sizeof(r->why));
			return -1;
		}
		if (t < te) {
			v = eq + 1;
			ve = te;
			te = eq;
			trim_span(&t, &te);
			trim_span(&v, &ve);
			if (key_tag(
				r, te - t == 1 ? *t : 0, v, ve, first, &pv) < 0)
				return -1;
			first = false;
		}
		if (semi == end)
			break;
	}
	return key_value(r, &pv);
}

/* read_private - the private key file; NULL with errno when unreadable */
static char *
read_private(const char *path, size_t *len_r)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_PRIVKEY) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	buf = pfl_xmalloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0 || n != st.st_size) {
		free(buf);
		errno = n < 0 ? errno : EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len_r = (size_t)n;
	return buf;
}

/* compare - is the published key the private key in keyfile? */
static enum pfl_dkim_keystate
compare(struct pfl_dkim_lib *l, const char *domain, const char *selector,
    const char *keyfile, const char *name, char *fix, size_t n)
{
	char err[256] = "", *key;
	size_t len = 0;
	int rc;

	if (keyfile == NULL || *keyfile == '\0') {
		snprintf(fix, n,
		    "key %s not compared: private key not in a file", name);
		return PFL_DKIM_KEY_UNCHECKED;
	}
	if ((key = read_private(keyfile, &len)) == NULL && errno == ENOENT) {
		snprintf(fix, n, "private key file %s does not exist", keyfile);
		return PFL_DKIM_KEY_NOPRIVATE;
	}
	if (key == NULL) {
		snprintf(fix, n, "key %s not compared: cannot read %s: %s",
		    name, keyfile, strerror(errno));
		return PFL_DKIM_KEY_UNCHECKED;
	}
	rc = dkim_test_key(l->lib, (char *)selector, (char *)domain, key, len,
	    NULL, err, sizeof(err));
	explicit_bzero(key, len);
	free(key);
	if (rc == 1) {
		snprintf(
		    fix, n, "DKIM key %s does not match the signing key", name);
		return PFL_DKIM_KEY_MISMATCH;
	}
	if (rc < 0) {
		snprintf(fix, n, "key %s not compared: %s", name,
		    pfl_printable(err, sizeof(err), err, NULL));
		return PFL_DKIM_KEY_UNCHECKED;
	}
	return PFL_DKIM_KEY_OK;
}

/* lookup - the one key record at name; a state other than OK on trouble */
static enum pfl_dkim_keystate
lookup(struct pfl_dkim_lib *l, const char *name, const char *pname,
    struct pfl_dkim_keyrec *r, char *fix, size_t n)
{
	struct pfl_dns_answer *a = l->res.query(l->res.ctx, name, ns_t_txt);
	enum pfl_dkim_keystate st = PFL_DKIM_KEY_OK;

	if (a->status == PFL_DNS_TEMPFAIL) {
		snprintf(fix, n, "DKIM key %s could not be fetched: %s", pname,
		    a->why[0] ? a->why : "DNS failure");
		st = PFL_DKIM_KEY_TEMPFAIL;
	} else if (a->status != PFL_DNS_OK || a->count == 0) {
		snprintf(
		    fix, n, "publish the DKIM key %s (no TXT record)", pname);
		st = PFL_DKIM_KEY_NOTFOUND;
	} else if (a->count > 1) {
		snprintf(fix, n, "DKIM key %s has %zu TXT records; keep one",
		    pname, a->count);
		st = PFL_DKIM_KEY_BADRECORD;
	} else if (pfl_dkim_keyrec_parse(a->txt[0], a->txt_len[0], r) < 0) {
		snprintf(fix, n, "DKIM key %s is unusable: %s", pname, r->why);
		st = PFL_DKIM_KEY_BADRECORD;
	} else if (r->revoked) {
		snprintf(fix, n, "DKIM key %s is revoked (empty p=)", pname);
		st = PFL_DKIM_KEY_REVOKED;
	}
	l->res.answer_free(l->res.ctx, a);
	return st;
}

/* pfl_dkim_key_check - check one key against DNS */
enum pfl_dkim_keystate
pfl_dkim_key_check(struct pfl_dkim_lib *l, const char *domain,
    const char *selector, const char *keyfile, unsigned *bits_r, char *fix,
    size_t n)
{
	struct pfl_dkim_keyrec r;
	enum pfl_dkim_keystate st;
	char name[512], pname[512];

	*bits_r = 0;
	fix[0] = '\0';
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	pfl_printable(pname, sizeof(pname), name, NULL);
	if ((st = lookup(l, name, pname, &r, fix, n)) != PFL_DKIM_KEY_OK)
		return st;
	*bits_r = r.bits;
	st = compare(l, domain, selector, keyfile, pname, fix, n);
	if (st != PFL_DKIM_KEY_OK && st != PFL_DKIM_KEY_UNCHECKED)
		return st;
	if (!r.ed25519 && r.bits < 1024) {
		snprintf(fix, n,
		    "DKIM key %s has %u bits; publish a 2048-bit key", pname,
		    r.bits);
		return PFL_DKIM_KEY_WEAK;
	}
	if (r.testmode) {
		snprintf(
		    fix, n, "DKIM key %s is in test mode; remove t=y", pname);
		return PFL_DKIM_KEY_TESTMODE;
	}
	return st;
}

/* pfl_dkim_keystate_name - printable key state */
const char *
pfl_dkim_keystate_name(enum pfl_dkim_keystate s)
{
	static const char *names[] = { "ok", "unchecked", "notfound",
		"mismatch", "weak", "testmode", "revoked", "badrecord",
		"noprivate", "tempfail", "undefined" };

	if ((size_t)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "?";
}
