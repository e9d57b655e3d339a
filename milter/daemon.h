/*
 * NAME
 *	daemon 3h - process chores: privileges, pid file, background
 */
#ifndef PFL_DAEMON_H
#define PFL_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * pfl_daemon_drop - become "user[:group]" (supplementary groups of the
 * user too). Returns 0, or -1 with the reason in err (size n).
 */
int pfl_daemon_drop(const char *user_id, char *err, size_t n);

/*
 * pfl_daemon_chown - give a unix socket file to "user[:group]" so the
 * milter can remove it when it exits; 0 or -1.
 */
int pfl_daemon_chown(const char *path, const char *user_id);

/* pfl_daemon_background - fork, setsid, stdio to /dev/null; 0 or -1 */
int pfl_daemon_background(void);

/* pfl_daemon_pidfile - write our pid (mode 0644); 0 or -1 */
int pfl_daemon_pidfile(const char *path);

#endif
