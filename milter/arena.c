/*
 * NAME
 *	arena - per-message memory
 * DESCRIPTION
 *	A list of chunks; requests larger than a chunk get their own.
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define CHUNK 4096
#define ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size, used;
	size_t pad; /* keeps data[] 16-byte aligned after malloc */
	unsigned char data[];
};

struct pfl_arena {
	struct chunk *head;
	size_t total;
};

/* pfl_arena_new - an empty arena */
struct pfl_arena *
pfl_arena_new(void)
{
	return pfl_xcalloc(1, sizeof(struct pfl_arena));
}

/* pfl_arena_free - free the arena and everything in it */
void
pfl_arena_free(struct pfl_arena **ap)
{
	struct chunk *c, *next;

	if (ap == NULL || *ap == NULL)
		return;
	for (c = (*ap)->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(*ap);
	*ap = NULL;
}

/* pfl_arena_alloc - zeroed memory that lives as long as the arena */
void *
pfl_arena_alloc(struct pfl_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (need < n)
		abort();
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > CHUNK ? need : CHUNK;

		c = pfl_xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	memset(p, 0, n);
	return p;
}

/* pfl_arena_strdup - copy a string into the arena */
char *
pfl_arena_strdup(struct pfl_arena *a, const char *s)
{
	size_t len;
	char *p;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	p = pfl_arena_alloc(a, len + 1);
	memcpy(p, s, len + 1);
	return p;
}

/* pfl_arena_used - bytes handed out so far */
size_t
pfl_arena_used(const struct pfl_arena *a)
{
	return a->total;
}
