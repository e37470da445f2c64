/*
 * digest: one list's digest for one period. Holds copies of the items,
 * folds duplicates into "also in" notes of the item they repeat, groups
 * the rest by theme in the list's order (newest first), numbers the
 * links, and turns the result into template data, built once and reused
 * for every recipient (only the recipient's own values change). Pure: no
 * I/O. One thread at a time per digest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "message.h"

#define DIGEST_EXCERPT_MAX 640 /* octets, whatever the word count */
#define DIGEST_RULE_MAX 72     /* width of a heading's underline */
#define OTHER_THEME "other"
#define OTHER_TITLE "Other news"
#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

struct ditem {
	int64_t id;
	char *title; /* all owned */
	char *link;
	char *source;
	char *text;
	char *theme;
	int64_t published;
	int64_t duplicate_of;
};

/* What render needs, computed once after the last digest_add. */
struct digest_cache {
	struct tmpl_data *data; /* owned; NULL until built */
};

struct digest {
	const struct config *cfg;	/* borrowed */
	const struct config_list *list; /* borrowed */
	int64_t period_start;
	int64_t period_end;
	bool open_start;     /* no previous digest: start at the oldest story */
	struct ditem *items; /* owned */
	size_t n_items;
	size_t cap_items;
	struct digest_cache *cache; /* owned; mutable behind a const digest */
};

static const char *const wday_names[] = {"Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};

struct digest *digest_create(const struct config *cfg,
			     const struct config_list *list,
			     int64_t period_start, int64_t period_end)
{
	struct digest *d;

	if (CHECK_FAILS(list != NULL))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cache = calloc(1, sizeof(*d->cache));
	if (!d->cache) {
		free(d);
		return NULL;
	}
	d->cfg = cfg;
	d->list = list;
	d->period_start = period_start;
	d->period_end = period_end;
	d->open_start = period_start <= 0;
	return d;
}

static void ditem_finish(struct ditem *it)
{
	free(it->title);
	free(it->link);
	free(it->source);
	free(it->text);
	free(it->theme);
}

static void cache_clear(struct digest_cache *c)
{
	tmpl_data_destroy(c->data);
	c->data = NULL;
}

void digest_destroy(struct digest *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_items; i++)
		ditem_finish(&d->items[i]);
	free(d->items);
	if (d->cache)
		cache_clear(d->cache);
	free(d->cache);
	free(d);
}

static const struct ditem *find_id(const struct digest *d, int64_t id)
{
	for (size_t i = 0; i < d->n_items; i++) {
		if (d->items[i].id == id)
			return &d->items[i];
	}
	return NULL;
}

int digest_add(struct digest *d, const struct digest_item *item)
{
	struct ditem *it;

	if (CHECK_FAILS(d && item))
		return -EINVAL;
	/* The same story twice (two fetches of one feed) shows once. */
	if (find_id(d, item->id))
		return 0;
	if (d->n_items == d->cap_items) {
		size_t ncap = d->cap_items ? d->cap_items * 2 : 32;
		struct ditem *p;

		if (ncap > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(d->items, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->items = p;
		d->cap_items = ncap;
	}
	it = &d->items[d->n_items];
	memset(it, 0, sizeof(*it));
	it->id = item->id;
	it->published = item->published;
	it->duplicate_of = item->duplicate_of;
	/* A first digest has no previous one to start from: its period
	 * starts with its oldest story. */
	if (d->open_start && item->published > 0 &&
	    (d->period_start <= 0 || item->published < d->period_start))
		d->period_start = item->published;
	it->title = strdup(item->title ? item->title : "");
	it->link = strdup(item->link ? item->link : "");
	it->source = strdup(item->source ? item->source : "");
	it->text = strdup(item->text ? item->text : "");
	it->theme = strdup(item->theme ? item->theme : OTHER_THEME);
	if (!it->title || !it->link || !it->source || !it->text || !it->theme) {
		ditem_finish(it);
		return -ENOMEM;
	}
	d->n_items++;
	cache_clear(d->cache);
	return 0;
}

size_t digest_count(const struct digest *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_items; i++) {
		if (d->items[i].duplicate_of == 0)
			n++;
	}
	return n;
}

/* The item a duplicate finally repeats, following chains, or NULL when
 * that item is not in this digest. */
static const struct ditem *kept_of(const struct digest *d,
				   const struct ditem *it)
{
	for (size_t hops = 0; it && it->duplicate_of != 0; hops++) {
		if (hops > d->n_items)
			return NULL; /* a cycle: no item is the original */
		it = find_id(d, it->duplicate_of);
	}
	return it;
}

/* ---- text helpers ---- */

/* Cleans s (no breaks, controls or bidi tricks), collapses blanks to
 * one space and trims: one display line. */
static int line_clean(const char *s, struct buf *out)
{
	struct buf b;
	size_t start = out->len;
	int ret;

	buf_init(&b, BUF_MAX_TEXT);
	ret = message_clean(s, strlen(s), &b);
	for (size_t i = 0; !ret && i < b.len; i++) {
		if (b.ptr[i] == ' ') {
			if (out->len == start || out->ptr[out->len - 1] == ' ')
				continue;
		}
		ret = buf_addc(out, b.ptr[i]);
	}
	buf_free(&b);
	if (!ret)
		buf_rtrim(out, " ");
	return ret;
}

static int set_clean(struct tmpl_data *e, const char *name, const char *v,
		     const char *fallback)
{
	struct buf b;
	int ret;

	buf_init(&b, BUF_MAX_TEXT);
	ret = line_clean(v, &b);
	if (!ret)
		ret = tmpl_data_set(e, name, b.len ? buf_str(&b) : fallback);
	buf_free(&b);
	return ret;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* A heading's underline: c repeated once per character of the title as
 * it is shown (cleaned). */
static int set_rule(struct tmpl_data *e, const char *name, const char *title,
		    char c)
{
	char rule[DIGEST_RULE_MAX + 1];
	struct buf b;
	size_t n;
	int ret;

	buf_init(&b, BUF_MAX_TEXT);
	ret = line_clean(title, &b);
	n = utf8_chars(buf_str(&b));
	buf_free(&b);
	if (ret)
		return ret;
	if (n > DIGEST_RULE_MAX)
		n = DIGEST_RULE_MAX;
	memset(rule, c, n);
	rule[n] = '\0';
	return tmpl_data_set(e, name, rule);
}

/* Length of the reference number at s, "[n]" with n in 1..max and no
 * leading zero, setting *n; 0 if s does not start with one. */
static size_t ref_marker_len(const char *s, long max, long *n)
{
	size_t i = 1;

	*n = 0;
	if (s[0] != '[' || s[1] < '1' || s[1] > '9')
		return 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		*n = *n * 10 + (s[i] - '0');
		if (*n > max)
			return 0;
	}
	return s[i] == ']' ? i + 1 : 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* True when line (len bytes, no newline) is reference want: "[want] "
 * then an http or https URL with no blank in it; blanks may follow. */
static bool ref_line_is(const char *line, size_t len, long want)
{
	size_t i;
	long n;

	i = ref_marker_len(line, want, &n);
	if (i == 0 || n != want || i >= len || line[i] != ' ')
		return false;
	line += i + 1;
	len -= i + 1;
	if (len >= 7 && strncmp(line, "http://", 7) == 0)
		i = 7;
	else if (len >= 8 && strncmp(line, "https://", 8) == 0)
		i = 8;
	else
		return false;
	if (i == len || is_blank(line[i]))
		return false;
	while (i < len && !is_blank(line[i]))
		i++;
	while (i < len && is_blank(line[i]))
		i++;
	return i == len;
}

/* Finds the references block html2text writes after a text: after a
 * blank line, the lines "[1] URL", "[2] URL"... to the end (blanks
 * aside). Returns how many references it lists and sets *body to the
 * length of the text before it; returns 0 when there is none. */
static long refs_block(const char *text, size_t *body)
{
	size_t end = strlen(text), eol, sol, len;
	const char *line, *nl;
	long lines = 0;

	while (end > 0 && (is_blank(text[end - 1]) || text[end - 1] == '\n'))
		end--;
	/* Up from the bottom to the first blank line. */
	eol = end;
	for (;;) {
		sol = eol;
		while (sol > 0 && text[sol - 1] != '\n')
			sol--;
		if (strspn(text + sol, " \t\r") >= eol - sol)
			break;
		lines++;
		if (sol == 0)
			return 0; /* no blank line before it */
		eol = sol - 1;
	}
	/* Down again: each line must be the next reference. */
	*body = sol;
	for (long n = 1; n <= lines; n++) {
		line = text + eol + 1;
		nl = memchr(line, '\n', end - (eol + 1));
		len = nl ? (size_t)(nl - line) : end - (eol + 1);
		if (!ref_line_is(line, len, n))
			return 0;
		eol += 1 + len;
	}
	return lines;
}

/* The part of an item's text an excerpt is cut from: without the
 * trailing references block, and without the " [n]" markers that point
 * into it. Any other "[n]" is the author's and stays. */
static int excerpt_body(const char *text, struct buf *out)
{
	size_t body = 0, skip;
	long refs = refs_block(text, &body), n;
	int ret = 0;

	if (refs == 0)
		return buf_adds(out, text);
	for (size_t i = 0; i < body && !ret; i++) {
		if (text[i] == ' ') {
			skip = ref_marker_len(text + i + 1, refs, &n);
			if (skip > 0 && i + skip < body) {
				i += skip;
				continue;
			}
		}
		ret = buf_addc(out, text[i]);
	}
	return ret;
}

/* The excerpt: the text on one line (less its references, see
 * excerpt_body), cut after DIGEST_EXCERPT_WORDS words (or
 * DIGEST_EXCERPT_MAX octets) at a word boundary, with an ellipsis when
 * cut. */
static int excerpt_make(const char *text, struct buf *out)
{
	struct buf body, b;
	const char *s;
	size_t words = 0, cut, len;
	int ret;

	buf_init(&body, BUF_MAX_TEXT);
	buf_init(&b, BUF_MAX_TEXT);
	ret = excerpt_body(text, &body);
	if (!ret)
		ret = line_clean(buf_str(&body), &b);
	if (ret)
		goto out;
	s = buf_str(&b);
	len = b.len;
	cut = len;
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && s[i - 1] != ' ')
			continue;
		if (s[i] == ' ')
			continue;
		/* i starts a word */
		if (++words > DIGEST_EXCERPT_WORDS) {
			cut = i;
			break;
		}
	}
	if (cut > DIGEST_EXCERPT_MAX) {
		/* One word runs past the cap: cut it between characters. */
		const char *sp = memrchr(s, ' ', DIGEST_EXCERPT_MAX);

		cut = sp ? (size_t)(sp - s) : DIGEST_EXCERPT_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	if (cut < len) {
		while (cut > 0 && strchr(" ,;:-", s[cut - 1]))
			cut--;
		ret = buf_add(out, s, cut);
		if (!ret)
			ret = buf_adds(out, ELLIPSIS);
	} else {
		ret = buf_add(out, s, len);
	}
out:
	buf_free(&body);
	buf_free(&b);
	return ret;
}

static bool local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	return (int64_t)tt == t && localtime_r(&tt, tm) != NULL;
}

/* "16 Nov 2026" */
static int day_format(int64_t t, bool wday, struct buf *out)
{
	struct tm tm;

	if (!local_tm(t, &tm))
		return 0;
	if (wday)
		return buf_printf(out, "%s %d %s %d", wday_names[tm.tm_wday],
				  tm.tm_mday, month_names[tm.tm_mon],
				  tm.tm_year + 1900);
	return buf_printf(out, "%d %s %d", tm.tm_mday, month_names[tm.tm_mon],
			  tm.tm_year + 1900);
}

/* "16-23 Nov 2026", "30 Nov - 6 Dec 2026", "28 Dec 2026 - 4 Jan 2027" */
static int period_format(const struct digest *d, struct buf *out)
{
	struct tm a, b;

	if (!local_tm(d->period_start, &a) || !local_tm(d->period_end, &b))
		return 0;
	if (a.tm_year != b.tm_year) {
		int ret = day_format(d->period_start, false, out);

		if (!ret)
			ret = buf_adds(out, " - ");
		if (!ret)
			ret = day_format(d->period_end, false, out);
		return ret;
	}
	if (a.tm_mon != b.tm_mon)
		return buf_printf(out, "%d %s - %d %s %d", a.tm_mday,
				  month_names[a.tm_mon], b.tm_mday,
				  month_names[b.tm_mon], b.tm_year + 1900);
	if (a.tm_mday != b.tm_mday)
		return buf_printf(out, "%d-%d %s %d", a.tm_mday, b.tm_mday,
				  month_names[b.tm_mon], b.tm_year + 1900);
	return day_format(d->period_end, false, out);
}

static int set_day(struct tmpl_data *e, const char *name, int64_t t, bool wday)
{
	struct buf b;
	int ret;

	buf_init(&b, BUF_MAX_LINE);
	ret = day_format(t, wday, &b);
	if (!ret)
		ret = tmpl_data_set(e, name, buf_str(&b));
	buf_free(&b);
	return ret;
}

static int set_stories(struct tmpl_data *e, const char *name, size_t n)
{
	return tmpl_data_setf(e, name, "%zu %s", n,
			      n == 1 ? "story" : "stories");
}

static const char *list_title(const struct config_list *list)
{
	if (list->title && list->title[0])
		return list->title;
	return list->name ? list->name : "";
}

/* ---- grouping ---- */

/* Index of the item's theme in the list's theme order; n_themes stands
 * for an implicit "other" when the list does not name one. */
static size_t theme_index(const struct config_list *list, const char *theme)
{
	size_t other = list->n_themes;

	for (size_t i = 0; i < list->n_themes; i++) {
		if (strcmp(list->themes[i], theme) == 0)
			return i;
		if (strcmp(list->themes[i], OTHER_THEME) == 0)
			other = i;
	}
	return other;
}

static const char *theme_title(const struct digest *d, const char *name)
{
	if (d->cfg) {
		for (size_t i = 0; i < d->cfg->n_themes; i++) {
			const struct config_theme *th = &d->cfg->themes[i];

			if (th->name && strcmp(th->name, name) == 0 &&
			    th->title && th->title[0])
				return th->title;
		}
	}
	return strcmp(name, OTHER_THEME) == 0 ? OTHER_TITLE : name;
}

struct slot {
	const struct ditem *it;
	size_t theme;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->theme != y->theme)
		return x->theme < y->theme ? -1 : 1;
	if (x->it->published != y->it->published)
		return x->it->published > y->it->published ? -1 : 1;
	if (x->it->id != y->it->id)
		return x->it->id < y->it->id ? -1 : 1;
	return 0;
}

/* Duplicates in a stable order: oldest first, then by id. */
static int dup_cmp(const void *a, const void *b)
{
	const struct ditem *x = *(const struct ditem *const *)a;
	const struct ditem *y = *(const struct ditem *const *)b;

	if (x->published != y->published)
		return x->published < y->published ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

/* "also in": the sources of the duplicates of kept, each once, never
 * kept's own source. dups is sorted with dup_cmp; roots[i] is the item
 * that dups[i] repeats. */
static int also_in_make(const struct ditem *kept, const struct ditem **dups,
			const struct ditem **roots, size_t n_dups,
			struct buf *out)
{
	struct buf own, src, seen;
	int ret;

	buf_init(&own, BUF_MAX_LINE);
	buf_init(&src, BUF_MAX_LINE);
	buf_init(&seen, BUF_MAX_LINE);
	/* seen holds "\nA\nB\n": cleaned names never hold a newline. */
	ret = buf_addc(&seen, '\n');
	if (!ret)
		ret = line_clean(kept->source, &own);
	if (!ret)
		ret = buf_printf(&seen, "%s\n", buf_str(&own));
	for (size_t i = 0; !ret && i < n_dups; i++) {
		if (roots[i] != kept)
			continue;
		buf_reset(&src);
		ret = buf_addc(&src, '\n');
		if (!ret)
			ret = line_clean(dups[i]->source, &src);
		if (!ret)
			ret = buf_addc(&src, '\n');
		if (ret || src.len == 2 ||
		    strstr(buf_str(&seen), buf_str(&src)))
			continue;
		ret = buf_adds(&seen, buf_str(&src) + 1);
		if (!ret && out->len)
			ret = buf_adds(out, ", ");
		if (!ret)
			ret = buf_add(out, buf_str(&src) + 1, src.len - 2);
	}
	buf_free(&own);
	buf_free(&src);
	buf_free(&seen);
	return ret;
}

static int item_data(const struct digest *d, struct tmpl_data *e,
		     const struct ditem *it, int ref, const char *also_in)
{
	struct buf b;
	int ret;

	buf_init(&b, BUF_MAX_TEXT);
	ret = set_clean(e, "title", it->title, "(untitled)");
	if (!ret)
		ret = set_clean(e, "source", it->source, "Unknown source");
	if (!ret)
		ret = set_day(e, "date", it->published, true);
	if (!ret)
		ret = excerpt_make(it->text, &b);
	if (!ret)
		ret = tmpl_data_set(e, "excerpt", buf_str(&b));
	/* Set even when empty, so that lookup never finds an outer one. */
	if (!ret && ref > 0)
		ret = tmpl_data_setf(e, "ref", "%d", ref);
	else if (!ret)
		ret = tmpl_data_set(e, "ref", "");
	if (!ret)
		ret = set_clean(e, "link", ref > 0 ? it->link : "", "");
	if (!ret)
		ret = tmpl_data_set(e, "also_in", also_in);
	buf_free(&b);
	return ret;
}

static int ref_add(struct tmpl_data *parent, const char *list, int ref,
		   const char *link)
{
	struct tmpl_data *e = tmpl_data_add(parent, list);
	int ret;

	if (!e)
		return -ENOMEM;
	ret = tmpl_data_setf(e, "ref", "%d", ref);
	if (!ret)
		ret = set_clean(e, "link", link, "");
	return ret;
}

/* Root values shared by every recipient. */
static int root_data(const struct digest *d, struct tmpl_data *root,
		     size_t count)
{
	const struct config_list *list = d->list;
	struct buf b;
	int ret;

	buf_init(&b, BUF_MAX_LINE);
	ret = set_clean(root, "list_title", list_title(list), "");
	if (!ret)
		ret = set_rule(root, "list_title_rule", list_title(list), '=');
	if (!ret)
		ret = set_clean(root, "list_name", list->name ? list->name : "",
				"");
	if (!ret)
		ret = set_clean(root, "list_address",
				list->address ? list->address : "", "");
	if (!ret)
		ret = set_clean(root, "schedule",
				list->schedule_text ? list->schedule_text : "",
				"");
	if (!ret)
		ret = period_format(d, &b);
	if (!ret)
		ret = tmpl_data_set(root, "period", buf_str(&b));
	if (!ret)
		ret = set_day(root, "period_start", d->period_start, false);
	if (!ret)
		ret = set_day(root, "period_end", d->period_end, false);
	if (!ret)
		ret = tmpl_data_setf(root, "count", "%zu", count);
	if (!ret)
		ret = set_stories(root, "count_text", count);
	if (!ret)
		ret = tmpl_data_set(root, "has_stories", count ? "yes" : "");
	buf_free(&b);
	return ret;
}

static int data_build(const struct digest *d, struct tmpl_data *root)
{
	struct slot *slots = NULL;
	const struct ditem **dups = NULL, **roots = NULL;
	size_t n_slots = 0, n_dups = 0;
	struct tmpl_data *theme = NULL;
	struct buf also;
	int ref = 0, ret = 0;

	buf_init(&also, BUF_MAX_LINE);
	if (d->n_items) {
		slots = calloc(d->n_items, sizeof(*slots));
		dups = calloc(d->n_items, sizeof(*dups));
		roots = calloc(d->n_items, sizeof(*roots));
		if (!slots || !dups || !roots) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < d->n_items; i++) {
		const struct ditem *it = &d->items[i];

		if (it->duplicate_of != 0) {
			dups[n_dups++] = it;
			continue;
		}
		slots[n_slots].it = it;
		slots[n_slots].theme = theme_index(d->list, it->theme);
		n_slots++;
	}
	if (n_slots)
		qsort(slots, n_slots, sizeof(*slots), slot_cmp);
	if (n_dups)
		qsort(dups, n_dups, sizeof(*dups), dup_cmp);
	for (size_t i = 0; i < n_dups; i++)
		roots[i] = kept_of(d, dups[i]);

	ret = root_data(d, root, n_slots);
	for (size_t i = 0; !ret && i < n_slots; i++) {
		const struct ditem *it = slots[i].it;
		struct tmpl_data *e;
		bool linked = it->link[0] != '\0';

		if (i == 0 || slots[i].theme != slots[i - 1].theme) {
			size_t t = slots[i].theme, n = 0;
			const char *name = t < d->list->n_themes
						   ? d->list->themes[t]
						   : OTHER_THEME;
			const char *title = theme_title(d, name);
			bool refs = false;

			for (size_t k = i; k < n_slots && slots[k].theme == t;
			     k++) {
				n++;
				refs = refs || slots[k].it->link[0] != '\0';
			}
			theme = tmpl_data_add(root, "themes");
			if (!theme) {
				ret = -ENOMEM;
				break;
			}
			ret = set_clean(theme, "theme_name", name, "");
			if (!ret)
				ret = set_clean(theme, "theme_title", title,
						name);
			if (!ret)
				ret = set_rule(theme, "theme_rule", title, '-');
			if (!ret)
				ret = tmpl_data_setf(theme, "theme_count",
						     "%zu", n);
			if (!ret)
				ret = set_stories(theme, "theme_count_text", n);
			if (!ret)
				ret = tmpl_data_set(theme,
						    "theme_has_references",
						    refs ? "yes" : "");
			if (ret)
				break;
		}
		buf_reset(&also);
		ret = also_in_make(it, dups, roots, n_dups, &also);
		if (ret)
			break;
		if (linked)
			ref++;
		e = tmpl_data_add(theme, "items");
		if (!e) {
			ret = -ENOMEM;
			break;
		}
		ret = item_data(d, e, it, linked ? ref : 0, buf_str(&also));
		if (!ret && linked)
			ret = ref_add(theme, "theme_references", ref, it->link);
		if (!ret && linked)
			ret = ref_add(root, "references", ref, it->link);
	}
out:
	free(slots);
	free(dups);
	free(roots);
	buf_free(&also);
	return ret;
}

int digest_subject(const struct digest *d, struct buf *out)
{
	int ret;

	if (CHECK_FAILS(d && out))
		return -EINVAL;
	ret = line_clean(list_title(d->list), out);
	if (!ret)
		ret = buf_adds(out, ": ");
	if (!ret) {
		size_t n = digest_count(d);

		ret = buf_printf(out, "%zu %s, ", n,
				 n == 1 ? "story" : "stories");
	}
	if (!ret)
		ret = period_format(d, out);
	return ret;
}

/* The template data, built on the first call. */
static int data_get(const struct digest *d, struct tmpl_data **out)
{
	struct digest_cache *c = d->cache;
	int ret;

	if (!c->data) {
		c->data = tmpl_data_create();
		if (!c->data)
			return -ENOMEM;
		ret = data_build(d, c->data);
		if (ret) {
			cache_clear(c);
			return ret;
		}
	}
	*out = c->data;
	return 0;
}

int digest_render_holes(const struct digest *d, const struct tmpl *t,
			struct buf *out)
{
	static const char *const names[DIGEST_HOLES] = {
		[DIGEST_HOLE_ADDRESS] = "recipient",
		[DIGEST_HOLE_UNSUBSCRIBE_URL] = "unsubscribe_url",
		[DIGEST_HOLE_UNSUBSCRIBE_MAILTO] = "unsubscribe_mailto",
	};
	struct tmpl_data *data;
	int ret;

	if (CHECK_FAILS(d && t && out))
		return -EINVAL;
	ret = data_get(d, &data);
	/* Set as they are: set_clean would drop the control character. */
	for (int i = 0; !ret && i < DIGEST_HOLES; i++) {
		char hole[3] = {MESSAGE_HOLE, (char)('0' + i), '\0'};

		ret = tmpl_data_set(data, names[i], hole);
	}
	return ret ? ret : tmpl_render(t, data, out);
}

int digest_recipient_values(const struct digest_recipient *r,
			    struct buf vals[DIGEST_HOLES])
{
	const char *v[DIGEST_HOLES] = {
		[DIGEST_HOLE_ADDRESS] = r->address,
		[DIGEST_HOLE_UNSUBSCRIBE_URL] = r->unsubscribe_url,
		[DIGEST_HOLE_UNSUBSCRIBE_MAILTO] = r->unsubscribe_mailto,
	};
	int ret = 0;

	for (int i = 0; !ret && i < DIGEST_HOLES; i++) {
		buf_reset(&vals[i]);
		ret = line_clean(v[i] ? v[i] : "", &vals[i]);
	}
	return ret;
}

int digest_render(const struct digest *d, const struct tmpl *t,
		  const struct digest_recipient *r, struct buf *out)
{
	struct tmpl_data *data;
	int ret;

	if (CHECK_FAILS(d && t && r && out))
		return -EINVAL;
	ret = data_get(d, &data);
	if (ret)
		return ret;
	/* The recipient's values replace the previous recipient's. */
	ret = set_clean(data, "recipient", r->address ? r->address : "", "");
	if (!ret)
		ret = set_clean(data, "unsubscribe_url",
				r->unsubscribe_url ? r->unsubscribe_url : "",
				"");
	if (!ret)
		ret = set_clean(
			data, "unsubscribe_mailto",
			r->unsubscribe_mailto ? r->unsubscribe_mailto : "", "");
	if (ret)
		return ret;
	return tmpl_render(t, data, out);
}
