/*
 * test_dkim - DKIM: the signer's tables, signed-header lists, coverage,
 * key records, and verification and key checks against a fake resolver
 * that serves tests/data/zones/dkim.test.zone (the e2e test's zone).
 * Messages are signed here with libopendkim's dkim_sign.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <opendkim/dkim.h>

#include "arena.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "util.h"

/* --- fixtures -------------------------------------------------------------- */

static char tmpdir[64];
static char srcdir[512];

/* data - a file under tests/data/dkim */
static const char *
data(const char *name)
{
	static char buf[4][700];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/tests/data/dkim/%s", srcdir, name);
	return buf[i];
}

/* tmp - a file under the test's temp dir */
static const char *
tmp(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

/* write_file - create a file with text */
static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* read_file - a whole file, malloc'd */
static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, (1 << 16) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The fake resolver: TXT records from the zone file, plus failures. */
struct rr {
	char name[128];
	char txt[1024];
};
static struct rr zone[32];
static size_t nzone, nqueries;
static const char *servfail_name; /* this name answers SERVFAIL */

/* load_zone - the TXT records of tests/data/zones/dkim.test.zone */
static void
load_zone(void)
{
	char path[600], line[2048], *p, *q;
	FILE *fp;

	snprintf(
	    path, sizeof(path), "%s/tests/data/zones/dkim.test.zone", srcdir);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) && nzone < 32) {
		if (strstr(line, " IN TXT ") == NULL)
			continue;
		struct rr *r = &zone[nzone++];

		*strchr(line, ' ') = '\0';
		snprintf(r->name, sizeof(r->name), "%.100s.dkim.test", line);
		r->txt[0] = '\0';
		for (p = line + strlen(line) + 1; (p = strchr(p, '"')) != NULL;
		     p = q + 1) {
			q = strchr(++p, '"');
			strncat(r->txt, p, (size_t)(q - p));
		}
	}
	fclose(fp);
}

/* fake_query - answer from the zone; unknown names are NXDOMAIN */
static struct pfl_dns_answer *
fake_query(void *ctx, const char *name, int rrtype)
{
	struct pfl_dns_answer *a;
	size_t i;

	__atomic_add_fetch(&nqueries, 1, __ATOMIC_RELAXED);
	if (servfail_name && strcasecmp(name, servfail_name) == 0) {
		a = pfl_dns_answer_new(rrtype, PFL_DNS_TEMPFAIL);
		snprintf(a->why, sizeof(a->why), "SERVFAIL");
		return a;
	}
	a = pfl_dns_answer_new(rrtype, PFL_DNS_OK);
	for (i = 0; i < nzone && rrtype == PFL_DNS_T_TXT; i++)
		if (strcasecmp(zone[i].name, name) == 0)
			pfl_dns_answer_add_txt(
			    a, zone[i].txt, strlen(zone[i].txt));
	if (a->count == 0) {
		a->status = PFL_DNS_NOTFOUND;
		a->nxdomain = true;
	}
	return a;
}

/* fake_free - release a fake answer */
static void
fake_free(void *ctx, struct pfl_dns_answer *a)
{
	pfl_dns_answer_free(&a);
}

static struct pfl_dkim_lib *lib;

static int
setup(void **state)
{
	struct pfl_dkim_resolver res = { fake_query, fake_free, NULL };
	const char *top = getenv("top_srcdir");

	snprintf(srcdir, sizeof(srcdir), "%s", top ? top : ".");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dkim.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	load_zone();
	assert_true(nzone >= 8);
	lib = pfl_dkim_lib_new_resolver(&res);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	pfl_dkim_lib_free(&lib);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* config - a config snapshot from text (must parse) */
static struct pfl_config *
config(const char *text)
{
	char *errors = NULL;
	struct pfl_config *c = pfl_config_parse("t.conf", text, &errors);

	if (c == NULL)
		fail_msg("config: %s", errors);
	return c;
}

/* signer - load tables named in config text; NULL with *errors_r set */
static struct pfl_dkim_signer *
signer(const char *conftext, char **errors_r)
{
	struct pfl_config *c = config(conftext);
	struct pfl_dkim_signer *s = NULL;

	*errors_r = NULL;
	if (pfl_dkim_signer_load(c, &s, errors_r) < 0)
		assert_null(s);
	pfl_config_unref(c);
	return s;
}

/* conf - "SignerKeyTable K\nSignerSigningTable S\n" plus extra */
static const char *
conf(const char *kt, const char *st, const char *extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	    "SignerKeyTable %s\nSignerSigningTable %s\n%s", kt, st,
	    extra ? extra : "");
	return buf;
}

/* --- tables ----------------------------------------------------------------- */

static const char keytable[] =
    "# keys\n"
    "k1   example.com:s1:/keys/example.com.private\n"
    "k2   example.org:s2:/keys/%.private   # comment\n"
    "k3   %:s3:/keys/%/s3.private\n"
    "\n"
    "k4   example.net:s4:MIIEvAIBADANBgkq\n";

static void
test_refile_wildcards(void **state)
{
	struct pfl_dkim_signkey k;
	struct pfl_dkim_signer *s;
	char *errors;

	write_file(tmp("key.table"), keytable);
	write_file(tmp("sign.re"),
	    "bob@example.com k2\n"
	    "*@example.com    k1\n"
	    "*@*.example.org  k2\n"
	    "*                k3\n"
	    "*@example.net    k4\n");
	s = signer(conf(tmp("key.table"), "refile:/tmp/none", NULL), &errors);
	assert_null(s); /* the refile does not exist */
	assert_non_null(strstr(errors, "/tmp/none: cannot open"));
	free(errors);
	{
		char spec[200];

		snprintf(spec, sizeof(spec), "refile:%s", tmp("sign.re"));
		s = signer(conf(tmp("key.table"), spec, NULL), &errors);
	}
	assert_non_null(s);
	/* first match wins, in file order */
	assert_true(pfl_dkim_signer_match(s, "<Bob@Example.COM>", &k));
	assert_string_equal(k.keyname, "k2");
	assert_int_equal(k.line, 1);
	assert_true(pfl_dkim_signer_match(s, "alice@example.com", &k));
	assert_string_equal(k.keyname, "k1");
	assert_string_equal(k.domain, "example.com");
	assert_string_equal(k.selector, "s1");
	assert_string_equal(k.keyfile, "/keys/example.com.private");
	/* '*' spans dots; "%" in a key path is the signing domain */
	assert_true(pfl_dkim_signer_match(s, "x@mail.eu.example.org", &k));
	assert_string_equal(k.keyname, "k2");
	assert_string_equal(k.domain, "example.org");
	assert_string_equal(k.keyfile, "/keys/example.org.private");
	/* bare example.org does not match "*@*.example.org": the catch-all,
	 * whose key has "%" for the domain */
	assert_true(pfl_dkim_signer_match(s, "x@example.org", &k));
	assert_string_equal(k.keyname, "k3");
	assert_string_equal(k.domain, "example.org");
	assert_string_equal(k.keyfile, "/keys/example.org/s3.private");
	/* a later, more specific line never wins over "*" */
	assert_true(pfl_dkim_signer_match(s, "y@example.net", &k));
	assert_string_equal(k.keyname, "k3");
	assert_false(pfl_dkim_signer_match(s, "no-at-sign", &k));
	assert_false(pfl_dkim_signer_match(s, "@example.com", &k));
	pfl_dkim_signer_free(&s);
	assert_null(s);
}

static void
test_flat_table_order(void **state)
{
	struct pfl_dkim_signkey k;
	struct pfl_dkim_signer *s;
	char *errors;

	write_file(tmp("key.table"), keytable);
	write_file(tmp("sign.flat"),
	    "*@example.com      k1\n" /* literal */
	    "example.com        k2\n"
	    "alice@example.com  k4\n"
	    ".example.org       k1\n"
	    "carol@.example.org k4\n");
	{
		char spec[200];

		snprintf(spec, sizeof(spec), "file:%s", tmp("sign.flat"));
		s = signer(conf(tmp("key.table"), spec, NULL), &errors);
	}
	assert_non_null(s);
	/* user@domain before domain, whatever the line order */
	assert_true(pfl_dkim_signer_match(s, "alice@example.com", &k));
	assert_string_equal(k.keyname, "k4");
	assert_true(pfl_dkim_signer_match(s, "bob@example.com", &k));
	assert_string_equal(k.keyname, "k2");
	assert_int_equal(k.line, 2);
	/* parents: user@.parent before .parent */
	assert_true(pfl_dkim_signer_match(s, "carol@a.b.example.org", &k));
	assert_string_equal(k.keyname, "k4");
	assert_true(pfl_dkim_signer_match(s, "dave@a.b.example.org", &k));
	assert_string_equal(k.keyname, "k1");
	/* a '*' in a flat table is literal: nothing else matches */
	assert_false(pfl_dkim_signer_match(s, "eve@example.net", &k));
	/* a key given inline (not a path) has no key file */
	pfl_dkim_signer_free(&s);
	write_file(tmp("sign.flat"), "*  k4\n");
	s = signer(conf(tmp("key.table"), tmp("sign.flat"), NULL), &errors);
	assert_non_null(s);
	assert_true(pfl_dkim_signer_match(s, "eve@example.net", &k));
	assert_string_equal(k.keyname, "k4");
	assert_string_equal(k.keyfile, "");
	pfl_dkim_signer_free(&s);
	/* "%" as the key name: the key named after the From: domain */
	write_file(tmp("pct.keys"), "example.com  %:sx:/keys/%.pem\n");
	write_file(tmp("sign.flat"), "*  %\n");
	s = signer(conf(tmp("pct.keys"), tmp("sign.flat"), NULL), &errors);
	assert_non_null(s);
	assert_true(pfl_dkim_signer_match(s, "a@example.com", &k));
	assert_string_equal(k.keyname, "example.com");
	assert_string_equal(k.selector, "sx");
	assert_string_equal(k.keyfile, "/keys/example.com.pem");
	assert_true(pfl_dkim_signer_match(s, "a@example.org", &k));
	assert_null(k.selector); /* no key named example.org */
	{
		struct pfl_dkim_prediction p;

		pfl_dkim_predict(s, lib, "a@example.org", &p);
		assert_int_equal(p.result, PFL_DKIM_KEY_PROBLEM);
		assert_int_equal(p.key, PFL_DKIM_KEY_UNDEFINED);
		assert_non_null(strstr(p.fix,
		    "sign.flat:1 names a key the "
		    "KeyTable does not have"));
	}
	pfl_dkim_signer_free(&s);
}

static void
test_table_errors(void **state)
{
	struct pfl_dkim_signer *s;
	char *errors, want[300], spec[200];

	write_file(tmp("bad.keys"),
	    "k1 example.com:s1:/k\n"
	    "k2 example.com:s2\n"
	    "k1 example.org:s1:/k\n"
	    "k3\n"
	    "k4 exa mple.com:s1:/k\n"
	    "k5 example.com:s e:/k\n");
	write_file(tmp("ok.sign"), "* k1\n");
	s = signer(conf(tmp("bad.keys"), tmp("ok.sign"), NULL), &errors);
	assert_null(s);
	snprintf(want, sizeof(want), "%s:2: expected", tmp("bad.keys"));
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want),
	    "%s:3: key \"k1\" already defined at line 1", tmp("bad.keys"));
	assert_non_null(strstr(errors, want));
	snprintf(
	    want, sizeof(want), "%s:4: \"k3\" has no value", tmp("bad.keys"));
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:6: bad selector", tmp("bad.keys"));
	assert_non_null(strstr(errors, want));
	free(errors);

	/* a SigningTable line naming a key the KeyTable lacks */
	write_file(tmp("ok.keys"), "k1 example.com:s1:/k\n");
	write_file(tmp("bad.sign"),
	    "*@example.com k1\n"
	    "\n"
	    "*@example.org nokey\n"
	    "*@example.net\n");
	snprintf(spec, sizeof(spec), "refile:%s", tmp("bad.sign"));
	s = signer(conf(tmp("ok.keys"), spec, NULL), &errors);
	assert_null(s);
	snprintf(want, sizeof(want),
	    "%s:3: key \"nokey\" is not in the KeyTable %s", tmp("bad.sign"),
	    tmp("ok.keys"));
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:4: \"*@example.net\" has no value",
	    tmp("bad.sign"));
	assert_non_null(strstr(errors, want));
	free(errors);

	/* table types we do not read, and half a configuration */
	snprintf(spec, sizeof(spec), "refile:%s", tmp("ok.keys"));
	s = signer(conf(spec, tmp("ok.sign"), NULL), &errors);
	assert_null(s);
	assert_non_null(strstr(errors, "t.conf: SignerKeyTable: expected"));
	free(errors);
	s = signer(conf(tmp("ok.keys"), "db:/etc/x.db", NULL), &errors);
	assert_null(s);
	assert_non_null(strstr(errors, "SignerSigningTable: expected"));
	free(errors);
	s = signer("SignerSigningTable /x\n", &errors);
	assert_null(s);
	assert_non_null(strstr(errors, "go together"));
	free(errors);
	/* no tables: no signer, no error */
	s = signer("Mode tag\n", &errors);
	assert_null(s);
	assert_null(errors);
}

/* --- signed headers and coverage --------------------------------------------- */

static void
test_sign_headers(void **state)
{
	struct pfl_dkim_signer *s;
	char *errors;

	write_file(tmp("ok.keys"), "k1 example.com:s1:/k\n");
	write_file(tmp("ok.sign"), "* k1\n");
	/* OpenDKIM's default: List-Unsubscribe yes, -Post no */
	s = signer(conf(tmp("ok.keys"), tmp("ok.sign"), NULL), &errors);
	assert_non_null(s);
	assert_true(pfl_dkim_signer_signs(s, "List-Unsubscribe"));
	assert_false(pfl_dkim_signer_signs(s, "List-Unsubscribe-Post"));
	assert_true(pfl_dkim_signer_signs(s, "from"));
	assert_true(pfl_dkim_signer_signs(s, "Subject"));
	assert_false(pfl_dkim_signer_signs(s, "received"));
	pfl_dkim_signer_free(&s);
	/* "*" makes the list a change to the default */
	s = signer(conf(tmp("ok.keys"), tmp("ok.sign"),
		       "SignerSignHeaders *, +List-Unsubscribe-Post, -cc\n"),
	    &errors);
	assert_true(pfl_dkim_signer_signs(s, "list-unsubscribe-post"));
	assert_true(pfl_dkim_signer_signs(s, "list-unsubscribe"));
	assert_false(pfl_dkim_signer_signs(s, "cc"));
	assert_true(pfl_dkim_signer_signs(s, "to"));
	pfl_dkim_signer_free(&s);
	/* a plain list replaces it; From is always signed */
	s = signer(conf(tmp("ok.keys"), tmp("ok.sign"),
		       "SignerSignHeaders subject date\n"
		       "SignerSignHeaders list-unsubscribe\n"),
	    &errors);
	assert_true(pfl_dkim_signer_signs(s, "from"));
	assert_true(pfl_dkim_signer_signs(s, "date"));
	assert_true(pfl_dkim_signer_signs(s, "list-unsubscribe"));
	assert_false(pfl_dkim_signer_signs(s, "to"));
	assert_false(pfl_dkim_signer_signs(s, "list-unsubscribe-post"));
	pfl_dkim_signer_free(&s);
}

static void
test_coverage(void **state)
{
	const char *h1[] = { "from", "subject", "list-unsubscribe" };
	const char *h2[] = { "from", "list-unsubscribe",
		"list-unsubscribe-post" };
	struct pfl_dkim_sig sigs[3] = {
		{ .result = PFL_DKIM_PASS,
		    .domain = "mail.example.com",
		    .headers = h1,
		    .nheaders = 3 },
		{ .result = PFL_DKIM_FAIL_BODY,
		    .domain = "example.com",
		    .headers = h2,
		    .nheaders = 3 },
		{ .result = PFL_DKIM_PASS,
		    .domain = "esp.example",
		    .headers = h2,
		    .nheaders = 3 },
	};

	assert_true(pfl_dkim_aligned(
	    "Example.COM", "example.com", PFL_DKIM_ALIGN_STRICT));
	assert_false(pfl_dkim_aligned(
	    "mail.example.com", "example.com", PFL_DKIM_ALIGN_STRICT));
	assert_true(pfl_dkim_aligned(
	    "mail.example.com", "example.com", PFL_DKIM_ALIGN_RELAXED));
	assert_false(pfl_dkim_aligned(
	    "badexample.com", "example.com", PFL_DKIM_ALIGN_RELAXED));
	assert_false(pfl_dkim_aligned(
	    "example.com", "mail.example.com", PFL_DKIM_ALIGN_RELAXED));
	assert_false(
	    pfl_dkim_aligned("example.com", "", PFL_DKIM_ALIGN_RELAXED));

	assert_true(pfl_dkim_sig_covers(&sigs[0], "List-Unsubscribe"));
	assert_false(pfl_dkim_sig_covers(&sigs[0], "List-Unsubscribe-Post"));
	/* relaxed: the passing mail.example.com signature covers it */
	assert_ptr_equal(pfl_dkim_covered(sigs, 3, "list-unsubscribe",
			     "example.com", PFL_DKIM_ALIGN_RELAXED),
	    &sigs[0]);
	/* strict: only the failing example.com one would align */
	assert_null(pfl_dkim_covered(
	    sigs, 3, "list-unsubscribe", "example.com", PFL_DKIM_ALIGN_STRICT));
	/* -Post is covered by a passing signature, but not an aligned one */
	assert_null(pfl_dkim_covered(sigs, 3, "list-unsubscribe-post",
	    "example.com", PFL_DKIM_ALIGN_RELAXED));
	assert_ptr_equal(pfl_dkim_covered(sigs, 3, "LIST-UNSUBSCRIBE-POST",
			     "esp.example", PFL_DKIM_ALIGN_STRICT),
	    &sigs[2]);
}

/* --- key records ---------------------------------------------------------------- */

/* zone_txt - the TXT text of a zone name ("good" -> good._domainkey) */
static const char *
zone_txt(const char *sel)
{
	char name[128];
	size_t i;

	snprintf(name, sizeof(name), "%s._domainkey.dkim.test", sel);
	for (i = 0; i < nzone; i++)
		if (strcmp(zone[i].name, name) == 0)
			return zone[i].txt;
	fail_msg("no %s in the zone", name);
	return NULL;
}

static void
test_keyrec(void **state)
{
	static const char *bad[] = { "v=DKIM1; k=rsa", "v=DKIM2; p=AAAA",
		"k=rsa; v=DKIM1; p=", "v=DKIM1; k=dsa; p=AAAA",
		"v=DKIM1; p=bm90IGEga2V5", "v=DKIM1; p=!!!!", "v=DKIM1; p",
		"p=MIIBIjANBgkq" };
	struct pfl_dkim_keyrec r;
	char ed[128];
	size_t i;

	assert_int_equal(pfl_dkim_keyrec_parse(
			     zone_txt("good"), strlen(zone_txt("good")), &r),
	    0);
	assert_int_equal(r.bits, 2048);
	assert_false(r.testmode || r.revoked || r.ed25519);
	assert_int_equal(pfl_dkim_keyrec_parse(
			     zone_txt("weak"), strlen(zone_txt("weak")), &r),
	    0);
	assert_int_equal(r.bits, 768);
	assert_int_equal(pfl_dkim_keyrec_parse(zone_txt("testmode"),
			     strlen(zone_txt("testmode")), &r),
	    0);
	assert_true(r.testmode);
	assert_int_equal(r.bits, 2048);
	assert_int_equal(pfl_dkim_keyrec_parse(zone_txt("revoked"),
			     strlen(zone_txt("revoked")), &r),
	    0);
	assert_true(r.revoked);
	/* t= is a flag list; FWS inside p= is allowed */
	assert_int_equal(pfl_dkim_keyrec_parse("t = s:y ; p=", 12, &r), 0);
	assert_true(r.testmode);
	assert_int_equal(pfl_dkim_keyrec_parse("t=s; p=", 7, &r), 0);
	assert_false(r.testmode);
	snprintf(ed, sizeof(ed), "v=DKIM1; k=ed25519; p=%s",
	    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_int_equal(pfl_dkim_keyrec_parse(ed, strlen(ed), &r), 0);
	assert_true(r.ed25519);
	assert_int_equal(r.bits, 256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    pfl_dkim_keyrec_parse(bad[i], strlen(bad[i]), &r), -1);
		assert_true(r.why[0] != '\0');
	}
	/* explicit length: bytes after len are not read */
	assert_int_equal(pfl_dkim_keyrec_parse("p=;t=y", 3, &r), 0);
	assert_false(r.testmode);
}

/* --- verification ------------------------------------------------------------- */

static const char *msg_headers[] = {
	"From: Alice <alice@dkim.test>",
	"To: bob@example.net",
	"Subject: hello",
	"Date: Fri, 28 Nov 2025 08:00:00 +0000",
	"Message-ID: <1@dkim.test>",
	"List-Unsubscribe: <https://dkim.test/u/1>",
	"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	NULL,
};
static const char msg_body[] = "Hello Bob,\r\n\r\nsee you.\r\n";

/*
 * sign_fields - a DKIM-Signature value for the header fields hdrs (NULL
 * ends them) and msg_body, by key as sel, headers canonicalized hcanon
 */
static char *
sign_fields(const char *const *hdrs, dkim_canon_t hcanon, const char *keyfile,
    const char *sel)
{
	DKIM_LIB *dl = dkim_init(NULL, NULL);
	char *key = read_file(keyfile), *sig;
	unsigned char *hdr = NULL;
	size_t len = 0;
	DKIM_STAT st;
	DKIM *d;
	int i;
	unsigned minbits = 512;

	/* the weak test key is below libopendkim's 1024-bit floor */
	dkim_options(dl, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
	    sizeof(minbits));

	d = dkim_sign(dl, (unsigned char *)"t", NULL, (unsigned char *)key,
	    (unsigned char *)sel, (unsigned char *)"dkim.test", hcanon,
	    DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	for (i = 0; hdrs[i]; i++)
		assert_int_equal(
		    dkim_header(d, (unsigned char *)hdrs[i], strlen(hdrs[i])),
		    DKIM_STAT_OK);
	assert_int_equal(dkim_eoh(d), DKIM_STAT_OK);
	assert_int_equal(
	    dkim_body(d, (unsigned char *)msg_body, strlen(msg_body)),
	    DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(
	    dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &hdr, &len),
	    DKIM_STAT_OK);
	sig = strndup((char *)hdr, len);
	dkim_free(d);
	dkim_close(dl);
	free(key);
	return sig;
}

/* sign - a DKIM-Signature value for the message, by key as sel */
static char *
sign(const char *keyfile, const char *sel)
{
	return sign_fields(msg_headers, DKIM_CANON_RELAXED, keyfile, sel);
}

/* verify - feed sigs and the message (with changes) through a verifier */
static size_t
verify(struct pfl_arena *a, char **sigs, size_t nsig, const char *subject,
    const char *body, bool lf, const struct pfl_dkim_sig **out)
{
	struct pfl_dkim_verify *v = pfl_dkim_verify_new(lib, a, "q1");
	char *b = strdup(body), *p, *q;
	size_t i, n;

	for (i = 0; i < nsig; i++) {
		char *val = strdup(sigs[i]);

		/* the milter hands folded values with bare LF */
		for (p = q = val; lf && *p; p++)
			if (*p != '\r')
				*q++ = *p;
		if (lf)
			*q = '\0';
		pfl_dkim_verify_header(v, "DKIM-Signature", val, false);
		free(val);
	}
	for (i = 0; msg_headers[i]; i++) {
		if (subject && strncmp(msg_headers[i], "Subject:", 8) == 0)
			pfl_dkim_verify_header(v, "Subject", subject, false);
		else
			pfl_dkim_verify_field(
			    v, msg_headers[i], strlen(msg_headers[i]));
	}
	n = pfl_dkim_verify_eoh(v);
	assert_int_equal(n, nsig);
	for (p = q = b; lf && *p; p++)
		if (*p != '\r')
			*q++ = *p;
	if (lf)
		*q = '\0';
	/* in two chunks, split inside a line end */
	n = strlen(b) / 2;
	pfl_dkim_verify_body(v, (unsigned char *)b, n);
	pfl_dkim_verify_body(v, (unsigned char *)b + n, strlen(b) - n);
	pfl_dkim_verify_eom(v);
	n = pfl_dkim_verify_results(v, out);
	pfl_dkim_verify_free(&v);
	assert_null(v);
	free(b);
	return n;
}

static void
test_verify_pass_and_tamper(void **state)
{
	struct pfl_arena *a = pfl_arena_new();
	const struct pfl_dkim_sig *s;
	char *sig = sign(data("good.private"), "good");

	assert_int_equal(verify(a, &sig, 1, NULL, msg_body, false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_PASS);
	assert_string_equal(s[0].domain, "dkim.test");
	assert_string_equal(s[0].selector, "good");
	assert_string_equal(s[0].algorithm, "rsa-sha256");
	assert_int_equal(s[0].bits, 2048);
	assert_string_equal(s[0].why, "");
	assert_true(pfl_dkim_sig_covers(&s[0], "List-Unsubscribe-Post"));
	assert_true(pfl_dkim_sig_covers(&s[0], "from"));
	assert_non_null(pfl_dkim_covered(
	    s, 1, "list-unsubscribe", "dkim.test", PFL_DKIM_ALIGN_STRICT));
	/* bare LF (as the milter may hand it) verifies the same */
	assert_int_equal(verify(a, &sig, 1, NULL, msg_body, true, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_PASS);
	/* a changed body is told apart from a changed header */
	assert_int_equal(
	    verify(a, &sig, 1, NULL, "Hello Eve,\r\n", false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_FAIL_BODY);
	assert_null(
	    pfl_dkim_covered(s, 1, "from", "dkim.test", PFL_DKIM_ALIGN_STRICT));
	assert_int_equal(
	    verify(a, &sig, 1, "hello again", msg_body, false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_FAIL_HEADER);
	assert_int_equal(s[0].bits, 2048);
	/* results live in the arena after the verifier is gone */
	assert_string_equal(s[0].selector, "good");
	free(sig);
	pfl_arena_free(&a);
}

/* libopendkim's key decode is answered from the cache the second time */
static void
test_verify_key_cache(void **state)
{
	struct pfl_arena *a = pfl_arena_new();
	const struct pfl_dkim_sig *s;
	char *sig = sign(data("good.private"), "good");
	unsigned long hits0, misses0, hits, misses;

	pfl_dkim_keycache_clear(); /* the counts go on */
	pfl_dkim_keycache_stats(&hits0, &misses0);
	assert_int_equal(verify(a, &sig, 1, NULL, msg_body, false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_PASS);
	pfl_dkim_keycache_stats(&hits, &misses);
	assert_int_equal(hits - hits0, 0);
	assert_int_equal(misses - misses0, 1);
	assert_int_equal(verify(a, &sig, 1, NULL, msg_body, false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_PASS);
	assert_int_equal(s[0].bits, 2048);
	/* a cached key still checks the signature */
	assert_int_equal(
	    verify(a, &sig, 1, "hello again", msg_body, false, &s), 1);
	assert_int_equal(s[0].result, PFL_DKIM_FAIL_HEADER);
	pfl_dkim_keycache_stats(&hits, &misses);
	assert_int_equal(hits - hits0, 2);
	assert_int_equal(misses - misses0, 1);
	free(sig);
	pfl_arena_free(&a);
}

static void
test_verify_key_troubles(void **state)
{
	static const struct {
		const char *sel;
		enum pfl_dkim_result want;
		const char *why;
	} cases[] = {
		{ "missing", PFL_DKIM_NOKEY, "no key" },
		{ "dnsfail", PFL_DKIM_TEMPFAIL, "retrieval failed" },
		{ "revoked", PFL_DKIM_PERMERROR, "revoked" },
		{ "testmode", PFL_DKIM_PERMERROR, "test mode" },
		{ "mismatch", PFL_DKIM_FAIL_HEADER, "signature mismatch" },
		{ "weak", PFL_DKIM_PERMERROR, "key too small" },
		{ "good", PFL_DKIM_PASS, "" },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), i;
	struct pfl_arena *a = pfl_arena_new();
	const struct pfl_dkim_sig *s;
	char *sigs[7];

	for (i = 0; i < n; i++)
		sigs[i] = sign(
		    data(strcmp(cases[i].sel, "weak") == 0 ? "weak.private"
							   : "good.private"),
		    cases[i].sel);
	servfail_name = "dnsfail._domainkey.dkim.test";
	assert_int_equal(verify(a, sigs, n, NULL, msg_body, false, &s), n);
	servfail_name = NULL;
	for (i = 0; i < n; i++) {
		assert_string_equal(s[i].selector, cases[i].sel);
		if (s[i].result != cases[i].want ||
		    strstr(s[i].why, cases[i].why) == NULL)
			fail_msg("%s: got %s (%s)", cases[i].sel,
			    pfl_dkim_result_name(s[i].result), s[i].why);
		free(sigs[i]);
	}
	assert_true(s[2].revoked);
	assert_true(s[3].testkey);
	assert_false(s[6].testkey || s[6].revoked);
	/* several signatures: only the passing one covers */
	assert_ptr_equal(pfl_dkim_covered(s, n, "subject", "dkim.test",
			     PFL_DKIM_ALIGN_STRICT),
	    &s[6]);
	pfl_arena_free(&a);
}

/*
 * verify_as_mta - verify a message signed over hdrs the way the milter
 * gets it: each value after the colon, whole with leadspc, else without
 * the one space the MTA takes; the result of the one signature
 */
static enum pfl_dkim_result
verify_as_mta(
    struct pfl_arena *a, const char *const *hdrs, const char *sig, bool leadspc)
{
	struct pfl_dkim_verify *v = pfl_dkim_verify_new(lib, a, "q3");
	const struct pfl_dkim_sig *s;
	char *name, *value;
	size_t i;

	pfl_dkim_verify_header(v, "DKIM-Signature", sig, false);
	for (i = 0; hdrs[i]; i++) {
		name = strndup(hdrs[i], strcspn(hdrs[i], ":"));
		value = strchr(hdrs[i], ':') + 1;
		if (!leadspc && *value == ' ')
			value++;
		pfl_dkim_verify_header(v, name, value, leadspc);
		free(name);
	}
	assert_int_equal(pfl_dkim_verify_eoh(v), 1);
	pfl_dkim_verify_body(
	    v, (const unsigned char *)msg_body, strlen(msg_body));
	pfl_dkim_verify_eom(v);
	assert_int_equal(pfl_dkim_verify_results(v, &s), 1);
	pfl_dkim_verify_free(&v);
	return s[0].result;
}

/*
 * A simple header signature covers the bytes as written: with the value
 * whole (SMFIP_HDR_LEADSPC) it passes; with the space the MTA takes put
 * back it passes only where there was exactly one.
 */
static void
test_verify_exact_header_bytes(void **state)
{
	static const char *const odd[] = {
		"From: Alice <alice@dkim.test>",
		"To:\t bob@example.net",
		"Subject:hello",
		"Date:   Fri, 28 Nov 2025 08:00:00 +0000",
		"Message-ID:\r\n <1@dkim.test>",
		NULL,
	};
	static const char *const plain[] = {
		"From: Alice <alice@dkim.test>",
		"To: bob@example.net",
		"Subject: hello",
		NULL,
	};
	struct pfl_arena *a = pfl_arena_new();
	char *sig =
	    sign_fields(odd, DKIM_CANON_SIMPLE, data("good.private"), "good");

	assert_non_null(strstr(sig, "c=simple/simple"));
	assert_int_equal(verify_as_mta(a, odd, sig, true), PFL_DKIM_PASS);
	assert_int_equal(
	    verify_as_mta(a, odd, sig, false), PFL_DKIM_FAIL_HEADER);
	free(sig);
	/* one space after every colon: both ways give the same bytes */
	sig =
	    sign_fields(plain, DKIM_CANON_SIMPLE, data("good.private"), "good");
	assert_int_equal(verify_as_mta(a, plain, sig, true), PFL_DKIM_PASS);
	assert_int_equal(verify_as_mta(a, plain, sig, false), PFL_DKIM_PASS);
	free(sig);
	/* relaxed does not care about the white space either way */
	sig =
	    sign_fields(odd, DKIM_CANON_RELAXED, data("good.private"), "good");
	assert_int_equal(verify_as_mta(a, odd, sig, true), PFL_DKIM_PASS);
	assert_int_equal(verify_as_mta(a, odd, sig, false), PFL_DKIM_PASS);
	free(sig);
	pfl_arena_free(&a);
}

static void
test_verify_unsigned(void **state)
{
	struct pfl_arena *a = pfl_arena_new();
	struct pfl_dkim_verify *v = pfl_dkim_verify_new(lib, a, NULL);
	const struct pfl_dkim_sig *s = NULL;

	pfl_dkim_verify_header(v, "From", "a@dkim.test", false);
	pfl_dkim_verify_header(v, "Subject", "x", false);
	assert_int_equal(pfl_dkim_verify_eoh(v), 0);
	pfl_dkim_verify_body(v, (const unsigned char *)"x\r\n", 3);
	pfl_dkim_verify_eom(v);
	assert_int_equal(pfl_dkim_verify_results(v, &s), 0);
	pfl_dkim_verify_free(&v);
	/* a verifier freed before end of message (abort) */
	v = pfl_dkim_verify_new(lib, a, "q2");
	pfl_dkim_verify_header(v, "DKIM-Signature", "v=1; garbage", false);
	pfl_dkim_verify_free(&v);
	pfl_arena_free(&a);
}

/* --- key checks and prediction ------------------------------------------------------ */

static void
test_key_check(void **state)
{
	static const struct {
		const char *sel, *key;
		enum pfl_dkim_keystate want;
		unsigned bits;
		const char *fix;
	} cases[] = {
		{ "good", "good.private", PFL_DKIM_KEY_OK, 2048, "" },
		{ "mismatch", "good.private", PFL_DKIM_KEY_MISMATCH, 2048,
		    "DKIM key mismatch._domainkey.dkim.test does not match "
		    "the signing key" },
		{ "weak", "weak.private", PFL_DKIM_KEY_WEAK, 768,
		    "has 768 bits" },
		{ "testmode", "good.private", PFL_DKIM_KEY_TESTMODE, 2048,
		    "remove t=y" },
		{ "revoked", "good.private", PFL_DKIM_KEY_REVOKED, 0,
		    "revoked" },
		{ "missing", "good.private", PFL_DKIM_KEY_NOTFOUND, 0,
		    "publish the DKIM key missing._domainkey.dkim.test" },
		{ "twice", "good.private", PFL_DKIM_KEY_BADRECORD, 0,
		    "2 TXT records" },
		{ "garbage", "good.private", PFL_DKIM_KEY_BADRECORD, 0,
		    "not a public key" },
		{ "good", "nonexistent.private", PFL_DKIM_KEY_NOPRIVATE, 2048,
		    "does not exist" },
		{ "good", NULL, PFL_DKIM_KEY_UNCHECKED, 2048, "not compared" },
		{ "weak", NULL, PFL_DKIM_KEY_WEAK, 768, "2048-bit" },
	};
	enum pfl_dkim_keystate st;
	unsigned bits;
	char fix[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = pfl_dkim_key_check(lib, "dkim.test", cases[i].sel,
		    cases[i].key ? data(cases[i].key) : NULL, &bits, fix,
		    sizeof(fix));
		if (st != cases[i].want || bits != cases[i].bits ||
		    strstr(fix, cases[i].fix) == NULL)
			fail_msg("%s/%s: got %s bits=%u fix=%s", cases[i].sel,
			    cases[i].key ? cases[i].key : "-",
			    pfl_dkim_keystate_name(st), bits, fix);
	}
	servfail_name = "good._domainkey.dkim.test";
	st = pfl_dkim_key_check(lib, "dkim.test", "good", data("good.private"),
	    &bits, fix, sizeof(fix));
	servfail_name = NULL;
	assert_int_equal(st, PFL_DKIM_KEY_TEMPFAIL);
	assert_non_null(strstr(fix, "could not be fetched: SERVFAIL"));
}

static void
test_predict_and_cache(void **state)
{
	struct pfl_dkim_prediction p;
	struct pfl_dkim_signer *s;
	char kt[1024], *errors;
	size_t before;

	snprintf(kt, sizeof(kt),
	    "good     dkim.test:good:%s\n"
	    "mismatch dkim.test:mismatch:%s\n"
	    "testmode dkim.test:testmode:%s\n",
	    data("good.private"), data("good.private"), data("good.private"));
	write_file(tmp("p.keys"), kt);
	write_file(tmp("p.sign"),
	    "*@dkim.test        good\n"
	    "*@bad.dkim.test    mismatch\n"
	    "*@*.dkim.test      testmode\n");
	{
		char spec[200];

		snprintf(spec, sizeof(spec), "refile:%s", tmp("p.sign"));
		s = signer(conf(tmp("p.keys"), spec,
			       "KeyCheckInterval 1s\n"
			       "SignerSignHeaders *,+list-unsubscribe-post\n"),
		    &errors);
	}
	assert_non_null(s);
	before = nqueries;
	pfl_dkim_predict(s, lib, "alice@dkim.test", &p);
	assert_int_equal(p.result, PFL_DKIM_WOULD_SIGN);
	assert_int_equal(p.key, PFL_DKIM_KEY_OK);
	assert_string_equal(p.domain, "dkim.test");
	assert_string_equal(p.selector, "good");
	assert_int_equal(p.bits, 2048);
	assert_true(p.list_unsubscribe && p.list_unsubscribe_post);
	assert_string_equal(p.fix, "");
	assert_true(nqueries > before);
	/* cached: no DNS for the same key */
	before = nqueries;
	pfl_dkim_predict(s, lib, "bob@dkim.test", &p);
	assert_int_equal(p.result, PFL_DKIM_WOULD_SIGN);
	assert_int_equal(nqueries, before);
	pfl_dkim_predict(s, lib, "carol@bad.dkim.test", &p);
	assert_int_equal(p.result, PFL_DKIM_KEY_PROBLEM);
	assert_int_equal(p.key, PFL_DKIM_KEY_MISMATCH);
	assert_string_equal(p.fix,
	    "DKIM key mismatch._domainkey.dkim.test "
	    "does not match the signing key");
	pfl_dkim_predict(s, lib, "dave@x.dkim.test", &p);
	assert_int_equal(p.result, PFL_DKIM_KEY_PROBLEM);
	assert_int_equal(p.key, PFL_DKIM_KEY_TESTMODE);
	pfl_dkim_predict(s, lib, "eve@example.com", &p);
	assert_int_equal(p.result, PFL_DKIM_WOULD_NOT_SIGN);
	assert_non_null(strstr(p.fix, "eve@example.com"));
	/* after KeyCheckInterval the key is checked again */
	usleep(1100 * 1000);
	before = nqueries;
	servfail_name = "good._domainkey.dkim.test";
	pfl_dkim_predict(s, lib, "alice@dkim.test", &p);
	servfail_name = NULL;
	assert_true(nqueries > before);
	assert_int_equal(p.result, PFL_DKIM_KEY_UNKNOWN);
	assert_int_equal(p.key, PFL_DKIM_KEY_TEMPFAIL);
	pfl_dkim_signer_free(&s);
}

/* Shared by the threads of test_threads. */
struct shared {
	char *sig;
	struct pfl_dkim_signer *signer;
	int failures;
};

/* worker - verify and predict over and over */
static void *
worker(void *arg)
{
	struct shared *sh = arg;
	struct pfl_dkim_prediction p;
	const struct pfl_dkim_sig *s;
	struct pfl_arena *a;
	int i;

	for (i = 0; i < 20; i++) {
		a = pfl_arena_new();
		if (verify(a, &sh->sig, 1, NULL, msg_body, i % 2, &s) != 1 ||
		    s[0].result != PFL_DKIM_PASS)
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
		pfl_arena_free(&a);
		pfl_dkim_predict(sh->signer, lib,
		    i % 2 ? "a@dkim.test" : "b@bad.dkim.test", &p);
		if (p.key != (i % 2 ? PFL_DKIM_KEY_OK : PFL_DKIM_KEY_MISMATCH))
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* one library handle and one signer shared by 8 threads */
static void
test_threads(void **state)
{
	struct shared sh = { NULL, NULL, 0 };
	pthread_t t[8];
	char kt[600], *errors, spec[200];
	int i;

	snprintf(kt, sizeof(kt),
	    "good dkim.test:good:%s\nmismatch dkim.test:mismatch:%s\n",
	    data("good.private"), data("good.private"));
	write_file(tmp("t.keys"), kt);
	write_file(tmp("t.sign"), "*@dkim.test good\n*@*.dkim.test mismatch\n");
	snprintf(spec, sizeof(spec), "refile:%s", tmp("t.sign"));
	sh.signer = signer(conf(tmp("t.keys"), spec, NULL), &errors);
	assert_non_null(sh.signer);
	sh.sig = sign(data("good.private"), "good");
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sh.failures, 0);
	free(sh.sig);
	pfl_dkim_signer_free(&sh.signer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refile_wildcards),
		cmocka_unit_test(test_flat_table_order),
		cmocka_unit_test(test_table_errors),
		cmocka_unit_test(test_sign_headers),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_keyrec),
		cmocka_unit_test(test_verify_pass_and_tamper),
		cmocka_unit_test(test_verify_key_cache),
		cmocka_unit_test(test_verify_key_troubles),
		cmocka_unit_test(test_verify_exact_header_bytes),
		cmocka_unit_test(test_verify_unsigned),
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_predict_and_cache),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
