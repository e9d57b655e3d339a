/*
 * NAME
 *	log 3h - the daemon's log: syslog and an optional file
 * DESCRIPTION
 *	Lines go to syslog (ident preflight-milter, facility from the config)
 *	and, when a LogFile is configured, to that file with a syslog-like
 *	prefix, one write(2) per line. Callers pass text that is already
 *	printable (see pfl_printable). Thread-safe.
 */
#ifndef PFL_LOG_H
#define PFL_LOG_H

#include <stdbool.h>

enum pfl_log_level {
	PFL_LOG_ERR,
	PFL_LOG_WARNING,
	PFL_LOG_NOTICE,
	PFL_LOG_INFO,
	PFL_LOG_DEBUG,
};

/*
 * pfl_log_setup - (re)direct the log; logfile may be NULL. Returns 0, or -1
 * with errno when the file cannot be opened (the previous file stays).
 */
int pfl_log_setup(const char *ident, bool use_syslog, int facility,
    const char *logfile, enum pfl_log_level level);

/* pfl_log_stderr - also copy lines to standard error (foreground runs) */
void pfl_log_stderr(bool);

/* pfl_log - log one line at a level, printf-style */
void pfl_log(enum pfl_log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pfl_log_enabled - would a line at this level be written? */
bool pfl_log_enabled(enum pfl_log_level);

/* pfl_log_level_parse - name to level; -1 when unknown */
int pfl_log_level_parse(const char *);

/* pfl_log_facility_parse - syslog facility name to value; -1 when unknown */
int pfl_log_facility_parse(const char *);

#endif
