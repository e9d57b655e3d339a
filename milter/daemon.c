/*
 * NAME
 *	daemon - process chores: privileges, pid file, background, socket
 * DESCRIPTION
 *	Nagle's algorithm holds back a small write while an earlier one is
 *	unacknowledged, and the MTA delays its acknowledgement (up to 40 ms
 *	on Linux) while it waits for the rest of our reply: a milter that
 *	answers in two writes (an added header, then "continue") stalls on
 *	every message over TCP. Linux copies TCP_NODELAY from a listening
 *	socket to the sockets it accepts, so it is set once, on the
 *	listening socket.
 * SECURITY
 *	pfl_daemon_drop verifies that root cannot be regained;
 *	pfl_daemon_no_new_privs then makes sure no execve(2) can give any
 *	privilege back (set-user-ID files, file capabilities). The pid file
 *	is written as root, often in a directory the milter's user may
 *	write: a symbolic link there is not followed, and a file left with
 *	a looser mode is set back to 0644.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "util.h"

/* lookup - resolve "user[:group]" to ids */
static int
lookup(const char *user_id, uid_t *uid, gid_t *gid, char *name, size_t n)
{
	char buf[256], *colon;
	struct passwd *pw;
	struct group *gr;

	pfl_strlcpy(buf, user_id, sizeof(buf));
	if ((colon = strchr(buf, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(buf)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	pfl_strlcpy(name, pw->pw_name, n);
	if (colon != NULL) {
		if ((gr = getgrnam(colon)) == NULL)
			return -1;
		*gid = gr->gr_gid;
	}
	return 0;
}

/* pfl_daemon_drop - become the configured user */
int
pfl_daemon_drop(const char *user_id, char *err, size_t n)
{
	char name[256];
	uid_t uid;
	gid_t gid;

	if (lookup(user_id, &uid, &gid, name, sizeof(name)) < 0) {
		snprintf(err, n, "unknown user or group \"%s\"", user_id);
		return -1;
	}
	if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(
		    err, n, "cannot become %s: %s", user_id, strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		snprintf(
		    err, n, "could regain root after dropping to %s", user_id);
		return -1;
	}
	return 0;
}

/* pfl_daemon_no_new_privs - no execve(2) may grant privileges again */
int
pfl_daemon_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* pfl_daemon_chown - give the socket file to the milter's user */
int
pfl_daemon_chown(const char *path, const char *user_id)
{
	char name[256];
	uid_t uid;
	gid_t gid;

	if (lookup(user_id, &uid, &gid, name, sizeof(name)) < 0)
		return -1;
	return chown(path, uid, gid);
}

/* pfl_daemon_background - detach from the terminal */
int
pfl_daemon_background(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		return -1;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* pfl_daemon_pidfile - write our pid: never through a link, mode 0644 */
int
pfl_daemon_pidfile(const char *path)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	/* an old file keeps its mode at open: set ours before writing */
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, 0) < 0) {
		close(fd);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* pfl_daemon_inet_spec - family and port of an inet socket spec */
int
pfl_daemon_inet_spec(const char *spec, int *family_r, unsigned *port_r)
{
	char name[64];
	const char *p, *at;
	struct servent *se;
	unsigned long port;
	char *end;

	if (strncmp(spec, "inet:", 5) == 0) {
		*family_r = AF_INET;
		p = spec + 5;
	} else if (strncmp(spec, "inet6:", 6) == 0) {
		*family_r = AF_INET6;
		p = spec + 6;
	} else
		return -1;
	at = strchr(p, '@');
	if (at == NULL)
		at = p + strlen(p);
	if (at == p || (size_t)(at - p) >= sizeof(name))
		return -1;
	memcpy(name, p, (size_t)(at - p));
	name[at - p] = '\0';
	port = strtoul(name, &end, 10);
	if (*end != '\0') {
		if ((se = getservbyname(name, "tcp")) == NULL)
			return -1;
		port = ntohs((uint16_t)se->s_port);
	}
	if (port == 0 || port > 65535)
		return -1;
	*port_r = (unsigned)port;
	return 0;
}

/* pfl_daemon_nodelay - set TCP_NODELAY */
int
pfl_daemon_nodelay(int fd)
{
	int on = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}
