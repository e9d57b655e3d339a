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
	PFL_DNS_OK,       /* at least one record of the type */
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
	bool nxdomain; /* NOTFOUND because the name does not exist */
	uint32_t ttl;  /* seconds the answer may be cached */
	int rrtype;   /* what was asked (1 A, 28 AAAA, 16 TXT, 15 MX, 12 PTR) */
	size_t count; /* records below (for the asked type) */
	char **txt;   /* TXT: each record's strings joined, NUL-terminated */
	size_t *txt_len;           /* TXT: byte length of each joined record */
	struct pfl_dns_addr *addr; /* A, AAAA */
	struct pfl_dns_mx *mx;     /* MX, sorted by preference */
	char **names;              /* PTR, CNAME: lower case, no trailing dot */
	unsigned char *packet;     /* the whole wire-format reply, or NULL */
	size_t packet_len;
	char why[128]; /* for TEMPFAIL/PERMFAIL: what went wrong */
};

struct pfl_dns;

/*
 * pfl_dns_new - a resolver. nameservers: NULL or "" for full recursion, or
 * a list such as "127.0.0.1@5353, ::1" to forward to. timeout_ms bounds
 * every lookup. Returns NULL with the reason in err (size n).
 */
struct pfl_dns *pfl_dns_new(
    const char *nameservers, unsigned timeout_ms, char *err, size_t n);

/* pfl_dns_free - free a resolver; NULLs *dp */
void pfl_dns_free(struct pfl_dns **dp);

/*
 * pfl_dns_query - look up name/rrtype (cached per TTL). Always returns an
 * answer (never NULL); its status says what happened.
 */
struct pfl_dns_answer *pfl_dns_query(
    struct pfl_dns *, const char *name, int rrtype);

/*
 * pfl_dns_stage_limit - from now on, this thread's lookups together may
 * wait at most ms (each still at most its own timeout); once that has
 * passed, a lookup the cache cannot answer is TEMPFAIL at once. 0 ends
 * the limit. Thread-local: set and ended by the thread that looks up.
 * Returns how many lookups the previous limit cut short or refused.
 */
unsigned pfl_dns_stage_limit(unsigned long ms);

/* pfl_dns_answer_free - free an answer; NULLs *ap */
void pfl_dns_answer_free(struct pfl_dns_answer **ap);

/* pfl_dns_status_name - "ok", "notfound", "tempfail", "permfail" */
const char *pfl_dns_status_name(enum pfl_dns_status);

/* pfl_dns_stats - lookups answered from cache and from the network */
void pfl_dns_stats(
    struct pfl_dns *, unsigned long *hits_r, unsigned long *misses_r);

/* Record types by number, as on the wire. */
enum {
	PFL_DNS_T_A = 1,
	PFL_DNS_T_CNAME = 5,
	PFL_DNS_T_SOA = 6,
	PFL_DNS_T_PTR = 12,
	PFL_DNS_T_MX = 15,
	PFL_DNS_T_TXT = 16,
	PFL_DNS_T_AAAA = 28,
};

/*
 * pfl_dns_type_code - 1 for "A" (any case), 16 for "TXT", ... or a number
 * such as "99" (1..65535); -1 when neither.
 */
int pfl_dns_type_code(const char *);
/* pfl_dns_type_name - "A", "TXT", ...; NULL for a type without a name */
const char *pfl_dns_type_name(int rrtype);

/*
 * pfl_dns_name_ok - can this name be asked: 1..253 bytes (a trailing dot
 * aside), labels of 1..63 printable bytes, no white space or backslash.
 */
bool pfl_dns_name_ok(const char *name);

/*
 * pfl_dns_reverse_name - the PTR name of an address in text form
 * ("4.3.2.1.in-addr.arpa", nibbles under "ip6.arpa") into dst (size n).
 * An IPv4-mapped IPv6 address gives the in-addr.arpa name. Returns 0, or
 * -1 when ip is not an address or n is too small.
 */
int pfl_dns_reverse_name(const char *ip, char *dst, size_t n);

/*
 * Answers are built with the functions below: the packet parser, the
 * cache and test back ends all use them, so pfl_dns_answer_free frees
 * every answer the same way. Each add copies its argument.
 */
struct pfl_dns_answer *pfl_dns_answer_new(int rrtype, enum pfl_dns_status);
void pfl_dns_answer_add_txt(struct pfl_dns_answer *, const char *, size_t);
void pfl_dns_answer_add_addr(
    struct pfl_dns_answer *, int family, const void *addr);
void pfl_dns_answer_add_mx(
    struct pfl_dns_answer *, unsigned pref, const char *host);
void pfl_dns_answer_add_name(struct pfl_dns_answer *, const char *);
/* pfl_dns_answer_copy - a deep copy, packet included */
struct pfl_dns_answer *pfl_dns_answer_copy(const struct pfl_dns_answer *);

/*
 * pfl_dns_packet_parse - read a wire-format reply (untrusted: every length
 * is checked) into an answer for rrtype: the rcode gives the status
 * (NOERROR with records OK, NOERROR without them NOTFOUND, NXDOMAIN
 * NOTFOUND with nxdomain set, anything else TEMPFAIL), the records of that
 * type in the answer section give the data, their smallest TTL (or the
 * SOA's negative TTL) the ttl. A malformed packet is TEMPFAIL with the
 * reason in why. The packet is copied into the answer. Never NULL.
 */
struct pfl_dns_answer *pfl_dns_packet_parse(
    const unsigned char *pkt, size_t len, int rrtype);

#endif
