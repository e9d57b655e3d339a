/*
 * NAME
 *	util 3h - allocation, bounded strings, printable text
 * DESCRIPTION
 *	The allocators never return NULL: out of memory aborts the process
 *	(a milter that limps on without memory loses mail). pfl_printable
 *	makes untrusted text safe for a log line or a header value.
 */
#ifndef PFL_UTIL_H
#define PFL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define PFL_DEFAULT_CONFIG "/etc/preflight/preflight.conf"

/* pfl_xmalloc - allocate or abort */
void *pfl_xmalloc(size_t);
/* pfl_xcalloc - allocate zeroed memory or abort */
void *pfl_xcalloc(size_t, size_t);
/* pfl_xrealloc - resize or abort */
void *pfl_xrealloc(void *, size_t);
/* pfl_xstrdup - copy a string or abort */
char *pfl_xstrdup(const char *);
/* pfl_xstrndup - copy at most n bytes of a string, NUL-terminated */
char *pfl_xstrndup(const char *, size_t);

/* pfl_strlcpy - bounded copy, always terminated; returns strlen(src) */
size_t pfl_strlcpy(char *, const char *, size_t);

/* pfl_strlcatf - append printf output to the string in buf (size n), cut */
void pfl_strlcatf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pfl_now_ms - a monotonic clock in milliseconds */
long long pfl_now_ms(void);

/*
 * pfl_printable - copy src into dst (size n), replacing bytes that are not
 * printable ASCII, and the characters in "extra", by '?'; returns dst.
 */
char *pfl_printable(char *dst, size_t n, const char *src, const char *extra);

/* pfl_strcaseeq - ASCII case-insensitive equality */
bool pfl_strcaseeq(const char *, const char *);

/* pfl_trim - strip leading and trailing white space in place */
char *pfl_trim(char *);

/*
 * pfl_addr_domain - the domain part of an address such as "<a@b.c>" or
 * "a@b.c", lower-cased into dst (size n); empty when there is none.
 */
char *pfl_addr_domain(char *dst, size_t n, const char *addr);

/*
 * pfl_addr_strip - the address without angle brackets, lower-cased into
 * dst (size n).
 */
char *pfl_addr_strip(char *dst, size_t n, const char *addr);

#endif
