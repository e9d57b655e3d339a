/*
 * NAME
 *	ctx - the run-time context: a config snapshot and what it built
 * DESCRIPTION
 *	Building a context does no DNS: the resolver starts its work at the
 *	first lookup (after the daemon has forked), and DKIM keys are checked
 *	when a message first needs them.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctx.h"
#include "dkim.h"
#include "dns.h"
#include "dnsbl.h"
#include "errors.h"
#include "provider.h"
#include "budget.h"
#include "store.h"
#include "util.h"

/* pfl_ctx_new - build a context from a snapshot */
struct pfl_ctx *
pfl_ctx_new(struct pfl_config *cfg, char **errors_r)
{
	struct pfl_ctx *c = pfl_xcalloc(1, sizeof(*c));
	struct pfl_errors e = { 0 };
	char err[256], *more = NULL;

	c->refs = 1;
	c->cfg = cfg;
	c->dns = pfl_dns_new(
	    cfg->nameservers, (unsigned)cfg->dns_timeout_ms, err, sizeof(err));
	if (c->dns == NULL)
		pfl_errors_add(&e, cfg->path, 0, "Nameservers: %s", err);
	else
		c->dkim = pfl_dkim_lib_new(c->dns);
	if (pfl_dkim_signer_load(cfg, &c->signer, &more) < 0)
		pfl_errors_append(&e, more);
	if ((c->providers = pfl_provider_map_new(cfg, &more)) == NULL)
		pfl_errors_append(&e, more);
	if ((c->budgets = pfl_budget_set_new(cfg, &more)) == NULL)
		pfl_errors_append(&e, more);
	if ((c->dnsbl = pfl_dnsbl_set_new(cfg, c->dns, &more)) == NULL)
		pfl_errors_append(&e, more);
	pthread_mutex_init(&c->store_lock, NULL);
	if ((*errors_r = pfl_errors_take(&e)) != NULL) {
		pfl_ctx_unref(c);
		return NULL;
	}
	return c;
}

/* pfl_ctx_load - read a config file and build its context */
struct pfl_ctx *
pfl_ctx_load(const char *path, char **errors_r)
{
	struct pfl_config *cfg = pfl_config_load(path, errors_r);

	return cfg ? pfl_ctx_new(cfg, errors_r) : NULL;
}

/* pfl_ctx_store - the counter store, opened at first use */
struct pfl_store *
pfl_ctx_store(struct pfl_ctx *c, char *err, size_t n)
{
	struct pfl_store *st;

	pthread_mutex_lock(&c->store_lock);
	if (c->store == NULL)
		c->store = pfl_store_open(
		    c->cfg->state_store, PFL_STORE_TIMEOUT_MS, err, n);
	st = c->store;
	pthread_mutex_unlock(&c->store_lock);
	return st;
}

/* pfl_ctx_ref - take another reference */
struct pfl_ctx *
pfl_ctx_ref(struct pfl_ctx *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

/* pfl_ctx_unref - drop a reference; frees on the last */
void
pfl_ctx_unref(struct pfl_ctx *c)
{
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	pfl_store_close(&c->store);
	pthread_mutex_destroy(&c->store_lock);
	pfl_dnsbl_set_free(&c->dnsbl);
	pfl_budget_set_free(&c->budgets);
	pfl_provider_map_free(&c->providers);
	pfl_dkim_signer_free(&c->signer);
	pfl_dkim_lib_free(&c->dkim);
	pfl_dns_free(&c->dns);
	pfl_config_unref(c->cfg);
	free(c);
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pfl_ctx *current;

/* pfl_ctx_install - make ctx current */
void
pfl_ctx_install(struct pfl_ctx *c)
{
	struct pfl_ctx *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = c;
	pthread_mutex_unlock(&current_lock);
	pfl_ctx_unref(old);
}

/* pfl_ctx_current - the current context with a new reference */
struct pfl_ctx *
pfl_ctx_current(void)
{
	struct pfl_ctx *c;

	pthread_mutex_lock(&current_lock);
	c = current ? pfl_ctx_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return c;
}
