/*
 * NAME
 *	glue 3h - the libmilter callbacks
 * DESCRIPTION
 *	Only translation: each xxfi_* callback turns libmilter's arguments
 *	into a call on the session module and its answer back into SMFIS_*.
 *	Per-connection state is kept only behind smfi_setpriv.
 */
#ifndef PFL_GLUE_H
#define PFL_GLUE_H

/* pfl_glue_register - register the filter with libmilter; 0 or -1 */
int pfl_glue_register(const char *name);

#endif
