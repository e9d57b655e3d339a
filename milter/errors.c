/*
 * NAME
 *	errors - "FILE:LINE: message" problem lists, and text files
 */
#include <autoconfig.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "util.h"

/* pfl_errors_add - one problem */
void
pfl_errors_add(
    struct pfl_errors *e, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], full[1400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		n = snprintf(
		    full, sizeof(full), "%s:%d: %s\n", file, line, msg);
	else
		n = snprintf(full, sizeof(full), "%s: %s\n", file, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(full))
		n = sizeof(full) - 1;
	e->text = pfl_xrealloc(e->text, e->len + (size_t)n + 1);
	memcpy(e->text + e->len, full, (size_t)n + 1);
	e->len += (size_t)n;
	e->count++;
}

/* pfl_errors_append - add another loader's lines */
void
pfl_errors_append(struct pfl_errors *e, char *lines)
{
	size_t n;

	if (lines == NULL)
		return;
	n = strlen(lines);
	e->text = pfl_xrealloc(e->text, e->len + n + 2);
	memcpy(e->text + e->len, lines, n + 1);
	e->len += n;
	if (n > 0 && lines[n - 1] != '\n') {
		e->text[e->len++] = '\n';
		e->text[e->len] = '\0';
	}
	e->count++;
	free(lines);
}

/* pfl_errors_take - the text for the caller; resets */
char *
pfl_errors_take(struct pfl_errors *e)
{
	char *t = e->text;

	e->text = NULL;
	e->len = 0;
	e->count = 0;
	return t;
}

/* pfl_text_file_read - a whole text file, or NULL with the problem */
char *
pfl_text_file_read(const char *path, size_t max, struct pfl_errors *e)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		pfl_errors_add(e, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 + 1 > cap)
			buf = pfl_xrealloc(buf, cap = cap * 2 + 8192);
		n = fread(buf + len, 1, 4096, fp);
		len += n;
	} while (n > 0 && len <= max);
	if (ferror(fp) || len > max) {
		pfl_errors_add(e, path, 0, "cannot read: %s",
		    ferror(fp) ? strerror(errno) : "file too large");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		pfl_errors_add(e, path, 0, "file contains NUL bytes");
		free(buf);
		return NULL;
	}
	return buf;
}
