/*
 * smtp: sender threads around libcurl's SMTP. Each thread keeps one easy
 * handle, so libcurl reuses its connection while messages keep coming;
 * the loop hands messages in through a locked queue and gets results
 * back through another, with a uv_async to wake it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bulletin-config.h"
#include "smtp.h"

#define SMTP_MAX_THREADS 64
#define SMTP_CONNECT_TIMEOUT 30 /* seconds */

struct msg {
	int64_t id;
	char *from; /* "<addr>" */
	char *rcpt;
	char *data;
	size_t len, off; /* off: what the read callback has handed out */
	/* the outcome, filled by the sender */
	enum smtp_outcome outcome;
	int code;
	bool server_problem;
	char error[CURL_ERROR_SIZE + 160];
	struct msg *next;
};

struct smtp {
	uv_loop_t *loop;
	uv_async_t wake; /* a result is waiting */
	smtp_done_fn *done;
	void *arg;
	char *url, *username, *password, *ca_file;
	bool starttls;
	int timeout;
	int n_threads;
	uv_thread_t threads[SMTP_MAX_THREADS];

	uv_mutex_t lock; /* guards everything below */
	uv_cond_t more;	 /* a message was queued, or stopping */
	struct msg *todo, **todo_tail;
	struct msg *results, **results_tail;
	bool stopping;
	size_t pending; /* given to smtp_send, done not yet run */
};

static void msg_free(struct msg *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->rcpt);
	free(m->data);
	free(m);
}

static size_t read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
	struct msg *m = arg;
	size_t n = size * nmemb;

	if (n > m->len - m->off)
		n = m->len - m->off;
	memcpy(out, m->data + m->off, n);
	m->off += n;
	return n;
}

/* Where the message went wrong, from curl's result and the last reply. */
static void classify(struct smtp *s, struct msg *m, CURLcode rc, long code,
		     const char *errbuf)
{
	const char *what = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	m->code = (int)code;
	if (rc == CURLE_OK) {
		m->outcome = SMTP_SENT;
		return;
	}
	if (code >= 500 && code <= 599 && code != 552 &&
	    rc != CURLE_LOGIN_DENIED) {
		m->outcome = SMTP_PERMANENT;
		snprintf(m->error, sizeof(m->error),
			 "SMTP server %s refused it for good (%ld): %s", s->url,
			 code, what);
		return;
	}
	m->outcome = SMTP_TEMPORARY;
	/* No reply code at all, no reply in time, or a refusal of the
	 * session itself: the server is at fault, not this message. */
	m->server_problem =
		code == 0 || code == 421 || rc == CURLE_OPERATION_TIMEDOUT ||
		rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED ||
		rc == CURLE_PEER_FAILED_VERIFICATION;
	switch (rc) {
	case CURLE_LOGIN_DENIED:
		snprintf(m->error, sizeof(m->error),
			 "SMTP server %s refused the login (%ld); check "
			 "[smtp] username and password_file",
			 s->url, code);
		break;
	case CURLE_USE_SSL_FAILED:
		snprintf(m->error, sizeof(m->error),
			 "SMTP server %s does not offer STARTTLS, and "
			 "[smtp] starttls = yes: nothing is sent in the clear",
			 s->url);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(m->error, sizeof(m->error),
			 "SMTP server %s: %s (a server with a private "
			 "authority needs [smtp] ca_file)",
			 s->url, what);
		break;
	default:
		if ((code >= 400 && code <= 499) || code == 552)
			snprintf(m->error, sizeof(m->error),
				 "SMTP server %s deferred it (%ld): %s", s->url,
				 code, what);
		else
			snprintf(m->error, sizeof(m->error),
				 "SMTP server %s: %s", s->url, what);
		break;
	}
}

static CURL *easy_new(struct smtp *s, char *errbuf)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	/* No cap on the whole message: each reply gets the timeout, and a
	 * connection that moves no byte for that long is given up. */
	curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)s->timeout);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)s->timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
			 (long)(s->timeout < SMTP_CONNECT_TIMEOUT
					? s->timeout
					: SMTP_CONNECT_TIMEOUT));
	curl_easy_setopt(e, CURLOPT_USE_SSL,
			 s->starttls ? (long)CURLUSESSL_ALL
				     : (long)CURLUSESSL_NONE);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
	if (s->username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, s->password);
	}
	return e;
}

static void send_one(struct smtp *s, CURL *e, char *errbuf, struct msg *m)
{
	struct curl_slist *rcpt = NULL, *one;
	long code = 0;
	CURLcode rc;

	errbuf[0] = '\0';
	one = curl_slist_append(NULL, m->rcpt);
	if (!one) {
		m->outcome = SMTP_TEMPORARY;
		snprintf(m->error, sizeof(m->error), "out of memory");
		return;
	}
	rcpt = one;
	m->off = 0;
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, m->from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_READDATA, m);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	classify(s, m, rc, code, errbuf);
}

static void sender(void *arg)
{
	struct smtp *s = arg;
	char errbuf[CURL_ERROR_SIZE];
	CURL *e = NULL;
	struct msg *m;

	for (;;) {
		uv_mutex_lock(&s->lock);
		while (!s->todo && !s->stopping)
			uv_cond_wait(&s->more, &s->lock);
		m = s->todo;
		if (m) {
			s->todo = m->next;
			if (!s->todo)
				s->todo_tail = &s->todo;
			m->next = NULL;
		}
		uv_mutex_unlock(&s->lock);
		if (!m)
			break; /* stopping, nothing left */
		if (!e)
			e = easy_new(s, errbuf);
		if (e) {
			send_one(s, e, errbuf, m);
		} else {
			m->outcome = SMTP_TEMPORARY;
			snprintf(m->error, sizeof(m->error),
				 "cannot start libcurl (out of memory?)");
		}
		/* After a failure the connection may be in any state: the
		 * next message starts afresh. */
		if (e && m->outcome != SMTP_SENT) {
			curl_easy_cleanup(e);
			e = NULL;
		}
		uv_mutex_lock(&s->lock);
		*s->results_tail = m;
		s->results_tail = &m->next;
		uv_mutex_unlock(&s->lock);
		uv_async_send(&s->wake);
	}
	if (e)
		curl_easy_cleanup(e); /* sends QUIT */
}

/* Runs done for every result waiting; on the loop thread. */
static void deliver_results(struct smtp *s)
{
	struct msg *list, *m;
	struct smtp_result r;

	uv_mutex_lock(&s->lock);
	list = s->results;
	s->results = NULL;
	s->results_tail = &s->results;
	uv_mutex_unlock(&s->lock);
	while ((m = list) != NULL) {
		list = m->next;
		r.id = m->id;
		r.outcome = m->outcome;
		r.code = m->code;
		r.server_problem = m->server_problem;
		r.error = m->outcome == SMTP_SENT ? NULL : m->error;
		s->pending--;
		s->done(&r, s->arg);
		msg_free(m);
	}
}

static void on_wake(uv_async_t *a)
{
	deliver_results(a->data);
}

static char *dup_or_null(const char *v, bool *nomem)
{
	char *d;

	if (!v)
		return NULL;
	d = strdup(v);
	if (!d)
		*nomem = true;
	return d;
}

static void free_fields(struct smtp *s)
{
	free(s->url);
	free(s->username);
	if (s->password) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->ca_file);
}

struct smtp *smtp_create(uv_loop_t *loop, const struct smtp_options *opt,
			 smtp_done_fn *done, void *arg, struct err *err)
{
	struct smtp *s;
	bool nomem = false;
	int i;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, "cannot start libcurl");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err_set(err, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->done = done;
	s->arg = arg;
	s->url = dup_or_null(opt->url, &nomem);
	s->username = dup_or_null(opt->username, &nomem);
	s->password = dup_or_null(opt->password ? opt->password : "", &nomem);
	s->ca_file = dup_or_null(opt->ca_file, &nomem);
	s->starttls = opt->starttls;
	s->timeout = opt->timeout > 0 ? opt->timeout : 60;
	s->n_threads = opt->connections < 1		     ? 1
		       : opt->connections > SMTP_MAX_THREADS ? SMTP_MAX_THREADS
							     : opt->connections;
	s->todo_tail = &s->todo;
	s->results_tail = &s->results;
	if (nomem || !s->url) {
		err_set(err, nomem ? "out of memory" : "no [smtp] url");
		free_fields(s);
		free(s);
		return NULL;
	}
	uv_mutex_init(&s->lock);
	uv_cond_init(&s->more);
	uv_async_init(loop, &s->wake, on_wake);
	s->wake.data = s;
	for (i = 0; i < s->n_threads; i++) {
		if (uv_thread_create(&s->threads[i], sender, s) != 0)
			break;
	}
	if (i == 0) {
		err_set(err, "cannot start an SMTP sender thread");
		s->n_threads = 0;
		smtp_destroy(s);
		return NULL;
	}
	s->n_threads = i;
	return s;
}

int smtp_send(struct smtp *s, int64_t id, const char *from, const char *rcpt,
	      const char *data, size_t len)
{
	struct msg *m = calloc(1, sizeof(*m));
	size_t n;

	if (!m)
		return -ENOMEM;
	m->id = id;
	n = strlen(from) + 3;
	m->from = malloc(n);
	m->rcpt = malloc(strlen(rcpt) + 3);
	m->data = malloc(len ? len : 1);
	if (!m->from || !m->rcpt || !m->data) {
		msg_free(m);
		return -ENOMEM;
	}
	snprintf(m->from, n, "<%s>", from);
	snprintf(m->rcpt, strlen(rcpt) + 3, "<%s>", rcpt);
	memcpy(m->data, data, len);
	m->len = len;
	uv_mutex_lock(&s->lock);
	*s->todo_tail = m;
	s->todo_tail = &m->next;
	s->pending++;
	uv_cond_signal(&s->more);
	uv_mutex_unlock(&s->lock);
	return 0;
}

/* Moves the messages not started to the results, as temporary; called
 * with the lock held. */
static void give_back(struct smtp *s, const char *why)
{
	struct msg *m;

	while ((m = s->todo) != NULL) {
		s->todo = m->next;
		m->next = NULL;
		m->outcome = SMTP_TEMPORARY;
		snprintf(m->error, sizeof(m->error), "not sent: %s", why);
		*s->results_tail = m;
		s->results_tail = &m->next;
	}
	s->todo_tail = &s->todo;
}

void smtp_hold(struct smtp *s, const char *why)
{
	if (!s)
		return;
	uv_mutex_lock(&s->lock);
	give_back(s, why);
	uv_mutex_unlock(&s->lock);
	uv_async_send(&s->wake);
}

bool smtp_cancel(struct smtp *s, int64_t id)
{
	struct msg **pp, *m = NULL;

	if (!s)
		return false;
	uv_mutex_lock(&s->lock);
	for (pp = &s->todo; *pp; pp = &(*pp)->next) {
		if ((*pp)->id != id)
			continue;
		m = *pp;
		*pp = m->next;
		if (!*pp)
			s->todo_tail = pp;
		s->pending--;
		break;
	}
	uv_mutex_unlock(&s->lock);
	msg_free(m);
	return m != NULL;
}

size_t smtp_pending(const struct smtp *s)
{
	return s ? s->pending : 0;
}

static void on_closed(uv_handle_t *h)
{
	struct smtp *s = h->data;

	free_fields(s);
	free(s);
}

void smtp_destroy(struct smtp *s)
{
	int i;

	if (!s)
		return;
	uv_mutex_lock(&s->lock);
	s->stopping = true;
	/* Not started: reported as stopped, to be tried again later. */
	give_back(s, "bulletin was stopping");
	uv_cond_broadcast(&s->more);
	uv_mutex_unlock(&s->lock);
	for (i = 0; i < s->n_threads; i++)
		uv_thread_join(&s->threads[i]);
	deliver_results(s);
	uv_mutex_destroy(&s->lock);
	uv_cond_destroy(&s->more);
	uv_close((uv_handle_t *)&s->wake, on_closed);
}
