/*
 * NAME
 *	cidr - lists of IPv4/IPv6 networks
 * DESCRIPTION
 *	Addresses are kept as 16 bytes; IPv4 uses the IPv4-mapped form
 *	(::ffff:a.b.c.d) so one comparison serves both families, and an
 *	IPv4-mapped client address matches an IPv4 network.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "util.h"

struct net {
	unsigned char addr[16];
	unsigned prefix; /* in bits of the 128-bit form */
};

struct pfl_cidr_list {
	struct net *nets;
	size_t count;
};

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* to_16 - text address to the 16-byte form; 0 or -1 */
static int
to_16(const char *text, unsigned char out[16], bool *is_v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		*is_v4 = true;
		return 0;
	}
	*is_v4 = false;
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/* mask_net - clear the host bits */
static void
mask_net(struct net *n)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned bits = n->prefix > i * 8 ? n->prefix - i * 8 : 0;

		if (bits < 8)
			n->addr[i] &= (unsigned char)(0xff00 >> bits);
	}
}

/* parse_one - one "addr[/len]" entry */
static int
parse_one(const char *tok, struct net *n, char *err, size_t errlen)
{
	char buf[64], *slash, *end;
	bool is_v4;
	long len;

	if (pfl_strlcpy(buf, tok, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "network too long: \"%.40s...\"", tok);
		return -1;
	}
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (to_16(buf, n->addr, &is_v4) < 0) {
		snprintf(err, errlen, "not an IP address: \"%s\"", buf);
		return -1;
	}
	n->prefix = 128;
	if (slash) {
		errno = 0;
		len = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno || len < 0 ||
		    len > (is_v4 ? 32 : 128)) {
			snprintf(
			    err, errlen, "bad prefix length in \"%s\"", tok);
			return -1;
		}
		n->prefix = (unsigned)len + (is_v4 ? 96 : 0);
	}
	mask_net(n);
	return 0;
}

/* pfl_cidr_list_parse - parse a list of networks */
struct pfl_cidr_list *
pfl_cidr_list_parse(const char *text, char *err, size_t errlen)
{
	struct pfl_cidr_list *l = pfl_xcalloc(1, sizeof(*l));
	char *copy = pfl_xstrdup(text), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		l->nets =
		    pfl_xrealloc(l->nets, (l->count + 1) * sizeof(*l->nets));
		if (parse_one(tok, &l->nets[l->count], err, errlen) < 0) {
			free(copy);
			pfl_cidr_list_free(l);
			return NULL;
		}
		l->count++;
	}
	free(copy);
	return l;
}

/* pfl_cidr_list_free - free a list */
void
pfl_cidr_list_free(struct pfl_cidr_list *l)
{
	if (l == NULL)
		return;
	free(l->nets);
	free(l);
}

/* match16 - is the 16-byte address in one of the networks? */
static bool
match16(const struct pfl_cidr_list *l, const unsigned char a[16])
{
	size_t i;

	for (i = 0; l != NULL && i < l->count; i++) {
		struct net probe;

		memcpy(probe.addr, a, 16);
		probe.prefix = l->nets[i].prefix;
		mask_net(&probe);
		if (memcmp(probe.addr, l->nets[i].addr, 16) == 0)
			return true;
	}
	return false;
}

/* pfl_cidr_list_match - is the address (text form) in the list? */
bool
pfl_cidr_list_match(const struct pfl_cidr_list *l, const char *addr)
{
	unsigned char a[16];
	bool is_v4;

	if (addr == NULL)
		return false;
	/* Postfix may send IPv6 client addresses as "IPv6:..." */
	if (strncasecmp(addr, "ipv6:", 5) == 0)
		addr += 5;
	if (to_16(addr, a, &is_v4) < 0)
		return false;
	return match16(l, a);
}

/* pfl_cidr_list_match_sa - is the socket address in the list? */
bool
pfl_cidr_list_match_sa(const struct pfl_cidr_list *l, const struct sockaddr *sa)
{
	unsigned char a[16];

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(a, &s6->sin6_addr, 16);
	} else
		return false;
	return match16(l, a);
}

/* pfl_cidr_list_count - number of networks in the list */
size_t
pfl_cidr_list_count(const struct pfl_cidr_list *l)
{
	return l ? l->count : 0;
}
