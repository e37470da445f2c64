/*
 * http: the HTTP endpoint, on libmicrohttpd driven by the libuv loop
 * (MHD's epoll mode with no thread of its own: one uv_poll on MHD's
 * epoll descriptor and one uv_timer for its timeouts), so every request
 * is handled on the loop thread and may use the store directly.
 *
 * Routes (DESIGN.md): POST /u/TOKEN with List-Unsubscribe=One-Click
 * unsubscribes before answering 200 (RFC 8058); GET /u/TOKEN and
 * GET /c/TOKEN only show a page with one button that POSTs (mail scanners
 * fetch links); POST /c/TOKEN confirms; GET /s/LIST shows the subscribe
 * form and POST /s/LIST only ever sends a confirmation (the same answer
 * whatever the address: no enumeration); GET /healthz (200 "ok", or
 * 503 saying what is wrong) and GET /metrics. Bodies are parsed
 * here (at most HTTP_BODY_MAX bytes, urlencoded or multipart), never with
 * MHD's post processor. Bad tokens get one uniform 404 page. Connections
 * (in all and per client address), memory per connection, idle time and
 * the time to send a whole request are bounded; past HTTP_SHED_AT open
 * connections the oldest are closed to make room. Pages come from
 * templates/page.html, HTML-escaped, with charset, nosniff and a CSP
 * that allows no script.
 */
#ifndef BULLETIN_HTTP_H
#define BULLETIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "subscribe.h"

#define HTTP_BODY_MAX 1024
#define HTTP_FIELDS_MAX 8
#define HTTP_CONNECTIONS 256
#define HTTP_PER_IP 64
/* Past this many open connections the oldest are closed to make room
 * (RELIABILITY B9): below HTTP_CONNECTIONS by one address's worth. */
#define HTTP_SHED_AT (HTTP_CONNECTIONS - HTTP_PER_IP)
/* Seconds a connection may idle, and may take to send a whole request
 * however slowly its bytes come. */
#define HTTP_TIMEOUT 10
#define HTTP_MEMORY (32 * 1024) /* per connection: headers and all */

/* One form field, decoded. */
struct http_field {
	char name[64];
	char value[320];
};

/* Parses a request body of type content_type (its parameters read for
 * multipart's boundary): application/x-www-form-urlencoded, or
 * multipart/form-data with CRLF line ends. Fills up to max fields.
 * Returns 0 with *n set, -ENOTSUP for another or no content type,
 * -E2BIG for more than max fields or a name or value too long, or
 * -EINVAL for a malformed body. Pure. */
int http_form_parse(const char *content_type, const char *body, size_t len,
		    struct http_field *fields, size_t max, size_t *n);

/* X-Forwarded-For lines read (the last ones) from one request. */
#define HTTP_FORWARDED_MAX 8

/* The address a request came from, as text (IPv4 mapped into IPv6 as
 * IPv4), for per-client limits. peer is the connection's (family
 * AF_INET or AF_INET6, network-order bytes). Only when the peer is one
 * of cfg's trusted_proxies are headers believed: the client is then the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy
 * (forwarded: the header's lines in the order received), the left-most
 * when all are, or with no entries a valid X-Real-IP. An entry that is
 * not an address leaves the peer's. Anyone else's headers are ignored:
 * anyone can send them. Pure. */
void http_client_address(const struct config *cfg, int family,
			 const unsigned char *peer,
			 const char *const *forwarded, size_t n_forwarded,
			 const char *real_ip, char *out, size_t size);

struct http;

/* Listens on cfg's [http] listen. sub and cfg are borrowed until the
 * next http_reconfigure or http_destroy. Returns NULL with err saying
 * why (the address is taken, say). */
struct http *http_create(uv_loop_t *loop, const struct config *cfg,
			 struct subscribe *sub, struct err *err);

/* Takes a new config and subscription rules (after a reload); the
 * listening address stays until a restart (a change is logged). */
int http_reconfigure(struct http *h, const struct config *cfg,
		     struct subscribe *sub, struct err *err);

/* What GET /healthz and GET /metrics report, from the daemon. health
 * returns whether all is well, with why saying what is not; metrics
 * appends the Prometheus exposition to out (0, or a negative errno). */
struct http_status {
	bool (*health)(char *why, size_t size, void *arg);
	int (*metrics)(struct buf *out, void *arg);
	void *arg;
};

/* Sets (copies) them; without, /healthz says ok and /metrics is 404. */
void http_set_status(struct http *h, const struct http_status *s);

/* Stops listening, drops connections, frees on a later loop turn.
 * Accepts NULL. */
void http_destroy(struct http *h);

#endif
