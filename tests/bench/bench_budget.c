/*
 * NAME
 *	bench_budget - budget decisions per second, per store backend
 * SYNOPSIS
 *	bench_budget [-n N] [-t THREADS] [-k RUNS] [-d DIR]
 *	    [-r redis://HOST:PORT/DB] [-b memory|lmdb|redis]...
 * DESCRIPTION
 *	Times N decisions against each store backend that was built: one
 *	decision is what the milter does for one recipient of one message,
 *	a pfl_budget_reserve (a window add in every budget that applies)
 *	followed by pfl_budget_commit. The budgets are those of CONFIG below
 *	(several windows, sender, sender-domain and egress-ip scopes, a
 *	warm-up), with limits high enough that every recipient is admitted;
 *	senders rotate over SENDERS domains, so the store holds many keys.
 *	Each backend runs RUNS times (-k, default 3) on the same store, the
 *	first from no keys, the others with the keys the runs before left
 *	(as repeated senders find them); prints one line per backend with
 *	the median run and the slowest and fastest:
 *
 *	    lmdb: 123456 decisions/s (median of 3: 119000-125000; N=20000,
 *	    budgets=7, threads=1)
 *
 *	and for Redis also the server's own time in scripts per decision
 *	(INFO commandstats before and after), the bound one Redis core puts
 *	on decisions per second, however fast the clients and the network.
 *
 *	With -t THREADS (default 1) the N decisions are shared by that many
 *	threads on one store handle, as the milter's sessions share it (the
 *	Redis backend sends the adds of threads that ask at once together):
 *	one thread shows a backend's round trip, several its throughput
 *	under the daemon's concurrency.
 *
 *	LMDB works in a fresh file in a temporary directory under DIR
 *	(default $TMPDIR or /tmp; its file system decides much of the
 *	number: every decision commits, and a commit syncs). Redis uses -r,
 *	else a redis-server of its own on a free loopback port, started and
 *	stopped here (a backend that cannot run is reported as skipped); the
 *	counts it leaves in a server given with -r are those of the sender
 *	domains dN.example and age out within a day.
 *	A benchmark, not a test: no thresholds, exit status 0 unless the
 *	arguments are wrong or a decision fails.
 */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#include "budget.h"
#include "config.h"
#include "store.h"

#define SENDERS 1000 /* sender domains the decisions rotate over */

/* Limits far above N: the benchmark times admissions. */
static const char CONFIG[] =
    "EgressAddresses 192.0.2.25\n"
    "Budget google sender-domain 100000000/1h 1000000000/24h\n"
    "Budget * sender 1000000000/1d unit=recipients\n"
    "Budget gmail.com all 100000000/1m\n"
    "Budget google egress-ip 1000000000/1h\n"
    "Warmup sender-domain d1.example start=2026-01-01 initial=1000000 "
    "growth=2 max=1000000000\n"
    "StateStore memory\n";

/* usage - the synopsis */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: bench_budget [-n N] [-t THREADS] [-k RUNS] [-d DIR] "
	    "[-r redis://HOST:PORT/DB] [-b memory|lmdb|redis]...\n");
	return 64;
}

/* now_s - a monotonic clock in seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* budgets - the budget set of CONFIG */
static struct pfl_budget_set *
budgets(void)
{
	struct pfl_budget_set *set = NULL;
	struct pfl_config *cfg;
	char *errors = NULL;

	if ((cfg = pfl_config_parse("bench.conf", CONFIG, &errors)) != NULL)
		set = pfl_budget_set_new(cfg, &errors);
	if (set == NULL)
		fprintf(stderr, "bench_budget: %s", errors ? errors : "?\n");
	free(errors);
	pfl_config_unref(cfg);
	return set;
}

#define MAX_THREADS 64
#define MAX_RUNS    15

/* One thread's share of the decisions. */
struct part {
	const struct pfl_budget_set *set;
	struct pfl_store *st;
	long first, n; /* decisions first .. first + n - 1 */
	bool failed;
	pthread_t tid;
};

/* decide - one part's decisions; sets failed */
static void *
decide(void *arg)
{
	static const char *const egress[] = { "192.0.2.25" };
	struct part *p = arg;
	struct pfl_budget_ticket *t = pfl_budget_ticket_new();
	struct pfl_budget_subject subj = { 0 };
	struct pfl_budget_verdict v;
	char sender[64];
	long i;

	subj.egress = egress;
	subj.negress = 1;
	subj.rcpt_domain = "gmail.com";
	subj.provider = PFL_PROV_GOOGLE;
	for (i = p->first; i < p->first + p->n; i++) {
		snprintf(sender, sizeof(sender), "user%ld@d%ld.example", i % 7,
		    i % SENDERS);
		subj.envelope_sender = sender;
		if (pfl_budget_reserve(p->set, p->st, &subj, time(NULL), t,
			&v) != PFL_BUDGET_ADMIT) {
			fprintf(stderr, "bench_budget: decision %ld: %s%s\n", i,
			    v.error, v.admitted ? "" : v.budget);
			p->failed = true;
			break;
		}
		pfl_budget_commit(t);
	}
	pfl_budget_ticket_free(&t);
	return NULL;
}

/*
 * run - n decisions against an open store over nthreads threads;
 * decisions per second, or -1
 */
static double
run(const struct pfl_budget_set *set, struct pfl_store *st, long n,
    int nthreads)
{
	struct part parts[MAX_THREADS];
	double t0 = now_s(), dt;
	bool failed = false;
	int i, started = 0;

	for (i = 0; i < nthreads; i++) {
		parts[i] = (struct part){ set, st, n * i / nthreads,
			n * (i + 1) / nthreads - n * i / nthreads, false, 0 };
		if (nthreads == 1)
			decide(&parts[i]);
		else if (pthread_create(&parts[i].tid, NULL, decide, &parts[i]))
			parts[i].failed = true;
		else
			started++;
	}
	for (i = 0; i < nthreads; i++) {
		if (nthreads > 1 && !parts[i].failed)
			pthread_join(parts[i].tid, NULL);
		failed = failed || parts[i].failed;
	}
	dt = now_s() - t0;
	if (failed || (nthreads > 1 && started == 0))
		return -1;
	return dt > 0 ? (double)n / dt : 0;
}

/*
 * script_usec - the time a Redis server at spec ("redis://HOST:PORT...",
 * no password) has spent in scripts (EVALSHA and EVAL, from INFO
 * commandstats), microseconds; -1 for another store or when it cannot
 * be asked. Its difference over a run, per decision, is the server's
 * own work for one decision, whatever the clients and the network cost.
 */
static double
script_usec(const char *spec)
{
	double total = -1;
#ifdef HAVE_HIREDIS
	static const char *const cmds[] = { "cmdstat_evalsha:",
		"cmdstat_eval:" };
	struct timeval tv = { 2, 0 };
	char host[256];
	redisContext *c;
	redisReply *r;
	unsigned port;
	const char *p;
	size_t i;

	if (strncmp(spec, "redis://", 8) != 0 || strchr(spec, '@') != NULL ||
	    sscanf(spec + 8, "%255[^:/]:%u", host, &port) != 2)
		return -1;
	if ((c = redisConnectWithTimeout(host, (int)port, tv)) == NULL)
		return -1;
	r = c->err ? NULL : redisCommand(c, "INFO commandstats");
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		total = 0;
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if ((p = strstr(r->str, cmds[i])) != NULL &&
			    (p = strstr(p, "usec=")) != NULL)
				total += strtod(p + 5, NULL);
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
#else
	(void)spec;
#endif
	return total;
}

/* bench - open spec, time it, print its line; false when it failed */
static int nthreads = 1; /* -t */
static int nruns = 3;    /* -k */

/* by_rate - qsort order of rates */
static int
by_rate(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static bool
bench(const char *name, const char *spec, const struct pfl_budget_set *set,
    long n)
{
	struct pfl_store *st;
	char err[256];
	double rate[MAX_RUNS], before, after;
	int i;

	if ((st = pfl_store_open(
		 spec, PFL_STORE_TIMEOUT_MS, err, sizeof(err))) == NULL) {
		printf("%s: skipped (%s)\n", name, err);
		return true;
	}
	before = script_usec(spec);
	for (i = 0; i < nruns; i++)
		if ((rate[i] = run(set, st, n, nthreads)) < 0)
			break;
	after = script_usec(spec);
	pfl_store_close(&st);
	if (i < nruns)
		return false;
	qsort(rate, (size_t)nruns, sizeof(rate[0]), by_rate);
	printf("%s: %.0f decisions/s (median of %d: %.0f-%.0f; N=%ld, "
	       "budgets=%zu, threads=%d)",
	    name, rate[nruns / 2], nruns, rate[0], rate[nruns - 1], n,
	    pfl_budget_set_count(set), nthreads);
	if (before >= 0 && after >= before)
		printf("; the server's scripts: %.1f us a decision",
		    (after - before) / ((double)n * nruns));
	printf("\n");
	fflush(stdout);
	return true;
}

/* free_port - a loopback TCP port nobody listens on now; 0 if none */
static unsigned
free_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	int fd;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* redis_start - redis-server on 127.0.0.1:port, no persistence; pid or -1 */
static pid_t
redis_start(unsigned port, const char *dir)
{
	char p[16];
	pid_t pid;

	snprintf(p, sizeof(p), "%u", port);
	if ((pid = fork()) != 0)
		return pid;
	if (freopen("/dev/null", "w", stdout) == NULL)
		_exit(127);
	execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port",
	    p, "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir",
	    dir, (char *)NULL);
	fprintf(stderr, "bench_budget: redis-server: %s\n", strerror(errno));
	_exit(127);
}

/* redis_ready - wait up to 5 s until spec answers; false if it never does */
static bool
redis_ready(const char *spec, pid_t pid)
{
	struct pfl_window w = { 1, 60 };
	struct pfl_store *st;
	char err[256];
	uint64_t total;
	int i, status;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return false;
		st = pfl_store_open(spec, 200, err, sizeof(err));
		if (st != NULL &&
		    pfl_store_window_total(st, "pfl:bench:ping", &w, time(NULL),
			&total, err, sizeof(err)) != PFL_STORE_TEMPFAIL) {
			pfl_store_close(&st);
			return true;
		}
		pfl_store_close(&st);
		usleep(50000);
	}
	return false;
}

/* redis_stop - stop the server we started and wait for it */
static void
redis_stop(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* bench_redis - against spec, or a server of our own when spec is NULL */
static bool
bench_redis(
    const char *spec, const char *dir, const struct pfl_budget_set *set, long n)
{
	char own[64];
	unsigned port;
	pid_t pid;
	bool ok;

	if (spec != NULL)
		return bench("redis", spec, set, n);
	if ((port = free_port()) == 0 || (pid = redis_start(port, dir)) < 0) {
		printf("redis: skipped (cannot start redis-server)\n");
		return true;
	}
	snprintf(own, sizeof(own), "redis://127.0.0.1:%u/0", port);
	if (!redis_ready(own, pid)) {
		redis_stop(pid);
		printf("redis: skipped (redis-server did not answer on %s)\n",
		    own);
		return true;
	}
	ok = bench("redis", own, set, n);
	redis_stop(pid);
	return ok;
}

/* bench_lmdb - in a fresh file under base, removed afterwards */
static bool
bench_lmdb(const char *dir, const struct pfl_budget_set *set, long n)
{
	char path[4200], spec[sizeof(path) + 8];
	bool ok;

	snprintf(path, sizeof(path), "%s/state.lmdb", dir);
	snprintf(spec, sizeof(spec), "lmdb:%s", path);
	ok = bench("lmdb", spec, set, n);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.lmdb-lock", dir);
	unlink(path);
	return ok;
}

/* wanted - is the backend among -b (all when none was given)? */
static bool
wanted(const char *name, char **only, int nonly)
{
	int i;

	for (i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return true;
	return nonly == 0;
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR"), *redis = NULL;
	char *only[3], dir[4096], *end;
	struct pfl_budget_set *set;
	int c, nonly = 0;
	bool ok = true;
	long n = 20000;

	while ((c = getopt(argc, argv, "n:t:k:d:r:b:")) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n <= 0)
				return usage();
			break;
		case 't':
			nthreads = (int)strtol(optarg, &end, 10);
			if (*end || nthreads <= 0 || nthreads > MAX_THREADS)
				return usage();
			break;
		case 'k':
			nruns = (int)strtol(optarg, &end, 10);
			if (*end || nruns <= 0 || nruns > MAX_RUNS)
				return usage();
			break;
		case 'd':
			base = optarg;
			break;
		case 'r':
			redis = optarg;
			break;
		case 'b':
			if (nonly == 3)
				return usage();
			only[nonly++] = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	snprintf(dir, sizeof(dir), "%s/bench_budget.XXXXXX",
	    base && *base ? base : "/tmp");
	if ((set = budgets()) == NULL)
		return 1;
	if (mkdtemp(dir) == NULL) {
		perror("bench_budget: mkdtemp");
		pfl_budget_set_free(&set);
		return 1;
	}
	if (wanted("memory", only, nonly))
		ok = bench("memory", "memory", set, n) && ok;
	if (wanted("lmdb", only, nonly))
		ok = bench_lmdb(dir, set, n) && ok;
	if (wanted("redis", only, nonly))
		ok = bench_redis(redis, dir, set, n) && ok;
	rmdir(dir);
	pfl_budget_set_free(&set);
	return ok ? 0 : 1;
}
