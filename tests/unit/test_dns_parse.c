/*
 * test_dns_parse - reading wire-format replies, hostile ones included;
 * names, reverse names and answer copies
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dns.h"

/* A tiny packet builder: enough to write the replies a server sends. */
struct pkt {
	unsigned char b[4096];
	size_t n;
};

static void
u8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)v;
}

static void
u16(struct pkt *p, unsigned v)
{
	u8(p, v >> 8);
	u8(p, v & 0xff);
}

static void
u32(struct pkt *p, uint32_t v)
{
	u16(p, v >> 16);
	u16(p, v & 0xffff);
}

/* name - "a.b.c" as labels, then the root (no compression) */
static void
name(struct pkt *p, const char *s)
{
	while (*s) {
		size_t len = strcspn(s, ".");

		u8(p, (unsigned)len);
		memcpy(p->b + p->n, s, len);
		p->n += len;
		s += len;
		if (*s == '.')
			s++;
	}
	u8(p, 0);
}

/* header - a reply with the question name/type; 12 + question bytes */
static void
header(struct pkt *p, unsigned rcode, unsigned an, unsigned ns,
    const char *qname, int qtype)
{
	p->n = 0;
	u16(p, 0x1234);
	u16(p, 0x8180 | rcode); /* QR RD RA */
	u16(p, 1);
	u16(p, an);
	u16(p, ns);
	u16(p, 0);
	name(p, qname);
	u16(p, (unsigned)qtype);
	u16(p, 1);
}

/* rr - a record owned by the question name (pointer to offset 12) */
static void
rr(struct pkt *p, int type, uint32_t ttl, const void *rdata, size_t len)
{
	u16(p, 0xc00c);
	u16(p, (unsigned)type);
	u16(p, 1);
	u32(p, ttl);
	u16(p, (unsigned)len);
	memcpy(p->b + p->n, rdata, len);
	p->n += len;
}

static struct pfl_dns_answer *
parse(const struct pkt *p, int type)
{
	return pfl_dns_packet_parse(p->b, p->n, type);
}

static void
test_a_records(void **state)
{
	static const unsigned char a1[] = { 192, 0, 2, 1 },
				   a2[] = { 192, 0, 2, 2 };
	struct pkt p;
	struct pfl_dns_answer *a;
	char buf[INET6_ADDRSTRLEN];

	header(&p, 0, 2, 0, "a.example.test", PFL_DNS_T_A);
	rr(&p, PFL_DNS_T_A, 300, a1, 4);
	rr(&p, PFL_DNS_T_A, 60, a2, 4);
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_false(a->nxdomain);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 60); /* the smallest */
	assert_int_equal(a->addr[1].family, AF_INET);
	assert_string_equal(
	    inet_ntop(AF_INET, &a->addr[1].a.v4, buf, sizeof(buf)),
	    "192.0.2.2");
	assert_int_equal(a->packet_len, p.n);
	assert_memory_equal(a->packet, p.b, p.n);
	pfl_dns_answer_free(&a);
	assert_null(a);
}

static void
test_negative(void **state)
{
	struct pkt p;
	struct pfl_dns_answer *a;
	size_t rdstart;

	/* NXDOMAIN with an SOA: TTL = min(SOA TTL, SOA minimum) */
	header(&p, 3, 0, 1, "nx.example.test", PFL_DNS_T_TXT);
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_SOA);
	u16(&p, 1);
	u32(&p, 900);
	rdstart = p.n;
	u16(&p, 0);
	name(&p, "ns.example.test");
	name(&p, "host.example.test");
	u32(&p, 1);
	u32(&p, 3600);
	u32(&p, 600);
	u32(&p, 86400);
	u32(&p, 120);
	p.b[rdstart] = (unsigned char)((p.n - rdstart - 2) >> 8);
	p.b[rdstart + 1] = (unsigned char)((p.n - rdstart - 2) & 0xff);
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_NOTFOUND);
	assert_true(a->nxdomain);
	assert_int_equal(a->ttl, 120);
	pfl_dns_answer_free(&a);

	/* NODATA: NOERROR, no record of the type */
	header(&p, 0, 0, 0, "nodata.example.test", PFL_DNS_T_TXT);
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_NOTFOUND);
	assert_false(a->nxdomain);
	assert_int_equal(a->ttl, 0);
	pfl_dns_answer_free(&a);

	/* SERVFAIL and REFUSED: try again, never "no record" */
	header(&p, 2, 0, 0, "x.example.test", PFL_DNS_T_A);
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	assert_non_null(strstr(a->why, "SERVFAIL"));
	pfl_dns_answer_free(&a);
	header(&p, 5, 0, 0, "x.example.test", PFL_DNS_T_A);
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);
}

static void
test_txt_joined(void **state)
{
	/* two character-strings, one with a NUL byte, and an empty record */
	static const unsigned char t1[] = { 4, 'v', '=', 's', 'p', 3, 'f', 0,
		'1' };
	static const unsigned char t2[] = { 0 };
	struct pkt p;
	struct pfl_dns_answer *a;

	header(&p, 0, 2, 0, "t.example.test", PFL_DNS_T_TXT);
	rr(&p, PFL_DNS_T_TXT, 30, t1, sizeof(t1));
	rr(&p, PFL_DNS_T_TXT, 30, t2, sizeof(t2));
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->txt_len[0], 7);
	assert_memory_equal(a->txt[0],
	    "v=spf\0"
	    "1",
	    7);
	assert_int_equal(a->txt[0][7], '\0');
	assert_int_equal(a->txt_len[1], 0);
	assert_string_equal(a->txt[1], "");
	pfl_dns_answer_free(&a);
}

static void
test_mx_compressed_sorted(void **state)
{
	struct pkt p;
	struct pfl_dns_answer *a;
	size_t len_at, start;

	header(&p, 0, 3, 0, "Example.TEST", PFL_DNS_T_MX);
	/* 20 MAIL2.<question> via a pointer to the question name */
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_MX);
	u16(&p, 1);
	u32(&p, 300);
	len_at = p.n;
	u16(&p, 0);
	start = p.n;
	u16(&p, 20);
	u8(&p, 5);
	memcpy(p.b + p.n, "MAIL2", 5);
	p.n += 5;
	u16(&p, 0xc00c);
	p.b[len_at + 1] = (unsigned char)(p.n - start);
	/* 10 mail1.example.test, written out */
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_MX);
	u16(&p, 1);
	u32(&p, 300);
	u16(&p, 2 + 20);
	u16(&p, 10);
	name(&p, "mail1.example.test");
	/* null MX */
	rr(&p, PFL_DNS_T_MX, 300, "\0\0\0", 3);
	a = parse(&p, PFL_DNS_T_MX);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->mx[0].pref, 0);
	assert_string_equal(a->mx[0].host, "");
	assert_int_equal(a->mx[1].pref, 10);
	assert_string_equal(a->mx[1].host, "mail1.example.test");
	assert_int_equal(a->mx[2].pref, 20);
	assert_string_equal(a->mx[2].host, "mail2.example.test");
	pfl_dns_answer_free(&a);
}

static void
test_cname_chain(void **state)
{
	static const unsigned char addr[] = { 192, 0, 2, 9 };
	struct pkt p;
	struct pfl_dns_answer *a;

	header(&p, 0, 2, 0, "alias.example.test", PFL_DNS_T_A);
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_CNAME);
	u16(&p, 1);
	u32(&p, 30);
	u16(&p, 19);
	name(&p, "real.example.test");
	rr(&p, PFL_DNS_T_A, 300, addr, 4);
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->ttl, 30); /* the chain's smallest */
	pfl_dns_answer_free(&a);

	a = parse(&p, PFL_DNS_T_CNAME);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_string_equal(a->names[0], "real.example.test");
	pfl_dns_answer_free(&a);
}

/* a valid reply with every kind of record, for the hostile tests */
static void
rich_reply(struct pkt *p)
{
	static const unsigned char txt[] = { 3, 'a', 'b', 'c', 2, 'd', 'e' };

	header(p, 0, 3, 0, "r.example.test", PFL_DNS_T_TXT);
	rr(p, PFL_DNS_T_TXT, 10, txt, sizeof(txt));
	rr(p, PFL_DNS_T_TXT, 10, txt, 4);
	u16(p, 0xc00c);
	u16(p, PFL_DNS_T_CNAME);
	u16(p, 1);
	u32(p, 10);
	u16(p, 2);
	u16(p, 0xc00c);
}

static void
test_truncated(void **state)
{
	struct pkt p;
	struct pfl_dns_answer *a;
	size_t len;

	rich_reply(&p);
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_int_equal(a->count, 2);
	pfl_dns_answer_free(&a);
	/* every shorter prefix is broken: never read past it, never "ok" */
	for (len = 0; len < p.n; len++) {
		a = pfl_dns_packet_parse(p.b, len, PFL_DNS_T_TXT);
		assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
		assert_int_equal(a->count, 0);
		assert_non_null(strstr(a->why, "malformed"));
		pfl_dns_answer_free(&a);
	}
}

static void
test_compression_loops(void **state)
{
	struct pkt p;
	struct pfl_dns_answer *a;

	/* a PTR whose target points at itself */
	header(&p, 0, 1, 0, "l.example.test", PFL_DNS_T_PTR);
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_PTR);
	u16(&p, 1);
	u32(&p, 10);
	u16(&p, 2);
	u16(&p, 0xc000 | (unsigned)p.n);
	a = parse(&p, PFL_DNS_T_PTR);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	assert_non_null(strstr(a->why, "loop"));
	pfl_dns_answer_free(&a);

	/* two labels pointing at each other: "x" -> "y" -> "x" ... */
	header(&p, 0, 1, 0, "l.example.test", PFL_DNS_T_PTR);
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_PTR);
	u16(&p, 1);
	u32(&p, 10);
	u16(&p, 8);
	u8(&p, 1);
	u8(&p, 'x');
	u16(&p, 0xc000 | (unsigned)(p.n + 2));
	u8(&p, 1);
	u8(&p, 'y');
	u16(&p, 0xc000 | (unsigned)(p.n - 6));
	a = parse(&p, PFL_DNS_T_PTR);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);

	/* a pointer past the end */
	header(&p, 0, 1, 0, "l.example.test", PFL_DNS_T_PTR);
	rr(&p, PFL_DNS_T_PTR, 10, "\xff\xff", 2);
	a = parse(&p, PFL_DNS_T_PTR);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);
}

static void
test_oversize(void **state)
{
	static const unsigned char big_string[] = { 200, 'a', 'b' };
	struct pkt p;
	struct pfl_dns_answer *a;
	size_t i;

	/* a character-string longer than its record */
	header(&p, 0, 1, 0, "o.example.test", PFL_DNS_T_TXT);
	rr(&p, PFL_DNS_T_TXT, 10, big_string, sizeof(big_string));
	memset(p.b + p.n, 'z', 300); /* bytes after the record: not its */
	p.n += 300;
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	assert_non_null(strstr(a->why, "TXT"));
	pfl_dns_answer_free(&a);

	/* record data longer than the packet */
	header(&p, 0, 1, 0, "o.example.test", PFL_DNS_T_TXT);
	rr(&p, PFL_DNS_T_TXT, 10, "\x02hi", 3);
	p.b[p.n - 4] = 0xff; /* rdlength 255, 3 bytes there */
	a = parse(&p, PFL_DNS_T_TXT);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);

	/* an address of the wrong length */
	header(&p, 0, 1, 0, "o.example.test", PFL_DNS_T_A);
	rr(&p, PFL_DNS_T_A, 10, "\1\2\3\4\5", 5);
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);

	/* a name of more than 255 bytes (5 labels of 63) */
	header(&p, 0, 1, 0, "o.example.test", PFL_DNS_T_PTR);
	u16(&p, 0xc00c);
	u16(&p, PFL_DNS_T_PTR);
	u16(&p, 1);
	u32(&p, 10);
	u16(&p, 5 * 64 + 1);
	for (i = 0; i < 5; i++) {
		u8(&p, 63);
		memset(p.b + p.n, 'a', 63);
		p.n += 63;
	}
	u8(&p, 0);
	a = parse(&p, PFL_DNS_T_PTR);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	assert_non_null(strstr(a->why, "too long"));
	pfl_dns_answer_free(&a);

	/* a query, not a response */
	header(&p, 0, 0, 0, "o.example.test", PFL_DNS_T_A);
	p.b[2] &= 0x7f;
	a = parse(&p, PFL_DNS_T_A);
	assert_int_equal(a->status, PFL_DNS_TEMPFAIL);
	pfl_dns_answer_free(&a);
}

static void
test_odd_names_skipped(void **state)
{
	struct pkt p;
	struct pfl_dns_answer *a;

	/* "a.b" as ONE label, then a normal name: only the second is kept */
	header(&p, 0, 2, 0, "4.3.2.1.in-addr.arpa", PFL_DNS_T_PTR);
	rr(&p, PFL_DNS_T_PTR, 10, "\3a.b\0", 5);
	rr(&p, PFL_DNS_T_PTR, 10, "\4Good\4TEST\0", 11);
	a = parse(&p, PFL_DNS_T_PTR);
	assert_int_equal(a->status, PFL_DNS_OK);
	assert_int_equal(a->count, 1);
	assert_string_equal(a->names[0], "good.test");
	pfl_dns_answer_free(&a);
}

static void
test_mutations(void **state)
{
	struct pkt p, m;
	struct pfl_dns_answer *a;
	unsigned seed = 12345;
	int i, types[] = { PFL_DNS_T_TXT, PFL_DNS_T_CNAME, PFL_DNS_T_MX };

	/* flipped bytes must never crash or read out of bounds (ASan) */
	rich_reply(&p);
	for (i = 0; i < 20000; i++) {
		m = p;
		seed = seed * 1103515245u + 12345u;
		m.b[(seed >> 8) % m.n] = (unsigned char)(seed >> 20);
		seed = seed * 1103515245u + 12345u;
		m.b[(seed >> 8) % m.n] ^=
		    (unsigned char)(1u << (seed >> 28) % 8);
		a = pfl_dns_packet_parse(m.b, m.n, types[i % 3]);
		assert_true(a->status == PFL_DNS_OK ||
		    a->status == PFL_DNS_NOTFOUND ||
		    a->status == PFL_DNS_TEMPFAIL);
		pfl_dns_answer_free(&a);
	}
}

static void
test_names(void **state)
{
	char buf[128];
	char long_label[70];

	assert_true(pfl_dns_name_ok("example.test"));
	assert_true(pfl_dns_name_ok("example.test."));
	assert_true(pfl_dns_name_ok("foo:bar/baz.example.com"));
	assert_true(pfl_dns_name_ok("single"));
	assert_false(pfl_dns_name_ok(""));
	assert_false(pfl_dns_name_ok("."));
	assert_false(pfl_dns_name_ok("a..b"));
	assert_false(pfl_dns_name_ok(".a"));
	assert_false(pfl_dns_name_ok("a b.test"));
	assert_false(pfl_dns_name_ok("a\\046b.test"));
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".test");
	assert_false(pfl_dns_name_ok(long_label));
	long_label[1] = '.'; /* now labels of 1 and 62 */
	assert_true(pfl_dns_name_ok(long_label));

	assert_int_equal(
	    pfl_dns_reverse_name("192.0.2.3", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3.2.0.192.in-addr.arpa");
	assert_int_equal(
	    pfl_dns_reverse_name("::ffff:192.0.2.3", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3.2.0.192.in-addr.arpa");
	assert_int_equal(
	    pfl_dns_reverse_name("2001:db8::cb01", buf, sizeof(buf)), 0);
	assert_string_equal(buf,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(pfl_dns_reverse_name("2001:db8::1", buf, 20), -1);
	assert_int_equal(pfl_dns_reverse_name("nope", buf, sizeof(buf)), -1);

	assert_int_equal(pfl_dns_type_code("txt"), PFL_DNS_T_TXT);
	assert_int_equal(pfl_dns_type_code("AAAA"), PFL_DNS_T_AAAA);
	assert_int_equal(pfl_dns_type_code("99"), 99);
	assert_int_equal(pfl_dns_type_code("0"), -1);
	assert_int_equal(pfl_dns_type_code("70000"), -1);
	assert_int_equal(pfl_dns_type_code("bogus"), -1);
	assert_string_equal(pfl_dns_type_name(PFL_DNS_T_MX), "MX");
	assert_null(pfl_dns_type_name(99));
	assert_string_equal(pfl_dns_status_name(PFL_DNS_TEMPFAIL), "tempfail");
}

static void
test_copy(void **state)
{
	struct pfl_dns_answer *a = pfl_dns_answer_new(PFL_DNS_T_MX, PFL_DNS_OK);
	struct pfl_dns_answer *c;

	pfl_dns_answer_add_mx(a, 20, "B.Example.");
	pfl_dns_answer_add_mx(a, 10, "a.example");
	pfl_dns_answer_add_mx(a, 20, "c.example");
	a->ttl = 77;
	a->packet = malloc(3);
	memcpy(a->packet, "abc", 3);
	a->packet_len = 3;
	c = pfl_dns_answer_copy(a);
	pfl_dns_answer_free(&a);
	assert_int_equal(c->count, 3);
	assert_int_equal(c->ttl, 77);
	assert_string_equal(c->mx[0].host, "a.example");
	assert_string_equal(c->mx[1].host, "b.example"); /* stable, lower */
	assert_string_equal(c->mx[2].host, "c.example");
	assert_memory_equal(c->packet, "abc", 3);
	pfl_dns_answer_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_records),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_txt_joined),
		cmocka_unit_test(test_mx_compressed_sorted),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_compression_loops),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_odd_names_skipped),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
