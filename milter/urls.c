/*
 * NAME
 *	urls - the host names of the links in a message
 * DESCRIPTION
 *	GMime parses the message from the caller's bytes (not copied) and
 *	we walk its parts: multipart and message/rfc822 ones down to
 *	URLS_MAX_DEPTH, text/plain and text/html leaves whatever their
 *	Content-Disposition (an attached page is still text a filter reads).
 *	A leaf's Content-Transfer-Encoding is undone by GMime's basic filter
 *	over the data wrapper's stream, as the wrapper itself does; no
 *	charset is converted, links being ASCII. A message GMime cannot
 *	parse is scanned raw, as HTML.
 *
 *	In the text, a link is "http://" or "https://" anywhere, and in
 *	HTML the value of an href= or src= attribute that starts, once
 *	character references are decoded, with one of those or with "//".
 *	The host is what follows "//" up to '/', '?', '#' or a byte that
 *	ends a URL in prose (space, quote, '<', '>', '&', ',', ';', '(',
 *	')'), less any userinfo (up to the last '@') and ":port".
 * SECURITY
 *	Everything is bounded by the caller's limits or our constants: the
 *	decoded text of one part is held in one buffer of at most max_bytes,
 *	an authority is read for at most URLS_AUTH_MAX bytes, hosts go in a
 *	hash set, so that no scan is quadratic. GMime makes objects for
 *	every part before we see any (about a kilobyte each), so it is only
 *	given the message up to the line that would be the URLS_DASH_LINES-th
 *	to start with "--": a boundary line needs one, and a message of a
 *	million empty parts would otherwise cost gigabytes.
 * THREAD SAFETY
 *	GMime is initialised once per process (pthread_once); the objects of
 *	a call are its own.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "urls.h"
#include "util.h"

#define URLS_MAX_DEPTH 32  /* nested multiparts and messages walked */
#define URLS_AUTH_MAX  512 /* bytes of one authority read */
#define URLS_HOST_MAX  253 /* bytes of a host name */
#define URLS_CHUNK     4096
/* lines starting with "--" that GMime may see, for max_parts parts */
#define URLS_DASH_LINES(p) ((p) > SIZE_MAX / 8 ? SIZE_MAX : 4 * (p) + 64)

/* One extraction. */
struct scan {
	const struct pfl_urls_limits *lim;
	struct pfl_urls *r;
	size_t hostcap; /* room in r->hosts */
	size_t *set;    /* hash set: index + 1 into r->hosts, 0 when free */
	size_t setsize; /* a power of two, more than twice r->nhosts */
	size_t left;    /* decoded bytes that may still be scanned */
	size_t parts;   /* parts looked at */
	char *text;     /* the decoded text of one part */
	size_t textcap;
	char value[8 + URLS_AUTH_MAX]; /* an attribute value, decoded */
};

static pthread_once_t urls_once = PTHREAD_ONCE_INIT;

/* urls_init - initialise GMime, once */
static void
urls_init(void)
{
	g_mime_init();
}

/* is_digit, is_alpha, lower - ASCII only, whatever the locale */
static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* is_auth - may the byte be part of a URL's authority, as we read it? */
static bool
is_auth(int c)
{
	return is_alpha(c) || is_digit(c) || c >= 0x80 ||
	    (c != '\0' && strchr("-._~%!$*+=:@[]", c) != NULL);
}

/* hash - FNV-1a of n bytes */
static size_t
hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211u;
	return (size_t)h;
}

/* set_grow - double the hash set and place the hosts anew */
static void
set_grow(struct scan *s)
{
	size_t size = s->setsize ? 2 * s->setsize : 16, i, h;
	char *host;

	free(s->set);
	s->set = pfl_xcalloc(size, sizeof(*s->set));
	s->setsize = size;
	for (i = 0; i < s->r->nhosts; i++) {
		host = s->r->hosts[i];
		h = hash(host, strlen(host)) & (size - 1);
		while (s->set[h] != 0)
			h = (h + 1) & (size - 1);
		s->set[h] = i + 1;
	}
}

/* add_host - count a link to host h (n bytes); keep h if new and room */
static void
add_host(struct scan *s, const char *h, size_t n)
{
	struct pfl_urls *r = s->r;
	size_t i, k;

	r->nlinks++;
	if (s->setsize <= 2 * r->nhosts + 1)
		set_grow(s);
	for (i = hash(h, n) & (s->setsize - 1); (k = s->set[i]) != 0;
	     i = (i + 1) & (s->setsize - 1))
		if (strncmp(r->hosts[k - 1], h, n) == 0 &&
		    r->hosts[k - 1][n] == '\0')
			return;
	if (r->nhosts >= s->lim->max_hosts) {
		r->truncated = true;
		return;
	}
	if (r->nhosts == s->hostcap) {
		s->hostcap = s->hostcap ? 2 * s->hostcap : 8;
		r->hosts = pfl_xrealloc(r->hosts, s->hostcap * sizeof(char *));
	}
	r->hosts[r->nhosts++] = pfl_xstrndup(h, n);
	s->set[i] = r->nhosts;
}

/*
 * host_ok - is h (n bytes, lower case) a DNS name of letters, digits and
 * hyphens, with two labels or more, the last not all digits?
 */
static bool
host_ok(const char *h, size_t n)
{
	size_t i, label = 0, dots = 0;
	bool name = false; /* the last label has a byte that is no digit */

	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			dots++;
			name = false;
			continue;
		}
		if (!(is_alpha(h[i]) || is_digit(h[i]) || h[i] == '-') ||
		    ++label > 63)
			return false;
		name |= !is_digit(h[i]);
	}
	return label > 0 && dots > 0 && name;
}

/* link_host - the host of the authority at a (n bytes there), if any */
static void
link_host(struct scan *s, const char *a, size_t n)
{
	char host[URLS_HOST_MAX];
	size_t k, at = 0, e;

	for (k = 0; k < n && k < URLS_AUTH_MAX && is_auth((unsigned char)a[k]);
	     k++)
		if (a[k] == '@')
			at = k + 1;
	if (k == URLS_AUTH_MAX || (at < k && a[at] == '['))
		return; /* too long to be true; an IP literal */
	for (e = at; e < k && a[e] != ':'; e++)
		;
	if (e > at && a[e - 1] == '.')
		e--; /* the root */
	if (e == at || e - at > URLS_HOST_MAX)
		return;
	for (k = at; k < e; k++)
		host[k - at] = (char)lower((unsigned char)a[k]);
	if (host_ok(host, e - at))
		add_host(s, host, e - at);
}

/* scheme_len - the length of "http://" or "https://" at t, or 0 */
static size_t
scheme_len(const char *t, size_t n)
{
	static const char *const schemes[] = { "http://", "https://" };
	size_t i, k, m;

	for (i = 0; i < 2; i++) {
		m = strlen(schemes[i]);
		for (k = 0; k < m && k < n && lower(t[k]) == schemes[i][k]; k++)
			;
		if (k == m)
			return m;
	}
	return 0;
}

/*
 * prefix_len - for the start v[0..n) of an attribute value: the length
 * of the "//", "http://" or "https://" it starts with, 0 while it may
 * still become one, -1 when it cannot
 */
static int
prefix_len(const char *v, size_t n)
{
	static const char *const prefixes[] = { "//", "http://", "https://" };
	size_t i, k, m;
	int r = -1;

	for (i = 0; i < 3; i++) {
		m = strlen(prefixes[i]);
		for (k = 0; k < m && k < n && lower(v[k]) == prefixes[i][k];
		     k++)
			;
		if (k == m)
			return (int)m;
		if (k == n)
			r = 0;
	}
	return r;
}

/* numeric_ref - the byte "&#NN;" or "&#xHH;" at p stands for; see entity */
static int
numeric_ref(const char *p, size_t n, size_t *used_r)
{
	size_t i = 2, digits = 0;
	unsigned long v = 0;
	int base = 10, d;

	if (i < n && lower(p[i]) == 'x') {
		base = 16;
		i++;
	}
	for (; i < n && digits < 12; i++, digits++) {
		if (is_digit(p[i]))
			d = p[i] - '0';
		else if (base == 16 && lower(p[i]) >= 'a' && lower(p[i]) <= 'f')
			d = lower(p[i]) - 'a' + 10;
		else
			break;
		v = v * (unsigned long)base + (unsigned long)d;
	}
	if (digits == 0)
		return -1;
	*used_r = i < n && p[i] == ';' ? i + 1 : i;
	return v > 0 && v < 0x80 ? (int)v : 0x80; /* 0x80: not ASCII */
}

/*
 * entity - the byte the character reference at p ('&', n bytes there)
 * stands for, and its length in *used_r; -1 when there is none we know
 */
static int
entity(const char *p, size_t n, size_t *used_r)
{
	static const struct {
		const char *name;
		char c;
	} names[] = {
		{ "amp;", '&' },
		{ "lt;", '<' },
		{ "gt;", '>' },
		{ "quot;", '"' },
		{ "apos;", '\'' },
		{ "sol;", '/' },
		{ "colon;", ':' },
		{ "period;", '.' },
		{ "commat;", '@' },
		{ "num;", '#' },
		{ "quest;", '?' },
		{ "Tab;", '\t' },
		{ "NewLine;", '\n' },
	};
	size_t i, m;

	if (n > 2 && p[1] == '#')
		return numeric_ref(p, n, used_r);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		m = strlen(names[i].name);
		if (n > m && memcmp(p + 1, names[i].name, m) == 0) {
			*used_r = m + 1;
			return (unsigned char)names[i].c;
		}
	}
	return -1;
}

/* skip_space - the first byte at or after i in t[0..n) that is no space */
static size_t
skip_space(const char *t, size_t n, size_t i)
{
	while (i < n && strchr(" \t\r\n\f", t[i]) != NULL && t[i] != '\0')
		i++;
	return i;
}

/* attr_name - the length of "href" or "src" starting a name at t[i], or 0 */
static size_t
attr_name(const char *t, size_t n, size_t i)
{
	static const char *const names[] = { "href", "src" };
	size_t k, j, m;
	int c = i > 0 ? (unsigned char)t[i - 1] : ' ';

	/* after a tag's name or another attribute, not inside a word or URL */
	if (c == '\0' || strchr(" \t\r\n\f\"'/", c) == NULL)
		return 0;
	for (j = 0; j < 2; j++) {
		m = strlen(names[j]);
		for (k = 0;
		     k < m && i + k < n && lower(t[i + k]) == names[j][k]; k++)
			;
		if (k == m)
			return m;
	}
	return 0;
}

/*
 * attr_link - the link in the value of the attribute whose name ends
 * before t[i], decoded into s->value as far as its host goes; returns
 * where the value starts (n when there is no value)
 */
static size_t
attr_link(struct scan *s, const char *t, size_t n, size_t i)
{
	size_t v = 0, used, start;
	int c, plen = 0;
	char q = 0;

	if ((i = skip_space(t, n, i)) >= n || t[i] != '=')
		return n;
	i = skip_space(t, n, i + 1);
	if (i < n && (t[i] == '"' || t[i] == '\''))
		q = t[i++];
	start = i = skip_space(t, n, i);
	while (i < n && v < sizeof(s->value)) {
		c = (unsigned char)t[i];
		if (q ? c == q : (strchr(" \t\r\n\f>", c) != NULL && c != '\0'))
			break;
		used = 1;
		if (c == '&' && (c = entity(t + i, n - i, &used)) < 0)
			c = '&';
		if (plen > 0 && !is_auth(c))
			break; /* the end of the authority */
		s->value[v++] = (char)c;
		i += used;
		if (plen == 0 && (plen = prefix_len(s->value, v)) < 0)
			return start;
	}
	if (plen > 0)
		link_host(s, s->value + plen, v - (size_t)plen);
	return start;
}

/* scan_text - the links in t[0..n), read as HTML or plain text */
static void
scan_text(struct scan *s, const char *t, size_t n, bool html)
{
	size_t i, m, skip = SIZE_MAX;
	int c;

	for (i = 0; i < n; i++) {
		c = lower(t[i]);
		if (c != 'h' && c != 's')
			continue;
		if ((m = scheme_len(t + i, n - i)) > 0) {
			/* a value attr_link read already is not read twice */
			if (i != skip)
				link_host(s, t + i + m, n - i - m);
			i += m - 1;
		} else if (html && (m = attr_name(t, n, i)) > 0)
			skip = attr_link(s, t, n, i + m);
	}
}

/* cut_tail - the length of t[0..n), cut short, less a link it cut in two */
static size_t
cut_tail(const char *t, size_t n)
{
	while (n > 0 && is_auth((unsigned char)t[n - 1]))
		n--;
	return n;
}

/* decoder - a stream of raw's bytes with their transfer encoding undone */
static GMimeStream *
decoder(GMimeStream *raw, GMimeContentEncoding enc)
{
	GMimeStream *f = g_mime_stream_filter_new(raw);
	GMimeFilter *basic;

	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		basic = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), basic);
		g_object_unref(basic);
	}
	return f;
}

/* grow_text - room for need bytes in s->text, doubling up to s->left */
static void
grow_text(struct scan *s, size_t need)
{
	size_t cap = s->textcap * 2;

	cap = cap < need ? need : cap > s->left ? s->left : cap;
	s->text = pfl_xrealloc(s->text, cap);
	s->textcap = cap;
}

/* part_text - a leaf's decoded text, at most s->left bytes, in s->text */
static size_t
part_text(struct scan *s, GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *raw, *f;
	size_t n = 0, want;
	ssize_t k;
	int idle = 0; /* reads that gave nothing (a filter ate a block) */
	bool cut = false;
	char one;

	if (w == NULL || (raw = g_mime_data_wrapper_get_stream(w)) == NULL)
		return 0;
	g_mime_stream_reset(raw);
	f = decoder(raw, g_mime_data_wrapper_get_encoding(w));
	for (;;) {
		if ((want = s->left - n) == 0) {
			cut = g_mime_stream_read(f, &one, 1) > 0;
			break;
		}
		want = want < URLS_CHUNK ? want : URLS_CHUNK;
		if (n + want > s->textcap)
			grow_text(s, n + want);
		k = g_mime_stream_read(f, s->text + n, want);
		if (k < 0 ||
		    (k == 0 && (g_mime_stream_eos(f) || ++idle > 1024)))
			break;
		n += (size_t)k;
	}
	g_object_unref(f);
	s->left -= n;
	s->r->truncated |= cut;
	return cut ? cut_tail(s->text, n) : n;
}

/* text_leaf - is obj a text/plain or text/html leaf? which, in *html_r */
static bool
text_leaf(GMimeObject *obj, bool *html_r)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (!GMIME_IS_PART(obj) || ct == NULL)
		return false;
	*html_r = g_mime_content_type_is_type(ct, "text", "html");
	return *html_r || g_mime_content_type_is_type(ct, "text", "plain");
}

/* walk - the links in obj and the parts inside it */
static void
walk(struct scan *s, GMimeObject *obj, int depth)
{
	GMimeMessage *m;
	size_t len;
	int i, n;
	bool html;

	if (obj == NULL)
		return;
	if (s->parts >= s->lim->max_parts || depth > URLS_MAX_DEPTH) {
		s->r->truncated = true;
		return;
	}
	s->parts++;
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			walk(s,
			    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (m != NULL)
			walk(s, g_mime_message_get_mime_part(m), depth + 1);
	} else if (text_leaf(obj, &html)) {
		len = part_text(s, GMIME_PART(obj)); /* may move s->text */
		scan_text(s, s->text, len, html);
	}
}

/*
 * mime_len - how much of msg GMime gets: all of it, or up to the line
 * that would be the one too many starting with "--" (*cut_r set)
 */
static size_t
mime_len(const char *msg, size_t len, size_t max_parts, bool *cut_r)
{
	const char *p = msg, *end = msg + len, *nl;
	size_t dashes = 0, max = URLS_DASH_LINES(max_parts);

	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-' &&
		    ++dashes > max) {
			*cut_r = true;
			return (size_t)(p - msg);
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return len;
		p = nl + 1;
	}
}

/* scan_mime - the links in the parts GMime finds; false if it finds none */
static bool
scan_mime(struct scan *s, const char *msg, size_t len)
{
	GByteArray *bytes;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *m;
	bool cut = false;

	len = mime_len(msg, len, s->lim->max_parts, &cut);
	if (len == 0 || len > G_MAXUINT)
		return false;
	/* The stream is only read, and does not own the bytes. */
	bytes = g_byte_array_new_take((guint8 *)msg, len);
	stream = g_mime_stream_mem_new_with_byte_array(bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	if ((m = g_mime_parser_construct_message(parser, NULL)) != NULL) {
		walk(s, g_mime_message_get_mime_part(m), 0);
		s->r->truncated |= cut;
		g_object_unref(m);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	g_byte_array_free(bytes, FALSE); /* the wrapper, not the bytes */
	return m != NULL;
}

/* pfl_urls_extract - the link hosts of a message */
void
pfl_urls_extract(const char *msg, size_t len,
    const struct pfl_urls_limits *limits, struct pfl_urls *r)
{
	struct scan *s = pfl_xcalloc(1, sizeof(*s));

	memset(r, 0, sizeof(*r));
	s->lim = limits;
	s->r = r;
	s->left = limits->max_bytes;
	pthread_once(&urls_once, urls_init);
	if (!scan_mime(s, msg, len)) {
		if (len > s->left) {
			len = cut_tail(msg, s->left);
			r->truncated = true;
		}
		scan_text(s, msg, len, true);
	}
	free(s->set);
	free(s->text);
	free(s);
}

/* pfl_urls_free - release the hosts and clear *r */
void
pfl_urls_free(struct pfl_urls *r)
{
	size_t i;

	for (i = 0; i < r->nhosts; i++)
		free(r->hosts[i]);
	free(r->hosts);
	memset(r, 0, sizeof(*r));
}
