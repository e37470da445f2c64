/* Tests for token: round trip, tampering, purpose binding, rotation,
 * Message-IDs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "token.h"

static const char secret[] = "0123456789abcdef0123456789abcdef";

static void test_round_trip(void **state)
{
	struct token_keys *k = token_keys_from(secret, 32);
	struct token_claims c = {.purpose = TOKEN_UNSUBSCRIBE,
				 .subscriber_id = 42,
				 .issued = 1700000000,
				 .list = "news"},
			    out;
	struct buf b;

	buf_init(&b, 256);
	assert_int_equal(token_make(k, &c, &b), 0);
	assert_int_equal(
		strspn(buf_str(&b),
		       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		       "vwxyz0123456789-_"),
		b.len);
	assert_int_equal(token_verify(k, buf_str(&b), TOKEN_UNSUBSCRIBE, &out),
			 0);
	assert_int_equal(out.subscriber_id, 42);
	assert_int_equal(out.issued, 1700000000);
	/* The same token is no confirmation token. */
	assert_int_equal(token_verify(k, buf_str(&b), TOKEN_CONFIRM, &out),
			 -EINVAL);
	buf_free(&b);
	token_keys_destroy(k);
}

static void test_every_flipped_char_is_rejected(void **state)
{
	struct token_keys *k = token_keys_from(secret, 32);
	struct token_claims c = {.purpose = TOKEN_UNSUBSCRIBE,
				 .subscriber_id = 7,
				 .issued = 1,
				 .list = "news"},
			    out;
	struct buf b;
	char *t;
	size_t i;

	buf_init(&b, 256);
	assert_int_equal(token_make(k, &c, &b), 0);
	t = buf_take(&b);
	for (i = 0; t[i]; i++) {
		char saved = t[i];

		t[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(token_verify(k, t, TOKEN_UNSUBSCRIBE, &out),
				 -EINVAL);
		t[i] = saved;
	}
	t[strlen(t) - 1] = '\0';
	assert_int_equal(token_verify(k, t, TOKEN_UNSUBSCRIBE, &out), -EINVAL);
	assert_int_equal(token_verify(k, "", TOKEN_UNSUBSCRIBE, &out), -EINVAL);
	assert_int_equal(token_verify(k, "%2F%2F", TOKEN_UNSUBSCRIBE, &out),
			 -EINVAL);
	free(t);
	token_keys_destroy(k);
}

static void test_other_key_rejected_previous_key_accepted(void **state)
{
	char dir[] = "/tmp/test_token.XXXXXX", cur[64], prev[64];
	struct token_keys *old, *other, *rotated;
	struct token_claims c = {.purpose = TOKEN_UNSUBSCRIBE,
				 .subscriber_id = 9,
				 .issued = 5,
				 .list = "news"},
			    out;
	struct err err = {{0}};
	struct buf b;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(cur, sizeof(cur), "%s/secret", dir);
	snprintf(prev, sizeof(prev), "%s/secret.old", dir);
	f = fopen(prev, "w");
	fputs(secret, f);
	fclose(f);
	f = fopen(cur, "w");
	fputs("a brand new secret of enough length", f);
	fclose(f);
	chmod(prev, 0600);
	chmod(cur, 0600);

	old = token_keys_load(prev, NULL, &err);
	assert_non_null(old);
	other = token_keys_load(cur, NULL, &err);
	rotated = token_keys_load(cur, prev, &err);
	assert_non_null(rotated);
	buf_init(&b, 256);
	token_make(old, &c, &b);
	assert_int_equal(
		token_verify(other, buf_str(&b), TOKEN_UNSUBSCRIBE, &out),
		-EINVAL);
	assert_int_equal(
		token_verify(rotated, buf_str(&b), TOKEN_UNSUBSCRIBE, &out), 0);
	assert_int_equal(out.subscriber_id, 9);
	buf_free(&b);
	token_keys_destroy(old);
	token_keys_destroy(other);
	token_keys_destroy(rotated);
	unlink(cur);
	unlink(prev);
	rmdir(dir);
}

static void test_missing_or_short_secret_explained(void **state)
{
	char dir[] = "/tmp/test_token.XXXXXX", path[64];
	struct err err = {{0}};
	FILE *f;

	assert_null(token_keys_load("/nonexistent/secret", NULL, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/secret"));
	assert_non_null(strstr(err.msg, "head -c 32 /dev/urandom"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/short", dir);
	f = fopen(path, "w");
	fputs("a secret long enough, but open to all", f);
	fclose(f);
	chmod(path, 0644);
	assert_null(token_keys_load(path, NULL, &err));
	assert_non_null(strstr(err.msg, "may be read by group or others "
					"(mode 0644)"));
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_non_null(strstr(err.msg, path));
	f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	chmod(path, 0600);
	assert_null(token_keys_load(path, NULL, &err));
	assert_non_null(strstr(err.msg, "fewer than 16"));
	unlink(path);
	rmdir(dir);
}

/* RELIABILITY B6: a token names its list. */
static void test_list_bound(void **state)
{
	struct token_keys *k = token_keys_from(secret, 32);
	struct token_claims c = {.purpose = TOKEN_UNSUBSCRIBE,
				 .subscriber_id = 5,
				 .issued = 9,
				 .list = "staff-news"},
			    out;
	struct buf b;

	buf_init(&b, 256);
	assert_int_equal(token_make(k, &c, &b), 0);
	assert_int_equal(token_verify(k, buf_str(&b), TOKEN_UNSUBSCRIBE, &out),
			 0);
	assert_int_equal(token_check_list(&out, "staff-news"), 0);
	assert_int_equal(token_check_list(&out, "union"), -EINVAL);
	assert_int_equal(token_check_list(&out, ""), -EINVAL);
	buf_free(&b);
	token_keys_destroy(k);
}

static void test_message_id_stable_and_distinct(void **state)
{
	struct token_keys *k = token_keys_from(secret, 32);
	struct buf a, b, c;

	buf_init(&a, 256);
	buf_init(&b, 256);
	buf_init(&c, 256);
	token_message_id(k, 3, 10, "example.org", &a);
	token_message_id(k, 3, 10, "example.org", &b);
	token_message_id(k, 3, 11, "example.org", &c);
	assert_string_equal(buf_str(&a), buf_str(&b));
	assert_string_not_equal(buf_str(&a), buf_str(&c));
	assert_true(strncmp(buf_str(&a), "digest-3.", 9) == 0);
	assert_non_null(strstr(buf_str(&a), "@example.org"));
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	token_keys_destroy(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_flipped_char_is_rejected),
		cmocka_unit_test(test_other_key_rejected_previous_key_accepted),
		cmocka_unit_test(test_missing_or_short_secret_explained),
		cmocka_unit_test(test_list_bound),
		cmocka_unit_test(test_message_id_stable_and_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
