/*
 * imap: one blocking IMAP session on libetpan, run on a worker thread.
 * Owns the TLS policy (TLS from the first byte, or STARTTLS; never plain
 * text), the certificate check with GnuTLS after every handshake, the
 * folder-name encoding (modified UTF-7) and the translation of libetpan's
 * codes into errno values and one-line messages. One thread uses a
 * session at a time; only imap_interrupt may come from another thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "imap.h"
#include "log.h"

/* When imap_options.timeout is not set. */
#define IMAP_DEFAULT_TIMEOUT 60
/* RELIABILITY F4: one reply (all the server sends between two things we
 * send) is bounded in bytes and in time, whatever the server does: a
 * 100 MB line or a literal that never ends cannot grow memory, and a
 * server that trickles a byte at a time cannot hold the worker. A FETCH
 * of a message may take its max_size on top. */
#define IMAP_REPLY_MAX ((size_t)4 << 20)
#define IMAP_REPLY_TIMEOUTS 5 /* a reply may take 5 timeouts in all */
/* RFC 2177: a client should re-issue IDLE at least every 29 minutes. */
#define IMAP_MAX_IDLE (29 * 60)
/* Certificates beyond this many in the server's chain are not read. */
#define IMAP_MAX_CHAIN 16
/* Server text quoted in a message, and names shown in one. */
#define IMAP_TEXT_MAX 160

struct imap {
	mailimap *s;	/* owned */
	char host[256]; /* from the url, without brackets: SNI, checks */
	char folder[IMAP_TEXT_MAX]; /* the folder last selected, printable */
	uint16_t port;
	int ip_family; /* AF_INET or AF_INET6 when host is an address */
	unsigned char ip[16];
	int timeout;
	int wake_fd;  /* eventfd: imap_interrupt writes, imap_idle reads */
	bool broken;  /* the connection failed: no LOGOUT, every call -EIO */
	bool preauth; /* the server greeted with PREAUTH (over TLS) */
	bool has_idle, has_move, has_uidplus;
	/* The reply being read (F4), kept by the guard. */
	size_t reply_bytes;  /* received since we last sent */
	size_t reply_max;    /* the bound on reply_bytes */
	int64_t reply_start; /* ms, monotonic, when we last sent */
	bool idling;	     /* in IDLE: replies come when they come */
	char overrun[96];    /* why the guard cut the connection */
};

enum idle_wait {
	IDLE_TIMEOUT,
	IDLE_DATA,
	IDLE_WOKEN,
};

/* Copies in to out (size >= 4), escaping everything but printable
 * ASCII and ending with "..." when it does not fit: server text and
 * folder names end up in log lines. */
static void shown(char *out, size_t size, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4];
	size_t o = 0, k;
	unsigned char c;

	for (; in && *in; in++) {
		c = (unsigned char)*in;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			esc[0] = (char)c;
			k = 1;
		} else if (c == '\r' || c == '\n' || c == '\\') {
			esc[0] = '\\';
			esc[1] = c == '\r' ? 'r' : c == '\n' ? 'n' : '\\';
			k = 2;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			k = 4;
		}
		if (o + k >= size) {
			if (o > size - 4)
				o = size - 4;
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o] = '\0';
}

/* The text of the server's last tagged reply, printable. */
static const char *reply(struct imap *im, char *buf, size_t size)
{
	shown(buf, size, im->s ? im->s->imap_response : NULL);
	if (!buf[0])
		snprintf(buf, size, "(no text)");
	return buf;
}

/* ---- errors ---- */

static bool connection_error(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_SSL:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
	case MAILIMAP_ERROR_NEEDS_MORE_DATA:
		return true;
	default:
		return false;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the guard (F4) ---- */

/* A mailstream_low driver around libetpan's own (socket or TLS): every
 * byte the server sends passes through guard_read before libetpan sees
 * it. A reply (all that comes between two things we send) past its
 * bounds, in bytes or in time, or a literal announced bigger than the
 * bound ("{4294967295}"), makes the read fail instead: libetpan returns
 * a stream error, the session is dropped, and nothing was allocated for
 * what the server claimed. */
struct guard {
	mailstream_low *inner;
	struct imap *im;
	/* Scanning for "{digits}" then CRLF, across reads. */
	int lit_state; /* 0 outside, 1 digits, 2 after '}', 3 after CR */
	uint64_t lit_value;
};

static ssize_t guard_fail(struct imap *im)
{
	im->broken = true;
	errno = EIO;
	return -1;
}

/* Whether buf announces a literal over the bound; keeps state across
 * calls, so an announcement split over two reads is seen too. */
static bool big_literal(struct guard *g, const unsigned char *buf, size_t n,
			size_t max)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (g->lit_state == 1 && c >= '0' && c <= '9') {
			if (g->lit_value <= UINT64_MAX / 10 - 9)
				g->lit_value = g->lit_value * 10 + (c - '0');
			continue;
		}
		if (g->lit_state == 1 && c == '}') {
			g->lit_state = 2;
			continue;
		}
		if (g->lit_state == 2 && c == '\r') {
			g->lit_state = 3;
			continue;
		}
		if ((g->lit_state == 2 || g->lit_state == 3) && c == '\n') {
			g->lit_state = 0;
			if (g->lit_value > max)
				return true;
			continue;
		}
		g->lit_state = c == '{' ? 1 : 0;
		g->lit_value = 0;
	}
	return false;
}

static ssize_t guard_read(mailstream_low *low, void *buf, size_t count)
{
	struct guard *g = low->data;
	struct imap *im = g->im;
	ssize_t r;

	if (im->overrun[0])
		return guard_fail(im);
	if (!im->idling &&
	    now_ms() - im->reply_start >
		    (int64_t)im->timeout * IMAP_REPLY_TIMEOUTS * 1000) {
		snprintf(im->overrun, sizeof(im->overrun),
			 "was still sending one reply after %d s",
			 im->timeout * IMAP_REPLY_TIMEOUTS);
		return guard_fail(im);
	}
	r = mailstream_low_read(g->inner, buf, count);
	if (r <= 0)
		return r;
	im->reply_bytes += (size_t)r;
	if (im->reply_bytes > im->reply_max) {
		snprintf(im->overrun, sizeof(im->overrun),
			 "sent more than %zu bytes in one reply",
			 im->reply_max);
		return guard_fail(im);
	}
	if (big_literal(g, buf, (size_t)r, im->reply_max)) {
		snprintf(im->overrun, sizeof(im->overrun),
			 "announced a literal of %" PRIu64
			 " bytes, over the %zu bulletin reads",
			 g->lit_value, im->reply_max);
		return guard_fail(im);
	}
	return r;
}

static ssize_t guard_write(mailstream_low *low, const void *buf, size_t count)
{
	struct guard *g = low->data;

	/* We speak: what comes next is a new reply. */
	g->im->reply_bytes = 0;
	g->im->reply_start = now_ms();
	return mailstream_low_write(g->inner, buf, count);
}

static int guard_close(mailstream_low *low)
{
	return mailstream_low_close(((struct guard *)low->data)->inner);
}

static int guard_get_fd(mailstream_low *low)
{
	return mailstream_low_get_fd(((struct guard *)low->data)->inner);
}

static void guard_free(mailstream_low *low)
{
	struct guard *g = low->data;

	mailstream_low_free(g->inner);
	free(g);
	low->data = NULL;
	free(low->identifier);
	free(low);
}

static void guard_cancel(mailstream_low *low)
{
	mailstream_low_cancel(((struct guard *)low->data)->inner);
}

static struct mailstream_cancel *guard_get_cancel(mailstream_low *low)
{
	return mailstream_low_get_cancel(((struct guard *)low->data)->inner);
}

static carray *guard_chain(mailstream_low *low)
{
	return mailstream_low_get_certificate_chain(
		((struct guard *)low->data)->inner);
}

static int guard_setup_idle(mailstream_low *low)
{
	return mailstream_low_setup_idle(((struct guard *)low->data)->inner);
}

static int guard_unsetup_idle(mailstream_low *low)
{
	return mailstream_low_unsetup_idle(((struct guard *)low->data)->inner);
}

static int guard_interrupt_idle(mailstream_low *low)
{
	return mailstream_low_interrupt_idle(
		((struct guard *)low->data)->inner);
}

static mailstream_low_driver guard_driver = {
	.mailstream_read = guard_read,
	.mailstream_write = guard_write,
	.mailstream_close = guard_close,
	.mailstream_get_fd = guard_get_fd,
	.mailstream_free = guard_free,
	.mailstream_cancel = guard_cancel,
	.mailstream_get_cancel = guard_get_cancel,
	.mailstream_get_certificate_chain = guard_chain,
	.mailstream_setup_idle = guard_setup_idle,
	.mailstream_unsetup_idle = guard_unsetup_idle,
	.mailstream_interrupt_idle = guard_interrupt_idle,
};

/* Puts the guard around stream's low-level driver (once). Returns 0 or
 * -ENOMEM. */
static int guard_wrap(struct imap *im, mailstream *stream)
{
	mailstream_low *inner, *low;
	struct guard *g;

	if (!stream)
		return 0;
	inner = mailstream_get_low(stream);
	if (!inner || inner->driver == &guard_driver)
		return 0;
	g = calloc(1, sizeof(*g));
	low = g ? mailstream_low_new(g, &guard_driver) : NULL;
	if (!low) {
		free(g);
		return -ENOMEM;
	}
	g->inner = inner;
	g->im = im;
	mailstream_set_low(stream, low);
	return 0;
}

/* Guards the session's stream again after STARTTLS, which replaces it. */
static int guard_install(struct imap *im)
{
	return guard_wrap(im, im->s->imap_stream);
}

/* Translates libetpan's r from command what into an errno value and a
 * message. A failed connection marks the session broken: a parse error
 * too, since the reply stream is out of step after it. */
static int fail(struct imap *im, int r, const char *what, struct err *err)
{
	char text[IMAP_TEXT_MAX];

	if (r == MAILIMAP_ERROR_MEMORY) {
		err_set(err, "out of memory in IMAP %s with %s", what,
			im->host);
		return -ENOMEM;
	}
	if (r == MAILIMAP_ERROR_BAD_STATE) {
		err_set(err,
			"IMAP %s with %s in the wrong state (no folder "
			"selected?)",
			what, im->host);
		return -EINVAL;
	}
	if (!connection_error(r)) {
		/* The server answered NO or BAD. */
		err_set(err, "IMAP server %s refused %s: %s", im->host, what,
			reply(im, text, sizeof(text)));
		return -EPROTO;
	}
	im->broken = true;
	if (im->overrun[0]) {
		err_set(err,
			"IMAP server %s %s during %s; the session is "
			"dropped",
			im->host, im->overrun, what);
		return -EIO;
	}
	switch (r) {
	case MAILIMAP_ERROR_FATAL:
		err_set(err, "IMAP server %s ended the session during %s: %s",
			im->host, what, reply(im, text, sizeof(text)));
		break;
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_PROTOCOL:
		err_set(err,
			"IMAP server %s sent a reply to %s that bulletin "
			"cannot parse; the session is dropped",
			im->host, what);
		break;
	default:
		err_set(err,
			"connection to IMAP server %s lost or no answer "
			"within %d s during %s; will retry",
			im->host, im->timeout, what);
		break;
	}
	return -EIO;
}

static int check_usable(struct imap *im, struct err *err)
{
	if (!im->broken && im->s && im->s->imap_stream)
		return 0;
	err_set(err, "IMAP session with %s was lost; reconnect", im->host);
	return -EIO;
}

static bool has_control(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/* ---- url ---- */

static bool host_name_ok(const char *h)
{
	for (; *h; h++) {
		if (!(*h >= 'a' && *h <= 'z') && !(*h >= 'A' && *h <= 'Z') &&
		    !(*h >= '0' && *h <= '9') && *h != '.' && *h != '-' &&
		    *h != '_')
			return false;
	}
	return true;
}

/* imaps://HOST[:PORT][/] or imap://HOST[:PORT][/]; HOST may be [IPv6]. */
static int parse_url(struct imap *im, const char *url, bool *tls,
		     struct err *err)
{
	const char *p, *host, *end;
	char *e;
	unsigned long port;
	size_t len;
	bool bracket = false;
	char text[IMAP_TEXT_MAX];

	if (strncmp(url, "imaps://", 8) == 0) {
		*tls = true;
		im->port = 993;
		p = url + 8;
	} else if (strncmp(url, "imap://", 7) == 0) {
		*tls = false;
		im->port = 143;
		p = url + 7;
	} else {
		goto bad;
	}
	if (*p == '[') {
		bracket = true;
		host = p + 1;
		end = strchr(host, ']');
		if (!end)
			goto bad;
		p = end + 1;
	} else {
		host = p;
		p += strcspn(p, ":/");
		end = p;
	}
	len = (size_t)(end - host);
	if (len == 0 || len >= sizeof(im->host))
		goto bad;
	memcpy(im->host, host, len);
	im->host[len] = '\0';
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		port = strtoul(p, &e, 10);
		if (errno || port == 0 || port > 65535)
			goto bad;
		im->port = (uint16_t)port;
		p = e;
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		goto bad;
	if (bracket) {
		if (inet_pton(AF_INET6, im->host, im->ip) != 1)
			goto bad;
		im->ip_family = AF_INET6;
	} else if (inet_pton(AF_INET, im->host, im->ip) == 1) {
		im->ip_family = AF_INET;
	} else if (!host_name_ok(im->host)) {
		goto bad;
	}
	return 0;
bad:
	/* A url with user:password@ must not be echoed into the log. */
	if (strchr(url, '@'))
		snprintf(text, sizeof(text), "(not shown: it has an '@')");
	else
		shown(text, sizeof(text), url);
	err_set(err,
		"IMAP url %s is not imaps://HOST[:PORT] or "
		"imap://HOST[:PORT]; fix it in the config",
		text);
	return -EINVAL;
}

/* ---- TLS ---- */

/* Called by libetpan before every handshake: sets SNI, which RFC 6066
 * forbids for an address. ctx is NULL when libetpan ran out of memory. */
static void imap_etpan_ssl_cb(struct mailstream_ssl_context *ctx, void *data)
{
	struct imap *im = data;

	if (ctx && !im->ip_family)
		mailstream_ssl_set_server_name(ctx, im->host);
}

/* Up to three DNS names from the certificate, for a mismatch message. */
static void cert_names(gnutls_x509_crt_t crt, char *out, size_t size)
{
	char name[256], one[IMAP_TEXT_MAX];
	size_t len, used = 0;
	unsigned i, found = 0;
	int r;

	out[0] = '\0';
	for (i = 0; found < 3 && i < 32; i++) {
		len = sizeof(name) - 1;
		r = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &len,
							 NULL);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r != GNUTLS_SAN_DNSNAME)
			continue;
		name[len < sizeof(name) ? len : sizeof(name) - 1] = '\0';
		shown(one, sizeof(one), name);
		r = snprintf(out + used, size - used, "%s%s", found ? ", " : "",
			     one);
		if (r < 0 || (size_t)r >= size - used)
			break;
		used += (size_t)r;
		found++;
	}
}

/* Says in words why status refused the certificate. */
static void describe(struct imap *im, unsigned status, gnutls_x509_crt_t leaf,
		     struct err *err)
{
	char why[200] = "", names[120];
	gnutls_datum_t out = {NULL, 0};
	const char *hint = "";

	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		cert_names(leaf, names, sizeof(names));
		snprintf(why, sizeof(why), "host name mismatch (it is for %s)",
			 names[0] ? names : "other names");
		hint = "; connect by a name the certificate holds";
	} else if (status & GNUTLS_CERT_EXPIRED) {
		snprintf(why, sizeof(why), "expired");
		hint = "; the server must renew it";
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		snprintf(why, sizeof(why), "not valid yet (check the clock)");
	} else if (status & GNUTLS_CERT_REVOKED) {
		snprintf(why, sizeof(why), "revoked");
	} else if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		snprintf(why, sizeof(why), "issuer unknown");
		hint = "; if a private CA signed it, set ca_file to its PEM";
	} else if (gnutls_certificate_verification_status_print(
			   status, GNUTLS_CRT_X509, &out, 0) == 0) {
		shown(why, sizeof(why), (const char *)out.data);
		gnutls_free(out.data);
	} else {
		snprintf(why, sizeof(why), "status 0x%x", status);
	}
	err_set(err, "certificate for %s not trusted: %s%s", im->host, why,
		hint);
}

/* libetpan checks no certificate (RELIABILITY §0.6b): verifies the chain
 * the server sent against the system's CAs plus ca_file, and the host
 * name or address, before anything else is sent. */
static int verify_peer(struct imap *im, const char *ca_file, struct err *err)
{
	carray *chain = NULL;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t crts[IMAP_MAX_CHAIN];
	gnutls_typed_vdata_st data[2];
	gnutls_datum_t der;
	MMAPString *s;
	unsigned n = 0, i, count, status = 0;
	int ret = -EPROTO, r;

	chain = mailstream_get_certificate_chain(im->s->imap_stream);
	if (!chain || carray_count(chain) == 0) {
		err_set(err, "IMAP server %s presented no certificate",
			im->host);
		goto out;
	}
	r = gnutls_x509_trust_list_init(&tl, 0);
	if (r < 0) {
		tl = NULL;
		ret = -ENOMEM;
		err_set(err, "cannot check the certificate of %s: %s", im->host,
			gnutls_strerror(r));
		goto out;
	}
	/* The system's CAs always count; ca_file adds a private one. */
	gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (ca_file) {
		r = gnutls_x509_trust_list_add_trust_file(
			tl, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (r <= 0) {
			err_set(err,
				"ca_file %s holds no certificate GnuTLS "
				"can read (%s)",
				ca_file, r < 0 ? gnutls_strerror(r) : "none");
			ret = -EINVAL;
			goto out;
		}
	}
	count = carray_count(chain);
	for (i = 0; i < count && n < IMAP_MAX_CHAIN; i++) {
		s = carray_get(chain, i);
		if (!s || s->len > UINT_MAX)
			continue;
		der.data = (unsigned char *)s->str;
		der.size = (unsigned)s->len;
		if (gnutls_x509_crt_init(&crts[n]) < 0) {
			ret = -ENOMEM;
			err_set(err, "out of memory checking %s", im->host);
			goto out;
		}
		n++;
		r = gnutls_x509_crt_import(crts[n - 1], &der,
					   GNUTLS_X509_FMT_DER);
		if (r < 0) {
			err_set(err,
				"certificate for %s not trusted: "
				"unreadable (%s)",
				im->host, gnutls_strerror(r));
			goto out;
		}
	}
	if (n == 0) {
		err_set(err, "IMAP server %s presented no certificate",
			im->host);
		goto out;
	}
	if (im->ip_family) {
		data[0].type = GNUTLS_DT_IP_ADDRESS;
		data[0].data = im->ip;
		data[0].size = im->ip_family == AF_INET ? 4 : 16;
	} else {
		data[0].type = GNUTLS_DT_DNS_HOSTNAME;
		data[0].data = (unsigned char *)im->host;
		data[0].size = 0;
	}
	data[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	data[1].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
	data[1].size = 0;
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, n, data, 2, 0, &status,
					       NULL);
	if (r < 0) {
		err_set(err, "certificate for %s not trusted: %s", im->host,
			gnutls_strerror(r));
		goto out;
	}
	if (status != 0) {
		describe(im, status, crts[0], err);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	if (chain)
		mailstream_certificate_chain_free(chain);
	return ret;
}

/* ---- capabilities ---- */

/* Sends CAPABILITY and keeps only what this reply lists. libetpan would
 * otherwise keep the list it had (from before TLS, say) when the reply
 * has none, and 1.9.4's mailimap_capability dereferences a NULL list. */
static int read_caps(struct imap *im, struct err *err)
{
	struct mailimap_capability_data *caps = NULL;
	struct mailimap_connection_info *info;
	clist *empty;
	int r;

	if (!im->s->imap_connection_info) {
		im->s->imap_connection_info = mailimap_connection_info_new();
		if (!im->s->imap_connection_info)
			return fail(im, MAILIMAP_ERROR_MEMORY, "CAPABILITY",
				    err);
	}
	info = im->s->imap_connection_info;
	empty = clist_new();
	if (!empty)
		return fail(im, MAILIMAP_ERROR_MEMORY, "CAPABILITY", err);
	if (info->imap_capability)
		mailimap_capability_data_free(info->imap_capability);
	info->imap_capability = mailimap_capability_data_new(empty);
	if (!info->imap_capability) {
		clist_free(empty);
		return fail(im, MAILIMAP_ERROR_MEMORY, "CAPABILITY", err);
	}
	r = mailimap_capability(im->s, &caps);
	if (caps)
		mailimap_capability_data_free(caps);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "CAPABILITY", err);
	im->has_idle = mailimap_has_idle(im->s);
	im->has_move = mailimap_has_extension(im->s, "MOVE");
	im->has_uidplus = mailimap_has_extension(im->s, "UIDPLUS");
	return 0;
}

/* ---- connect ---- */

/* Reads what mailimap_*_connect returned. */
static int connected(struct imap *im, int r, bool tls, bool *permanent,
		     struct err *err)
{
	char text[IMAP_TEXT_MAX];

	switch (r) {
	case MAILIMAP_NO_ERROR:
	case MAILIMAP_NO_ERROR_NON_AUTHENTICATED:
		return 0;
	case MAILIMAP_NO_ERROR_AUTHENTICATED:
		if (tls) {
			im->preauth = true;
			return 0;
		}
		/* STARTTLS is only allowed before authentication. */
		*permanent = true;
		err_set(err,
			"IMAP server %s greeted with PREAUTH before TLS, "
			"so the session cannot be secured; bulletin never "
			"works without TLS: use imaps://",
			im->host);
		return -EPROTO;
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		err_set(err,
			"cannot connect to IMAP server %s port %u: "
			"refused, unreachable or no answer within %d s; "
			"check the url and that the server is up",
			im->host, im->port, im->timeout);
		return -EIO;
	case MAILIMAP_ERROR_SSL:
		err_set(err,
			"TLS handshake with IMAP server %s port %u "
			"failed or timed out (%d s); is it an imaps "
			"port? For STARTTLS use imap://",
			im->host, im->port, im->timeout);
		return -EIO;
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
		err_set(err, "IMAP server %s refused the session: %s", im->host,
			reply(im, text, sizeof(text)));
		return -EIO;
	case MAILIMAP_ERROR_STREAM:
		if (im->overrun[0])
			err_set(err,
				"IMAP server %s %s in its greeting; the "
				"session is dropped",
				im->host, im->overrun);
		else
			err_set(err,
				"no IMAP greeting from %s port %u within %d s",
				im->host, im->port, im->timeout);
		return -EIO;
	default:
		return fail(im, r, "the greeting", err);
	}
}

/* Connects to host:port within the timeout: each address in turn, a
 * non-blocking connect waited for with poll. Name resolution is the
 * system resolver's, bounded by its own timeouts (resolv.conf). Returns
 * a connected blocking socket, or -1 with err set. */
static int tcp_connect(struct imap *im, struct err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL, *ai;
	char port[8], why[128] = "no address";
	struct pollfd pfd;
	socklen_t len;
	int fd = -1, rc, soerr;

	snprintf(port, sizeof(port), "%u", im->port);
	rc = getaddrinfo(im->host, port, &hints, &res);
	if (rc) {
		err_set(err,
			"cannot find IMAP server %s: %s; check the host name "
			"in [imap] url",
			im->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			continue;
		}
		soerr = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			soerr = errno;
			if (soerr == EINPROGRESS) {
				pfd = (struct pollfd){.fd = fd,
						      .events = POLLOUT};
				rc = poll(&pfd, 1, im->timeout * 1000);
				len = sizeof(soerr);
				if (rc == 0)
					soerr = ETIMEDOUT;
				else if (rc < 0 ||
					 getsockopt(fd, SOL_SOCKET, SO_ERROR,
						    &soerr, &len) < 0)
					soerr = errno;
			}
		}
		if (soerr == 0 &&
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0)
			break;
		snprintf(why, sizeof(why), "%s",
			 strerror(soerr ? soerr : errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		err_set(err,
			"cannot connect to IMAP server %s port %u: %s (the "
			"last address tried; %d s allowed for each); check "
			"the url and that the server is up",
			im->host, im->port, why, im->timeout);
	return fd;
}

/* Connects, guards the stream (so that the greeting too is bounded in
 * bytes, F4) and reads the greeting. */
static int open_session(struct imap *im, bool tls, bool *permanent,
			struct err *err)
{
	mailstream_low *low;
	mailstream *stream;
	int fd, r;

	fd = tcp_connect(im, err);
	if (fd < 0)
		return -EIO;
	/* Built in two steps so that the socket has one owner at a time:
	 * ours until the low-level stream holds it, then the stream's. */
	if (tls)
		low = mailstream_low_ssl_open_with_callback_timeout(
			fd, im->timeout, imap_etpan_ssl_cb, im);
	else
		low = mailstream_low_socket_open(fd);
	if (!low) {
		close(fd);
		return connected(
			im, tls ? MAILIMAP_ERROR_SSL : MAILIMAP_ERROR_MEMORY,
			tls, permanent, err);
	}
	mailstream_low_set_timeout(low, im->timeout);
	stream = mailstream_new(low, 8192);
	if (!stream) {
		mailstream_low_close(low);
		mailstream_low_free(low);
		err_set(err, "out of memory connecting to IMAP %s", im->host);
		return -ENOMEM;
	}
	if (guard_wrap(im, stream) < 0) {
		mailstream_close(stream);
		err_set(err, "out of memory connecting to IMAP %s", im->host);
		return -ENOMEM;
	}
	/* The greeting is a reply like any other: its clock starts now,
	 * not before the connect and the handshake. */
	im->reply_start = now_ms();
	im->reply_bytes = 0;
	/* mailimap_connect owns the stream from here, even on failure. */
	r = mailimap_connect(im->s, stream);
	return connected(im, r, tls, permanent, err);
}

/* RELIABILITY F1, F2: TLS or nothing. */
static int starttls(struct imap *im, bool *permanent, struct err *err)
{
	char text[IMAP_TEXT_MAX];
	int r;

	r = read_caps(im, err);
	if (r < 0)
		return r;
	if (!mailimap_has_extension(im->s, "STARTTLS")) {
		*permanent = true;
		err_set(err,
			"IMAP server %s does not offer STARTTLS; bulletin "
			"never logs in without TLS: use imaps:// or enable "
			"TLS on the server",
			im->host);
		return -EPROTO;
	}
	r = mailimap_socket_starttls_with_callback(im->s, imap_etpan_ssl_cb,
						   im);
	if (r != MAILIMAP_NO_ERROR && im->s->imap_stream &&
	    im->s->imap_stream->read_buffer_len > 0) {
		/* Bytes after the OK, before TLS: a response injection
		 * (CVE-2020-15953), which Debian's libetpan refuses. */
		*permanent = true;
		err_set(err,
			"IMAP server %s sent more after its reply to "
			"STARTTLS, as in a response injection "
			"(CVE-2020-15953); refusing the session",
			im->host);
		return -EPROTO;
	}
	if (r == MAILIMAP_ERROR_STARTTLS) {
		*permanent = true;
		err_set(err,
			"IMAP server %s refused STARTTLS: %s; bulletin "
			"never logs in without TLS",
			im->host, reply(im, text, sizeof(text)));
		return -EPROTO;
	}
	if (r != MAILIMAP_NO_ERROR) {
		err_set(err,
			"TLS handshake after STARTTLS with IMAP server %s "
			"failed or timed out (%d s); will retry",
			im->host, im->timeout);
		return -EIO;
	}
	return 0;
}

static int login(struct imap *im, const struct imap_options *opt,
		 bool *permanent, struct err *err)
{
	char text[IMAP_TEXT_MAX], user[IMAP_TEXT_MAX];
	int r;

	r = mailimap_login(im->s, opt->username, opt->password);
	if (r == MAILIMAP_ERROR_LOGIN) {
		*permanent = true;
		shown(user, sizeof(user), opt->username);
		err_set(err,
			"IMAP server %s refused the login of %s: %s; "
			"check the username and password",
			im->host, user, reply(im, text, sizeof(text)));
		return -EACCES;
	}
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "LOGIN", err);
	return 0;
}

struct imap *imap_connect(const struct imap_options *opt, bool *permanent,
			  struct err *err)
{
	struct imap *im;
	bool tls = false, perm = false;
	int r;

	if (permanent)
		*permanent = false;
	if (CHECK_FAILS(opt && opt->url && opt->username && opt->password)) {
		err_set(err, "IMAP connect without url, username or password");
		return NULL;
	}
	im = calloc(1, sizeof(*im));
	if (!im) {
		err_set(err, "out of memory connecting to IMAP");
		return NULL;
	}
	im->wake_fd = -1;
	/* Whatever libetpan's quoting does with them, CR and LF have no
	 * business in a login (F8). The password is never shown. */
	if (has_control(opt->username) || has_control(opt->password)) {
		err_set(err, "IMAP username or password has a control "
			     "character; fix it in the config");
		perm = true;
		goto fail;
	}
	/* Until the certificate is checked, close sends nothing. */
	im->broken = true;
	im->timeout = opt->timeout > 0 ? opt->timeout : IMAP_DEFAULT_TIMEOUT;
	if (parse_url(im, opt->url, &tls, err) < 0) {
		perm = true;
		goto fail;
	}
	im->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (im->wake_fd < 0) {
		err_set(err, "cannot make an eventfd for IMAP %s: %s", im->host,
			strerror(errno));
		goto fail;
	}
	im->s = mailimap_new(0, NULL);
	if (!im->s) {
		err_set(err, "out of memory connecting to IMAP %s", im->host);
		goto fail;
	}
	/* Bounds every read and write (the connect and the TLS handshake
	 * are bounded by open_session). */
	mailimap_set_timeout(im->s, im->timeout);
	im->reply_max = IMAP_REPLY_MAX;
	im->reply_start = now_ms();
	/* Every reply, the greeting included, is bounded (F4). */
	if (open_session(im, tls, &perm, err) < 0)
		goto fail;
	if (!tls && starttls(im, &perm, err) < 0)
		goto fail;
	/* STARTTLS put a new stream in place: guard that one too. */
	if (guard_install(im) < 0)
		goto nomem;
	r = verify_peer(im, opt->ca_file, err);
	if (r < 0) {
		perm = r != -ENOMEM;
		goto fail;
	}
	im->broken = false;
	/* What was said before TLS is not trusted: ask again. */
	if (read_caps(im, err) < 0)
		goto fail;
	if (!im->preauth && login(im, opt, &perm, err) < 0)
		goto fail;
	/* Servers list more (MOVE, UIDPLUS) once logged in. */
	if (read_caps(im, err) < 0)
		goto fail;
	return im;
nomem:
	err_set(err, "out of memory connecting to IMAP %s", im->host);
fail:
	im->broken = true;
	if (permanent)
		*permanent = perm;
	imap_close(im);
	return NULL;
}

void imap_close(struct imap *im)
{
	if (!im)
		return;
	if (im->s) {
		/* LOGOUT is bounded by the session timeout; libetpan closes
		 * the stream after it. mailimap_free would send LOGOUT too,
		 * even to a server whose certificate was refused: close a
		 * broken session's stream without a word. */
		if (!im->broken && im->s->imap_stream)
			mailimap_logout(im->s);
		if (im->s->imap_stream) {
			mailstream_close(im->s->imap_stream);
			im->s->imap_stream = NULL;
		}
		mailimap_free(im->s);
	}
	if (im->wake_fd >= 0)
		close(im->wake_fd);
	free(im);
}

/* ---- folders ---- */

/* Decodes one UTF-8 sequence at *p (the lead byte is >= 0x80), refusing
 * overlong forms, surrogates and values past U+10FFFF. */
static int utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	uint32_t c, min;
	int n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 1;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 2;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 3;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*p = s + n + 1;
	return 0;
}

/* RFC 3501 5.1.3: mailbox names go on the wire in modified UTF-7.
 * Printable ASCII stays as it is, "&" becomes "&-", and each run of
 * other characters becomes "&" + base64 (with "," for "/") of its UTF-16
 * + "-". Refuses control characters (F8) and bad UTF-8. *out is
 * malloc'd. */
static int folder_encode(const char *folder, char **out, struct err *err)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char *p;
	char text[IMAP_TEXT_MAX], *o, *buf;
	uint32_t cp, bits, unit[2];
	int nbits, nunits, i;
	size_t len = strlen(folder);

	shown(text, sizeof(text), folder);
	if (has_control(folder)) {
		err_set(err,
			"folder name \"%s\" has a control character; "
			"fix it in the config",
			text);
		return -EINVAL;
	}
	if (len == 0) {
		err_set(err, "empty IMAP folder name");
		return -EINVAL;
	}
	/* Worst case: one 2-byte character alone becomes 5 bytes. */
	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	buf = malloc(len * 3 + 1);
	if (!buf) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	o = buf;
	p = (const unsigned char *)folder;
	while (*p) {
		if (*p < 0x80) {
			*o++ = (char)*p;
			if (*p++ == '&')
				*o++ = '-';
			continue;
		}
		*o++ = '&';
		bits = 0;
		nbits = 0;
		while (*p >= 0x80) {
			if (utf8_next(&p, &cp) < 0) {
				free(buf);
				err_set(err, "folder name \"%s\" is not UTF-8",
					text);
				return -EINVAL;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				unit[0] = 0xd800 | (cp >> 10);
				unit[1] = 0xdc00 | (cp & 0x3ff);
				nunits = 2;
			} else {
				unit[0] = cp;
				nunits = 1;
			}
			for (i = 0; i < nunits; i++) {
				bits = (bits << 16) | unit[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					*o++ = b64[(bits >> nbits) & 0x3f];
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			*o++ = b64[(bits << (6 - nbits)) & 0x3f];
		*o++ = '-';
	}
	*o = '\0';
	*out = buf;
	return 0;
}

int imap_select(struct imap *im, const char *folder, uint32_t *uidvalidity,
		struct err *err)
{
	char *mb = NULL, text[IMAP_TEXT_MAX];
	int r, ret;

	if (CHECK_FAILS(im && folder && uidvalidity))
		return -EINVAL;
	shown(im->folder, sizeof(im->folder), folder);
	ret = folder_encode(folder, &mb, err);
	if (ret < 0)
		return ret;
	ret = check_usable(im, err);
	if (ret < 0)
		goto out;
	r = mailimap_select(im->s, mb);
	if (r == MAILIMAP_ERROR_SELECT) {
		err_set(err,
			"IMAP server %s has no folder \"%s\" (or refused "
			"it): %s",
			im->host, im->folder, reply(im, text, sizeof(text)));
		ret = -ENOENT;
		goto out;
	}
	if (r != MAILIMAP_NO_ERROR) {
		ret = fail(im, r, "SELECT", err);
		goto out;
	}
	if (!im->s->imap_selection_info ||
	    im->s->imap_selection_info->sel_uidvalidity == 0) {
		err_set(err, "IMAP server %s sent no UIDVALIDITY for \"%s\"",
			im->host, im->folder);
		ret = -EPROTO;
		goto out;
	}
	*uidvalidity = im->s->imap_selection_info->sel_uidvalidity;
out:
	free(mb);
	return ret;
}

/* ---- messages ---- */

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* UID SEARCH UNSEEN or SEEN. */
static int search(struct imap *im, bool seen, uint32_t **uids, size_t *n,
		  size_t max, struct err *err)
{
	struct mailimap_search_key *key;
	clist *found = NULL;
	clistiter *it;
	uint32_t *out = NULL, *u;
	size_t count = 0, k = 0, i;
	int r, ret;

	if (CHECK_FAILS(im && uids && n))
		return -EINVAL;
	*uids = NULL;
	*n = 0;
	ret = check_usable(im, err);
	if (ret < 0)
		return ret;
	key = mailimap_search_key_new(
		seen ? MAILIMAP_SEARCH_KEY_SEEN : MAILIMAP_SEARCH_KEY_UNSEEN,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL,
		0, NULL, NULL, NULL);
	if (!key)
		return fail(im, MAILIMAP_ERROR_MEMORY, "UID SEARCH", err);
	r = mailimap_uid_search(im->s, NULL, key, &found);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		ret = fail(im, r,
			   seen ? "UID SEARCH SEEN" : "UID SEARCH UNSEEN", err);
		goto out;
	}
	if (found)
		count = (size_t)clist_count(found);
	if (count == 0 || max == 0)
		goto out;
	out = malloc(count * sizeof(*out));
	if (!out) {
		ret = fail(im, MAILIMAP_ERROR_MEMORY, "UID SEARCH", err);
		goto out;
	}
	for (it = clist_begin(found); it; it = clist_next(it)) {
		u = clist_content(it);
		if (u && *u != 0 && k < count)
			out[k++] = *u;
	}
	qsort(out, k, sizeof(*out), cmp_uid);
	/* Drop repeats, keep the lowest max. */
	count = 0;
	for (i = 0; i < k && count < max; i++) {
		if (count == 0 || out[i] != out[count - 1])
			out[count++] = out[i];
	}
	if (count == 0) {
		free(out);
		out = NULL;
	}
	*uids = out;
	*n = count;
out:
	if (found)
		mailimap_search_result_free(found);
	return ret;
}

int imap_unseen(struct imap *im, uint32_t **uids, size_t *n, size_t max,
		struct err *err)
{
	return search(im, false, uids, n, max, err);
}

int imap_seen(struct imap *im, uint32_t **uids, size_t *n, size_t max,
	      struct err *err)
{
	return search(im, true, uids, n, max, err);
}

/* The attribute of type type in the FETCH reply for uid: a server may
 * mix in unsolicited FETCH replies for other messages. */
static struct mailimap_msg_att_static *find_att(clist *list, uint32_t uid,
						int type)
{
	struct mailimap_msg_att *att;
	struct mailimap_msg_att_item *item;
	struct mailimap_msg_att_static *st, *want;
	clistiter *a, *b;
	bool ours;

	for (a = list ? clist_begin(list) : NULL; a; a = clist_next(a)) {
		att = clist_content(a);
		if (!att || !att->att_list)
			continue;
		want = NULL;
		ours = false;
		for (b = clist_begin(att->att_list); b; b = clist_next(b)) {
			item = clist_content(b);
			if (!item ||
			    item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (!st)
				continue;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				ours = st->att_data.att_uid == uid;
			else if (st->att_type == type)
				want = st;
		}
		if (ours && want)
			return want;
	}
	return NULL;
}

/* UID FETCH uid (att); *list is the reply, to be freed by the caller even
 * on error (libetpan hands it over on NO too). */
static int fetch_one(struct imap *im, uint32_t uid,
		     struct mailimap_fetch_att *att, clist **list,
		     const char *what, struct err *err)
{
	struct mailimap_fetch_type *type;
	struct mailimap_set *set;
	int r;

	*list = NULL;
	if (!att)
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	type = mailimap_fetch_type_new_fetch_att(att);
	if (!type) {
		mailimap_fetch_att_free(att);
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	}
	set = mailimap_set_new_single(uid);
	if (!set) {
		mailimap_fetch_type_free(type);
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	}
	r = mailimap_uid_fetch(im->s, set, type, list);
	mailimap_set_free(set);
	mailimap_fetch_type_free(type);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, what, err);
	return 0;
}

int imap_fetch(struct imap *im, uint32_t uid, size_t max_size, char **data,
	       size_t *len, size_t *size, struct err *err)
{
	struct mailimap_msg_att_static *st;
	struct mailimap_msg_att_body_section *body;
	struct mailimap_section *section;
	struct mailimap_fetch_att *att;
	clist *list = NULL;
	size_t rfc822_size;
	char *copy;
	int ret;

	if (CHECK_FAILS(im && data && len))
		return -EINVAL;
	*data = NULL;
	*len = 0;
	ret = check_usable(im, err);
	if (ret < 0)
		return ret;
	/* The size first: an oversized message is never downloaded (F5). */
	ret = fetch_one(im, uid, mailimap_fetch_att_new_rfc822_size(), &list,
			"UID FETCH RFC822.SIZE", err);
	if (ret < 0)
		goto out;
	st = find_att(list, uid, MAILIMAP_MSG_ATT_RFC822_SIZE);
	if (!st)
		goto gone;
	rfc822_size = st->att_data.att_rfc822_size;
	if (size)
		*size = rfc822_size;
	if (rfc822_size > max_size) {
		err_set(err,
			"message UID %u in \"%s\" on %s is %zu bytes, "
			"over the limit of %zu",
			uid, im->folder, im->host, rfc822_size, max_size);
		ret = -EMSGSIZE;
		goto out;
	}
	mailimap_fetch_list_free(list);
	list = NULL;

	/* BODY.PEEK[] with an empty section: the whole message. */
	section = mailimap_section_new(NULL);
	att = section ? mailimap_fetch_att_new_body_peek_section(section)
		      : NULL;
	if (!att) {
		if (section)
			mailimap_section_free(section);
		ret = fail(im, MAILIMAP_ERROR_MEMORY, "UID FETCH", err);
		goto out;
	}
	im->reply_max = IMAP_REPLY_MAX + max_size;
	ret = fetch_one(im, uid, att, &list, "UID FETCH BODY.PEEK[]", err);
	im->reply_max = IMAP_REPLY_MAX;
	if (ret < 0)
		goto out;
	st = find_att(list, uid, MAILIMAP_MSG_ATT_BODY_SECTION);
	body = st ? st->att_data.att_body_section : NULL;
	if (!body || !body->sec_body_part)
		goto gone;
	/* The server may send more than RFC822.SIZE said. */
	if (body->sec_length > max_size) {
		if (size)
			*size = body->sec_length;
		err_set(err,
			"message UID %u in \"%s\" on %s came with %zu "
			"bytes, over the limit of %zu",
			uid, im->folder, im->host, body->sec_length, max_size);
		ret = -EMSGSIZE;
		goto out;
	}
	copy = malloc(body->sec_length + 1);
	if (!copy) {
		ret = fail(im, MAILIMAP_ERROR_MEMORY, "UID FETCH", err);
		goto out;
	}
	memcpy(copy, body->sec_body_part, body->sec_length);
	copy[body->sec_length] = '\0';
	*data = copy;
	*len = body->sec_length;
	goto out;
gone:
	err_set(err, "message UID %u is no longer in \"%s\" on %s", uid,
		im->folder, im->host);
	ret = -ENOENT;
out:
	if (list)
		mailimap_fetch_list_free(list);
	return ret;
}

/* UID STORE uid +FLAGS.SILENT (flag). */
static int add_flag(struct imap *im, uint32_t uid, struct mailimap_flag *flag,
		    const char *what, struct err *err)
{
	struct mailimap_flag_list *flags;
	struct mailimap_store_att_flags *store;
	struct mailimap_set *set;
	int r;

	if (!flag)
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	flags = mailimap_flag_list_new_empty();
	if (!flags || mailimap_flag_list_add(flags, flag) != 0) {
		mailimap_flag_free(flag);
		if (flags)
			mailimap_flag_list_free(flags);
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	}
	store = mailimap_store_att_flags_new_add_flags_silent(flags);
	if (!store) {
		mailimap_flag_list_free(flags);
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	}
	set = mailimap_set_new_single(uid);
	if (!set) {
		mailimap_store_att_flags_free(store);
		return fail(im, MAILIMAP_ERROR_MEMORY, what, err);
	}
	r = mailimap_uid_store(im->s, set, store);
	mailimap_set_free(set);
	mailimap_store_att_flags_free(store);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, what, err);
	return 0;
}

int imap_mark_seen(struct imap *im, uint32_t uid, struct err *err)
{
	int ret;

	if (CHECK_FAILS(im))
		return -EINVAL;
	ret = check_usable(im, err);
	if (ret < 0)
		return ret;
	return add_flag(im, uid, mailimap_flag_new_seen(),
			"UID STORE +FLAGS (\\Seen)", err);
}

/* A refused COPY or MOVE: -ENOENT when the server says TRYCREATE. */
static int move_failed(struct imap *im, int r, const char *what,
		       const char *shown_to, struct err *err)
{
	char text[IMAP_TEXT_MAX];

	if (r == MAILIMAP_ERROR_UID_MOVE || r == MAILIMAP_ERROR_UID_COPY) {
		if (im->s->imap_response_info &&
		    im->s->imap_response_info->rsp_trycreate) {
			err_set(err,
				"IMAP server %s has no folder \"%s\": "
				"create it",
				im->host, shown_to);
			return -ENOENT;
		}
		err_set(err, "IMAP server %s refused %s to \"%s\": %s",
			im->host, what, shown_to,
			reply(im, text, sizeof(text)));
		return -EPROTO;
	}
	return fail(im, r, what, err);
}

int imap_move(struct imap *im, uint32_t uid, const char *folder,
	      struct err *err)
{
	struct mailimap_set *set = NULL;
	char *mb = NULL, to[IMAP_TEXT_MAX];
	int r, ret;

	if (CHECK_FAILS(im && folder))
		return -EINVAL;
	ret = folder_encode(folder, &mb, err);
	if (ret < 0)
		return ret;
	shown(to, sizeof(to), folder);
	ret = check_usable(im, err);
	if (ret < 0)
		goto out;
	set = mailimap_set_new_single(uid);
	if (!set) {
		ret = fail(im, MAILIMAP_ERROR_MEMORY, "UID MOVE", err);
		goto out;
	}
	if (im->has_move) {
		r = mailimap_uid_move(im->s, set, mb);
		if (r != MAILIMAP_NO_ERROR)
			ret = move_failed(im, r, "UID MOVE", to, err);
		goto out;
	}
	r = mailimap_uid_copy(im->s, set, mb);
	if (r != MAILIMAP_NO_ERROR) {
		ret = move_failed(im, r, "UID COPY", to, err);
		goto out;
	}
	ret = add_flag(im, uid, mailimap_flag_new_deleted(),
		       "UID STORE +FLAGS (\\Deleted)", err);
	if (ret < 0)
		goto out;
	/* Without UIDPLUS, EXPUNGE also removes what other clients marked
	 * \Deleted in this folder: the best a plain IMAP4rev1 server
	 * allows. */
	if (im->has_uidplus)
		r = mailimap_uid_expunge(im->s, set);
	else
		r = mailimap_expunge(im->s);
	if (r != MAILIMAP_NO_ERROR)
		ret = fail(im, r, "EXPUNGE", err);
out:
	if (set)
		mailimap_set_free(set);
	free(mb);
	return ret;
}

/* ---- IDLE ---- */

bool imap_has_idle(const struct imap *im)
{
	return im && im->has_idle;
}

/* Takes a pending wake-up, if any. */
static bool take_wake(struct imap *im)
{
	uint64_t v;

	return read(im->wake_fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

/* Waits for the server to say something or for a wake-up. Bytes libetpan
 * has already read count as something said: its own mailstream_wait_idle
 * polls only the socket. */
static int idle_wait(struct imap *im, int64_t deadline)
{
	struct pollfd pfd[2];
	int64_t left;
	int r;

	if (im->s->imap_stream->read_buffer_len > 0)
		return IDLE_DATA;
	pfd[0].fd = mailimap_idle_get_fd(im->s);
	pfd[0].events = POLLIN;
	pfd[1].fd = im->wake_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return IDLE_TIMEOUT;
		pfd[0].revents = 0;
		pfd[1].revents = 0;
		r = poll(pfd, 2, (int)(left < 60000 ? left : 60000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (pfd[1].revents) {
			take_wake(im);
			return IDLE_WOKEN;
		}
		/* POLLHUP and POLLERR too: DONE then finds out. */
		if (pfd[0].revents)
			return IDLE_DATA;
	}
}

/* Whether the replies to the last command reported new or changed
 * messages: EXISTS, RECENT or FETCH (flags changed elsewhere). */
static bool changed(struct imap *im)
{
	struct mailimap_selection_info *sel = im->s->imap_selection_info;
	struct mailimap_response_info *rsp = im->s->imap_response_info;

	if (sel && (sel->sel_has_exists || sel->sel_has_recent))
		return true;
	return rsp && rsp->rsp_fetch_list &&
	       !clist_isempty(rsp->rsp_fetch_list);
}

int imap_idle(struct imap *im, int max_wait, struct err *err)
{
	int64_t deadline;
	int r, w, ret;

	if (CHECK_FAILS(im))
		return -EINVAL;
	ret = check_usable(im, err);
	if (ret < 0)
		return ret;
	if (!im->has_idle) {
		err_set(err, "IMAP server %s does not offer IDLE", im->host);
		return -ENOTSUP;
	}
	/* libetpan's mailimap_idle writes to the selection. */
	if (!im->s->imap_selection_info ||
	    im->s->imap_state != MAILIMAP_STATE_SELECTED) {
		err_set(err, "IMAP IDLE on %s without a selected folder",
			im->host);
		return -EINVAL;
	}
	/* An interrupt that came before this call counts. */
	if (take_wake(im) || max_wait <= 0)
		return 0;
	if (max_wait > IMAP_MAX_IDLE)
		max_wait = IMAP_MAX_IDLE;
	deadline = now_ms() + (int64_t)max_wait * 1000;
	for (;;) {
		r = mailimap_idle(im->s);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "IDLE", err);
		/* Until DONE, updates come when they come; the bytes are
		 * still counted. */
		im->idling = true;
		w = idle_wait(im, deadline);
		im->idling = false;
		r = mailimap_idle_done(im->s);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "IDLE (DONE)", err);
		if (w < 0) {
			err_set(err, "waiting in IDLE on %s: %s", im->host,
				strerror(-w));
			return -EIO;
		}
		if (w != IDLE_DATA)
			return 0;
		if (changed(im))
			return 1;
		/* A keep-alive ("* OK Still here"): idle again until the
		 * deadline. */
		if (now_ms() >= deadline)
			return 0;
	}
}

void imap_interrupt(struct imap *im)
{
	uint64_t one = 1;

	if (!im || im->wake_fd < 0)
		return;
	/* An eventfd counter: one write per call, never blocking, and any
	 * number of calls make one wake-up. EAGAIN means one is pending. */
	if (write(im->wake_fd, &one, sizeof(one)) < 0) {
		/* Nothing to do: a wake-up is pending either way. */
	}
}
