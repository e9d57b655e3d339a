/*
 * NAME
 *	version - what this build is made of
 * DESCRIPTION
 *	Versions of the libraries are read at run time where the library
 *	offers it (what is loaded can differ from what was built against).
 */
#include <autoconfig.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <opendkim/dkim.h>
#include <opendmarc/dmarc.h>
#include <spf2/spf.h>
#include <spf2/spf_lib_version.h>
#include <unbound.h>
#ifdef HAVE_LMDB
#include <lmdb.h>
#endif
#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#include "version.h"

/* pfl_version_print - program version and the library versions */
void
pfl_version_print(FILE *fp, const char *program)
{
	unsigned long dk = dkim_libversion();

	fprintf(fp, "%s %s\n", program, PACKAGE_VERSION);
	fprintf(fp, "  milter protocol 2-6 (own engine)\n");
	fprintf(fp, "  libopendkim %lu.%lu.%lu\n", (dk >> 24) & 0xff,
	    (dk >> 16) & 0xff, (dk >> 8) & 0xff);
	fprintf(fp, "  libspf2 %d.%d.%d\n", SPF_LIB_VERSION_MAJOR,
	    SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
	fprintf(fp, "  libopendmarc (linked)\n");
	fprintf(fp, "  libunbound %s\n", ub_version());
#ifdef HAVE_LMDB
	fprintf(fp, "  lmdb %s\n", mdb_version(NULL, NULL, NULL));
#else
	fprintf(fp, "  lmdb (not built)\n");
#endif
#ifdef HAVE_HIREDIS
	fprintf(fp, "  hiredis %d.%d.%d\n", HIREDIS_MAJOR, HIREDIS_MINOR,
	    HIREDIS_PATCH);
#else
	fprintf(fp, "  hiredis (not built)\n");
#endif
}
