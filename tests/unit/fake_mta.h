/*
 * NAME
 *	fake_mta 3h - a pretend MTA for unit tests
 * DESCRIPTION
 *	Implements struct pfl_mta by recording what was asked: the reply,
 *	the headers added, the quarantine reason. Macros come from a small
 *	table the test fills. Calls can be made to fail.
 */
#ifndef FAKE_MTA_H
#define FAKE_MTA_H

#include <stdbool.h>

#include "action.h"

struct fake_mta {
	const char *macros[16][2]; /* name, value */
	char rcode[8], xcode[16], text[512];
	int nreplies;
	char hname[64], hvalue[1024];
	int nheaders;
	char qreason[512];
	int nquarantines;
	bool fail_quarantine, fail_reply, fail_header;
};

/* fake_mta_ops - ops table bound to f (zeroed by the caller) */
struct pfl_mta fake_mta_ops(struct fake_mta *f);

/* fake_mta_macro - set a macro value */
void fake_mta_macro(struct fake_mta *f, const char *name, const char *value);

#endif
