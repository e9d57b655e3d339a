/*
 * NAME
 *	util - allocation, bounded strings, printable text
 * SECURITY
 *	pfl_printable is the only way untrusted text reaches a log line or a
 *	header we add: no control character, no line break survives it.
 */
#include <autoconfig.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* oom - give up: there is no safe way to go on without memory */
static void
oom(size_t n)
{
	fprintf(stderr, "preflight: out of memory (%zu bytes)\n", n);
	abort();
}

/* pfl_xmalloc - allocate or abort */
void *
pfl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

/* pfl_xcalloc - allocate zeroed memory or abort */
void *
pfl_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

/* pfl_xrealloc - resize or abort */
void *
pfl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

/* pfl_xstrdup - copy a string or abort */
char *
pfl_xstrdup(const char *s)
{
	return pfl_xstrndup(s, strlen(s));
}

/* pfl_xstrndup - copy at most n bytes of a string, NUL-terminated */
char *
pfl_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = pfl_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* pfl_strlcatf - append printf output to the string in buf, cut */
void
pfl_strlcatf(char *buf, size_t n, const char *fmt, ...)
{
	size_t len = strnlen(buf, n);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, n - len, fmt, ap);
	va_end(ap);
}

/* pfl_now_ms - a monotonic clock in milliseconds */
long long
pfl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pfl_strlcpy - bounded copy, always terminated; returns strlen(src) */
size_t
pfl_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n > 0) {
		size_t k = len < n - 1 ? len : n - 1;

		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return len;
}

/* pfl_printable - copy with unsafe bytes replaced by '?' */
char *
pfl_printable(char *dst, size_t n, const char *src, const char *extra)
{
	size_t i;

	if (n == 0)
		return dst;
	for (i = 0; src != NULL && src[i] != '\0' && i < n - 1; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c > 0x7e || (extra && strchr(extra, c)))
			dst[i] = '?';
		else
			dst[i] = (char)c;
	}
	dst[i] = '\0';
	return dst;
}

/* pfl_strcaseeq - ASCII case-insensitive equality */
bool
pfl_strcaseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* pfl_trim - strip leading and trailing white space in place */
char *
pfl_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* pfl_addr_strip - address without angle brackets, lower-cased */
char *
pfl_addr_strip(char *dst, size_t n, const char *addr)
{
	size_t len, i, k = 0;

	if (n == 0)
		return dst;
	if (addr == NULL)
		addr = "";
	len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	for (i = 0; i < len && k < n - 1; i++)
		dst[k++] = (char)tolower((unsigned char)addr[i]);
	dst[k] = '\0';
	return dst;
}

/* pfl_addr_domain - lower-cased domain part of an address */
char *
pfl_addr_domain(char *dst, size_t n, const char *addr)
{
	char buf[1024];
	const char *at;

	pfl_addr_strip(buf, sizeof(buf), addr);
	at = strrchr(buf, '@');
	pfl_strlcpy(dst, at ? at + 1 : "", n);
	return dst;
}
