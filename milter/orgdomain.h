/*
 * NAME
 *	orgdomain 3h - Organizational Domains: by the Public Suffix List and
 *	by the DNS tree walk
 * DESCRIPTION
 *	DMARC compares the From: domain with authenticated identifiers by
 *	their Organizational Domains. RFC 7489 (what most receivers still
 *	run) takes it from the Public Suffix List: the public suffix plus one
 *	label. RFC 9989 (DMARCbis) replaces the list with a DNS tree walk over
 *	_dmarc records. Both are here; the DMARC check runs both and says
 *	which one decided when they disagree.
 *
 *	The PSL follows the algorithm of publicsuffix.org: exception rules
 *	("!www.ck") win, otherwise the matching rule with the most labels,
 *	wildcards ("*.ck") included, and the implicit "*" rule when nothing
 *	matches, so a name under a TLD the list does not know (.test) still
 *	has one. Rules in Unicode are matched in their A-label form.
 *
 *	The tree walk is pure: it asks a caller-supplied function what each
 *	name publishes, so the DMARC module plugs in the resolver and tests
 *	plug in a table.
 * OWNERSHIP
 *	A struct pfl_psl is created by pfl_psl_parse or pfl_psl_load and
 *	freed with pfl_psl_free; the one from pfl_psl_default lives as long
 *	as the process. The names in a struct pfl_orgdomain_walk point into
 *	the domain string the walk was given.
 * THREAD SAFETY
 *	A struct pfl_psl is read-only once built and may be shared by all
 *	threads; pfl_psl_default loads the list exactly once.
 */
#ifndef PFL_ORGDOMAIN_H
#define PFL_ORGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>

/* Debian's publicsuffix package */
#define PFL_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

/* A domain name is at most 253 bytes; buffers of this size hold one. */
#define PFL_DOMAIN_SIZE 256

struct pfl_psl;

/*
 * pfl_psl_parse - rules from the text of a public_suffix_list.dat (len
 * bytes); lines it cannot use are skipped. Never NULL.
 */
struct pfl_psl *pfl_psl_parse(const char *text, size_t len);

/* pfl_psl_load - the list in a file; NULL with the reason in err (size n) */
struct pfl_psl *pfl_psl_load(const char *path, char *err, size_t n);

/* pfl_psl_free - free a list; NULLs *pp */
void pfl_psl_free(struct pfl_psl **pp);

/*
 * pfl_psl_default - the list at PFL_PSL_PATH, loaded on first use; NULL
 * when it cannot be read.
 */
const struct pfl_psl *pfl_psl_default(void);

/* pfl_psl_count - number of rules */
size_t pfl_psl_count(const struct pfl_psl *);

/*
 * pfl_psl_suffix - the public suffix of a normalized domain: a pointer
 * into domain. *listed_r (may be NULL) says whether a rule of the list
 * matched (false: the implicit "*" rule decided).
 */
const char *pfl_psl_suffix(
    const struct pfl_psl *, const char *domain, bool *listed_r);

/*
 * pfl_orgdomain_psl - the Organizational Domain of a normalized domain by
 * the list (RFC 7489 section 3.2): its public suffix plus one label, or
 * the domain itself when it is a public suffix. A pointer into domain.
 */
const char *pfl_orgdomain_psl(const struct pfl_psl *, const char *domain);

/*
 * pfl_orgdomain_normalize - a domain as DNS asks it: lower case, without
 * a trailing dot, Unicode labels (UTF-8) converted to A-labels ("xn--"),
 * each label 1..63 bytes of letters, digits, '-' or '_', 253 bytes at
 * most. Writes dst (size n); returns 0, or -1 when src is not a domain.
 */
int pfl_orgdomain_normalize(const char *src, char *dst, size_t n);

/* pfl_orgdomain_is_under - is name equal to or below ancestor? */
bool pfl_orgdomain_is_under(const char *name, const char *ancestor);

/* --- the RFC 9989 DNS tree walk ------------------------------------------- */

/* A tree walk asks at most this many names (RFC 9989 section 4.10). */
#define PFL_ORGDOMAIN_WALK_MAX 8

/* What the DMARC Policy Record lookup at one name found. */
enum pfl_orgdomain_seen {
	PFL_SEEN_NONE,   /* no record (none, or several: all discarded) */
	PFL_SEEN_RECORD, /* one record, psd=u or no psd tag */
	PFL_SEEN_PSD_N,  /* one record with psd=n */
	PFL_SEEN_PSD_Y,  /* one record with psd=y */
	PFL_SEEN_FAILED, /* the lookup failed (DNS trouble) */
};

/* pfl_orgdomain_ask_fn - what _dmarc.<name> publishes */
typedef enum pfl_orgdomain_seen (*pfl_orgdomain_ask_fn)(
    void *ctx, const char *name);

/* The outcome of a walk; every name points into the walked domain. */
struct pfl_orgdomain_walk {
	size_t n; /* names asked, the walked domain first */
	const char *name[PFL_ORGDOMAIN_WALK_MAX];
	enum pfl_orgdomain_seen seen[PFL_ORGDOMAIN_WALK_MAX];
	bool failed;     /* a lookup failed: org is unknown (NULL) */
	const char *org; /* the Organizational Domain */
	int record;      /* index of the name org was chosen by, or -1 */
	int psd;         /* index of the psd=y record, or -1 */
};

/*
 * pfl_orgdomain_walk_names - the names a walk from a normalized domain
 * asks, in order (RFC 9989 section 4.10 steps 1, 3, 4 and 7): the domain,
 * then its parent (or the domain shortened to 7 labels when it has 8 or
 * more), then one label less each time down to the top-level domain.
 * Returns their number; each is a suffix of domain.
 */
size_t pfl_orgdomain_walk_names(
    const char *domain, const char *names_r[PFL_ORGDOMAIN_WALK_MAX]);

/*
 * pfl_orgdomain_walk - walk from a normalized domain, asking ask(ctx,
 * name) for each name until a record with psd=y or psd=n stops it, and
 * choose the Organizational Domain (RFC 9989 section 4.10.2).
 */
void pfl_orgdomain_walk(const char *domain, pfl_orgdomain_ask_fn ask, void *ctx,
    struct pfl_orgdomain_walk *w_r);

#endif
