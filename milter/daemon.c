/*
 * NAME
 *	daemon - process chores: privileges, pid file, background
 * SECURITY
 *	pfl_daemon_drop verifies that root cannot be regained.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* pfl_daemon_pidfile - write our pid */
int
pfl_daemon_pidfile(const char *path)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}
