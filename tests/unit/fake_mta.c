/*
 * NAME
 *	fake_mta - a pretend MTA for unit tests
 */
#include <autoconfig.h>

#include <string.h>

#include "fake_mta.h"
#include "util.h"

/* f_symval - macro from the table */
static const char *
f_symval(void *ctx, const char *name)
{
	struct fake_mta *f = ctx;
	int i;

	for (i = 0; i < 16 && f->macros[i][0]; i++)
		if (strcmp(f->macros[i][0], name) == 0)
			return f->macros[i][1];
	return NULL;
}

/* f_setreply - record the reply */
static int
f_setreply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	struct fake_mta *f = ctx;

	if (f->fail_reply)
		return -1;
	pfl_strlcpy(f->rcode, rcode, sizeof(f->rcode));
	pfl_strlcpy(f->xcode, xcode ? xcode : "", sizeof(f->xcode));
	pfl_strlcpy(f->text, text ? text : "", sizeof(f->text));
	f->nreplies++;
	return 0;
}

/* f_addheader - record the header */
static int
f_addheader(void *ctx, const char *name, const char *value)
{
	struct fake_mta *f = ctx;

	if (f->fail_header)
		return -1;
	pfl_strlcpy(f->hname, name, sizeof(f->hname));
	pfl_strlcpy(f->hvalue, value, sizeof(f->hvalue));
	f->nheaders++;
	return 0;
}

/* f_quarantine - record the hold */
static int
f_quarantine(void *ctx, const char *reason)
{
	struct fake_mta *f = ctx;

	if (f->fail_quarantine)
		return -1;
	pfl_strlcpy(f->qreason, reason, sizeof(f->qreason));
	f->nquarantines++;
	return 0;
}

/* fake_mta_ops - ops table bound to f */
struct pfl_mta
fake_mta_ops(struct fake_mta *f)
{
	struct pfl_mta m = { f, f_symval, f_setreply, f_addheader,
		f_quarantine };

	return m;
}

/* fake_mta_macro - set a macro value */
void
fake_mta_macro(struct fake_mta *f, const char *name, const char *value)
{
	int i;

	for (i = 0; i < 15 && f->macros[i][0]; i++)
		if (strcmp(f->macros[i][0], name) == 0)
			break;
	f->macros[i][0] = name;
	f->macros[i][1] = value;
}
