/* metrics: counters, label escaping, and the exposition's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

static void test_counters_add_up(void **state)
{
	(void)state;
	uint64_t before = metrics_get(METRIC_DUPLICATES);

	metrics_add(METRIC_DUPLICATES, 3);
	metrics_add(METRIC_DUPLICATES, 0);
	metrics_add(METRIC_DUPLICATES, 2);
	assert_int_equal(metrics_get(METRIC_DUPLICATES), before + 5);
	/* Out of range: ignored, not a crash. */
	metrics_add(METRIC__COUNT, 1);
	assert_int_equal(metrics_get(METRIC__COUNT), 0);
}

static void test_label_escaping(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(metrics_label(&b, "a\"b\\c\nd"), 0);
	assert_string_equal(buf_str(&b), "a\\\"b\\\\c\\nd");
	buf_free(&b);
}

static void test_render_with_a_store(void **state)
{
	char dir[] = "/tmp/test_metrics.XXXXXX", path[64];
	struct metrics_extra x = {.started = 1000,
				  .loop_lag = 0.25,
				  .healthy = true,
				  .sent = 4,
				  .deferred = 1};
	struct err err = {{0}};
	struct config cfg = {0};
	struct store *st;
	struct buf b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.db", dir);
	st = store_open(path, &err);
	assert_non_null(st);
	metrics_add(METRIC_FETCH_GONE, 1);
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b, st, &cfg, 2000, &x, &err), 0);
	assert_non_null(strstr(buf_str(&b), "# TYPE bulletin_fetches_total "
					    "counter\n"));
	assert_non_null(strstr(buf_str(&b),
			       "bulletin_fetches_total{result=\"gone\"} "
			       "1\n"));
	assert_non_null(strstr(buf_str(&b),
			       "bulletin_deliveries_total{result=\"sent\"} "
			       "4\n"));
	assert_non_null(strstr(buf_str(&b), "bulletin_loop_lag_seconds "
					    "0.25\n"));
	assert_non_null(strstr(buf_str(&b), "bulletin_start_time_seconds "
					    "1000\n"));
	assert_non_null(strstr(buf_str(&b), "bulletin_healthy 1\n"));
	assert_non_null(strstr(buf_str(&b), "bulletin_outbox_depth 0\n"));
	/* The exposition ends with a newline, as the format requires. */
	assert_int_equal(buf_str(&b)[b.len - 1], '\n');
	buf_free(&b);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/m.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/m.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_add_up),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_render_with_a_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
