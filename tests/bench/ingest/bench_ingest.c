/*
 * bench_ingest: 100,000 synthetic items through the ingest pipeline
 * (parse, normalise, fingerprint, dedupe against the store, theme, store)
 * into a fresh database, in feeds of 1,000 items each, alternating two
 * sources. Deterministic: the same arguments give the same items. About
 * 1 in 10 items is a lightly edited repost of an earlier one, 1 in 20
 * quotes an earlier one inside new text, 1 in 20 repeats an earlier
 * link. Prints items/s for the first and the last 10,000, the total and
 * the peak memory (max RSS). Not a test: run by tests/bench/ingest/run.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "ingest.h"
#include "log.h"
#include "store.h"
#include "text.h"
#include "theme.h"

#define PER_FEED 1000
#define WINDOW 10000

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, good enough for text. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A vocabulary of pseudo-words from syllables, used with a skewed
 * (roughly Zipfian) choice, plus theme words now and then. */
#define VOCAB 6000
static char vocab[VOCAB][16];
static const char *const theme_words[] = {
	"caseload", "workload",	 "pay",		 "band",      "recruitment",
	"trainee",  "sickness",	 "wellbeing",	 "diversity", "union",
	"ballot",   "programme", "intervention", "hybrid",    "reform",
	"court",    "report",	 "overtime",	 "vacancy",   "equality",
};

static void make_vocab(void)
{
	static const char *const syl[] = {
		"ba", "ke", "lo", "mi", "nu", "ra",  "so",  "ti",  "ve", "wo",
		"an", "er", "in", "or", "ul", "pre", "sta", "tro", "ch", "sh",
	};
	size_t i, k, n;

	for (i = 0; i < VOCAB; i++) {
		vocab[i][0] = '\0';
		n = 1 + (i % 4);
		for (k = 0; k < n; k++)
			strcat(vocab[i], syl[rnd() % 20]);
	}
}

static const char *word(void)
{
	uint32_t r = rnd();

	if (r % 50 == 0)
		return theme_words[(r / 50) % 20];
	/* Skewed: small indexes much more often. */
	r = rnd() % VOCAB;
	r = (uint32_t)((uint64_t)r * (rnd() % VOCAB) / VOCAB);
	return vocab[r];
}

struct item {
	char *title;
	char *text;
	char *link;
};

static char *words(size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, BUF_MAX_TEXT);
	for (i = 0; i < n; i++) {
		if (buf_adds(&b, i ? (i % 12 == 0 ? ". " : " ") : "") ||
		    buf_adds(&b, word()))
			return NULL;
	}
	if (buf_adds(&b, "."))
		return NULL;
	return buf_take(&b);
}

/* An edited copy: a few words replaced. */
static char *edit(const char *text)
{
	char *c = strdup(text);
	size_t len = strlen(c), i, k;

	for (k = 0; k < 3 && len > 10; k++) {
		i = rnd() % (len - 1);
		while (i < len && c[i] != ' ')
			i++;
		if (i + 1 < len && c[i + 1] >= 'a' && c[i + 1] <= 'z')
			c[i + 1] = (char)('a' + (c[i + 1] - 'a' + 1) % 26);
	}
	return c;
}

/* The last RING items, for reposts of recent ones: the generator holds
 * no more, so the peak memory is the pipeline's. */
#define RING 1024
static struct item ring[RING];

static const struct item *earlier(size_t i)
{
	return &ring[(i - 1 - rnd() % 100) % RING];
}

static void make_item(size_t i)
{
	struct item *it = &ring[i % RING];
	uint32_t kind = rnd() % 20;
	struct buf b;
	char *pre, *post;

	free(it->title);
	free(it->text);
	free(it->link);
	it->text = it->link = NULL;
	it->title = words(6 + rnd() % 6);
	if (i > 100 && kind < 2) {
		/* A lightly edited repost, under a new title. */
		it->text = edit(earlier(i)->text);
	} else if (i > 100 && kind == 2) {
		/* An earlier item quoted inside new text. */
		pre = words(20 + rnd() % 30);
		post = words(20 + rnd() % 30);
		buf_init(&b, BUF_MAX_TEXT);
		if (buf_printf(&b, "%s %s %s", pre, earlier(i)->text, post) ==
		    0)
			it->text = buf_take(&b);
		free(pre);
		free(post);
	} else {
		it->text = words(40 + rnd() % 160);
	}
	buf_init(&b, 256);
	if (i > 100 && kind == 3)
		it->link = strdup(earlier(i)->link);
	else if (buf_printf(&b, "https://bench%zu.example.org/2026/%zu.html",
			    i % 2, i) == 0)
		it->link = buf_take(&b);
	if (!it->title || !it->text || !it->link) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
}

static int add_escaped(struct buf *b, const char *s)
{
	int ret = 0;

	for (; *s && !ret; s++) {
		if (*s == '&')
			ret = buf_adds(b, "&amp;");
		else if (*s == '<')
			ret = buf_adds(b, "&lt;");
		else
			ret = buf_addc(b, *s);
	}
	return ret;
}

static char *feed(size_t from, size_t n)
{
	const struct item *it;
	struct buf b;
	size_t i;
	int ret;

	buf_init(&b, BUF_MAX_TEXT * 4);
	ret = buf_adds(&b, "<?xml version=\"1.0\"?><rss version=\"2.0\">"
			   "<channel><title>bench</title>");
	for (i = from; i < from + n && !ret; i++) {
		make_item(i);
		it = &ring[i % RING];
		ret = buf_printf(&b,
				 "<item><guid>tag:bench,2026:%zu</guid>"
				 "<link>%s</link><pubDate>Mon, 02 Nov "
				 "2026 %02zu:%02zu:00 GMT</pubDate><title>",
				 i, it->link, (i / 60) % 24, i % 60);
		if (!ret)
			ret = add_escaped(&b, it->title);
		if (!ret)
			ret = buf_adds(&b, "</title><description>");
		if (!ret)
			ret = add_escaped(&b, it->text);
		if (!ret)
			ret = buf_adds(&b, "</description></item>");
	}
	if (!ret)
		ret = buf_adds(&b, "</channel></rss>");
	return ret ? NULL : buf_take(&b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n feed times (sorted in place). */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct store *st;
	struct theme_set *ts;
	struct ingest_result res;
	struct err err = {{0}};
	struct rusage ru;
	size_t n = 100000, i, dups = 0, added = 0;
	double t0, t, first = 0, last = 0, total = 0;
	/* Each window's feed times: their median says the same as the sum
	 * when nothing else runs, and much less about a neighbour's burst
	 * on a shared machine. */
	double first_v[WINDOW / PER_FEED], last_v[WINDOW / PER_FEED];
	size_t n_first = 0, n_last = 0;
	long long v;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && text_parse_int(argv[3], PER_FEED, 10000000, &v))) {
		fprintf(stderr,
			"usage: bench_ingest CONFIG DATABASE [ITEMS]\n");
		return 2;
	}
	if (argc == 4)
		n = (size_t)v / PER_FEED * PER_FEED;
	log_init("bench_ingest", LOG_LEVEL_WARNING);
	if (config_load(argv[1], NULL, NULL, &cfg)) {
		fprintf(stderr,
			"bench_ingest: %s does not load; try "
			"bulletinctl -c %s check-config\n",
			argv[1], argv[1]);
		return 2;
	}
	if (cfg->n_sources < 2) {
		fprintf(stderr, "bench_ingest: %s needs two sources\n",
			argv[1]);
		return 2;
	}
	st = store_open(argv[2], &err);
	if (!st || store_sync_config(st, cfg, &err)) {
		fprintf(stderr, "bench_ingest: %s\n", err.msg);
		return 1;
	}
	ts = theme_set_create(cfg);
	make_vocab();
	if (!ts)
		return 1;
	for (i = 0; i < n; i += PER_FEED) {
		/* Each feed is built before the clock starts: what is
		 * timed is the pipeline, not the generator. */
		char *doc = feed(i, PER_FEED);

		if (!doc) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		t0 = now_s();
		if (ingest_feed(st, ts, &cfg->sources[(i / PER_FEED) % 2], doc,
				strlen(doc), NULL, 1800000000, &res, &err)) {
			fprintf(stderr, "bench_ingest: %s\n", err.msg);
			return 1;
		}
		t = now_s() - t0;
		free(doc);
		total += t;
		if (i < WINDOW) {
			first += t;
			first_v[n_first++] = t;
		}
		if (i >= n - WINDOW) {
			last += t;
			last_v[n_last++] = t;
		}
		added += res.added;
		dups += res.duplicates;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("items:            %zu stored, %zu duplicates\n", added, dups);
	printf("first %d:      %.0f items/s\n", WINDOW, WINDOW / first);
	printf("last %d:       %.0f items/s\n", WINDOW, WINDOW / last);
	printf("median feed:      first %.0f, last %.0f items/s (%+.1f%%)\n",
	       PER_FEED / median(first_v, n_first),
	       PER_FEED / median(last_v, n_last),
	       100.0 * (median(first_v, n_first) / median(last_v, n_last) - 1));
	printf("all:              %.2f s, %.0f items/s\n", total, n / total);
	printf("peak memory:      %.1f MiB (max RSS)\n", ru.ru_maxrss / 1024.0);
	for (i = 0; i < RING; i++) {
		free(ring[i].title);
		free(ring[i].text);
		free(ring[i].link);
	}
	theme_set_destroy(ts);
	store_close(st);
	config_destroy(cfg);
	return 0;
}
