/*
 * NAME
 *	orgdomain - Organizational Domains by the Public Suffix List and by
 *	the RFC 9989 DNS tree walk
 * DESCRIPTION
 *	The list is kept as three sorted arrays of rules (plain, wildcard
 *	bases, exceptions), each rule in A-label form; a lookup tries every
 *	suffix of the name with bsearch. We do not use libopendmarc's
 *	opendmarc_get_tld: it lacks the implicit "*" rule and answers
 *	nothing for any name under a TLD the list does not know.
 *
 *	Section numbers below are those of RFC 9989 (draft-ietf-dmarc-
 *	dmarcbis-41 numbers them the same way).
 * SECURITY
 *	Domains come from message headers: every function bounds its
 *	output and never reads past the terminating NUL.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orgdomain.h"
#include "util.h"

struct rules {
	char **v;
	size_t n, cap;
};

struct pfl_psl {
	struct rules plain;  /* "co.uk" */
	struct rules wild;   /* "*.ck" kept as "ck" */
	struct rules except; /* "!www.ck" kept as "www.ck" */
};

/* --- A-labels (RFC 3492 Punycode, encoding only) -------------------------- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700 };

/* pc_adapt - the bias adaptation of RFC 3492 section 6.1 */
static uint32_t
pc_adapt(uint32_t delta, uint32_t points, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* pc_put - append one byte to out (size n) at *o; -1 when full */
static int
pc_put(char *out, size_t n, size_t *o, int c)
{
	if (*o + 1 >= n)
		return -1;
	out[(*o)++] = (char)c;
	return 0;
}

/* pc_digit - the Punycode digit for d (0..35) */
static int
pc_digit(uint32_t d)
{
	return d < 26 ? 'a' + (int)d : '0' + (int)d - 26;
}

/* pc_number - a variable-length integer q for bias (RFC 3492 6.3) */
static int
pc_number(uint32_t q, uint32_t bias, char *out, size_t n, size_t *o)
{
	uint32_t k, t;

	for (k = PC_BASE;; k += PC_BASE) {
		t = k <= bias             ? PC_TMIN
		    : k >= bias + PC_TMAX ? PC_TMAX
					  : k - bias;
		if (q < t)
			break;
		if (pc_put(out, n, o, pc_digit(t + (q - t) % (PC_BASE - t))))
			return -1;
		q = (q - t) / (PC_BASE - t);
	}
	return pc_put(out, n, o, pc_digit(q));
}

/* punycode - "xn--" and the encoding of code points cp[0..len) */
static int
punycode(const uint32_t *cp, size_t len, char *out, size_t n)
{
	uint32_t next = 128, delta = 0, bias = 72, h, b = 0, m;
	size_t i, o = 0;

	if (pc_put(out, n, &o, 'x') || pc_put(out, n, &o, 'n') ||
	    pc_put(out, n, &o, '-') || pc_put(out, n, &o, '-'))
		return -1;
	for (i = 0; i < len; i++) {
		if (cp[i] >= 128)
			continue;
		if (pc_put(out, n, &o, (int)cp[i]))
			return -1;
		b++;
	}
	if (b > 0 && pc_put(out, n, &o, '-'))
		return -1;
	for (h = b; h < len; delta++, next++) {
		for (m = UINT32_MAX, i = 0; i < len; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		if ((m - next) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - next) * (h + 1);
		for (next = m, i = 0; i < len; i++) {
			if (cp[i] < next && ++delta == 0)
				return -1;
			if (cp[i] != next)
				continue;
			if (pc_number(delta, bias, out, n, &o))
				return -1;
			bias = pc_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
	}
	out[o] = '\0';
	return 0;
}

/* utf8_next - decode one code point at s (n bytes left); its length or 0 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* label_to_ascii - one label (len bytes) into out (size n); 0 or -1 */
static int
label_to_ascii(const char *s, size_t len, char *out, size_t n)
{
	uint32_t cp[64];
	size_t i, k, ncp = 0;
	bool ascii = true;

	if (len == 0 || len > 63 * 4)
		return -1;
	for (i = 0; i < len; i += k) {
		if (ncp == 64 ||
		    (k = utf8_next(
			 (const unsigned char *)s + i, len - i, &cp[ncp])) == 0)
			return -1;
		if (cp[ncp] < 128)
			cp[ncp] = (uint32_t)tolower((int)cp[ncp]);
		else
			ascii = false;
		ncp++;
	}
	if (!ascii)
		return punycode(cp, ncp, out, n);
	if (len + 1 > n)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)cp[i];
	out[len] = '\0';
	return 0;
}

/* label_ok - 1..63 bytes of letters, digits, '-' and '_' */
static bool
label_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63)
		return false;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
			s[i] == '_'))
			return false;
	return true;
}

/* pfl_orgdomain_normalize - lower case, A-labels, no trailing dot */
int
pfl_orgdomain_normalize(const char *src, char *dst, size_t n)
{
	char label[64];
	size_t len = src ? strlen(src) : 0, o = 0, l;
	const char *p, *dot;

	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len == 0 || len > 1024 || n == 0)
		return -1;
	for (p = src; p < src + len; p = dot + 1) {
		if ((dot = memchr(p, '.', (size_t)(src + len - p))) == NULL)
			dot = src + len;
		if (label_to_ascii(p, (size_t)(dot - p), label, sizeof(label)))
			return -1;
		l = strlen(label);
		if (!label_ok(label, l) || o + l + 1 > n || o + l > 253)
			return -1;
		memcpy(dst + o, label, l);
		o += l;
		dst[o++] = '.';
	}
	dst[o - 1] = '\0';
	return 0;
}

/* pfl_orgdomain_is_under - name equal to or a subdomain of ancestor */
bool
pfl_orgdomain_is_under(const char *name, const char *ancestor)
{
	size_t n = strlen(name), a = strlen(ancestor);

	if (a == 0 || a > n || strcasecmp(name + n - a, ancestor) != 0)
		return false;
	return a == n || name[n - a - 1] == '.';
}

/* --- the list ------------------------------------------------------------- */

/* rules_add - append a copy of s */
static void
rules_add(struct rules *r, const char *s)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->v = pfl_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = pfl_xstrdup(s);
}

/* cmp_str - qsort/bsearch comparison of two char * */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rules_has - is s a rule? */
static bool
rules_has(const struct rules *r, const char *s)
{
	return r->n && bsearch(&s, r->v, r->n, sizeof(*r->v), cmp_str);
}

/* add_rule - one line's rule ("!x", "*.x" or "x") */
static void
add_rule(struct pfl_psl *psl, const char *tok)
{
	char name[PFL_DOMAIN_SIZE];
	struct rules *r = &psl->plain;

	if (tok[0] == '!') {
		r = &psl->except;
		tok++;
	} else if (tok[0] == '*' && tok[1] == '.') {
		r = &psl->wild;
		tok += 2;
	}
	/* other wildcard shapes are not in the list's grammar: skip */
	if (strchr(tok, '*') == NULL &&
	    pfl_orgdomain_normalize(tok, name, sizeof(name)) == 0)
		rules_add(r, name);
}

/* pfl_psl_parse - rules from the list's text */
struct pfl_psl *
pfl_psl_parse(const char *text, size_t len)
{
	struct pfl_psl *psl = pfl_xcalloc(1, sizeof(*psl));
	const char *p = text, *end = text + len, *eol;
	char tok[PFL_DOMAIN_SIZE];
	size_t t;

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		/* the rule is the line's first word; "//" starts a comment */
		for (t = 0; p + t < eol && !isspace((unsigned char)p[t]); t++)
			;
		if (t == 0 || t >= sizeof(tok) ||
		    (t >= 2 && p[0] == '/' && p[1] == '/'))
			continue;
		memcpy(tok, p, t);
		tok[t] = '\0';
		add_rule(psl, tok);
	}
	qsort(psl->plain.v, psl->plain.n, sizeof(char *), cmp_str);
	qsort(psl->wild.v, psl->wild.n, sizeof(char *), cmp_str);
	qsort(psl->except.v, psl->except.n, sizeof(char *), cmp_str);
	return psl;
}

/* pfl_psl_load - the list in a file */
struct pfl_psl *
pfl_psl_load(const char *path, char *err, size_t n)
{
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	struct pfl_psl *psl;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 65536)
			buf = pfl_xrealloc(buf, cap += 262144);
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
	} while (got > 0);
	if (ferror(fp)) {
		snprintf(err, n, "%s: read error", path);
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	psl = pfl_psl_parse(buf, len);
	free(buf);
	if (psl->plain.n == 0) {
		snprintf(err, n, "%s: no rules", path);
		pfl_psl_free(&psl);
	}
	return psl;
}

/* rules_free - free every rule */
static void
rules_free(struct rules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

/* pfl_psl_free - free a list */
void
pfl_psl_free(struct pfl_psl **pp)
{
	if (*pp == NULL)
		return;
	rules_free(&(*pp)->plain);
	rules_free(&(*pp)->wild);
	rules_free(&(*pp)->except);
	free(*pp);
	*pp = NULL;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct pfl_psl *default_psl;

/* load_default - pthread_once routine for pfl_psl_default */
static void
load_default(void)
{
	char err[256];

	default_psl = pfl_psl_load(PFL_PSL_PATH, err, sizeof(err));
}

/* pfl_psl_default - the system's list, loaded once */
const struct pfl_psl *
pfl_psl_default(void)
{
	pthread_once(&default_once, load_default);
	return default_psl;
}

/* pfl_psl_count - number of rules */
size_t
pfl_psl_count(const struct pfl_psl *psl)
{
	return psl->plain.n + psl->wild.n + psl->except.n;
}

/* labels - number of labels in a name */
static size_t
labels(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* parent - the name without its first label, or NULL for a TLD */
static const char *
parent(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot ? dot + 1 : NULL;
}

/* pfl_psl_suffix - the public suffix of domain (publicsuffix.org) */
const char *
pfl_psl_suffix(const struct pfl_psl *psl, const char *domain, bool *listed_r)
{
	const char *s, *best = NULL, *up;

	/* an exception rule prevails over all others: its parent is it */
	for (s = domain; s && best == NULL; s = parent(s))
		if (rules_has(&psl->except, s))
			best = parent(s);
	/* otherwise the first match from the left has the most labels */
	for (s = domain; s && best == NULL; s = parent(s)) {
		up = parent(s);
		if (rules_has(&psl->plain, s) ||
		    (up && rules_has(&psl->wild, up)))
			best = s;
	}
	if (listed_r)
		*listed_r = best != NULL;
	if (best == NULL) { /* the implicit "*" rule: the last label */
		for (best = domain; parent(best); best = parent(best))
			;
	}
	return best;
}

/* pfl_orgdomain_psl - the public suffix plus one label */
const char *
pfl_orgdomain_psl(const struct pfl_psl *psl, const char *domain)
{
	const char *suffix = pfl_psl_suffix(psl, domain, NULL), *s;

	if (suffix == domain)
		return domain;
	for (s = domain; parent(s) != suffix; s = parent(s))
		;
	return s;
}

/* --- the DNS tree walk (RFC 9989 section 4.10) ---------------------------- */

/* pfl_orgdomain_walk_names - the names a walk asks */
size_t
pfl_orgdomain_walk_names(
    const char *domain, const char *names_r[PFL_ORGDOMAIN_WALK_MAX])
{
	size_t x = labels(domain), n = 0;
	const char *s = domain;

	/* step 1: the starting point itself */
	names_r[n++] = s;
	/*
	 * Steps 3 and 4: with x < 8 labels drop the left-most one; with 8
	 * or more drop labels until 7 remain, so no walk asks more than 8
	 * names however long the domain is.
	 */
	for (; x > 8; x--)
		s = parent(s);
	/* step 7: one label less each time, down to the top-level domain */
	while ((s = parent(s)) != NULL && n < PFL_ORGDOMAIN_WALK_MAX)
		names_r[n++] = s;
	return n;
}

/* below - the name one label below ancestor on the way to domain */
static const char *
below(const char *domain, const char *ancestor)
{
	const char *s;

	for (s = domain; parent(s) && parent(s) != ancestor; s = parent(s))
		;
	return s;
}

/*
 * choose_org - section 4.10.2: among the names with records, from the
 * longest: psd=n names the Organizational Domain; psd=y (except at the
 * starting point) makes it the name one label below; otherwise the one
 * with the fewest labels; with no record, the starting point. The walk
 * stops at the first psd=y or psd=n, so only the last record found can
 * carry either.
 */
static void
choose_org(const char *domain, struct pfl_orgdomain_walk *w)
{
	int last = -1;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->seen[i] != PFL_SEEN_NONE)
			last = (int)i;
	w->record = last;
	if (last < 0)
		w->org = domain;
	else if (w->seen[last] == PFL_SEEN_PSD_Y && last > 0)
		w->org = below(domain, w->name[last]);
	else
		w->org = w->name[last];
}

/* pfl_orgdomain_walk - walk up from domain and choose its org domain */
void
pfl_orgdomain_walk(const char *domain, pfl_orgdomain_ask_fn ask, void *ctx,
    struct pfl_orgdomain_walk *w)
{
	const char *names[PFL_ORGDOMAIN_WALK_MAX];
	size_t i, n = pfl_orgdomain_walk_names(domain, names);

	memset(w, 0, sizeof(*w));
	w->psd = -1;
	w->record = -1;
	for (i = 0; i < n; i++) {
		w->name[i] = names[i];
		w->seen[i] = ask(ctx, names[i]);
		w->n = i + 1;
		if (w->seen[i] == PFL_SEEN_FAILED) {
			/* an unknown answer could have changed the choice */
			w->failed = true;
			return;
		}
		/* steps 2 and 6: a record with psd=n or psd=y stops the walk */
		if (w->seen[i] == PFL_SEEN_PSD_Y)
			w->psd = (int)i;
		if (w->seen[i] == PFL_SEEN_PSD_Y ||
		    w->seen[i] == PFL_SEEN_PSD_N)
			break;
	}
	choose_org(domain, w);
}
