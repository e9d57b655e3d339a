/*
 * NAME
 *	glue 3h - the milter callbacks
 * DESCRIPTION
 *	Only translation: each callback of the protocol engine turns its
 *	arguments into a call on the session module and the session's answer
 *	back into the engine's. Per-connection state is kept only behind
 *	pfl_engine_setpriv.
 */
#ifndef PFL_GLUE_H
#define PFL_GLUE_H

/*
 * pfl_glue_run - serve the MTA on the socket pfl_engine_listen opened
 * until pfl_engine_stop; 0, or -1 when accepting failed for good
 */
int pfl_glue_run(void);

#endif
