/*
 * NAME
 *	arena 3h - per-message memory
 * DESCRIPTION
 *	Everything a message needs lives in its arena and is freed at once by
 *	pfl_arena_free at end of message, abort or close. Allocation never
 *	fails (it aborts on out of memory). Not thread-safe: one arena per
 *	message, used by one callback at a time.
 */
#ifndef PFL_ARENA_H
#define PFL_ARENA_H

#include <stddef.h>

struct pfl_arena;

/* pfl_arena_new - an empty arena */
struct pfl_arena *pfl_arena_new(void);

/* pfl_arena_free - free the arena and everything in it; NULLs *ap */
void pfl_arena_free(struct pfl_arena **ap);

/* pfl_arena_alloc - zeroed memory that lives as long as the arena */
void *pfl_arena_alloc(struct pfl_arena *, size_t);

/* pfl_arena_strdup - copy a string into the arena (NULL gives NULL) */
char *pfl_arena_strdup(struct pfl_arena *, const char *);

/* pfl_arena_used - bytes handed out so far */
size_t pfl_arena_used(const struct pfl_arena *);

#endif
