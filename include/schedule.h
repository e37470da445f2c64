/*
 * schedule: when a list's digest is due. Parses "daily HH:MM",
 * "weekly DAY HH:MM" and "monthly N HH:MM" and computes occurrences in
 * the process's local time zone (main sets TZ from the config), right
 * across daylight-saving changes. Pure: every function takes "now".
 */
#ifndef BULLETIN_SCHEDULE_H
#define BULLETIN_SCHEDULE_H

#include <stddef.h>
#include <time.h>

enum schedule_kind {
	SCHEDULE_DAILY,
	SCHEDULE_WEEKLY,
	SCHEDULE_MONTHLY,
};

struct schedule {
	enum schedule_kind kind;
	int wday;   /* weekly: 0 = Sunday .. 6 = Saturday */
	int mday;   /* monthly: 1..28 */
	int hour;   /* 0..23 */
	int minute; /* 0..59 */
};

/* Parses a schedule. Day names: mon..sun or monday..sunday, any case.
 * On error returns -EINVAL and writes a one-line reason into why (e.g.
 * "unknown day 'mnday': use mon, tue, wed, thu, fri, sat or sun"). */
int schedule_parse(const char *text, struct schedule *out, char *why,
		   size_t whylen);

/* The first occurrence strictly after `after`, in local time. A local
 * time that does not exist (spring forward) moves to the next valid
 * minute; one that happens twice (fall back) counts once, the first.
 * Returns (time_t)-1 only if the C library cannot convert the time. */
time_t schedule_next(const struct schedule *s, time_t after);

/* The latest occurrence at or before `at` (same rules; (time_t)-1 on a
 * conversion failure). schedule_next(s, schedule_prev(s, t)) is the
 * first occurrence after t. */
time_t schedule_prev(const struct schedule *s, time_t at);

/* Writes a human description ("every Monday at 07:30") into out. */
void schedule_describe(const struct schedule *s, char *out, size_t len);

#endif
