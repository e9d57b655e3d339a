/*
 * NAME
 *	dns_answer - building, copying and freeing DNS answers; names
 * DESCRIPTION
 *	One allocation discipline for every answer, whoever made it (the
 *	packet parser, the cache, a test back end): each array grows by
 *	one element per record and every string is a separate allocation,
 *	so pfl_dns_answer_free can free any answer.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "util.h"

static const struct {
	int code;
	const char *name;
} types[] = {
	{ PFL_DNS_T_A, "A" },
	{ PFL_DNS_T_CNAME, "CNAME" },
	{ PFL_DNS_T_SOA, "SOA" },
	{ PFL_DNS_T_PTR, "PTR" },
	{ PFL_DNS_T_MX, "MX" },
	{ PFL_DNS_T_TXT, "TXT" },
	{ PFL_DNS_T_AAAA, "AAAA" },
};

/* pfl_dns_status_name - "ok", "notfound", "tempfail", "permfail" */
const char *
pfl_dns_status_name(enum pfl_dns_status s)
{
	switch (s) {
	case PFL_DNS_OK:
		return "ok";
	case PFL_DNS_NOTFOUND:
		return "notfound";
	case PFL_DNS_TEMPFAIL:
		return "tempfail";
	case PFL_DNS_PERMFAIL:
		return "permfail";
	}
	return "unknown";
}

/* pfl_dns_type_code - record type by name or number; -1 when neither */
int
pfl_dns_type_code(const char *s)
{
	char *end;
	long n;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (pfl_strcaseeq(s, types[i].name))
			return types[i].code;
	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtol(s, &end, 10);
	return *end == '\0' && n > 0 && n < 65536 ? (int)n : -1;
}

/* pfl_dns_type_name - the name of a record type, or NULL */
const char *
pfl_dns_type_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].code == code)
			return types[i].name;
	return NULL;
}

/* pfl_dns_name_ok - is the name fit to be asked? */
bool
pfl_dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\' || ++label > 63)
			return false;
	}
	return label > 0;
}

/* reverse4 - "d.c.b.a.in-addr.arpa" */
static int
reverse4(const unsigned char *a, char *dst, size_t n)
{
	int w = snprintf(
	    dst, n, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);

	return w > 0 && (size_t)w < n ? 0 : -1;
}

/* reverse6 - 32 nibbles, last first, under ip6.arpa */
static int
reverse6(const unsigned char *a, char *dst, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (n < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (i = 16; i-- > 0;) {
		dst[o++] = hex[a[i] & 0xf];
		dst[o++] = '.';
		dst[o++] = hex[a[i] >> 4];
		dst[o++] = '.';
	}
	memcpy(dst + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/* pfl_dns_reverse_name - the in-addr.arpa or ip6.arpa name of an address */
int
pfl_dns_reverse_name(const char *ip, char *dst, size_t n)
{
	struct in6_addr a6;
	unsigned char a4[4];

	if (inet_pton(AF_INET, ip, a4) == 1)
		return reverse4(a4, dst, n);
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return reverse4(a6.s6_addr + 12, dst, n);
	return reverse6(a6.s6_addr, dst, n);
}

/* pfl_dns_answer_new - an empty answer */
struct pfl_dns_answer *
pfl_dns_answer_new(int rrtype, enum pfl_dns_status status)
{
	struct pfl_dns_answer *a = pfl_xcalloc(1, sizeof(*a));

	a->rrtype = rrtype;
	a->status = status;
	return a;
}

/* grow - room for one more element in an array of count elements */
static void *
grow(void *array, size_t count, size_t size)
{
	return pfl_xrealloc(array, (count + 1) * size);
}

/* pfl_dns_answer_add_txt - add one TXT record (its strings joined) */
void
pfl_dns_answer_add_txt(struct pfl_dns_answer *a, const char *s, size_t len)
{
	char *copy = pfl_xmalloc(len + 1);

	memcpy(copy, s, len);
	copy[len] = '\0';
	a->txt = grow(a->txt, a->count, sizeof(*a->txt));
	a->txt_len = grow(a->txt_len, a->count, sizeof(*a->txt_len));
	a->txt[a->count] = copy;
	a->txt_len[a->count] = len;
	a->count++;
}

/* pfl_dns_answer_add_addr - add one A or AAAA record */
void
pfl_dns_answer_add_addr(struct pfl_dns_answer *a, int family, const void *p)
{
	struct pfl_dns_addr *d;

	a->addr = grow(a->addr, a->count, sizeof(*a->addr));
	d = &a->addr[a->count++];
	memset(d, 0, sizeof(*d));
	d->family = family;
	if (family == AF_INET)
		memcpy(&d->a.v4, p, sizeof(d->a.v4));
	else
		memcpy(&d->a.v6, p, sizeof(d->a.v6));
}

/* lower_copy - a lower-cased copy without a trailing dot */
static char *
lower_copy(const char *s)
{
	char *c = pfl_xstrdup(s), *p;
	size_t len = strlen(c);

	if (len > 0 && c[len - 1] == '.')
		c[len - 1] = '\0';
	for (p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

/* pfl_dns_answer_add_mx - add one MX record, keeping preference order */
void
pfl_dns_answer_add_mx(struct pfl_dns_answer *a, unsigned pref, const char *host)
{
	size_t i = a->count;

	a->mx = grow(a->mx, a->count, sizeof(*a->mx));
	/* insertion keeps records of equal preference in answer order */
	while (i > 0 && a->mx[i - 1].pref > pref) {
		a->mx[i] = a->mx[i - 1];
		i--;
	}
	a->mx[i].pref = pref;
	a->mx[i].host = lower_copy(host);
	a->count++;
}

/* pfl_dns_answer_add_name - add one PTR or CNAME target */
void
pfl_dns_answer_add_name(struct pfl_dns_answer *a, const char *name)
{
	a->names = grow(a->names, a->count, sizeof(*a->names));
	a->names[a->count++] = lower_copy(name);
}

/* pfl_dns_answer_copy - deep copy */
struct pfl_dns_answer *
pfl_dns_answer_copy(const struct pfl_dns_answer *src)
{
	struct pfl_dns_answer *a = pfl_dns_answer_new(src->rrtype, src->status);
	size_t i;

	a->nxdomain = src->nxdomain;
	a->ttl = src->ttl;
	memcpy(a->why, src->why, sizeof(a->why));
	for (i = 0; i < src->count; i++) {
		if (src->txt)
			pfl_dns_answer_add_txt(a, src->txt[i], src->txt_len[i]);
		else if (src->addr)
			pfl_dns_answer_add_addr(
			    a, src->addr[i].family, &src->addr[i].a);
		else if (src->mx)
			pfl_dns_answer_add_mx(
			    a, src->mx[i].pref, src->mx[i].host);
		else if (src->names)
			pfl_dns_answer_add_name(a, src->names[i]);
	}
	if (src->packet) {
		a->packet = pfl_xmalloc(src->packet_len);
		memcpy(a->packet, src->packet, src->packet_len);
		a->packet_len = src->packet_len;
	}
	return a;
}

/* pfl_dns_answer_free - free an answer; NULLs *ap */
void
pfl_dns_answer_free(struct pfl_dns_answer **ap)
{
	struct pfl_dns_answer *a = *ap;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->count; i++) {
		if (a->txt)
			free(a->txt[i]);
		if (a->mx)
			free(a->mx[i].host);
		if (a->names)
			free(a->names[i]);
	}
	free(a->txt);
	free(a->txt_len);
	free(a->addr);
	free(a->mx);
	free(a->names);
	free(a->packet);
	free(a);
	*ap = NULL;
}
