/*
 * NAME
 *	dkim_private 3h - what the DKIM files share
 * DESCRIPTION
 *	The DKIM module is split by concern: dkim.c (the shared libopendkim
 *	handle and its DNS callbacks), dkim_verify.c (signatures a message
 *	carries), dkim_key.c (published keys), dkim_signer.c (the signer's
 *	tables and the prediction). Only they include this header.
 */
#ifndef PFL_DKIM_PRIVATE_H
#define PFL_DKIM_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <opendkim/dkim.h>

#include "dkim.h"

struct pfl_dkim_lib {
	DKIM_LIB *lib;                /* shared by all threads */
	struct pfl_dkim_resolver res; /* every lookup goes here */
};

/* One KeyTable entry: "name domain:selector:keydata". */
struct pfl_dkim_keyent {
	char *name;
	char *domain; /* may be "%": the From: domain */
	char *selector;
	char *keydata; /* a path (/, ./, ../) or the key itself */
	int line;
};

/* One SigningTable entry: "pattern keyname[:signer]". */
struct pfl_dkim_sigent {
	char *pattern; /* refile: '*' wildcards; else a literal key */
	char *keyname; /* may be "%": the From: domain */
	int line;
};

/* One cached key check. */
struct pfl_dkim_cached {
	char *id;           /* domain, selector and key file */
	long long until_ms; /* recheck after this (monotonic) */
	enum pfl_dkim_keystate state;
	unsigned bits;
	char fix[256];
};

struct pfl_dkim_signer {
	char *keyfile; /* KeyTable file name */
	char *sigfile; /* SigningTable file name */
	bool refile;   /* SigningTable holds wildcard patterns */
	struct pfl_dkim_keyent *keys;
	size_t nkeys;
	struct pfl_dkim_sigent *sigs;
	size_t nsigs;
	char **signhdrs; /* lower-case names the signer puts in h= */
	size_t nsignhdrs;
	unsigned long interval_ms; /* KeyCheckInterval */
	pthread_mutex_t lock;      /* guards the cache */
	struct pfl_dkim_cached *cache;
	size_t ncache;
};

/* pfl_dkim_signhdrs_setup - the signed-header list from SignerSignHeaders */
void pfl_dkim_signhdrs_setup(
    struct pfl_dkim_signer *, char *const *words, size_t n);

/* pfl_dkim_cache_free - forget every cached key check */
void pfl_dkim_cache_free(struct pfl_dkim_signer *);

/* pfl_dkim_crlf - copy src (len bytes) to a growing buffer, LF -> CRLF */
size_t pfl_dkim_crlf(char **bufp, size_t *capp, size_t at, const char *src,
    size_t len, bool *cr);

#endif
