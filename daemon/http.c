/*
 * http: libmicrohttpd in epoll mode, driven from the loop: MHD_run when
 * its epoll descriptor is readable or its timeout passes, and the timer
 * re-armed from MHD_get_timeout after every run. The access handler
 * collects at most HTTP_BODY_MAX bytes of body (more is refused with 413
 * at once), then routes. Nothing here decides who is subscribed: that is
 * subscribe's.
 *
 * Slow clients (RELIABILITY B9): MHD's timeout counts idle time only, so
 * a client that sends a byte every few seconds would hold its connection
 * for ever. Every connection is therefore also listed here, oldest
 * first, with when it opened or last finished a request; a once-a-second
 * sweep shuts down the socket of any that has not finished a request
 * within HTTP_TIMEOUT (MHD then sees the end of the stream and closes
 * it), and past HTTP_SHED_AT open connections the oldest are shut down
 * at once to make room, so that clients from many addresses cannot fill
 * every slot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "http.h"
#include "metrics.h"
#include "ratelimit.h"
#include "template.h"

#define RATE_SLOTS 4096
#define RATE_WINDOW 3600

/* One open connection (MHD's socket context). */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t since; /* uv_now when it opened or last finished a request */
	bool served;	/* it finished a request (it may idle, kept alive) */
	bool cut;	/* its socket is shut down; MHD closes it next */
};

struct http {
	uv_loop_t *loop;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t sweep; /* runs while connections are open */
	int handles;	  /* uv handles not yet closed */
	bool closing;
	struct MHD_Daemon *mhd;
	const struct config *cfg; /* borrowed */
	struct subscribe *sub;	  /* borrowed */
	struct tmpl *page;	  /* owned */
	struct ratelimit *per_ip; /* owned */
	struct http_status status;
	char listen[128];
	struct conn *head, *tail;  /* oldest first */
	size_t open, cut;	   /* listed; of them, shut down */
	size_t cut_late, cut_room; /* shut down since the last log line */
};

/* One request's state, from its headers to its completion. */
struct req {
	char body[HTTP_BODY_MAX + 1];
	size_t len;
	bool too_big;
};

/* ---- bodies ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a urlencoded span into out (NUL-terminated). */
static int url_decode(const char *p, size_t len, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return -EINVAL;
		if (o + 1 >= size)
			return -E2BIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int parse_urlencoded(const char *body, size_t len,
			    struct http_field *fields, size_t max, size_t *n)
{
	const char *p = body, *end = body + len, *amp, *eq;
	int ret;

	/* A final line end (some clients add one) is no field. */
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (!eq || eq == p)
			return -EINVAL;
		if (*n == max)
			return -E2BIG;
		ret = url_decode(p, (size_t)(eq - p), fields[*n].name,
				 sizeof(fields[*n].name));
		if (!ret)
			ret = url_decode(eq + 1, (size_t)(amp - eq - 1),
					 fields[*n].value,
					 sizeof(fields[*n].value));
		if (ret)
			return ret;
		(*n)++;
		p = amp < end ? amp + 1 : end;
	}
	return 0;
}

/* The value of parameter name in a header value ("a; b=c; name=v"),
 * unquoted, into out. */
static bool header_param(const char *value, const char *name, char *out,
			 size_t size)
{
	size_t nl = strlen(name);
	const char *p = strchr(value, ';');

	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1, *e;

			if (*v == '"') {
				v++;
				e = strchr(v, '"');
				if (!e)
					return false;
			} else {
				e = v + strcspn(v, "; \t");
			}
			if (e == v || (size_t)(e - v) >= size)
				return false;
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}

static const char *find_mem(const char *hay, size_t len, const char *needle,
			    size_t nlen)
{
	return memmem(hay, len, needle, nlen);
}

static int parse_multipart(const char *ctype, const char *body, size_t len,
			   struct http_field *fields, size_t max, size_t *n)
{
	char boundary[80], delim[84], name[80];
	const char *p = body, *end = body + len, *hdr_end, *next, *line;
	size_t dl;

	if (!header_param(ctype, "boundary", boundary, sizeof(boundary)))
		return -EINVAL;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	/* The first delimiter opens the body (a preamble is allowed). */
	next = find_mem(p, len, delim, dl);
	if (!next)
		return -EINVAL;
	p = next + dl;
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0; /* the close delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -EINVAL;
		p += 2;
		hdr_end = find_mem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hdr_end)
			return -EINVAL;
		/* The part's name, from Content-Disposition: form-data. */
		name[0] = '\0';
		for (line = p; line < hdr_end + 2;) {
			const char *eol = find_mem(
				line, (size_t)(hdr_end + 2 - line), "\r\n", 2);
			char h[256];
			size_t hl = (size_t)(eol - line);

			if (hl < sizeof(h)) {
				memcpy(h, line, hl);
				h[hl] = '\0';
				if (strncasecmp(h, "Content-Disposition:",
						20) == 0 &&
				    strcasestr(h, "form-data") &&
				    !header_param(h, "name", name,
						  sizeof(name)))
					return -EINVAL;
			}
			line = eol + 2;
		}
		if (!name[0])
			return -EINVAL;
		p = hdr_end + 4;
		next = find_mem(p, (size_t)(end - p), delim, dl);
		if (!next || next - p < 2 || next[-2] != '\r' ||
		    next[-1] != '\n')
			return -EINVAL;
		if (*n == max)
			return -E2BIG;
		if (strlen(name) >= sizeof(fields[*n].name) ||
		    (size_t)(next - 2 - p) >= sizeof(fields[*n].value))
			return -E2BIG;
		snprintf(fields[*n].name, sizeof(fields[*n].name), "%s", name);
		memcpy(fields[*n].value, p, (size_t)(next - 2 - p));
		fields[*n].value[next - 2 - p] = '\0';
		if (strlen(fields[*n].value) != (size_t)(next - 2 - p))
			return -EINVAL; /* a NUL inside */
		(*n)++;
		p = next + dl;
	}
}

static bool type_is(const char *ctype, const char *want)
{
	size_t wl = strlen(want);

	return strncasecmp(ctype, want, wl) == 0 &&
	       (ctype[wl] == '\0' || ctype[wl] == ';' || ctype[wl] == ' ');
}

int http_form_parse(const char *content_type, const char *body, size_t len,
		    struct http_field *fields, size_t max, size_t *n)
{
	*n = 0;
	if (!content_type)
		return -ENOTSUP;
	if (memchr(body, '\0', len))
		return -EINVAL;
	if (type_is(content_type, "application/x-www-form-urlencoded"))
		return parse_urlencoded(body, len, fields, max, n);
	if (type_is(content_type, "multipart/form-data"))
		return parse_multipart(content_type, body, len, fields, max, n);
	return -ENOTSUP;
}

/* ---- pages ---- */

struct page {
	unsigned status;
	const char *title, *message;
	const char *button, *action, *field, *value; /* a one-button form */
	/* The subscribe form for this list, at action: with form_token,
	 * or a new one; address filled in, if any. */
	const struct config_list *subscribe_form;
	const char *form_token, *address;
};

static int respond(struct MHD_Connection *c, unsigned status, const char *type,
		   const char *body, size_t len, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(
		r, "Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; "
		"form-action 'self'; frame-ancestors 'none'");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static int show(struct http *h, struct MHD_Connection *c, const struct page *p)
{
	struct tmpl_data *d = tmpl_data_create();
	struct buf out, token;
	int ret = d ? 0 : -ENOMEM;
	enum MHD_Result ok;

	buf_init(&out, 64 * 1024);
	buf_init(&token, BUF_MAX_LINE);
	if (!ret)
		ret = tmpl_data_set(d, "title", p->title);
	if (!ret)
		ret = tmpl_data_set(d, "message", p->message);
	if (!ret && p->button)
		ret = tmpl_data_set(d, "button", p->button);
	if (!ret && p->action)
		ret = tmpl_data_set(d, "action", p->action);
	if (!ret && p->field)
		ret = tmpl_data_set(d, "field", p->field);
	if (!ret && p->value)
		ret = tmpl_data_set(d, "value", p->value);
	if (!ret && p->subscribe_form) {
		ret = tmpl_data_set(d, "subscribe_form", "yes");
		if (!ret && !p->form_token)
			ret = subscribe_form_token(h->sub, p->subscribe_form,
						   (int64_t)time(NULL), &token);
		if (!ret)
			ret = tmpl_data_set(d, "form_token",
					    p->form_token ? p->form_token
							  : buf_str(&token));
		if (!ret && p->address)
			ret = tmpl_data_set(d, "address", p->address);
	}
	if (!ret)
		ret = tmpl_render(h->page, d, &out);
	tmpl_data_destroy(d);
	buf_free(&token);
	if (ret) {
		static const char oops[] = "Server error\n";

		buf_free(&out);
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			       "text/plain; charset=utf-8", oops,
			       sizeof(oops) - 1, NULL);
	}
	ok = respond(c, p->status, "text/html; charset=utf-8", buf_str(&out),
		     out.len, NULL);
	buf_free(&out);
	return ok;
}

/* The one page for any link that is not good: it says nothing about
 * why, and echoes nothing (RELIABILITY B5, B10). */
static int not_found(struct http *h, struct MHD_Connection *c)
{
	struct page p = {
		.status = MHD_HTTP_NOT_FOUND,
		.title = "Link not valid",
		.message = "This link is not valid. If you copied it from an "
			   "email, check that you copied all of it.",
	};

	return show(h, c, &p);
}

static int bad_request(struct http *h, struct MHD_Connection *c,
		       unsigned status)
{
	struct page p = {
		.status = status,
		.title = "Request not understood",
		.message = "This request could not be understood. Use the "
			   "button on the page the link opens.",
	};

	return show(h, c, &p);
}

static int method_not_allowed(struct http *h, struct MHD_Connection *c)
{
	static const char body[] = "Method not allowed\n";

	return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		       "text/plain; charset=utf-8", body, sizeof(body) - 1,
		       "GET, HEAD, POST");
}

static int server_error(struct MHD_Connection *c, const struct err *err)
{
	static const char body[] = "The service is busy; try again in a few "
				   "minutes.\n";

	log_errorx("http: %s", err->msg);
	return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		       "text/plain; charset=utf-8", body, sizeof(body) - 1,
		       NULL);
}

/* ---- routes ---- */

/* Parses the request's body into fields; *status is the 4xx to answer
 * when it returns false. */
static bool read_form(struct MHD_Connection *c, const struct req *rq,
		      struct http_field *fields, size_t *n, unsigned *status)
{
	const char *ctype =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	int ret = http_form_parse(ctype, rq->body, rq->len, fields,
				  HTTP_FIELDS_MAX, n);

	*status = ret == -ENOTSUP ? MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
				  : MHD_HTTP_BAD_REQUEST;
	return ret == 0;
}

/* Exactly one field, name=value (RFC 8058 3.2: the body is
 * "List-Unsubscribe=One-Click"). */
static bool only_field(const struct http_field *f, size_t n, const char *name,
		       const char *value)
{
	return n == 1 && strcmp(f[0].name, name) == 0 &&
	       strcmp(f[0].value, value) == 0;
}

static int route_unsubscribe(struct http *h, struct MHD_Connection *c,
			     const char *token, bool post, const struct req *rq)
{
	struct subscribe_token_info info;
	struct http_field f[HTTP_FIELDS_MAX];
	struct err err = {{0}};
	char action[128], msg[512];
	unsigned status;
	size_t n;
	struct page p = {.status = MHD_HTTP_OK};

	if (!post) {
		if (subscribe_token_check(h->sub, TOKEN_UNSUBSCRIBE, token,
					  (int64_t)time(NULL), &info, &err))
			return server_error(c, &err);
		if (info.result == SUBSCRIBE_BAD)
			return not_found(h, c);
		snprintf(action, sizeof(action), "/u/%s", token);
		snprintf(msg, sizeof(msg),
			 "Press the button to stop receiving %s.",
			 info.list_title);
		p.title = "Unsubscribe";
		p.message = msg;
		p.button = "Unsubscribe";
		p.action = action;
		p.field = "List-Unsubscribe";
		p.value = "One-Click";
		return show(h, c, &p);
	}
	if (!read_form(c, rq, f, &n, &status) ||
	    !only_field(f, n, "List-Unsubscribe", "One-Click"))
		return bad_request(h, c, status);
	if (subscribe_token_act(h->sub, TOKEN_UNSUBSCRIBE, token,
				SUBSCRIBE_VIA_ONE_CLICK, (int64_t)time(NULL),
				&info, &err))
		return server_error(c, &err);
	if (info.result == SUBSCRIBE_BAD)
		return not_found(h, c);
	snprintf(msg, sizeof(msg),
		 "You have been unsubscribed from %s. You will get no more "
		 "digests.",
		 info.list_title);
	p.title = "Unsubscribed";
	p.message = msg;
	return show(h, c, &p);
}

static int route_confirm(struct http *h, struct MHD_Connection *c,
			 const char *token, bool post, const struct req *rq)
{
	struct subscribe_token_info info;
	struct http_field f[HTTP_FIELDS_MAX];
	struct err err = {{0}};
	char action[128], msg[512], again[256];
	unsigned status;
	size_t n;
	int ret;
	struct page p = {.status = MHD_HTTP_OK};

	if (post && (!read_form(c, rq, f, &n, &status) ||
		     !only_field(f, n, "confirm", "yes")))
		return bad_request(h, c, status);
	if (post)
		ret = subscribe_token_act(h->sub, TOKEN_CONFIRM, token,
					  SUBSCRIBE_VIA_WEB,
					  (int64_t)time(NULL), &info, &err);
	else
		ret = subscribe_token_check(h->sub, TOKEN_CONFIRM, token,
					    (int64_t)time(NULL), &info, &err);
	if (ret)
		return server_error(c, &err);
	switch (info.result) {
	case SUBSCRIBE_BAD:
		return not_found(h, c);
	case SUBSCRIBE_EXPIRED:
		snprintf(again, sizeof(again), "/s/%s", info.list);
		snprintf(msg, sizeof(msg),
			 "This confirmation link has expired. Request a new "
			 "one to join %s.",
			 info.list_title);
		p.status = MHD_HTTP_GONE;
		p.title = "Link expired";
		p.message = msg;
		p.subscribe_form = config_list_find(h->cfg, info.list);
		p.action = again;
		return show(h, c, &p);
	case SUBSCRIBE_WAITING:
		snprintf(msg, sizeof(msg),
			 "Thank you: your address is confirmed. The admin of "
			 "%s approves each new subscriber; a welcome email "
			 "follows.",
			 info.list_title);
		p.title = "Confirmed";
		p.message = msg;
		return show(h, c, &p);
	case SUBSCRIBE_ALREADY:
		snprintf(msg, sizeof(msg), "You are subscribed to %s.",
			 info.list_title);
		p.title = "Subscribed";
		p.message = msg;
		return show(h, c, &p);
	case SUBSCRIBE_DONE:
		break;
	}
	if (post) {
		snprintf(msg, sizeof(msg), "You are subscribed to %s. Welcome!",
			 info.list_title);
		p.title = "Subscribed";
		p.message = msg;
		return show(h, c, &p);
	}
	snprintf(action, sizeof(action), "/c/%s", token);
	snprintf(msg, sizeof(msg),
		 "Press the button to confirm your subscription to %s.",
		 info.list_title);
	p.title = "Confirm your subscription";
	p.message = msg;
	p.button = "Confirm";
	p.action = action;
	p.field = "confirm";
	p.value = "yes";
	return show(h, c, &p);
}

/* ---- the client's address ---- */

/* An address as text; an IPv6 one mapped from IPv4 as the IPv4 one, so
 * that both forms share one limit. */
static void addr_text(int family, const unsigned char *addr, char *out,
		      size_t size)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(mapped);
	}
	if (!inet_ntop(family, addr, out, (socklen_t)size))
		snprintf(out, size, "unknown");
}

static bool trusted(const struct config *cfg, int family,
		    const unsigned char *addr)
{
	for (size_t i = 0; i < cfg->n_http_trusted_proxies; i++)
		if (config_net_match(&cfg->http_trusted_proxies[i], family,
				     addr))
			return true;
	return false;
}

/* One X-Forwarded-For entry or X-Real-IP value: "1.2.3.4", "1.2.3.4:80",
 * "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:80", with blanks
 * around. */
static bool addr_parse(const char *p, size_t len, int *family,
		       unsigned char *addr)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *colon;

	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len && p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (!close || (close + 1 < p + len && close[1] != ':'))
			return false;
		len = (size_t)(close - p - 1);
		p++;
	} else if ((colon = memchr(p, ':', len)) &&
		   !memchr(colon + 1, ':', len - (size_t)(colon + 1 - p))) {
		len = (size_t)(colon - p); /* IPv4 with a port */
	}
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

void http_client_address(const struct config *cfg, int family,
			 const unsigned char *peer,
			 const char *const *forwarded, size_t n_forwarded,
			 const char *real_ip, char *out, size_t size)
{
	unsigned char addr[16], found[16];
	int fam, found_fam = 0;
	size_t i;

	addr_text(family, peer, out, size);
	if (!trusted(cfg, family, peer))
		return;
	/* Right to left: each trusted proxy appended the address it got
	 * the request from; the first one that is not a trusted proxy is
	 * the client. Past it, anything may be forged. */
	for (i = n_forwarded; i-- > 0;) {
		const char *v = forwarded[i];
		const char *end = v + strlen(v);

		while (end > v) {
			const char *comma = end;

			while (comma > v && comma[-1] != ',')
				comma--;
			if (comma == end ||
			    strspn(comma, " \t") == (size_t)(end - comma)) {
				end = comma > v ? comma - 1 : v;
				continue; /* an empty entry */
			}
			/* Not an address: who wrote it cannot be told, so
			 * the proxy's own address stands. */
			if (!addr_parse(comma, (size_t)(end - comma), &fam,
					addr))
				return;
			memcpy(found, addr, sizeof(addr));
			found_fam = fam;
			if (!trusted(cfg, fam, addr)) {
				addr_text(fam, addr, out, size);
				return;
			}
			end = comma > v ? comma - 1 : v;
		}
	}
	/* Every entry a trusted proxy: the left-most is the client. */
	if (found_fam) {
		addr_text(found_fam, found, out, size);
		return;
	}
	if (real_ip && addr_parse(real_ip, strlen(real_ip), &fam, addr))
		addr_text(fam, addr, out, size);
}

/* The X-Forwarded-For lines, in order; of more than fit, the last
 * (those the nearest proxies wrote). */
struct forwarded {
	const char *v[HTTP_FORWARDED_MAX];
	size_t n;
};

static enum MHD_Result collect_forwarded(void *cls, enum MHD_ValueKind kind,
					 const char *key, const char *value)
{
	struct forwarded *f = cls;

	if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
		return MHD_YES;
	if (f->n == HTTP_FORWARDED_MAX) {
		memmove(f->v, f->v + 1, (f->n - 1) * sizeof(f->v[0]));
		f->n--;
	}
	f->v[f->n++] = value;
	return MHD_YES;
}

/* The client's address for limits: see http_client_address. */
static void client_ip(struct http *h, struct MHD_Connection *c, char *out,
		      size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	struct forwarded f = {.n = 0};
	const unsigned char *peer;
	int family;

	snprintf(out, size, "unknown");
	if (sa && sa->sa_family == AF_INET) {
		family = AF_INET;
		peer = (const unsigned char *)&((const struct sockaddr_in *)sa)
			       ->sin_addr;
	} else if (sa && sa->sa_family == AF_INET6) {
		family = AF_INET6;
		peer = (const unsigned char *)&((const struct sockaddr_in6 *)sa)
			       ->sin6_addr;
	} else {
		return;
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_forwarded, &f);
	http_client_address(
		h->cfg, family, peer, f.v, f.n,
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP"),
		out, size);
}

/* The value of field name, or NULL. */
static const char *field(const struct http_field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return f[i].value;
	return NULL;
}

/* Why a form post was refused before any mail (RELIABILITY C3). */
enum form_refusal {
	FORM_NO_TOKEN,
	FORM_BAD_TOKEN,
	FORM_EXPIRED,
	FORM_TRAP,
	FORM_EARLY,
};

static const struct {
	unsigned status;
	const char *log, *message;
} form_refusals[] = {
	[FORM_NO_TOKEN] = {MHD_HTTP_FORBIDDEN, "no form token",
			   "This form did not come from this site, or is out "
			   "of date. Check your address and press Subscribe "
			   "again."},
	[FORM_BAD_TOKEN] = {MHD_HTTP_FORBIDDEN, "not a form token of this list",
			    "This form did not come from this site, or is out "
			    "of date. Check your address and press Subscribe "
			    "again."},
	[FORM_EXPIRED] = {MHD_HTTP_FORBIDDEN, "the form is over an hour old",
			  "This form is out of date. Check your address and "
			  "press Subscribe again."},
	[FORM_TRAP] = {MHD_HTTP_BAD_REQUEST, "hidden field filled in",
		       "The last field of the form must stay empty. Clear it, "
		       "check your address and press Subscribe again."},
	[FORM_EARLY] = {MHD_HTTP_TOO_MANY_REQUESTS,
			"posted sooner than form_min_time after the form",
			"That was quicker than we expected. Check your "
			"address and press Subscribe again."},
};

/* The form again, the address kept, with a word on what to do; an
 * early post keeps its token (the next press counts), others get a new
 * one. */
static int form_again(struct http *h, struct MHD_Connection *c,
		      const struct config_list *list, enum form_refusal why,
		      const char *token, const char *address,
		      const char *action)
{
	char ip[64];
	struct page p = {
		.status = form_refusals[why].status,
		.title = "Please try again",
		.message = form_refusals[why].message,
		.subscribe_form = list,
		.form_token = why == FORM_EARLY ? token : NULL,
		.address = address,
		.action = action,
	};

	client_ip(h, c, ip, sizeof(ip));
	log_info("list %s: subscribe form from %s refused (%s): no mail sent",
		 list->name, ip, form_refusals[why].log);
	return show(h, c, &p);
}

static int route_subscribe(struct http *h, struct MHD_Connection *c,
			   const char *name, bool post, const struct req *rq)
{
	const struct config_list *list = config_list_find(h->cfg, name);
	struct http_field f[HTTP_FIELDS_MAX];
	struct err err = {{0}};
	char action[256], msg[512], ip[64], outcome[ERR_MSG_MAX];
	const char *address, *token, *trap;
	int64_t now = (int64_t)time(NULL);
	bool early = false;
	unsigned status;
	size_t n;
	struct page p = {.status = MHD_HTTP_OK};

	if (!list)
		return not_found(h, c);
	snprintf(action, sizeof(action), "/s/%s", list->name);
	if (!post) {
		snprintf(msg, sizeof(msg),
			 "Subscribe to %s. We send a confirmation email "
			 "first: nothing arrives until you confirm.",
			 list->title);
		p.title = list->title;
		p.message = msg;
		p.subscribe_form = list;
		p.action = action;
		return show(h, c, &p);
	}
	if (!read_form(c, rq, f, &n, &status))
		return bad_request(h, c, status);
	address = field(f, n, "address");
	token = field(f, n, "form_token");
	trap = field(f, n, "website");
	if (!address)
		return bad_request(h, c, MHD_HTTP_BAD_REQUEST);
	/* The form's token, hidden field and time trap, the same whatever
	 * the address (B11), before any limit counts the post (C3). */
	switch (subscribe_form_check(h->sub, list, token, now)) {
	case SUBSCRIBE_FORM_BAD:
		return form_again(h, c, list,
				  token ? FORM_BAD_TOKEN : FORM_NO_TOKEN, token,
				  address, action);
	case SUBSCRIBE_FORM_EXPIRED:
		return form_again(h, c, list, FORM_EXPIRED, token, address,
				  action);
	case SUBSCRIBE_FORM_EARLY:
		early = true;
		break;
	case SUBSCRIBE_FORM_OK:
		break;
	}
	if (trap && *trap)
		return form_again(h, c, list, FORM_TRAP, token, address,
				  action);
	if (early)
		return form_again(h, c, list, FORM_EARLY, token, address,
				  action);
	client_ip(h, c, ip, sizeof(ip));
	/* Over the limit, the answer is the same, and no mail goes (C2). */
	if (!ratelimit_hit(h->per_ip, ip, now)) {
		log_warnx("list %s: subscribe form: client %s is over "
			  "form_per_ip; absorbed",
			  list->name, ip);
		metrics_add(METRIC_FORMS_ABSORBED, 1);
	} else if (subscribe_request(h->sub, list, address, SUBSCRIBE_VIA_WEB,
				     now, outcome, &err)) {
		return server_error(c, &err);
	}
	snprintf(msg, sizeof(msg),
		 "Thank you. If that address can join %s, a confirmation "
		 "email is on its way: open the link in it to finish.",
		 list->title);
	p.title = "Check your email";
	p.message = msg;
	return show(h, c, &p);
}

/* 200 "ok", or 503 with the reason: for a monitor, and for a person
 * reading it. */
static int route_health(struct http *h, struct MHD_Connection *c)
{
	char why[ERR_MSG_MAX + 64] = "ok";
	bool ok = true;
	size_t len;

	if (h->status.health)
		ok = h->status.health(why, sizeof(why) - 1, h->status.arg);
	len = strlen(why);
	why[len++] = '\n';
	return respond(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
		       "text/plain; charset=utf-8", why, len, NULL);
}

static int route_metrics(struct http *h, struct MHD_Connection *c)
{
	static const char oops[] = "The metrics cannot be read now; see the "
				   "daemon's log\n";
	struct buf out;
	int ok, ret;

	if (!h->status.metrics)
		return not_found(h, c);
	buf_init(&out, 16 * 1024 * 1024);
	ret = h->status.metrics(&out, h->status.arg);
	if (ret) {
		buf_free(&out);
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			       "text/plain; charset=utf-8", oops,
			       sizeof(oops) - 1, NULL);
	}
	ok = respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		     buf_str(&out), out.len, NULL);
	buf_free(&out);
	return ok;
}

static int route(struct http *h, struct MHD_Connection *c, const char *url,
		 const char *method, const struct req *rq)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;

	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
		if (!get)
			return method_not_allowed(h, c);
		return url[1] == 'h' ? route_health(h, c) : route_metrics(h, c);
	}
	if (strncmp(url, "/u/", 3) != 0 && strncmp(url, "/c/", 3) != 0 &&
	    strncmp(url, "/s/", 3) != 0)
		return not_found(h, c);
	if (!get && !post)
		return method_not_allowed(h, c);
	/* A token is base64url: anything else is no token (and is never
	 * echoed). */
	if (url[1] != 's' &&
	    (strlen(url + 3) > TOKEN_TEXT_MAX ||
	     strspn(url + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
			     "tuvwxyz0123456789-_") != strlen(url + 3)))
		return not_found(h, c);
	if (url[1] == 'u')
		return route_unsubscribe(h, c, url + 3, post, rq);
	if (url[1] == 'c')
		return route_confirm(h, c, url + 3, post, rq);
	return route_subscribe(h, c, url + 3, post, rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *rq = *con_cls;
	const char *clen;

	if (h->closing)
		return MHD_NO;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* A declared length over the limit is refused before any
		 * of it is read, and so is a body of no declared length (a
		 * chunked stream): MHD can answer only before the body or
		 * after all of it (B4). */
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						   "Content-Length");
		if (!clen && strcmp(method, "POST") == 0)
			return bad_request(h, c, MHD_HTTP_LENGTH_REQUIRED) ==
					       MHD_YES
				       ? MHD_YES
				       : MHD_NO;
		if (clen && strtoull(clen, NULL, 10) > HTTP_BODY_MAX)
			rq->too_big = true;
		else
			return MHD_YES;
	}
	if (*upload_size > 0) {
		/* More than the declared length cannot come (MHD holds the
		 * client to it): close. */
		if (rq->len + *upload_size > HTTP_BODY_MAX)
			return MHD_NO;
		memcpy(rq->body + rq->len, upload, *upload_size);
		rq->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big) {
		/* Answer now, before the body; MHD closes the connection
		 * after, and reads none of it. */
		return bad_request(h, c, MHD_HTTP_CONTENT_TOO_LARGE) == MHD_YES
			       ? MHD_YES
			       : MHD_NO;
	}
	rq->body[rq->len] = '\0';
	return route(h, c, url, method, rq) == MHD_YES ? MHD_YES : MHD_NO;
}

/* ---- the loop ---- */

static void rearm(struct http *h);

static void run(struct http *h)
{
	if (h->closing)
		return;
	MHD_run(h->mhd);
	rearm(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	run(p->data);
}

static void on_timer(uv_timer_t *t)
{
	run(t->data);
}

static void rearm(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		uv_timer_start(&h->timer, on_timer, ms > 60000 ? 60000 : ms, 0);
	else
		uv_timer_stop(&h->timer);
}

/* ---- slow clients ---- */

static void conn_unlink(struct http *h, struct conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		h->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		h->tail = k->prev;
	k->prev = k->next = NULL;
}

static void conn_append(struct http *h, struct conn *k)
{
	k->prev = h->tail;
	k->next = NULL;
	if (h->tail)
		h->tail->next = k;
	else
		h->head = k;
	h->tail = k;
}

/* Ends k's stream: MHD reads the end on its next run and closes it. */
static void conn_cut(struct http *h, struct conn *k)
{
	if (k->cut)
		return;
	k->cut = true;
	h->cut++;
	if (k->fd >= 0)
		shutdown(k->fd, SHUT_RDWR);
}

/* Past HTTP_SHED_AT open connections, the oldest go. The one just
 * opened is the newest: it stays. */
static void shed(struct http *h)
{
	struct conn *k = h->head;

	while (k && h->open - h->cut > HTTP_SHED_AT) {
		if (!k->cut) {
			conn_cut(h, k);
			h->cut_room++;
		}
		k = k->next;
	}
}

static void flush_log(struct http *h)
{
	if (h->cut_room)
		log_warnx("http: over %d connections open: closed the %zu "
			  "oldest to make room; many clients are connecting "
			  "at once",
			  HTTP_SHED_AT, h->cut_room);
	if (h->cut_late)
		log_warnx("http: closed %zu connection%s that sent no whole "
			  "request within %ds (slow or stalled clients)",
			  h->cut_late, h->cut_late == 1 ? "" : "s",
			  HTTP_TIMEOUT);
	h->cut_room = h->cut_late = 0;
}

static void on_sweep(uv_timer_t *t)
{
	struct http *h = t->data;
	uint64_t now = uv_now(h->loop);
	struct conn *k;

	if (h->closing)
		return;
	/* Oldest first: stop at the first one still within its time. */
	for (k = h->head; k; k = k->next) {
		if (k->cut)
			continue;
		if (now - k->since < (uint64_t)HTTP_TIMEOUT * 1000)
			break;
		conn_cut(h, k);
		/* A kept-alive connection idle as long is no news: MHD's
		 * idle timeout would close it now too. */
		if (!k->served)
			h->cut_late++;
	}
	flush_log(h);
	if (!h->open)
		uv_timer_stop(&h->sweep);
	run(h);
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	struct conn *k = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code != MHD_CONNECTION_NOTIFY_STARTED) {
		if (!k)
			return;
		conn_unlink(h, k);
		h->open--;
		if (k->cut)
			h->cut--;
		free(k);
		*socket_context = NULL;
		return;
	}
	/* Without memory for it, MHD's idle timeout still applies. */
	k = calloc(1, sizeof(*k));
	if (!k)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	k->fd = ci ? ci->connect_fd : -1;
	k->since = uv_now(h->loop);
	conn_append(h, k);
	h->open++;
	*socket_context = k;
	shed(h);
	if (!h->closing && !uv_is_active((uv_handle_t *)&h->sweep))
		uv_timer_start(&h->sweep, on_sweep, 1000, 1000);
}

/* A request finished (answered, or ended by an error): the connection
 * gets a new HTTP_TIMEOUT for its next one, and goes to the back. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;

	free(*con_cls);
	*con_cls = NULL;
	if (k && !k->cut) {
		k->served = true;
		k->since = uv_now(h->loop);
		conn_unlink(h, k);
		conn_append(h, k);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t hl;
	char *end;
	long port;

	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end)
		return -EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host) || port <= 0 || port > 65535)
		return -EINVAL;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		return uv_ip6_addr(host + 1, (int)port,
				   (struct sockaddr_in6 *)ss);
	}
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}

struct http *http_create(uv_loop_t *loop, const struct config *cfg,
			 struct subscribe *sub, struct err *err)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct http *h;

	memset(&ss, 0, sizeof(ss));
	if (parse_listen(cfg->http_listen, &ss)) {
		err_set(err, "[http] listen %s: not an address and port",
			cfg->http_listen);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		err_set(err, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->cfg = cfg;
	h->sub = sub;
	snprintf(h->listen, sizeof(h->listen), "%s", cfg->http_listen);
	h->page = subscribe_template_load(cfg, "page.html", TMPL_HTML, err);
	h->per_ip = ratelimit_create(RATE_SLOTS, RATE_WINDOW,
				     cfg->http_form_per_ip);
	if (!h->page || !h->per_ip) {
		if (h->page)
			err_set(err, "out of memory");
		goto fail;
	}
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)HTTP_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)HTTP_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)HTTP_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTP_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!h->mhd) {
		err_set(err,
			"cannot listen on %s ([http] listen): %s; is another "
			"program using that port?",
			cfg->http_listen, strerror(errno ? errno : EADDRINUSE));
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err_set(err, "libmicrohttpd gave no epoll descriptor");
		MHD_stop_daemon(h->mhd);
		goto fail;
	}
	uv_poll_init(loop, &h->poll, info->epoll_fd);
	uv_timer_init(loop, &h->timer);
	uv_timer_init(loop, &h->sweep);
	h->poll.data = h->timer.data = h->sweep.data = h;
	h->handles = 3;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	rearm(h);
	log_info("http: listening on %s", cfg->http_listen);
	return h;
fail:
	tmpl_destroy(h->page);
	ratelimit_destroy(h->per_ip);
	free(h);
	return NULL;
}

int http_reconfigure(struct http *h, const struct config *cfg,
		     struct subscribe *sub, struct err *err)
{
	struct tmpl *page =
		subscribe_template_load(cfg, "page.html", TMPL_HTML, err);

	if (!page)
		return -EINVAL;
	tmpl_destroy(h->page);
	h->page = page;
	h->cfg = cfg;
	h->sub = sub;
	if (strcmp(h->listen, cfg->http_listen) != 0)
		log_warnx("%s: [http] listen changed: the new address takes "
			  "effect when bulletind restarts",
			  cfg->path);
	return 0;
}

void http_set_status(struct http *h, const struct http_status *s)
{
	h->status = *s;
}

static void on_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;

	if (--h->handles > 0)
		return;
	/* The poll handle is closed: now MHD may close its descriptor. */
	MHD_stop_daemon(h->mhd);
	tmpl_destroy(h->page);
	ratelimit_destroy(h->per_ip);
	free(h);
}

void http_destroy(struct http *h)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	flush_log(h);
	uv_poll_stop(&h->poll);
	uv_timer_stop(&h->timer);
	uv_timer_stop(&h->sweep);
	uv_close((uv_handle_t *)&h->poll, on_closed);
	uv_close((uv_handle_t *)&h->timer, on_closed);
	uv_close((uv_handle_t *)&h->sweep, on_closed);
}
