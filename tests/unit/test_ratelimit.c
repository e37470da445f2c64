/* Tests for ratelimit: a window's limit, a new window, a full table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_limit_per_key_and_window(void **state)
{
	struct ratelimit *rl = ratelimit_create(64, 3600, 3);

	assert_true(ratelimit_hit(rl, "10.0.0.1", 1000));
	assert_true(ratelimit_hit(rl, "10.0.0.1", 1001));
	assert_true(ratelimit_hit(rl, "10.0.0.1", 1002));
	assert_false(ratelimit_hit(rl, "10.0.0.1", 1003));
	assert_true(ratelimit_hit(rl, "10.0.0.2", 1003));
	/* A new window. */
	assert_true(ratelimit_hit(rl, "10.0.0.1", 1000 + 3600));
	ratelimit_destroy(rl);
}

static void test_full_table_refuses_new_keys(void **state)
{
	struct ratelimit *rl = ratelimit_create(16, 3600, 100);
	char key[32];
	int allowed = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "192.0.2.%d", i);
		allowed += ratelimit_hit(rl, key, 5000);
	}
	assert_true(allowed <= 16);
	/* Once their window passed, slots are free again. */
	assert_true(ratelimit_hit(rl, "198.51.100.1", 5000 + 3600));
	ratelimit_destroy(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_key_and_window),
		cmocka_unit_test(test_full_table_refuses_new_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
