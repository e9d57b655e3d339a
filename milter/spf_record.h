/*
 * NAME
 *	spf_record 3h - SPF record syntax and macros (private to spf)
 * DESCRIPTION
 *	pfl_spf_record_parse checks a whole record against the grammar of
 *	RFC 7208 (sections 4.6.1, 5, 6, 7) before anything is evaluated:
 *	any syntax error anywhere makes the record unusable (permerror).
 *	Domain-specs are kept unexpanded; pfl_spf_macro_expand expands
 *	them at evaluation time against a struct pfl_spf_macro_env.
 * OWNERSHIP
 *	A parsed record owns all its strings; free it with
 *	pfl_spf_record_free. Expansions are malloc'ed for the caller.
 */
#ifndef PFL_SPF_RECORD_H
#define PFL_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define PFL_SPF_MACRO_MAX 4096 /* longest expansion we produce */

enum pfl_spf_mech {
	PFL_SPF_M_ALL,
	PFL_SPF_M_INCLUDE,
	PFL_SPF_M_A,
	PFL_SPF_M_MX,
	PFL_SPF_M_PTR,
	PFL_SPF_M_IP4,
	PFL_SPF_M_IP6,
	PFL_SPF_M_EXISTS,
};

struct pfl_spf_term {
	char qualifier; /* '+', '-', '~' or '?' */
	enum pfl_spf_mech mech;
	char *domain;          /* domain-spec as written, or NULL */
	unsigned cidr4, cidr6; /* prefix lengths; 32 and 128 by default */
	unsigned char net[16]; /* ip4 (first 4 bytes) or ip6 network */
	char *text;            /* the term as written */
};

struct pfl_spf_record {
	struct pfl_spf_term *terms; /* directives, in order */
	size_t count;
	char *redirect; /* domain-spec of redirect=, or NULL */
	char *exp;      /* domain-spec of exp=, or NULL */
};

/*
 * pfl_spf_record_is_spf - does the text start an SPF record ("v=spf1",
 * any case, then a space or the end)?
 */
bool pfl_spf_record_is_spf(const char *text, size_t len);

/*
 * pfl_spf_record_parse - parse a whole record (text of len bytes, which
 * must start with v=spf1). Returns 0 and *rec_r, or -1 with the first
 * syntax error in err (size n).
 */
int pfl_spf_record_parse(const char *text, size_t len,
    struct pfl_spf_record **rec_r, char *err, size_t n);

/* pfl_spf_record_free - free a record; NULLs *rp */
void pfl_spf_record_free(struct pfl_spf_record **rp);

/*
 * pfl_spf_domain_spec_ok - is s (len bytes) a domain-spec: valid macros
 * (no c, r, t) and an end that is a macro or "." toplabel ["."]?
 */
bool pfl_spf_domain_spec_ok(const char *s, size_t len, char *err, size_t n);

/* What the macro letters stand for during one evaluation. */
struct pfl_spf_macro_env {
	const char *sender;        /* s: local-part@domain */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d: the current domain */
	const char *helo;          /* h */
	const char *ip_text;       /* c: the address as usually written */
	const unsigned char *ip;   /* i: 4 or 16 bytes */
	bool ip_v4;                /* v: "in-addr" or "ip6" */
	const char *receiver;      /* r */
	time_t now;                /* t */
	/* p: the validated name of ip for domain; called only when used */
	const char *(*validated)(void *arg, const char *domain);
	void *arg;
};

/*
 * pfl_spf_macro_expand - expand the macro-string s (len bytes). exp_text
 * allows c, r, t and spaces (explanation text). With env NULL only the
 * syntax is checked and *out_r is left alone. Returns 0 with a malloc'ed
 * *out_r, or -1 and the reason in err (size n): a syntax error, or an
 * expansion longer than PFL_SPF_MACRO_MAX.
 */
int pfl_spf_macro_expand(const struct pfl_spf_macro_env *env, const char *s,
    size_t len, bool exp_text, char **out_r, char *err, size_t n);

/*
 * pfl_spf_domain_fit - make an expanded domain a query name in place:
 * drop a trailing dot, then leading labels until at most 253 bytes
 * remain (RFC 7208 7.3). Returns s, or NULL when nothing would be left.
 */
char *pfl_spf_domain_fit(char *s);

#endif
