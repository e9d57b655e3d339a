/*
 * NAME
 *	config 3h - the configuration snapshot
 * DESCRIPTION
 *	preflight.conf holds opendkim.conf-style "Key value" lines; keys are
 *	case-insensitive and described by one table (config.c) with type,
 *	default and bounds. A parsed file becomes an immutable, refcounted
 *	struct pfl_config, held by the run-time context (ctx.h) that a
 *	connection pins at connect and keeps until close, so a reload never
 *	changes the rules under a message in flight.
 * THREAD SAFETY
 *	A snapshot is read-only after pfl_config_load returns; pfl_config_ref
 *	and pfl_config_unref may be called from any thread.
 */
#ifndef PFL_CONFIG_H
#define PFL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

struct pfl_cidr_list;

/* What preflight may do to a message. */
enum pfl_mode {
	PFL_MODE_MONITOR, /* log only */
	PFL_MODE_TAG,     /* add the X-Preflight header, never block */
	PFL_MODE_ENFORCE, /* take the configured actions */
};

/* What preflight does with a message or recipient; ordered by weight. */
enum pfl_action {
	PFL_ACT_ACCEPT, /* pass untouched (apart from the header) */
	PFL_ACT_TAG,    /* pass, the header says what was found */
	PFL_ACT_HOLD,   /* quarantine: the MTA's hold queue */
	PFL_ACT_DEFER,  /* 4xx to the client */
	PFL_ACT_REJECT, /* 5xx to the client */
};

/* The values of a key that may be given on several lines, as written. */
struct pfl_linelist {
	char **v;  /* each line's value */
	int *line; /* its line number */
	size_t n;
};

/* A list of lower-cased words from one or more config lines. */
struct pfl_strlist {
	char **v;
	size_t n;
};

struct pfl_config {
	char *path;         /* file it was read from */
	char *socket;       /* Socket: inet:PORT@ADDR or unix:PATH */
	mode_t umask;       /* UMask for the unix socket */
	char *user_id;      /* UserID: "user[:group]", or NULL */
	bool allow_root;    /* AllowRunAsRoot */
	char *pid_file;     /* PidFile, or NULL */
	enum pfl_mode mode; /* Mode */
	struct pfl_cidr_list *internal_hosts; /* InternalHosts */
	char *local_daemon_name;              /* LocalSubmissionDaemonName */
	bool syslog;                          /* Syslog */
	int syslog_facility;                  /* SyslogFacility (LOG_MAIL...) */
	char *log_file;                       /* LogFile, or NULL */
	enum pfl_log_level log_level;         /* LogLevel */
	struct pfl_strlist pause_domains; /* PauseDomains: recipient domains */
	struct pfl_strlist hold_senders;  /* HoldSenders: addrs or @domains */
	char *nameservers;              /* Nameservers: NULL = full recursion */
	unsigned long dns_timeout_ms;   /* DnsTimeout, per lookup */
	unsigned long stage_timeout_ms; /* StageTimeout, per SMTP stage */
	/* DKIM: the signer's tables, read by dkim_signer.c (not here) */
	char *signer_key_table; /* SignerKeyTable: [file:]PATH, or NULL */
	char
	    *signer_signing_table; /* SignerSigningTable: [file:|refile:]PATH */
	struct pfl_strlist signer_sign_headers; /* SignerSignHeaders */
	unsigned long key_check_interval_ms;    /* KeyCheckInterval */
	/* provider rules and actions, read by provider_map.c */
	struct pfl_linelist provider_rules;     /* ProviderRule lines */
	struct pfl_linelist provider_domains;   /* ProviderDomains lines */
	enum pfl_action on_auth_reject;         /* OnAuthReject */
	enum pfl_action on_auth_throttle;       /* OnAuthThrottle */
	enum pfl_action on_dns_error;           /* OnDnsError */
	struct pfl_strlist bulk_sender_domains; /* BulkSenderDomains */
	struct pfl_strlist egress_addresses;    /* EgressAddresses: IPs, text */
	char *egress_helo;                      /* EgressHelo, or NULL */
	/* budgets, read by budget_config.c and budget_warmup.c */
	struct pfl_linelist budgets;        /* Budget lines */
	struct pfl_linelist warmups;        /* Warmup lines */
	struct pfl_linelist sending_limits; /* SendingLimits (one line) */
	unsigned bulk_threshold;            /* BulkThreshold: messages/24h */
	char *state_store;                  /* StateStore: store spec */
	enum pfl_action on_store_error;     /* OnStoreError: accept, defer */
	enum pfl_action on_budget_exceeded; /* OnBudgetExceeded: defer, hold,
					       tag */
	/* DNSBL, read by dnsbl.c and dnsbl_monitor.c */
	struct pfl_linelist dnsbls;       /* Dnsbl lines */
	char *dnsbl_resolver;             /* DnsblResolver */
	unsigned long dnsbl_interval_ms;  /* DnsblInterval */
	enum pfl_action on_listed;        /* OnListed: defer, hold, tag */
	enum pfl_action on_domain_listed; /* OnDomainListed */
	bool dnsbl_check_urls;            /* DnsblCheckUrls */
	unsigned dnsbl_max_url_domains;   /* DnsblMaxUrlDomains */
	unsigned dnsbl_url_scan_bytes;    /* DnsblUrlScanBytes */
	/* conformance, read by checks_conform.c */
	enum pfl_action on_malformed;           /* OnMalformed */
	enum pfl_action on_unsubscribe_missing; /* OnUnsubscribeMissing */
	unsigned max_header_size;               /* MaxHeaderSize, bytes */
	/* egress checks, read by egress_state.c */
	unsigned long egress_check_interval_ms;  /* EgressCheckInterval */
	enum pfl_action on_egress_misconfigured; /* OnEgressMisconfigured */
	/* New keys: add fields here, at the end, grouped by module. */
	int refs; /* private: reference count */
};

/*
 * pfl_config_load - read and check a file. On success returns a snapshot
 * with one reference. On failure returns NULL and stores in *errors_r a
 * malloc'd text with one "FILE:LINE: message" line per problem (every
 * problem, not just the first); the caller frees it.
 */
struct pfl_config *pfl_config_load(const char *path, char **errors_r);

/* pfl_config_parse - the same for text in memory; name is used in errors */
struct pfl_config *pfl_config_parse(
    const char *name, const char *text, char **errors_r);

/* The name a snapshot of the built-in defaults carries instead of a path. */
#define PFL_CONFIG_DEFAULTS "(built-in defaults)"

/*
 * pfl_config_load_override - pfl_config_load of path (NULL: no file, the
 * built-in defaults) where the "Key value" lines of override replace every
 * line of the file that sets one of their keys: how a command-line option
 * takes the place of a config key. Problems in override lines are
 * reported as "ORIGIN:LINE: message".
 */
struct pfl_config *pfl_config_load_override(const char *path,
    const char *origin, const char *override, char **errors_r);

/* pfl_config_ref - take another reference; returns its argument */
struct pfl_config *pfl_config_ref(struct pfl_config *);

/* pfl_config_unref - drop a reference; frees on the last (NULL is fine) */
void pfl_config_unref(struct pfl_config *);

/* pfl_config_mode_name - "monitor", "tag", "enforce" */
const char *pfl_config_mode_name(enum pfl_mode);

/* pfl_strlist_has - is the (lower-case) word in the list? */
bool pfl_strlist_has(const struct pfl_strlist *, const char *);

/* pfl_config_keys - the NULL-terminated list of known key names */
const char *const *pfl_config_keys(void);

#endif
