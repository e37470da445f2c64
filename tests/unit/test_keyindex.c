/* Tests for keyindex: ids found under their keys, repeats ignored, the
 * cap on holders, and the same answers after the new entries are merged
 * into the sorted part. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyindex.h"

/* splitmix64: keys as spread as neardup's hashes. */
static uint64_t key_of(uint64_t i)
{
	uint64_t x = i + 0x9e3779b97f4a7c15ULL;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int has(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == id)
			return 1;
	}
	return 0;
}

static void test_add_and_find(void **state)
{
	struct keyindex *ki = keyindex_create(4);
	uint32_t ids[8];
	int full = 1;

	assert_non_null(ki);
	assert_int_equal(keyindex_find(ki, 42, ids, 8), 0);
	assert_int_equal(keyindex_add(ki, 42, 7, &full), 0);
	assert_int_equal(full, 0);
	assert_int_equal(keyindex_add(ki, 42, 9, NULL), 0);
	assert_int_equal(keyindex_add(ki, 43, 7, NULL), 0);
	/* The same id under the same key is held once. */
	assert_int_equal(keyindex_add(ki, 42, 7, NULL), 0);
	assert_int_equal(keyindex_find(ki, 42, ids, 8), 2);
	assert_true(has(ids, 2, 7) && has(ids, 2, 9));
	assert_int_equal(keyindex_find(ki, 43, ids, 8), 1);
	assert_int_equal(ids[0], 7);
	assert_int_equal(keyindex_size(ki), 3);
	assert_int_equal(keyindex_add(ki, 44, 0, NULL), -EINVAL);
	keyindex_destroy(ki);
	keyindex_destroy(NULL);
}

static void test_holders_are_capped(void **state)
{
	struct keyindex *ki = keyindex_create(3);
	uint32_t ids[8];
	int full = 0;

	assert_non_null(ki);
	for (uint32_t id = 1; id <= 3; id++) {
		assert_int_equal(keyindex_add(ki, 5, id, &full), 0);
		assert_int_equal(full, 0);
	}
	assert_int_equal(keyindex_add(ki, 5, 4, &full), 0);
	assert_int_equal(full, 1);
	assert_int_equal(keyindex_find(ki, 5, ids, 8), 3);
	assert_false(has(ids, 3, 4));
	/* At most max ids are copied; the count says how many there are. */
	assert_int_equal(keyindex_find(ki, 5, ids, 2), 3);
	keyindex_destroy(ki);
}

/* Enough entries to be merged into the sorted part many times: every
 * id is found under its key, with the cap still counted across both
 * parts. */
static void test_many_entries_survive_merges(void **state)
{
	const uint32_t n = 300000;
	struct keyindex *ki = keyindex_create(4);
	uint32_t ids[8], i;
	size_t got;
	int full;

	assert_non_null(ki);
	for (i = 1; i <= n; i++) {
		assert_int_equal(keyindex_add(ki, key_of(i), i, NULL), 0);
		/* Every hundredth key is shared by the next item too. */
		if (i % 100 == 0)
			assert_int_equal(
				keyindex_add(ki, key_of(i), i + 1, NULL), 0);
	}
	assert_int_equal(keyindex_size(ki), n + n / 100);
	for (i = 1; i <= n; i++) {
		got = keyindex_find(ki, key_of(i), ids, 8);
		assert_true(got >= 1);
		assert_true(has(ids, got, i));
		if (i % 100 == 0) {
			assert_int_equal(got, 2);
			assert_true(has(ids, got, i + 1));
		}
	}
	/* A key whose holders sit partly in the sorted part, partly in
	 * the new entries, is full all the same. */
	for (i = 2; i <= 3; i++) {
		assert_int_equal(keyindex_add(ki, key_of(100), n + i, &full),
				 0);
		assert_int_equal(full, 0);
	}
	assert_int_equal(keyindex_add(ki, key_of(100), n + 9, &full), 0);
	assert_int_equal(full, 1);
	assert_int_equal(keyindex_find(ki, key_of(100), ids, 8), 4);
	keyindex_destroy(ki);
}

/* A removed holder is not found, frees its place under a full key,
 * and stays removed across merges; removing what is not there changes
 * nothing. */
static void test_remove(void **state)
{
	struct keyindex *ki = keyindex_create(3);
	uint32_t ids[8];
	int full;

	assert_non_null(ki);
	for (uint32_t i = 1; i <= 3; i++)
		assert_int_equal(keyindex_add(ki, key_of(7), i, NULL), 0);
	assert_int_equal(keyindex_add(ki, key_of(7), 4, &full), 0);
	assert_int_equal(full, 1);
	/* 2 goes (while still among the new entries), 4 takes its place */
	keyindex_remove(ki, key_of(7), 2);
	keyindex_remove(ki, key_of(7), 99);
	keyindex_remove(ki, key_of(8), 1);
	assert_int_equal(keyindex_find(ki, key_of(7), ids, 8), 2);
	assert_false(has(ids, 2, 2));
	assert_int_equal(keyindex_add(ki, key_of(7), 4, &full), 0);
	assert_int_equal(full, 0);
	assert_int_equal(keyindex_size(ki), 3);
	/* Enough other entries to merge them all into the sorted part,
	 * then 1 goes from there. */
	for (uint32_t i = 100; i < 30000; i++)
		assert_int_equal(keyindex_add(ki, key_of(i), i, NULL), 0);
	keyindex_remove(ki, key_of(7), 1);
	assert_int_equal(keyindex_find(ki, key_of(7), ids, 8), 2);
	assert_true(has(ids, 2, 3) && has(ids, 2, 4));
	assert_int_equal(keyindex_add(ki, key_of(7), 5, &full), 0);
	assert_int_equal(full, 0);
	for (uint32_t i = 30000; i < 60000; i++)
		assert_int_equal(keyindex_add(ki, key_of(i), i, NULL), 0);
	assert_int_equal(keyindex_find(ki, key_of(7), ids, 8), 3);
	assert_true(has(ids, 3, 3) && has(ids, 3, 4) && has(ids, 3, 5));
	assert_int_equal(keyindex_size(ki), 3 + 59900);
	for (uint32_t i = 100; i < 60000; i += 997)
		assert_int_equal(keyindex_find(ki, key_of(i), ids, 8), 1);
	keyindex_destroy(ki);
}

/* Looking many keys up at once (across blocks, in the sorted part and
 * among new entries, some absent) gives what one by one gives. */
static void test_find_many(void **state)
{
	struct keyindex *ki = keyindex_create(4);
	uint64_t keys[100];
	uint32_t ids[100 * 4], one[4];
	size_t got[100], n;

	assert_non_null(ki);
	for (uint32_t i = 1; i <= 20000; i++)
		assert_int_equal(
			keyindex_add(ki, key_of(i % 7000 + 1), i, NULL), 0);
	for (size_t k = 0; k < 100; k++)
		keys[k] = key_of((uint32_t)(k * 97 % 9000 + 1));
	keyindex_find_many(ki, keys, 100, ids, 4, got);
	for (size_t k = 0; k < 100; k++) {
		n = keyindex_find(ki, keys[k], one, 4);
		assert_int_equal(got[k], n);
		assert_memory_equal(ids + k * 4, one,
				    (n < 4 ? n : 4) * sizeof(*one));
	}
	/* 73 * 97 % 9000 + 1 = 7082: held by nobody; 1 * 97 + 1 = 98: by
	 * items 97, 7097 and 14097 */
	assert_int_equal(got[73], 0);
	assert_int_equal(got[1], 3);
	keyindex_destroy(ki);
}

/* An item indexed for the first time: every key but the skipped ones
 * holds it, a key repeated in its list holds it once, and the entries
 * survive merges like keyindex_add's. */
static void test_add_new(void **state)
{
	struct keyindex *ki = keyindex_create(8);
	uint64_t keys[4] = {key_of(1), key_of(2), key_of(1), key_of(3)};
	bool skip[4] = {false, false, false, true};
	uint32_t ids[8], id;

	assert_non_null(ki);
	assert_int_equal(keyindex_add_new(ki, keys, 4, 0, NULL), -EINVAL);
	assert_int_equal(keyindex_add_new(ki, keys, 4, 7, skip), 0);
	assert_int_equal(keyindex_find(ki, key_of(1), ids, 8), 1);
	assert_int_equal(ids[0], 7);
	assert_int_equal(keyindex_find(ki, key_of(2), ids, 8), 1);
	assert_int_equal(keyindex_find(ki, key_of(3), ids, 8), 0);
	assert_int_equal(keyindex_size(ki), 2);
	/* Enough items to merge many times over. */
	for (id = 8; id < 100000; id++) {
		keys[0] = key_of(id);
		keys[1] = key_of(id + 1000000);
		keys[2] = key_of(1);
		assert_int_equal(keyindex_add_new(ki, keys, 3, id, NULL), 0);
	}
	for (id = 8; id < 100000; id++) {
		assert_int_equal(keyindex_find(ki, key_of(id), ids, 8) >= 1, 1);
		assert_true(
			has(ids, keyindex_find(ki, key_of(id), ids, 8), id));
		assert_true(keyindex_find(ki, key_of(id + 1000000), ids, 8) >=
			    1);
	}
	/* The shared key counts every holder, though it copies 8. */
	assert_int_equal(keyindex_find(ki, key_of(1), ids, 8), 100000 - 8 + 1);
	keyindex_destroy(ki);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_holders_are_capped),
		cmocka_unit_test(test_many_entries_survive_merges),
		cmocka_unit_test(test_add_new),
		cmocka_unit_test(test_find_many),
		cmocka_unit_test(test_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
