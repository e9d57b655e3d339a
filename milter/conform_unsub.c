/*
 * NAME
 *	conform_unsub - RFC 8058 one-click unsubscribe of bulk mail
 * DESCRIPTION
 *	Bulk senders to Gmail must offer one-click unsubscribe: a
 *	List-Unsubscribe: holding an https URI, List-Unsubscribe-Post:
 *	List-Unsubscribe=One-Click, both covered by the DKIM signature
 *	(RECEIVERS.md). A mailto: URI alone does not do.
 */
#include <autoconfig.h>

#include <string.h>
#include <strings.h>

#include "conform_private.h"
#include "util.h"

/* one_click - "List-Unsubscribe=One-Click" (key in any case), trimmed */
static bool
one_click(const char *v)
{
	static const char key[] = "List-Unsubscribe=";
	size_t len = strlen(v);

	while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL)
		len--;
	while (len > 0 && strchr(" \t\r\n", *v) != NULL)
		v++, len--;
	return len == sizeof(key) - 1 + 9 &&
	    strncasecmp(v, key, sizeof(key) - 1) == 0 &&
	    memcmp(v + sizeof(key) - 1, "One-Click", 9) == 0;
}

/* has_https - does a List-Unsubscribe value hold a <https://...> URI? */
static bool
has_https(const char *v)
{
	const char *p, *q;

	for (p = strchr(v, '<'); p != NULL; p = strchr(q, '<')) {
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if ((q = strchr(p, '>')) == NULL)
			return false;
		if (q - p > 8 && strncasecmp(p, "https://", 8) == 0)
			return true;
	}
	return false;
}

/* is_signed - is name among signed[0..n)? */
static bool
is_signed(const char *name, const char *const *signed_headers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (signed_headers[i] != NULL &&
		    pfl_strcaseeq(signed_headers[i], name))
			return true;
	return false;
}

/* unsub_signed - the present one-click fields are covered by DKIM */
static void
unsub_signed(struct pfl_conform *c, const char *const *signed_headers, size_t n)
{
	static const char fix[] = "have DKIM sign List-Unsubscribe and "
				  "List-Unsubscribe-Post (OpenDKIM: "
				  "SignHeaders)";

	if (c->unsub == NULL && c->unsub_post == NULL)
		return;
	if (signed_headers == NULL)
		pfl_conform_note(c, R_UNSUB_SIGN, fix,
		    "no DKIM signature covers the one-click unsubscribe "
		    "fields (RFC 8058)");
	else if (c->unsub != NULL &&
	    !is_signed("List-Unsubscribe", signed_headers, n))
		pfl_conform_note(c, R_UNSUB_SIGN, fix,
		    "the DKIM signature does not cover List-Unsubscribe: "
		    "(RFC 8058)");
	else if (c->unsub_post != NULL &&
	    !is_signed("List-Unsubscribe-Post", signed_headers, n))
		pfl_conform_note(c, R_UNSUB_SIGN, fix,
		    "the DKIM signature does not cover List-Unsubscribe-Post: "
		    "(RFC 8058)");
}

/* pfl_conform_unsubscribe - RFC 8058 one-click unsubscribe of bulk mail */
size_t
pfl_conform_unsubscribe(struct pfl_conform *c,
    const char *const *signed_headers, size_t nsigned, struct pfl_finding *f,
    size_t max)
{
	static const char fix[] = "add List-Unsubscribe: <https://...> with "
				  "List-Unsubscribe-Post: "
				  "List-Unsubscribe=One-Click";
	char s[PFL_CONFORM_SNIP + 1];

	if (c->unsub == NULL)
		pfl_conform_note(c, R_UNSUB, fix,
		    "bulk mail without a List-Unsubscribe: header (RFC 8058)");
	else if (!has_https(c->unsub))
		pfl_conform_note(c, R_UNSUB, fix,
		    "List-Unsubscribe: %s has no https URI for one-click "
		    "unsubscribe (RFC 8058)",
		    pfl_conform_snip(s, c->unsub, strlen(c->unsub)));
	if (c->unsub_post == NULL)
		pfl_conform_note(c, R_UNSUB_POST, fix,
		    "bulk mail without a List-Unsubscribe-Post: header (RFC "
		    "8058)");
	else if (!one_click(c->unsub_post))
		pfl_conform_note(c, R_UNSUB_POST, fix,
		    "List-Unsubscribe-Post: %s is not "
		    "List-Unsubscribe=One-Click (RFC 8058)",
		    pfl_conform_snip(s, c->unsub_post, strlen(c->unsub_post)));
	unsub_signed(c, signed_headers, nsigned);
	return pfl_conform_emit(c, R_UNSUB, R_N, f, max);
}
