/*
 * config: reads bulletin.conf with inih and builds struct config. A reader
 * wrapped around the file counts lines and checks each raw line (section
 * headers, syntax, length, NUL bytes) before inih sees it, so every
 * problem carries its line. Problems are collected, sorted into file order
 * and reported once each at the end: loading never stops at the first.
 * inih's options are process-wide; they are set and restored around the
 * parse, so loading is not thread-safe (main and ctl load at startup).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <ini.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "schedule.h"
#include "text.h"

#if defined(__has_include)
#if __has_include("bulletin-config.h")
#include "bulletin-config.h"
#endif
#endif
#ifndef BULLETIN_TEMPLATE_DIR
#define BULLETIN_TEMPLATE_DIR "/usr/share/bulletin/templates"
#endif

#define CONFIG_MAX_LINE 8192
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define DEFAULT_TEMPLATE "digest.txt"
/* How much of a value is quoted back in a message. */
#define QUOTE_MAX 120

/* The parts of every section, in the order of the tables below. */
enum sect_kind {
	SECT_NONE, /* before the first section header */
	SECT_BAD,  /* after a header that could not be used */
	SECT_DAEMON,
	SECT_FETCH,
	SECT_HTTP,
	SECT_SMTP,
	SECT_IMAP,
	SECT_LIST,
	SECT_SOURCE,
	SECT_THEME,
	SECT_DEDUPE,
	SECT_CLASSIFY,
	SECT__COUNT,
};

enum {
	DK_DATABASE,
	DK_PUBLIC_URL,
	DK_SECRET_FILE,
	DK_TIMEZONE,
	DK_LOG_LEVEL,
	DK_TEMPLATES,
	DK_PREVIOUS_SECRET_FILE,
	DK_CONFIRM_EXPIRY,
	DK_CONFIRMATIONS_PER_HOUR
};
enum { FK_TIMEOUT, FK_MAX_SIZE, FK_CONNECTIONS, FK_PER_HOST, FK_CA_FILE };
enum { HK_LISTEN, HK_FORM_PER_IP, HK_FORM_MIN_TIME, HK_TRUSTED_PROXIES };
enum {
	MK_URL,
	MK_USERNAME,
	MK_PASSWORD_FILE,
	MK_STARTTLS,
	MK_CONNECTIONS,
	MK_CA_FILE,
	MK_TIMEOUT,
	MK_RETRY,
	MK_GIVE_UP,
	MK_SUSPEND_AFTER
};
enum {
	IK_URL,
	IK_USERNAME,
	IK_PASSWORD_FILE,
	IK_POLL,
	IK_RETRY,
	IK_FOLDER,
	IK_MOVE_TO,
	IK_CA_FILE,
	IK_MAX_SIZE,
	IK_AUTHSERV_ID
};
enum {
	LK_TITLE,
	LK_ADDRESS,
	LK_FROM,
	LK_SCHEDULE,
	LK_TEMPLATE,
	LK_SOURCES,
	LK_THEMES,
	LK_SUBSCRIBE,
	LK_ALLOW,
	LK_NOTHING_NEW
};
enum {
	SK_TITLE,
	SK_TYPE,
	SK_URL,
	SK_FOLDER,
	SK_FROM,
	SK_INTERVAL,
	SK_PRIORITY,
	SK_SPLIT
};
enum { TK_TITLE, TK_KEYWORDS };
enum { DDK_SIMILAR, DDK_CONTAINED, DDK_MIN_WORDS };
enum { CK_MIN_SCORE, CK_TITLE_WEIGHT };

#define KEYS_MAX 10

static const char *const daemon_keys[] = {
	[DK_DATABASE] = "database",
	[DK_PUBLIC_URL] = "public_url",
	[DK_SECRET_FILE] = "secret_file",
	[DK_TIMEZONE] = "timezone",
	[DK_LOG_LEVEL] = "log_level",
	[DK_TEMPLATES] = "templates",
	[DK_PREVIOUS_SECRET_FILE] = "previous_secret_file",
	[DK_CONFIRM_EXPIRY] = "confirm_expiry",
	[DK_CONFIRMATIONS_PER_HOUR] = "confirmations_per_hour",
	NULL,
};
static const char *const fetch_keys[] = {
	[FK_TIMEOUT] = "timeout",	  [FK_MAX_SIZE] = "max_size",
	[FK_CONNECTIONS] = "connections", [FK_PER_HOST] = "per_host",
	[FK_CA_FILE] = "ca_file",	  NULL,
};
static const char *const http_keys[] = {
	[HK_LISTEN] = "listen",
	[HK_FORM_PER_IP] = "form_per_ip",
	[HK_FORM_MIN_TIME] = "form_min_time",
	[HK_TRUSTED_PROXIES] = "trusted_proxies",
	NULL,
};
static const char *const smtp_keys[] = {
	[MK_URL] = "url",
	[MK_USERNAME] = "username",
	[MK_PASSWORD_FILE] = "password_file",
	[MK_STARTTLS] = "starttls",
	[MK_CONNECTIONS] = "connections",
	[MK_CA_FILE] = "ca_file",
	[MK_TIMEOUT] = "timeout",
	[MK_RETRY] = "retry",
	[MK_GIVE_UP] = "give_up",
	[MK_SUSPEND_AFTER] = "suspend_after",
	NULL,
};
static const char *const imap_keys[] = {
	[IK_URL] = "url",
	[IK_USERNAME] = "username",
	[IK_PASSWORD_FILE] = "password_file",
	[IK_POLL] = "poll",
	[IK_RETRY] = "retry",
	[IK_FOLDER] = "folder",
	[IK_MOVE_TO] = "move_to",
	[IK_CA_FILE] = "ca_file",
	[IK_MAX_SIZE] = "max_size",
	[IK_AUTHSERV_ID] = "authserv_id",
	NULL,
};
static const char *const list_keys[] = {
	[LK_TITLE] = "title",
	[LK_ADDRESS] = "address",
	[LK_FROM] = "from",
	[LK_SCHEDULE] = "schedule",
	[LK_TEMPLATE] = "template",
	[LK_SOURCES] = "sources",
	[LK_THEMES] = "themes",
	[LK_SUBSCRIBE] = "subscribe",
	[LK_ALLOW] = "allow",
	[LK_NOTHING_NEW] = "nothing_new",
	NULL,
};
static const char *const source_keys[] = {
	[SK_TITLE] = "title",
	[SK_TYPE] = "type",
	[SK_URL] = "url",
	[SK_FOLDER] = "folder",
	[SK_FROM] = "from",
	[SK_INTERVAL] = "interval",
	[SK_PRIORITY] = "priority",
	[SK_SPLIT] = "split",
	NULL,
};
static const char *const theme_keys[] = {
	[TK_TITLE] = "title",
	[TK_KEYWORDS] = "keywords",
	NULL,
};
static const char *const dedupe_keys[] = {
	[DDK_SIMILAR] = "similar",
	[DDK_CONTAINED] = "contained",
	[DDK_MIN_WORDS] = "min_words",
	NULL,
};
static const char *const classify_keys[] = {
	[CK_MIN_SCORE] = "min_score",
	[CK_TITLE_WEIGHT] = "title_weight",
	NULL,
};

struct sect_def {
	const char *name;
	bool named; /* [list NAME] rather than [daemon] */
	const char *const *keys;
};

static const struct sect_def sect_defs[SECT__COUNT] = {
	[SECT_DAEMON] = {"daemon", false, daemon_keys},
	[SECT_FETCH] = {"fetch", false, fetch_keys},
	[SECT_HTTP] = {"http", false, http_keys},
	[SECT_SMTP] = {"smtp", false, smtp_keys},
	[SECT_IMAP] = {"imap", false, imap_keys},
	[SECT_LIST] = {"list", true, list_keys},
	[SECT_SOURCE] = {"source", true, source_keys},
	[SECT_THEME] = {"theme", true, theme_keys},
	[SECT_DEDUPE] = {"dedupe", false, dedupe_keys},
	[SECT_CLASSIFY] = {"classify", false, classify_keys},
};

/* One problem, kept until the end so that all come out in file order. */
struct diag {
	int line;
	size_t seq;
	char *msg; /* owned */
};

/* One section as written; a repeated header points at the first. */
struct sect {
	enum sect_kind kind;
	size_t idx; /* named sections: index into cfg->lists/sources/themes */
	int line;
	int key_line[KEYS_MAX]; /* 0: key not given */
	/* Set when an unknown key looked like a typo of this one, so that
	 * "needs KEY" is not reported on top of "did you mean KEY?". */
	bool key_guessed[KEYS_MAX];
};

struct parse {
	struct config *cfg; /* borrowed: being built */
	FILE *fp;	    /* borrowed */
	char *raw;	    /* owned: getline buffer */
	size_t rawcap;
	int line;
	int ini_first_error; /* line inih itself complained about */

	struct diag *diags; /* owned */
	size_t n_diags;
	size_t cap_diags;
	bool nomem;

	struct sect *sects; /* owned */
	size_t n_sects;
	size_t cap_sects;
	long cur;	      /* index into sects, or -1 */
	enum sect_kind state; /* SECT_NONE or SECT_BAD when cur < 0 */
};

/* ---- small helpers ---------------------------------------------------- */

/* The characters inih's rstrip/lskip treat as space (C locale isspace). */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void lower_str(char *s)
{
	for (; *s; s++) {
		*s = lower(*s);
	}
}

/* Length of s to quote in a message: at most QUOTE_MAX bytes, cut on a
 * UTF-8 character boundary. */
static int qlen(const char *s)
{
	size_t n = strlen(s);

	if (n <= QUOTE_MAX) {
		return (int)n;
	}
	n = QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
		n--;
	}
	return (int)n;
}

#define QV(s) qlen(s), (s)

static void report(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct parse *p, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	char *copy;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (p->n_diags == p->cap_diags) {
		size_t cap = p->cap_diags ? p->cap_diags * 2 : 16;
		struct diag *d = realloc(p->diags, cap * sizeof(*d));

		if (!d) {
			p->nomem = true;
			return;
		}
		p->diags = d;
		p->cap_diags = cap;
	}
	copy = strdup(msg);
	if (!copy) {
		p->nomem = true;
		return;
	}
	p->diags[p->n_diags].line = line;
	p->diags[p->n_diags].seq = p->n_diags;
	p->diags[p->n_diags].msg = copy;
	p->n_diags++;
}

static bool has_diag_at(const struct parse *p, int line)
{
	for (size_t i = 0; i < p->n_diags; i++) {
		if (p->diags[i].line == line) {
			return true;
		}
	}
	return false;
}

static char *str_dup(struct parse *p, const char *s)
{
	char *c = strdup(s);

	if (!c) {
		p->nomem = true;
	}
	return c;
}

/* Replaces *field with a copy of s. */
static void set_str(struct parse *p, char **field, const char *s)
{
	char *c = str_dup(p, s);

	if (c) {
		free(*field);
		*field = c;
	}
}

/* Sets *field to a copy of s if it is still unset. */
static void set_default(struct parse *p, char **field, const char *s)
{
	if (!*field) {
		*field = str_dup(p, s);
	}
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], s) == 0) {
			return true;
		}
	}
	return false;
}

/* Appends s (taking ownership) to *v. On failure frees s. */
static int strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (*n >= SIZE_MAX / sizeof(**v) - 1) {
		free(s);
		return -ENOMEM;
	}
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[*n] = s;
	*v = nv;
	(*n)++;
	return 0;
}

/* Levenshtein distance, case-insensitive; large for long strings. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64) {
		return SIZE_MAX;
	}
	for (size_t j = 0; j <= lb; j++) {
		row[j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
				lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best) {
				best = up + 1;
			}
			if (row[j - 1] + 1 < best) {
				best = row[j - 1] + 1;
			}
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The candidate closest to word, if close enough to be a likely typo. */
static const char *nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i]) {
			continue;
		}
		d = edit_distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	if (!best || best_d > 2 || best_d >= strlen(best) ||
	    best_d >= strlen(word)) {
		return NULL;
	}
	return best;
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;

	while (v[n]) {
		n++;
	}
	return n;
}

/* ---- paths ------------------------------------------------------------ */

/*
 * Joins dir and path (unless path is absolute) and removes ".", ".." and
 * repeated slashes, without looking at the disk. Returns a new
 * string or NULL when out of memory.
 */
static char *path_resolve(const char *dir, const char *path)
{
	struct buf joined;
	char *out = NULL;
	const char *s;
	size_t o = 0;

	buf_init(&joined, SIZE_MAX / 2);
	if (path[0] != '/') {
		if (buf_adds(&joined, dir) < 0 || buf_addc(&joined, '/') < 0) {
			goto out;
		}
	}
	if (buf_adds(&joined, path) < 0) {
		goto out;
	}
	out = malloc(joined.len + 2);
	if (!out) {
		goto out;
	}
	s = buf_str(&joined);
	while (*s) {
		const char *start;
		size_t len;

		while (*s == '/') {
			s++;
		}
		start = s;
		while (*s && *s != '/') {
			s++;
		}
		len = (size_t)(s - start);
		if (len == 0 || (len == 1 && start[0] == '.')) {
			continue;
		}
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			while (o > 0 && out[o - 1] != '/') {
				o--;
			}
			if (o > 0) {
				o--;
			}
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, start, len);
		o += len;
	}
	if (o == 0) {
		out[o++] = '/';
	}
	out[o] = '\0';
out:
	buf_free(&joined);
	return out;
}

/* The absolute, normalised directory holding the file at path. */
static char *dir_of(const char *path)
{
	char *cwd = NULL, *abs = NULL, *slash;

	if (path[0] == '/') {
		abs = path_resolve("/", path);
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd) {
			return NULL;
		}
		abs = path_resolve(cwd, path);
		free(cwd);
	}
	if (!abs) {
		return NULL;
	}
	slash = strrchr(abs, '/');
	if (slash == abs) {
		abs[1] = '\0';
	} else if (slash) {
		*slash = '\0';
	}
	return abs;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "file://" + path with everything but unreserved characters and '/'
 * percent-encoded. */
static char *file_url(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;

	buf_init(&b, SIZE_MAX / 2);
	if (buf_adds(&b, "file://") < 0) {
		return NULL;
	}
	for (const char *s = path; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int ret;

		if (is_alnum((char)c) || c == '/' || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			ret = buf_addc(&b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			ret = buf_add(&b, esc, sizeof(esc));
		}
		if (ret < 0) {
			return NULL;
		}
	}
	return buf_take(&b);
}

/* ---- value syntax ----------------------------------------------------- */

/* Parses digits into *out; returns the end or NULL on no digits or
 * overflow. */
static const char *parse_digits(const char *s, int64_t *out)
{
	int64_t v = 0;
	const char *p = s;

	while (is_digit(*p)) {
		int d = *p - '0';

		if (v > (INT64_MAX - d) / 10) {
			return NULL;
		}
		v = v * 10 + d;
		p++;
	}
	if (p == s) {
		return NULL;
	}
	*out = v;
	return p;
}

int config_parse_duration(const char *text, int64_t *out)
{
	const char *end;
	int64_t v, mult = 1;

	if (!text || !out) {
		return -EINVAL;
	}
	end = parse_digits(text, &v);
	if (!end) {
		return -EINVAL;
	}
	switch (*end) {
	case '\0':
		break;
	case 's':
	case 'S':
		end++;
		break;
	case 'm':
	case 'M':
		mult = 60;
		end++;
		break;
	case 'h':
	case 'H':
		mult = 3600;
		end++;
		break;
	case 'd':
	case 'D':
		mult = 86400;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' || v > INT64_MAX / mult) {
		return -EINVAL;
	}
	*out = v * mult;
	return 0;
}

int config_parse_size(const char *text, int64_t *out)
{
	const char *end;
	int64_t v, mult = 1;

	if (!text || !out) {
		return -EINVAL;
	}
	end = parse_digits(text, &v);
	if (!end) {
		return -EINVAL;
	}
	switch (lower(*end)) {
	case 'k':
		mult = INT64_C(1) << 10;
		end++;
		break;
	case 'm':
		mult = INT64_C(1) << 20;
		end++;
		break;
	case 'g':
		mult = INT64_C(1) << 30;
		end++;
		break;
	default:
		break;
	}
	/* Allow "10M", "10MB", "10MiB" and "512B". */
	if (mult > 1 && lower(end[0]) == 'i' && lower(end[1]) == 'b') {
		end += 2;
	} else if (lower(end[0]) == 'b') {
		end++;
	}
	if (*end != '\0' || v > INT64_MAX / mult) {
		return -EINVAL;
	}
	*out = v * mult;
	return 0;
}

static int parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
	bool neg = false;
	const char *end;
	int64_t v;

	if (*text == '-' || *text == '+') {
		neg = *text == '-';
		text++;
	}
	end = parse_digits(text, &v);
	if (!end || *end != '\0') {
		return -EINVAL;
	}
	if (neg) {
		v = -v;
	}
	if (v < lo || v > hi) {
		return -ERANGE;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* [a-z0-9][a-z0-9-_.]* */
static bool name_valid(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || is_digit(*s))) {
		return false;
	}
	for (s++; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '-' ||
		      *s == '_' || *s == '.')) {
			return false;
		}
	}
	return true;
}

/* A domain: dot-separated labels of letters, digits and '-'. */
static bool domain_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-') {
				return false;
			}
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-') {
			return false;
		}
		if (c == '-' && label == 0) {
			return false;
		}
		if (++label > 63) {
			return false;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

static bool local_char(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

/* local@domain, the local part in dot-atom form. */
static bool addr_valid(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t llen;

	if (!at) {
		return false;
	}
	llen = (size_t)(at - s);
	if (llen == 0 || llen > 64 || s[0] == '.' || s[llen - 1] == '.') {
		return false;
	}
	for (size_t i = 0; i < llen; i++) {
		if (!local_char(s[i]) || (s[i] == '.' && s[i + 1] == '.')) {
			return false;
		}
	}
	return domain_valid(at + 1, len - llen - 1);
}

/* "address" or "Display Name <address>". */
static bool mailbox_valid(const char *s)
{
	const char *lt = strrchr(s, '<');
	size_t len = strlen(s);

	if (!lt) {
		return addr_valid(s, len);
	}
	if (s[len - 1] != '>' || memchr(s, '>', len - 1) ||
	    memchr(s, '<', (size_t)(lt - s))) {
		return false;
	}
	return addr_valid(lt + 1, (size_t)(s + len - 1 - (lt + 1)));
}

/* "@domain" or a full address. */
static bool addr_or_domain_valid(const char *s)
{
	if (s[0] == '@') {
		return domain_valid(s + 1, strlen(s + 1));
	}
	return addr_valid(s, strlen(s));
}

/* Checks host[:port] (or [v6]:port) of len bytes. */
static bool hostport_valid(const char *s, size_t len, bool need_port)
{
	const char *colon = NULL;
	size_t hlen;
	int64_t port;
	char num[8];

	if (len == 0) {
		return false;
	}
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb || rb == s + 1) {
			return false;
		}
		for (const char *c = s + 1; c < rb; c++) {
			if (!is_alnum(*c) && *c != ':' && *c != '.') {
				return false;
			}
		}
		if ((size_t)(rb + 1 - s) < len) {
			if (rb[1] != ':') {
				return false;
			}
			colon = rb + 1;
		}
		hlen = (size_t)(rb + 1 - s);
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		if (!domain_valid(s, hlen)) {
			return false;
		}
	}
	if (!colon) {
		return !need_port && hlen > 0;
	}
	len -= (size_t)(colon + 1 - s);
	if (len == 0 || len >= sizeof(num)) {
		return false;
	}
	memcpy(num, colon + 1, len);
	num[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(num[i])) {
			return false;
		}
	}
	return parse_int(num, 1, 65535, &port) == 0;
}

/* The length of a URL scheme at the start of s ("http" in "http://"), or
 * 0 if s does not start with one. */
static size_t scheme_len(const char *s)
{
	size_t n = 0;

	if (!is_alpha(s[0])) {
		return 0;
	}
	while (is_alnum(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.') {
		n++;
	}
	return s[n] == ':' ? n : 0;
}

static bool scheme_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

/*
 * Checks an http:// or https:// URL. Returns NULL if it is fine, else
 * what to do about it. With base_only, a query or fragment is refused.
 */
static const char *http_url_problem(const char *url, bool base_only)
{
	size_t sl = scheme_len(url);
	const char *host, *end;

	if (!(scheme_is(url, sl, "http") || scheme_is(url, sl, "https")) ||
	    strncmp(url + sl, "://", 3) != 0) {
		return "use an http:// or https:// URL";
	}
	for (const char *c = url; *c; c++) {
		if (*c == ' ' || *c == '\t') {
			return "a URL cannot contain spaces; write them as %20";
		}
	}
	host = url + sl + 3;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host))) {
		return "remove the user name and password from the URL";
	}
	if (!hostport_valid(host, (size_t)(end - host), false)) {
		return "the host name (or port) is missing or not valid";
	}
	if (base_only && (strchr(end, '?') || strchr(end, '#'))) {
		return "remove the query (?…) or fragment (#…)";
	}
	return NULL;
}

static bool has_control(const char *text)
{
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if ((*s < 0x20 && *s != '\t') || *s == 0x7f) {
			return true;
		}
	}
	return false;
}

/* Checks a value for control characters and broken UTF-8. */
static bool value_clean(struct parse *p, const char *key, const char *v)
{
	const unsigned char *s;

	if (has_control(v)) {
		report(p, p->line,
		       "value of \"%s\" contains a control character (such "
		       "as CR or LF); remove it",
		       key);
		return false;
	}
	s = (const unsigned char *)v;
	while (*s) {
		size_t n;
		unsigned int cp;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 1;
			cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2;
			cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3;
			cp = *s & 0x07;
		} else {
			goto bad;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80) {
				goto bad;
			}
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			goto bad;
		}
		s += n + 1;
	}
	return true;
bad:
	report(p, p->line,
	       "value of \"%s\" is not valid UTF-8; save the file as UTF-8",
	       key);
	return false;
}

/*
 * Splits a comma-separated value into trimmed items, dropping repeats.
 * With phrases, an item may be a "quoted phrase" (stored without the
 * quotes; commas inside stay) and items are lower-cased. Reports
 * problems at the current line and returns -EINVAL, or -ENOMEM.
 */
static int split_list(struct parse *p, const char *key, const char *value,
		      bool phrases, char ***out, size_t *n_out)
{
	char **v = NULL;
	size_t n = 0;
	const char *s = value;
	int ret = 0;

	for (;;) {
		const char *start, *end;
		bool quoted = false;
		char *item;

		while (*s == ' ' || *s == '\t') {
			s++;
		}
		start = s;
		if (phrases && *s == '"') {
			const char *close = strchr(s + 1, '"');

			if (!close) {
				report(p, p->line,
				       "%s: the phrase %.*s has no closing "
				       "quote; add one",
				       key, QV(start));
				ret = -EINVAL;
				goto out;
			}
			start = s + 1;
			end = close;
			s = close + 1;
			quoted = true;
			while (*s == ' ' || *s == '\t') {
				s++;
			}
			if (*s != ',' && *s != '\0') {
				report(p, p->line,
				       "%s: put a comma after the phrase "
				       "\"%.*s\"",
				       key, (int)(end - start), start);
				ret = -EINVAL;
				goto out;
			}
		} else {
			while (*s && *s != ',') {
				if (phrases && *s == '"') {
					report(p, p->line,
					       "%s: a quote inside an item; "
					       "put "
					       "quotes around the whole "
					       "phrase, "
					       "e.g. \"in the red\"",
					       key);
					ret = -EINVAL;
					goto out;
				}
				s++;
			}
			end = s;
			while (end > start &&
			       (end[-1] == ' ' || end[-1] == '\t')) {
				end--;
			}
		}
		if (end == start) {
			report(p, p->line,
			       quoted ? "%s has an empty phrase \"\"; remove it"
				      : "%s has an empty item; remove the "
					"extra "
					"comma",
			       key);
			ret = -EINVAL;
			goto out;
		}
		item = strndup(start, (size_t)(end - start));
		if (!item) {
			ret = -ENOMEM;
			goto out;
		}
		if (phrases) {
			lower_str(item);
		}
		if (strv_has(v, n, item)) {
			free(item);
		} else {
			ret = strv_push(&v, &n, item);
			if (ret < 0) {
				goto out;
			}
		}
		if (*s == '\0') {
			break;
		}
		s++; /* the comma */
	}
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
out:
	free_strv(v, n);
	if (ret == -ENOMEM) {
		p->nomem = true;
	}
	return ret;
}

/* ---- typed keys ------------------------------------------------------- */

static void set_duration(struct parse *p, const char *key, const char *value,
			 int64_t *field)
{
	int64_t v;

	if (config_parse_duration(value, &v) < 0) {
		report(p, p->line,
		       "%s \"%.*s\": not a duration; use a number with s, m, "
		       "h or d (e.g. 30m)",
		       key, QV(value));
		return;
	}
	if (v == 0) {
		report(p, p->line,
		       "%s \"%.*s\": must be more than zero (e.g. 30m)", key,
		       QV(value));
		return;
	}
	*field = v;
}

static void set_int(struct parse *p, const char *key, const char *value,
		    int64_t lo, int64_t hi, int *field)
{
	int64_t v;
	int ret = parse_int(value, lo, hi, &v);

	if (ret == -ERANGE) {
		report(p, p->line,
		       "%s \"%.*s\": out of range; use a number from %lld to "
		       "%lld",
		       key, QV(value), (long long)lo, (long long)hi);
		return;
	}
	if (ret < 0) {
		report(p, p->line,
		       "%s \"%.*s\": not a whole number; use a number from "
		       "%lld to %lld",
		       key, QV(value), (long long)lo, (long long)hi);
		return;
	}
	*field = (int)v;
}

static void set_path(struct parse *p, const char *value, char **field)
{
	char *path = path_resolve(p->cfg->dir, value);

	if (!path) {
		p->nomem = true;
		return;
	}
	free(*field);
	*field = path;
}

static void set_timezone(struct parse *p, const char *value)
{
	const char *tzdir = getenv("TZDIR");
	char path[PATH_MAX];
	bool ok = true;
	int n;

	if (!tzdir || tzdir[0] != '/') {
		tzdir = ZONEINFO_DIR;
	}
	if (strcmp(value, "UTC") != 0) {
		/* A zone name is a relative path under the zoneinfo dir. */
		if (value[0] == '/' || strstr(value, "..")) {
			ok = false;
		}
		for (const char *c = value; ok && *c; c++) {
			if (!is_alnum(*c) && !strchr("/_+-.", *c)) {
				ok = false;
			}
		}
		n = snprintf(path, sizeof(path), "%s/%s", tzdir, value);
		if (ok &&
		    (n < 0 || (size_t)n >= sizeof(path) || !is_file(path))) {
			ok = false;
		}
	}
	if (!ok) {
		report(p, p->line,
		       "timezone \"%.*s\": no such time zone in %s; use a name "
		       "such as Europe/London, or UTC",
		       QV(value), tzdir);
		return;
	}
	set_str(p, &p->cfg->timezone, value);
}

static void set_daemon(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;
	const char *why;
	enum log_level level;

	switch (key) {
	case DK_DATABASE:
		set_path(p, value, &cfg->database);
		break;
	case DK_PUBLIC_URL:
		why = http_url_problem(value, true);
		if (why) {
			report(p, p->line,
			       "public_url \"%.*s\": %s (e.g. "
			       "https://news.example.org)",
			       QV(value), why);
			break;
		}
		set_str(p, &cfg->public_url, value);
		if (cfg->public_url) {
			size_t len = strlen(cfg->public_url);

			while (len > 0 && cfg->public_url[len - 1] == '/') {
				cfg->public_url[--len] = '\0';
			}
		}
		break;
	case DK_SECRET_FILE:
		set_path(p, value, &cfg->secret_file);
		break;
	case DK_PREVIOUS_SECRET_FILE:
		set_path(p, value, &cfg->previous_secret_file);
		break;
	case DK_CONFIRM_EXPIRY:
		set_duration(p, "confirm_expiry", value, &cfg->confirm_expiry);
		break;
	case DK_CONFIRMATIONS_PER_HOUR:
		set_int(p, "confirmations_per_hour", value, 1, 1000000,
			&cfg->confirmations_per_hour);
		break;
	case DK_TIMEZONE:
		set_timezone(p, value);
		break;
	case DK_LOG_LEVEL:
		if (log_level_parse(value, &level) < 0) {
			report(p, p->line,
			       "log_level \"%.*s\": use error, warning, info "
			       "or debug",
			       QV(value));
			break;
		}
		cfg->log_level = level;
		break;
	case DK_TEMPLATES:
		set_path(p, value, &cfg->templates_dir);
		if (cfg->templates_dir && !is_dir(cfg->templates_dir)) {
			report(p, p->line,
			       "templates \"%.*s\": no such directory (%s); "
			       "fix the path or remove the line to use %s",
			       QV(value), cfg->templates_dir,
			       BULLETIN_TEMPLATE_DIR);
		}
		break;
	}
}

static void set_fetch(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;
	int64_t v;

	switch (key) {
	case FK_TIMEOUT:
		set_duration(p, "timeout", value, &cfg->fetch_timeout);
		break;
	case FK_MAX_SIZE:
		if (config_parse_size(value, &v) < 0) {
			report(p, p->line,
			       "max_size \"%.*s\": not a size; use a number "
			       "with K, M or G (e.g. 10M)",
			       QV(value));
		} else if (v == 0) {
			report(p, p->line,
			       "max_size \"%.*s\": must be more than zero "
			       "(e.g. 10M)",
			       QV(value));
		} else {
			cfg->fetch_max_bytes = v;
		}
		break;
	case FK_CONNECTIONS:
		set_int(p, "connections", value, 1, 256,
			&cfg->fetch_connections);
		break;
	case FK_CA_FILE:
		set_path(p, value, &cfg->fetch_ca_file);
		if (cfg->fetch_ca_file && access(cfg->fetch_ca_file, R_OK) != 0)
			report(p, p->line,
			       "ca_file %s: cannot read it (%s); give the PEM "
			       "file of the authority that signs your feeds' "
			       "certificates",
			       cfg->fetch_ca_file, strerror(errno));
		break;
	case FK_PER_HOST:
		set_int(p, "per_host", value, 1, 64, &cfg->fetch_per_host);
		break;
	}
}

/* "ADDRESS" or "ADDRESS/BITS", IPv4 or IPv6. */
static int net_parse(const char *text, struct config_net *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;
	int64_t bits;

	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	out->prefix = max;
	if (slash) {
		if (parse_int(slash + 1, 0, max, &bits) < 0)
			return -EINVAL;
		out->prefix = (unsigned)bits;
	}
	return 0;
}

bool config_net_match(const struct config_net *net, int family,
		      const unsigned char *addr)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	unsigned full, rest;

	if (family == AF_INET6 && net->family == AF_INET &&
	    memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(mapped);
	}
	if (family != net->family)
		return false;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(addr, net->addr, full) != 0)
		return false;
	return !rest || ((addr[full] ^ net->addr[full]) &
			 (unsigned char)(0xff << (8 - rest))) == 0;
}

static void set_trusted_proxies(struct parse *p, const char *value)
{
	struct config_net *nets;
	char **v = NULL;
	size_t n = 0, i;

	if (split_list(p, "trusted_proxies", value, false, &v, &n) < 0)
		return;
	nets = calloc(n ? n : 1, sizeof(*nets));
	if (!nets) {
		free_strv(v, n);
		report(p, p->line, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if (net_parse(v[i], &nets[i]) < 0) {
			report(p, p->line,
			       "trusted_proxies \"%.*s\": use IP addresses "
			       "or networks, comma-separated (e.g. 127.0.0.1, "
			       "::1 or 10.0.0.0/8)",
			       QV(v[i]));
			free(nets);
			free_strv(v, n);
			return;
		}
	}
	free_strv(v, n);
	free(p->cfg->http_trusted_proxies);
	p->cfg->http_trusted_proxies = nets;
	p->cfg->n_http_trusted_proxies = n;
}

static void set_http(struct parse *p, int key, const char *value)
{
	int64_t v;

	if (key == HK_FORM_PER_IP) {
		set_int(p, "form_per_ip", value, 1, 1000000,
			&p->cfg->http_form_per_ip);
		return;
	}
	if (key == HK_FORM_MIN_TIME) {
		/* 0 turns the time trap off; a form lives an hour
		 * (SUBSCRIBE_FORM_LIFETIME), so it must be less. */
		if (config_parse_duration(value, &v) < 0 || v >= 3600)
			report(p, p->line,
			       "form_min_time \"%.*s\": use a duration under "
			       "1h, such as 3s, or 0 for none",
			       QV(value));
		else
			p->cfg->http_form_min_time = v;
		return;
	}
	if (key == HK_TRUSTED_PROXIES) {
		set_trusted_proxies(p, value);
		return;
	}
	if (key != HK_LISTEN) {
		return;
	}
	if (!hostport_valid(value, strlen(value), true)) {
		report(p, p->line,
		       "listen \"%.*s\": use HOST:PORT (e.g. 127.0.0.1:8025 or "
		       "[::1]:8025)",
		       QV(value));
		return;
	}
	set_str(p, &p->cfg->http_listen, value);
}

/* Checks scheme://host[:port] with at most a "/" after the authority. */
static const char *server_url_problem(const char *url, size_t sl)
{
	const char *host = url + sl + 3;
	const char *end = host + strcspn(host, "/?#");

	if (strncmp(url + sl, "://", 3) != 0) {
		return "write it as SCHEME://HOST[:PORT]";
	}
	if (memchr(host, '@', (size_t)(end - host))) {
		return "put the user name in username and the password in "
		       "password_file, not in the URL";
	}
	if (!hostport_valid(host, (size_t)(end - host), false)) {
		return "the host name (or port) is missing or not valid";
	}
	if (*end != '\0' && strcmp(end, "/") != 0) {
		return "remove the path after the host and port";
	}
	return NULL;
}

static void set_smtp_url(struct parse *p, const char *value)
{
	struct config *cfg = p->cfg;
	size_t sl = scheme_len(value);
	const char *why;
	char *dir, *url;

	if (scheme_is(value, sl, "maildir")) {
		const char *path = value + sl + 1;

		if (strncmp(path, "//", 2) == 0) {
			if (path[2] != '/') {
				report(p, p->line,
				       "url \"%.*s\": a maildir URL names a "
				       "directory: maildir:///absolute/path or "
				       "maildir:relative/path",
				       QV(value));
				return;
			}
			path += 2;
		}
		if (*path == '\0') {
			report(p, p->line,
			       "url \"%.*s\": give the maildir directory, e.g. "
			       "maildir:///var/lib/bulletin/outbox",
			       QV(value));
			return;
		}
		dir = path_resolve(cfg->dir, path);
		if (!dir) {
			p->nomem = true;
			return;
		}
		url = malloc(strlen(dir) + sizeof("maildir://"));
		if (!url) {
			free(dir);
			p->nomem = true;
			return;
		}
		memcpy(url, "maildir://", sizeof("maildir://") - 1);
		memcpy(url + sizeof("maildir://") - 1, dir, strlen(dir) + 1);
		free(cfg->smtp_url);
		free(cfg->smtp_maildir);
		cfg->smtp_url = url;
		cfg->smtp_maildir = dir;
		return;
	}
	if (!scheme_is(value, sl, "smtp") && !scheme_is(value, sl, "smtps")) {
		report(p, p->line,
		       "url \"%.*s\": use smtp://HOST[:PORT], "
		       "smtps://HOST[:PORT] or maildir:///PATH",
		       QV(value));
		return;
	}
	why = server_url_problem(value, sl);
	if (why) {
		report(p, p->line, "url \"%.*s\": %s", QV(value), why);
		return;
	}
	set_str(p, &cfg->smtp_url, value);
	free(cfg->smtp_maildir);
	cfg->smtp_maildir = NULL;
}

static void set_smtp(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;

	switch (key) {
	case MK_URL:
		set_smtp_url(p, value);
		break;
	case MK_USERNAME:
		set_str(p, &cfg->smtp_username, value);
		break;
	case MK_PASSWORD_FILE:
		set_path(p, value, &cfg->smtp_password_file);
		break;
	case MK_STARTTLS:
		if (parse_bool(value, &cfg->smtp_starttls) < 0) {
			report(p, p->line, "starttls \"%.*s\": use yes or no",
			       QV(value));
		}
		break;
	case MK_CONNECTIONS:
		set_int(p, "connections", value, 1, 64, &cfg->smtp_connections);
		break;
	case MK_CA_FILE:
		set_path(p, value, &cfg->smtp_ca_file);
		if (cfg->smtp_ca_file && access(cfg->smtp_ca_file, R_OK) != 0)
			report(p, p->line,
			       "ca_file %s: cannot read it (%s); give the PEM "
			       "file of the authority that signs your SMTP "
			       "server's certificate",
			       cfg->smtp_ca_file, strerror(errno));
		break;
	case MK_TIMEOUT:
		set_duration(p, "timeout", value, &cfg->smtp_timeout);
		break;
	case MK_RETRY:
		set_duration(p, "retry", value, &cfg->smtp_retry);
		break;
	case MK_GIVE_UP:
		set_duration(p, "give_up", value, &cfg->smtp_give_up);
		break;
	case MK_SUSPEND_AFTER:
		set_int(p, "suspend_after", value, 1, 100,
			&cfg->smtp_suspend_after);
		break;
	}
}

/* An IMAP folder name: no control characters, which could end the IMAP
 * command and start another (RELIABILITY F8). */
static void set_folder(struct parse *p, const char *key, const char *value,
		       char **field)
{
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			report(p, p->line,
			       "%s \"%.*s\": a folder name cannot contain "
			       "control characters or line breaks",
			       key, QV(value));
			return;
		}
	}
	set_str(p, field, value);
}

static void set_imap(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;
	int64_t v = 0;
	size_t sl;
	const char *why;

	switch (key) {
	case IK_URL:
		sl = scheme_len(value);
		if (!scheme_is(value, sl, "imap") &&
		    !scheme_is(value, sl, "imaps")) {
			report(p, p->line,
			       "url \"%.*s\": use imaps://HOST[:PORT] or "
			       "imap://HOST[:PORT]",
			       QV(value));
			break;
		}
		why = server_url_problem(value, sl);
		if (why) {
			report(p, p->line, "url \"%.*s\": %s", QV(value), why);
			break;
		}
		set_str(p, &cfg->imap_url, value);
		break;
	case IK_USERNAME:
		set_str(p, &cfg->imap_username, value);
		break;
	case IK_PASSWORD_FILE:
		set_path(p, value, &cfg->imap_password_file);
		break;
	case IK_POLL:
		set_duration(p, "poll", value, &cfg->imap_poll);
		break;
	case IK_RETRY:
		set_duration(p, "retry", value, &cfg->imap_retry);
		break;
	case IK_FOLDER:
		set_folder(p, "folder", value, &cfg->imap_folder);
		break;
	case IK_MOVE_TO:
		set_folder(p, "move_to", value, &cfg->imap_move_to);
		break;
	case IK_CA_FILE:
		set_path(p, value, &cfg->imap_ca_file);
		if (cfg->imap_ca_file && access(cfg->imap_ca_file, R_OK) != 0)
			report(p, p->line,
			       "ca_file %s: cannot read it (%s); give the PEM "
			       "file of the authority that signs your mail "
			       "server's certificate",
			       cfg->imap_ca_file, strerror(errno));
		break;
	case IK_MAX_SIZE:
		if (config_parse_size(value, &v) < 0 || v < 1024) {
			report(p, p->line,
			       "max_size \"%.*s\": use a size of at least 1K "
			       "with K, M or G (e.g. 25M)",
			       QV(value));
		} else {
			cfg->imap_max_size = v;
		}
		break;
	case IK_AUTHSERV_ID:
		if (!text_is_token(value)) {
			report(p, p->line,
			       "authserv_id \"%.*s\": use the host name your "
			       "mail server writes in Authentication-Results "
			       "(e.g. mx.example.org)",
			       QV(value));
			break;
		}
		set_str(p, &cfg->imap_authserv_id, value);
		break;
	}
}

static void set_list(struct parse *p, struct config_list *l, int key,
		     const char *value)
{
	char why[256];
	char **v = NULL;
	size_t n = 0;

	switch (key) {
	case LK_TITLE:
		set_str(p, &l->title, value);
		break;
	case LK_ADDRESS:
		if (!addr_valid(value, strlen(value))) {
			report(p, p->line,
			       "address \"%.*s\": not an email address; use "
			       "local@domain (e.g. staff-news@example.org)",
			       QV(value));
			break;
		}
		if (strchr(value, '+')) {
			report(p, p->line,
			       "address \"%.*s\": a list address cannot "
			       "contain '+', which bulletin uses for commands "
			       "(LIST+subscribe@…)",
			       QV(value));
			break;
		}
		set_str(p, &l->address, value);
		break;
	case LK_FROM:
		if (!mailbox_valid(value)) {
			report(p, p->line,
			       "from \"%.*s\": use an address or Name "
			       "<address> (e.g. Staff News "
			       "<staff-news@example.org>)",
			       QV(value));
			break;
		}
		set_str(p, &l->from, value);
		break;
	case LK_SCHEDULE:
		if (schedule_parse(value, &l->schedule, why, sizeof(why)) < 0) {
			report(p, p->line, "schedule \"%.*s\": %s", QV(value),
			       why);
			break;
		}
		set_str(p, &l->schedule_text, value);
		break;
	case LK_TEMPLATE:
		/* Resolved at the end, once templates is known. */
		set_str(p, &l->template_path, value);
		break;
	case LK_SOURCES:
		if (split_list(p, "sources", value, false, &v, &n) == 0) {
			free_strv(l->sources, l->n_sources);
			l->sources = v;
			l->n_sources = n;
		}
		break;
	case LK_THEMES:
		if (split_list(p, "themes", value, false, &v, &n) == 0) {
			free_strv(l->themes, l->n_themes);
			l->themes = v;
			l->n_themes = n;
		}
		break;
	case LK_SUBSCRIBE:
		if (strcmp(value, "open") == 0) {
			l->subscribe = SUBSCRIBE_OPEN;
		} else if (strcmp(value, "confirm") == 0) {
			l->subscribe = SUBSCRIBE_CONFIRM;
		} else if (strcmp(value, "approve") == 0) {
			l->subscribe = SUBSCRIBE_APPROVE;
		} else {
			report(p, p->line,
			       "subscribe \"%.*s\": use open, confirm or "
			       "approve",
			       QV(value));
		}
		break;
	case LK_ALLOW:
		if (split_list(p, "allow", value, false, &v, &n) < 0) {
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (!addr_or_domain_valid(v[i])) {
				report(p, p->line,
				       "allow \"%.*s\": use @domain or a full "
				       "address (e.g. @example.org)",
				       QV(v[i]));
				free_strv(v, n);
				return;
			}
			lower_str(v[i]);
		}
		free_strv(l->allow, l->n_allow);
		l->allow = v;
		l->n_allow = n;
		break;
	case LK_NOTHING_NEW:
		if (parse_bool(value, &l->nothing_new) < 0)
			report(p, p->line,
			       "nothing_new \"%.*s\": use yes or no",
			       QV(value));
		break;
	}
}

static void set_source_url(struct parse *p, struct config_source *s,
			   const char *value)
{
	size_t sl = scheme_len(value);
	const char *why;
	char *path, *url;

	if (sl == 0) {
		/* A path: relative ones are relative to the config file. */
		path = path_resolve(p->cfg->dir, value);
		url = path ? file_url(path) : NULL;
		free(path);
		if (!url) {
			p->nomem = true;
			return;
		}
		free(s->url);
		s->url = url;
		return;
	}
	if (scheme_is(value, sl, "file")) {
		if (strncmp(value + sl, ":///", 4) != 0) {
			report(p, p->line,
			       "url \"%.*s\": a file URL must be absolute "
			       "(file:///path/feed.xml); or give a path "
			       "relative to this file",
			       QV(value));
			return;
		}
		if (strpbrk(value, " \t")) {
			report(p, p->line,
			       "url \"%.*s\": a URL cannot contain spaces; "
			       "write them as %%20",
			       QV(value));
			return;
		}
		set_str(p, &s->url, value);
		return;
	}
	if (!scheme_is(value, sl, "http") && !scheme_is(value, sl, "https")) {
		report(p, p->line,
		       "url \"%.*s\": unsupported scheme \"%.*s\"; use "
		       "http://, https://, file:///path or a path relative to "
		       "this file",
		       QV(value), (int)sl, value);
		return;
	}
	why = http_url_problem(value, false);
	if (why) {
		report(p, p->line, "url \"%.*s\": %s", QV(value), why);
		return;
	}
	set_str(p, &s->url, value);
}

static void set_source(struct parse *p, struct config_source *s, int key,
		       const char *value)
{
	int64_t v = 0;
	char *c;

	switch (key) {
	case SK_TITLE:
		set_str(p, &s->title, value);
		break;
	case SK_TYPE:
		if (strcmp(value, "feed") == 0) {
			s->type = SOURCE_FEED;
		} else if (strcmp(value, "mailbox") == 0) {
			s->type = SOURCE_MAILBOX;
		} else {
			report(p, p->line, "type \"%.*s\": use feed or mailbox",
			       QV(value));
		}
		break;
	case SK_URL:
		set_source_url(p, s, value);
		break;
	case SK_FOLDER:
		set_folder(p, "folder", value, &s->folder);
		break;
	case SK_FROM:
		if (!addr_or_domain_valid(value)) {
			report(p, p->line,
			       "from \"%.*s\": use the sender's address or "
			       "@domain (e.g. briefings@union.example.org)",
			       QV(value));
			break;
		}
		c = str_dup(p, value);
		if (c) {
			lower_str(c);
			free(s->from);
			s->from = c;
		}
		break;
	case SK_INTERVAL:
		v = s->interval;
		set_duration(p, "interval", value, &v);
		s->interval = v;
		break;
	case SK_PRIORITY:
		set_int(p, "priority", value, -1000, 1000, &s->priority);
		break;
	case SK_SPLIT:
		if (parse_bool(value, &s->split) < 0)
			report(p, p->line, "split \"%.*s\": use yes or no",
			       QV(value));
		break;
	}
}

static void set_theme(struct parse *p, struct config_theme *t, int key,
		      const char *value)
{
	char **v = NULL;
	size_t n = 0;

	switch (key) {
	case TK_TITLE:
		set_str(p, &t->title, value);
		break;
	case TK_KEYWORDS:
		if (split_list(p, "keywords", value, true, &v, &n) == 0) {
			free_strv(t->keywords, t->n_keywords);
			t->keywords = v;
			t->n_keywords = n;
		}
		break;
	}
}

/* "80%" or "0.8" as a share from 0 to 1 (exclusive of 0). */
static int parse_share(const char *value, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || !(v > 0))
		return -EINVAL;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end != '\0' || v > 1)
		return -EINVAL;
	*out = v;
	return 0;
}

static void set_share(struct parse *p, const char *key, const char *value,
		      double *field)
{
	if (parse_share(value, field) < 0)
		report(p, p->line,
		       "%s \"%.*s\": use a share above 0 and at most 100%% "
		       "(e.g. 80%% or 0.8)",
		       key, QV(value));
}

static void set_dedupe(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;

	switch (key) {
	case DDK_SIMILAR:
		set_share(p, "similar", value, &cfg->dedupe_similar);
		break;
	case DDK_CONTAINED:
		set_share(p, "contained", value, &cfg->dedupe_contained);
		break;
	case DDK_MIN_WORDS:
		set_int(p, "min_words", value, 3, 100000,
			&cfg->dedupe_min_words);
		break;
	}
}

static void set_classify(struct parse *p, int key, const char *value)
{
	struct config *cfg = p->cfg;

	switch (key) {
	case CK_MIN_SCORE:
		set_int(p, "min_score", value, 1, 1000, &cfg->theme_min_score);
		break;
	case CK_TITLE_WEIGHT:
		set_int(p, "title_weight", value, 1, 100,
			&cfg->theme_title_weight);
		break;
	}
}

/* ---- sections --------------------------------------------------------- */

static const char *sect_name(const struct parse *p, const struct sect *s)
{
	switch (s->kind) {
	case SECT_LIST:
		return p->cfg->lists[s->idx].name;
	case SECT_SOURCE:
		return p->cfg->sources[s->idx].name;
	case SECT_THEME:
		return p->cfg->themes[s->idx].name;
	default:
		return NULL;
	}
}

/* "[list staff-news]" or "[daemon]" into out. */
static const char *sect_label(const struct parse *p, const struct sect *s,
			      char *out, size_t len)
{
	const char *name = sect_name(p, s);

	if (name) {
		snprintf(out, len, "[%s %s]", sect_defs[s->kind].name, name);
	} else {
		snprintf(out, len, "[%s]", sect_defs[s->kind].name);
	}
	return out;
}

static long sect_find(const struct parse *p, enum sect_kind kind,
		      const char *name)
{
	for (size_t i = 0; i < p->n_sects; i++) {
		const struct sect *s = &p->sects[i];
		const char *sn;

		if (s->kind != kind) {
			continue;
		}
		sn = sect_name(p, s);
		if (!name || (sn && strcmp(sn, name) == 0)) {
			return (long)i;
		}
	}
	return -1;
}

/* Grows the named array of cfg for kind by one zeroed element. */
static int named_add(struct parse *p, enum sect_kind kind, const char *name,
		     size_t *idx)
{
	struct config *cfg = p->cfg;
	char *copy = strdup(name);
	void *nv;

	if (!copy) {
		return -ENOMEM;
	}
	switch (kind) {
	case SECT_LIST:
		nv = realloc(cfg->lists,
			     (cfg->n_lists + 1) * sizeof(*cfg->lists));
		if (!nv) {
			break;
		}
		cfg->lists = nv;
		*idx = cfg->n_lists++;
		cfg->lists[*idx] = (struct config_list){
			.name = copy,
			.subscribe = SUBSCRIBE_CONFIRM,
			.line = p->line,
		};
		return 0;
	case SECT_SOURCE:
		nv = realloc(cfg->sources,
			     (cfg->n_sources + 1) * sizeof(*cfg->sources));
		if (!nv) {
			break;
		}
		cfg->sources = nv;
		*idx = cfg->n_sources++;
		cfg->sources[*idx] = (struct config_source){
			.name = copy,
			.type = SOURCE_FEED,
			.interval = 30 * 60,
			.split = true,
			.line = p->line,
		};
		return 0;
	case SECT_THEME:
		nv = realloc(cfg->themes,
			     (cfg->n_themes + 1) * sizeof(*cfg->themes));
		if (!nv) {
			break;
		}
		cfg->themes = nv;
		*idx = cfg->n_themes++;
		cfg->themes[*idx] = (struct config_theme){
			.name = copy,
			.line = p->line,
		};
		return 0;
	default:
		break;
	}
	free(copy);
	return -ENOMEM;
}

static int sect_add(struct parse *p, enum sect_kind kind, const char *name)
{
	struct sect *s;
	size_t idx = 0;

	if (p->n_sects == p->cap_sects) {
		size_t cap = p->cap_sects ? p->cap_sects * 2 : 16;
		struct sect *ns = realloc(p->sects, cap * sizeof(*ns));

		if (!ns) {
			return -ENOMEM;
		}
		p->sects = ns;
		p->cap_sects = cap;
	}
	if (name && named_add(p, kind, name, &idx) < 0) {
		return -ENOMEM;
	}
	s = &p->sects[p->n_sects];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->idx = idx;
	s->line = p->line;
	p->cur = (long)p->n_sects++;
	return 0;
}

static void section_list_hint(char *out, size_t len)
{
	snprintf(out, len,
		 "sections are [daemon], [fetch], [http], [smtp], [imap], "
		 "[dedupe], [classify], [list NAME], [source NAME] and "
		 "[theme NAME]");
}

/* Handles the text between '[' and ']' of a header on the current line. */
static void on_section(struct parse *p, const char *inner, size_t len)
{
	char text[256], hint[160], label[300];
	const char *type, *name = NULL;
	const char *names[SECT__COUNT];
	enum sect_kind kind = SECT_NONE;
	const char *near;
	char *sp;
	long found;

	p->cur = -1;
	p->state = SECT_BAD;
	while (len > 0 && is_space(*inner)) {
		inner++;
		len--;
	}
	while (len > 0 && is_space(inner[len - 1])) {
		len--;
	}
	if (len == 0) {
		section_list_hint(hint, sizeof(hint));
		report(p, p->line, "empty section header []; %s", hint);
		return;
	}
	if (len >= sizeof(text)) {
		report(p, p->line, "section header is too long");
		return;
	}
	memcpy(text, inner, len);
	text[len] = '\0';
	if (has_control(text)) {
		report(p, p->line,
		       "section header contains a control character; remove "
		       "it");
		return;
	}
	type = text;
	sp = text + strcspn(text, " \t");
	if (*sp) {
		*sp++ = '\0';
		while (is_space(*sp)) {
			sp++;
		}
		name = sp;
	}

	for (int k = 0; k < SECT__COUNT; k++) {
		names[k] = sect_defs[k].name;
		if (names[k] && strcmp(type, names[k]) == 0) {
			kind = (enum sect_kind)k;
		}
	}
	if (kind == SECT_NONE) {
		near = nearest(type, names, SECT__COUNT);
		if (near) {
			report(p, p->line,
			       "unknown section [%.*s]; did you mean [%s%s%s]?",
			       (int)len, inner, near, name ? " " : "",
			       name ? name : "");
		} else {
			section_list_hint(hint, sizeof(hint));
			report(p, p->line, "unknown section [%.*s]; %s",
			       (int)len, inner, hint);
		}
		return;
	}
	if (sect_defs[kind].named && !name) {
		report(p, p->line, "section [%s] needs a name, e.g. [%s %s]",
		       type, type,
		       kind == SECT_LIST     ? "staff-news"
		       : kind == SECT_SOURCE ? "union-briefings"
					     : "workload");
		return;
	}
	if (!sect_defs[kind].named && name) {
		report(p, p->line, "section [%s] takes no name; write [%s]",
		       type, type);
		name = NULL;
	}
	if (name && !name_valid(name)) {
		report(p, p->line,
		       "invalid name \"%s\" in [%s %s]: use lower-case "
		       "letters, "
		       "digits, '-', '_' and '.', starting with a letter or "
		       "digit",
		       name, type, name);
	}
	found = sect_find(p, kind, name);
	if (found >= 0) {
		report(p, p->line,
		       "duplicate section %s (first at line %d); merge the two",
		       sect_label(p, &p->sects[found], label, sizeof(label)),
		       p->sects[found].line);
		p->cur = found;
		return;
	}
	if (sect_add(p, kind, name) < 0) {
		p->nomem = true;
		p->cur = -1;
	}
}

/* ---- the reader and the handler --------------------------------------- */

/* inih's find_chars_or_comment: the first of chars, or an inline ';'
 * that follows whitespace, or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && (!chars || !strchr(chars, *s)) &&
	       !(was_space && *s == ';')) {
		was_space = is_space(*s);
		s++;
	}
	return s;
}

/*
 * Looks at one raw line the way inih will, handles section headers and
 * reports what inih would refuse. Returns false if the line must be
 * hidden from inih (it is replaced by an empty line).
 */
static bool check_line(struct parse *p, const char *line, size_t len)
{
	const char *start = line, *end;
	char shown[48];

	if (strlen(line) != len) {
		report(p, p->line,
		       "line contains a NUL byte; save the file as plain text");
		return false;
	}
	if (len > CONFIG_MAX_LINE) {
		report(p, p->line,
		       "line is longer than %d characters; shorten it",
		       CONFIG_MAX_LINE);
		return false;
	}
	if (p->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0) {
		start += 3;
	}
	while (is_space(*start)) {
		start++;
	}
	if (*start == '\0' || *start == ';' || *start == '#') {
		return true;
	}
	if (*start == '[') {
		end = find_chars_or_comment(start + 1, "]");
		if (*end != ']') {
			report(p, p->line,
			       "section header without ']'; write e.g. "
			       "[list staff-news]");
			p->cur = -1;
			p->state = SECT_BAD;
			return false;
		}
		on_section(p, start + 1, (size_t)(end - start - 1));
		for (end++; is_space(*end); end++) {
		}
		if (*end != '\0' && *end != ';' && *end != '#') {
			report(p, p->line,
			       "unexpected text after ']'; start comments "
			       "with ';' or '#'");
		}
		return true;
	}
	end = find_chars_or_comment(start, "=:");
	if (*end == '=' || *end == ':') {
		return true;
	}
	len = strcspn(start, "\r\n");
	snprintf(shown, sizeof(shown), "%.*s%s", len > 40 ? 40 : (int)len,
		 start, len > 40 ? "..." : "");
	for (char *c = shown; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*c = '?';
		}
	}
	report(p, p->line,
	       "expected \"key = value\" or \"[section]\", not \"%s\"", shown);
	return false;
}

static char *config_ini_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;

	n = getline(&p->raw, &p->rawcap, p->fp);
	if (n < 0) {
		return NULL;
	}
	p->line++;
	if (!check_line(p, p->raw, (size_t)n) || (size_t)n + 1 > (size_t)num) {
		/* Keep inih's line count in step. */
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, p->raw, (size_t)n + 1);
	return str;
}

static int key_find(const char *const *keys, const char *name)
{
	for (int i = 0; keys[i]; i++) {
		if (strcmp(keys[i], name) == 0) {
			return i;
		}
	}
	return -1;
}

static void report_unknown_key(struct parse *p, struct sect *s,
			       const char *name)
{
	const char *const *keys = sect_defs[s->kind].keys;
	const char *near = nearest(name, keys, strv_len(keys));
	char label[300], elsewhere[160], known[200];
	size_t o = 0;

	sect_label(p, s, label, sizeof(label));
	if (near) {
		report(p, p->line,
		       "unknown key \"%s\" in %s; did you mean \"%s\"?", name,
		       label, near);
		s->key_guessed[key_find(keys, near)] = true;
		return;
	}
	/* A key of another section, put under the wrong header? */
	elsewhere[0] = '\0';
	for (int k = SECT_DAEMON; k < SECT__COUNT; k++) {
		int n;

		if (k == (int)s->kind ||
		    key_find(sect_defs[k].keys, name) < 0) {
			continue;
		}
		n = snprintf(elsewhere + o, sizeof(elsewhere) - o, "%s[%s%s]",
			     o ? " or " : "", sect_defs[k].name,
			     sect_defs[k].named ? " NAME" : "");
		if (n < 0 || (size_t)n >= sizeof(elsewhere) - o) {
			break;
		}
		o += (size_t)n;
	}
	if (o > 0) {
		report(p, p->line,
		       "unknown key \"%s\" in %s; \"%s\" belongs in %s", name,
		       label, name, elsewhere);
		return;
	}
	o = 0;
	known[0] = '\0';
	for (size_t i = 0; keys[i]; i++) {
		int n = snprintf(known + o, sizeof(known) - o, "%s%s",
				 i ? ", " : "", keys[i]);

		if (n < 0 || (size_t)n >= sizeof(known) - o) {
			break;
		}
		o += (size_t)n;
	}
	report(p, p->line, "unknown key \"%s\" in %s; the keys there are %s",
	       name, label, known);
}

static int config_ini_handler(void *user, const char *section, const char *name,
			      const char *value)
{
	struct parse *p = user;
	struct sect *s;
	char label[300];
	int key;

	if (has_control(name)) {
		if (p->state != SECT_BAD || p->cur >= 0) {
			report(p, p->line,
			       "a key name contains a control character (such "
			       "as CR or LF); remove it");
		}
		return 1;
	}
	if (p->cur < 0) {
		if (p->state == SECT_NONE) {
			report(p, p->line,
			       "\"%s\" is outside any section; put it under a "
			       "header such as [daemon]",
			       name);
		}
		return 1;
	}
	s = &p->sects[p->cur];
	if (name[0] == '\0') {
		report(p, p->line, "missing key name before '='");
		return 1;
	}
	key = key_find(sect_defs[s->kind].keys, name);
	if (key < 0) {
		report_unknown_key(p, s, name);
		return 1;
	}
	if (s->key_line[key]) {
		report(p, p->line,
		       "duplicate key \"%s\" in %s (first at line %d); keep "
		       "one",
		       name, sect_label(p, s, label, sizeof(label)),
		       s->key_line[key]);
		return 1;
	}
	s->key_line[key] = p->line;
	if (!value_clean(p, name, value)) {
		return 1;
	}
	if (value[0] == '\0') {
		report(p, p->line,
		       "\"%s\" is empty; give a value or remove the line",
		       name);
		return 1;
	}
	switch (s->kind) {
	case SECT_DAEMON:
		set_daemon(p, key, value);
		break;
	case SECT_FETCH:
		set_fetch(p, key, value);
		break;
	case SECT_HTTP:
		set_http(p, key, value);
		break;
	case SECT_SMTP:
		set_smtp(p, key, value);
		break;
	case SECT_IMAP:
		set_imap(p, key, value);
		break;
	case SECT_LIST:
		set_list(p, &p->cfg->lists[s->idx], key, value);
		break;
	case SECT_SOURCE:
		set_source(p, &p->cfg->sources[s->idx], key, value);
		break;
	case SECT_THEME:
		set_theme(p, &p->cfg->themes[s->idx], key, value);
		break;
	case SECT_DEDUPE:
		set_dedupe(p, key, value);
		break;
	case SECT_CLASSIFY:
		set_classify(p, key, value);
		break;
	default:
		break;
	}
	return 1;
}

/* ---- whole-file checks ------------------------------------------------ */

/* Whether a required key was given (or misspelt, and reported as such). */
static bool key_given(const struct sect *s, int key)
{
	return s->key_line[key] != 0 || s->key_guessed[key];
}

static void finish_daemon(struct parse *p)
{
	struct config *cfg = p->cfg;
	long d = sect_find(p, SECT_DAEMON, NULL);
	long m = sect_find(p, SECT_SMTP, NULL);
	long i = sect_find(p, SECT_IMAP, NULL);

	if (d < 0) {
		report(p, 0,
		       "no [daemon] section; add one with public_url, the "
		       "base of links in emails (e.g. public_url = "
		       "https://news.example.org)");
	} else if (!key_given(&p->sects[d], DK_PUBLIC_URL)) {
		report(p, p->sects[d].line,
		       "[daemon] needs public_url, the base of links in "
		       "emails (e.g. public_url = https://news.example.org)");
	}
	if (m >= 0 && p->sects[m].key_line[MK_STARTTLS] && cfg->smtp_starttls &&
	    cfg->smtp_url) {
		if (cfg->smtp_maildir) {
			report(p, p->sects[m].key_line[MK_STARTTLS],
			       "starttls does not apply to maildir delivery; "
			       "remove it");
		} else if (strncasecmp(cfg->smtp_url, "smtps:", 6) == 0) {
			report(p, p->sects[m].key_line[MK_STARTTLS],
			       "starttls is for smtp:// URLs; smtps:// is "
			       "encrypted already, so remove it");
		}
	}
	if (i >= 0 && !key_given(&p->sects[i], IK_URL)) {
		report(p, p->sects[i].line,
		       "[imap] needs url (e.g. url = "
		       "imaps://mail.example.org:993)");
	}

	set_default(p, &cfg->database, "/var/lib/bulletin/bulletin.db");
	set_default(p, &cfg->secret_file, "/etc/bulletin/secret");
	set_default(p, &cfg->timezone, "UTC");
	set_default(p, &cfg->templates_dir, BULLETIN_TEMPLATE_DIR);
	set_default(p, &cfg->http_listen, "127.0.0.1:8025");
	set_default(p, &cfg->smtp_url, "smtp://127.0.0.1:25");
	set_default(p, &cfg->imap_folder, "INBOX");
}

static void finish_sources(struct parse *p)
{
	struct config *cfg = p->cfg;
	char label[300];

	for (size_t k = 0; k < p->n_sects; k++) {
		const struct sect *s = &p->sects[k];
		struct config_source *src;

		if (s->kind != SECT_SOURCE) {
			continue;
		}
		src = &cfg->sources[s->idx];
		set_default(p, &src->title, src->name);
		sect_label(p, s, label, sizeof(label));
		if (src->type == SOURCE_FEED) {
			if (!key_given(s, SK_URL)) {
				report(p, s->line,
				       "%s needs url (e.g. url = "
				       "https://example.org/feed.xml)",
				       label);
			}
			if (s->key_line[SK_FOLDER]) {
				report(p, s->key_line[SK_FOLDER],
				       "\"folder\" is only for mailbox "
				       "sources; set type = mailbox or remove "
				       "it");
			}
			if (s->key_line[SK_FROM]) {
				report(p, s->key_line[SK_FROM],
				       "\"from\" is only for mailbox sources; "
				       "set type = mailbox or remove it");
			}
			if (s->key_line[SK_SPLIT]) {
				report(p, s->key_line[SK_SPLIT],
				       "\"split\" is only for mailbox sources; "
				       "set type = mailbox or remove it");
			}
			continue;
		}
		if (!key_given(s, SK_FOLDER)) {
			report(p, s->line,
			       "%s is a mailbox source and needs folder (e.g. "
			       "folder = Briefings)",
			       label);
		}
		if (s->key_line[SK_URL]) {
			report(p, s->key_line[SK_URL],
			       "\"url\" is only for feed sources; remove it or "
			       "set type = feed");
		}
		if (!key_given(s, SK_FROM)) {
			report(p, s->line,
			       "%s is a mailbox source and needs from, the "
			       "sender whose mail becomes briefings (e.g. from "
			       "= briefings@union.example.org, or "
			       "@union.example.org)",
			       label);
		}
	}
}

static void finish_themes(struct parse *p)
{
	struct config *cfg = p->cfg;
	char label[300];

	for (size_t k = 0; k < p->n_sects; k++) {
		const struct sect *s = &p->sects[k];
		struct config_theme *t;

		if (s->kind != SECT_THEME) {
			continue;
		}
		t = &cfg->themes[s->idx];
		set_default(p, &t->title, t->name);
		sect_label(p, s, label, sizeof(label));
		if (strcmp(t->name, "other") == 0) {
			if (s->key_line[TK_KEYWORDS]) {
				report(p, s->key_line[TK_KEYWORDS],
				       "[theme other] collects the items that "
				       "match no theme and takes no keywords; "
				       "remove them or rename the section");
			}
			continue;
		}
		if (!key_given(s, TK_KEYWORDS)) {
			report(p, s->line,
			       "%s needs keywords (e.g. keywords = pay, "
			       "\"pay award\")",
			       label);
		}
	}
}

/* Checks that every name in v is a section of kind; reports at line. */
static void check_refs(struct parse *p, const char *key, char **v, size_t n,
		       enum sect_kind kind, int line)
{
	const char **names = NULL;
	size_t n_names = p->cfg->n_sources;
	const char *near;

	if (kind == SECT_THEME) {
		n_names = p->cfg->n_themes;
	}
	names = calloc(n_names + 1, sizeof(*names));
	if (!names) {
		p->nomem = true;
		return;
	}
	for (size_t i = 0; i < n_names; i++) {
		names[i] = kind == SECT_THEME ? p->cfg->themes[i].name
					      : p->cfg->sources[i].name;
	}
	for (size_t i = 0; i < n; i++) {
		if (sect_find(p, kind, v[i]) >= 0) {
			continue;
		}
		if (kind == SECT_THEME && strcmp(v[i], "other") == 0) {
			continue;
		}
		near = nearest(v[i], names, n_names);
		if (near) {
			report(p, line,
			       "%s: there is no [%s %s]; did you mean "
			       "\"%s\"?",
			       key, sect_defs[kind].name, v[i], near);
		} else {
			report(p, line,
			       "%s: there is no [%s %s]; add that section or "
			       "fix the name",
			       key, sect_defs[kind].name, v[i]);
		}
	}
	free(names);
}

static void resolve_template(struct parse *p, struct config_list *l, int line)
{
	const char *name =
		l->template_path ? l->template_path : DEFAULT_TEMPLATE;
	char *local = NULL, *shared = NULL, *found = NULL;

	if (name[0] == '/') {
		if (!is_file(name)) {
			report(p, line, "template \"%.*s\" not found",
			       QV(name));
			return;
		}
		found = str_dup(p, name);
		goto out;
	}
	local = path_resolve(p->cfg->dir, name);
	shared = path_resolve(p->cfg->templates_dir, name);
	if (!local || !shared) {
		p->nomem = true;
		goto out;
	}
	if (is_file(local)) {
		found = local;
		local = NULL;
	} else if (is_file(shared)) {
		found = shared;
		shared = NULL;
	} else {
		report(p, line,
		       "template \"%.*s\" not found in %s or %s; fix the "
		       "name or set templates in [daemon]",
		       QV(name), p->cfg->dir, p->cfg->templates_dir);
	}
out:
	if (found) {
		free(l->template_path);
		l->template_path = found;
	}
	free(local);
	free(shared);
}

static int add_all_names(struct parse *p, char ***v, size_t *n,
			 enum sect_kind kind)
{
	size_t count =
		kind == SECT_THEME ? p->cfg->n_themes : p->cfg->n_sources;

	for (size_t i = 0; i < count; i++) {
		const char *name = kind == SECT_THEME ? p->cfg->themes[i].name
						      : p->cfg->sources[i].name;
		char *c;

		if (strv_has(*v, *n, name)) {
			continue;
		}
		c = strdup(name);
		if (!c || strv_push(v, n, c) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

static void finish_lists(struct parse *p)
{
	struct config *cfg = p->cfg;
	char label[300];

	for (size_t k = 0; k < p->n_sects; k++) {
		const struct sect *s = &p->sects[k];
		struct config_list *l;
		char *other;

		if (s->kind != SECT_LIST) {
			continue;
		}
		l = &cfg->lists[s->idx];
		sect_label(p, s, label, sizeof(label));
		set_default(p, &l->title, l->name);
		if (!key_given(s, LK_ADDRESS)) {
			report(p, s->line,
			       "%s needs address, the list's email address "
			       "(e.g. address = %s@example.org)",
			       label, l->name);
		} else if (l->address) {
			set_default(p, &l->from, l->address);
		}
		if (!key_given(s, LK_SCHEDULE)) {
			report(p, s->line,
			       "%s needs schedule (e.g. schedule = weekly mon "
			       "07:30)",
			       label);
		}
		if (s->key_line[LK_SOURCES]) {
			check_refs(p, "sources", l->sources, l->n_sources,
				   SECT_SOURCE, s->key_line[LK_SOURCES]);
		} else if (add_all_names(p, &l->sources, &l->n_sources,
					 SECT_SOURCE) < 0) {
			p->nomem = true;
		}
		if (s->key_line[LK_THEMES]) {
			check_refs(p, "themes", l->themes, l->n_themes,
				   SECT_THEME, s->key_line[LK_THEMES]);
		} else if (add_all_names(p, &l->themes, &l->n_themes,
					 SECT_THEME) < 0) {
			p->nomem = true;
		}
		if (!strv_has(l->themes, l->n_themes, "other")) {
			other = strdup("other");
			if (!other ||
			    strv_push(&l->themes, &l->n_themes, other) < 0) {
				p->nomem = true;
			}
		}
		resolve_template(p, l,
				 s->key_line[LK_TEMPLATE]
					 ? s->key_line[LK_TEMPLATE]
					 : s->line);
	}
}

/* ---- public ----------------------------------------------------------- */

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	/* Problems with the file as a whole (line 0) come last. */
	long lx = x->line ? x->line : INT_MAX;
	long ly = y->line ? y->line : INT_MAX;

	if (lx != ly) {
		return lx < ly ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void parse_finish(struct parse *p)
{
	free(p->raw);
	free(p->sects);
	for (size_t i = 0; i < p->n_diags; i++) {
		free(p->diags[i].msg);
	}
	free(p->diags);
}

/* inih's process-wide options, saved and restored around one parse. */
struct ini_opts {
	bool multiline, use_stack, realloc_, inline_comments, stop_first,
		no_value, bom;
	int max_line, initial_alloc;
	char *inline_prefixes, *start_prefixes;
};

static char inline_prefixes[] = ";";
static char start_prefixes[] = ";#";

static void ini_opts_swap(struct ini_opts *save)
{
	struct ini_opts cur = {
		.multiline = ini_allow_multiline,
		.use_stack = ini_use_stack,
		.realloc_ = ini_allow_realloc,
		.inline_comments = ini_allow_inline_comments,
		.stop_first = ini_stop_on_first_error,
		.no_value = ini_allow_no_value,
		.bom = ini_allow_bom,
		.max_line = ini_max_line,
		.initial_alloc = ini_initial_alloc,
		.inline_prefixes = ini_inline_comment_prefixes,
		.start_prefixes = ini_start_comment_prefixes,
	};

	ini_allow_multiline = save->multiline;
	ini_use_stack = save->use_stack;
	ini_allow_realloc = save->realloc_;
	ini_allow_inline_comments = save->inline_comments;
	ini_stop_on_first_error = save->stop_first;
	ini_allow_no_value = save->no_value;
	ini_allow_bom = save->bom;
	ini_max_line = save->max_line;
	ini_initial_alloc = save->initial_alloc;
	ini_inline_comment_prefixes = save->inline_prefixes;
	ini_start_comment_prefixes = save->start_prefixes;
	*save = cur;
}

static int parse_file(struct parse *p)
{
	/* Indented lines are keys, not continuations; lines up to
	 * CONFIG_MAX_LINE fit inih's heap buffer in one read. */
	struct ini_opts opts = {
		.multiline = false,
		.use_stack = false,
		.realloc_ = false,
		.inline_comments = true,
		.stop_first = false,
		.no_value = false,
		.bom = true,
		.max_line = CONFIG_MAX_LINE + 3,
		.initial_alloc = CONFIG_MAX_LINE + 3,
		.inline_prefixes = inline_prefixes,
		.start_prefixes = start_prefixes,
	};
	int ret;

	ini_opts_swap(&opts);
	ret = ini_parse_stream(config_ini_reader, p, config_ini_handler, p);
	ini_opts_swap(&opts);
	if (ret == -2) {
		p->nomem = true;
	} else if (ret > 0 && !has_diag_at(p, ret)) {
		/* The reader should have caught whatever inih refused. */
		report(p, ret, "cannot parse this line; write \"key = value\"");
	}
	return 0;
}

int config_load(const char *path, config_error_fn *on_error, void *arg,
		struct config **out)
{
	struct parse p = {.cur = -1, .state = SECT_NONE};
	struct config *cfg = NULL;
	struct stat st;
	char msg[300];
	int ret = 0;

	if (out) {
		*out = NULL;
	}
	if (CHECK_FAILS(path != NULL && out != NULL)) {
		return -EINVAL;
	}
	p.fp = fopen(path, "r");
	if (!p.fp || fstat(fileno(p.fp), &st) < 0 || S_ISDIR(st.st_mode)) {
		ret = !p.fp ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : -errno;
		snprintf(msg, sizeof(msg), "cannot open config file: %s",
			 strerror(-ret));
		if (on_error) {
			on_error(path, 0, msg, arg);
		}
		goto out;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		ret = -ENOMEM;
		goto out;
	}
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->fetch_timeout = 30;
	cfg->fetch_max_bytes = INT64_C(64) << 20;
	cfg->fetch_connections = 8;
	cfg->confirm_expiry = 7 * 86400;
	cfg->confirmations_per_hour = 100;
	cfg->http_form_per_ip = 10;
	cfg->http_form_min_time = 3;
	cfg->fetch_per_host = 2;
	cfg->smtp_connections = 4;
	cfg->smtp_timeout = 10 * 60;
	cfg->smtp_retry = 5 * 60;
	cfg->smtp_give_up = 3 * 24 * 3600;
	cfg->smtp_suspend_after = 3;
	cfg->imap_poll = 2 * 60;
	cfg->imap_retry = 30;
	cfg->imap_max_size = 25 * 1024 * 1024;
	cfg->dedupe_similar = CONFIG_DEFAULT_SIMILAR;
	cfg->dedupe_contained = CONFIG_DEFAULT_CONTAINED;
	cfg->dedupe_min_words = CONFIG_DEFAULT_MIN_WORDS;
	cfg->theme_min_score = CONFIG_DEFAULT_MIN_SCORE;
	cfg->theme_title_weight = CONFIG_DEFAULT_TITLE_WEIGHT;
	cfg->path = strdup(path);
	cfg->dir = dir_of(path);
	if (!cfg->path || !cfg->dir) {
		ret = -ENOMEM;
		goto out;
	}
	p.cfg = cfg;

	parse_file(&p);
	if (ferror(p.fp)) {
		report(&p, 0, "cannot read config file: %s", strerror(errno));
		ret = -EIO;
	}
	finish_daemon(&p);
	finish_sources(&p);
	finish_themes(&p);
	finish_lists(&p);

	if (p.n_diags > 1) {
		qsort(p.diags, p.n_diags, sizeof(*p.diags), diag_cmp);
	}
	for (size_t i = 0; i < p.n_diags && on_error; i++) {
		on_error(path, p.diags[i].line, p.diags[i].msg, arg);
	}
	if (p.nomem) {
		ret = -ENOMEM;
	} else if (!ret && p.n_diags > 0) {
		ret = -EINVAL;
	}
	if (!ret) {
		*out = cfg;
		cfg = NULL;
	}
out:
	if (p.fp) {
		fclose(p.fp);
	}
	parse_finish(&p);
	config_destroy(cfg);
	return ret;
}

struct config *config_ref(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void config_destroy(struct config *cfg)
{
	if (cfg && cfg->refs > 0) {
		cfg->refs--;
		return;
	}
	if (!cfg) {
		return;
	}
	free(cfg->path);
	free(cfg->dir);
	free(cfg->database);
	free(cfg->public_url);
	free(cfg->secret_file);
	free(cfg->previous_secret_file);
	free(cfg->fetch_ca_file);
	free(cfg->timezone);
	free(cfg->templates_dir);
	free(cfg->http_listen);
	free(cfg->http_trusted_proxies);
	free(cfg->smtp_url);
	free(cfg->smtp_maildir);
	free(cfg->smtp_username);
	free(cfg->smtp_password_file);
	free(cfg->smtp_ca_file);
	free(cfg->imap_url);
	free(cfg->imap_username);
	free(cfg->imap_password_file);
	free(cfg->imap_folder);
	free(cfg->imap_move_to);
	free(cfg->imap_ca_file);
	free(cfg->imap_authserv_id);
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct config_source *s = &cfg->sources[i];

		free(s->name);
		free(s->title);
		free(s->url);
		free(s->folder);
		free(s->from);
	}
	free(cfg->sources);
	for (size_t i = 0; i < cfg->n_lists; i++) {
		struct config_list *l = &cfg->lists[i];

		free(l->name);
		free(l->title);
		free(l->address);
		free(l->from);
		free(l->schedule_text);
		free(l->template_path);
		free_strv(l->sources, l->n_sources);
		free_strv(l->themes, l->n_themes);
		free_strv(l->allow, l->n_allow);
	}
	free(cfg->lists);
	for (size_t i = 0; i < cfg->n_themes; i++) {
		struct config_theme *t = &cfg->themes[i];

		free(t->name);
		free(t->title);
		free_strv(t->keywords, t->n_keywords);
	}
	free(cfg->themes);
	free(cfg);
}

const struct config_source *config_source_find(const struct config *cfg,
					       const char *name)
{
	if (!cfg || !name) {
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_sources; i++) {
		if (strcmp(cfg->sources[i].name, name) == 0) {
			return &cfg->sources[i];
		}
	}
	return NULL;
}

const struct config_list *config_list_find(const struct config *cfg,
					   const char *name)
{
	if (!cfg || !name) {
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_lists; i++) {
		if (strcmp(cfg->lists[i].name, name) == 0) {
			return &cfg->lists[i];
		}
	}
	return NULL;
}

const struct config_theme *config_theme_find(const struct config *cfg,
					     const char *name)
{
	if (!cfg || !name) {
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_themes; i++) {
		if (strcmp(cfg->themes[i].name, name) == 0) {
			return &cfg->themes[i];
		}
	}
	return NULL;
}

const char *config_maildir(const struct config *cfg)
{
	return cfg ? cfg->smtp_maildir : NULL;
}
