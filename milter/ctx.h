/*
 * NAME
 *	ctx 3h - the run-time context: a config snapshot and what it built
 * DESCRIPTION
 *	A context is made from one config snapshot: the resolver (Nameservers,
 *	DnsTimeout), the shared libopendkim handle, the signer's tables
 *	(SignerKeyTable, SignerSigningTable) and the provider rules. Like the
 *	snapshot it is immutable and refcounted: a connection pins the context
 *	current at connect, a reload builds a whole new one and swaps it in
 *	only if everything in it loaded.
 * THREAD SAFETY
 *	All functions may be called from any thread; the objects a context
 *	holds are themselves thread-safe.
 */
#ifndef PFL_CTX_H
#define PFL_CTX_H

#include <pthread.h>
#include <stddef.h>

struct pfl_config;
struct pfl_dns;
struct pfl_dkim_lib;
struct pfl_dkim_signer;
struct pfl_provider_map;
struct pfl_budget_set;
struct pfl_dnsbl_set;
struct pfl_store;

struct pfl_ctx {
	struct pfl_config *cfg;             /* the snapshot (a reference) */
	struct pfl_dns *dns;                /* the one resolver */
	struct pfl_dkim_lib *dkim;          /* libopendkim, asking dns */
	struct pfl_dkim_signer *signer;     /* signer tables, or NULL */
	struct pfl_provider_map *providers; /* recognition and rules */
	struct pfl_budget_set *budgets;     /* rate budgets (maybe none) */
	struct pfl_dnsbl_set *dnsbl;        /* DNS blocklists (maybe none) */
	/* private */
	struct pfl_store *store; /* opened at first use: see pfl_ctx_store */
	pthread_mutex_t store_lock;
	int refs;
};

/*
 * pfl_ctx_new - build a context; takes ownership of the caller's reference
 * on cfg. Returns NULL with every problem as "FILE:LINE: message" lines in
 * *errors_r (malloc'd; the caller frees it).
 */
struct pfl_ctx *pfl_ctx_new(struct pfl_config *cfg, char **errors_r);

/*
 * pfl_ctx_load - read a config file and build its context: what the
 * daemon does at start and on reload, and what `-n` and `preflight
 * config-check` check. Errors as for pfl_ctx_new.
 */
struct pfl_ctx *pfl_ctx_load(const char *path, char **errors_r);

/*
 * pfl_ctx_store - the counter store (StateStore), opened at first use:
 * after the daemon has forked and dropped privileges, which LMDB needs.
 * NULL with the reason in err (size n) when it cannot be opened; the
 * next call tries again.
 */
struct pfl_store *pfl_ctx_store(struct pfl_ctx *, char *err, size_t n);

/* pfl_ctx_ref - take another reference; returns its argument */
struct pfl_ctx *pfl_ctx_ref(struct pfl_ctx *);

/* pfl_ctx_unref - drop a reference; frees on the last (NULL is fine) */
void pfl_ctx_unref(struct pfl_ctx *);

/* pfl_ctx_install - make ctx current, taking over the caller's reference */
void pfl_ctx_install(struct pfl_ctx *);

/* pfl_ctx_current - the current context with a new reference, or NULL */
struct pfl_ctx *pfl_ctx_current(void);

#endif
