/*
 * config: reads the INI file with inih, validates every section and key,
 * and builds struct config. Unknown sections and keys are errors; every
 * problem is reported with file:line through the caller's callback, and
 * loading goes on to find the rest. Relative paths are resolved against
 * the config file's directory. The struct is immutable once loaded:
 * reload builds a new one and swaps it in.
 */
#ifndef BULLETIN_CONFIG_H
#define BULLETIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "schedule.h"

enum source_type {
	SOURCE_FEED,
	SOURCE_MAILBOX,
};

enum subscribe_policy {
	SUBSCRIBE_OPEN,
	SUBSCRIBE_CONFIRM,
	SUBSCRIBE_APPROVE,
};

/* Defaults of [dedupe] and [classify], tuned on
 * tests/data/labelled (see tests/unit/test_labelled.c). */
#define CONFIG_DEFAULT_SIMILAR 0.5
#define CONFIG_DEFAULT_CONTAINED 0.8
#define CONFIG_DEFAULT_MIN_WORDS 15
#define CONFIG_DEFAULT_MIN_SCORE 2
#define CONFIG_DEFAULT_TITLE_WEIGHT 3

/* An address or a network ("127.0.0.1", "::1", "10.0.0.0/8"): the
 * first prefix bits of addr (network order; 4 bytes for AF_INET). */
struct config_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Whether the address (family, network-order bytes) is in net. An IPv6
 * address mapped from IPv4 (::ffff:a.b.c.d) matches as the IPv4 one. */
bool config_net_match(const struct config_net *net, int family,
		      const unsigned char *addr);

/* All strings below are owned by the struct config they belong to. */
struct config_source {
	char *name;  /* from "[source NAME]" */
	char *title; /* "title", default: the name */
	enum source_type type;
	char *url;	  /* feed: http(s):// or file:// (a relative path
			     becomes file:// under the config dir) */
	char *folder;	  /* mailbox: IMAP folder */
	char *from;	  /* mailbox: allowed sender (address or @domain,
			     lower-cased) */
	int64_t interval; /* seconds; "interval", default 30m */
	int priority;	  /* "priority", default 0 */
	bool split;	  /* mailbox: one item per headed section
			     ("split", default yes) */
	int line;	  /* line of the section header */
};

struct config_theme {
	char *name;
	char *title;	 /* default: the name */
	char **keywords; /* lower-case words or "quoted phrases" unquoted */
	size_t n_keywords;
	int line;
};

struct config_list {
	char *name;
	char *title;   /* default: the name */
	char *address; /* list address, e.g. staff-news@example.org */
	char *from;    /* From header, default: the address */
	char *schedule_text;
	struct schedule schedule;
	char *template_path; /* resolved path of the digest template */
	char **sources;	     /* names of [source] sections; default: all */
	size_t n_sources;
	char **themes; /* names of [theme] sections, plus "other" (added
			  last unless named); default: all themes */
	size_t n_themes;
	enum subscribe_policy subscribe;
	bool nothing_new; /* send a short note when a period has nothing */
	char **allow;	  /* "@domain" or full addresses, lower-cased */
	size_t n_allow;
	int line;
};

struct config {
	int refs;   /* holders besides the first; see config_ref() */
	char *path; /* the file as given */
	char *dir;  /* its directory, for relative paths */

	/* [daemon] */
	char *database;		    /* default /var/lib/bulletin/bulletin.db */
	char *public_url;	    /* required; no trailing slash */
	char *secret_file;	    /* default /etc/bulletin/secret */
	char *previous_secret_file; /* the secret before a rotation: its
				       tokens still verify; or NULL */
	int64_t confirm_expiry;	    /* confirmation tokens; default 7d */
	int confirmations_per_hour; /* to anyone, default 100 (C2) */
	char *timezone;		    /* default UTC */
	enum log_level log_level;   /* default info */
	char *templates_dir;	    /* default BULLETIN_TEMPLATE_DIR */

	/* [fetch] */
	int64_t fetch_timeout;	 /* seconds, default 30s */
	int64_t fetch_max_bytes; /* default 64 MiB ("max_size = 64M") */
	int fetch_connections;	 /* default 8 */
	int fetch_per_host;	 /* at once to one host, default 2 */
	char *fetch_ca_file;	 /* extra trusted CA (PEM), or NULL */

	/* [http] */
	char *http_listen;	    /* default 127.0.0.1:8025 */
	int http_form_per_ip;	    /* subscribe form posts per client address
				       per hour; default 10 */
	int64_t http_form_min_time; /* seconds a form must be shown before a
				       post counts (C3); 0: none; default
				       3s */
	struct config_net *http_trusted_proxies; /* peers whose
						    X-Forwarded-For and
						    X-Real-IP are believed;
						    default none */
	size_t n_http_trusted_proxies;

	/* [smtp] */
	char *smtp_url;	    /* smtp://, smtps:// or maildir:///path; default
			       smtp://127.0.0.1:25 */
	char *smtp_maildir; /* the maildir directory (absolute) when smtp_url
			       is maildir:, else NULL; see config_maildir() */
	char *smtp_username;
	char *smtp_password_file;
	bool smtp_starttls;
	int smtp_connections;	/* default 4 */
	char *smtp_ca_file;	/* extra trusted CA (PEM), or NULL */
	int64_t smtp_timeout;	/* any one reply; 10m */
	int64_t smtp_retry;	/* first wait after a 4xx; doubles; 5m */
	int64_t smtp_give_up;	/* retries stop this long after the digest;
				   3d */
	int smtp_suspend_after; /* hard failures in a row; default 3 */

	/* [imap] (optional section) */
	char *imap_url;
	char *imap_username;
	char *imap_password_file;
	int64_t imap_poll;	/* default 2m */
	int64_t imap_retry;	/* first wait after a failure (doubling); 30s */
	char *imap_folder;	/* where commands arrive; default INBOX */
	char *imap_move_to;	/* folder for processed messages, or NULL */
	char *imap_ca_file;	/* extra trusted CA (PEM), or NULL */
	int64_t imap_max_size;	/* default 25M: bigger mail is refused */
	char *imap_authserv_id; /* our MX's Authentication-Results id: when
				   set, briefings need its DKIM or DMARC
				   pass (RELIABILITY F7); else NULL */

	/* [dedupe] (optional section): near-duplicate thresholds */
	double dedupe_similar;	 /* "similar", default 50% */
	double dedupe_contained; /* "contained", default 80% */
	int dedupe_min_words;	 /* "min_words", default 15 */

	/* [classify] (optional section): themes */
	int theme_min_score;	/* "min_score", default 2 */
	int theme_title_weight; /* "title_weight", default 3 */

	struct config_source *sources;
	size_t n_sources;
	struct config_list *lists;
	size_t n_lists;
	struct config_theme *themes;
	size_t n_themes;
};

/* Called once per problem, in file order. msg has no "file:line: "
 * prefix. Line 0 means the file as a whole (it cannot be opened or read,
 * or it has no [daemon] section); those come after the others. */
typedef void config_error_fn(const char *file, int line, const char *msg,
			     void *arg);

/* Loads and validates path. On success returns 0 and *out owns a new
 * config. Otherwise returns -EINVAL (problems reported through on_error,
 * at least one) or -ENOENT/-EACCES (the file cannot be read: reported
 * through on_error with line 0; also -EISDIR, -EIO), or -ENOMEM; *out is
 * left NULL. on_error may be NULL. Not thread-safe (inih's options are
 * process-wide). */
int config_load(const char *path, config_error_fn *on_error, void *arg,
		struct config **out);

/* Drops a hold on cfg and frees it when it was the last; accepts NULL.
 * The loader holds it once. */
void config_destroy(struct config *cfg);

/* Holds cfg for a job that outlives a reload; returns cfg. Holding and
 * dropping happen on one thread (the loop's). */
struct config *config_ref(struct config *cfg);

const struct config_source *config_source_find(const struct config *cfg,
					       const char *name);
const struct config_list *config_list_find(const struct config *cfg,
					   const char *name);
const struct config_theme *config_theme_find(const struct config *cfg,
					     const char *name);

/* "30s", "10m", "2h", "7d" (or a bare number of seconds) to seconds.
 * Returns 0 or -EINVAL (empty, negative, overflow, unknown unit). */
int config_parse_duration(const char *text, int64_t *out);

/* "10M", "512K", "1G", or bytes. Returns 0 or -EINVAL. */
int config_parse_size(const char *text, int64_t *out);

/* If maildir transport is configured ("maildir:///path" or
 * "maildir:relative/path"), returns the directory path, else NULL. */
const char *config_maildir(const struct config *cfg);

#endif
