/*
 * subscribe: the subscription rules, over the store. Decides what a
 * request to join or leave does under the list's policy (open, confirm:
 * double opt-in, approve: confirmed, then an admin approves) and allow
 * filter; checks addresses (RFC 5321 lengths, domain case, no IDN: a
 * non-ASCII domain is refused with a message saying so); acts on signed
 * tokens (confirm, unsubscribe); acts on the commands the mail intake
 * recorded; and queues replies (confirmation, welcome, goodbye, help),
 * rendered from templates/ in plain text, as notices that deliver sends.
 *
 * Limits, whoever asks and from wherever (RELIABILITY C1, C2, C8): one
 * address gets at most SUBSCRIBE_CONFIRM_COOLDOWN between confirmations,
 * SUBSCRIBE_CONFIRMS_PER_DAY confirmations and SUBSCRIBE_REPLIES_PER_DAY
 * replies of any kind a day; confirmations to anyone stop at [daemon]
 * confirmations_per_hour. A request over a limit changes nothing visible
 * to the asker: it is absorbed and recorded (bulletinctl subscribers LIST
 * requests). A pending request reuses its confirmation token.
 *
 * Runs wherever the store does: bulletind's loop thread, or bulletinctl.
 * Never sends and never speaks HTTP.
 */
#ifndef BULLETIN_SUBSCRIBE_H
#define BULLETIN_SUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "template.h"
#include "token.h"

#define SUBSCRIBE_CONFIRM_COOLDOWN (15 * 60)
#define SUBSCRIBE_CONFIRMS_PER_DAY 3
#define SUBSCRIBE_REPLIES_PER_DAY 10
#define SUBSCRIBE_LOCAL_MAX 64
#define SUBSCRIBE_ADDRESS_MAX 254
/* How long a subscribe form's token works (RELIABILITY C3). */
#define SUBSCRIBE_FORM_LIFETIME 3600

/* Checks in (a bare addr-spec: no display name, no comments, no quoted
 * local part) and appends it to out with the domain lower-cased: a
 * dot-atom local part of at most 64 octets, an LDH domain of at least
 * two labels (each 1 to 63, no leading or trailing hyphen), at most 254
 * octets in all. Returns 0, -EINVAL with err saying what is wrong (a
 * non-ASCII domain: "internationalised domains are not supported"), or
 * -ENOMEM. */
int subscribe_address_normalise(const char *in, struct buf *out,
				struct err *err);

/* Whether list's allow filter lets the normalised address in: no
 * filter, its exact address (domain without case), or "@domain" equal
 * to its whole domain. */
bool subscribe_address_allowed(const struct config_list *list,
			       const char *address);

/* Loads template name from, in order: the config file's directory,
 * [daemon] templates, the installed templates, the source tree's. */
struct tmpl *subscribe_template_load(const struct config *cfg, const char *name,
				     enum tmpl_escape escape, struct err *err);

struct subscribe;

/* Compiles the reply templates; st, cfg and keys are borrowed and must
 * outlive it. Returns NULL with err naming the template. */
struct subscribe *subscribe_create(struct store *st, const struct config *cfg,
				   const struct token_keys *keys,
				   struct err *err);
void subscribe_destroy(struct subscribe *s); /* accepts NULL */

/* Called (on the caller's thread) after a subscriber stopped being
 * active (unsubscribed, removed, suspended), with the subscriber's row
 * id: the store has cancelled its pending deliveries, and the daemon
 * takes back those already handed to the SMTP senders. */
typedef void subscribe_leave_fn(int64_t subscriber_id, void *arg);
void subscribe_on_leave(struct subscribe *s, subscribe_leave_fn *fn, void *arg);

/* How a request came. */
enum subscribe_via {
	SUBSCRIBE_VIA_EMAIL,
	SUBSCRIBE_VIA_WEB,
	SUBSCRIBE_VIA_ONE_CLICK,
	SUBSCRIBE_VIA_ADMIN,
	SUBSCRIBE_VIA_IMPORT,
};

/* A request to join list for address (as given: it is checked here).
 * Under confirm and approve it sends a confirmation (within the
 * limits); under open the address is subscribed at once and welcomed.
 * The caller shows the same answer whatever happened (RELIABILITY B11);
 * *outcome (may be NULL) gets what did, for the log. Returns 0, or a
 * negative errno when the store failed. */
int subscribe_request(struct subscribe *s, const struct config_list *list,
		      const char *address, enum subscribe_via via, int64_t now,
		      char outcome[ERR_MSG_MAX], struct err *err);

/* Acts on every pending command the mail intake recorded, oldest first,
 * each exactly once (settled in the transaction that acts on it). *n
 * (may be NULL) gets how many. */
int subscribe_run_commands(struct subscribe *s, int64_t now, size_t *n,
			   struct err *err);

enum subscribe_result {
	SUBSCRIBE_DONE,	   /* done now */
	SUBSCRIBE_ALREADY, /* done before: nothing changed */
	SUBSCRIBE_WAITING, /* confirmed; an admin must approve */
	SUBSCRIBE_EXPIRED, /* a confirmation token past confirm_expiry */
	SUBSCRIBE_BAD,	   /* malformed, tampered, another purpose or
			      list, superseded, or no such subscriber */
};

/* What a token was for, for the page that answers. */
struct subscribe_token_info {
	enum subscribe_result result;
	char list[128];	      /* the list's name, or "" */
	char list_title[256]; /* its title, or "" */
	bool gone; /* SUBSCRIBE_EXPIRED: the request it confirmed was purged
		      since (nothing was done or recorded) */
};

/* Checks a token without acting (GET pages). Returns 0 with info set, or
 * a negative errno when the store failed. */
int subscribe_token_check(struct subscribe *s, enum token_purpose purpose,
			  const char *token, int64_t now,
			  struct subscribe_token_info *info, struct err *err);

/* Acts on a token: unsubscribes (and cancels queued deliveries) or
 * confirms. via says how (one-click, web, email) for the record. */
int subscribe_token_act(struct subscribe *s, enum token_purpose purpose,
			const char *token, enum subscribe_via via, int64_t now,
			struct subscribe_token_info *info, struct err *err);

/* Admin: add (active at once, no mail), remove (unsubscribed, queued
 * deliveries cancelled, no mail), approve (a pending request becomes
 * active and is welcomed). address must be normalised. Return 0,
 * -ENOENT (remove, approve: not on the list), -EPERM (add: refused by
 * the allow filter; err says so) or a store error. */
int subscribe_admin_add(struct subscribe *s, const struct config_list *list,
			const char *address, enum subscribe_via via,
			int64_t now, struct err *err);
int subscribe_admin_remove(struct subscribe *s, const struct config_list *list,
			   const char *address, int64_t now, struct err *err);
int subscribe_admin_approve(struct subscribe *s, const struct config_list *list,
			    const char *address, int64_t now, struct err *err);

/* The subscribe form (RELIABILITY C3): each one shown carries a token,
 * signed over the list and when it was issued. A post counts only with
 * a token for that list, issued at most SUBSCRIBE_FORM_LIFETIME ago and
 * at least [http] form_min_time ago (a robot posts at once). */
enum subscribe_form_check {
	SUBSCRIBE_FORM_OK,
	SUBSCRIBE_FORM_BAD,	/* none, malformed, forged, another list's,
				   or issued in the future */
	SUBSCRIBE_FORM_EXPIRED, /* older than SUBSCRIBE_FORM_LIFETIME */
	SUBSCRIBE_FORM_EARLY,	/* posted sooner than form_min_time */
};

/* Appends a form token for list, issued at now. Returns 0 or -ENOMEM. */
int subscribe_form_token(struct subscribe *s, const struct config_list *list,
			 int64_t now, struct buf *out);

/* Checks a posted form token (NULL for none) for list at now. */
enum subscribe_form_check subscribe_form_check(struct subscribe *s,
					       const struct config_list *list,
					       const char *token, int64_t now);

/* Deletes requests never confirmed within confirm_expiry (C5). */
int subscribe_purge(struct subscribe *s, int64_t now, size_t *n,
		    struct err *err);

const char *subscribe_via_name(enum subscribe_via via);

#endif
