/*
 * schedule: parses "daily HH:MM", "weekly DAY HH:MM" and "monthly N HH:MM"
 * and finds occurrences in the process's local time zone. Calendar steps
 * are done in UTC arithmetic (timegm/gmtime_r) and each wall-clock time is
 * mapped to an instant by checking the zone's offsets around it, so gaps
 * (spring forward) and repeats (fall back) are handled the same way in
 * every zone. Pure and thread-safe apart from the zone itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "schedule.h"

#define SCHEDULE_USAGE "use daily HH:MM, weekly DAY HH:MM or monthly N HH:MM"
#define SCHEDULE_DAYS "use mon, tue, wed, thu, fri, sat or sun"

/* Indexed by struct tm's tm_wday. */
static const char *const day_short[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};
static const char *const day_long[7] = {
	"sunday",   "monday", "tuesday",  "wednesday",
	"thursday", "friday", "saturday",
};
static const char *const day_title[7] = {
	"Sunday",   "Monday", "Tuesday",  "Wednesday",
	"Thursday", "Friday", "Saturday",
};

/* A word of the schedule text: start and length. */
struct word {
	const char *s;
	size_t len;
};

static size_t split_words(const char *text, struct word *words, size_t max)
{
	size_t n = 0;
	const char *p = text;

	for (;;) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		if (n < max) {
			words[n].s = p;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			p++;
		}
		if (n < max) {
			words[n].len = (size_t)(p - words[n].s);
		}
		n++;
	}
	return n;
}

static bool word_is(const struct word *w, const char *s)
{
	return strlen(s) == w->len && strncasecmp(w->s, s, w->len) == 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* The word as a short printable string for messages. */
static int word_len(const struct word *w)
{
	return w->len > 40 ? 40 : (int)w->len;
}

static int parse_time(const struct word *w, struct schedule *out, char *why,
		      size_t whylen)
{
	const char *s = w->s;
	size_t colon;
	int hour = 0, minute;

	for (colon = 0; colon < w->len && s[colon] != ':'; colon++) {
		if (!is_digit(s[colon])) {
			break;
		}
	}
	if (colon == 0 || colon > 2 || colon >= w->len || s[colon] != ':' ||
	    w->len != colon + 3 || !is_digit(s[colon + 1]) ||
	    !is_digit(s[colon + 2])) {
		why_set(why, whylen, "time '%.*s' is not HH:MM (e.g. 07:30)",
			word_len(w), s);
		return -EINVAL;
	}
	for (size_t i = 0; i < colon; i++) {
		hour = hour * 10 + (s[i] - '0');
	}
	minute = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
	if (hour > 23) {
		why_set(why, whylen,
			"hour %d in '%.*s' is out of range: use 00 to 23", hour,
			word_len(w), s);
		return -EINVAL;
	}
	if (minute > 59) {
		why_set(why, whylen,
			"minute %d in '%.*s' is out of range: use 00 to 59",
			minute, word_len(w), s);
		return -EINVAL;
	}
	out->hour = hour;
	out->minute = minute;
	return 0;
}

static int parse_wday(const struct word *w, int *wday, char *why, size_t whylen)
{
	for (int i = 0; i < 7; i++) {
		if (word_is(w, day_short[i]) || word_is(w, day_long[i])) {
			*wday = i;
			return 0;
		}
	}
	why_set(why, whylen, "unknown day '%.*s': " SCHEDULE_DAYS, word_len(w),
		w->s);
	return -EINVAL;
}

static int parse_mday(const struct word *w, int *mday, char *why, size_t whylen)
{
	int n = 0;

	if (w->len == 0 || w->len > 2) {
		goto bad;
	}
	for (size_t i = 0; i < w->len; i++) {
		if (!is_digit(w->s[i])) {
			goto bad;
		}
		n = n * 10 + (w->s[i] - '0');
	}
	if (n >= 29 && n <= 31) {
		why_set(why, whylen,
			"day %d is not in every month: use a day from 1 to 28",
			n);
		return -EINVAL;
	}
	if (n < 1 || n > 31) {
		goto bad;
	}
	*mday = n;
	return 0;
bad:
	why_set(why, whylen,
		"day '%.*s' is not a day of the month: use a number from 1 "
		"to 28",
		word_len(w), w->s);
	return -EINVAL;
}

int schedule_parse(const char *text, struct schedule *out, char *why,
		   size_t whylen)
{
	struct word w[5];
	struct schedule s = {0};
	size_t n, want;
	int ret;

	if (why && whylen > 0) {
		why[0] = '\0';
	}
	if (!text || !out) {
		why_set(why, whylen, "empty schedule: " SCHEDULE_USAGE);
		return -EINVAL;
	}
	n = split_words(text, w, 5);
	if (n == 0) {
		why_set(why, whylen, "empty schedule: " SCHEDULE_USAGE);
		return -EINVAL;
	}
	if (word_is(&w[0], "daily")) {
		s.kind = SCHEDULE_DAILY;
		want = 2;
	} else if (word_is(&w[0], "weekly")) {
		s.kind = SCHEDULE_WEEKLY;
		want = 3;
	} else if (word_is(&w[0], "monthly")) {
		s.kind = SCHEDULE_MONTHLY;
		want = 3;
	} else {
		why_set(why, whylen, "unknown kind '%.*s': " SCHEDULE_USAGE,
			word_len(&w[0]), w[0].s);
		return -EINVAL;
	}

	if (s.kind == SCHEDULE_WEEKLY && n >= 2) {
		ret = parse_wday(&w[1], &s.wday, why, whylen);
		if (ret < 0) {
			return ret;
		}
	} else if (s.kind == SCHEDULE_MONTHLY && n >= 2) {
		ret = parse_mday(&w[1], &s.mday, why, whylen);
		if (ret < 0) {
			return ret;
		}
	}
	if (n < want) {
		if (s.kind == SCHEDULE_DAILY) {
			why_set(why, whylen, "missing time: e.g. daily 07:30");
		} else if (s.kind == SCHEDULE_WEEKLY && n == 1) {
			why_set(why, whylen,
				"missing day and time: e.g. weekly mon 07:30");
		} else if (s.kind == SCHEDULE_WEEKLY) {
			why_set(why, whylen,
				"missing time: e.g. weekly mon 07:30");
		} else if (n == 1) {
			why_set(why, whylen,
				"missing day and time: e.g. monthly 1 07:30");
		} else {
			why_set(why, whylen,
				"missing time: e.g. monthly 1 07:30");
		}
		return -EINVAL;
	}
	ret = parse_time(&w[want - 1], &s, why, whylen);
	if (ret < 0) {
		return ret;
	}
	if (n > want) {
		why_set(why, whylen, "unexpected '%.*s' after the time",
			word_len(&w[want]), w[want].s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/* The local offset from UTC, in seconds, in force at t. */
static bool offset_at(time_t t, long *off)
{
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		return false;
	}
	*off = tm.tm_gmtoff;
	return true;
}

/*
 * Maps a local wall-clock time, given as seconds since the epoch as if
 * the wall clock were UTC, to the instant it names. Candidate instants
 * come from the offsets in force a day before, at and a day after; a
 * candidate is real if the zone has that offset at that instant. Of two
 * real ones (fall back) the earlier wins. With none (spring forward) the
 * answer is the first instant whose wall clock has passed the wanted
 * one, rounded up to a whole minute.
 */
static time_t resolve_wall(time_t wall)
{
	long offs[3];
	time_t best = (time_t)-1;
	time_t lo = 0, hi = 0;
	bool have_range = false;

	if (!offset_at(wall - 86400, &offs[0]) || !offset_at(wall, &offs[1]) ||
	    !offset_at(wall + 86400, &offs[2])) {
		return (time_t)-1;
	}
	for (int i = 0; i < 3; i++) {
		time_t t = wall - offs[i];
		long real;

		if (!offset_at(t, &real)) {
			continue;
		}
		if (real == offs[i]) {
			if (best == (time_t)-1 || t < best) {
				best = t;
			}
		}
		if (!have_range) {
			lo = hi = t;
			have_range = true;
		} else {
			lo = t < lo ? t : lo;
			hi = t > hi ? t : hi;
		}
	}
	if (best != (time_t)-1 || !have_range) {
		return best;
	}

	/* In a gap: find the first t in [lo, hi] with t + off(t) >= wall. */
	while (lo < hi) {
		time_t mid = lo + (hi - lo) / 2;
		long off;

		if (!offset_at(mid, &off)) {
			return (time_t)-1;
		}
		if (mid + off >= wall) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	if (lo % 60 != 0) {
		lo += 60 - lo % 60;
	}
	return lo;
}

/* Whether the calendar day (in UTC arithmetic) matches the schedule. */
static bool day_matches(const struct schedule *s, const struct tm *day)
{
	switch (s->kind) {
	case SCHEDULE_DAILY:
		return true;
	case SCHEDULE_WEEKLY:
		return day->tm_wday == s->wday;
	case SCHEDULE_MONTHLY:
		return day->tm_mday == s->mday;
	}
	return false;
}

/*
 * The occurrence on the local calendar day `offset` days from the local
 * day of t, or -1 if that day has none. Sets *ok to false on a failure
 * of the time functions.
 */
static time_t occurrence_on(const struct schedule *s, const struct tm *base,
			    int offset, bool *ok)
{
	struct tm day = {0};
	time_t noon, wall;

	day.tm_year = base->tm_year;
	day.tm_mon = base->tm_mon;
	day.tm_mday = base->tm_mday + offset;
	day.tm_hour = 12;
	noon = timegm(&day);
	if (noon == (time_t)-1 || !gmtime_r(&noon, &day)) {
		*ok = false;
		return (time_t)-1;
	}
	if (!day_matches(s, &day)) {
		return (time_t)-1;
	}
	wall = noon - 12 * 3600 + s->hour * 3600 + s->minute * 60;
	wall = resolve_wall(wall);
	if (wall == (time_t)-1) {
		*ok = false;
	}
	return wall;
}

/* Longest stretch between two occurrences is a month; allow for slack. */
#define SCHEDULE_MAX_DAYS 64

time_t schedule_next(const struct schedule *s, time_t after)
{
	struct tm base;
	bool ok = true;

	if (!s || !localtime_r(&after, &base)) {
		return (time_t)-1;
	}
	/* Start a day early: a gap can push the previous day's occurrence
	 * past midnight. */
	for (int i = -1; i <= SCHEDULE_MAX_DAYS && ok; i++) {
		time_t t = occurrence_on(s, &base, i, &ok);

		if (ok && t != (time_t)-1 && t > after) {
			return t;
		}
	}
	return (time_t)-1;
}

time_t schedule_prev(const struct schedule *s, time_t at)
{
	struct tm base;
	bool ok = true;

	if (!s || !localtime_r(&at, &base)) {
		return (time_t)-1;
	}
	for (int i = 1; i >= -SCHEDULE_MAX_DAYS && ok; i--) {
		time_t t = occurrence_on(s, &base, i, &ok);

		if (ok && t != (time_t)-1 && t <= at) {
			return t;
		}
	}
	return (time_t)-1;
}

static const char *ordinal_suffix(int n)
{
	if (n >= 11 && n <= 13) {
		return "th";
	}
	switch (n % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

void schedule_describe(const struct schedule *s, char *out, size_t len)
{
	if (!out || len == 0) {
		return;
	}
	if (!s) {
		out[0] = '\0';
		return;
	}
	switch (s->kind) {
	case SCHEDULE_DAILY:
		snprintf(out, len, "every day at %02d:%02d", s->hour,
			 s->minute);
		break;
	case SCHEDULE_WEEKLY:
		snprintf(out, len, "every %s at %02d:%02d",
			 day_title[(unsigned)s->wday % 7], s->hour, s->minute);
		break;
	case SCHEDULE_MONTHLY:
		snprintf(out, len, "on the %d%s of every month at %02d:%02d",
			 s->mday, ordinal_suffix(s->mday), s->hour, s->minute);
		break;
	default:
		out[0] = '\0';
		break;
	}
}
