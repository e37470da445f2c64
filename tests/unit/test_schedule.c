/*
 * Unit tests for schedule: parsing (and the reasons given for bad text),
 * next/prev occurrences in UTC and across daylight-saving changes in
 * Europe/London and America/New_York, and the human description.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "schedule.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* "2025-03-30T01:00:00Z" to an epoch. */
static time_t utc(const char *text)
{
	struct tm tm = {0};
	const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);

	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return timegm(&tm);
}

static struct schedule parse_ok(const char *text)
{
	struct schedule s;
	char why[256] = "unset";

	if (schedule_parse(text, &s, why, sizeof(why)) != 0) {
		fail_msg("schedule_parse(\"%s\") failed: %s", text, why);
	}
	return s;
}

static void test_parse_forms(void **state)
{
	struct schedule s;

	s = parse_ok("daily 07:30");
	assert_int_equal(s.kind, SCHEDULE_DAILY);
	assert_int_equal(s.hour, 7);
	assert_int_equal(s.minute, 30);

	s = parse_ok("weekly mon 07:30");
	assert_int_equal(s.kind, SCHEDULE_WEEKLY);
	assert_int_equal(s.wday, 1);
	assert_int_equal(s.hour, 7);
	assert_int_equal(s.minute, 30);

	s = parse_ok("  Weekly   SUNDAY\t23:59 ");
	assert_int_equal(s.kind, SCHEDULE_WEEKLY);
	assert_int_equal(s.wday, 0);
	assert_int_equal(s.hour, 23);
	assert_int_equal(s.minute, 59);

	s = parse_ok("weekly Saturday 0:05");
	assert_int_equal(s.wday, 6);
	assert_int_equal(s.hour, 0);
	assert_int_equal(s.minute, 5);

	s = parse_ok("weekly thu 12:00");
	assert_int_equal(s.wday, 4);
	s = parse_ok("weekly WEDNESDAY 12:00");
	assert_int_equal(s.wday, 3);

	s = parse_ok("monthly 1 06:00");
	assert_int_equal(s.kind, SCHEDULE_MONTHLY);
	assert_int_equal(s.mday, 1);
	assert_int_equal(s.hour, 6);

	s = parse_ok("MONTHLY 28 00:00");
	assert_int_equal(s.mday, 28);
	assert_int_equal(s.hour, 0);
	assert_int_equal(s.minute, 0);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{"", "empty schedule: use daily HH:MM, weekly DAY HH:MM or "
		     "monthly N HH:MM"},
		{"   ", "empty schedule: use daily HH:MM, weekly DAY HH:MM or "
			"monthly N HH:MM"},
		{"hourly 07:30", "unknown kind 'hourly': use daily HH:MM, "
				 "weekly DAY HH:MM or monthly N HH:MM"},
		{"weekly mnday 07:30", "unknown day 'mnday': use mon, tue, "
				       "wed, thu, fri, sat or sun"},
		{"weekly 07:30", "unknown day '07:30': use mon, tue, wed, thu, "
				 "fri, sat or sun"},
		{"weekly", "missing day and time: e.g. weekly mon 07:30"},
		{"weekly mon", "missing time: e.g. weekly mon 07:30"},
		{"daily", "missing time: e.g. daily 07:30"},
		{"monthly", "missing day and time: e.g. monthly 1 07:30"},
		{"monthly 3", "missing time: e.g. monthly 1 07:30"},
		{"monthly 29 07:30", "day 29 is not in every month: use a day "
				     "from 1 to 28"},
		{"monthly 31 07:30", "day 31 is not in every month: use a day "
				     "from 1 to 28"},
		{"monthly 0 07:30", "day '0' is not a day of the month: use a "
				    "number from 1 to 28"},
		{"monthly 32 07:30", "day '32' is not a day of the month: use "
				     "a number from 1 to 28"},
		{"monthly first 07:30", "day 'first' is not a day of the "
					"month: use a number from 1 to 28"},
		{"daily 7:3", "time '7:3' is not HH:MM (e.g. 07:30)"},
		{"daily 0730", "time '0730' is not HH:MM (e.g. 07:30)"},
		{"daily 07:30am", "time '07:30am' is not HH:MM (e.g. 07:30)"},
		{"daily 24:00", "hour 24 in '24:00' is out of range: use 00 to "
				"23"},
		{"daily 07:60", "minute 60 in '07:60' is out of range: use 00 "
				"to 59"},
		{"daily 07:30 utc", "unexpected 'utc' after the time"},
		{"weekly mon 07:30 tue", "unexpected 'tue' after the time"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct schedule s = {.kind = SCHEDULE_MONTHLY, .mday = 9};
		char why[256] = "";
		int ret = schedule_parse(cases[i].text, &s, why, sizeof(why));

		if (ret != -EINVAL) {
			fail_msg("\"%s\": expected -EINVAL, got %d",
				 cases[i].text, ret);
		}
		assert_string_equal(why, cases[i].why);
		/* Output untouched on failure. */
		assert_int_equal(s.kind, SCHEDULE_MONTHLY);
		assert_int_equal(s.mday, 9);
	}
	/* NULL text and a NULL or tiny why buffer are safe. */
	{
		struct schedule s;
		char tiny[8];

		assert_int_equal(schedule_parse(NULL, &s, NULL, 0), -EINVAL);
		assert_int_equal(
			schedule_parse("bogus", &s, tiny, sizeof(tiny)),
			-EINVAL);
		assert_string_equal(tiny, "unknown");
	}
}

struct occ_case {
	const char *tz;
	const char *schedule;
	const char *now;
	const char *next; /* first occurrence after now */
	const char *prev; /* last occurrence at or before now */
};

static const struct occ_case occ_cases[] = {
	/* UTC: plain calendar arithmetic. */
	{"UTC", "daily 07:30", "2025-01-15T06:00:00Z", "2025-01-15T07:30:00Z",
	 "2025-01-14T07:30:00Z"},
	{"UTC", "daily 07:30", "2025-01-15T07:30:00Z", "2025-01-16T07:30:00Z",
	 "2025-01-15T07:30:00Z"},
	{"UTC", "daily 07:30", "2025-01-15T07:29:59Z", "2025-01-15T07:30:00Z",
	 "2025-01-14T07:30:00Z"},
	{"UTC", "daily 00:00", "2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z",
	 "2024-12-31T00:00:00Z"},
	{"UTC", "daily 12:00", "2024-02-28T13:00:00Z", "2024-02-29T12:00:00Z",
	 "2024-02-28T12:00:00Z"},
	/* 2025-01-15 is a Wednesday. */
	{"UTC", "weekly mon 07:30", "2025-01-15T12:00:00Z",
	 "2025-01-20T07:30:00Z", "2025-01-13T07:30:00Z"},
	{"UTC", "weekly wed 07:30", "2025-01-15T07:30:00Z",
	 "2025-01-22T07:30:00Z", "2025-01-15T07:30:00Z"},
	{"UTC", "weekly wed 12:00", "2025-01-15T07:30:00Z",
	 "2025-01-15T12:00:00Z", "2025-01-08T12:00:00Z"},
	{"UTC", "weekly sun 23:59", "2024-12-30T00:00:00Z",
	 "2025-01-05T23:59:00Z", "2024-12-29T23:59:00Z"},
	{"UTC", "monthly 1 06:00", "2025-01-31T12:00:00Z",
	 "2025-02-01T06:00:00Z", "2025-01-01T06:00:00Z"},
	{"UTC", "monthly 28 00:00", "2025-02-28T00:00:00Z",
	 "2025-03-28T00:00:00Z", "2025-02-28T00:00:00Z"},
	{"UTC", "monthly 15 09:00", "2024-12-20T10:00:00Z",
	 "2025-01-15T09:00:00Z", "2024-12-15T09:00:00Z"},

	/* London, spring forward on 2025-03-30 at 01:00 GMT -> 02:00 BST. */
	{"Europe/London", "daily 07:30", "2025-03-29T08:00:00Z",
	 "2025-03-30T06:30:00Z", "2025-03-29T07:30:00Z"},
	{"Europe/London", "daily 07:30", "2025-03-30T07:00:00Z",
	 "2025-03-31T06:30:00Z", "2025-03-30T06:30:00Z"},
	{"Europe/London", "weekly sun 07:30", "2025-03-28T00:00:00Z",
	 "2025-03-30T06:30:00Z", "2025-03-23T07:30:00Z"},
	/* 01:30 does not exist that day: 02:00 BST (01:00Z) instead. */
	{"Europe/London", "daily 01:30", "2025-03-30T00:00:00Z",
	 "2025-03-30T01:00:00Z", "2025-03-29T01:30:00Z"},
	{"Europe/London", "daily 01:30", "2025-03-30T01:00:00Z",
	 "2025-03-31T00:30:00Z", "2025-03-30T01:00:00Z"},
	{"Europe/London", "daily 01:00", "2025-03-29T23:00:00Z",
	 "2025-03-30T01:00:00Z", "2025-03-29T01:00:00Z"},
	{"Europe/London", "daily 02:00", "2025-03-29T23:00:00Z",
	 "2025-03-30T01:00:00Z", "2025-03-29T02:00:00Z"},
	{"Europe/London", "weekly sun 01:59", "2025-03-30T00:59:59Z",
	 "2025-03-30T01:00:00Z", "2025-03-23T01:59:00Z"},

	/* London, fall back on 2025-10-26 at 02:00 BST -> 01:00 GMT. */
	{"Europe/London", "daily 07:30", "2025-10-25T12:00:00Z",
	 "2025-10-26T07:30:00Z", "2025-10-25T06:30:00Z"},
	{"Europe/London", "daily 07:30", "2025-10-26T07:30:00Z",
	 "2025-10-27T07:30:00Z", "2025-10-26T07:30:00Z"},
	/* 01:30 happens twice: only the first (BST) counts. */
	{"Europe/London", "daily 01:30", "2025-10-26T00:00:00Z",
	 "2025-10-26T00:30:00Z", "2025-10-25T00:30:00Z"},
	{"Europe/London", "daily 01:30", "2025-10-26T00:30:00Z",
	 "2025-10-27T01:30:00Z", "2025-10-26T00:30:00Z"},
	{"Europe/London", "daily 01:30", "2025-10-26T01:45:00Z",
	 "2025-10-27T01:30:00Z", "2025-10-26T00:30:00Z"},
	{"Europe/London", "monthly 26 01:30", "2025-10-01T00:00:00Z",
	 "2025-10-26T00:30:00Z", "2025-09-26T00:30:00Z"},

	/* New York: 02:00 EST -> 03:00 EDT on 2025-03-09, and
	 * 02:00 EDT -> 01:00 EST on 2025-11-02. */
	{"America/New_York", "daily 02:30", "2025-03-09T05:00:00Z",
	 "2025-03-09T07:00:00Z", "2025-03-08T07:30:00Z"},
	{"America/New_York", "daily 01:30", "2025-11-02T05:00:00Z",
	 "2025-11-02T05:30:00Z", "2025-11-01T05:30:00Z"},
	{"America/New_York", "weekly sun 07:30", "2025-11-01T12:00:00Z",
	 "2025-11-02T12:30:00Z", "2025-10-26T11:30:00Z"},
};

static int restore_tz(void **state)
{
	set_tz("UTC");
	return 0;
}

static void test_next_prev_table(void **state)
{
	for (size_t i = 0; i < sizeof(occ_cases) / sizeof(occ_cases[0]); i++) {
		const struct occ_case *c = &occ_cases[i];
		struct schedule s = parse_ok(c->schedule);
		time_t now = utc(c->now);
		time_t next, prev;

		set_tz(c->tz);
		next = schedule_next(&s, now);
		prev = schedule_prev(&s, now);
		if (next != utc(c->next) || prev != utc(c->prev)) {
			fail_msg("case %zu (%s, \"%s\", %s): next %lld want "
				 "%lld (%s), prev %lld want %lld (%s)",
				 i, c->tz, c->schedule, c->now, (long long)next,
				 (long long)utc(c->next), c->next,
				 (long long)prev, (long long)utc(c->prev),
				 c->prev);
		}
	}
}

/* Walking next() day by day through both London changes gives one
 * occurrence per day at 07:30 local, i.e. 06:30Z in summer. */
static void test_daily_walk_across_dst(void **state)
{
	struct schedule s = parse_ok("daily 07:30");
	time_t t = utc("2025-03-25T00:00:00Z");
	int summer = 0, winter = 0;

	set_tz("Europe/London");
	for (int day = 0; day < 220; day++) {
		struct tm tm;
		time_t next = schedule_next(&s, t);

		assert_true(next > t);
		assert_non_null(localtime_r(&next, &tm));
		assert_int_equal(tm.tm_hour, 7);
		assert_int_equal(tm.tm_min, 30);
		assert_int_equal(tm.tm_sec, 0);
		if (t != utc("2025-03-25T00:00:00Z")) {
			/* Consecutive occurrences are 23, 24 or 25 hours
			 * apart: never two on one day, never a day
			 * skipped. */
			long gap = (long)(next - t);

			assert_true(gap == 82800 || gap == 86400 ||
				    gap == 90000);
		}
		if (tm.tm_isdst > 0) {
			summer++;
		} else {
			winter++;
		}
		assert_int_equal(schedule_prev(&s, next), next);
		assert_int_equal(schedule_next(&s, next - 1), next);
		t = next;
	}
	/* 25 Mar .. 29 Mar in GMT, 30 Mar .. 25 Oct in BST, then GMT. */
	assert_int_equal(winter, 5 + (220 - 5 - 210));
	assert_int_equal(summer, 210);
}

static void test_prev_next_consistent(void **state)
{
	static const char *const scheds[] = {
		"daily 01:30",
		"weekly sun 01:30",
		"monthly 26 01:15",
		"daily 23:59",
	};
	static const char *const zones[] = {"Europe/London", "America/New_York",
					    "UTC"};

	for (size_t z = 0; z < 3; z++) {
		set_tz(zones[z]);
		for (size_t k = 0; k < 4; k++) {
			struct schedule s = parse_ok(scheds[k]);
			time_t start = utc("2025-03-01T00:00:00Z");

			/* Every 7 hours 17 minutes through the year. */
			for (time_t t = start; t < start + 300 * 86400;
			     t += 7 * 3600 + 17 * 60) {
				time_t next = schedule_next(&s, t);
				time_t prev = schedule_prev(&s, t);

				assert_true(prev <= t);
				assert_true(next > t);
				assert_int_equal(schedule_next(&s, prev), next);
				assert_int_equal(schedule_prev(&s, next), next);
				assert_int_equal(next % 60, 0);
			}
		}
	}
}

static void test_describe(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"daily 07:30", "every day at 07:30"},
		{"weekly mon 7:05", "every Monday at 07:05"},
		{"weekly sunday 23:59", "every Sunday at 23:59"},
		{"monthly 1 06:00", "on the 1st of every month at 06:00"},
		{"monthly 2 06:00", "on the 2nd of every month at 06:00"},
		{"monthly 3 06:00", "on the 3rd of every month at 06:00"},
		{"monthly 11 06:00", "on the 11th of every month at 06:00"},
		{"monthly 12 06:00", "on the 12th of every month at 06:00"},
		{"monthly 21 06:00", "on the 21st of every month at 06:00"},
		{"monthly 22 06:00", "on the 22nd of every month at 06:00"},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct schedule s = parse_ok(cases[i].text);

		schedule_describe(&s, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	{
		struct schedule s = parse_ok("weekly mon 07:30");
		char small[9];

		schedule_describe(&s, small, sizeof(small));
		assert_string_equal(small, "every Mo");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test_teardown(test_next_prev_table, restore_tz),
		cmocka_unit_test_teardown(test_daily_walk_across_dst,
					  restore_tz),
		cmocka_unit_test_teardown(test_prev_next_consistent,
					  restore_tz),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
