/*
 * NAME
 *	egress_state - the daemon's last egress check, and what it means
 * DESCRIPTION
 *	The monitor thread checks the reverse DNS of the egress addresses and
 *	the HELO name (egress.h) at start, after a reload and every
 *	EgressCheckInterval; the report is kept here for the messages. A
 *	problem is logged loudly once per check -- the admin must fix DNS;
 *	deferring everything would help no one, so the default action is tag
 *	-- and every message to a provider that cares gets the finding.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"
#include "config.h"
#include "ctx.h"
#include "egress.h"
#include "egress_state.h"
#include "log.h"
#include "provider.h"
#include "util.h"
#include "verdict.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pfl_egress_report report;
static bool have_report;
static time_t next_check;

/* tell - log what the report means, once per check */
static void
tell(const struct pfl_ctx *ctx, const struct pfl_egress_report *r)
{
	char sum[1024], prov[512], fix[256] = "";
	struct pfl_finding f;
	size_t len = 0;
	int p;

	pfl_egress_summary(r, sum, sizeof(sum));
	prov[0] = '\0';
	for (p = 0; p < PFL_NPROVIDERS; p++) {
		if (!pfl_egress_finding(
			r, p, ctx->cfg->on_egress_misconfigured, &f) ||
		    len >= sizeof(prov))
			continue;
		len += (size_t)snprintf(prov + len, sizeof(prov) - len,
		    "%s%s (%s)", len ? ", " : "",
		    pfl_provider_name((enum pfl_provider)p), f.reply);
		if (fix[0] == '\0')
			pfl_strlcpy(fix, f.fix, sizeof(fix));
	}
	if (prov[0] != '\0')
		pfl_log(PFL_LOG_ERR,
		    "egress check: %s -> marking mail to %s "
		    "(OnEgressMisconfigured %s); fix: %s",
		    sum, prov,
		    pfl_action_name(ctx->cfg->on_egress_misconfigured), fix);
	else
		pfl_log(
		    strstr(sum, "tempfail") ? PFL_LOG_WARNING : PFL_LOG_INFO,
		    "egress check: %s", sum);
}

/* pfl_egress_state_round - check now if it is time (or forced) */
time_t
pfl_egress_state_round(struct pfl_ctx *ctx, time_t now, bool force)
{
	const struct pfl_config *cfg = ctx->cfg;
	struct pfl_egress_report *r;
	time_t next;

	pthread_mutex_lock(&lock);
	next = next_check;
	pthread_mutex_unlock(&lock);
	if (!force && now < next)
		return next;
	if (cfg->egress_addresses.n == 0 && cfg->egress_helo == NULL)
		return now + 3600;
	r = pfl_xcalloc(1, sizeof(*r));
	pfl_egress_check(ctx->dns, (const char *const *)cfg->egress_addresses.v,
	    cfg->egress_addresses.n, cfg->egress_helo, r);
	tell(ctx, r);
	next = time(NULL) + (time_t)(cfg->egress_check_interval_ms / 1000);
	pthread_mutex_lock(&lock);
	report = *r;
	have_report = true;
	next_check = next;
	pthread_mutex_unlock(&lock);
	free(r);
	return next;
}

/* pfl_egress_state_finding - the finding for mail to provider, if any */
bool
pfl_egress_state_finding(
    const struct pfl_ctx *ctx, int provider, struct pfl_finding *f_r)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	if (have_report)
		found = pfl_egress_finding(
		    &report, provider, ctx->cfg->on_egress_misconfigured, f_r);
	pthread_mutex_unlock(&lock);
	return found;
}

/* pfl_egress_state_word - the summary's egress= value, or "" when fine */
char *
pfl_egress_state_word(char *buf, size_t n)
{
	char sum[1024];

	*buf = '\0';
	pthread_mutex_lock(&lock);
	if (have_report)
		pfl_egress_summary(&report, sum, sizeof(sum));
	else
		sum[0] = '\0';
	pthread_mutex_unlock(&lock);
	if (strncmp(sum, "egress=", 7) == 0 && strcmp(sum, "egress=ok") != 0 &&
	    strcmp(sum, "egress=none") != 0)
		pfl_strlcpy(buf, sum + 7, n);
	return buf;
}

/*
 * pfl_checks_egress_eom - the finding of the first provider of the message
 * that would refuse or throttle mail from our addresses as they are
 */
size_t
pfl_checks_egress_eom(struct pfl_checks *c, struct pfl_finding *f, size_t max)
{
	size_t i;

	c->egress_word[0] = '\0';
	for (i = 0; i < c->nproviders && max > 0; i++)
		if (pfl_egress_state_finding(
			c->ctx, (int)c->rcpts[i].match.provider, f)) {
			pfl_egress_state_word(
			    c->egress_word, sizeof(c->egress_word));
			return 1;
		}
	return 0;
}
