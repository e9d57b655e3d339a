/*
 * NAME
 *	egress_state 3h - the daemon's last egress check
 * DESCRIPTION
 *	The monitor thread (dnsbl_monitor.c) runs pfl_egress_state_round;
 *	the messages ask pfl_egress_state_finding (through
 *	pfl_checks_egress_eom, checks.h) what the last report means for a
 *	provider.
 * THREAD SAFETY
 *	All functions may be called from any thread.
 */
#ifndef PFL_EGRESS_STATE_H
#define PFL_EGRESS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct pfl_ctx;
struct pfl_finding;

/*
 * pfl_egress_state_round - check the egress addresses and the HELO name
 * now when it is time (or force), log what the report means once; returns
 * when the next check is due
 */
time_t pfl_egress_state_round(struct pfl_ctx *, time_t now, bool force);

/* pfl_egress_state_finding - the finding for mail to provider, if any */
bool pfl_egress_state_finding(
    const struct pfl_ctx *, int provider, struct pfl_finding *f_r);

/* pfl_egress_state_word - the problems as the summary says them, or "" */
char *pfl_egress_state_word(char *buf, size_t n);

#endif
