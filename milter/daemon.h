/*
 * NAME
 *	daemon 3h - process chores: privileges, pid file, background, socket
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

/*
 * pfl_daemon_no_new_privs - set no_new_privs: from now on execve(2)
 * grants no privilege (set-user-ID bits, file capabilities) to this
 * process or its children; 0, or -1 with errno
 */
int pfl_daemon_no_new_privs(void);

/* pfl_daemon_background - fork, setsid, stdio to /dev/null; 0 or -1 */
int pfl_daemon_background(void);

/*
 * pfl_daemon_pidfile - write our pid, mode 0644 (also when the file was
 * there with another mode); a symbolic link is not followed; 0 or -1
 * with errno
 */
int pfl_daemon_pidfile(const char *path);

/*
 * pfl_daemon_inet_spec - the address family (AF_INET, AF_INET6) and port
 * of a libmilter socket "inet:PORT[@HOST]" or "inet6:PORT[@HOST]" (PORT
 * a number or a service name). Returns 0, or -1 for any other socket.
 */
int pfl_daemon_inet_spec(const char *spec, int *family_r, unsigned *port_r);

/*
 * pfl_daemon_nodelay - set TCP_NODELAY on a TCP socket; 0, or -1 with
 * errno. On a listening socket Linux gives it to every socket accepted
 * from then on.
 */
int pfl_daemon_nodelay(int fd);

#endif
