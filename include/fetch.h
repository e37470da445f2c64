/*
 * fetch: HTTP(S) and file:// fetching with libcurl's multi interface
 * driven by the libuv loop (no thread per fetch). Owns the CURLM, its
 * timer and per-socket poll handles, and each job until its completion
 * callback returns. Sends the server's own validators back (conditional
 * GET), caps the body after decompression, follows a few redirects, and
 * allows only http, https and file (redirects: http and https only).
 * Proxies come from the environment (http_proxy, https_proxy, no_proxy),
 * as libcurl reads them.
 */
#ifndef BULLETIN_FETCH_H
#define BULLETIN_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct fetch;
struct fetch_job; /* one transfer, from fetch_start until its done */

/* on_data's answer to wait: the transfer pauses, and the same bytes are
 * offered again after fetch_resume. */
#define FETCH_PAUSE 1

/* Receives a 2xx response's body as it arrives (already decompressed),
 * instead of it being buffered. Returns 0 when the bytes were taken,
 * FETCH_PAUSE to be offered them again after fetch_resume, or a negative
 * errno to abort the transfer (it then fails with "stopped by reader"). */
typedef int fetch_data_fn(const char *data, size_t len, void *arg);

/* Called once before the first on_data with the transfer (for
 * fetch_resume and fetch_cancel; valid until its done callback), the URL
 * the body comes from (after redirects: the base for relative links),
 * its Content-Type (or NULL), and whether it can pause (libcurl pauses
 * network transfers only: a file:// body must be taken as it comes). A
 * non-zero return aborts the transfer. */
typedef int fetch_begin_fn(struct fetch_job *job, const char *effective_url,
			   const char *content_type, bool can_pause, void *arg);

struct fetch_request {
	const char *url;
	const char *etag;	   /* sent as If-None-Match, or NULL */
	const char *last_modified; /* sent as If-Modified-Since, or NULL */
	int64_t timeout;	   /* seconds, whole transfer */
	int64_t max_bytes;	   /* body cap, counted after decompression */
	const char *ca_file; /* authorities to trust instead of the system's, or
				NULL */
	fetch_data_fn *on_data;	  /* stream the body here, or NULL */
	fetch_begin_fn *on_begin; /* or NULL */
	void *data_arg;
};

/* What came back. Everything is borrowed for the callback's duration. */
struct fetch_result {
	bool ok;	   /* a usable response: 2xx, or 304 */
	bool not_modified; /* 304: nothing to parse */
	int status;	   /* HTTP status, 0 for file:// or no response */
	const char *error; /* why it failed, or NULL */
	const char *body;  /* the body, or NULL when it was streamed */
	size_t len;	   /* bytes of body (streamed or not) */
	const char *etag;  /* validators to store, or NULL */
	const char *last_modified;
	const char *effective_url; /* after redirects */
	const char *moved_to;	   /* when every redirect on the way was
				      permanent (301, 308): the new URL */
	const char *content_type;  /* of the final response, or NULL */
	int64_t retry_after;	   /* seconds the server asked us to wait
				      (Retry-After), or 0 */
};

typedef void fetch_done_fn(const struct fetch_result *r, void *arg);

/* Creates the fetcher on loop. max_connections caps transfers at once,
 * per_host those to one host (the rest queue). Returns NULL when out of
 * memory or libcurl fails to start. */
struct fetch *fetch_create(uv_loop_t *loop, int max_connections, int per_host);

/* Starts a fetch; done runs later on the loop thread, exactly once
 * (with error "cancelled" when fetch_destroy runs first). If this returns
 * an error, done is never called. Returns 0, -ENOMEM or -EINVAL. */
int fetch_start(struct fetch *f, const struct fetch_request *req,
		fetch_done_fn *done, void *arg);

/* Continues a transfer whose on_data returned FETCH_PAUSE; on_data may
 * be called, and if the transfer cannot go on, done too, before this
 * returns. job must not have had its done called yet. */
void fetch_resume(struct fetch *f, struct fetch_job *job);

/* Ends a transfer now (the reader has failed): done is called, with
 * error "stopped by reader", before this returns. Not from inside a
 * fetch callback. */
void fetch_cancel(struct fetch *f, struct fetch_job *job);

/* Transfers in flight. */
size_t fetch_active(const struct fetch *f);

/* Cancels what is in flight (each done is called with "cancelled"),
 * closes every handle and frees the fetcher once the loop has run the
 * close callbacks. Accepts NULL. */
void fetch_destroy(struct fetch *f);

#endif
