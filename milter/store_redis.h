/*
 * NAME
 *	store_redis 3h - the parts of the Redis backend
 * DESCRIPTION
 *	store_redis.c: the spec, open and close, and the store calls;
 *	store_redis_lua.c: the server-side scripts;
 *	store_redis_conn.c: each thread's connection, and requests on it
 *	bounded by a deadline, one at a time or written together;
 *	store_redis_pipe.c: the window adds of concurrent threads, sent
 *	together on one connection.
 */
#ifndef PFL_STORE_REDIS_H
#define PFL_STORE_REDIS_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "store_private.h"

#define KEY_HEAD "pfl:{"

/* The scripts a connection loads; a request names one by its index. */
struct pfl_redis_script {
	const char *text;
	size_t len;
};

extern const struct pfl_redis_script pfl_redis_scripts[];

#define NSCRIPTS    2
#define NO_SCRIPT   (-1)
#define SCRIPT_ONE  0 /* the window script */
#define SCRIPT_MANY 1 /* the batch script */

struct store_redis;

/* A thread's connection. */
struct conn {
	redisContext *c;        /* NULL: connect at the next call */
	pid_t pid;              /* the process that made it */
	char sha[NSCRIPTS][41]; /* the scripts' SHA1 as the server said */
	struct timeval tv;      /* the socket timeout set on c (0: none) */
	struct store_redis *owner;
	struct conn *prev, *next;
};

struct pfl_redis_waiter;

struct store_redis {
	struct pfl_store base; /* first: the handle callers hold */
	char *host, *user, *password;
	int port;
	unsigned db;
	char name[300]; /* "HOST:PORT" for messages */
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;
	pthread_mutex_t qlock; /* guards the rest: store_redis_pipe.c */
	struct pfl_redis_waiter *qhead, **qtail;
	int sending; /* threads sending a batch */
};

/*
 * A command (argv and len borrowed); with a script (not NO_SCRIPT),
 * argv[0..1] become EVALSHA sha or EVAL text. With wrongtype_none set,
 * a WRONGTYPE error means no such key.
 */
struct request {
	int argc;
	const char **argv;
	size_t *len;
	int script;
	bool wrongtype_none;
};

#define PFL_REDIS_ERR_MAX 256

/* A request of a pipeline and what came of it (pfl_redis_call_pipe). */
struct pfl_redis_item {
	struct request *q;
	redisReply *r; /* the reply when status is OK, else NULL */
	enum pfl_store_status status;
	char err[PFL_REDIS_ERR_MAX]; /* the reason when TEMPFAIL */
};

/* store_redis_conn.c */
void pfl_redis_conn_free(void *cn);
int64_t pfl_redis_now_ms(void);
bool pfl_redis_expect(struct store_redis *, redisReply *r, int type,
    const char *what, char *err, size_t errlen);
enum pfl_store_status pfl_redis_call(struct store_redis *, struct request *q,
    int64_t deadline, redisReply **r, char *err, size_t errlen);
void pfl_redis_call_pipe(struct store_redis *, struct pfl_redis_item **items,
    size_t n, int64_t deadline);

/* store_redis_pipe.c */
void pfl_redis_queue_init(struct store_redis *);
void pfl_redis_queue_free(struct store_redis *);
enum pfl_store_status pfl_redis_call_shared(struct store_redis *,
    struct request *q, int64_t deadline, redisReply **r, char *err,
    size_t errlen);

#endif
