/*
 * NAME
 *	checks 3h - the authentication checks of one message
 * DESCRIPTION
 *	Runs SPF, DKIM and DMARC the way the receiving provider will see them
 *	and asks the provider rules what each provider among the recipients
 *	would answer. Driven stage by stage, the same way by the milter (the
 *	session module) and by `preflight check-message`:
 *	  pfl_checks_mail -> pfl_checks_rcpt... -> pfl_checks_header... ->
 *	  pfl_checks_eoh -> pfl_checks_body... -> pfl_checks_eom
 *	SPF is evaluated at MAIL FROM for every EgressAddresses address (the
 *	MTA may send from any of them; the worst result counts). A message
 *	without a DKIM signature gets the signature the signer's tables
 *	predict. Checks never log and never talk to the MTA: they produce
 *	findings (verdict.h) and a summary for the header and the log line.
 * OWNERSHIP
 *	A struct pfl_checks lives in the message arena; pfl_checks_free
 *	releases what the arena cannot (the DKIM verifier). The context is
 *	borrowed and must outlive the checks.
 */
#ifndef PFL_CHECKS_H
#define PFL_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim.h"
#include "dmarc.h"
#include "provider.h"
#include "spf.h"
#include "verdict.h"

struct pfl_arena;
struct pfl_conform;
struct pfl_ctx;

#define PFL_CHECKS_MAX_EGRESS    8
#define PFL_CHECKS_MAX_PROVIDERS 8

/* One recipient provider of the message, with the first domain seen. */
struct pfl_checks_rcpt {
	struct pfl_provider_match match;
	size_t nrcpt; /* recipients at this provider (and tenancy) */
	enum pfl_outcome outcome; /* at end of message: what it would do */
	char reply[64];           /* its predicted reply, or "" */
};

struct pfl_checks {
	struct pfl_ctx *ctx;     /* borrowed */
	struct pfl_arena *arena; /* borrowed: where results live */
	char sender[512];        /* envelope sender, lower case */
	/* SPF, one result per egress address */
	struct pfl_spf_result spf[PFL_CHECKS_MAX_EGRESS];
	char spf_ip[PFL_CHECKS_MAX_EGRESS][46];
	size_t nspf;
	/* recipients, grouped by provider */
	struct pfl_checks_rcpt rcpts[PFL_CHECKS_MAX_PROVIDERS];
	size_t nproviders;
	/* headers */
	char from_addr[512];   /* first From: address, or "" */
	char from_domain[256]; /* its domain, lower case, or "" */
	unsigned nfrom;        /* From: fields seen */
	bool leadspc;          /* values keep the white space after the colon */
	char message_id[512];  /* first Message-ID:, trimmed, or "" */
	/* set before pfl_checks_eom: bulk by volume, per provider */
	bool bulk_volume[PFL_NPROVIDERS];
	struct pfl_dkim_verify *verifier;
	size_t nsig_fields; /* DKIM-Signature fields at end of headers */
	/* end of message */
	const struct pfl_dkim_sig *sigs;
	size_t nsigs;
	bool predicted; /* no signature: the signer's prediction is used */
	struct pfl_dkim_prediction pred;
	struct pfl_dmarc_result dmarc;
	struct pfl_auth auth;
	/* DNSBL (dnsbl_msg.c): the message kept for the link scan */
	bool want_urls; /* keep it (DnsblCheckUrls) */
	char *raw;      /* header and body, up to DnsblUrlScanBytes */
	size_t raw_len, raw_cap;
	bool raw_full, raw_eoh; /* cut at the cap; the blank line is in */
	size_t url_links;       /* links seen */
	size_t url_domains;     /* link domains asked of the lists */
	bool url_capped;        /* a cap left links or domains out */
	char dnsbl_word[512];   /* the summary's dnsbl=, or "" */
	/* conformance (checks_conform.c) */
	bool smtputf8;               /* the session used SMTPUTF8 */
	bool behind_mta;             /* run by the milter: the MTA adds a
					missing Date: and Message-ID: */
	struct pfl_conform *conform; /* made at the first header */
	unsigned conform_found;      /* rules that gave findings */
	char egress_word[256];       /* the summary's egress=, or "" */
};

/* Beyond conform.h's rules: the From: domain does not exist in DNS. */
#define PFL_CHECKS_FROM_NXDOMAIN (1u << 31)

/*
 * pfl_checks_new - checks for a message from sender, in arena. leadspc:
 * header values will come with all the white space after the colon, as
 * written (the MTA granted SMFIP_HDR_LEADSPC; always so for a message
 * file); else the MTA took the one space after the colon.
 */
struct pfl_checks *pfl_checks_new(struct pfl_ctx *, struct pfl_arena *arena,
    const char *sender, const char *id, bool leadspc);

/* pfl_checks_free - release the DKIM verifier; NULLs *cp (arena stays) */
void pfl_checks_free(struct pfl_checks **cp);

/* pfl_checks_mail - SPF of the envelope sender from every egress address */
void pfl_checks_mail(struct pfl_checks *);

/*
 * pfl_checks_rcpt - note the provider of a recipient; m_r (may be NULL)
 * gets how the recipient's domain was recognised
 */
void pfl_checks_rcpt(
    struct pfl_checks *, const char *rcpt, struct pfl_provider_match *m_r);

/* pfl_checks_rcpt_undo - forget a recipient pfl_checks_rcpt noted */
void pfl_checks_rcpt_undo(
    struct pfl_checks *, const struct pfl_provider_match *);

/*
 * pfl_checks_header - one header field: the value as the milter gives it,
 * with or without its leading white space as pfl_checks_new was told
 */
void pfl_checks_header(
    struct pfl_checks *, const char *name, const char *value);

/* pfl_checks_eoh - end of headers; true when the body is needed */
bool pfl_checks_eoh(struct pfl_checks *);

/* pfl_checks_body - a body chunk */
void pfl_checks_body(struct pfl_checks *, const unsigned char *buf, size_t len);

/*
 * pfl_checks_eom - decide DKIM, DMARC and what each provider would do;
 * append one finding per provider that would not simply deliver to f
 * (room for max), return how many were added.
 */
size_t pfl_checks_eom(struct pfl_checks *, struct pfl_finding *f, size_t max);

/*
 * pfl_checks_summary - "spf=fail(-all) dkim=none dmarc=fail(p=reject)
 * providers=google:reject(550 5.7.26)" into buf (size n); printable, no
 * quotes, safe for a header value and a log line.
 */
char *pfl_checks_summary(const struct pfl_checks *, char *buf, size_t n);

/*
 * The domain lists (dnsbl_msg.c): pfl_checks_eom calls
 * pfl_checks_dnsbl_eom, which asks every usable domain list about the
 * organisational domains of the envelope sender, the From: address and,
 * with DnsblCheckUrls, the links in the message kept by the two keep
 * functions. Appends at most one finding; returns how many.
 */
bool pfl_checks_want_urls(const struct pfl_checks *);
void pfl_checks_keep_header(
    struct pfl_checks *, const char *name, const char *value);
void pfl_checks_keep_body(
    struct pfl_checks *, const unsigned char *buf, size_t len);
size_t pfl_checks_dnsbl_eom(
    struct pfl_checks *, struct pfl_finding *f, size_t max);

/*
 * Conformance (checks_conform.c): every header field goes to the
 * checker; pfl_checks_eom calls pfl_checks_conform_eom for the findings
 * about the header section, the From: domain's existence and, for bulk
 * mail, one-click unsubscribe; the summary names the rules that fired.
 */
void pfl_checks_conform_header(
    struct pfl_checks *, const char *name, const char *value);
size_t pfl_checks_conform_eom(
    struct pfl_checks *, bool bulk, struct pfl_finding *f, size_t max);
char *pfl_checks_conform_word(const struct pfl_checks *, char *buf, size_t n);

/*
 * The daemon's egress check (egress_state.c): a finding when a provider of
 * the message would refuse our addresses as their reverse DNS stands.
 */
size_t pfl_checks_egress_eom(
    struct pfl_checks *, struct pfl_finding *f, size_t max);

#endif
