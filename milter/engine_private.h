/*
 * NAME
 *	engine_private 3h - the milter protocol engine's parts
 * DESCRIPTION
 *	engine.c reads and carries out a connection's commands,
 *	engine_reply.c writes the answers and keeps the macros (with what a
 *	callback may call), engine_pool.c owns the listening socket and the
 *	worker threads.
 */
#ifndef PFL_ENGINE_PRIVATE_H
#define PFL_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* The command characters whose macros are kept, in the order searched. */
#define PFL_ENGINE_MAC_CMDS  "ELBNTRMHC"
#define PFL_ENGINE_MAC_SLOTS (sizeof(PFL_ENGINE_MAC_CMDS) - 1)

struct pfl_engine_conn {
	const struct pfl_engine_desc *desc;
	int fd;
	unsigned char *in; /* input: [off, len) not yet taken */
	size_t cap, off, len;
	unsigned char *out; /* answers not yet written */
	size_t ocap, olen;
	unsigned long actions, steps;       /* granted */
	char *macros[PFL_ENGINE_MAC_SLOTS]; /* "name\0value\0..." per command */
	size_t maclen[PFL_ENGINE_MAC_SLOTS];
	char *reply;    /* set by a callback, for its answer */
	bool in_eom;    /* the end-of-message callback runs */
	bool in_msg;    /* between MAIL and the end or abort of a message */
	bool connected; /* the connect callback ran: close is owed */
	void *priv;
	struct pfl_engine_conn *next; /* engine_pool.c's list of busy ones */
};

/* engine.c */

/* pfl_engine_conn_new - a connection's buffers, for one worker */
struct pfl_engine_conn *pfl_engine_conn_new(const struct pfl_engine_desc *);

/* pfl_engine_conn_free - free them */
void pfl_engine_conn_free(struct pfl_engine_conn *);

/*
 * pfl_engine_serve - carry out the commands on c->fd until the
 * connection ends (the close callback has run; fd stays open)
 */
void pfl_engine_serve(struct pfl_engine_conn *);

/* engine_reply.c */

/* get32, put32 - network-order 32-bit numbers */
static inline uint32_t
pfl_engine_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
pfl_engine_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * pfl_engine_out_begin - start an answer of cmd (where it starts, for
 * pfl_engine_out_end); pfl_engine_out_add and _add32 append its data;
 * pfl_engine_out_end writes its length
 */
size_t pfl_engine_out_begin(struct pfl_engine_conn *, int cmd);
void pfl_engine_out_add(struct pfl_engine_conn *, const void *, size_t n);
void pfl_engine_out_add32(struct pfl_engine_conn *, uint32_t);
void pfl_engine_out_end(struct pfl_engine_conn *, size_t at);

/* pfl_engine_out_packet - queue an answer: cmd, then n bytes of data */
void pfl_engine_out_packet(
    struct pfl_engine_conn *, int cmd, const void *data, size_t n);

/* pfl_engine_out_flush - write the queued answers; 0 or -1 */
int pfl_engine_out_flush(struct pfl_engine_conn *);

/*
 * pfl_engine_answer - queue the answer for rc (with the reply text set
 * for it, when the classes agree) and forget the reply text
 */
void pfl_engine_answer(struct pfl_engine_conn *, enum pfl_engine_rc);

/*
 * pfl_engine_step_answer - answer a step and write, unless the MTA
 * agreed not to wait for it (nr: its SMFIP_NR_* bit); 0 or -1
 */
int pfl_engine_step_answer(
    struct pfl_engine_conn *, unsigned long nr, enum pfl_engine_rc);

/* pfl_engine_mac_set - keep the macros of SMFIC_MACRO's data */
void pfl_engine_mac_set(
    struct pfl_engine_conn *, const unsigned char *, size_t);

/*
 * pfl_engine_mac_clear - forget the macros of a message (sent for MAIL
 * and later commands), or all of them
 */
void pfl_engine_mac_clear(struct pfl_engine_conn *, bool all);

#endif
