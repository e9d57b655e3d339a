/*
 * NAME
 *	dkim 3h - DKIM: verify the signatures a message carries, predict the
 *	signature it will get
 * DESCRIPTION
 *	preflight sits after the DKIM signer, so a signed message arrives
 *	with the signer's fresh DKIM-Signature: a verifier (one per message,
 *	fed by the milter callbacks) checks every signature with libopendkim
 *	exactly as a receiver would, and tells a changed body from a changed
 *	header, a missing key from a DNS failure.
 *
 *	When the message is not signed yet, the signer's own tables
 *	(OpenDKIM KeyTable and SigningTable, named by SignerKeyTable and
 *	SignerSigningTable) say which key would sign mail from the From:
 *	address; the key it names is checked once per KeyCheckInterval
 *	against what DNS publishes (present, same key, at least 1024 bits,
 *	not in test mode, not revoked).
 *
 *	Every DNS lookup goes through our resolver (dns.h): libopendkim gets
 *	query callbacks that answer from it. A DNS failure is "key retrieval
 *	failed" (try again), never "no key".
 * OWNERSHIP
 *	struct pfl_dkim_lib is created once and shared; it borrows the
 *	resolver, which must outlive it. A verifier is malloc'd and must be
 *	freed with pfl_dkim_verify_free (it holds a libopendkim handle the
 *	arena cannot free); its results live in the message arena given to
 *	pfl_dkim_verify_new and stay valid until that arena is freed, also
 *	after pfl_dkim_verify_free. A signer (tables and key-check cache) is
 *	freed with pfl_dkim_signer_free. Prediction results are value
 *	structs owned by the caller.
 * THREAD SAFETY
 *	A struct pfl_dkim_lib and a struct pfl_dkim_signer may be shared by
 *	all threads. A verifier is used by one callback at a time.
 */
#ifndef PFL_DKIM_H
#define PFL_DKIM_H

#include <stdbool.h>
#include <stddef.h>

struct pfl_arena;
struct pfl_config;
struct pfl_dns;
struct pfl_dns_answer;

/*
 * How the DKIM code asks DNS. pfl_dkim_lib_new uses pfl_dns_query; unit
 * tests pass their own table. query must always return an answer (its
 * status says what happened); answer_free releases it.
 */
struct pfl_dkim_resolver {
	struct pfl_dns_answer *(*query)(
	    void *ctx, const char *name, int rrtype);
	void (*answer_free)(void *ctx, struct pfl_dns_answer *);
	void *ctx;
};

struct pfl_dkim_lib;

/* pfl_dkim_lib_new - the shared libopendkim handle, asking DNS through dns */
struct pfl_dkim_lib *pfl_dkim_lib_new(struct pfl_dns *dns);

/* pfl_dkim_lib_new_resolver - the same with another resolver (copied) */
struct pfl_dkim_lib *pfl_dkim_lib_new_resolver(
    const struct pfl_dkim_resolver *);

/*
 * pfl_dkim_lib_free - free the handle; NULLs *lp. The decoded keys kept
 * between messages (dkim_keycache.c) go too.
 */
void pfl_dkim_lib_free(struct pfl_dkim_lib **lp);

/*
 * The public keys libopendkim decodes are kept between messages, by
 * their exact bytes (dkim_keycache.c): a signature is still verified
 * each time, the key is not decoded again.
 */

/*
 * pfl_dkim_keycache_stats - key decodes answered from the cache, and
 * not, since the process started
 */
void pfl_dkim_keycache_stats(unsigned long *hits, unsigned long *misses);

/* pfl_dkim_keycache_clear - drop the keys kept (not the counts) */
void pfl_dkim_keycache_clear(void);

/* --- verification ---------------------------------------------------------- */

/* The outcome of one signature, as a receiver would see it. */
enum pfl_dkim_result {
	PFL_DKIM_PASS,      /* verified, key usable */
	PFL_DKIM_FAIL_BODY, /* body hash mismatch: body changed after signing */
	PFL_DKIM_FAIL_HEADER, /* signature mismatch: signed header changed */
	PFL_DKIM_NOKEY,       /* no key record (NXDOMAIN or no TXT) */
	PFL_DKIM_TEMPFAIL,    /* key retrieval failed (DNS trouble) */
	PFL_DKIM_PERMERROR,   /* bad syntax, revoked or test-mode key, ... */
};

/* One signature; all text is printable, lower case where DNS is. */
struct pfl_dkim_sig {
	enum pfl_dkim_result result;
	const char *domain;   /* d= */
	const char *selector; /* s= */
	const char
	    *algorithm; /* a=: "rsa-sha256", "rsa-sha1", "ed25519-sha256" */
	unsigned bits;  /* key size, 0 when no key was loaded */
	bool testkey;   /* key has t=y: receivers do not count it */
	bool revoked;   /* key record has an empty p= */
	const char **headers; /* h=: signed header names, lower case */
	size_t nheaders;
	const char *why; /* detail for anything but a pass, else "" */
};

struct pfl_dkim_verify;

/*
 * pfl_dkim_verify_new - a verifier for one message. Results are allocated
 * in arena; id names the message in library diagnostics.
 */
struct pfl_dkim_verify *pfl_dkim_verify_new(
    struct pfl_dkim_lib *, struct pfl_arena *arena, const char *id);

/*
 * pfl_dkim_verify_header - one header field as the milter gives it: name,
 * and value. With leadspc (the MTA granted SMFIP_HDR_LEADSPC) the value is
 * everything after the colon, white space included, and the field is
 * rebuilt as "name:value", the bytes as written. Without, the MTA took one
 * space after the colon and one is put back, as OpenDKIM does: a field
 * written without it ("Subject:x") then fails a simple signature that a
 * receiver passes. Bare LF line ends become CRLF (the wire form).
 */
void pfl_dkim_verify_header(struct pfl_dkim_verify *, const char *name,
    const char *value, bool leadspc);

/* pfl_dkim_verify_field - one whole header field "Name: value" of len bytes */
void pfl_dkim_verify_field(
    struct pfl_dkim_verify *, const char *field, size_t len);

/*
 * pfl_dkim_verify_eoh - end of headers; the keys are fetched here. Returns
 * the number of DKIM-Signature fields seen (0: the body is not needed).
 */
size_t pfl_dkim_verify_eoh(struct pfl_dkim_verify *);

/* pfl_dkim_verify_body - a body chunk; bare LF line ends become CRLF */
void pfl_dkim_verify_body(
    struct pfl_dkim_verify *, const unsigned char *buf, size_t len);

/* pfl_dkim_verify_eom - end of message: decide every signature */
void pfl_dkim_verify_eom(struct pfl_dkim_verify *);

/*
 * pfl_dkim_verify_results - the signatures in header order (after
 * pfl_dkim_verify_eom; none before). The array lives in the arena.
 */
size_t pfl_dkim_verify_results(
    const struct pfl_dkim_verify *, const struct pfl_dkim_sig **sigs_r);

/* pfl_dkim_verify_free - free the verifier (not its results); NULLs *vp */
void pfl_dkim_verify_free(struct pfl_dkim_verify **vp);

/* pfl_dkim_result_name - "pass", "fail-body", "fail-header", ... */
const char *pfl_dkim_result_name(enum pfl_dkim_result);

/* How d= must relate to the From: domain (DMARC adkim). */
enum pfl_dkim_align {
	PFL_DKIM_ALIGN_STRICT,  /* d= is the domain */
	PFL_DKIM_ALIGN_RELAXED, /* d= is the domain or below it */
};

/*
 * pfl_dkim_aligned - does d= align with domain? For relaxed alignment
 * pass the organizational domain of the From: domain (the caller owns the
 * public suffix logic): d= aligns when it is that domain or a subdomain.
 */
bool pfl_dkim_aligned(
    const char *d, const char *domain, enum pfl_dkim_align align);

/* pfl_dkim_sig_covers - does the signature's h= list name this header? */
bool pfl_dkim_sig_covers(const struct pfl_dkim_sig *, const char *header);

/*
 * pfl_dkim_covered - is header covered by a passing signature whose d=
 * aligns with domain? Returns that signature, or NULL.
 */
const struct pfl_dkim_sig *pfl_dkim_covered(const struct pfl_dkim_sig *sigs,
    size_t n, const char *header, const char *domain,
    enum pfl_dkim_align align);

/* --- the published key ------------------------------------------------------- */

/* What a key record at selector._domainkey.domain says. */
struct pfl_dkim_keyrec {
	bool revoked;  /* p= is empty */
	bool testmode; /* t= has the y flag */
	bool ed25519;  /* k=ed25519 */
	unsigned bits; /* key size (RSA modulus bits, 256 for ed25519) */
	char why[96];  /* why the record is unusable */
};

/*
 * pfl_dkim_keyrec_parse - parse a key record (len bytes, hostile input).
 * Returns 0, or -1 with the reason in r->why (bad syntax, v= not DKIM1,
 * unknown k=, p= that is not a key).
 */
int pfl_dkim_keyrec_parse(
    const char *txt, size_t len, struct pfl_dkim_keyrec *r);

/* The state of a signing key, checked against DNS. */
enum pfl_dkim_keystate {
	PFL_DKIM_KEY_OK,        /* published, matches, strong, live */
	PFL_DKIM_KEY_UNCHECKED, /* published and sound, but the private key
				 * is not readable by us: match not checked */
	PFL_DKIM_KEY_NOTFOUND,  /* no TXT record at the name */
	PFL_DKIM_KEY_MISMATCH,  /* published key is not the signing key */
	PFL_DKIM_KEY_WEAK,      /* fewer than 1024 bits */
	PFL_DKIM_KEY_TESTMODE,  /* t=y */
	PFL_DKIM_KEY_REVOKED,   /* p= empty */
	PFL_DKIM_KEY_BADRECORD, /* not a usable key record */
	PFL_DKIM_KEY_NOPRIVATE, /* the private key file does not exist */
	PFL_DKIM_KEY_TEMPFAIL,  /* DNS failure: cannot tell */
	PFL_DKIM_KEY_UNDEFINED, /* the SigningTable names a key the KeyTable
				 * lacks ("%" for a domain without one) */
};

/* pfl_dkim_keystate_name - "ok", "unchecked", "notfound", "mismatch", ... */
const char *pfl_dkim_keystate_name(enum pfl_dkim_keystate);

/*
 * pfl_dkim_key_check - check the key selector._domainkey.domain against
 * the private key in keyfile (PEM; NULL or "" when the key is not in a
 * file). Not cached. Sets *bits_r (0 when unknown) and a one-phrase fix in
 * fix (size n; "" when nothing is wrong).
 */
enum pfl_dkim_keystate pfl_dkim_key_check(struct pfl_dkim_lib *,
    const char *domain, const char *selector, const char *keyfile,
    unsigned *bits_r, char *fix, size_t n);

/* --- the signer's tables and the prediction ------------------------------- */

struct pfl_dkim_signer;

/*
 * pfl_dkim_signer_load - read the tables the config names. Returns 0 with
 * *signer_r NULL when no signer tables are configured, 0 with a signer, or
 * -1 with every problem as "FILE:LINE: message" lines in *errors_r
 * (malloc'd; the caller frees it). The daemon calls this at start and on
 * reload; a new signer starts with an empty key-check cache.
 */
int pfl_dkim_signer_load(const struct pfl_config *,
    struct pfl_dkim_signer **signer_r, char **errors_r);

/* pfl_dkim_signer_free - free tables and cache; NULLs *sp */
void pfl_dkim_signer_free(struct pfl_dkim_signer **sp);

/* The key the SigningTable picks for an address. */
struct pfl_dkim_signkey {
	const char *keyname;  /* KeyTable name (borrowed from the signer) */
	const char *selector; /* s= (borrowed) */
	char domain[256];     /* d=, with "%" made the From: domain */
	char keyfile[768];    /* private key path ("%" replaced), or "" */
	const char *file;     /* SigningTable file and line that matched */
	int line;
};

/*
 * pfl_dkim_signer_match - the key that would sign mail whose From: address
 * is addr ("user@domain", with or without <>), following OpenDKIM: a
 * refile table tries its patterns in file order against user@domain; a
 * plain table tries user@domain, domain, user@.parent and .parent for
 * each parent domain, user@*, then *. False when nothing matches.
 */
bool pfl_dkim_signer_match(const struct pfl_dkim_signer *, const char *addr,
    struct pfl_dkim_signkey *key_r);

/* pfl_dkim_signer_signs - would the signer put this header name in h=? */
bool pfl_dkim_signer_signs(const struct pfl_dkim_signer *, const char *header);

/* What the signer would do with a message. */
enum pfl_dkim_predict {
	PFL_DKIM_WOULD_SIGN,     /* signed with a good key */
	PFL_DKIM_WOULD_NOT_SIGN, /* no SigningTable match */
	PFL_DKIM_KEY_PROBLEM,    /* signed, but receivers will not pass it */
	PFL_DKIM_KEY_UNKNOWN, /* signed; the key could not be checked (DNS) */
};

struct pfl_dkim_prediction {
	enum pfl_dkim_predict result;
	enum pfl_dkim_keystate key; /* when a key was picked */
	char domain[256];           /* d= */
	char selector[256];         /* s= */
	unsigned bits;              /* published key size, 0 if unknown */
	bool list_unsubscribe;      /* List-Unsubscribe would be signed */
	bool list_unsubscribe_post; /* List-Unsubscribe-Post would be */
	char fix[256]; /* one phrase saying what to change, or "" */
};

/*
 * pfl_dkim_predict - what the signer would do with mail from addr. Key
 * checks are cached per key for the configured KeyCheckInterval (DNS
 * failures for a minute at most).
 */
void pfl_dkim_predict(struct pfl_dkim_signer *, struct pfl_dkim_lib *,
    const char *addr, struct pfl_dkim_prediction *p_r);

/* pfl_dkim_predict_name - "sign", "nosign", "keyproblem", "keyunknown" */
const char *pfl_dkim_predict_name(enum pfl_dkim_predict);

#endif
