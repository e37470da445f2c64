/*
 * briefing: subject cleanup and section splitting for briefing emails.
 * The text is read as lines; headings are found in one pass and checked
 * against their neighbours in a second, then each section is copied out.
 * Pure: allocates only what it returns; safe on any thread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "briefing.h"
#include "buf.h"
#include "text.h"

#define NO_SUBJECT "(no subject)"
/* Longest heading, in characters (code points) once trimmed. */
#define HEADING_MAX_CHARS 60
/* Fewest upper-case letters in a heading: keeps "Q&A" and "UK" out. */
#define HEADING_MIN_LETTERS 3

struct line {
	const char *p; /* borrowed from the text; no "\n" */
	size_t len;
};

/* '\r' too: a stray CR left by a CRLF source must not hide a heading. */
static bool is_blank_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_blank_cp(utf8proc_int32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r';
}

/* Decodes one code point at p (n > 0 bytes left); returns its length, or
 * a negative value for bytes that are not UTF-8. */
static utf8proc_ssize_t next_cp(const char *p, size_t n, utf8proc_int32_t *cp)
{
	return utf8proc_iterate((const utf8proc_uint8_t *)p,
				(utf8proc_ssize_t)n, cp);
}

/* Skips one "Re:", "Fw:" or "Fwd:" (any case, blanks allowed before the
 * colon as some clients write "RE :") or one "[tag]" at s; returns
 * where the rest starts, or s when there is no such prefix. */
static const char *skip_prefix(const char *s)
{
	static const char *const words[] = {"fwd", "fw", "re"};
	const char *p, *end;
	size_t i, len;

	if (s[0] == '[') {
		end = strchr(s, ']');
		return end ? end + 1 : s;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		len = strlen(words[i]);
		if (strncasecmp(s, words[i], len) != 0) {
			continue;
		}
		p = s + len;
		while (*p == ' ') {
			p++;
		}
		if (*p == ':') {
			return p + 1;
		}
	}
	return s;
}

char *briefing_title(const char *subject)
{
	struct buf flat, clean;
	const char *p, *next;
	bool blank = false;
	char *title;
	int ret = 0;

	if (!subject) {
		return strdup(NO_SUBJECT);
	}
	/* Every ASCII control (tab, CR, LF...) is a blank, and a run of
	 * blanks one space: a folded header must read as one line. */
	buf_init(&flat, BUF_MAX_TEXT);
	for (p = subject; *p && !ret; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			blank = true;
			continue;
		}
		if (blank && flat.len > 0) {
			ret = buf_addc(&flat, ' ');
		}
		blank = false;
		if (!ret) {
			ret = buf_addc(&flat, *p);
		}
	}
	if (ret) {
		return NULL;
	}
	p = buf_str(&flat);
	for (;;) {
		next = skip_prefix(p);
		if (next == p) {
			break;
		}
		p = next;
		while (*p == ' ') {
			p++;
		}
	}
	buf_init(&clean, BUF_MAX_TEXT);
	/* Invalid UTF-8 becomes U+FFFD here, once, at the boundary. */
	ret = text_clean(p, strlen(p), &clean);
	buf_free(&flat);
	if (ret) {
		return NULL;
	}
	if (clean.len == 0) {
		buf_free(&clean);
		return strdup(NO_SUBJECT);
	}
	title = buf_take(&clean);
	return title;
}

static bool line_is_blank(const struct line *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		if (!is_blank_byte(l->p[i])) {
			return false;
		}
	}
	return true;
}

/* l without leading and trailing blanks. */
static struct line line_trim(struct line l)
{
	while (l.len > 0 && is_blank_byte(l.p[0])) {
		l.p++;
		l.len--;
	}
	while (l.len > 0 && is_blank_byte(l.p[l.len - 1])) {
		l.len--;
	}
	return l;
}

/* Punctuation a heading may hold besides letters, digits and blanks;
 * the typographic apostrophe and en dash stand in for ' and -. */
static bool heading_punct(utf8proc_int32_t cp)
{
	return (cp < 0x80 && strchr("&/,-':", (int)cp)) || cp == 0x2019 ||
	       cp == 0x2013;
}

/* Whether the line, on its own, reads as a heading: short, all its
 * letters upper case, at least HEADING_MIN_LETTERS of them. It must start
 * with a letter or digit, so that "- PAY" (a bullet) is never one. */
static bool heading_shape(struct line l)
{
	size_t i = 0, chars = 0, letters = 0;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	int cat;

	l = line_trim(l);
	while (i < l.len) {
		n = next_cp(l.p + i, l.len - i, &cp);
		if (n <= 0 || ++chars > HEADING_MAX_CHARS) {
			return false;
		}
		cat = utf8proc_category(cp);
		if (cat == UTF8PROC_CATEGORY_LU) {
			letters++;
		} else if (i == 0 && cat != UTF8PROC_CATEGORY_ND) {
			return false;
		} else if (cat != UTF8PROC_CATEGORY_ND &&
			   cat != UTF8PROC_CATEGORY_MN &&
			   cat != UTF8PROC_CATEGORY_MC && !is_blank_cp(cp) &&
			   !heading_punct(cp)) {
			return false;
		}
		i += (size_t)n;
	}
	return letters >= HEADING_MIN_LETTERS;
}

/* Marks heading[i] for each heading line. A candidate is a line of
 * heading shape with a blank line (or the start) before it. It is a
 * heading only when text follows before the next candidate: that keeps
 * out the last line (a sign-off) and a heading with nothing under it,
 * which stays as text so that nothing is lost. Returns the count. */
static size_t find_headings(const struct line *lines, size_t n, bool *heading)
{
	size_t i, j, count = 0;

	for (i = 0; i < n; i++) {
		heading[i] = (i == 0 || line_is_blank(&lines[i - 1])) &&
			     heading_shape(lines[i]);
	}
	for (i = 0; i < n; i++) {
		if (!heading[i]) {
			continue;
		}
		j = i + 1;
		while (j < n && line_is_blank(&lines[j])) {
			j++;
		}
		/* Candidates are decided left to right, so heading[j] is
		 * still "candidate" here. */
		if (j == n || heading[j]) {
			heading[i] = false;
		} else {
			count++;
		}
	}
	return count;
}

/* Appends lines [from, to) to out, without the blank lines at either
 * end; lines are joined with "\n" and the last gets none. */
static int add_lines(const struct line *lines, size_t from, size_t to,
		     struct buf *out)
{
	size_t i;
	int ret = 0;

	while (from < to && line_is_blank(&lines[from])) {
		from++;
	}
	while (to > from && line_is_blank(&lines[to - 1])) {
		to--;
	}
	for (i = from; i < to && !ret; i++) {
		ret = buf_add(out, lines[i].p, lines[i].len);
		if (!ret && i + 1 < to) {
			ret = buf_addc(out, '\n');
		}
	}
	return ret;
}

/* Words in lines [from, to): runs of non-blanks. Counting stops at
 * limit, which is all the caller needs to know. */
static size_t count_words(const struct line *lines, size_t from, size_t to,
			  size_t limit)
{
	size_t i, k, words = 0;
	bool in_word;

	for (i = from; i < to && words < limit; i++) {
		in_word = false;
		for (k = 0; k < lines[i].len; k++) {
			if (is_blank_byte(lines[i].p[k])) {
				in_word = false;
			} else if (!in_word) {
				in_word = true;
				words++;
			}
		}
	}
	return words;
}

/* Appends the heading l in sentence case: blanks collapsed, a trailing
 * colon dropped, the first letter kept upper and the others lowered. */
static int add_sentence_case(struct line l, struct buf *out)
{
	utf8proc_uint8_t enc[4];
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	bool first = true, blank = false;
	size_t i = 0;
	int ret = 0;

	l = line_trim(l);
	while (l.len > 0 && l.p[l.len - 1] == ':') {
		l = line_trim((struct line){l.p, l.len - 1});
	}
	while (i < l.len && !ret) {
		/* heading_shape() has checked the line is UTF-8. */
		n = next_cp(l.p + i, l.len - i, &cp);
		i += (size_t)n;
		if (is_blank_cp(cp)) {
			blank = true;
			continue;
		}
		if (blank) {
			ret = buf_addc(out, ' ');
			blank = false;
		}
		if (utf8proc_category(cp) == UTF8PROC_CATEGORY_LU) {
			if (!first) {
				cp = utf8proc_tolower(cp);
			}
			first = false;
		}
		n = utf8proc_encode_char(cp, enc);
		if (!ret) {
			ret = buf_add(out, enc, (size_t)n);
		}
	}
	return ret;
}

/* Fills item with copies of title and text (len bytes). */
static int item_set(struct briefing_item *item, const char *title,
		    const char *text, size_t len)
{
	item->title = strdup(title);
	item->text = strndup(text, len);
	if (!item->title || !item->text) {
		free(item->title);
		free(item->text);
		item->title = item->text = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Splits text into lines; *out is malloc'd. */
static int split_lines(const char *text, struct line **out, size_t *n)
{
	const char *p = text, *nl;
	struct line *lines;
	size_t count = 1, i = 0;

	for (nl = strchr(p, '\n'); nl; nl = strchr(nl + 1, '\n')) {
		count++;
	}
	lines = calloc(count, sizeof(*lines));
	if (!lines) {
		return -ENOMEM;
	}
	for (;;) {
		nl = strchr(p, '\n');
		lines[i].p = p;
		lines[i].len = nl ? (size_t)(nl - p) : strlen(p);
		i++;
		if (!nl) {
			break;
		}
		p = nl + 1;
	}
	*out = lines;
	*n = count;
	return 0;
}

/* One item per section (and one for a long introduction); h headings. */
static int split_sections(const char *title, const struct line *lines,
			  size_t n_lines, const bool *heading, size_t h,
			  struct briefing_item *items, size_t *n)
{
	struct buf t, x;
	size_t i, first, end, k = 0;
	bool intro_item;
	int ret = 0;

	for (first = 0; !heading[first]; first++) {
	}
	intro_item = count_words(lines, 0, first, BRIEFING_MIN_INTRO_WORDS) >=
		     BRIEFING_MIN_INTRO_WORDS;
	buf_init(&t, BUF_MAX_TEXT);
	buf_init(&x, BUF_MAX_TEXT);
	if (intro_item) {
		ret = add_lines(lines, 0, first, &x);
		if (!ret) {
			ret = item_set(&items[k], title, buf_str(&x), x.len);
		}
		k++;
	}
	for (i = first; i < n_lines && !ret; i = end) {
		for (end = i + 1; end < n_lines && !heading[end]; end++) {
		}
		buf_reset(&t);
		buf_reset(&x);
		ret = add_sentence_case(lines[i], &t);
		if (!ret) {
			ret = buf_printf(&t, ": %s", title);
		}
		if (!ret && !intro_item && i == first) {
			/* A short introduction heads the first section. */
			ret = add_lines(lines, 0, first, &x);
			if (!ret && x.len > 0) {
				ret = buf_adds(&x, "\n\n");
			}
		}
		if (!ret) {
			ret = add_lines(lines, i + 1, end, &x);
		}
		if (!ret) {
			ret = item_set(&items[k], buf_str(&t), buf_str(&x),
				       x.len);
		}
		k++;
	}
	buf_free(&t);
	buf_free(&x);
	*n = k;
	return ret ? -ENOMEM : 0;
}

int briefing_split(const char *title, const char *text, bool split,
		   struct briefing_item **items, size_t *n)
{
	struct briefing_item *out = NULL;
	struct line *lines = NULL;
	bool *heading = NULL;
	size_t n_lines = 0, h = 0, n_out = 0;
	int ret;

	*items = NULL;
	*n = 0;
	if (!title) {
		title = NO_SUBJECT;
	}
	if (!text) {
		text = "";
	}
	if (split) {
		ret = split_lines(text, &lines, &n_lines);
		if (ret) {
			goto out;
		}
		heading = calloc(n_lines, sizeof(*heading));
		if (!heading) {
			ret = -ENOMEM;
			goto out;
		}
		h = find_headings(lines, n_lines, heading);
	}
	if (h < BRIEFING_MIN_SECTIONS) {
		out = calloc(1, sizeof(*out));
		ret = out ? item_set(out, title, text, strlen(text)) : -ENOMEM;
		n_out = 1;
	} else {
		out = calloc(h + 1, sizeof(*out));
		ret = out ? split_sections(title, lines, n_lines, heading, h,
					   out, &n_out)
			  : -ENOMEM;
	}
out:
	free(lines);
	free(heading);
	if (ret) {
		briefing_items_free(out, n_out);
		return -ENOMEM;
	}
	*items = out;
	*n = n_out;
	return 0;
}

void briefing_items_free(struct briefing_item *items, size_t n)
{
	size_t i;

	if (!items) {
		return;
	}
	for (i = 0; i < n; i++) {
		free(items[i].title);
		free(items[i].text);
	}
	free(items);
}
