/*
 * fetch: curl multi on libuv, after curl's docs/examples/multi-uv.c with
 * the departures in STYLE.md section 3: messages are always drained, the
 * timer carries its owner in .data, socket structs are checked, and every
 * easy handle is limited to http, https and file with a size cap counted
 * in the write callback and a total timeout. Runs on the loop thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "bulletin-config.h"
#include "buf.h"
#include "fetch.h"
#include "log.h"
#include "text.h"

struct fetch_socket {
	uv_poll_t poll;
	curl_socket_t fd;
	struct fetch *f;
	struct fetch_socket *prev, *next; /* in f->sockets */
};

struct fetch_job {
	struct fetch *f;
	CURL *easy;
	char *host; /* owned: to count connections per host */
	struct curl_slist *headers;
	struct buf body;
	char *etag;	     /* owned: from the response */
	char *last_modified; /* owned: from the response */
	bool too_big;
	int64_t max_bytes;
	int64_t received;
	fetch_data_fn *on_data; /* borrowed from the request */
	fetch_begin_fn *on_begin;
	bool begun;
	bool paused;	/* on_data asked to wait */
	bool can_pause; /* a network transfer: libcurl can pause it */
	void *data_arg;
	int data_ret; /* what on_data returned when it stopped us */
	bool redirected;
	bool temporary; /* some redirect on the way was not permanent */
	int64_t retry_after;
	fetch_done_fn *done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct fetch_job *prev, *next; /* in f->jobs */
};

struct fetch {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct fetch_job *jobs;	  /* running: added to the multi handle */
	struct fetch_job *queue;  /* waiting for a free connection, FIFO */
	struct fetch_job *failed; /* could not start: reported later */
	uv_timer_t later;	  /* reports failed jobs on a later turn */
	struct fetch_socket *sockets;
	size_t active; /* running */
	size_t queued; /* waiting */
	int max_connections;
	int per_host;
	int open_timers; /* at destroy: timers still closing */
	bool closing;
};

/* What a failed certificate check means for the admin, from the TLS
 * library's verification flags (GnuTLS's, with libcurl's gnutls
 * flavour). */
static const char *cert_hint(CURL *easy)
{
	long v = 0;

	curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &v);
	if (v & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		return " (the site's certificate is from an authority this "
		       "machine does not trust: a site with a private "
		       "authority needs [fetch] ca_file)";
	if (v & GNUTLS_CERT_EXPIRED)
		return " (the site's certificate has expired: the site must "
		       "renew it; until then the feed cannot be read safely)";
	if (v & GNUTLS_CERT_NOT_ACTIVATED)
		return " (the site's certificate is not valid yet: check "
		       "this machine's clock)";
	if (v & GNUTLS_CERT_REVOKED)
		return " (the site's certificate was revoked)";
	if (v)
		return " (the site's certificate failed verification)";
	/* The chain was good: the name did not match. */
	return " (the site's certificate is not for this name: check the "
	       "url; a site with a private authority needs [fetch] "
	       "ca_file)";
}

static void drain(struct fetch *f);
static void check_multi(struct fetch *f, CURLMcode mc);

static void fetch_on_socket_close(uv_handle_t *h)
{
	free(h->data);
}

static void socket_close(struct fetch *f, struct fetch_socket *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		f->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	curl_multi_assign(f->multi, s->fd, NULL);
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, fetch_on_socket_close);
}

static void fetch_on_poll(uv_poll_t *poll, int status, int events)
{
	struct fetch_socket *s = poll->data;
	int running = 0, flags = 0;

	if (!s || s->f->closing)
		return;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	check_multi(s->f, curl_multi_socket_action(s->f->multi, s->fd, flags,
						   &running));
	/* Always drain: this action may have finished the last transfer. */
	drain(s->f);
}

static void fetch_on_timer(uv_timer_t *t)
{
	struct fetch *f = t->data;
	int running = 0;

	if (!f || f->closing)
		return;
	check_multi(f, curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT,
						0, &running));
	drain(f);
}

static int fetch_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetch *f = userp;

	if (timeout_ms < 0) {
		uv_timer_stop(&f->timer);
		return 0;
	}
	/* 0 means "soon": the next loop turn, never re-entering curl. */
	uv_timer_start(&f->timer, fetch_on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static int fetch_curl_socket_cb(CURL *easy, curl_socket_t fd, int action,
				void *userp, void *socketp)
{
	struct fetch *f = userp;
	struct fetch_socket *s = socketp;
	int events = 0;

	if (action == CURL_POLL_REMOVE) {
		if (s)
			socket_close(f, s);
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->fd = fd;
		s->f = f;
		if (uv_poll_init_socket(f->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = f->sockets;
		if (f->sockets)
			f->sockets->prev = s;
		f->sockets = s;
		curl_multi_assign(f->multi, fd, s);
	}
	if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, fetch_on_poll);
	return 0;
}

static size_t fetch_curl_write_cb(char *data, size_t size, size_t nmemb,
				  void *userp)
{
	struct fetch_job *job = userp;
	size_t n = size * nmemb;
	long status = 0;

	/* Counted here, after decompression: CURLOPT_MAXFILESIZE alone does
	 * not hold for compressed bodies (RELIABILITY D1, D2). */
	if (job->received + (int64_t)n > job->max_bytes) {
		job->too_big = true;
		return 0;
	}
	curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 0 && (status < 200 || status > 299)) {
		job->received += (int64_t)n;
		return n; /* an error page: not worth keeping */
	}
	if (job->on_data) {
		if (!job->begun) {
			char *url = NULL, *ctype = NULL, *scheme = NULL;

			job->begun = true;
			curl_easy_getinfo(job->easy, CURLINFO_EFFECTIVE_URL,
					  &url);
			curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE,
					  &ctype);
			curl_easy_getinfo(job->easy, CURLINFO_SCHEME, &scheme);
			/* libcurl can pause network transfers only. */
			job->can_pause =
				scheme && (strcasecmp(scheme, "http") == 0 ||
					   strcasecmp(scheme, "https") == 0);
			if (job->on_begin)
				job->data_ret = job->on_begin(job, url, ctype,
							      job->can_pause,
							      job->data_arg);
			if (job->data_ret)
				return 0;
		}
		job->data_ret = job->on_data(data, n, job->data_arg);
		if (job->data_ret == FETCH_PAUSE && job->can_pause) {
			/* curl keeps these bytes and offers them again
			 * after fetch_resume. */
			job->data_ret = 0;
			job->paused = true;
			return CURL_WRITEFUNC_PAUSE;
		}
		if (job->data_ret)
			return 0;
		job->received += (int64_t)n;
		return n;
	}
	job->received += (int64_t)n;
	if (buf_add(&job->body, data, n))
		return 0;
	return n;
}

/* Keeps the server's own validator strings, unchanged but for the line
 * end; a value with a control character is dropped, never sent back. */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name), i;
	char *v;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0)
		return NULL;
	line += nlen;
	len -= nlen;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
		       line[len - 1] == ' '))
		len--;
	if (!len)
		return NULL;
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return NULL;
	}
	v = strndup(line, len);
	return v;
}

/* The status code of an "HTTP/1.1 301 Moved" line, or 0. */
static int status_code(const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);
	size_t at;

	if (!sp)
		return 0;
	at = (size_t)(sp - line) + 1;
	if (at + 3 > n || line[at] < '1' || line[at] > '5' ||
	    line[at + 1] < '0' || line[at + 1] > '9' || line[at + 2] < '0' ||
	    line[at + 2] > '9')
		return 0;
	return (line[at] - '0') * 100 + (line[at + 1] - '0') * 10 +
	       (line[at + 2] - '0');
}

/* Retry-After is seconds or an HTTP-date (RFC 9110 10.2.3); anything
 * else, or a date in the past, means no wait. Capped at 30 days. */
static int64_t retry_after(const char *v)
{
	long long secs;
	time_t when, now = time(NULL);

	if (text_parse_int(v, 0, LLONG_MAX, &secs) == 0)
		return secs > 30LL * 86400 ? 30LL * 86400 : secs;
	when = curl_getdate(v, NULL);
	if (when <= now)
		return 0;
	return when - now > 30 * 86400 ? 30 * 86400 : (int64_t)(when - now);
}

static size_t fetch_curl_header_cb(char *data, size_t size, size_t nmemb,
				   void *userp)
{
	struct fetch_job *job = userp;
	size_t n = size * nmemb;
	char *v;

	/* A new response (after a redirect) starts with its status line. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		int code = status_code(data, n);

		free(job->etag);
		free(job->last_modified);
		job->etag = NULL;
		job->last_modified = NULL;
		job->retry_after = 0;
		/* 304 is an answer, not a redirect. */
		if (code == 301 || code == 308) {
			job->redirected = true;
		} else if (code == 302 || code == 303 || code == 307) {
			job->redirected = true;
			job->temporary = true;
		}
		return n;
	}
	v = header_value(data, n, "Retry-After:");
	if (v) {
		job->retry_after = retry_after(v);
		free(v);
		return n;
	}
	v = header_value(data, n, "ETag:");
	if (v) {
		free(job->etag);
		job->etag = v;
		return n;
	}
	v = header_value(data, n, "Last-Modified:");
	if (v) {
		free(job->last_modified);
		job->last_modified = v;
	}
	return n;
}

/* What an error status means for the admin, and what to do. */
static const char *status_hint(long status)
{
	switch (status) {
	case 401:
	case 403:
		return " (access refused: the feed may have become private)";
	case 404:
		return " (not found: check the source's url)";
	case 410:
		return " (gone: the feed was removed)";
	case 429:
		return " (too many requests: the server asked us to wait)";
	case 500:
	case 502:
	case 503:
	case 504:
		return " (the server is in trouble: we will try again)";
	default:
		return "";
	}
}

static void job_free(struct fetch_job *job)
{
	if (!job)
		return;
	if (job->easy)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->headers);
	free(job->host);
	buf_free(&job->body);
	free(job->etag);
	free(job->last_modified);
	free(job);
}

static void job_unlink(struct fetch *f, struct fetch_job *job)
{
	if (job->prev)
		job->prev->next = job->next;
	else
		f->jobs = job->next;
	if (job->next)
		job->next->prev = job->prev;
	job->prev = job->next = NULL;
}

/* Reports one finished transfer. The easy handle is removed from the
 * multi first: never from inside a libcurl callback. */
static bool host_busy(const struct fetch *f, const char *host)
{
	const struct fetch_job *j;
	int n = 0;

	for (j = f->jobs; j; j = j->next) {
		if (strcmp(j->host, host) == 0 && ++n >= f->per_host)
			return true;
	}
	return false;
}

/* Starts waiting jobs, in order, while there are connections free
 * overall and for their host. We queue here rather than let libcurl
 * queue (CURLMOPT_MAX_HOST_CONNECTIONS): its timeout runs while a
 * transfer waits, so a queued feed would fail without being asked. */
static void fetch_on_later(uv_timer_t *t)
{
	struct fetch *f = t->data;
	struct fetch_result r = {0};
	struct fetch_job *job;

	r.error = "cannot start the transfer (out of memory?)";
	while (!f->closing && (job = f->failed) != NULL) {
		f->failed = job->next;
		job->done(&r, job->arg);
		job_free(job);
	}
}

/* A job that cannot start is reported on a later loop turn, never from
 * inside fetch_start (fetch.h promises that done runs later). */
static void fail_later(struct fetch *f, struct fetch_job *job)
{
	struct fetch_job **pp;

	job->next = NULL;
	for (pp = &f->failed; *pp; pp = &(*pp)->next)
		;
	*pp = job;
	uv_timer_start(&f->later, fetch_on_later, 0, 0);
}

static void dispatch(struct fetch *f)
{
	struct fetch_job **pp = &f->queue, *job;

	if (!f->closing && !f->multi) {
		/* A reset could not make a new handle: nothing can start. */
		while ((job = f->queue) != NULL) {
			f->queue = job->next;
			f->queued--;
			fail_later(f, job);
		}
		return;
	}
	while (!f->closing && *pp && f->active < (size_t)f->max_connections) {
		job = *pp;
		if (host_busy(f, job->host)) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		f->queued--;
		job->next = NULL;
		if (curl_multi_add_handle(f->multi, job->easy) != CURLM_OK) {
			fail_later(f, job);
			continue;
		}
		job->next = f->jobs;
		if (f->jobs)
			f->jobs->prev = job;
		f->jobs = job;
		f->active++;
	}
}

static void job_finish(struct fetch *f, struct fetch_job *job, CURLcode result)
{
	struct fetch_result r = {0};
	char error[CURL_ERROR_SIZE + 256];
	long status = 0;
	char *url = NULL, *ctype = NULL;

	curl_multi_remove_handle(f->multi, job->easy);
	job_unlink(f, job);
	f->active--;
	curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(job->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &ctype);
	r.status = (int)status;
	r.effective_url = url;
	r.content_type = ctype;
	r.etag = job->etag;
	r.last_modified = job->last_modified;
	r.retry_after = job->retry_after;
	if (job->redirected && !job->temporary &&
	    ((status >= 200 && status <= 299) || status == 304))
		r.moved_to = url;
	if (job->data_ret) {
		snprintf(error, sizeof(error), "stopped by reader");
		r.error = error;
	} else if (job->too_big) {
		snprintf(error, sizeof(error),
			 "response larger than the %lld-byte limit ([fetch] "
			 "max_size)",
			 (long long)job->max_bytes);
		r.error = error;
	} else if (result != CURLE_OK) {
		snprintf(error, sizeof(error), "%.*s%s", CURL_ERROR_SIZE,
			 job->errbuf[0] ? job->errbuf
					: curl_easy_strerror(result),
			 result == CURLE_PEER_FAILED_VERIFICATION
				 ? cert_hint(job->easy)
				 : "");
		r.error = error;
	} else if (status == 304) {
		r.ok = true;
		r.not_modified = true;
	} else if (status != 0 && (status < 200 || status > 299)) {
		snprintf(error, sizeof(error), "HTTP status %ld%s", status,
			 status_hint(status));
		r.error = error;
	} else {
		r.ok = true;
		r.body = job->on_data ? NULL : buf_str(&job->body);
		r.len = (size_t)job->received;
	}
	job->done(&r, job->arg);
	job_free(job);
	dispatch(f);
}

static void drain(struct fetch *f)
{
	struct fetch_job *job = NULL;
	CURLMsg *msg;
	int left;

	if (f->closing)
		return;
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &job);
		if (job)
			job_finish(f, job, msg->data.result);
		/* A done callback may have destroyed the fetcher. */
		if (f->closing)
			return;
	}
}

static CURLM *multi_new(struct fetch *f)
{
	CURLM *m = curl_multi_init();

	if (!m)
		return NULL;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, fetch_curl_socket_cb);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, fetch_curl_timer_cb);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, f);
	/* The limits are kept by dispatch(); only the connection cache is
	 * sized here. */
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)f->max_connections);
	return m;
}

/* When an action fails (our socket callback could not allocate, say),
 * curl has given up on the whole multi handle: no transfer in it will
 * ever finish. Fail them all now and carry on with a new handle. */
static void check_multi(struct fetch *f, CURLMcode mc)
{
	struct fetch_result r = {0};
	struct fetch_job *jobs, *job;
	CURLM *old = f->multi;

	if (mc == CURLM_OK || f->closing)
		return;
	log_warnx("fetching failed inside libcurl (%s): failing the %zu "
		  "transfers in flight and starting afresh",
		  curl_multi_strerror(mc), f->active);
	jobs = f->jobs;
	f->jobs = NULL;
	f->active = 0;
	for (job = jobs; job; job = job->next)
		curl_multi_remove_handle(old, job->easy);
	while (f->sockets)
		socket_close(f, f->sockets);
	uv_timer_stop(&f->timer);
	curl_multi_cleanup(old);
	f->multi = multi_new(f);
	r.error = "fetching failed inside libcurl; try again";
	while ((job = jobs) != NULL) {
		jobs = job->next;
		job->done(&r, job->arg);
		job_free(job);
	}
	dispatch(f);
}

struct fetch *fetch_create(uv_loop_t *loop, int max_connections, int per_host)
{
	struct fetch *f;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->loop = loop;
	f->max_connections = max_connections > 0 ? max_connections : 8;
	f->per_host = per_host > 0 ? per_host : 2;
	f->multi = multi_new(f);
	if (!f->multi) {
		free(f);
		return NULL;
	}
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	uv_timer_init(loop, &f->later);
	f->later.data = f;
	return f;
}

/* The host part of url ("" for file:// and anything unparsable). */
static char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *copy;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_HOST, &host, 0);
	copy = strdup(host ? host : "");
	curl_free(host);
	curl_url_cleanup(u);
	return copy;
}

int fetch_start(struct fetch *f, const struct fetch_request *req,
		fetch_done_fn *done, void *arg)
{
	struct fetch_job **pp;
	struct fetch_job *job;
	struct curl_slist *h;
	char line[1024];
	CURL *e;

	if (f->closing)
		return -EINVAL;
	if (!f->multi)
		return -ENOMEM; /* a reset could not make a new handle */
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->f = f;
	job->done = done;
	job->arg = arg;
	job->max_bytes = req->max_bytes > 0 ? req->max_bytes : 64 << 20;
	job->on_data = req->on_data;
	job->on_begin = req->on_begin;
	job->data_arg = req->data_arg;
	buf_init(&job->body, (size_t)job->max_bytes);
	e = job->easy = curl_easy_init();
	if (!e)
		goto nomem;
	if (req->etag) {
		snprintf(line, sizeof(line), "If-None-Match: %s", req->etag);
		h = curl_slist_append(job->headers, line);
		if (!h)
			goto nomem;
		job->headers = h;
	}
	if (req->last_modified) {
		snprintf(line, sizeof(line), "If-Modified-Since: %s",
			 req->last_modified);
		h = curl_slist_append(job->headers, line);
		if (!h)
			goto nomem;
		job->headers = h;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK)
		goto nomem;
	curl_easy_setopt(e, CURLOPT_PRIVATE, job);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)job->max_bytes);
	curl_easy_setopt(e, CURLOPT_TIMEOUT,
			 (long)(req->timeout > 0 ? req->timeout : 30));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT,
			 "bulletin/" BULLETIN_VERSION " (+" BULLETIN_URL ")");
	if (req->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_curl_write_cb);
	/* While a streamed transfer is paused, libcurl keeps what it has
	 * decompressed from one read: a small read keeps that small, even
	 * for a compression bomb. */
	if (req->on_data)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_curl_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
	if (job->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
	job->host = url_host(req->url);
	if (!job->host)
		goto nomem;
	for (pp = &f->queue; *pp; pp = &(*pp)->next)
		;
	*pp = job;
	f->queued++;
	dispatch(f);
	return 0;
nomem:
	job_free(job);
	return -ENOMEM;
}

void fetch_resume(struct fetch *f, struct fetch_job *job)
{
	if (f->closing || !job->paused)
		return;
	job->paused = false;
	/* This may hand curl's kept bytes to on_data at once. If they are
	 * refused (the reader failed, or the size cap), curl fails before
	 * it rearms the transfer, which would then sit idle: end it. */
	if (curl_easy_pause(job->easy, CURLPAUSE_CONT) != CURLE_OK)
		job_finish(f, job, CURLE_WRITE_ERROR);
}

void fetch_cancel(struct fetch *f, struct fetch_job *job)
{
	if (f->closing)
		return;
	if (!job->data_ret && !job->too_big)
		job->data_ret = -ECANCELED;
	job_finish(f, job, CURLE_WRITE_ERROR);
}

size_t fetch_active(const struct fetch *f)
{
	return f->active + f->queued;
}

/* The fetcher is freed once both of its timers have closed. */
static void fetch_on_timer_close(uv_handle_t *h)
{
	struct fetch *f = h->data;

	if (--f->open_timers == 0)
		free(f);
}

void fetch_destroy(struct fetch *f)
{
	struct fetch_result r = {0};
	struct fetch_job *job;

	if (!f)
		return;
	f->closing = true;
	r.error = "cancelled";
	while ((job = f->failed) != NULL) {
		f->failed = job->next;
		job->done(&r, job->arg);
		job_free(job);
	}
	while ((job = f->queue) != NULL) {
		f->queue = job->next;
		f->queued--;
		job->done(&r, job->arg);
		job_free(job);
	}
	while ((job = f->jobs) != NULL) {
		curl_multi_remove_handle(f->multi, job->easy);
		job_unlink(f, job);
		f->active--;
		job->done(&r, job->arg);
		job_free(job);
	}
	/* Close our poll handles before curl closes the sockets: a cached
	 * connection may be closed without a CURL_POLL_REMOVE. */
	while (f->sockets)
		socket_close(f, f->sockets);
	curl_multi_cleanup(f->multi);
	f->multi = NULL;
	uv_timer_stop(&f->timer);
	uv_timer_stop(&f->later);
	f->open_timers = 2;
	uv_close((uv_handle_t *)&f->timer, fetch_on_timer_close);
	uv_close((uv_handle_t *)&f->later, fetch_on_timer_close);
}
