/*
 * NAME
 *	log - the daemon's log: syslog and an optional file
 * DESCRIPTION
 *	State is process-wide and guarded by one mutex; pfl_log_setup may be
 *	called again on reload while other threads log.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char *log_path;
static bool log_syslog;
static bool log_to_stderr;
static enum pfl_log_level log_level = PFL_LOG_INFO;
static char log_ident[64] = "preflight-milter";
static char log_host[256];

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static const char *level_names[] = { "err", "warning", "notice", "info",
	"debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
	LOG_DEBUG };

/* pfl_log_level_parse - name to level; -1 when unknown */
int
pfl_log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (pfl_strcaseeq(name, level_names[i]))
			return (int)i;
	if (pfl_strcaseeq(name, "error"))
		return PFL_LOG_ERR;
	return -1;
}

/* pfl_log_facility_parse - syslog facility name to value */
int
pfl_log_facility_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (pfl_strcaseeq(name, facilities[i].name))
			return facilities[i].value;
	return -1;
}

/* pfl_log_setup - (re)direct the log */
int
pfl_log_setup(const char *ident, bool use_syslog, int facility,
    const char *logfile, enum pfl_log_level level)
{
	int fd = -1, ret = 0;

	if (logfile != NULL && *logfile != '\0') {
		fd = open(
		    logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			ret = -1;
	}
	pthread_mutex_lock(&log_lock);
	pfl_strlcpy(log_ident, ident, sizeof(log_ident));
	if (log_host[0] == '\0' && gethostname(log_host, sizeof(log_host)) < 0)
		pfl_strlcpy(log_host, "localhost", sizeof(log_host));
	log_host[sizeof(log_host) - 1] = '\0';
	if (ret == 0) {
		if (log_fd >= 0)
			close(log_fd);
		log_fd = fd;
		free(log_path);
		log_path = fd >= 0 ? pfl_xstrdup(logfile) : NULL;
	}
	if (log_syslog)
		closelog();
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
	log_level = level;
	pthread_mutex_unlock(&log_lock);
	return ret;
}

/* pfl_log_stderr - also copy lines to standard error */
void
pfl_log_stderr(bool on)
{
	pthread_mutex_lock(&log_lock);
	log_to_stderr = on;
	pthread_mutex_unlock(&log_lock);
}

/* pfl_log_enabled - would a line at this level be written? */
bool
pfl_log_enabled(enum pfl_log_level level)
{
	return level <= log_level;
}

/* write_line - one write(2) so concurrent writers never interleave */
static void
write_line(int fd, const char *prefix, const char *msg)
{
	char line[8192];
	int n;

	n = snprintf(line, sizeof(line), "%s%s\n", prefix, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(fd, line, (size_t)n);
}

/* pfl_log - log one line at a level */
void
pfl_log(enum pfl_log_level level, const char *fmt, ...)
{
	char msg[6144], prefix[512], stamp[64];
	va_list ap;
	time_t now;
	struct tm tm;
	int saved = errno;

	if (!pfl_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	if (log_syslog)
		syslog(level_prio[level], "%s", msg);
	if (log_fd >= 0 || log_to_stderr) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		snprintf(prefix, sizeof(prefix), "%s %s %s[%ld]: ", stamp,
		    log_host, log_ident, (long)getpid());
		if (log_fd >= 0)
			write_line(log_fd, prefix, msg);
		if (log_to_stderr)
			write_line(STDERR_FILENO, prefix, msg);
	}
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}
