/*
 * NAME
 *	dns 3h - the one resolver (libunbound) and its answers
 * DESCRIPTION
 *	Every DNS lookup preflight makes goes through here: SPF (through a
 *	libspf2 DNS layer), DKIM keys (through libopendkim's query
 *	callbacks), the _dmarc record, MX, PTR, DNSBLs. The resolver does
 *	full recursion by default, or forwards to Nameservers (such as
 *	"127.0.0.1@5353"); special-use names (.test) are made resolvable
 *	when forwarding. Every lookup ends within the configured timeout.
 *	"Not found" and "try again" are different results: a failed lookup
 *	is PFL_DNS_TEMPFAIL, never "no record".
 * OWNERSHIP
 *	An answer is owned by the caller and freed with pfl_dns_answer_free.
 * THREAD SAFETY
 *	One struct pfl_dns may be shared by all threads.
 */
#ifndef PFL_DNS_H
#define PFL_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pfl_dns_status {
	PFL_DNS_OK,	  /* at least one record of the type */
	PFL_DNS_NOTFOUND, /* NXDOMAIN or no record of the type (NODATA) */
	PFL_DNS_TEMPFAIL, /* SERVFAIL, timeout, no server: try again later */
	PFL_DNS_PERMFAIL, /* a name that cannot be asked (too long, bad label) */
};

/* One MX record. */
struct pfl_dns_mx {
	unsigned pref;
	char *host; /* lower case, no trailing dot */
};

/* One address record (A or AAAA). */
struct pfl_dns_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
};

struct pfl_dns_answer {
	enum pfl_dns_status status;
	bool nxdomain;	   /* NOTFOUND because the name does not exist */
	uint32_t ttl;	   /* seconds the answer may be cached */
	int rrtype;	   /* what was asked (1 A, 28 AAAA, 16 TXT, 15 MX, 12 PTR) */
	size_t count;	   /* records below (for the asked type) */
	char **txt;	   /* TXT: each record's strings joined, NUL-terminated */
	size_t *txt_len;   /* TXT: byte length of each joined record */
	struct pfl_dns_addr *addr; /* A, AAAA */
	struct pfl_dns_mx *mx;	   /* MX, sorted by preference */
	char **names;		   /* PTR, CNAME: lower case, no trailing dot */
	unsigned char *packet;	   /* the whole wire-format reply, or NULL */
	size_t packet_len;
	char why[128]; /* for TEMPFAIL/PERMFAIL: what went wrong */
};

struct pfl_dns;

/*
 * pfl_dns_new - a resolver. nameservers: NULL or "" for full recursion, or
 * a list such as "127.0.0.1@5353, ::1" to forward to. timeout_ms bounds
 * every lookup. Returns NULL with the reason in err (size n).
 */
struct pfl_dns *pfl_dns_new(const char *nameservers, unsigned timeout_ms,
    char *err, size_t n);

/* pfl_dns_free - free a resolver; NULLs *dp */
void pfl_dns_free(struct pfl_dns **dp);

/*
 * pfl_dns_query - look up name/rrtype (cached per TTL). Always returns an
 * answer (never NULL); its status says what happened.
 */
struct pfl_dns_answer *pfl_dns_query(struct pfl_dns *, const char *name,
    int rrtype);

/* pfl_dns_answer_free - free an answer; NULLs *ap */
void pfl_dns_answer_free(struct pfl_dns_answer **ap);

/* pfl_dns_status_name - "ok", "notfound", "tempfail", "permfail" */
const char *pfl_dns_status_name(enum pfl_dns_status);

/* pfl_dns_stats - lookups answered from cache and from the network */
void pfl_dns_stats(struct pfl_dns *, unsigned long *hits_r,
    unsigned long *misses_r);

#endif
