/*
 * NAME
 *	engine 3h - the milter protocol: socket, connections, commands
 * DESCRIPTION
 *	The MTA side of the milter protocol (version 6, as Postfix and
 *	Sendmail speak it) without libmilter. A filter describes what it
 *	wants (actions, protocol steps, macros per stage) and its callbacks;
 *	pfl_engine_run serves connections until pfl_engine_stop. One
 *	connection's callbacks run one at a time on one thread; state of a
 *	connection is kept behind pfl_engine_setpriv.
 */
#ifndef PFL_ENGINE_H
#define PFL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pfl_engine_conn;

/* What a callback answers. */
enum pfl_engine_rc {
	PFL_ENGINE_CONTINUE,
	PFL_ENGINE_ACCEPT,
	PFL_ENGINE_REJECT,
	PFL_ENGINE_TEMPFAIL,
	PFL_ENGINE_SKIP, /* body: the rest is not needed */
};

/* The macro stages (the protocol's SMFIM_* numbers). */
enum {
	PFL_ENGINE_M_CONNECT,
	PFL_ENGINE_M_HELO,
	PFL_ENGINE_M_MAIL,
	PFL_ENGINE_M_RCPT,
	PFL_ENGINE_M_DATA,
	PFL_ENGINE_M_EOM,
	PFL_ENGINE_M_EOH,
	PFL_ENGINE_M_STAGES
};

/*
 * A filter. actions and steps are the protocol's SMFIF_* and SMFIP_*
 * bits wanted (each granted only when the MTA offers it); macros[stage]
 * a space-separated list or NULL. A step the MTA agreed not to wait for
 * (SMFIP_NR_*) gets no answer, whatever its callback returns.
 */
struct pfl_engine_desc {
	unsigned long actions;
	unsigned long steps;
	const char *macros[PFL_ENGINE_M_STAGES];
	enum pfl_engine_rc (*connect)(
	    struct pfl_engine_conn *, const char *host, const char *addr);
	enum pfl_engine_rc (*mail)(struct pfl_engine_conn *, char **argv);
	enum pfl_engine_rc (*rcpt)(struct pfl_engine_conn *, char **argv);
	enum pfl_engine_rc (*header)(
	    struct pfl_engine_conn *, const char *name, const char *value);
	enum pfl_engine_rc (*eoh)(struct pfl_engine_conn *);
	enum pfl_engine_rc (*body)(
	    struct pfl_engine_conn *, const unsigned char *buf, size_t len);
	enum pfl_engine_rc (*eom)(struct pfl_engine_conn *);
	void (*abort)(struct pfl_engine_conn *);
	void (*close)(struct pfl_engine_conn *);
};

/*
 * pfl_engine_listen - open the listening socket of a libmilter-notation
 * spec (unix:PATH, local:PATH, inet:PORT[@HOST], inet6:PORT[@HOST]); a
 * stale unix socket file is removed first, the new one gets the mode
 * the umask leaves. The descriptor, or -1 with errno.
 */
int pfl_engine_listen(const char *spec);

/*
 * pfl_engine_run - serve connections on the listening socket until
 * pfl_engine_stop; 0, or -1 when accepting failed for good
 */
int pfl_engine_run(const struct pfl_engine_desc *desc);

/*
 * pfl_engine_stop - stop accepting, end the connections (waiting up to a
 * few seconds for their callbacks) and make pfl_engine_run return;
 * safe from any thread, once
 */
void pfl_engine_stop(void);

/* For the callbacks of a connection: */
void pfl_engine_setpriv(struct pfl_engine_conn *, void *priv);
void *pfl_engine_getpriv(const struct pfl_engine_conn *);

/* the value of a macro ("i", "{daemon_name}"), or NULL */
const char *pfl_engine_symval(const struct pfl_engine_conn *, const char *);

/* did the MTA grant protocol step bits (SMFIP_*)? */
bool pfl_engine_granted(const struct pfl_engine_conn *, unsigned long steps);

/*
 * pfl_engine_setreply - the SMTP reply for a reject (5xx) or tempfail
 * (4xx) answered by the callback that sets it: rcode "550", xcode
 * "5.7.1" or NULL, text or NULL (no CR or LF); 0, or -1 when malformed
 */
int pfl_engine_setreply(struct pfl_engine_conn *, const char *rcode,
    const char *xcode, const char *text);

/*
 * In the end-of-message callback only (0, or -1 elsewhere or when the
 * action was not granted): insert a header field at index idx (0: on
 * top), or put the message in quarantine (Postfix: the hold queue).
 */
int pfl_engine_insheader(struct pfl_engine_conn *, unsigned idx,
    const char *name, const char *value);
int pfl_engine_quarantine(struct pfl_engine_conn *, const char *reason);

#endif
