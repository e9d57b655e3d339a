/*
 * NAME
 *	msgfile 3h - a message file, handed over as an MTA hands it to a
 *	milter
 * DESCRIPTION
 *	The subcommands that look at a message without an MTA read it whole
 *	with pfl_msgfile_read and walk it with pfl_msgfile_walk, which calls
 *	back once per header field, once at the end of the headers and once
 *	with the body: the same pieces, byte for byte, that Postfix's milter
 *	protocol passes preflight-milter (which asks for header values with
 *	their leading white space, SMFIP_HDR_LEADSPC), so that checks and
 *	signatures come out as in the milter.
 */
#ifndef PFL_MSGFILE_H
#define PFL_MSGFILE_H

#include <stdbool.h>
#include <stddef.h>

#define PFL_MSGFILE_MAX (64u << 20) /* bytes pfl_msgfile_read takes */

/*
 * pfl_msgfile_read - the whole file at path ("-": standard input), at
 * most PFL_MSGFILE_MAX bytes, in a buffer the caller frees; its length
 * in *len_r. NULL with errno set (EFBIG when too large, EIO on a read
 * error).
 */
char *pfl_msgfile_read(const char *path, size_t *len_r);

/* What pfl_msgfile_walk calls; arg is the walk's own. */
struct pfl_msgfile_ops {
	/* one header field: the name, and the value as written */
	void (*header)(void *arg, const char *name, const char *value);
	/* the end of the headers; false when the body is not wanted */
	bool (*eoh)(void *arg);
	/* the whole body, when eoh wanted it and there is one (len > 0) */
	void (*body)(void *arg, const unsigned char *buf, size_t len);
};

/*
 * pfl_msgfile_walk - split msg[0..len) (LF or CRLF line ends; a leading
 * mbox "From " line is skipped) into header fields and body. A field's
 * name ends before the colon and any white space before it; its value is
 * everything after the colon, white space included, and keeps
 * continuation lines with their line ends. The empty line ends the
 * headers; so does a line that starts no field, which is then the body's
 * first line, as for the MTA.
 */
void pfl_msgfile_walk(
    const char *msg, size_t len, const struct pfl_msgfile_ops *ops, void *arg);

#endif
