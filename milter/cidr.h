/*
 * NAME
 *	cidr 3h - lists of IPv4/IPv6 networks
 * DESCRIPTION
 *	A pfl_cidr_list is built once (from a config value) and then only
 *	read, so it may be shared by threads without locking.
 */
#ifndef PFL_CIDR_H
#define PFL_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct pfl_cidr_list;

/*
 * pfl_cidr_list_parse - parse "10.0.0.0/8, ::1, 192.0.2.7" (commas and/or
 * white space). Returns NULL and a reason in err (size n) on a bad entry.
 */
struct pfl_cidr_list *pfl_cidr_list_parse(
    const char *text, char *err, size_t n);

/* pfl_cidr_list_free - free a list (NULL is fine) */
void pfl_cidr_list_free(struct pfl_cidr_list *);

/* pfl_cidr_list_match - is the address (text form) in the list? */
bool pfl_cidr_list_match(const struct pfl_cidr_list *, const char *addr);

/* pfl_cidr_list_match_sa - is the socket address in the list? */
bool pfl_cidr_list_match_sa(
    const struct pfl_cidr_list *, const struct sockaddr *);

/* pfl_cidr_list_count - number of networks in the list */
size_t pfl_cidr_list_count(const struct pfl_cidr_list *);

#endif
