/*
 * NAME
 *	urls 3h - the host names of the links in a message
 * DESCRIPTION
 *	pfl_urls_extract finds the links a receiver's content filter would
 *	read in a message's text: "http://" and "https://" URLs in the
 *	text/plain and text/html parts (any nesting, message/rfc822 parts
 *	too, attachments included), and in HTML the href= and src= values,
 *	scheme-relative "//host" ones and character references included.
 *	It returns their host names for the DNSBL check of URL domains
 *	(DnsblCheckUrls). Every part of the work is bounded by the limits.
 * THREAD SAFETY
 *	Calls on different messages may run at once in different threads.
 */
#ifndef PFL_URLS_H
#define PFL_URLS_H

#include <stdbool.h>
#include <stddef.h>

/* How much of a message pfl_urls_extract looks at. */
struct pfl_urls_limits {
	size_t
	    max_bytes; /* decoded text scanned at most (all parts together) */
	size_t max_parts; /* MIME parts looked at at most */
	size_t max_hosts; /* distinct hosts returned at most */
};

/* The link hosts of a message; pfl_urls_free releases them. */
struct pfl_urls {
	char **hosts;   /* distinct host names, lower case, no trailing dot,
			   in order of first appearance */
	size_t nhosts;  /* entries in hosts */
	size_t nlinks;  /* links with a usable host name, repeats included,
			   counted even past max_hosts */
	bool truncated; /* a limit cut the scan short or hosts were left out */
};

/*
 * pfl_urls_extract - the link hosts of msg (a whole RFC 5322 message,
 * headers and body, len bytes, CRLF or LF line ends) into *r, which the
 * caller releases with pfl_urls_free. A host is kept when it is a DNS
 * name of letters, digits and hyphens with at least two labels and a
 * last label that is not all digits: IP literals and names with other
 * bytes (non-ASCII ones included; "xn--" names are fine) are left out
 * and not counted in nlinks. msg is only read, never kept.
 */
void pfl_urls_extract(const char *msg, size_t len,
    const struct pfl_urls_limits *limits, struct pfl_urls *r);

/* pfl_urls_free - release the hosts and clear *r */
void pfl_urls_free(struct pfl_urls *r);

#endif
