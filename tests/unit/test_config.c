/*
 * Unit tests for config: the full example loads with every field right;
 * every problem in a broken file is reported with its line, in order and
 * with the exact text; relative paths resolve against the file's
 * directory; URLs, schedules, lists, phrases and comments are checked.
 * Fixtures are in $DATA_DIR/config; ad-hoc files go to a temp directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"

/* The same default templates directory as config.c uses. */
#if defined(__has_include)
#if __has_include("bulletin-config.h")
#include "bulletin-config.h"
#endif
#endif
#ifndef BULLETIN_TEMPLATE_DIR
#define BULLETIN_TEMPLATE_DIR "/usr/share/bulletin/templates"
#endif

#define MAX_ERRORS 64

struct errors {
	const char *file; /* expected file argument */
	bool wrong_file;
	size_t n;
	char msg[MAX_ERRORS][700]; /* "LINE: message" */
};

/* The fixture directory (absolute, after chdir) and a scratch dir. */
static char data_dir[PATH_MAX];
static char tmp_dir[] = "/tmp/bulletin-test-config-XXXXXX";

static void collect(const char *file, int line, const char *msg, void *arg)
{
	struct errors *e = arg;

	if (!e->file || strcmp(file, e->file) != 0) {
		e->wrong_file = true;
	}
	if (e->n < MAX_ERRORS) {
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%d: %s", line, msg);
	}
	e->n++;
}

/* Replaces every @DIR@ (the fixture dir), @TMP@ (the scratch dir) and
 * @TEMPLATES@ (the fixture templates dir) in text. */
static char *expand(const char *text)
{
	struct buf b;

	buf_init(&b, BUF_MAX_TEXT);
	for (const char *s = text; *s;) {
		int ret;

		if (strncmp(s, "@DIR@", 5) == 0) {
			ret = buf_adds(&b, data_dir);
			s += 5;
		} else if (strncmp(s, "@TMP@", 5) == 0) {
			ret = buf_adds(&b, tmp_dir);
			s += 5;
		} else if (strncmp(s, "@TEMPLATES@", 11) == 0) {
			ret = buf_printf(&b, "%s/templates", data_dir);
			s += 11;
		} else {
			ret = buf_addc(&b, *s++);
		}
		assert_int_equal(ret, 0);
	}
	return buf_take(&b);
}

static void assert_errors(const struct errors *e, const char *const *want,
			  size_t n_want)
{
	for (size_t i = 0; i < n_want || i < e->n; i++) {
		char *w = i < n_want ? expand(want[i]) : NULL;
		const char *got = i < e->n && i < MAX_ERRORS ? e->msg[i] : NULL;

		if (!w || !got || strcmp(w, got) != 0) {
			print_error("error %zu:\n  want: %s\n  got:  %s\n", i,
				    w ? w : "(none)", got ? got : "(none)");
			for (size_t j = 0; j < e->n && j < MAX_ERRORS; j++) {
				print_error("  [%zu] %s\n", j, e->msg[j]);
			}
			free(w);
			fail();
		}
		free(w);
	}
	assert_false(e->wrong_file);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char tmp_conf[PATH_MAX];

/* Writes text (after expand) to the scratch dir and loads it. */
static int load_text(const char *text, struct errors *e, struct config **out)
{
	char *body = expand(text);
	int ret;

	snprintf(tmp_conf, sizeof(tmp_conf), "%s/test.conf", tmp_dir);
	write_file(tmp_conf, body, strlen(body));
	free(body);
	memset(e, 0, sizeof(*e));
	e->file = tmp_conf;
	*out = (struct config *)(uintptr_t)1; /* must be reset */
	ret = config_load(tmp_conf, collect, e, out);
	if (ret != 0) {
		assert_null(*out);
	}
	return ret;
}

static int load_fixture(const char *name, struct errors *e, struct config **out)
{
	memset(e, 0, sizeof(*e));
	e->file = name;
	return config_load(name, collect, e, out);
}

/* Loads text that must produce exactly the errors in want. */
static void expect_errors(const char *text, const char *const *want,
			  size_t n_want)
{
	struct errors e;
	struct config *cfg;

	assert_int_equal(load_text(text, &e, &cfg), -EINVAL);
	assert_errors(&e, want, n_want);
}

#define EXPECT_ERRORS(text, ...)                                               \
	do {                                                                   \
		static const char *const want_[] = {__VA_ARGS__};              \
		expect_errors(text, want_, sizeof(want_) / sizeof(want_[0]));  \
	} while (0)

/* Loads text that must be valid. */
static struct config *load_ok(const char *text)
{
	struct errors e;
	struct config *cfg;
	int ret = load_text(text, &e, &cfg);

	if (ret != 0) {
		for (size_t i = 0; i < e.n && i < MAX_ERRORS; i++) {
			print_error("  %s\n", e.msg[i]);
		}
		fail_msg("config_load returned %d", ret);
	}
	assert_int_equal(e.n, 0);
	assert_non_null(cfg);
	return cfg;
}

#define DAEMON                                                                 \
	"[daemon]\npublic_url = https://news.example.org\n"                    \
	"templates = @TEMPLATES@\n"

static int group_setup(void **state)
{
	const char *dd = getenv("DATA_DIR");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/config", dd ? dd : "tests/data");
	if (chdir(path) != 0 || !getcwd(data_dir, sizeof(data_dir))) {
		fprintf(stderr, "cannot enter %s\n", path);
		return -1;
	}
	if (!mkdtemp(tmp_dir)) {
		return -1;
	}
	unsetenv("TZDIR");
	return 0;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/test.conf", tmp_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/locked.conf", tmp_dir);
	unlink(path);
	rmdir(tmp_dir);
	return 0;
}

static char *dirpath(const char *rel)
{
	struct buf b;

	buf_init(&b, PATH_MAX * 2);
	assert_int_equal(buf_printf(&b, "%s/%s", data_dir, rel), 0);
	return buf_take(&b);
}

static void assert_path(const char *got, const char *rel)
{
	char *want = dirpath(rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
}

static void assert_strv(char *const *v, size_t n, const char *const *want,
			size_t n_want)
{
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i], want[i]);
	}
}

#define ASSERT_STRV(v, n, ...)                                                 \
	do {                                                                   \
		static const char *const w_[] = {__VA_ARGS__};                 \
		assert_strv(v, n, w_, sizeof(w_) / sizeof(w_[0]));             \
	} while (0)

static void test_full_config(void **state)
{
	struct errors e;
	struct config *cfg = NULL;
	const struct config_list *l;
	const struct config_source *s;
	const struct config_theme *t;

	assert_int_equal(load_fixture("full.conf", &e, &cfg), 0);
	assert_int_equal(e.n, 0);
	assert_non_null(cfg);

	assert_string_equal(cfg->path, "full.conf");
	assert_string_equal(cfg->dir, data_dir);
	assert_path(cfg->database, "state/bulletin.db");
	assert_string_equal(cfg->public_url, "https://news.example.org");
	assert_string_equal(cfg->secret_file, "/etc/bulletin/secret");
	assert_string_equal(cfg->timezone, "Europe/London");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_path(cfg->templates_dir, "templates");

	assert_int_equal(cfg->fetch_timeout, 45);
	assert_int_equal(cfg->fetch_max_bytes, 2 * 1024 * 1024);
	assert_int_equal(cfg->fetch_connections, 3);
	assert_string_equal(cfg->http_listen, "127.0.0.1:8025");

	assert_string_equal(cfg->smtp_url, "smtp://127.0.0.1:2525");
	assert_null(config_maildir(cfg));
	assert_string_equal(cfg->smtp_username, "news@example.org");
	assert_path(cfg->smtp_password_file, "secrets/smtp-password");
	assert_true(cfg->smtp_starttls);
	assert_int_equal(cfg->smtp_connections, 2);

	assert_string_equal(cfg->imap_url, "imaps://mail.example.org:993");
	assert_string_equal(cfg->imap_username, "news@example.org");
	assert_string_equal(cfg->imap_password_file,
			    "/etc/bulletin/imap-password");
	assert_int_equal(cfg->imap_poll, 300);
	assert_int_equal(cfg->imap_retry, 45);

	/* Lists, in file order. */
	assert_int_equal(cfg->n_lists, 2);
	l = &cfg->lists[0];
	assert_ptr_equal(config_list_find(cfg, "staff-news"), l);
	assert_string_equal(l->title, "Probation staff news");
	assert_string_equal(l->address, "staff-news@example.org");
	assert_string_equal(l->from, "Staff News <staff-news@example.org>");
	assert_string_equal(l->schedule_text, "weekly mon 07:30");
	assert_int_equal(l->schedule.kind, SCHEDULE_WEEKLY);
	assert_int_equal(l->schedule.wday, 1);
	assert_int_equal(l->schedule.hour, 7);
	assert_int_equal(l->schedule.minute, 30);
	/* Not beside the file, so from the templates dir. */
	assert_path(l->template_path, "templates/weekly.txt");
	ASSERT_STRV(l->sources, l->n_sources, "on-probation",
		    "union-briefings");
	ASSERT_STRV(l->themes, l->n_themes, "workload", "pay", "wellbeing",
		    "other");
	assert_int_equal(l->subscribe, SUBSCRIBE_APPROVE);
	ASSERT_STRV(l->allow, l->n_allow, "@justice.gov.uk", "@example.org",
		    "someone@elsewhere.org");
	assert_int_equal(l->line, 33);

	/* Defaults: title, from, subscribe, all sources and themes, and
	 * digest.txt, which beside the file wins over the templates dir. */
	l = config_list_find(cfg, "union-digest");
	assert_ptr_equal(l, &cfg->lists[1]);
	assert_string_equal(l->title, "union-digest");
	assert_string_equal(l->from, "union@example.org");
	assert_int_equal(l->subscribe, SUBSCRIBE_CONFIRM);
	assert_int_equal(l->schedule.kind, SCHEDULE_MONTHLY);
	assert_int_equal(l->schedule.mday, 1);
	assert_path(l->template_path, "digest.txt");
	ASSERT_STRV(l->sources, l->n_sources, "on-probation", "union-briefings",
		    "local-file");
	ASSERT_STRV(l->themes, l->n_themes, "workload", "pay", "wellbeing",
		    "other");
	assert_int_equal(l->n_allow, 0);
	assert_null(config_list_find(cfg, "nope"));

	assert_int_equal(cfg->n_sources, 3);
	s = config_source_find(cfg, "on-probation");
	assert_ptr_equal(s, &cfg->sources[0]);
	assert_string_equal(s->title, "On Probation");
	assert_int_equal(s->type, SOURCE_FEED);
	assert_string_equal(s->url,
			    "https://example.blogspot.com/feeds/posts/default");
	assert_int_equal(s->interval, 7200);
	assert_int_equal(s->priority, 5);
	assert_int_equal(s->line, 48);

	s = config_source_find(cfg, "union-briefings");
	assert_non_null(s);
	assert_string_equal(s->title, "union-briefings");
	assert_int_equal(s->type, SOURCE_MAILBOX);
	assert_null(s->url);
	assert_string_equal(s->folder, "Briefings");
	assert_string_equal(s->from, "briefings@union.example.org");
	assert_int_equal(s->interval, 1800);
	assert_int_equal(s->priority, 0);

	s = config_source_find(cfg, "local-file");
	assert_non_null(s);
	{
		char *want = dirpath("feeds/sample.xml");
		char url[PATH_MAX + 16];

		snprintf(url, sizeof(url), "file://%s", want);
		assert_string_equal(s->url, url);
		free(want);
	}
	assert_null(config_source_find(cfg, "staff-news"));

	assert_int_equal(cfg->n_themes, 3);
	t = config_theme_find(cfg, "workload");
	assert_ptr_equal(t, &cfg->themes[0]);
	assert_string_equal(t->title, "Workload and caseloads");
	ASSERT_STRV(t->keywords, t->n_keywords, "workload", "caseload",
		    "overtime", "in the red", "wmt", "stress",
		    "pay, conditions");
	t = config_theme_find(cfg, "pay");
	assert_non_null(t);
	assert_string_equal(t->title, "pay");
	ASSERT_STRV(t->keywords, t->n_keywords, "pay", "pay award");
	t = config_theme_find(cfg, "wellbeing");
	assert_non_null(t);
	assert_string_equal(t->title, "Wellbeing at work");
	ASSERT_STRV(t->keywords, t->n_keywords, "wellbeing");
	assert_null(config_theme_find(cfg, "other"));

	config_destroy(cfg);
}

static void test_misspelt_key(void **state)
{
	static const char *const want[] = {
		"6: unknown key \"schedul\" in [list staff-news]; did you "
		"mean \"schedule\"?",
	};
	struct errors e;
	struct config *cfg = NULL;

	assert_int_equal(load_fixture("misspelt.conf", &e, &cfg), -EINVAL);
	assert_null(cfg);
	assert_errors(&e, want, 1);
}

static void test_many_errors(void **state)
{
	struct errors e;
	struct config *cfg = NULL;
	FILE *f;
	char line[1024];
	char *want[MAX_ERRORS];
	size_t n = 0;

	f = fopen("many-errors.expected", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		assert_true(n < MAX_ERRORS);
		want[n++] = strdup(line);
	}
	fclose(f);
	assert_true(n > 30);

	assert_int_equal(load_fixture("many-errors.conf", &e, &cfg), -EINVAL);
	assert_null(cfg);
	assert_errors(&e, (const char *const *)want, n);
	for (size_t i = 0; i < n; i++) {
		free(want[i]);
	}
}

static void test_relative_paths(void **state)
{
	struct errors e;
	struct config *cfg = NULL;
	const struct config_list *l;
	char *p;
	char url[PATH_MAX + 32];

	assert_int_equal(load_fixture("relative/relative.conf", &e, &cfg), 0);
	assert_int_equal(e.n, 0);
	assert_path(cfg->dir, "relative");
	assert_path(cfg->database, "state/bulletin.db");
	assert_path(cfg->secret_file, "relative/secret");
	assert_path(cfg->templates_dir, "templates");
	assert_string_equal(cfg->public_url, "http://localhost:8080");
	assert_string_equal(cfg->timezone, "UTC");

	p = dirpath("relative/out/maildir");
	assert_string_equal(config_maildir(cfg), p);
	snprintf(url, sizeof(url), "maildir://%s", p);
	assert_string_equal(cfg->smtp_url, url);
	free(p);

	p = dirpath("feeds/my%20feed.xml");
	snprintf(url, sizeof(url), "file://%s", p);
	assert_string_equal(config_source_find(cfg, "local")->url, url);
	free(p);
	assert_string_equal(config_source_find(cfg, "absolute")->url,
			    "file:///srv/feeds/a.xml");
	assert_string_equal(config_source_find(cfg, "file-url")->url,
			    "file:///srv/feeds/b.xml");

	/* Beside the config file first, then the templates directory. */
	l = config_list_find(cfg, "beside");
	assert_path(l->template_path, "relative/local.txt");
	l = config_list_find(cfg, "shared");
	assert_path(l->template_path, "templates/weekly.txt");
	l = config_list_find(cfg, "fallback");
	assert_path(l->template_path, "templates/digest.txt");
	ASSERT_STRV(l->themes, l->n_themes, "other");
	config_destroy(cfg);
}

static void test_missing_file(void **state)
{
	struct errors e = {.file = "no-such.conf"};
	struct config *cfg = (struct config *)(uintptr_t)1;

	assert_int_equal(config_load("no-such.conf", collect, &e, &cfg),
			 -ENOENT);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "0: cannot open config file: No such file or "
			    "directory");
	assert_false(e.wrong_file);

	/* A directory is not a config file. */
	memset(&e, 0, sizeof(e));
	e.file = "templates";
	assert_int_equal(config_load("templates", collect, &e, &cfg), -EISDIR);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "0: cannot open config file: Is a directory");

	/* No callback is fine too. */
	assert_int_equal(config_load("no-such.conf", NULL, NULL, &cfg),
			 -ENOENT);
	assert_null(cfg);
}

static void test_unreadable_file(void **state)
{
	char path[PATH_MAX + 32];
	struct errors e;
	struct config *cfg = NULL;

	if (geteuid() == 0) {
		skip(); /* root reads anything */
	}
	snprintf(path, sizeof(path), "%s/locked.conf", tmp_dir);
	write_file(path, "[daemon]\n", 9);
	assert_int_equal(chmod(path, 0), 0);
	memset(&e, 0, sizeof(e));
	e.file = path;
	assert_int_equal(config_load(path, collect, &e, &cfg), -EACCES);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "0: cannot open config file: Permission denied");
}

static void test_bad_schedule(void **state)
{
	static const struct {
		const char *value;
		const char *msg;
	} cases[] = {
		{"weekly mnday 07:30",
		 "5: schedule \"weekly mnday 07:30\": unknown day 'mnday': use "
		 "mon, tue, wed, thu, fri, sat or sun"},
		{"monthly 30 07:30", "5: schedule \"monthly 30 07:30\": day 30 "
				     "is not in every month: use a day from 1 "
				     "to 28"},
		{"daily 25:00", "5: schedule \"daily 25:00\": hour 25 in "
				"'25:00' is out of range: use 00 to 23"},
		{"fortnightly", "5: schedule \"fortnightly\": unknown kind "
				"'fortnightly': use daily HH:MM, weekly DAY "
				"HH:MM or monthly N HH:MM"},
		{"weekly mon", "5: schedule \"weekly mon\": missing time: e.g. "
			       "weekly mon 07:30"},
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want[] = {cases[i].msg};

		snprintf(text, sizeof(text),
			 DAEMON "[list l]\nschedule = %s\n"
				"address = l@example.org\n",
			 cases[i].value);
		expect_errors(text, want, 1);
	}
	/* No schedule at all: reported at the section header. */
	EXPECT_ERRORS(DAEMON "[list l]\naddress = l@example.org\n",
		      "4: [list l] needs schedule (e.g. schedule = weekly mon "
		      "07:30)");
}

static void test_source_urls(void **state)
{
	static const struct {
		const char *url;
		const char *want; /* resulting url, or NULL */
		const char *msg;  /* or the error */
	} cases[] = {
		{"https://example.org/feed.xml", "https://example.org/feed.xml",
		 NULL},
		{"HTTP://Example.org:8080/a?b=c#d",
		 "HTTP://Example.org:8080/a?b=c#d", NULL},
		{"http://[::1]:8080/feed", "http://[::1]:8080/feed", NULL},
		{"file:///var/feeds/x.xml", "file:///var/feeds/x.xml", NULL},
		{"/var/feeds/y z.xml", "file:///var/feeds/y%20z.xml", NULL},
		{"feeds/../x.xml", "file://@TMP@/x.xml", NULL},
		{"./a/./b//c.xml", "file://@TMP@/a/b/c.xml", NULL},
		{"ftp://example.org/feed.xml", NULL,
		 "url \"ftp://example.org/feed.xml\": unsupported scheme "
		 "\"ftp\"; use http://, https://, file:///path or a path "
		 "relative to this file"},
		{"dict://example.org/d:word", NULL,
		 "url \"dict://example.org/d:word\": unsupported scheme "
		 "\"dict\"; use http://, https://, file:///path or a path "
		 "relative to this file"},
		{"gopher://example.org/", NULL,
		 "url \"gopher://example.org/\": unsupported scheme "
		 "\"gopher\"; use http://, https://, file:///path or a path "
		 "relative to this file"},
		{"javascript:alert(1)", NULL,
		 "url \"javascript:alert(1)\": unsupported scheme "
		 "\"javascript\"; use http://, https://, file:///path or a "
		 "path relative to this file"},
		{"https://bob:hunter2@example.org/feed", NULL,
		 "url \"https://bob:hunter2@example.org/feed\": remove the "
		 "user name and password from the URL"},
		{"http://bob@example.org/feed", NULL,
		 "url \"http://bob@example.org/feed\": remove the user name "
		 "and password from the URL"},
		{"https:///feed", NULL,
		 "url \"https:///feed\": the host name (or port) is missing "
		 "or not valid"},
		{"https://example.org:99999/", NULL,
		 "url \"https://example.org:99999/\": the host name (or port) "
		 "is missing or not valid"},
		{"https://exa mple.org/", NULL,
		 "url \"https://exa mple.org/\": a URL cannot contain spaces; "
		 "write them as %20"},
		{"http:example.org", NULL,
		 "url \"http:example.org\": use an http:// or https:// URL"},
		{"file://feeds/x.xml", NULL,
		 "url \"file://feeds/x.xml\": a file URL must be absolute "
		 "(file:///path/feed.xml); or give a path relative to this "
		 "file"},
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), DAEMON "[source s]\nurl = %s\n",
			 cases[i].url);
		if (cases[i].want) {
			struct config *cfg = load_ok(text);
			char *want = expand(cases[i].want);

			assert_string_equal(cfg->sources[0].url, want);
			free(want);
			config_destroy(cfg);
		} else {
			char msg[600];
			const char *want[] = {msg};

			snprintf(msg, sizeof(msg), "5: %s", cases[i].msg);
			expect_errors(text, want, 1);
		}
	}
}

static void test_smtp_imap_urls(void **state)
{
	static const struct {
		const char *section;
		const char *url;
		const char *want; /* stored url, or NULL */
		const char *msg;  /* or the error */
	} cases[] = {
		{"smtp", "smtps://mail.example.org:465",
		 "smtps://mail.example.org:465", NULL},
		{"smtp", "smtp://localhost", "smtp://localhost", NULL},
		{"smtp", "maildir:///var/spool/bulletin/",
		 "maildir:///var/spool/bulletin", NULL},
		{"smtp", "maildir:out", "maildir://@TMP@/out", NULL},
		{"smtp", "maildir://host/x", NULL,
		 "url \"maildir://host/x\": a maildir URL names a directory: "
		 "maildir:///absolute/path or maildir:relative/path"},
		{"smtp", "maildir:", NULL,
		 "url \"maildir:\": give the maildir directory, e.g. "
		 "maildir:///var/lib/bulletin/outbox"},
		{"smtp", "smtp://mail.example.org/relay", NULL,
		 "url \"smtp://mail.example.org/relay\": remove the path after "
		 "the host and port"},
		{"smtp", "smtp://news:pw@mail.example.org", NULL,
		 "url \"smtp://news:pw@mail.example.org\": put the user name "
		 "in username and the password in password_file, not in the "
		 "URL"},
		{"smtp", "http://mail.example.org", NULL,
		 "url \"http://mail.example.org\": use smtp://HOST[:PORT], "
		 "smtps://HOST[:PORT] or maildir:///PATH"},
		{"imap", "imap://127.0.0.1:10143", "imap://127.0.0.1:10143",
		 NULL},
		{"imap", "pop3://mail.example.org", NULL,
		 "url \"pop3://mail.example.org\": use imaps://HOST[:PORT] or "
		 "imap://HOST[:PORT]"},
		{"imap", "imaps://mail.example.org:0", NULL,
		 "url \"imaps://mail.example.org:0\": the host name (or port) "
		 "is missing or not valid"},
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), DAEMON "[%s]\nurl = %s\n",
			 cases[i].section, cases[i].url);
		if (cases[i].want) {
			struct config *cfg = load_ok(text);
			char *want = expand(cases[i].want);

			assert_string_equal(strcmp(cases[i].section, "smtp")
						    ? cfg->imap_url
						    : cfg->smtp_url,
					    want);
			if (strncmp(want, "maildir://", 10) == 0) {
				assert_string_equal(config_maildir(cfg),
						    want + 10);
			}
			free(want);
			config_destroy(cfg);
		} else {
			char msg[600];
			const char *want[] = {msg};

			snprintf(msg, sizeof(msg), "5: %s", cases[i].msg);
			expect_errors(text, want, 1);
		}
	}

	EXPECT_ERRORS(DAEMON "[smtp]\nurl = smtps://mail.example.org\n"
			     "starttls = yes\n",
		      "6: starttls is for smtp:// URLs; smtps:// is encrypted "
		      "already, so remove it");
	EXPECT_ERRORS(DAEMON "[imap]\nusername = news\n",
		      "4: [imap] needs url (e.g. url = "
		      "imaps://mail.example.org:993)");
}

static void test_inline_comments(void **state)
{
	struct config *cfg =
		load_ok("; leading comment\n"
			"# another\n"
			"   ; indented comment\n"
			"[daemon] ; comment after a header\n"
			"public_url = https://news.example.org ; the base\n"
			"templates = @TEMPLATES@\n"
			"[list l]   # and a hash one\n"
			"title = Issue #5;not a comment ; but this is\n"
			"address = l@example.org\t; tab before the semicolon\n"
			"schedule = daily 07:30 ;\n"
			"[theme t]\n"
			"keywords = a;b, c # d ;e\n");

	assert_string_equal(cfg->public_url, "https://news.example.org");
	assert_string_equal(cfg->lists[0].title, "Issue #5;not a comment");
	assert_string_equal(cfg->lists[0].address, "l@example.org");
	ASSERT_STRV(cfg->themes[0].keywords, cfg->themes[0].n_keywords, "a;b",
		    "c # d");
	config_destroy(cfg);

	/* "daily 07:30;" without a space keeps the ';'. */
	EXPECT_ERRORS(DAEMON "[list l]\naddress = l@example.org\n"
			     "schedule = daily 07:30;x\n",
		      "6: schedule \"daily 07:30;x\": time '07:30;x' is not "
		      "HH:MM (e.g. 07:30)");
}

static void test_crlf_and_bom(void **state)
{
	struct config *cfg = load_ok("\xEF\xBB\xBF[daemon]\r\n"
				     "public_url = https://x.example.org\r\n"
				     "templates = @TEMPLATES@\r\n"
				     "[list l]\r\n"
				     "address = l@example.org\r\n"
				     "schedule = daily 7:30\r\n"
				     "title = Staff news \r\n");

	assert_string_equal(cfg->lists[0].title, "Staff news");
	assert_string_equal(cfg->lists[0].address, "l@example.org");
	assert_int_equal(cfg->lists[0].line, 4);
	config_destroy(cfg);

	EXPECT_ERRORS(
		"\xEF\xBB\xBF[daemon]\r\n"
		"public_url = https://x.example.org\r\n"
		"bogus\r\n"
		"  [fetch] \r\n"
		"timeout = 1w\r\n"
		"\xEF\xBB\xBFtimeout = 5s\r\n",
		"3: expected \"key = value\" or \"[section]\", not "
		"\"bogus\"",
		"5: timeout \"1w\": not a duration; use a number with s, "
		"m, h or d (e.g. 30m)",
		"6: unknown key \"\xEF\xBB\xBFtimeout\" in [fetch]; the keys "
		"there are timeout, max_size, connections, per_host, ca_file");
}

static void test_quoted_phrases(void **state)
{
	struct config *cfg = load_ok(
		DAEMON "[theme t]\n"
		       "keywords = \"In The Red\",WMT , \"a, b\",\"x\" ,y z\n");

	ASSERT_STRV(cfg->themes[0].keywords, cfg->themes[0].n_keywords,
		    "in the red", "wmt", "a, b", "x", "y z");
	config_destroy(cfg);

	EXPECT_ERRORS(DAEMON "[theme t]\nkeywords = \"in the\" red\n",
		      "5: keywords: put a comma after the phrase \"in the\"");
	EXPECT_ERRORS(DAEMON "[theme t]\nkeywords = in \"the red\"\n",
		      "5: keywords: a quote inside an item; put quotes around "
		      "the whole phrase, e.g. \"in the red\"");
	EXPECT_ERRORS(DAEMON "[theme t]\nkeywords = pay, \"\"\n",
		      "5: keywords has an empty phrase \"\"; remove it");
	EXPECT_ERRORS(DAEMON "[theme t]\nkeywords = pay,, rise\n",
		      "5: keywords has an empty item; remove the extra comma");
	EXPECT_ERRORS(DAEMON "[theme t]\nkeywords = pay, \"no end\n",
		      "5: keywords: the phrase \"no end has no closing quote; "
		      "add one");
	EXPECT_ERRORS(DAEMON "[theme t]\ntitle = T\n",
		      "4: [theme t] needs keywords (e.g. keywords = pay, "
		      "\"pay award\")");
}

static void test_references(void **state)
{
	struct config *cfg;
	const struct config_list *l;

	/* "other" keeps its place when named, and is added otherwise. */
	cfg = load_ok(DAEMON "[list a]\naddress = a@example.org\n"
			     "schedule = daily 07:30\nthemes = y, other, x\n"
			     "[list b]\naddress = b@example.org\n"
			     "schedule = daily 07:30\nthemes = x\n"
			     "sources = s2\n"
			     "[theme x]\nkeywords = x\n"
			     "[theme y]\nkeywords = y\n"
			     "[theme other]\ntitle = Everything else\n"
			     "[source s1]\nurl = https://a.example.org/\n"
			     "[source s2]\nurl = https://b.example.org/\n");
	l = config_list_find(cfg, "a");
	ASSERT_STRV(l->themes, l->n_themes, "y", "other", "x");
	ASSERT_STRV(l->sources, l->n_sources, "s1", "s2");
	l = config_list_find(cfg, "b");
	ASSERT_STRV(l->themes, l->n_themes, "x", "other");
	ASSERT_STRV(l->sources, l->n_sources, "s2");
	assert_string_equal(config_theme_find(cfg, "other")->title,
			    "Everything else");
	config_destroy(cfg);

	EXPECT_ERRORS(DAEMON "[list a]\naddress = a@example.org\n"
			     "sources = s1, s3\n"
			     "schedule = daily 07:30\n"
			     "themes = pay, workload\n"
			     "[source s1]\nurl = https://a.example.org/\n"
			     "[source s2]\nurl = https://b.example.org/\n"
			     "[theme pay]\nkeywords = pay\n"
			     "[theme other]\nkeywords = misc\n",
		      "6: sources: there is no [source s3]; did you mean "
		      "\"s1\"?",
		      "8: themes: there is no [theme workload]; add that "
		      "section or fix the name",
		      "16: [theme other] collects the items that match no "
		      "theme and takes no keywords; remove them or rename the "
		      "section");
}

static void test_required_and_line_zero(void **state)
{
	/* Required keys are reported at their section's header; a missing
	 * [daemon] concerns the whole file: line 0, after the rest. */
	EXPECT_ERRORS("[list a]\ntitle = A\ntemplate = @TEMPLATES@/digest.txt\n"
		      "[source s]\ntype = mailbox\n"
		      "url = https://example.org/\n",
		      "1: [list a] needs address, the list's email address "
		      "(e.g. address = a@example.org)",
		      "1: [list a] needs schedule (e.g. schedule = weekly mon "
		      "07:30)",
		      "4: [source s] is a mailbox source and needs folder "
		      "(e.g. folder = Briefings)",
		      "4: [source s] is a mailbox source and needs from, the "
		      "sender whose mail becomes briefings (e.g. from = "
		      "briefings@union.example.org, or @union.example.org)",
		      "6: \"url\" is only for feed sources; remove it or set "
		      "type = feed",
		      "0: no [daemon] section; add one with public_url, the "
		      "base of links in emails (e.g. public_url = "
		      "https://news.example.org)");
	EXPECT_ERRORS("[daemon]\ntimezone = UTC\n[source s]\nfolder = F\n"
		      "from = x@example.org\n",
		      "1: [daemon] needs public_url, the base of links in "
		      "emails (e.g. public_url = https://news.example.org)",
		      "3: [source s] needs url (e.g. url = "
		      "https://example.org/feed.xml)",
		      "4: \"folder\" is only for mailbox sources; set type = "
		      "mailbox or remove it",
		      "5: \"from\" is only for mailbox sources; set type = "
		      "mailbox or remove it");
}

static void test_values(void **state)
{
	struct config *cfg;

	cfg = load_ok(DAEMON "log_level = WARN\ntimezone = Europe/London\n"
			     "[fetch]\ntimeout = 90\nmax_size = 512KiB\n"
			     "[smtp]\nstarttls = off\nconnections = 64\n"
			     "[http]\nlisten = [::1]:8025\n"
			     "trusted_proxies = 127.0.0.1, ::1, 10.0.0.0/8, "
			     "fd00::/8\nform_min_time = 0\n"
			     "[list l]\naddress = l@example.org\n"
			     "schedule = daily 07:30\nsubscribe = open\n"
			     "from = \"Union, Branch\" <l@example.org>\n"
			     "[source s]\nurl = https://e.example.org/\n"
			     "priority = -3\ninterval = 1d\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARNING);
	assert_int_equal(cfg->fetch_timeout, 90);
	assert_int_equal(cfg->fetch_max_bytes, 512 * 1024);
	assert_false(cfg->smtp_starttls);
	assert_int_equal(cfg->smtp_connections, 64);
	assert_string_equal(cfg->http_listen, "[::1]:8025");
	assert_int_equal(cfg->http_form_min_time, 0);
	assert_int_equal(cfg->n_http_trusted_proxies, 4);
	assert_int_equal(cfg->http_trusted_proxies[0].family, AF_INET);
	assert_int_equal(cfg->http_trusted_proxies[0].prefix, 32);
	assert_int_equal(cfg->http_trusted_proxies[1].family, AF_INET6);
	assert_int_equal(cfg->http_trusted_proxies[1].prefix, 128);
	assert_int_equal(cfg->http_trusted_proxies[2].prefix, 8);
	assert_int_equal(cfg->http_trusted_proxies[3].prefix, 8);
	assert_int_equal(cfg->lists[0].subscribe, SUBSCRIBE_OPEN);
	assert_string_equal(cfg->lists[0].from,
			    "\"Union, Branch\" <l@example.org>");
	assert_int_equal(cfg->sources[0].priority, -3);
	assert_int_equal(cfg->sources[0].interval, 86400);
	assert_true(cfg->sources[0].split);
	config_destroy(cfg);

	cfg = load_ok(DAEMON "[imap]\nurl = imap://mail.example.org\n"
			     "folder = Commands\nmove_to = Done/2026\n"
			     "max_size = 2M\nauthserv_id = mx.example.org\n"
			     "[source b]\ntype = mailbox\nfolder = Briefings\n"
			     "from = @Union.Example.org\nsplit = no\n");
	assert_string_equal(cfg->imap_folder, "Commands");
	assert_string_equal(cfg->imap_move_to, "Done/2026");
	assert_int_equal(cfg->imap_max_size, 2 * 1024 * 1024);
	assert_string_equal(cfg->imap_authserv_id, "mx.example.org");
	assert_string_equal(cfg->sources[0].from, "@union.example.org");
	assert_false(cfg->sources[0].split);
	config_destroy(cfg);

	EXPECT_ERRORS(DAEMON "[imap]\nurl = imaps://mail.example.org\n"
			     "max_size = 12\nauthserv_id = mx example\n"
			     "[source f]\nurl = https://e.example.org/\n"
			     "split = yes\n",
		      "6: max_size \"12\": use a size of at least 1K with K, M "
		      "or G (e.g. 25M)",
		      "7: authserv_id \"mx example\": use the host name your "
		      "mail server writes in Authentication-Results (e.g. "
		      "mx.example.org)",
		      "10: \"split\" is only for mailbox sources; set type = "
		      "mailbox or remove it");

	EXPECT_ERRORS(
		DAEMON "[http]\nlisten = 8025\n"
		       "[smtp]\nconnections = 65\n"
		       "[fetch]\nmax_size = 0\ntimeout = -5s\n"
		       "[list l]\naddress = a+b@example.org\n"
		       "from = Name <broken\nallow = example.org\n"
		       "schedule = daily 07:30\n"
		       "[source s]\ntype = rss\n",
		"5: listen \"8025\": use HOST:PORT (e.g. 127.0.0.1:8025 "
		"or [::1]:8025)",
		"7: connections \"65\": out of range; use a number from "
		"1 to 64",
		"9: max_size \"0\": must be more than zero (e.g. 10M)",
		"10: timeout \"-5s\": not a duration; use a number with "
		"s, m, h or d (e.g. 30m)",
		"12: address \"a+b@example.org\": a list address cannot "
		"contain '+', which bulletin uses for commands "
		"(LIST+subscribe@…)",
		"13: from \"Name <broken\": use an address or Name "
		"<address> (e.g. Staff News <staff-news@example.org>)",
		"14: allow \"example.org\": use @domain or a full address "
		"(e.g. @example.org)",
		"16: [source s] needs url (e.g. url = "
		"https://example.org/feed.xml)",
		"17: type \"rss\": use feed or mailbox");
}

static void test_dedupe_and_classify(void **state)
{
	struct config *cfg;

	cfg = load_ok(DAEMON "[dedupe]\nsimilar = 65%\ncontained = 0.9\n"
			     "min_words = 30\n"
			     "[classify]\nmin_score = 4\ntitle_weight = 5\n");
	assert_true(cfg->dedupe_similar > 0.6499 &&
		    cfg->dedupe_similar < 0.6501);
	assert_true(cfg->dedupe_contained == 0.9);
	assert_int_equal(cfg->dedupe_min_words, 30);
	assert_int_equal(cfg->theme_min_score, 4);
	assert_int_equal(cfg->theme_title_weight, 5);
	config_destroy(cfg);

	EXPECT_ERRORS(DAEMON "[dedupe]\nsimilar = 150%\ncontained = 0\n"
			     "min_words = 2\nsimilarity = 0.5\n"
			     "[classify]\nmin_score = none\n",
		      "5: similar \"150%\": use a share above 0 and at most "
		      "100% (e.g. 80% or 0.8)",
		      "6: contained \"0\": use a share above 0 and at most "
		      "100% (e.g. 80% or 0.8)",
		      "7: min_words \"2\": out of range; use a number from 3 "
		      "to 100000",
		      "8: unknown key \"similarity\" in [dedupe]; the keys "
		      "there are similar, contained, min_words",
		      "10: min_score \"none\": not a whole number; use a "
		      "number from 1 to 1000");
}

static void test_control_characters(void **state)
{
	/* A bare CR inside a value, and a NUL byte on a line. */
	static const char text[] = "[daemon]\n"
				   "public_url = https://news.example.org\n"
				   "templates = /\n"
				   "[source s]\n"
				   "title = Evil\rBcc: x@example.org\n"
				   "url = https://a.example.org/\0x\n"
				   "folder\x7f = x\n";
	struct errors e;
	struct config *cfg;
	static const char *const want[] = {
		"5: value of \"title\" contains a control character (such as "
		"CR or LF); remove it",
		"6: line contains a NUL byte; save the file as plain text",
		"7: a key name contains a control character (such as CR or "
		"LF); remove it",
		"4: [source s] needs url (e.g. url = "
		"https://example.org/feed.xml)",
	};

	snprintf(tmp_conf, sizeof(tmp_conf), "%s/test.conf", tmp_dir);
	write_file(tmp_conf, text, sizeof(text) - 1);
	memset(&e, 0, sizeof(e));
	e.file = tmp_conf;
	assert_int_equal(config_load(tmp_conf, collect, &e, &cfg), -EINVAL);
	/* Sorted by line. */
	{
		const char *sorted[] = {want[3], want[0], want[1], want[2]};

		assert_errors(&e, sorted, 4);
	}

	EXPECT_ERRORS(DAEMON "[list l]\ntitle = caf\xc3\n",
		      "4: [list l] needs address, the list's email address "
		      "(e.g. address = l@example.org)",
		      "4: [list l] needs schedule (e.g. schedule = weekly mon "
		      "07:30)",
		      "5: value of \"title\" is not valid UTF-8; save the file "
		      "as UTF-8");
}

static void test_long_lines(void **state)
{
	struct buf b;
	struct config *cfg;
	char *text;

	/* A long keyword list is fine ... */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, DAEMON "[theme t]\nkeywords = k0"), 0);
	for (int i = 1; i < 1100; i++) {
		assert_int_equal(buf_printf(&b, ", k%d", i), 0);
	}
	assert_int_equal(buf_adds(&b, "\n"), 0);
	text = buf_take(&b);
	assert_true(strlen(text) > 5000);
	cfg = load_ok(text);
	assert_int_equal(cfg->themes[0].n_keywords, 1100);
	assert_string_equal(cfg->themes[0].keywords[1099], "k1099");
	config_destroy(cfg);
	free(text);

	/* ... up to a limit, and the lines after it keep their numbers. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, DAEMON "[theme t]\nkeywords = k"), 0);
	for (int i = 0; i < 9000; i++) {
		assert_int_equal(buf_addc(&b, 'x'), 0);
	}
	assert_int_equal(buf_adds(&b, "\ntitle = T\ncolor = red\n"), 0);
	text = buf_take(&b);
	EXPECT_ERRORS(text,
		      "4: [theme t] needs keywords (e.g. keywords = pay, "
		      "\"pay award\")",
		      "5: line is longer than 8192 characters; shorten it",
		      "7: unknown key \"color\" in [theme t]; the keys there "
		      "are title, keywords");
	free(text);
}

static void test_sections(void **state)
{
	EXPECT_ERRORS(DAEMON "[list a] trailing\n"
			     "address = a@example.org\n"
			     "schedule = daily 07:30\n"
			     "[list b\n"
			     "stray = 1\n"
			     "[daemon extra]\n"
			     "[]\n"
			     "[LIST c]\n"
			     "[lists d]\n"
			     "[sauces x]\n"
			     "[theme Bad Name]\nkeywords = x\n"
			     "[list a]\n"
			     "title = again\n"
			     "[http]\nurl = x\n"
			     "[fetch]\ninterval = 5m\n",
		      "4: unexpected text after ']'; start comments with ';' "
		      "or '#'",
		      "7: section header without ']'; write e.g. [list "
		      "staff-news]",
		      "9: section [daemon] takes no name; write [daemon]",
		      "9: duplicate section [daemon] (first at line 1); merge "
		      "the two",
		      "10: empty section header []; sections are [daemon], "
		      "[fetch], [http], [smtp], [imap], [dedupe], [classify], "
		      "[list NAME], [source NAME] and [theme NAME]",
		      "11: unknown section [LIST c]; did you mean [list c]?",
		      "12: unknown section [lists d]; did you mean [list d]?",
		      "13: unknown section [sauces x]; sections are [daemon], "
		      "[fetch], [http], [smtp], [imap], [dedupe], [classify], "
		      "[list NAME], [source NAME] and [theme NAME]",
		      "14: invalid name \"Bad Name\" in [theme Bad Name]: use "
		      "lower-case letters, digits, '-', '_' and '.', starting "
		      "with a letter or digit",
		      "16: duplicate section [list a] (first at line 4); merge "
		      "the two",
		      "19: unknown key \"url\" in [http]; \"url\" belongs in "
		      "[smtp] or [imap] or [source NAME]",
		      "21: unknown key \"interval\" in [fetch]; \"interval\" "
		      "belongs in [source NAME]");

	/* Keys in a repeated section merge into the first. */
	EXPECT_ERRORS(DAEMON "[list a]\naddress = a@example.org\n"
			     "[list a]\nschedule = daily 07:30\n"
			     "address = b@example.org\n",
		      "6: duplicate section [list a] (first at line 4); merge "
		      "the two",
		      "8: duplicate key \"address\" in [list a] (first at line "
		      "5); keep one");
}

static void test_templates(void **state)
{
	EXPECT_ERRORS("[daemon]\npublic_url = https://n.example.org\n"
		      "templates = @TMP@/nowhere\n"
		      "[list l]\naddress = l@example.org\n"
		      "schedule = daily 07:30\n",
		      "3: templates \"@TMP@/nowhere\": no such directory "
		      "(@TMP@/nowhere); fix the path or remove the line to "
		      "use " BULLETIN_TEMPLATE_DIR,
		      "4: template \"digest.txt\" not found in @TMP@ or "
		      "@TMP@/nowhere; fix the name or set templates in "
		      "[daemon]");
	EXPECT_ERRORS(DAEMON "[list l]\naddress = l@example.org\n"
			     "schedule = daily 07:30\n"
			     "template = /nonexistent/weekly.txt\n",
		      "7: template \"/nonexistent/weekly.txt\" not found");
	{
		struct config *cfg =
			load_ok(DAEMON "[list l]\naddress = l@example.org\n"
				       "schedule = daily 07:30\n"
				       "template = @DIR@/relative/local.txt\n");

		assert_path(cfg->lists[0].template_path, "relative/local.txt");
		config_destroy(cfg);
	}
}

static void test_timezones(void **state)
{
	static const char *const good[] = {"UTC", "Europe/London",
					   "America/New_York", "Etc/GMT+5"};
	static const char *const bad[] = {"Mars/Olympus", "../etc/passwd",
					  "/etc/localtime", "Europe",
					  "Europe/London extra"};
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), DAEMON "timezone = %s\n", good[i]);
		cfg = load_ok(text);
		assert_string_equal(cfg->timezone, good[i]);
		config_destroy(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[256];
		const char *want[] = {msg};

		snprintf(text, sizeof(text), DAEMON "timezone = %s\n", bad[i]);
		snprintf(msg, sizeof(msg),
			 "4: timezone \"%s\": no such time zone in "
			 "/usr/share/zoneinfo; use a name such as "
			 "Europe/London, or UTC",
			 bad[i]);
		expect_errors(text, want, 1);
	}
}

static void test_defaults(void **state)
{
	struct config *cfg = load_ok(
		"[daemon]\npublic_url = http://127.0.0.1:8025/news//\n");

	assert_string_equal(cfg->public_url, "http://127.0.0.1:8025/news");
	assert_string_equal(cfg->database, "/var/lib/bulletin/bulletin.db");
	assert_string_equal(cfg->secret_file, "/etc/bulletin/secret");
	assert_string_equal(cfg->timezone, "UTC");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg->templates_dir, BULLETIN_TEMPLATE_DIR);
	assert_int_equal(cfg->fetch_timeout, 30);
	assert_int_equal(cfg->fetch_max_bytes, 64 * 1024 * 1024);
	assert_int_equal(cfg->fetch_connections, 8);
	assert_string_equal(cfg->http_listen, "127.0.0.1:8025");
	assert_int_equal(cfg->http_form_per_ip, 10);
	assert_int_equal(cfg->http_form_min_time, 3);
	assert_int_equal(cfg->n_http_trusted_proxies, 0);
	assert_string_equal(cfg->smtp_url, "smtp://127.0.0.1:25");
	assert_null(config_maildir(cfg));
	assert_false(cfg->smtp_starttls);
	assert_int_equal(cfg->smtp_connections, 4);
	assert_null(cfg->imap_url);
	assert_int_equal(cfg->imap_poll, 120);
	assert_int_equal(cfg->imap_retry, 30);
	assert_string_equal(cfg->imap_folder, "INBOX");
	assert_null(cfg->imap_move_to);
	assert_null(cfg->imap_ca_file);
	assert_int_equal(cfg->imap_max_size, 25 * 1024 * 1024);
	assert_null(cfg->imap_authserv_id);
	assert_true(cfg->dedupe_similar == 0.5);
	assert_true(cfg->dedupe_contained == 0.8);
	assert_int_equal(cfg->dedupe_min_words, 15);
	assert_int_equal(cfg->theme_min_score, 2);
	assert_int_equal(cfg->theme_title_weight, 3);
	assert_int_equal(cfg->n_lists, 0);
	assert_int_equal(cfg->n_sources, 0);
	assert_int_equal(cfg->n_themes, 0);
	config_destroy(cfg);
	config_destroy(NULL);
	assert_null(config_maildir(NULL));
	assert_null(config_list_find(NULL, "x"));
}

static void test_parse_duration_size(void **state)
{
	static const struct {
		const char *text;
		int64_t want; /* -1: error */
	} durations[] = {
		{"30s", 30},
		{"10m", 600},
		{"2h", 7200},
		{"7d", 604800},
		{"45", 45},
		{"0", 0},
		{"1M", 60},
		{"", -1},
		{"m", -1},
		{"10x", -1},
		{"-5s", -1},
		{"5 m", -1},
		{"1.5h", -1},
		{"10mm", -1},
		{" 5m", -1},
		{"9223372036854775807", INT64_MAX},
		{"9223372036854775808", -1},
		{"106751991167301d", -1},
	};
	static const struct {
		const char *text;
		int64_t want;
	} sizes[] = {
		{"10M", 10485760},
		{"512K", 524288},
		{"1G", 1073741824},
		{"100", 100},
		{"100B", 100},
		{"10MB", 10485760},
		{"10MiB", 10485760},
		{"2k", 2048},
		{"", -1},
		{"10T", -1},
		{"M", -1},
		{"10 M", -1},
		{"-1", -1},
		{"10Mx", -1},
		{"1iB", -1},
		{"9223372036854775807G", -1},
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		int ret = config_parse_duration(durations[i].text, &v);

		if (durations[i].want < 0) {
			assert_int_equal(ret, -EINVAL);
		} else {
			assert_int_equal(ret, 0);
			assert_int_equal(v, durations[i].want);
		}
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int ret = config_parse_size(sizes[i].text, &v);

		if (sizes[i].want < 0) {
			if (ret != -EINVAL) {
				fail_msg("size \"%s\" accepted", sizes[i].text);
			}
		} else {
			assert_int_equal(ret, 0);
			assert_int_equal(v, sizes[i].want);
		}
	}
	assert_int_equal(config_parse_duration(NULL, &v), -EINVAL);
	assert_int_equal(config_parse_size(NULL, &v), -EINVAL);
}

static void test_suggestions(void **state)
{
	EXPECT_ERRORS(DAEMON "[list l]\naddress = l@example.org\n"
			     "Schedule = daily 07:30\n"
			     "soruces = a\n"
			     "themez = b\n"
			     "adress = x@example.org\n",
		      "6: unknown key \"Schedule\" in [list l]; did you mean "
		      "\"schedule\"?",
		      "7: unknown key \"soruces\" in [list l]; did you mean "
		      "\"sources\"?",
		      "8: unknown key \"themez\" in [list l]; did you mean "
		      "\"themes\"?",
		      "9: unknown key \"adress\" in [list l]; did you mean "
		      "\"address\"?");
	EXPECT_ERRORS("[deamon]\npublic_url = https://news.example.org\n"
		      "= value\n"
		      "[daemon]\npublic_url = https://news.example.org\n"
		      "= value\n",
		      "1: unknown section [deamon]; did you mean [daemon]?",
		      "6: missing key name before '='");
}

static bool in_nets(const struct config *cfg, const char *text)
{
	unsigned char a[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, text, a), 1);
	for (size_t i = 0; i < cfg->n_http_trusted_proxies; i++)
		if (config_net_match(&cfg->http_trusted_proxies[i], family, a))
			return true;
	return false;
}

/* [http] trusted_proxies: addresses and networks, matched by prefix
 * (IPv4 mapped into IPv6 as IPv4); form_min_time under an hour. */
static void test_http_keys(void **state)
{
	static const char *const bad[] = {"127.0.0.1, proxy.example.org",
					  "10.0.0.0/33", "::1/", "1.2.3.4/x",
					  "300.1.1.1"};
	char text[512], want[512];
	struct config *cfg = load_ok(
		DAEMON "[http]\ntrusted_proxies = 10.0.0.0/8,2001:db8::/32 , "
		       "192.168.1.7,  172.16.0.0/12\nform_min_time = 59m\n");

	assert_int_equal(cfg->n_http_trusted_proxies, 4);
	assert_int_equal(cfg->http_form_min_time, 59 * 60);
	assert_true(in_nets(cfg, "10.1.2.3"));
	assert_true(in_nets(cfg, "10.255.255.255"));
	assert_false(in_nets(cfg, "11.0.0.1"));
	assert_false(in_nets(cfg, "9.255.255.255"));
	assert_true(in_nets(cfg, "::ffff:10.9.9.9"));
	assert_false(in_nets(cfg, "::ffff:11.9.9.9"));
	assert_false(in_nets(cfg, "::10.9.9.9"));
	assert_true(in_nets(cfg, "2001:db8:1::5"));
	assert_false(in_nets(cfg, "2001:db9::"));
	assert_true(in_nets(cfg, "192.168.1.7"));
	assert_false(in_nets(cfg, "192.168.1.8"));
	assert_true(in_nets(cfg, "172.31.255.255"));
	assert_false(in_nets(cfg, "172.32.0.0"));
	assert_false(in_nets(cfg, "::1"));
	config_destroy(cfg);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *item = strrchr(bad[i], ' ');
		const char *one[] = {want};

		snprintf(text, sizeof(text),
			 DAEMON "[http]\ntrusted_proxies = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "5: trusted_proxies \"%s\": use IP addresses or "
			 "networks, comma-separated (e.g. 127.0.0.1, ::1 or "
			 "10.0.0.0/8)",
			 item ? item + 1 : bad[i]);
		expect_errors(text, one, 1);
	}
	EXPECT_ERRORS(DAEMON "[http]\nform_min_time = 1h\n",
		      "5: form_min_time \"1h\": use a duration under 1h, such "
		      "as 3s, or 0 for none");
	EXPECT_ERRORS(DAEMON "[http]\nform_min_time = soon\n",
		      "5: form_min_time \"soon\": use a duration under 1h, "
		      "such as 3s, or 0 for none");
}

/* The example config loads, and documents every key of every section
 * with a "; key:" comment inside that section. */
static void test_example_documents_every_key(void **state)
{
	static const char *const keys[] = {
		"daemon database",    "daemon public_url",
		"daemon secret_file", "daemon timezone",
		"daemon log_level",   "daemon templates",
		"fetch timeout",      "fetch max_size",
		"fetch connections",  "http listen",
		"http form_per_ip",   "http trusted_proxies",
		"smtp url",	      "smtp username",
		"smtp password_file", "smtp starttls",
		"smtp connections",   "imap url",
		"imap username",      "imap password_file",
		"imap poll",	      "imap folder",
		"imap move_to",	      "imap ca_file",
		"imap max_size",      "imap authserv_id",
		"fetch per_host",     "fetch ca_file",
		"source split",	      "list title",
		"list address",	      "list from",
		"list schedule",      "list template",
		"list sources",	      "list themes",
		"list subscribe",     "list allow",
		"source title",	      "source type",
		"source url",	      "source folder",
		"source from",	      "source interval",
		"source priority",    "theme title",
		"theme keywords",     "dedupe similar",
		"dedupe contained",   "dedupe min_words",
		"classify min_score", "classify title_weight",
		"http form_min_time",
	};
	char path[PATH_MAX + 64];
	char seen[128][48];
	size_t n_seen = 0;
	char line[512];
	char section[16] = "";
	struct buf text;
	struct config *cfg;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../../../config/bulletin.conf.example",
		 data_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	buf_init(&text, BUF_MAX_TEXT);
	while (fgets(line, sizeof(line), f)) {
		size_t len;

		if (strncmp(line, ";templates = ", 13) == 0) {
			/* Use the test templates, not the installed ones. */
			assert_int_equal(
				buf_adds(&text, "templates = @TEMPLATES@\n"),
				0);
			continue;
		}
		assert_int_equal(buf_adds(&text, line), 0);
		if (line[0] == '[') {
			len = strcspn(line + 1, " ]");
			assert_true(len < sizeof(section));
			memcpy(section, line + 1, len);
			section[len] = '\0';
		} else if (line[0] == ';' && line[1] == ' ' && section[0]) {
			len = strcspn(line + 2, ": ");
			if (line[2 + len] == ':' && n_seen < 128) {
				snprintf(seen[n_seen++], sizeof(seen[0]),
					 "%s %.*s", section, (int)len,
					 line + 2);
			}
		}
	}
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool found = false;

		for (size_t j = 0; j < n_seen && !found; j++) {
			found = strcmp(seen[j], keys[i]) == 0;
		}
		if (!found) {
			fail_msg("bulletin.conf.example does not document %s",
				 keys[i]);
		}
	}
	cfg = load_ok(buf_str(&text));
	buf_free(&text);
	assert_string_equal(cfg->lists[0].name, "staff-news");
	assert_int_equal(cfg->n_sources, 2);
	assert_int_equal(cfg->n_themes, 11);
	assert_int_equal(cfg->lists[0].n_themes, 11);
	config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_misspelt_key),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_bad_schedule),
		cmocka_unit_test(test_source_urls),
		cmocka_unit_test(test_smtp_imap_urls),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_crlf_and_bom),
		cmocka_unit_test(test_quoted_phrases),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_required_and_line_zero),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_dedupe_and_classify),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_timezones),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_duration_size),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_example_documents_every_key),
		cmocka_unit_test(test_http_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
