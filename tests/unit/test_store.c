/*
 * test_store - the budget counters on every backend built: the window
 * contract with exact numbers, a property test of the invariant (no
 * interval of the window's length ever holds more admitted, unreleased
 * units than the limit) over random arrivals with a fake clock, exact
 * limits under threads and processes, LMDB persistence, map growth and
 * sweeping, and Redis failures bounded by the timeout; batches (all the
 * adds or none) on every backend, under threads and processes.
 *
 * The Redis parts start their own redis-server on a free loopback port.
 * When it is missing they fail under CI=true and are skipped otherwise.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#ifdef HAVE_LMDB
#include <lmdb.h>
#endif

#include "store.h"
#include "store_private.h"

#define T0         1700000003 /* a fake "now", not aligned to any bucket */
#define TIMEOUT_MS 1000

static const char *const kinds[] = { "memory", "lmdb", "redis" };

/* --- fixture: a temp dir and our own redis-server ------------------------- */

static struct {
	char dir[64];    /* for LMDB files */
	pid_t redis_pid; /* 0: no server */
	int redis_port;
	int serial; /* makes file names unique */
} fx;

/* free_port - a loopback TCP port nobody listens on (right now) */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		fail_msg("cannot find a free port: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* reply_done - has buf a whole RESP reply (a line, or a bulk string)? */
static bool
reply_done(const char *buf)
{
	const char *eol = strstr(buf, "\r\n");

	if (eol == NULL)
		return false;
	if (buf[0] != '$' || atoi(buf + 1) < 0)
		return true;
	return strstr(eol + 2, "\r\n") != NULL;
}

/* raw - one inline command to a redis on port; false when none answers */
static bool
raw(int port, const char *cmd, char *buf, size_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 1, 0 };
	size_t got = 0;
	ssize_t r;
	int fd;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	buf[0] = '\0';
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
	    write(fd, "\r\n", 2) != 2) {
		close(fd);
		return false;
	}
	while (got + 1 < n && !reply_done(buf) &&
	    (r = read(fd, buf + got, n - 1 - got)) > 0) {
		got += (size_t)r;
		buf[got] = '\0';
	}
	close(fd);
	return got > 0;
}

/* in_path - is an executable of this name on PATH? */
static bool
in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char file[512];

	for (p = path ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = p + strcspn(p, ":");
		snprintf(
		    file, sizeof(file), "%.*s/%s", (int)(end - p), p, name);
		if (access(file, X_OK) == 0)
			return true;
		if (*end == ':')
			end++;
	}
	return false;
}

/* start_redis - our own redis-server on port; its pid, or 0 */
static pid_t
start_redis(int port)
{
	char p[16], buf[64];
	pid_t pid;
	int i;

	snprintf(p, sizeof(p), "%d", port);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* the server goes when the test goes, however it ends */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("redis-server", "redis-server", "--port", p, "--bind",
		    "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	for (i = 0; pid > 0 && i < 100; i++) {
		if (raw(port, "PING", buf, sizeof(buf)) &&
		    strncmp(buf, "+PONG", 5) == 0)
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(50000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return 0;
}

/* stop_redis - stop a server we started */
static void
stop_redis(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* in_ci - are we under CI (a missing dependency fails there)? */
static bool
in_ci(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && strcmp(ci, "true") == 0;
}

/* group_setup - the temp dir and, when it can be had, the redis server */
static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN); /* a dying server must not kill the test */
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	if (pfl_store_backend_built("redis") && in_path("redis-server")) {
		fx.redis_port = free_port();
		fx.redis_pid = start_redis(fx.redis_port);
	}
	return 0;
}

/* group_teardown - stop the server, remove the temp dir */
static int
group_teardown(void **state)
{
	char path[512];
	struct dirent *d;
	DIR *dir;

	(void)state;
	stop_redis(fx.redis_pid);
	if ((dir = opendir(fx.dir)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			snprintf(
			    path, sizeof(path), "%s/%s", fx.dir, d->d_name);
			if (d->d_name[0] != '.')
				unlink(path);
		}
		closedir(dir);
	}
	rmdir(fx.dir);
	return 0;
}

/*
 * usable - can the tests run this backend? A Redis backend without a
 * server fails under CI and is skipped (with a message) otherwise.
 */
static bool
usable(const char *kind)
{
	if (!pfl_store_backend_built(kind))
		return false;
	if (strcmp(kind, "redis") != 0 || fx.redis_pid > 0)
		return true;
	if (in_ci())
		fail_msg("redis-server is needed (CI=true) but did not start");
	print_message("# redis part skipped: redis-server missing or did "
		      "not start\n");
	return false;
}

/* spec_for - a spec of a new, empty store of this kind */
static void
spec_for(const char *kind, char *buf, size_t n)
{
	if (strcmp(kind, "memory") == 0)
		snprintf(buf, n, "memory");
	else if (strcmp(kind, "lmdb") == 0)
		snprintf(buf, n, "lmdb:%s/s%d.lmdb", fx.dir, ++fx.serial);
	else
		snprintf(buf, n, "redis://127.0.0.1:%d/0",
		    fx.redis_port > 0 ? fx.redis_port : 1);
}

/* open_spec - open a spec, expecting success */
static struct pfl_store *
open_spec(const char *spec)
{
	char err[256] = "";
	struct pfl_store *st =
	    pfl_store_open(spec, TIMEOUT_MS, err, sizeof(err));

	if (st == NULL)
		fail_msg("cannot open %s: %s", spec, err);
	return st;
}

/* add - a window add that must not fail */
static struct pfl_window_result
add(struct pfl_store *st, const char *key, unsigned b, unsigned nb, time_t now,
    uint64_t n, uint64_t limit)
{
	struct pfl_window w = { b, nb };
	struct pfl_window_result r;
	char err[256] = "";

	if (pfl_store_window_add(st, key, &w, now, n, limit, &r, err,
		sizeof(err)) != PFL_STORE_OK)
		fail_msg("%s add %s: %s", pfl_store_kind(st), key, err);
	return r;
}

/* total - the window's count, or -1 for NOTFOUND */
static long long
total(
    struct pfl_store *st, const char *key, unsigned b, unsigned nb, time_t now)
{
	struct pfl_window w = { b, nb };
	enum pfl_store_status s;
	char err[256] = "";
	uint64_t t = 99;

	s = pfl_store_window_total(st, key, &w, now, &t, err, sizeof(err));
	if (s == PFL_STORE_NOTFOUND) {
		assert_int_equal(t, 0);
		return -1;
	}
	if (s != PFL_STORE_OK)
		fail_msg("%s total %s: %s", pfl_store_kind(st), key, err);
	return (long long)t;
}

/* release - give back n to a bucket, which must not fail */
static void
release(struct pfl_store *st, const char *key, unsigned b, unsigned nb,
    time_t bucket, uint64_t n)
{
	struct pfl_window w = { b, nb };
	char err[256] = "";

	if (pfl_store_window_release(
		st, key, &w, bucket, n, err, sizeof(err)) != PFL_STORE_OK)
		fail_msg("%s release %s: %s", pfl_store_kind(st), key, err);
}

/* --- the interface: specs, kinds, arguments --------------------------------- */

static void
test_specs(void **state)
{
	static const char *const bad_redis[] = { "redis://", "redis://h:0",
		"redis://h:99999", "redis://h/x", "redis://[::1",
		"redis://h:1x" };
	char err[256], spec[300];
	struct pfl_store *st;
	size_t i;

	(void)state;
	assert_true(pfl_store_backend_built("memory"));
	assert_false(pfl_store_backend_built("nosuch"));
#ifdef HAVE_LMDB
	assert_true(pfl_store_backend_built("lmdb"));
#else
	assert_false(pfl_store_backend_built("lmdb"));
#endif
#ifdef HAVE_HIREDIS
	assert_true(pfl_store_backend_built("redis"));
#else
	assert_false(pfl_store_backend_built("redis"));
#endif
	assert_null(pfl_store_open("memcache:x", 100, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown store"));
	assert_null(pfl_store_open("memory:x", 100, err, sizeof(err)));
	assert_null(pfl_store_open("bogus", 100, NULL, 0));
	st = pfl_store_open("memory", 0, NULL, 0);
	assert_non_null(st);
	pfl_store_close(&st);
	pfl_store_close(&st); /* a NULL handle is fine */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		spec_for(kinds[i], spec, sizeof(spec));
		err[0] = '\0';
		st = pfl_store_open(spec, 100, err, sizeof(err));
		if (pfl_store_backend_built(kinds[i])) {
			/* no server is contacted at open */
			assert_non_null(st);
			assert_string_equal(pfl_store_kind(st), kinds[i]);
			pfl_store_close(&st);
			assert_null(st);
		} else {
			assert_null(st);
			assert_non_null(strstr(err, "built without"));
		}
	}
	if (pfl_store_backend_built("redis")) {
		for (i = 0; i < sizeof(bad_redis) / sizeof(bad_redis[0]); i++) {
			err[0] = '\0';
			assert_null(pfl_store_open(
			    bad_redis[i], 100, err, sizeof(err)));
			assert_non_null(strstr(err, "expected redis://"));
		}
		st = open_spec("redis://:secret@[::1]:6380/3");
		pfl_store_close(&st);
		st = open_spec("redis://user:pw@localhost");
		pfl_store_close(&st);
	}
	if (pfl_store_backend_built("lmdb")) {
		assert_null(pfl_store_open(
		    "lmdb:/nonexistent/dir/x.lmdb", 100, err, sizeof(err)));
		assert_non_null(strstr(err, "/nonexistent/dir"));
		snprintf(spec, sizeof(spec), "lmdb:%s", fx.dir);
		assert_null(pfl_store_open(spec, 100, err, sizeof(err)));
		assert_non_null(strstr(err, "not a regular file"));
	}
}

static void
test_bad_arguments(void **state)
{
	struct pfl_store *st = open_spec("memory");
	struct pfl_window w = { 10, 6 }, none = { 0, 6 },
			  huge = { 1u << 20, 1u << 20 };
	struct pfl_window_result r;
	char err[256], longkey[600], big[PFL_STORE_VALUE_MAX + 1] = "";
	uint64_t t;
	size_t len;

	(void)state;
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(
	    pfl_store_window_add(st, "", &w, T0, 1, 5, &r, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "empty key"));
	assert_int_equal(pfl_store_window_add(
			     st, longkey, &w, T0, 1, 5, &r, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(pfl_store_window_add(
			     st, "k", &none, T0, 1, 5, &r, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(pfl_store_window_add(
			     st, "k", &huge, T0, 1, 5, &r, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(
	    pfl_store_window_add(st, "k", &w, -1, 1, 5, &r, NULL, 0),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(
	    pfl_store_window_total(st, "", &w, T0, &t, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(
	    pfl_store_delete(st, "", err, sizeof(err)), PFL_STORE_TEMPFAIL);
	/* values: key, size, pointers */
	assert_int_equal(pfl_store_put(st, "", "v", 1, 0, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "empty key"));
	assert_int_equal(
	    pfl_store_put(st, longkey, "v", 1, 0, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(pfl_store_put(st, "k", big, PFL_STORE_VALUE_MAX + 1, 0,
			     err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "value longer than 4096 bytes"));
	assert_int_equal(pfl_store_put(st, "k", NULL, 3, 0, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "no value"));
	len = 99;
	assert_int_equal(
	    pfl_store_get(st, "", big, sizeof(big), &len, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(len, 0);
	assert_int_equal(
	    pfl_store_get(st, longkey, big, sizeof(big), &len, NULL, 0),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(
	    pfl_store_get(st, "k", NULL, 5, &len, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "no buffer"));
	/* nothing was stored by the refused calls */
	assert_int_equal(total(st, "k", 10, 6, T0), -1);
	assert_int_equal(
	    pfl_store_get(st, "k", big, sizeof(big), NULL, err, sizeof(err)),
	    PFL_STORE_NOTFOUND);
	pfl_store_close(&st);
}

/* --- the contract, with exact numbers, on every backend ----------------------- */

struct seen {
	char keys[8][64];
	int n, stop_after;
};

/* collect_key - list callback: remember the key; stop when told */
static int
collect_key(const char *key, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

/* contract - the window rules on one backend (keys under prefix p) */
static void
contract(struct pfl_store *st, const char *p)
{
	struct pfl_window_result r;
	char key[64];

	snprintf(key, sizeof(key), "%s/w", p);
	assert_int_equal(total(st, key, 10, 6, 100), -1);
	r = add(st, key, 10, 6, 100, 2, 5);
	assert_true(r.admitted);
	assert_int_equal(r.total, 0);
	assert_int_equal(r.bucket, 100);
	assert_int_equal(r.next_free, 0);
	r = add(st, key, 10, 6, 105, 2, 5);
	assert_true(r.admitted);
	assert_int_equal(r.total, 2);
	assert_int_equal(r.bucket, 100);
	/* at 161 the window is [101, 161]: bucket [100, 110) counts whole */
	r = add(st, key, 10, 6, 161, 2, 5);
	assert_false(r.admitted);
	assert_int_equal(r.total, 4);
	assert_int_equal(r.next_free, 170);
	assert_int_equal(total(st, key, 10, 6, 161), 4);
	r = add(st, key, 10, 6, 169, 1, 5);
	assert_true(r.admitted);
	assert_int_equal(r.bucket, 160);
	/* at 170 the bucket of 100 is out */
	r = add(st, key, 10, 6, 170, 4, 5);
	assert_true(r.admitted);
	assert_int_equal(r.total, 1);
	assert_int_equal(r.bucket, 170);
	assert_int_equal(total(st, key, 10, 6, 170), 5);
	/* never admitted: more than the limit */
	r = add(st, key, 10, 6, 170, 6, 5);
	assert_false(r.admitted);
	assert_int_equal(r.next_free, 0);
	/* releases: a live bucket, a dropped one, more than a bucket has */
	release(st, key, 10, 6, 170, 4);
	assert_int_equal(total(st, key, 10, 6, 170), 1);
	release(st, key, 10, 6, 100, 3);
	release(st, key, 10, 6, 170, 1); /* bucket 170 now empty */
	release(st, key, 10, 6, 160, 7);
	assert_int_equal(total(st, key, 10, 6, 170), -1);
	/* the released units are free again */
	r = add(st, key, 10, 6, 171, 5, 5);
	assert_true(r.admitted);
	assert_int_equal(r.total, 0);
	/* a window of one bucket: next_free is the next bucket's start */
	snprintf(key, sizeof(key), "%s/one", p);
	r = add(st, key, 60, 1, 1000, 3, 3);
	assert_true(r.admitted);
	r = add(st, key, 60, 1, 1079, 1, 3);
	assert_false(r.admitted);
	assert_int_equal(r.next_free, 1080);
	assert_true(add(st, key, 60, 1, 1080, 3, 3).admitted);
	/* n = 0 is admitted within the limit and stores nothing new */
	assert_true(add(st, key, 60, 1, 1080, 0, 3).admitted);
	assert_false(add(st, key, 60, 1, 1080, 0, 2).admitted);
	assert_int_equal(total(st, key, 60, 1, 1080), 3);
}

/* listing - delete and list by prefix on one backend */
static void
listing(struct pfl_store *st, const char *p)
{
	static const char *const names[] = { "list/c", "list/a", "list/b",
		"lis", "other/x" };
	struct seen s = { .n = 0 };
	char key[64], prefix[64], err[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(key, sizeof(key), "%s/%s", p, names[i]);
		assert_true(add(st, key, 10, 6, T0, 1, 5).admitted);
	}
	snprintf(prefix, sizeof(prefix), "%s/list/", p);
	assert_int_equal(
	    pfl_store_list(st, prefix, collect_key, &s, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(s.n, 3);
	snprintf(key, sizeof(key), "%s/list/a", p);
	assert_string_equal(s.keys[0], key);
	snprintf(key, sizeof(key), "%s/list/b", p);
	assert_string_equal(s.keys[1], key);
	snprintf(key, sizeof(key), "%s/list/c", p);
	assert_string_equal(s.keys[2], key);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(
	    pfl_store_list(st, prefix, collect_key, &s, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(s.n, 1);
	/* delete: present, then gone */
	snprintf(key, sizeof(key), "%s/list/b", p);
	assert_int_equal(
	    pfl_store_delete(st, key, err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(
	    pfl_store_delete(st, key, err, sizeof(err)), PFL_STORE_NOTFOUND);
	assert_int_equal(total(st, key, 10, 6, T0), -1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    pfl_store_list(st, prefix, collect_key, &s, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(s.n, 2);
	/* glob characters in a prefix are plain characters */
	memset(&s, 0, sizeof(s));
	snprintf(prefix, sizeof(prefix), "%s/list/*", p);
	assert_int_equal(
	    pfl_store_list(st, prefix, collect_key, &s, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(s.n, 0);
}

static void
test_contract(void **state)
{
	char spec[300];
	struct pfl_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st = open_spec(spec);
		contract(st, kinds[i]);
		listing(st, kinds[i]);
		pfl_store_close(&st);
	}
}

/* --- values: put, get, expiry, and keys of both kinds --------------------- */

/* put - set a string value, which must not fail */
static void
put(struct pfl_store *st, const char *key, const char *val, unsigned ttl_s)
{
	char err[256] = "";

	if (pfl_store_put(st, key, val, strlen(val), ttl_s, err, sizeof(err)) !=
	    PFL_STORE_OK)
		fail_msg("%s put %s: %s", pfl_store_kind(st), key, err);
}

/*
 * get - a string value into buf (size n, NUL-terminated); its status,
 * and a TEMPFAIL is a failure
 */
static enum pfl_store_status
get(struct pfl_store *st, const char *key, char *buf, size_t n)
{
	enum pfl_store_status s;
	char err[256] = "";
	size_t len = 99;

	s = pfl_store_get(st, key, buf, n - 1, &len, err, sizeof(err));
	if (s == PFL_STORE_TEMPFAIL)
		fail_msg("%s get %s: %s", pfl_store_kind(st), key, err);
	if (s != PFL_STORE_OK)
		assert_int_equal(len, 0);
	buf[s != PFL_STORE_OK ? 0 : len < n - 1 ? len : n - 1] = '\0';
	return s;
}

/* has_value - does key hold exactly the string want? */
static void
has_value(struct pfl_store *st, const char *key, const char *want)
{
	char buf[256];

	if (get(st, key, buf, sizeof(buf)) != PFL_STORE_OK)
		fail_msg("%s get %s: not found", pfl_store_kind(st), key);
	assert_string_equal(buf, want);
}

/* no_value - key holds no value (missing, expired or a window) */
static void
no_value(struct pfl_store *st, const char *key)
{
	char buf[256];

	assert_int_equal(get(st, key, buf, sizeof(buf)), PFL_STORE_NOTFOUND);
}

/* list_into - the keys under prefix, in s */
static void
list_into(struct pfl_store *st, const char *prefix, struct seen *s)
{
	char err[256] = "";

	memset(s, 0, sizeof(*s));
	if (pfl_store_list(st, prefix, collect_key, s, err, sizeof(err)) !=
	    PFL_STORE_OK)
		fail_msg("%s list %s: %s", pfl_store_kind(st), prefix, err);
}

/* values - put, get, overwrite, truncation, delete and list on a backend */
static void
values(struct pfl_store *st, const char *p)
{
	static const char bin[] = { 'a', 0, 'b', 0, (char)0xff };
	char key[64], buf[PFL_STORE_VALUE_MAX + 2], err[256];
	size_t len;
	struct seen s;

	snprintf(key, sizeof(key), "%s/val/a", p);
	no_value(st, key);
	put(st, key, "127.0.0.2 zen.spamhaus.org since 1700000000", 0);
	has_value(st, key, "127.0.0.2 zen.spamhaus.org since 1700000000");
	/* overwrite, shorter: nothing of the old value shows through */
	put(st, key, "delisted", 0);
	has_value(st, key, "delisted");
	/* cut short to the buffer; the whole length is told */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(pfl_store_get(st, key, buf, 3, &len, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, "del#", 4);
	/* no buffer: only the length */
	len = 0;
	assert_int_equal(
	    pfl_store_get(st, key, NULL, 0, &len, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(len, 8);
	/* any bytes, NULs too, and the empty value */
	snprintf(key, sizeof(key), "%s/val/bin", p);
	assert_int_equal(
	    pfl_store_put(st, key, bin, sizeof(bin), 0, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(
	    pfl_store_get(st, key, buf, sizeof(buf), &len, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(buf, bin, sizeof(bin));
	snprintf(key, sizeof(key), "%s/val/empty", p);
	assert_int_equal(
	    pfl_store_put(st, key, NULL, 0, 0, err, sizeof(err)), PFL_STORE_OK);
	len = 99;
	assert_int_equal(
	    pfl_store_get(st, key, buf, sizeof(buf), &len, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(len, 0);
	/* the largest value there may be */
	snprintf(key, sizeof(key), "%s/val/max", p);
	memset(buf, 'm', PFL_STORE_VALUE_MAX);
	buf[PFL_STORE_VALUE_MAX - 1] = 'z';
	assert_int_equal(pfl_store_put(st, key, buf, PFL_STORE_VALUE_MAX, 0,
			     err, sizeof(err)),
	    PFL_STORE_OK);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(
	    pfl_store_get(st, key, buf, sizeof(buf), &len, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(len, PFL_STORE_VALUE_MAX);
	assert_int_equal(buf[0], 'm');
	assert_int_equal(buf[PFL_STORE_VALUE_MAX - 1], 'z');
	assert_int_equal(buf[PFL_STORE_VALUE_MAX], 0);
	/* list by prefix, in order; delete: present, then gone */
	snprintf(key, sizeof(key), "%s/val/", p);
	list_into(st, key, &s);
	assert_int_equal(s.n, 4);
	snprintf(key, sizeof(key), "%s/val/a", p);
	assert_string_equal(s.keys[0], key);
	snprintf(key, sizeof(key), "%s/val/max", p);
	assert_string_equal(s.keys[3], key);
	snprintf(key, sizeof(key), "%s/val/bin", p);
	assert_int_equal(
	    pfl_store_delete(st, key, err, sizeof(err)), PFL_STORE_OK);
	no_value(st, key);
	assert_int_equal(
	    pfl_store_delete(st, key, err, sizeof(err)), PFL_STORE_NOTFOUND);
	snprintf(key, sizeof(key), "%s/val/", p);
	list_into(st, key, &s);
	assert_int_equal(s.n, 3);
}

/* window_refused - every window call on key is TEMPFAIL: it holds a value */
static void
window_refused(struct pfl_store *st, const char *key)
{
	struct pfl_window w = { 10, 6 };
	struct pfl_window_result r;
	char err[256];
	uint64_t t = 99;

	err[0] = '\0';
	assert_int_equal(
	    pfl_store_window_add(st, key, &w, T0, 1, 5, &r, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	if (strstr(err, "holds a value, not a window") == NULL)
		fail_msg("%s add on a value: %s", pfl_store_kind(st), err);
	assert_false(r.admitted);
	err[0] = '\0';
	assert_int_equal(
	    pfl_store_window_total(st, key, &w, T0, &t, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "holds a value"));
	assert_int_equal(t, 0);
	err[0] = '\0';
	assert_int_equal(pfl_store_window_release(
			     st, key, &w, T0 - T0 % 10, 1, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "holds a value"));
}

/* mixing - values and windows under one prefix, never read as each other */
static void
mixing(struct pfl_store *st, const char *p)
{
	char w[64], v[64], prefix[64], err[256];
	struct seen s;

	snprintf(w, sizeof(w), "%s/mix/w", p);
	snprintf(v, sizeof(v), "%s/mix/v", p);
	snprintf(prefix, sizeof(prefix), "%s/mix/", p);
	/* a window is no value */
	assert_true(add(st, w, 10, 6, T0, 2, 5).admitted);
	no_value(st, w);
	assert_int_equal(total(st, w, 10, 6, T0), 2);
	/* a value is no window, and survives the attempts */
	put(st, v, "listed", 3600);
	window_refused(st, v);
	has_value(st, v, "listed");
	/* list sees both kinds */
	list_into(st, prefix, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], v);
	assert_string_equal(s.keys[1], w);
	/* a put replaces a window */
	put(st, w, "was a window", 0);
	has_value(st, w, "was a window");
	window_refused(st, w);
	/* once deleted, the key may be a window again, from nothing */
	assert_int_equal(
	    pfl_store_delete(st, w, err, sizeof(err)), PFL_STORE_OK);
	assert_int_equal(total(st, w, 10, 6, T0), -1);
	assert_int_equal(add(st, w, 10, 6, T0, 1, 5).total, 0);
	assert_int_equal(total(st, w, 10, 6, T0), 1);
	no_value(st, w);
	/* deleting a value leaves the window beside it alone */
	assert_int_equal(
	    pfl_store_delete(st, v, err, sizeof(err)), PFL_STORE_OK);
	list_into(st, prefix, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], w);
}

static void
test_values(void **state)
{
	char spec[300];
	struct pfl_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st = open_spec(spec);
		values(st, kinds[i]);
		mixing(st, kinds[i]);
		pfl_store_close(&st);
	}
}

/* expiring - values with and without a time to live, before it runs out */
static void
expiring(struct pfl_store *st)
{
	put(st, "exp/short", "short", 1);
	put(st, "exp/long", "long", 3600);
	put(st, "exp/forever", "forever", 0);
	put(st, "exp/renewed", "renewed-1", 1);
	put(st, "exp/renewed", "renewed", 0); /* drops the time to live */
	put(st, "exp/shortened", "shortened-0", 0);
	put(st, "exp/shortened", "shortened", 1);
	put(st, "exp/del", "del", 1);
	put(st, "exp/win", "win", 1);
	has_value(st, "exp/short", "short");
	has_value(st, "exp/shortened", "shortened");
	has_value(st, "exp/del", "del");
}

/* expired - the same values after their second ran out */
static void
expired(struct pfl_store *st)
{
	char err[256];
	struct seen s;

	no_value(st, "exp/short");
	no_value(st, "exp/shortened");
	has_value(st, "exp/long", "long");
	has_value(st, "exp/forever", "forever");
	has_value(st, "exp/renewed", "renewed");
	assert_int_equal(pfl_store_delete(st, "exp/del", err, sizeof(err)),
	    PFL_STORE_NOTFOUND);
	list_into(st, "exp/", &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "exp/forever");
	assert_string_equal(s.keys[1], "exp/long");
	assert_string_equal(s.keys[2], "exp/renewed");
	/* an expired value is no obstacle to a window */
	assert_int_equal(total(st, "exp/win", 10, 6, T0), -1);
	assert_int_equal(add(st, "exp/win", 10, 6, T0, 1, 5).total, 0);
	assert_int_equal(total(st, "exp/win", 10, 6, T0), 1);
	no_value(st, "exp/win");
	/* nor to a new value */
	put(st, "exp/short", "again", 1);
	has_value(st, "exp/short", "again");
}

static void
test_value_expiry(void **state)
{
	struct pfl_store *st[3] = { NULL, NULL, NULL };
	char spec[300];
	size_t i;

	(void)state;
	/* every backend at once: one wait for all */
	for (i = 0; i < 3; i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st[i] = open_spec(spec);
		expiring(st[i]);
	}
	usleep(1300 * 1000);
	for (i = 0; i < 3; i++) {
		if (st[i] == NULL)
			continue;
		expired(st[i]);
		pfl_store_close(&st[i]);
	}
}

/* --- the property test ------------------------------------------------------ */

struct event {
	time_t t;
	uint64_t n;
	time_t bucket;
	bool released;
};

/* One key with its window and everything admitted on it. */
struct model {
	char key[64];
	struct pfl_window w;
	uint64_t limit;
	struct event *ev;
	size_t nev, cap;
};

/* rnd - xorshift64*: the same sequence for the same seed */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/*
 * expected - the window's count at t by the definition: units not
 * released whose bucket ends above the window's lower edge (t's bucket
 * start minus the window). Event times only grow, so none is above t.
 */
static uint64_t
expected(const struct model *m, time_t t)
{
	int64_t b = m->w.bucket_s, lower = t - t % b - b * m->w.nbuckets;
	uint64_t sum = 0;
	size_t i;

	for (i = m->nev; i > 0 && m->ev[i - 1].t >= lower; i--)
		if (!m->ev[i - 1].released)
			sum += m->ev[i - 1].n;
	return sum;
}

/*
 * check_invariant - no closed interval [a, a + W], for every a at
 * one-second steps over the history, holds more live units than the
 * limit.
 */
static void
check_invariant(const struct model *m)
{
	int64_t w = (int64_t)m->w.bucket_s * m->w.nbuckets;
	time_t first = m->ev[0].t, last = m->ev[m->nev - 1].t;
	size_t len = (size_t)(last - first) + 1, i;
	uint64_t *prefix = calloc(len + 1, sizeof(*prefix)), in;
	int64_t a, lo, hi;

	assert_non_null(prefix);
	for (i = 0; i < m->nev; i++)
		if (!m->ev[i].released)
			prefix[m->ev[i].t - first + 1] += m->ev[i].n;
	for (i = 1; i <= len; i++)
		prefix[i] += prefix[i - 1];
	for (a = first - w; a <= last; a++) {
		lo = a < first ? first : a;
		hi = a + w > last ? last : a + w;
		in = prefix[hi - first + 1] - prefix[lo - first];
		if (in > m->limit)
			fail_msg("%s: [%lld, %lld] holds %llu > limit %llu",
			    m->key, (long long)a, (long long)(a + w),
			    (unsigned long long)in,
			    (unsigned long long)m->limit);
	}
	free(prefix);
}

/* record - remember an admitted add */
static void
record(struct model *m, time_t t, uint64_t n, time_t bucket)
{
	if (m->nev == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->ev = realloc(m->ev, m->cap * sizeof(*m->ev));
		assert_non_null(m->ev);
	}
	m->ev[m->nev++] = (struct event){ t, n, bucket, false };
}

/* step_add - one add, checked against the definition and the invariant */
static bool
step_add(struct pfl_store *st, struct model *m, time_t t, uint64_t n)
{
	uint64_t want = expected(m, t);
	struct pfl_window_result r =
	    add(st, m->key, m->w.bucket_s, m->w.nbuckets, t, n, m->limit);
	bool fits = n <= m->limit && want + n <= m->limit;

	assert_int_equal(r.total, want);
	assert_int_equal(r.admitted, fits);
	if (fits) {
		assert_int_equal(r.bucket, t - t % m->w.bucket_s);
		assert_int_equal(r.next_free, 0);
		if (n > 0) {
			record(m, t, n, r.bucket);
			check_invariant(m);
		}
	} else if (n > m->limit) {
		assert_int_equal(r.next_free, 0);
	} else {
		/* the first second at which n fits, if nothing else comes */
		assert_true(r.next_free > t);
		assert_true(expected(m, r.next_free) + n <= m->limit);
		assert_true(expected(m, r.next_free - 1) + n > m->limit);
	}
	return fits;
}

/* step_release - give back one recent reservation */
static void
step_release(struct pfl_store *st, struct model *m, uint64_t *seed)
{
	struct event *e;

	if (m->nev == 0)
		return;
	e = &m->ev[m->nev - 1 - rnd(seed) % (m->nev < 40 ? m->nev : 40)];
	if (e->released)
		return;
	release(st, m->key, m->w.bucket_s, m->w.nbuckets, e->bucket, e->n);
	e->released = true;
}

/* gap - how far the fake clock moves: mostly bursts, some quiet spells */
static time_t
gap(uint64_t *seed)
{
	uint64_t x = rnd(seed) % 100;

	if (x < 60)
		return 0;
	if (x < 90)
		return (time_t)(1 + rnd(seed) % 4);
	if (x < 98)
		return (time_t)(5 + rnd(seed) % 26);
	return (time_t)(rnd(seed) % 700);
}

/* property - random arrivals on several keys and window shapes */
static void
property(struct pfl_store *st, const char *kind, uint64_t seed)
{
	struct model m[] = {
		{ .w = { 1, 10 }, .limit = 6 },
		{ .w = { 5, 12 }, .limit = 25 },
		{ .w = { 60, 5 }, .limit = 40 },
		{ .w = { 7, 3 }, .limit = 5 },
		{ .w = { 3600, 1 }, .limit = 100 },
	};
	size_t nm = sizeof(m) / sizeof(m[0]), i, k, admitted = 0, refused = 0;
	time_t t = T0;
	uint64_t n;

	for (k = 0; k < nm; k++)
		snprintf(m[k].key, sizeof(m[k].key), "%s/prop/%zu/%llu", kind,
		    k, (unsigned long long)seed);
	for (i = 0; i < 4000; i++) {
		t += gap(&seed);
		k = rnd(&seed) % nm;
		if (rnd(&seed) % 10 == 0) {
			step_release(st, &m[k], &seed);
			continue;
		}
		n = rnd(&seed) % 50 == 0 ? m[k].limit + 1 : 1 + rnd(&seed) % 3;
		if (step_add(st, &m[k], t, n))
			admitted++;
		else
			refused++;
		if (rnd(&seed) % 20 == 0) {
			uint64_t want = expected(&m[k], t);

			assert_int_equal(total(st, m[k].key, m[k].w.bucket_s,
					     m[k].w.nbuckets, t),
			    want == 0 ? -1 : (long long)want);
		}
	}
	/* both outcomes were exercised, many times */
	assert_true(admitted > 500);
	assert_true(refused > 500);
	for (k = 0; k < nm; k++)
		free(m[k].ev);
}

static void
test_property(void **state)
{
	const char *env = getenv("PFL_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20240611;
	char spec[300];
	struct pfl_store *st;
	size_t i;

	(void)state;
	print_message(
	    "# property seed %llu (PFL_TEST_SEED)\n", (unsigned long long)seed);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st = open_spec(spec);
		property(st, kinds[i], seed | 1);
		pfl_store_close(&st);
	}
}

/* --- exact limits under contention ------------------------------------------ */

#define RACE_LIMIT 1000
#define RACE_TRIES 400

struct racer {
	struct pfl_store *st;
	const char *key;
	int admitted, failed;
	pthread_barrier_t *start; /* NULL: go at once */
};

/* race - try RACE_TRIES adds of 1 at the same fake second */
static void *
race(void *arg)
{
	struct racer *r = arg;
	struct pfl_window w = { 60, 60 };
	struct pfl_window_result res;
	char err[256];
	int i;

	if (r->start != NULL)
		pthread_barrier_wait(r->start);
	for (i = 0; i < RACE_TRIES; i++) {
		if (pfl_store_window_add(r->st, r->key, &w, T0, 1, RACE_LIMIT,
			&res, err, sizeof(err)) != PFL_STORE_OK)
			r->failed++;
		else if (res.admitted)
			r->admitted++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct racer r[4];
	pthread_barrier_t start;
	pthread_t th[4];
	char spec[300], key[64];
	struct pfl_store *st[2];
	size_t i, j;
	int sum;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		/* two handles on one store, as after a reload (memory: one) */
		st[0] = open_spec(spec);
		st[1] = strcmp(kinds[i], "memory") ? open_spec(spec) : st[0];
		snprintf(key, sizeof(key), "%s/race", kinds[i]);
		pthread_barrier_init(&start, NULL, 4);
		for (j = 0; j < 4; j++) {
			r[j] = (struct racer){ st[j % 2], key, 0, 0, &start };
			assert_int_equal(
			    pthread_create(&th[j], NULL, race, &r[j]), 0);
		}
		for (j = 0, sum = 0; j < 4; j++) {
			pthread_join(th[j], NULL);
			assert_int_equal(r[j].failed, 0);
			sum += r[j].admitted;
		}
		pthread_barrier_destroy(&start);
		assert_int_equal(sum, RACE_LIMIT);
		assert_int_equal(total(st[0], key, 60, 60, T0), RACE_LIMIT);
		if (st[1] != st[0])
			pfl_store_close(&st[1]);
		/* the other handle still works after one was closed */
		assert_int_equal(total(st[0], key, 60, 60, T0), RACE_LIMIT);
		pfl_store_close(&st[0]);
	}
}

/* --- batches: all the adds or none ------------------------------------------ */

/* op - a batch op on key with window { b, nb } */
static struct pfl_window_op
op(const char *key, unsigned b, unsigned nb, uint64_t n, uint64_t limit)
{
	struct pfl_window_op o = { key, { b, nb }, n, limit };

	return o;
}

/* many - a batch that must not fail; the index of its refusal, or n */
static size_t
many(struct pfl_store *st, const struct pfl_window_op *ops, size_t n,
    time_t now, struct pfl_window_result *res)
{
	char err[256] = "";
	size_t at = 99;

	if (pfl_store_window_add_many(
		st, ops, n, now, res, &at, err, sizeof(err)) != PFL_STORE_OK)
		fail_msg("%s add_many: %s", pfl_store_kind(st), err);
	assert_true(at <= n);
	return at;
}

/* batch_admit - every op admits: each counted, results as single adds */
static void
batch_admit(struct pfl_store *st, const char *p)
{
	char a[64], b[64], c[64];
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3];

	snprintf(a, sizeof(a), "%s/ba", p);
	snprintf(b, sizeof(b), "%s/bb", p);
	snprintf(c, sizeof(c), "%s/bc", p);
	assert_true(add(st, b, 10, 6, 100, 3, 5).admitted);
	ops[0] = op(a, 10, 6, 1, 5);
	ops[1] = op(b, 10, 6, 2, 5);
	ops[2] = op(c, 60, 1, 4, 4);
	assert_int_equal(many(st, ops, 3, 105, res), 3);
	assert_true(res[0].admitted && res[1].admitted && res[2].admitted);
	assert_int_equal(res[0].total, 0);
	assert_int_equal(res[1].total, 3);
	assert_int_equal(res[2].total, 0);
	assert_int_equal(res[0].bucket, 100);
	assert_int_equal(res[2].bucket, 60);
	assert_int_equal(res[1].next_free, 0);
	assert_int_equal(total(st, a, 10, 6, 105), 1);
	assert_int_equal(total(st, b, 10, 6, 105), 5);
	assert_int_equal(total(st, c, 60, 1, 105), 4);
	/* released like single adds, from the bucket each result names */
	release(st, b, 10, 6, res[1].bucket, 2);
	assert_int_equal(total(st, b, 10, 6, 105), 3);
	/* no ops: nothing to do */
	assert_int_equal(many(st, ops, 0, 105, res), 0);
}

/* batch_refuse - the second op refuses: nothing added, its reason kept */
static void
batch_refuse(struct pfl_store *st, const char *p)
{
	char a[64], b[64], c[64];
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3], single;

	snprintf(a, sizeof(a), "%s/ra", p);
	snprintf(b, sizeof(b), "%s/rb", p);
	snprintf(c, sizeof(c), "%s/rc", p);
	assert_true(add(st, a, 10, 6, 100, 1, 9).admitted);
	assert_true(add(st, b, 10, 6, 100, 2, 5).admitted);
	assert_true(add(st, b, 10, 6, 125, 2, 5).admitted);
	ops[0] = op(a, 10, 6, 1, 9);
	ops[1] = op(b, 10, 6, 2, 5);
	ops[2] = op(c, 10, 6, 1, 9);
	/* b holds 4 of 5: 2 more do not fit until bucket 100 ages out */
	assert_int_equal(many(st, ops, 3, 161, res), 1);
	assert_false(res[1].admitted);
	assert_int_equal(res[1].total, 4);
	assert_int_equal(res[1].next_free, 170);
	assert_int_equal(res[1].bucket, 160);
	/* the others' results are zero, and nothing was added anywhere */
	assert_false(res[0].admitted);
	assert_int_equal(res[0].total, 0);
	assert_int_equal(res[0].bucket, 0);
	assert_false(res[2].admitted);
	assert_int_equal(total(st, a, 10, 6, 161), 1);
	assert_int_equal(total(st, b, 10, 6, 161), 4);
	assert_int_equal(total(st, c, 10, 6, 161), -1);
	/* the same numbers as a single add gives */
	single = add(st, b, 10, 6, 161, 2, 5);
	assert_false(single.admitted);
	assert_int_equal(single.total, res[1].total);
	assert_int_equal(single.next_free, res[1].next_free);
	/* the first op refusing; n above its limit: never (next_free 0) */
	ops[0] = op(a, 10, 6, 10, 9);
	assert_int_equal(many(st, ops, 3, 161, res), 0);
	assert_false(res[0].admitted);
	assert_int_equal(res[0].next_free, 0);
	assert_int_equal(total(st, a, 10, 6, 161), 1);
	/* the last op refusing: the two before are taken back */
	ops[0] = op(a, 10, 6, 1, 9);
	ops[1] = op(c, 10, 6, 1, 9);
	ops[2] = op(b, 10, 6, 2, 5);
	assert_int_equal(many(st, ops, 3, 161, res), 2);
	assert_int_equal(res[2].next_free, 170);
	assert_int_equal(total(st, a, 10, 6, 161), 1);
	assert_int_equal(total(st, c, 10, 6, 161), -1);
	/* at 170 it fits, and all three are counted (a's bucket 100 is out) */
	assert_int_equal(many(st, ops, 3, 170, res), 3);
	assert_int_equal(res[2].total, 2);
	assert_int_equal(total(st, a, 10, 6, 170), 1);
	assert_int_equal(total(st, b, 10, 6, 170), 4);
	assert_int_equal(total(st, c, 10, 6, 170), 1);
}

/* batch_same_key - a key named twice sees its earlier add */
static void
batch_same_key(struct pfl_store *st, const char *p)
{
	char k[64];
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3];

	snprintf(k, sizeof(k), "%s/twice", p);
	ops[0] = op(k, 10, 6, 1, 3);
	ops[1] = op(k, 10, 6, 1, 3);
	assert_int_equal(many(st, ops, 2, 100, res), 2);
	assert_int_equal(res[0].total, 0);
	assert_int_equal(res[1].total, 1);
	assert_int_equal(total(st, k, 10, 6, 100), 2);
	/* 2 + 1 fits, 2 + 1 + 1 does not: the first add is taken back */
	assert_int_equal(many(st, ops, 2, 101, res), 1);
	assert_int_equal(res[1].total, 3);
	assert_int_equal(total(st, k, 10, 6, 101), 2);
	/* a refusal after both: the key is as before */
	ops[2] = op(k, 10, 6, 5, 4);
	ops[1] = op(k, 10, 6, 0, 3);
	assert_int_equal(many(st, ops, 3, 102, res), 2);
	assert_int_equal(res[2].next_free, 0);
	assert_int_equal(total(st, k, 10, 6, 102), 2);
}

/* batch_errors - a bad op or a key with a value: TEMPFAIL at its index */
static void
batch_errors(struct pfl_store *st, const char *p)
{
	char a[64], v[64], err[256];
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3];
	size_t at;

	snprintf(a, sizeof(a), "%s/ea", p);
	snprintf(v, sizeof(v), "%s/ev", p);
	put(st, v, "value", 0);
	ops[0] = op(a, 10, 6, 1, 9);
	ops[1] = op(a, 10, 6, 1, 9);
	ops[2] = op(v, 10, 6, 1, 9);
	at = 99;
	assert_int_equal(pfl_store_window_add_many(
			     st, ops, 3, 100, res, &at, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(at, 2);
	assert_non_null(strstr(err, "holds a value, not a window"));
	assert_false(res[0].admitted);
	assert_int_equal(total(st, a, 10, 6, 100), -1);
	has_value(st, v, "value");
	/* arguments are checked before anything is tried */
	ops[1] = op("", 10, 6, 1, 9);
	assert_int_equal(pfl_store_window_add_many(
			     st, ops, 3, 100, res, &at, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(at, 1);
	assert_non_null(strstr(err, "empty key"));
	ops[1] = op(a, 0, 6, 1, 9);
	assert_int_equal(pfl_store_window_add_many(
			     st, ops, 2, 100, res, &at, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(at, 1);
	assert_int_equal(pfl_store_window_add_many(
			     st, ops, 1, -1, res, &at, err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(at, 0);
	assert_int_equal(total(st, a, 10, 6, 100), -1);
}

static void
test_batch(void **state)
{
	char spec[300];
	struct pfl_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st = open_spec(spec);
		batch_admit(st, kinds[i]);
		batch_refuse(st, kinds[i]);
		batch_same_key(st, kinds[i]);
		batch_errors(st, kinds[i]);
		pfl_store_close(&st);
	}
}

#define BATCH_LIMIT 150 /* the tighter of the two shared keys */

struct batcher {
	struct pfl_store *st;
	const char *p;        /* key prefix */
	int id;               /* its own key's number */
	int admitted, failed; /* batches */
	pthread_barrier_t *start;
};

/*
 * batch_race - RACE_TRIES batches of three adds: two shared keys (limits
 * BATCH_LIMIT and twice that) and one of its own, with no limit
 */
static void *
batch_race(void *arg)
{
	struct batcher *r = arg;
	char x[64], y[64], own[64], err[256];
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3];
	size_t at;
	int i;

	snprintf(x, sizeof(x), "%s/bx", r->p);
	snprintf(y, sizeof(y), "%s/by", r->p);
	snprintf(own, sizeof(own), "%s/own%d", r->p, r->id);
	ops[0] = op(own, 60, 60, 1, 1u << 30);
	ops[1] = op(x, 60, 60, 1, 2 * BATCH_LIMIT);
	ops[2] = op(y, 60, 60, 1, BATCH_LIMIT);
	if (r->start != NULL)
		pthread_barrier_wait(r->start);
	for (i = 0; i < RACE_TRIES; i++) {
		if (pfl_store_window_add_many(r->st, ops, 3, T0, res, &at, err,
			sizeof(err)) != PFL_STORE_OK)
			r->failed++;
		else if (at == 3)
			r->admitted++;
	}
	return NULL;
}

/* batch_totals - the shared keys and every own key hold what was admitted */
static void
batch_totals(
    struct pfl_store *st, const char *p, const struct batcher *r, int n)
{
	char key[64];
	int i, sum = 0;

	for (i = 0; i < n; i++) {
		assert_int_equal(r[i].failed, 0);
		sum += r[i].admitted;
		snprintf(key, sizeof(key), "%s/own%d", p, r[i].id);
		assert_int_equal(total(st, key, 60, 60, T0),
		    r[i].admitted ? r[i].admitted : -1);
	}
	assert_int_equal(sum, BATCH_LIMIT);
	snprintf(key, sizeof(key), "%s/bx", p);
	assert_int_equal(total(st, key, 60, 60, T0), BATCH_LIMIT);
	snprintf(key, sizeof(key), "%s/by", p);
	assert_int_equal(total(st, key, 60, 60, T0), BATCH_LIMIT);
}

/* threads on two handles: a Redis handle sends the batches of its threads
 * that meet in one write */
#define BATCH_THREADS 8

static void
test_batch_threads(void **state)
{
	struct batcher r[BATCH_THREADS];
	pthread_barrier_t start;
	pthread_t th[BATCH_THREADS];
	char spec[300];
	struct pfl_store *st[2];
	size_t i;
	int j;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!usable(kinds[i]))
			continue;
		spec_for(kinds[i], spec, sizeof(spec));
		st[0] = open_spec(spec);
		st[1] = strcmp(kinds[i], "memory") ? open_spec(spec) : st[0];
		pthread_barrier_init(&start, NULL, BATCH_THREADS);
		for (j = 0; j < BATCH_THREADS; j++) {
			r[j] = (struct batcher){ st[j % 2], kinds[i], j, 0, 0,
				&start };
			assert_int_equal(
			    pthread_create(&th[j], NULL, batch_race, &r[j]), 0);
		}
		for (j = 0; j < BATCH_THREADS; j++)
			pthread_join(th[j], NULL);
		pthread_barrier_destroy(&start);
		/* x never reached its limit: only whole batches were added */
		batch_totals(st[0], kinds[i], r, BATCH_THREADS);
		if (st[1] != st[0])
			pfl_store_close(&st[1]);
		pfl_store_close(&st[0]);
	}
}

/* --- LMDB: processes, restarts, growth, sweeping ------------------------------ */

/* need_lmdb - skip when LMDB was not built */
static void
need_lmdb(void)
{
	if (!pfl_store_backend_built("lmdb")) {
		print_message("# LMDB backend not built\n");
		skip();
	}
}

static void
test_lmdb_processes(void **state)
{
	struct racer r = { NULL, "procs", 0, 0, NULL };
	char spec[300];
	pid_t kids[3];
	int fds[2], i, sum, got, status;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	r.st = open_spec(spec);
	/* used before fork: the children must not use this environment */
	assert_int_equal(total(r.st, "procs", 60, 60, T0), -1);
	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < 3; i++) {
		if ((kids[i] = fork()) == 0) {
			race(&r);
			got = r.failed ? -1000 : r.admitted;
			(void)!write(fds[1], &got, sizeof(got));
			pfl_store_close(&r.st);
			_exit(0);
		}
		assert_true(kids[i] > 0);
	}
	race(&r);
	assert_int_equal(r.failed, 0);
	sum = r.admitted;
	for (i = 0; i < 3; i++) {
		assert_int_equal(read(fds[0], &got, sizeof(got)), sizeof(got));
		sum += got;
		waitpid(kids[i], &status, 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(sum, RACE_LIMIT);
	assert_int_equal(total(r.st, "procs", 60, 60, T0), RACE_LIMIT);
	pfl_store_close(&r.st);
}

/* own_total - what racer i's own key holds (0 when nothing) */
static int
own_total(struct pfl_store *st, const char *p, int i)
{
	char key[64];
	long long n;

	snprintf(key, sizeof(key), "%s/own%d", p, i);
	n = total(st, key, 60, 60, T0);
	return n < 0 ? 0 : (int)n;
}

static void
test_batch_lmdb_processes(void **state)
{
	struct batcher r[4];
	char spec[300];
	pid_t kid;
	int fds[2], i, got, sum = 0, status;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	r[0] = (struct batcher){ open_spec(spec), "procs", 0, 0, 0, NULL };
	/* used before fork: the children must not use this environment */
	assert_int_equal(total(r[0].st, "procs/bx", 60, 60, T0), -1);
	assert_int_equal(pipe(fds), 0);
	for (i = 1; i < 4; i++) {
		r[i] = r[0];
		r[i].id = i;
		if ((kid = fork()) == 0) {
			batch_race(&r[i]);
			got = r[i].failed ? -1000 : r[i].admitted;
			(void)!write(fds[1], &got, sizeof(got));
			pfl_store_close(&r[i].st);
			_exit(0);
		}
		assert_true(kid > 0);
	}
	batch_race(&r[0]);
	for (i = 1; i < 4; i++) {
		assert_int_equal(read(fds[0], &got, sizeof(got)), sizeof(got));
		assert_true(got >= 0);
		sum += got;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fds[0]);
	close(fds[1]);
	/* each child's own key holds what it reported */
	for (i = 1; i < 4; i++)
		sum -= (r[i].admitted = own_total(r[0].st, "procs", i));
	assert_int_equal(sum, 0);
	batch_totals(r[0].st, "procs", r, 4);
	pfl_store_close(&r[0].st);
}

static void
test_lmdb_restart(void **state)
{
	char spec[300], cwd[512];
	struct pfl_store *st;
	struct pfl_window_result res;

	(void)state;
	need_lmdb();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	spec_for("lmdb", spec, sizeof(spec));
	st = open_spec(spec);
	assert_true(add(st, "day", 3600, 24, T0, 1500, 2000).admitted);
	assert_true(add(st, "day", 3600, 24, T0 + 7200, 400, 2000).admitted);
	pfl_store_close(&st);
	st = open_spec(spec);
	assert_int_equal(total(st, "day", 3600, 24, T0 + 7200), 1900);
	res = add(st, "day", 3600, 24, T0 + 7300, 101, 2000);
	assert_false(res.admitted);
	assert_int_equal(res.total, 1900);
	assert_true(add(st, "day", 3600, 24, T0 + 7300, 100, 2000).admitted);
	pfl_store_close(&st);
	/* a relative path is made absolute at open */
	assert_int_equal(chdir(fx.dir), 0);
	st = open_spec("lmdb:restart-rel.lmdb");
	assert_int_equal(chdir("/"), 0);
	assert_true(add(st, "rel", 60, 1, T0, 1, 1).admitted);
	pfl_store_close(&st);
	snprintf(spec, sizeof(spec), "lmdb:%s/restart-rel.lmdb", fx.dir);
	st = open_spec(spec);
	assert_int_equal(total(st, "rel", 60, 1, T0), 1);
	pfl_store_close(&st);
	assert_int_equal(chdir(cwd), 0);
}

/* count_keys - list callback: count */
static int
count_keys(const char *key, void *arg)
{
	(void)key;
	(*(int *)arg)++;
	return 0;
}

static void
test_lmdb_growth(void **state)
{
	char spec[300], key[500], err[256];
	struct pfl_store *st;
	struct stat sb;
	int i, n = 0;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	st = open_spec(spec);
	memset(key, 'g', sizeof(key));
	/* about 2 MB of keys: the 1 MiB map has to grow at least once */
	for (i = 0; i < 4000; i++) {
		snprintf(key + 440, sizeof(key) - 440, "/%05d", i);
		assert_true(add(st, key, 60, 10, T0, 1 + i % 7, 10).admitted);
	}
	assert_int_equal(stat(spec + 5, &sb), 0);
	assert_true(sb.st_size > (1 << 20));
	assert_int_equal(
	    pfl_store_list(st, "ggg", count_keys, &n, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(n, 4000);
	snprintf(key + 440, sizeof(key) - 440, "/%05d", 3999);
	assert_int_equal(total(st, key, 60, 10, T0), 1 + 3999 % 7);
	pfl_store_close(&st);
}

/* fill - n keys of about 450 bytes from i0 on, each admitted */
static void
fill(struct pfl_store *st, int i0, int n)
{
	char key[500];
	int i;

	memset(key, 'm', sizeof(key));
	for (i = i0; i < i0 + n; i++) {
		snprintf(key + 440, sizeof(key) - 440, "/%05d", i);
		assert_true(add(st, key, 60, 10, T0, 1, 10).admitted);
	}
}

/*
 * test_lmdb_shared_map - a process that opens the file while another
 * has grown its map does not cut the file under that map (it would die
 * of SIGBUS at its next write), and the map's pages are allocated
 */
static void
test_lmdb_shared_map(void **state)
{
	char spec[300];
	struct pfl_store *st;
	struct stat before, after;
	pid_t kid;
	int status;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	st = open_spec(spec);
	fill(st, 0, 3000); /* the map grows past 1 MiB, more than is used */
	assert_int_equal(stat(spec + 5, &before), 0);
	assert_true(before.st_size > (1 << 20));
	/* allocated, not sparse: a full disk cannot fault a store later */
	assert_true((off_t)before.st_blocks * 512 >= before.st_size);
	if ((kid = fork()) == 0) {
		struct pfl_store *mine = open_spec(spec);

		/* a reader, such as `preflight budget show` */
		assert_int_equal(total(mine, "x", 60, 10, T0), -1);
		pfl_store_close(&mine);
		_exit(0);
	}
	assert_true(kid > 0);
	assert_int_equal(waitpid(kid, &status, 0), kid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(stat(spec + 5, &after), 0);
	assert_true(after.st_size >= before.st_size);
	fill(st, 3000, 1000); /* new pages past the last ones used */
	pfl_store_close(&st);
}

static void
test_lmdb_sweep(void **state)
{
	char spec[300], key[64], err[256];
	struct pfl_store *st;
	int i, n = 0;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	st = open_spec(spec);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "old/%02d", i);
		assert_true(add(st, key, 10, 6, 1000, 1, 5).admitted);
	}
	/* still within the window: the sweep keeps them */
	for (i = 0; i < 10; i++)
		assert_true(add(st, "new", 10, 6, 1030, 1, 100).admitted);
	assert_int_equal(
	    pfl_store_list(st, "old/", count_keys, &n, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(n, 50);
	/* long after: each add sweeps a few; all 50 are gone in 8 adds */
	for (i = 0; i < 8; i++)
		assert_true(add(st, "new", 10, 6, 5000, 1, 100).admitted);
	n = 0;
	assert_int_equal(
	    pfl_store_list(st, "old/", count_keys, &n, err, sizeof(err)),
	    PFL_STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(total(st, "new", 10, 6, 5000), 8);
	pfl_store_close(&st);
}

#ifdef HAVE_LMDB
/* raw_env - the file's environment opened directly (no store handle open) */
static MDB_env *
raw_env(const char *path)
{
	MDB_env *env;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	return env;
}

/* raw_put - write a record as it is, bypassing the store */
static void
raw_put(const char *path, const char *key, const void *rec, size_t len)
{
	MDB_env *env = raw_env(path);
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)rec };
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* raw_get - a record's bytes into buf (size n); its length, -1 if none */
static long
raw_get(const char *path, const char *key, void *buf, size_t n)
{
	MDB_env *env = raw_env(path);
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	MDB_dbi dbi;
	long len = -1;

	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	if (mdb_get(txn, dbi, &k, &v) == 0) {
		len = (long)v.mv_size;
		memcpy(buf, v.mv_data, v.mv_size < n ? v.mv_size : n);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return len;
}
#endif

/* A window record as written before values existed: "PFL1", one bucket. */
struct old_record {
	uint32_t magic, keep_s;
	int64_t start;
	uint32_t width, unused;
	uint64_t count;
};

/* A value record: "PFV1", zero, the expiry in ms, then the bytes. */
struct value_record {
	uint32_t magic, unused;
	int64_t expires;
	char bytes[8];
};

static void
test_lmdb_values(void **state)
{
#ifdef HAVE_LMDB
	struct old_record old = { 0x314c4650u, 70, T0 - T0 % 10, 10, 0, 4 };
	struct value_record vr = { 0x31564650u, 0, 0, "" }, got;
	char spec[300], err[256], buf[64];
	struct pfl_store *st;
	struct seen s;
	int i;

	(void)state;
	need_lmdb();
	spec_for("lmdb", spec, sizeof(spec));
	/* a window record from before values: still a window, no value */
	raw_put(spec + 5, "old/window", &old, sizeof(old));
	/* a value whose time ran out long ago, and a record of nobody's */
	vr.expires = 1000;
	memcpy(vr.bytes, "stale", 6);
	raw_put(spec + 5, "old/stale", &vr, sizeof(vr));
	raw_put(spec + 5, "old/junk", "junk", 4);
	st = open_spec(spec);
	assert_int_equal(total(st, "old/window", 10, 6, T0), 4);
	no_value(st, "old/window");
	assert_int_equal(add(st, "old/window", 10, 6, T0, 1, 5).total, 4);
	no_value(st, "old/stale");
	assert_int_equal(pfl_store_get(st, "old/junk", buf, sizeof(buf), NULL,
			     err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "holds no record of ours"));
	assert_int_equal(
	    pfl_store_delete(st, "old/junk", err, sizeof(err)), PFL_STORE_OK);
	list_into(st, "old/", &s);
	assert_int_equal(s.n, 1); /* the expired value is not listed */
	assert_string_equal(s.keys[0], "old/window");
	/* a value survives a reopen, with its tag and no expiry */
	put(st, "dnsbl/192.0.2.1", "zen since 1700000000", 0);
	put(st, "dnsbl/192.0.2.2", "b.barracudacentral.org", 3600);
	pfl_store_close(&st);
	assert_int_equal(
	    raw_get(spec + 5, "dnsbl/192.0.2.1", &got, sizeof(got)), 16 + 20);
	assert_int_equal(got.magic, 0x31564650u);
	assert_int_equal(got.expires, 0);
	assert_int_equal(
	    raw_get(spec + 5, "dnsbl/192.0.2.2", &got, sizeof(got)), 16 + 22);
	assert_true(got.expires > (int64_t)time(NULL) * 1000 + 3590 * 1000);
	assert_true(got.expires <= (int64_t)time(NULL) * 1000 + 3601 * 1000);
	st = open_spec(spec);
	has_value(st, "dnsbl/192.0.2.1", "zen since 1700000000");
	has_value(st, "dnsbl/192.0.2.2", "b.barracudacentral.org");
	/* adds sweep the expired value away; live values stay */
	for (i = 0; i < 4; i++)
		assert_true(add(st, "new", 10, 6, T0, 1, 100).admitted);
	pfl_store_close(&st);
	assert_int_equal(raw_get(spec + 5, "old/stale", buf, sizeof(buf)), -1);
	assert_true(raw_get(spec + 5, "dnsbl/192.0.2.1", buf, sizeof(buf)) > 0);
	assert_true(raw_get(spec + 5, "old/window", buf, sizeof(buf)) > 0);
#else
	(void)state;
	need_lmdb();
#endif
}

/* --- Redis: unreachable, silent, restarted, layout ---------------------------- */

/* need_redis - skip unless the Redis backend is built and a server runs */
static void
need_redis(void)
{
	if (!pfl_store_backend_built("redis")) {
		print_message("# Redis backend not built\n");
		skip();
	}
	if (!usable("redis"))
		skip();
}

/* elapsed_ms - milliseconds since start */
static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

enum timed_op { TIMED_ADD, TIMED_PUT, TIMED_GET, TIMED_MANY };

/* timed_op - one call with a 300 ms timeout; its status and duration */
static enum pfl_store_status
timed_op(const char *spec, enum timed_op op, long *ms, char *err, size_t n)
{
	struct pfl_window w = { 60, 60 };
	struct pfl_window_op ops[2] = { { "k", { 60, 60 }, 1, 10 },
		{ "l", { 60, 60 }, 1, 10 } };
	struct pfl_window_result r, res[2];
	enum pfl_store_status s;
	struct pfl_store *st;
	struct timespec start;
	char buf[16];
	size_t at;

	st = pfl_store_open(spec, 300, err, n);
	assert_non_null(st);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (op == TIMED_ADD)
		s = pfl_store_window_add(st, "k", &w, T0, 1, 10, &r, err, n);
	else if (op == TIMED_PUT)
		s = pfl_store_put(st, "k", "v", 1, 60, err, n);
	else if (op == TIMED_MANY)
		s = pfl_store_window_add_many(st, ops, 2, T0, res, &at, err, n);
	else
		s = pfl_store_get(st, "k", buf, sizeof(buf), NULL, err, n);
	*ms = elapsed_ms(&start);
	pfl_store_close(&st);
	return s;
}

/* timed_add - one add with a 300 ms timeout; its status and duration */
static enum pfl_store_status
timed_add(const char *spec, long *ms, char *err, size_t n)
{
	return timed_op(spec, TIMED_ADD, ms, err, n);
}

static void
test_redis_unreachable(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char spec[128], err[256];
	enum timed_op op;
	long ms;
	int fd;

	(void)state;
	if (!pfl_store_backend_built("redis")) {
		print_message("# Redis backend not built\n");
		skip();
	}
	/* nobody listens: refused at once */
	snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d/0", free_port());
	assert_int_equal(
	    timed_add(spec, &ms, err, sizeof(err)), PFL_STORE_TEMPFAIL);
	assert_non_null(strstr(err, "connect"));
	assert_true(ms < 300);
	/* a listener that never answers: bounded by the timeout */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(
	    spec, sizeof(spec), "redis://127.0.0.1:%d/0", ntohs(sa.sin_port));
	assert_int_equal(
	    timed_add(spec, &ms, err, sizeof(err)), PFL_STORE_TEMPFAIL);
	if (strstr(err, "timed out") == NULL)
		fail_msg("not a timeout: %s (%ld ms)", err, ms);
	assert_true(ms >= 250);
	assert_true(ms < 600);
	/* the value calls and batches are bounded the same way */
	for (op = TIMED_PUT; op <= TIMED_MANY; op++) {
		err[0] = '\0';
		assert_int_equal(timed_op(spec, op, &ms, err, sizeof(err)),
		    PFL_STORE_TEMPFAIL);
		if (strstr(err, "timed out") == NULL)
			fail_msg("not a timeout: %s (%ld ms)", err, ms);
		assert_true(ms >= 250);
		assert_true(ms < 600);
	}
	close(fd);
}

#define STALL_THREADS 8

/* One thread's batch add while the server may be stopped. */
struct staller {
	struct pfl_store *st;
	int id;
	pthread_barrier_t *start;
	enum pfl_store_status s;
	long ms;
	char err[256];
};

/* stall_add - one batch add of two keys, its own and a shared one */
static void *
stall_add(void *arg)
{
	struct staller *r = arg;
	struct pfl_window_op ops[2];
	struct pfl_window_result res[2];
	struct timespec start;
	char own[32];
	size_t at;

	snprintf(own, sizeof(own), "stall/own%d", r->id);
	ops[0] = op(own, 60, 60, 1, 1000);
	ops[1] = op("stall/shared", 60, 60, 1, 1000);
	pthread_barrier_wait(r->start);
	clock_gettime(CLOCK_MONOTONIC, &start);
	r->err[0] = '\0';
	r->s = pfl_store_window_add_many(
	    r->st, ops, 2, T0, res, &at, r->err, sizeof(r->err));
	r->ms = elapsed_ms(&start);
	return NULL;
}

/* stall_round - STALL_THREADS batch adds at once on st, all joined */
static void
stall_round(struct pfl_store *st, struct staller *r)
{
	pthread_barrier_t start;
	pthread_t th[STALL_THREADS];
	int i;

	pthread_barrier_init(&start, NULL, STALL_THREADS);
	for (i = 0; i < STALL_THREADS; i++) {
		r[i] = (struct staller){ .st = st, .id = i, .start = &start };
		assert_int_equal(
		    pthread_create(&th[i], NULL, stall_add, &r[i]), 0);
	}
	for (i = 0; i < STALL_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
}

/*
 * The batch adds of threads that call at once go out together: with
 * the server stopped, each one, sending or queued behind a batch that
 * hangs, is TEMPFAIL "timed out" within its own timeout (300 ms), and
 * once the server runs again they all work.
 */
static void
test_redis_pipe_stalled(void **state)
{
	struct staller r[STALL_THREADS];
	struct pfl_store *st;
	char spec[128], err[256];
	int port, i;
	pid_t pid;

	(void)state;
	need_redis();
	port = free_port();
	assert_true((pid = start_redis(port)) > 0);
	snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d/3", port);
	assert_non_null(st = pfl_store_open(spec, 300, err, sizeof(err)));
	stall_round(st, r);
	for (i = 0; i < STALL_THREADS; i++)
		assert_int_equal(r[i].s, PFL_STORE_OK);
	assert_int_equal(total(st, "stall/shared", 60, 60, T0), STALL_THREADS);
	kill(pid, SIGSTOP);
	stall_round(st, r);
	for (i = 0; i < STALL_THREADS; i++) {
		assert_int_equal(r[i].s, PFL_STORE_TEMPFAIL);
		if (strstr(r[i].err, "timed out") == NULL)
			fail_msg("not a timeout: %s", r[i].err);
		if (r[i].ms >= 600)
			fail_msg("thread %d waited %ld ms", i, r[i].ms);
	}
	kill(pid, SIGCONT);
	stall_round(st, r);
	for (i = 0; i < STALL_THREADS; i++)
		if (r[i].s != PFL_STORE_OK)
			fail_msg("thread %d after the stall: %s", i, r[i].err);
	pfl_store_close(&st);
	stop_redis(pid);
}

static void
test_redis_restart(void **state)
{
	char spec[128], buf[256], err[256];
	struct pfl_window w = { 60, 60 };
	struct pfl_window_result r;
	struct pfl_store *st;
	int port;
	pid_t pid;

	(void)state;
	need_redis();
	port = free_port();
	assert_true((pid = start_redis(port)) > 0);
	snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d/2", port);
	st = open_spec(spec);
	assert_true(add(st, "restart", 60, 60, T0, 1, 10).admitted);
	/* the script flushed from the server: EVAL takes over */
	assert_true(raw(port, "SCRIPT FLUSH", buf, sizeof(buf)));
	assert_true(add(st, "restart", 60, 60, T0, 1, 10).admitted);
	assert_int_equal(total(st, "restart", 60, 60, T0), 2);
	/* the server goes away: TEMPFAIL, not a hang or a crash */
	stop_redis(pid);
	assert_int_equal(pfl_store_window_add(st, "restart", &w, T0, 1, 10, &r,
			     err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	assert_int_equal(pfl_store_window_add(st, "restart", &w, T0, 1, 10, &r,
			     err, sizeof(err)),
	    PFL_STORE_TEMPFAIL);
	/* it comes back (empty: no persistence): the next call reconnects */
	assert_true((pid = start_redis(port)) > 0);
	assert_true(add(st, "restart", 60, 60, T0, 1, 10).admitted);
	assert_int_equal(total(st, "restart", 60, 60, T0), 1);
	/* restarted under an idle connection: retried within the call */
	stop_redis(pid);
	assert_true((pid = start_redis(port)) > 0);
	assert_true(add(st, "restart", 60, 60, T0, 1, 10).admitted);
	pfl_store_close(&st);
	stop_redis(pid);
}

static void
test_redis_layout(void **state)
{
	char spec[128], buf[256];
	struct pfl_store *st;

	(void)state;
	need_redis();
	spec_for("redis", spec, sizeof(spec));
	st = open_spec(spec);
	assert_true(add(st, "lay/out", 10, 6, T0, 3, 10).admitted);
	put(st, "lay/value", "v1", 0);
	put(st, "lay/ttl", "v2", 60);
	pfl_store_close(&st);
	/* a value is a plain string, with a TTL only when it was given one */
	assert_true(
	    raw(fx.redis_port, "GET pfl:{lay/value}", buf, sizeof(buf)));
	assert_string_equal(buf, "$2\r\nv1\r\n");
	assert_true(
	    raw(fx.redis_port, "TTL pfl:{lay/value}", buf, sizeof(buf)));
	assert_string_equal(buf, ":-1\r\n");
	assert_true(raw(fx.redis_port, "TTL pfl:{lay/ttl}", buf, sizeof(buf)));
	assert_true(buf[0] == ':' && atoi(buf + 1) > 55 && atoi(buf + 1) <= 60);
	/* one hash per key under a hash tag, a field per bucket */
	assert_true(raw(fx.redis_port, "HGET pfl:{lay/out} 1700000000:10", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "$1\r\n3\r\n");
	assert_true(raw(fx.redis_port, "TTL pfl:{lay/out}", buf, sizeof(buf)));
	assert_true(buf[0] == ':' && atoi(buf + 1) > 60 && atoi(buf + 1) <= 70);
}

/* --- Redis: the running sum --------------------------------------------------- */

/* hget - a field of a window's hash as a number; -1 when there is none */
static long long
hget(const char *key, const char *field)
{
	char cmd[256], buf[256];

	snprintf(cmd, sizeof(cmd), "HGET pfl:{%s} %s", key, field);
	assert_true(raw(fx.redis_port, cmd, buf, sizeof(buf)));
	if (strncmp(buf, "$-1", 3) == 0)
		return -1;
	assert_true(buf[0] == '$' && strstr(buf, "\r\n") != NULL);
	return atoll(strstr(buf, "\r\n") + 2);
}

/* command - an inline command that must answer as want (its start) */
static void
command(const char *cmd, const char *want)
{
	char buf[256];

	assert_true(raw(fx.redis_port, cmd, buf, sizeof(buf)));
	if (strncmp(buf, want, strlen(want)) != 0)
		fail_msg("%s: %s, not %s", cmd, buf, want);
}

/* gone - the key's hash is no more */
static void
gone(const char *key)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "EXISTS pfl:{%s}", key);
	command(cmd, ":0");
}

static void
test_redis_running_sum(void **state)
{
	char spec[128];
	struct pfl_window_op one;
	struct pfl_window_result r;
	struct pfl_store *st;

	(void)state;
	need_redis();
	spec_for("redis", spec, sizeof(spec));
	st = open_spec(spec);
	/* a window of 6 buckets of 10 s: the sum follows every add */
	assert_int_equal(add(st, "rs/a", 10, 6, 1000, 2, 100).total, 0);
	assert_int_equal(add(st, "rs/a", 10, 6, 1015, 3, 100).total, 2);
	assert_int_equal(add(st, "rs/a", 10, 6, 1031, 1, 100).total, 5);
	assert_int_equal(hget("rs/a", "sum"), 6);
	/* at 1075 the bucket of 1000 is out: subtracted and dropped */
	assert_int_equal(add(st, "rs/a", 10, 6, 1075, 1, 100).total, 4);
	assert_int_equal(hget("rs/a", "sum"), 5);
	assert_int_equal(hget("rs/a", "1000:10"), -1);
	assert_int_equal(hget("rs/a", "1010:10"), 3);
	/* two buckets went by at once (1010 and the empty 1020) */
	assert_int_equal(add(st, "rs/a", 10, 6, 1095, 1, 100).total, 2);
	assert_int_equal(hget("rs/a", "sum"), 3);
	assert_int_equal(hget("rs/a", "1010:10"), -1);
	assert_int_equal(total(st, "rs/a", 10, 6, 1099), 3);
	/* a total does not write: the bucket of 1030 stays until an add */
	assert_int_equal(total(st, "rs/a", 10, 6, 1100), 2);
	assert_int_equal(hget("rs/a", "1030:10"), 1);
	assert_int_equal(hget("rs/a", "sum"), 3);
	/* a refusal counts with the sum and finds the next free slot */
	r = add(st, "rs/a", 10, 6, 1100, 2, 3);
	assert_false(r.admitted);
	assert_int_equal(r.total, 2);
	assert_int_equal(r.next_free, 1140);
	assert_int_equal(hget("rs/a", "sum"), 2);
	assert_int_equal(hget("rs/a", "1030:10"), -1);
	/* past the whole window: nothing counts, the sum starts over */
	assert_int_equal(add(st, "rs/a", 10, 6, 1200, 1, 100).total, 0);
	assert_int_equal(hget("rs/a", "sum"), 1);
	assert_int_equal(hget("rs/a", "1090:10"), -1);
	assert_int_equal(total(st, "rs/a", 10, 6, 1200), 1);
	assert_int_equal(total(st, "rs/a", 10, 6, 1300), -1);
	/* an add of nothing once every bucket aged out: the key is gone */
	assert_true(add(st, "rs/a", 10, 6, 1300, 0, 100).admitted);
	gone("rs/a");
	/* the same through batches */
	one = op("rs/b", 10, 6, 2, 100);
	assert_int_equal(many(st, &one, 1, 1000, &r), 1);
	one.n = 1;
	assert_int_equal(many(st, &one, 1, 1065, &r), 1);
	assert_int_equal(r.total, 2);
	assert_int_equal(many(st, &one, 1, 1070, &r), 1);
	assert_int_equal(r.total, 1);
	assert_int_equal(hget("rs/b", "sum"), 2);
	assert_int_equal(hget("rs/b", "1000:10"), -1);
	pfl_store_close(&st);
}

static void
test_redis_running_sum_undo(void **state)
{
	struct pfl_window_op ops[3];
	struct pfl_window_result res[3];
	char spec[128];
	struct pfl_store *st;

	(void)state;
	need_redis();
	spec_for("redis", spec, sizeof(spec));
	st = open_spec(spec);
	assert_true(add(st, "undo/a", 10, 6, 1000, 3, 100).admitted);
	assert_true(add(st, "undo/a", 10, 6, 1012, 2, 100).admitted);
	assert_int_equal(hget("undo/a", "sum"), 5);
	/* a release takes from its bucket and from the sum */
	release(st, "undo/a", 10, 6, 1000, 2);
	assert_int_equal(hget("undo/a", "sum"), 3);
	assert_int_equal(hget("undo/a", "1000:10"), 1);
	assert_int_equal(total(st, "undo/a", 10, 6, 1012), 3);
	/* more than the bucket holds: the bucket goes, the sum by its count */
	release(st, "undo/a", 10, 6, 1000, 5);
	assert_int_equal(hget("undo/a", "1000:10"), -1);
	assert_int_equal(hget("undo/a", "sum"), 2);
	/* a bucket that is no more, or never was: nothing changes */
	release(st, "undo/a", 10, 6, 1000, 1);
	release(st, "undo/a", 10, 6, 990, 1);
	assert_int_equal(hget("undo/a", "sum"), 2);
	assert_int_equal(add(st, "undo/a", 10, 6, 1013, 1, 100).total, 2);
	assert_int_equal(hget("undo/a", "sum"), 3);
	/* the last unit released: the key is gone, sum and all */
	release(st, "undo/a", 10, 6, 1010, 3);
	gone("undo/a");
	assert_int_equal(total(st, "undo/a", 10, 6, 1013), -1);
	assert_int_equal(add(st, "undo/a", 10, 6, 1013, 1, 1).total, 0);
	assert_int_equal(hget("undo/a", "sum"), 1);
	/* a batch that refuses changes no sum, though a key came twice */
	assert_true(add(st, "undo/b", 10, 6, 1000, 4, 5).admitted);
	ops[0] = op("undo/a", 10, 6, 2, 100);
	ops[1] = op("undo/a", 10, 6, 2, 100);
	ops[2] = op("undo/b", 10, 6, 2, 5);
	assert_int_equal(many(st, ops, 3, 1020, res), 2);
	assert_int_equal(res[2].total, 4);
	assert_int_equal(res[2].next_free, 1070);
	assert_int_equal(hget("undo/a", "sum"), 1);
	assert_int_equal(hget("undo/b", "sum"), 4);
	/* one that admits counts both adds of the key */
	ops[2] = op("undo/b", 10, 6, 1, 5);
	assert_int_equal(many(st, ops, 3, 1020, res), 3);
	assert_int_equal(res[1].total, 3);
	assert_int_equal(hget("undo/a", "sum"), 5);
	assert_int_equal(hget("undo/a", "1020:10"), 4);
	assert_int_equal(hget("undo/b", "sum"), 5);
	/* and its undo, as the budgets do it, newest first */
	release(st, "undo/b", 10, 6, res[2].bucket, 1);
	release(st, "undo/a", 10, 6, res[1].bucket, 2);
	release(st, "undo/a", 10, 6, res[0].bucket, 2);
	assert_int_equal(hget("undo/a", "sum"), 1);
	assert_int_equal(hget("undo/b", "sum"), 4);
	assert_int_equal(total(st, "undo/a", 10, 6, 1020), 1);
	pfl_store_close(&st);
}

static void
test_redis_running_sum_upgrade(void **state)
{
	char spec[128];
	struct pfl_store *st;

	(void)state;
	need_redis();
	/* hashes as an older preflight left them: buckets, no sum */
	command("HSET pfl:{up/a} 940:10 4 1000:10 2 1010:10 3", ":3");
	command("HSET pfl:{up/b} 1000:10 2 1000:60 1 junk x", ":3");
	spec_for("redis", spec, sizeof(spec));
	st = open_spec(spec);
	/* read whole once: the expired bucket goes, the sum is made */
	assert_int_equal(total(st, "up/a", 10, 6, 1015), 5);
	assert_int_equal(hget("up/a", "sum"), -1);
	assert_int_equal(add(st, "up/a", 10, 6, 1015, 1, 100).total, 5);
	assert_int_equal(hget("up/a", "940:10"), -1);
	assert_int_equal(hget("up/a", "sum"), 6);
	assert_int_equal(add(st, "up/a", 10, 6, 1025, 1, 100).total, 6);
	assert_int_equal(add(st, "up/a", 10, 6, 1075, 1, 100).total, 5);
	assert_int_equal(hget("up/a", "sum"), 6);
	/* a bucket of another width counts, but no sum while it is there */
	assert_int_equal(add(st, "up/b", 10, 6, 1015, 1, 100).total, 3);
	assert_int_equal(hget("up/b", "sum"), -1);
	assert_int_equal(hget("up/b", "junk"), -1);
	assert_int_equal(add(st, "up/b", 10, 6, 1075, 1, 100).total, 2);
	assert_int_equal(hget("up/b", "sum"), -1);
	/* once it aged out (its end 1060 is the lower edge at 1120) */
	assert_int_equal(add(st, "up/b", 10, 6, 1120, 1, 100).total, 1);
	assert_int_equal(hget("up/b", "1000:60"), -1);
	assert_int_equal(hget("up/b", "sum"), 2);
	/* a new window shape on the key: read whole, the sum made anew */
	assert_int_equal(add(st, "up/b", 60, 2, 1130, 1, 100).total, 2);
	assert_int_equal(hget("up/b", "sum"), -1);
	assert_int_equal(add(st, "up/b", 60, 2, 1260, 1, 100).total, 0);
	assert_int_equal(hget("up/b", "sum"), 1);
	/* an older preflight's add drops the fields it does not know */
	command("HDEL pfl:{up/a} sum win", ":2");
	assert_int_equal(add(st, "up/a", 10, 6, 1076, 1, 100).total, 6);
	assert_int_equal(hget("up/a", "sum"), 7);
	/*
	 * and its release leaves the sum high: counted so (no full read
	 * per add) until the next full read, at most a window later
	 */
	command("HINCRBY pfl:{up/a} 1070:10 -1", ":1");
	assert_int_equal(add(st, "up/a", 10, 6, 1077, 1, 100).total, 7);
	assert_int_equal(add(st, "up/a", 10, 6, 1126, 0, 100).total, 3);
	assert_int_equal(add(st, "up/a", 10, 6, 1130, 0, 100).total, 2);
	assert_int_equal(hget("up/a", "sum"), 2);
	pfl_store_close(&st);
}

/* --- Redis against the reference arithmetic ---------------------------------- */

/* same_result - a Redis result is the memory store's */
static void
same_result(const struct pfl_window_result *a,
    const struct pfl_window_result *b, long step)
{
	if (a->admitted != b->admitted || a->total != b->total ||
	    a->bucket != b->bucket || a->next_free != b->next_free)
		fail_msg("step %ld: redis %d %llu %lld %lld, memory %d %llu "
			 "%lld %lld",
		    step, a->admitted, (unsigned long long)a->total,
		    (long long)a->bucket, (long long)a->next_free, b->admitted,
		    (unsigned long long)b->total, (long long)b->bucket,
		    (long long)b->next_free);
}

struct held {
	int key;
	struct pfl_window w;
	time_t bucket;
	uint64_t n;
};

/*
 * Two stores given the same random steps. A key has its usual shape
 * and, seldom, another of the same span in buckets that divide the
 * usual ones: a batch that refuses leaves Redis unpruned where the
 * memory store pruned, which only a window reaching further back would
 * see, so batches keep to the usual shapes.
 */
struct twin {
	struct pfl_store *st[2]; /* redis, memory */
	char keys[3][64];
	struct pfl_window shape[3], other[3];
	uint64_t limit[3];
	struct held held[64];
	size_t nheld;
};

/* twin_op - a random op on a key (its usual shape, seldom another) */
static struct pfl_window_op
twin_op(struct twin *tw, uint64_t *seed, bool batch)
{
	int k = (int)(rnd(seed) % 3);
	struct pfl_window_op o = { tw->keys[k], tw->shape[k], rnd(seed) % 4,
		tw->limit[k] };

	if (rnd(seed) % 25 == 0 && !batch)
		o.w = tw->other[k];
	if (rnd(seed) % 40 == 0)
		o.n = o.limit + 1;
	return o;
}

/* twin_hold - remember an admitted add for a later release */
static void
twin_hold(struct twin *tw, const struct pfl_window_op *o, time_t bucket)
{
	int k = o->key == tw->keys[0] ? 0 : o->key == tw->keys[1] ? 1 : 2;

	if (o->n == 0)
		return;
	tw->held[tw->nheld % 64] = (struct held){ k, o->w, bucket, o->n };
	tw->nheld++;
}

/* twin_batch - the same batch on both stores */
static void
twin_batch(struct twin *tw, time_t t, uint64_t *seed, long step)
{
	struct pfl_window_op ops[3];
	struct pfl_window_result res[2][3];
	size_t n = 1 + rnd(seed) % 3, at[2], i;
	int s;

	for (i = 0; i < n; i++)
		ops[i] = twin_op(tw, seed, true);
	for (s = 0; s < 2; s++)
		at[s] = many(tw->st[s], ops, n, t, res[s]);
	if (at[0] != at[1])
		fail_msg("step %ld: redis refused at %zu, memory %zu", step,
		    at[0], at[1]);
	for (i = 0; i < n; i++)
		same_result(&res[0][i], &res[1][i], step);
	for (i = 0; at[0] == n && i < n; i++)
		twin_hold(tw, &ops[i], res[0][i].bucket);
}

/* twin_step - one random step at t on both stores, compared */
static void
twin_step(struct twin *tw, time_t t, uint64_t *seed, bool batches, long step)
{
	uint64_t x = rnd(seed) % 10;
	struct pfl_window_result r[2];
	struct pfl_window_op o;
	struct held *h;
	int s;

	if (x < 5 || (x < 8 && !batches)) {
		o = twin_op(tw, seed, false);
		for (s = 0; s < 2; s++)
			r[s] = add(tw->st[s], o.key, o.w.bucket_s, o.w.nbuckets,
			    t, o.n, o.limit);
		same_result(&r[0], &r[1], step);
		if (r[0].admitted)
			twin_hold(tw, &o, r[0].bucket);
	} else if (x < 8) {
		twin_batch(tw, t, seed, step);
	} else if (x < 9) {
		if (tw->nheld == 0)
			return;
		h = &tw->held[(tw->nheld - 1 -
				  rnd(seed) % (tw->nheld < 8 ? tw->nheld : 8)) %
		    64];
		if (h->n == 0)
			return;
		for (s = 0; s < 2; s++)
			release(tw->st[s], tw->keys[h->key], h->w.bucket_s,
			    h->w.nbuckets, h->bucket, h->n);
		h->n = 0; /* released once */
	} else {
		o = twin_op(tw, seed, false);
		if (total(tw->st[0], o.key, o.w.bucket_s, o.w.nbuckets, t) !=
		    total(tw->st[1], o.key, o.w.bucket_s, o.w.nbuckets, t))
			fail_msg("step %ld: totals differ", step);
	}
}

/*
 * twins - Redis and the memory store given the same random steps; with
 * backwards, the clock sometimes goes back (no batches then: a refused
 * batch leaves Redis unpruned where the memory store pruned)
 */
static void
twins(const char *spec, const char *p, uint64_t seed, bool backwards)
{
	struct twin tw = { .shape = { { 10, 6 }, { 2, 5 }, { 60, 5 } },
		.other = { { 5, 12 }, { 1, 10 }, { 30, 10 } },
		.limit = { 8, 6, 20 } };
	time_t t = T0;
	long i;
	int k;

	tw.st[0] = open_spec(spec);
	tw.st[1] = open_spec("memory");
	for (k = 0; k < 3; k++)
		snprintf(tw.keys[k], sizeof(tw.keys[k]), "%s/%d", p, k);
	for (i = 0; i < 3000; i++) {
		uint64_t x = rnd(&seed) % 100;

		if (x < 50)
			t += 0;
		else if (x < 85)
			t += (time_t)(rnd(&seed) % 7);
		else if (x < 95)
			t += (time_t)(rnd(&seed) % 80);
		else if (x < 98 || !backwards)
			t += (time_t)(rnd(&seed) % 800);
		else
			t -= (time_t)(rnd(&seed) % 90);
		twin_step(&tw, t, &seed, !backwards, i);
	}
	pfl_store_close(&tw.st[0]);
	pfl_store_close(&tw.st[1]);
}

static void
test_redis_twin(void **state)
{
	const char *env = getenv("PFL_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20240611;
	char spec[128];

	(void)state;
	need_redis();
	spec_for("redis", spec, sizeof(spec));
	twins(spec, "twin/fwd", seed | 1, false);
	twins(spec, "twin/back", (seed + 2) | 1, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_value_expiry),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_threads),
		cmocka_unit_test(test_batch_lmdb_processes),
		cmocka_unit_test(test_lmdb_processes),
		cmocka_unit_test(test_lmdb_restart),
		cmocka_unit_test(test_lmdb_growth),
		cmocka_unit_test(test_lmdb_shared_map),
		cmocka_unit_test(test_lmdb_sweep),
		cmocka_unit_test(test_lmdb_values),
		cmocka_unit_test(test_redis_unreachable),
		cmocka_unit_test(test_redis_restart),
		cmocka_unit_test(test_redis_pipe_stalled),
		cmocka_unit_test(test_redis_layout),
		cmocka_unit_test(test_redis_running_sum),
		cmocka_unit_test(test_redis_running_sum_undo),
		cmocka_unit_test(test_redis_running_sum_upgrade),
		cmocka_unit_test(test_redis_twin),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
