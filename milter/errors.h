/*
 * NAME
 *	errors 3h - "FILE:LINE: message" problem lists, and text files
 * DESCRIPTION
 *	Loaders of admin-written files (the config, the signer's tables, the
 *	provider rules) report every problem they find, not just the first,
 *	as lines of text the daemon logs and `-n` prints. A struct pfl_errors
 *	starts zeroed; pfl_errors_take hands the text to the caller.
 */
#ifndef PFL_ERRORS_H
#define PFL_ERRORS_H

#include <stddef.h>

struct pfl_errors {
	char *text; /* "FILE:LINE: message\n" lines, or NULL */
	size_t len;
	int count;
};

/* pfl_errors_add - one problem; line 0 leaves the line number out */
void pfl_errors_add(struct pfl_errors *, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * pfl_errors_append - add the lines another loader returned (NULL is
 * fine); takes ownership of lines and frees them
 */
void pfl_errors_append(struct pfl_errors *, char *lines);

/* pfl_errors_take - the text (malloc'd, or NULL) for the caller; resets */
char *pfl_errors_take(struct pfl_errors *);

/*
 * pfl_text_file_read - a whole text file of at most max bytes, NUL-
 * terminated (malloc'd), or NULL with the problem added to e.
 */
char *pfl_text_file_read(const char *path, size_t max, struct pfl_errors *e);

#endif
