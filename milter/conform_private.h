/*
 * NAME
 *	conform_private 3h - what the conform files share
 * DESCRIPTION
 *	conform.c keeps the rules and turns them into findings,
 *	conform_field.c looks at each field as it arrives, conform_unsub.c
 *	judges one-click unsubscribe. A rule keeps its first case with
 *	pfl_conform_note; pfl_conform_emit turns kept cases into findings.
 */
#ifndef PFL_CONFORM_PRIVATE_H
#define PFL_CONFORM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "conform.h"
#include "rfc5322.h"

#define PFL_CONFORM_SNIP 40 /* untrusted text quoted in a reason */

/* The rules, in the order of the PFL_CONFORM_* bits. */
enum pfl_conform_rule {
	R_FROM,
	R_MSGID,
	R_DATE,
	R_DUP,
	R_FIELD,
	R_ENCWORD,
	R_8BIT,
	R_SIZE,
	R_UNSUB,
	R_UNSUB_POST,
	R_UNSUB_SIGN,
	R_N
};

/* Fields RFC 5322 3.6 allows once, by their index in pfl_conform_single. */
enum {
	S_DATE,
	S_FROM,
	S_SENDER,
	S_TO,
	S_CC,
	S_BCC,
	S_SUBJECT,
	S_MSGID,
	S_REPLY_TO,
	S_IN_REPLY_TO,
	S_REFERENCES,
	S_N
};
extern const char *const pfl_conform_single[S_N];

struct pfl_conform {
	struct pfl_arena *arena;       /* borrowed: where all this lives */
	struct pfl_conform_opts opts;  /* copied */
	unsigned found;                /* rules that gave findings */
	char *why[R_N];                /* each rule's first case, or NULL */
	const char *fix[R_N];          /* ... and what to change */
	unsigned nsingle[S_N];         /* how often each field was seen */
	int dup;                       /* first field of single[] seen twice */
	size_t nfields, bytes;         /* fields, octets of the section */
	struct pfl_rfc5322_addrs from; /* the first From: */
	const char *from_err;          /* why it does not parse, or NULL */
	char from_snip[PFL_CONFORM_SNIP + 1]; /* its start, printable */
	char *unsub, *unsub_post; /* first List-Unsubscribe(-Post) */
	bool bulk_marked;         /* Precedence: bulk/list, List-Id: */
};

/* pfl_conform_snip - s[0..len) cut, ends trimmed, printable, into dst */
char *pfl_conform_snip(
    char dst[PFL_CONFORM_SNIP + 1], const char *s, size_t len);

/* pfl_conform_note - keep the first case of rule r, with what to change */
void pfl_conform_note(struct pfl_conform *, enum pfl_conform_rule r,
    const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* pfl_conform_emit - findings of the rules lo..hi-1 into f (room for max) */
size_t pfl_conform_emit(struct pfl_conform *, enum pfl_conform_rule lo,
    enum pfl_conform_rule hi, struct pfl_finding *f, size_t max);

#endif
