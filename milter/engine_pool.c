/*
 * NAME
 *	engine_pool - the milter protocol: the socket and the workers
 * DESCRIPTION
 *	One thread accepts (pfl_engine_run) and queues each connection for
 *	a worker thread, which serves it to its end (engine.c). A worker
 *	whose connection ended waits for the next one (up to IDLE_MAX of
 *	them wait), so a connection per message, Postfix's way, costs no
 *	thread creation. A read waits at most READ_TIMEOUT for the MTA
 *	(libmilter's default), a write WRITE_TIMEOUT.
 */
#include <autoconfig.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "engine_private.h"
#include "log.h"
#include "util.h"

#define IDLE_MAX      16   /* workers waiting for a connection */
#define READ_TIMEOUT  7210 /* s the MTA may stay silent */
#define WRITE_TIMEOUT 60   /* s a write may block */
#define STOP_WAIT_MS  5000 /* callbacks may finish at stop */

/* The workers and the connections waiting for one. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a connection queued, or stopping */
	pthread_cond_t gone; /* a worker ended */
	int *queue;
	size_t qhead, qlen, qcap;
	unsigned idle, workers;
	bool stopping;
	struct pfl_engine_conn *active;
	const struct pfl_engine_desc *desc;
	int listen_fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t unix_dev;
	ino_t unix_ino;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
	.listen_fd = -1,
};

/* --- workers -------------------------------------------------------------- */

/* timeouts - bound a connection's reads and writes */
static void
timeouts(int fd)
{
	struct timeval rt = { READ_TIMEOUT, 0 }, wt = { WRITE_TIMEOUT, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof(wt));
}

/* worker - serve queued connections; wait for more while few others do */
static void *
worker(void *arg)
{
	struct pfl_engine_conn *c = pfl_engine_conn_new(pool.desc), **pp;

	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.qlen == 0 && !pool.stopping) {
			pool.idle++;
			pthread_cond_wait(&pool.work, &pool.lock);
			pool.idle--;
		}
		if (pool.stopping)
			break;
		c->fd = pool.queue[pool.qhead];
		pool.qhead = (pool.qhead + 1) % pool.qcap;
		pool.qlen--;
		c->next = pool.active;
		pool.active = c;
		pthread_mutex_unlock(&pool.lock);

		timeouts(c->fd);
		pfl_engine_serve(c);

		pthread_mutex_lock(&pool.lock);
		for (pp = &pool.active; *pp != c; pp = &(*pp)->next)
			;
		*pp = c->next;
		close(c->fd);
		c->fd = -1;
		if (pool.idle >= IDLE_MAX && pool.qlen == 0)
			break;
	}
	pool.workers--;
	pthread_cond_broadcast(&pool.gone);
	pthread_mutex_unlock(&pool.lock);
	pfl_engine_conn_free(c);
	return NULL;
}

/* hand_over - queue an accepted connection for a worker */
static void
hand_over(int fd)
{
	pthread_attr_t attr;
	pthread_t tid;

	pthread_mutex_lock(&pool.lock);
	if (pool.stopping) {
		pthread_mutex_unlock(&pool.lock);
		close(fd);
		return;
	}
	if (pool.qlen == pool.qcap) {
		size_t cap = pool.qcap ? pool.qcap * 2 : 64, i;
		int *q = pfl_xmalloc(cap * sizeof(*q));

		for (i = 0; i < pool.qlen; i++)
			q[i] = pool.queue[(pool.qhead + i) % pool.qcap];
		free(pool.queue);
		pool.queue = q;
		pool.qcap = cap;
		pool.qhead = 0;
	}
	pool.queue[(pool.qhead + pool.qlen) % pool.qcap] = fd;
	pool.qlen++;
	if (pool.idle >= pool.qlen) {
		pthread_cond_signal(&pool.work);
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, worker, NULL) == 0)
		pool.workers++;
	else if (pool.workers == 0) {
		/* nobody to serve it: the MTA sees the milter unavailable */
		pfl_log(
		    PFL_LOG_ERR, "milter connection: cannot start a thread");
		pool.qlen--;
		close(fd);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&pool.lock);
}

int
pfl_engine_run(const struct pfl_engine_desc *desc)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int fd, lfd = pool.listen_fd, rc = 0;

	pool.desc = desc;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (__atomic_load_n(&pool.stopping, __ATOMIC_ACQUIRE)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd >= 0) {
			hand_over(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			pfl_log(PFL_LOG_WARNING, "milter socket: accept: %s",
			    strerror(errno));
			nanosleep(&pause, NULL);
			continue;
		}
		pfl_log(
		    PFL_LOG_ERR, "milter socket: accept: %s", strerror(errno));
		rc = -1;
		break;
	}
	pthread_mutex_lock(&pool.lock);
	close(lfd);
	pool.listen_fd = -1;
	pthread_mutex_unlock(&pool.lock);
	return rc;
}

/* unlink_ours - remove the unix socket file if it is still the one made */
static void
unlink_ours(void)
{
	struct stat st;

	if (pool.unix_path[0] == '\0' || lstat(pool.unix_path, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode) && st.st_dev == pool.unix_dev &&
	    st.st_ino == pool.unix_ino)
		(void)unlink(pool.unix_path);
}

void
pfl_engine_stop(void)
{
	struct pfl_engine_conn *c;
	struct timespec until;

	pthread_mutex_lock(&pool.lock);
	__atomic_store_n(&pool.stopping, true, __ATOMIC_RELEASE);
	if (pool.listen_fd >= 0)
		(void)shutdown(pool.listen_fd, SHUT_RDWR);
	for (c = pool.active; c != NULL; c = c->next)
		(void)shutdown(c->fd, SHUT_RDWR);
	while (pool.qlen > 0) {
		close(pool.queue[pool.qhead]);
		pool.qhead = (pool.qhead + 1) % pool.qcap;
		pool.qlen--;
	}
	pthread_cond_broadcast(&pool.work);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_MS / 1000;
	while (pool.workers > 0 &&
	    pthread_cond_timedwait(&pool.gone, &pool.lock, &until) == 0)
		;
	if (pool.workers > 0)
		pfl_log(PFL_LOG_WARNING,
		    "stopping with %u milter connections still busy",
		    pool.workers);
	else {
		free(pool.queue);
		pool.queue = NULL;
		pool.qcap = 0;
	}
	pthread_mutex_unlock(&pool.lock);
	unlink_ours();
}

/* --- the listening socket ------------------------------------------------ */

/* listen_unix - a unix socket at path; fd or -1 */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (pfl_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a stale socket is removed; any other file is left alone */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, SOMAXCONN) < 0 || stat(path, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	memcpy(pool.unix_path, sun.sun_path, sizeof(pool.unix_path));
	pool.unix_dev = st.st_dev;
	pool.unix_ino = st.st_ino;
	return fd;
}

/* listen_inet - a TCP socket of family on port at host (NULL: any) */
static int
listen_inet(int family, unsigned port, const char *host)
{
	struct addrinfo hints, *res = NULL;
	char name[256], service[8];
	int fd = -1, on = 1, e;
	size_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (host != NULL) {
		/* "[::1]" as well as "::1" */
		len = strlen(host);
		if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
			host++, len -= 2;
		if (len >= sizeof(name)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, host, len);
		name[len] = '\0';
		host = name;
	}
	snprintf(service, sizeof(service), "%u", port);
	if ((e = getaddrinfo(host, service, &hints, &res)) != 0) {
		pfl_log(PFL_LOG_ERR, "milter socket: %s: %s", host ? host : "*",
		    gai_strerror(e));
		errno = EADDRNOTAVAIL;
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
		listen(fd, SOMAXCONN) < 0)) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	return fd;
}

int
pfl_engine_listen(const char *spec)
{
	unsigned port;
	int family, fd;
	const char *at;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		fd = listen_unix(strchr(spec, ':') + 1);
	else if (pfl_daemon_inet_spec(spec, &family, &port) == 0) {
		at = strchr(spec, '@');
		fd = listen_inet(family, port, at ? at + 1 : NULL);
	} else {
		errno = EINVAL;
		return -1;
	}
	if (fd >= 0)
		pool.listen_fd = fd;
	return fd;
}
