/*
 * NAME
 *	dns_packet - read a wire-format DNS reply into an answer
 * DESCRIPTION
 *	The reply is untrusted input. A cursor walks it with a sticky error:
 *	every read is checked against the end of the packet (and of the
 *	record data), compression pointers must point strictly backwards
 *	(before the previous target), so a loop cannot go on, and a name
 *	may not grow beyond 255 wire bytes. A structurally broken reply is
 *	TEMPFAIL ("try again"), never "no record". A name that has a byte
 *	we cannot show as text (a dot inside a label, white space, a
 *	control byte) makes only its own record be skipped.
 * SECURITY
 *	No byte outside [pkt, pkt + len) is ever read.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "util.h"

#define NAME_MAX_TEXT 256 /* 253 characters, a spare, the NUL */

struct cursor {
	const unsigned char *pkt;
	size_t len;
	size_t off;
	const char *bad; /* sticky: why the packet is broken, or NULL */
};

/* fail - mark the packet broken (the first reason wins) */
static void
fail(struct cursor *c, const char *why)
{
	if (c->bad == NULL)
		c->bad = why;
}

/* get16 - a 16-bit field, or 0 and the sticky error */
static unsigned
get16(struct cursor *c)
{
	unsigned v;

	if (c->bad || c->len - c->off < 2) {
		fail(c, "truncated field");
		return 0;
	}
	v = (unsigned)c->pkt[c->off] << 8 | c->pkt[c->off + 1];
	c->off += 2;
	return v;
}

/* get32 - a 32-bit field */
static uint32_t
get32(struct cursor *c)
{
	uint32_t hi = get16(c);

	return hi << 16 | get16(c);
}

/* label_byte_odd - a byte a name in text form cannot carry as is */
static bool
label_byte_odd(unsigned char b)
{
	return b <= 0x20 || b >= 0x7f || b == '.' || b == '\\';
}

/*
 * read_name - decode the name at the cursor into out (NAME_MAX_TEXT
 * bytes; "" for the root), moving the cursor past it. *odd is set when
 * the name has a byte text cannot carry.
 */
static void
read_name(struct cursor *c, char *out, bool *odd)
{
	size_t pos = c->off, limit = c->off, o = 0, wire = 1, after = 0, i;
	unsigned b;

	*odd = false;
	out[0] = '\0';
	for (;;) {
		if (c->bad || pos >= c->len)
			return fail(c, "name runs past the packet");
		b = c->pkt[pos];
		if ((b & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= c->len)
				return fail(c, "truncated pointer");
			target = (size_t)(b & 0x3f) << 8 | c->pkt[pos + 1];
			if (target >= limit)
				return fail(c, "compression pointer loop");
			if (after == 0)
				after = pos + 2;
			limit = pos = target;
			continue;
		}
		if (b & 0xc0)
			return fail(c, "unknown label type");
		if (b == 0)
			break;
		if ((wire += b + 1) > 255)
			return fail(c, "name too long");
		if (c->len - pos - 1 < b)
			return fail(c, "label runs past the packet");
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < b; i++) {
			*odd |= label_byte_odd(c->pkt[pos + 1 + i]);
			out[o++] = (char)c->pkt[pos + 1 + i];
		}
		pos += 1 + b;
	}
	out[o] = '\0';
	c->off = after ? after : pos + 1;
}

/* skip_name - move past a name */
static void
skip_name(struct cursor *c)
{
	char name[NAME_MAX_TEXT];
	bool odd;

	read_name(c, name, &odd);
}

/* add_txt - join the character-strings of one TXT record */
static void
add_txt(struct cursor *c, struct pfl_dns_answer *a, size_t end)
{
	char *buf = pfl_xmalloc(end - c->off + 1);
	size_t o = 0, n;

	while (!c->bad && c->off < end) {
		n = c->pkt[c->off++];
		if (end - c->off < n) {
			fail(c, "TXT string runs past its record");
			break;
		}
		memcpy(buf + o, c->pkt + c->off, n);
		o += n;
		c->off += n;
	}
	if (!c->bad)
		pfl_dns_answer_add_txt(a, buf, o);
	free(buf);
}

/* add_rdata - read the record data of one record of the asked type */
static void
add_rdata(struct cursor *c, struct pfl_dns_answer *a, int type, size_t rdlen)
{
	size_t end = c->off + rdlen;
	char name[NAME_MAX_TEXT];
	unsigned pref;
	bool odd;

	switch (type) {
	case PFL_DNS_T_A:
	case PFL_DNS_T_AAAA:
		if (rdlen != (type == PFL_DNS_T_A ? 4u : 16u))
			return fail(c, "address of the wrong length");
		pfl_dns_answer_add_addr(a,
		    type == PFL_DNS_T_A ? AF_INET : AF_INET6, c->pkt + c->off);
		c->off = end;
		return;
	case PFL_DNS_T_TXT:
		return add_txt(c, a, end);
	case PFL_DNS_T_MX:
		pref = get16(c);
		read_name(c, name, &odd);
		if (!c->bad && c->off <= end && !odd)
			pfl_dns_answer_add_mx(a, pref, name);
		break;
	case PFL_DNS_T_PTR:
	case PFL_DNS_T_CNAME:
		read_name(c, name, &odd);
		if (!c->bad && c->off <= end && !odd)
			pfl_dns_answer_add_name(a, name);
		break;
	default:
		c->off = end;
		return;
	}
	if (c->off > end)
		fail(c, "name runs past its record");
}

/* read_rr - one resource record; *ttl_r lowered for the records we keep */
static void
read_rr(
    struct cursor *c, struct pfl_dns_answer *a, bool answer, uint32_t *ttl_r)
{
	unsigned type, class, rdlen;
	uint32_t ttl;
	size_t end;

	skip_name(c);
	type = get16(c);
	class = get16(c);
	ttl = get32(c);
	rdlen = get16(c);
	if (c->bad)
		return;
	if (c->len - c->off < rdlen)
		return fail(c, "record data runs past the packet");
	end = c->off + rdlen;
	if (ttl > 0x7fffffff) /* RFC 2181 8: read as zero */
		ttl = 0;
	if (class == 1 && answer && (int)type == a->rrtype) {
		add_rdata(c, a, (int)type, rdlen);
		*ttl_r = ttl < *ttl_r ? ttl : *ttl_r;
	} else if (class == 1 && answer && type == PFL_DNS_T_CNAME) {
		*ttl_r = ttl < *ttl_r ? ttl : *ttl_r;
	} else if (class == 1 && !answer && type == PFL_DNS_T_SOA) {
		uint32_t minimum;

		skip_name(c);
		skip_name(c);
		c->off += 16; /* serial refresh retry expire */
		if (c->off > end)
			return fail(c, "short SOA record");
		minimum = get32(c);
		ttl = minimum < ttl ? minimum : ttl;
		*ttl_r = ttl < *ttl_r ? ttl : *ttl_r;
	}
	if (!c->bad)
		c->off = end;
}

/* rcode_status - the status a reply code stands for */
static void
rcode_status(struct pfl_dns_answer *a, unsigned rcode)
{
	static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL",
		"NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode == 0) {
		a->status = a->count ? PFL_DNS_OK : PFL_DNS_NOTFOUND;
	} else if (rcode == 3) {
		a->status = PFL_DNS_NOTFOUND;
		a->nxdomain = true;
	} else {
		a->status = PFL_DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "server replied %s",
		    rcode < 6 ? names[rcode] : "an error");
	}
}

/* broken - a TEMPFAIL answer in place of a half-read one */
static struct pfl_dns_answer *
broken(struct pfl_dns_answer *half, const char *why)
{
	struct pfl_dns_answer *a =
	    pfl_dns_answer_new(half->rrtype, PFL_DNS_TEMPFAIL);

	a->packet = half->packet;
	a->packet_len = half->packet_len;
	half->packet = NULL;
	pfl_dns_answer_free(&half);
	snprintf(a->why, sizeof(a->why), "malformed reply: %s", why);
	return a;
}

/* pfl_dns_packet_parse - a wire-format reply as an answer for rrtype */
struct pfl_dns_answer *
pfl_dns_packet_parse(const unsigned char *pkt, size_t len, int rrtype)
{
	struct pfl_dns_answer *a = pfl_dns_answer_new(rrtype, PFL_DNS_TEMPFAIL);
	struct cursor c = { pkt, len, 0, NULL };
	unsigned flags, qd, an, ns, i;
	uint32_t ttl = UINT32_MAX;

	if (len > 0) {
		a->packet = pfl_xmalloc(len);
		memcpy(a->packet, pkt, len);
		a->packet_len = len;
	}
	(void)get16(&c); /* id */
	flags = get16(&c);
	qd = get16(&c);
	an = get16(&c);
	ns = get16(&c);
	(void)get16(&c); /* additional: not read */
	if (!c.bad && (flags & 0x8000) == 0)
		fail(&c, "not a response");
	for (i = 0; i < qd && !c.bad; i++) {
		skip_name(&c);
		(void)get32(&c);
	}
	for (i = 0; i < an && !c.bad; i++)
		read_rr(&c, a, true, &ttl);
	if ((flags & 0xf) != 0 || a->count == 0)
		for (i = 0; i < ns && !c.bad; i++)
			read_rr(&c, a, false, &ttl);
	if (c.bad)
		return broken(a, c.bad);
	rcode_status(a, flags & 0xf);
	a->ttl = ttl == UINT32_MAX ? 0 : ttl;
	return a;
}
