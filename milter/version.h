/*
 * NAME
 *	version 3h - what this build is made of
 */
#ifndef PFL_VERSION_H
#define PFL_VERSION_H

#include <stdio.h>

/* pfl_version_print - program version and the library versions */
void pfl_version_print(FILE *, const char *program);

#endif
