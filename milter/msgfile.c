/*
 * NAME
 *	msgfile - a message file, handed over as an MTA hands it to a milter
 * DESCRIPTION
 *	The split into fields follows what Postfix passes to a milter that
 *	asked for SMFIP_HDR_LEADSPC, seen byte for byte: the value with all
 *	the white space after the colon, folded lines kept with their line
 *	ends, and a line that starts no field taken as the start of the
 *	body. (Like Postfix, the name loses any white space before the
 *	colon.)
 */
#include <autoconfig.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgfile.h"
#include "util.h"

/* pfl_msgfile_read - the whole file ("-": standard input); NULL with errno */
char *
pfl_msgfile_read(const char *path, size_t *len_r)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 0, n;
	char *buf = NULL;

	if (fp == NULL)
		return NULL;
	do {
		if (len + 65536 > cap)
			buf = pfl_xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len <= PFL_MSGFILE_MAX);
	if (ferror(fp) || len > PFL_MSGFILE_MAX) {
		errno = ferror(fp) ? EIO : EFBIG;
		free(buf);
		buf = NULL;
	}
	if (fp != stdin)
		fclose(fp);
	*len_r = len;
	return buf;
}

/* line_end - end of the line at p (before LF or CRLF); *next after it */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* is_ftext - may the byte be part of a field name (RFC 5322 ftext)? */
static bool
is_ftext(char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

/*
 * field_name_end - where the name of a field starting the line [p, le)
 * ends (before the colon and any white space before it); NULL when the
 * line starts no field
 */
static const char *
field_name_end(const char *p, const char *le)
{
	const char *q, *e;

	for (q = p; q < le && is_ftext(*q); q++)
		;
	for (e = q; q < le && (*q == ' ' || *q == '\t'); q++)
		;
	return e > p && q < le && *q == ':' ? e : NULL;
}

/*
 * header - one field [p, end) as the MTA gives it to a milter: the value
 * is everything after the colon
 */
static void
header(const struct pfl_msgfile_ops *ops, void *arg, const char *p,
    const char *end)
{
	const char *ne = field_name_end(p, end);
	const char *v = memchr(p, ':', (size_t)(end - p));
	char *name = pfl_xstrndup(p, (size_t)(ne - p)), *value;

	v++; /* the value starts right after the colon */
	value = pfl_xstrndup(v, (size_t)(end - v));
	ops->header(arg, name, value);
	free(name);
	free(value);
}

/* pfl_msgfile_walk - the header fields, the end of the headers, the body */
void
pfl_msgfile_walk(
    const char *msg, size_t len, const struct pfl_msgfile_ops *ops, void *arg)
{
	const char *p = msg, *end = msg + len, *start = NULL, *fend = NULL;
	const char *le, *next;

	if (len > 5 && memcmp(msg, "From ", 5) == 0) /* an mbox separator */
		line_end(msg, end, &p);
	for (; p < end; p = next) {
		le = line_end(p, end, &next);
		if (start != NULL && (*p == ' ' || *p == '\t')) {
			fend = le; /* a continuation line */
			continue;
		}
		if (start != NULL)
			header(ops, arg, start, fend);
		start = NULL;
		if (le == p) { /* the empty line: the body follows */
			p = next;
			break;
		}
		if (field_name_end(p, le) == NULL)
			break;
		start = p;
		fend = le;
	}
	if (start != NULL)
		header(ops, arg, start, fend);
	if (ops->eoh(arg) && p < end)
		ops->body(arg, (const unsigned char *)p, (size_t)(end - p));
}
