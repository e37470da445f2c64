/* Tests for subscribe's address checks and allow filter (RELIABILITY
 * C7), and for its rules over a real store: a repeated request reuses
 * its token and is absorbed within the limits (C1, C8), an unsubscribe
 * cancels pending deliveries but not the one being sent (C10). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "subscribe.h"

static int norm(const char *in, char *out, size_t size)
{
	struct err err = {{0}};
	struct buf b;
	int ret;

	buf_init(&b, 1024);
	ret = subscribe_address_normalise(in, &b, &err);
	snprintf(out, size, "%s", ret ? err.msg : buf_str(&b));
	buf_free(&b);
	return ret;
}

static void test_normalise_accepts_and_lowercases_domain(void **state)
{
	char out[512];

	assert_int_equal(norm("Ann.Reader+x@Example.ORG", out, sizeof(out)), 0);
	assert_string_equal(out, "Ann.Reader+x@example.org");
	assert_int_equal(norm("o'neil@sub.example.co.uk", out, sizeof(out)), 0);
}

static void test_normalise_refuses_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"",
		"plain",
		"@example.org",
		"a@",
		"a@b",
		"a@.example.org",
		"a@example.org.",
		"a@-x.example.org",
		"a@x-.example.org",
		"a..b@example.org",
		".a@example.org",
		"a.@example.org",
		"a b@example.org",
		"a@ex ample.org",
		"a@exa_mple.org",
		"\"x\"@example.org",
		"a@b@example.org",
		"a\r\nb@example.org",
		"a@example.org\n",
		"<a@example.org>",
		"a(c)@example.org",
		/* 65-octet local part */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaa@example.org",
	};
	char out[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (norm(bad[i], out, sizeof(out)) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_normalise_lengths(void **state)
{
	char addr[300], out[512];

	/* 64-octet local part: fine. */
	memset(addr, 'a', 64);
	snprintf(addr + 64, sizeof(addr) - 64, "@example.org");
	assert_int_equal(norm(addr, out, sizeof(out)), 0);
	/* 255 octets in all: refused; a 64-octet label: refused. */
	memset(addr, 'a', 255);
	addr[10] = '@';
	for (int i = 20; i < 255; i += 20)
		addr[i] = '.';
	addr[255] = '\0';
	assert_int_equal(norm(addr, out, sizeof(out)), -EINVAL);
	memset(addr, 'b', sizeof(addr));
	memcpy(addr, "a@", 2);
	snprintf(addr + 2 + 64, sizeof(addr) - 66, ".org");
	assert_int_equal(norm(addr, out, sizeof(out)), -EINVAL);
}

static void test_non_ascii_domain_explained(void **state)
{
	char out[512];

	assert_int_equal(norm("erin@b\xc3\xbc"
			      "cher.example",
			      out, sizeof(out)),
			 -EINVAL);
	assert_non_null(strstr(out, "internationalised"));
	assert_non_null(strstr(out, "xn--"));
	assert_int_equal(norm("erin@xn--bcher-kva.example", out, sizeof(out)),
			 0);
}

/* RELIABILITY C7: only a real addr-spec whose whole domain matches. */
static void test_allow_filter_bypasses(void **state)
{
	char *allow[] = {"@justice.gov.uk", "boss@example.org"};
	struct config_list list = {.allow = allow, .n_allow = 2};
	static const char *const vectors[] = {
		"a@evil.com@justice.gov.uk",
		"\"x@justice.gov.uk\"@evil.com",
		"alice@justice.gov.uk(<bob@evil.com>",
		"alice@justice.gov.uk><bob@evil.com>",
		"x@justice.gov.uk.evil.com",
		"X@JUSTICE.GOV.UK.",
		"x@justic\xd0\xb5.gov.uk", /* Cyrillic e */
		"x@justice.gov.uk\r\nBcc: y@evil.com",
		"x@evil.justice.gov.uk.com",
	};
	char out[512];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		if (norm(vectors[i], out, sizeof(out)) == 0 &&
		    subscribe_address_allowed(&list, out))
			fail_msg("'%s' passed the allow filter", vectors[i]);
	}
	assert_int_equal(norm("X@JUSTICE.GOV.UK", out, sizeof(out)), 0);
	assert_true(subscribe_address_allowed(&list, out));
	assert_true(subscribe_address_allowed(&list, "boss@Example.org"));
	assert_false(subscribe_address_allowed(&list, "Boss@example.org"));
	assert_false(subscribe_address_allowed(&list, "x@sub.justice.gov.uk"));
	list.n_allow = 0;
	assert_true(subscribe_address_allowed(&list, "x@anywhere.example"));
}

/* ---- rules over a store ---- */

struct fix {
	char dir[64], conf[128];
	struct config *cfg;
	struct store *st;
	struct token_keys *keys;
	struct subscribe *sub;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct err err = {{0}};
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_subscribe.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->conf, sizeof(f->conf), "%s/b.conf", f->dir);
	fp = fopen(f->conf, "w");
	fprintf(fp,
		"[daemon]\ndatabase = %s/db\npublic_url = https://n.example\n"
		"secret_file = %s/secret\nconfirmations_per_hour = 1000\n"
		"templates = %s/../../templates\n"
		"[smtp]\nurl = maildir:%s/md\n"
		"[list news]\naddress = news@example.org\n"
		"schedule = weekly mon 07:30\n",
		f->dir, f->dir, getenv("DATA_DIR"), f->dir);
	fclose(fp);
	assert_int_equal(config_load(f->conf, NULL, NULL, &f->cfg), 0);
	f->st = store_open(f->cfg->database, &err);
	assert_non_null(f->st);
	assert_int_equal(store_sync_config(f->st, f->cfg, &err), 0);
	f->keys = token_keys_from("0123456789abcdef0123", 20);
	f->sub = subscribe_create(f->st, f->cfg, f->keys, &err);
	if (!f->sub)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[256];

	subscribe_destroy(f->sub);
	token_keys_destroy(f->keys);
	store_close(f->st);
	config_destroy(f->cfg);
	snprintf(cmd, sizeof(cmd), "%s", f->dir);
	/* Remove the few files the store made. */
	for (const char *const *n =
		     (const char *const[]){"db", "db-wal", "db-shm", "b.conf",
					   NULL};
	     *n; n++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", f->dir, *n);
		unlink(p);
	}
	rmdir(cmd);
	free(f);
	return 0;
}

static int64_t count_notices(struct fix *f, const char *addr, int64_t now)
{
	struct store_notice_counts c;

	assert_int_equal(store_notice_counts(f->st, addr, now, &c, NULL), 0);
	return c.day;
}

static void test_repeats_absorbed_and_token_reused(void **state)
{
	struct fix *f = *state;
	const struct config_list *list = &f->cfg->lists[0];
	struct store_sub s1, s2;
	char outcome[ERR_MSG_MAX];
	int64_t now = 1800000000;
	int i;

	assert_int_equal(subscribe_request(f->sub, list, "v@example.org",
					   SUBSCRIBE_VIA_WEB, now, outcome,
					   NULL),
			 0);
	assert_string_equal(outcome, "confirmation sent");
	assert_int_equal(
		store_sub_get(f->st, "news", "v@example.org", 0, &s1, NULL), 0);
	for (i = 1; i <= 100; i++)
		assert_int_equal(subscribe_request(f->sub, list,
						   "V@EXAMPLE.org",
						   SUBSCRIBE_VIA_WEB, now + i,
						   outcome, NULL),
				 0);
	assert_non_null(strstr(outcome, "absorbed"));
	assert_int_equal(count_notices(f, "v@example.org", now + 100), 1);
	/* After the cooldown a second, then a third: never a fourth. */
	for (i = 1; i <= 10; i++)
		subscribe_request(f->sub, list, "v@example.org",
				  SUBSCRIBE_VIA_WEB, now + i * 1000, outcome,
				  NULL);
	assert_int_equal(count_notices(f, "v@example.org", now + 10000), 3);
	assert_int_equal(
		store_sub_get(f->st, "news", "v@example.org", 0, &s2, NULL), 0);
	assert_int_equal(s1.confirm_issued, s2.confirm_issued);
	assert_string_equal(s2.state, "pending");
}

static int claim_none(const struct store_delivery *d, void *arg)
{
	int *n = arg;

	(*n)++;
	return 0;
}

/* C10: leaving cancels pending rows at once; a row being sent is left
 * to finish (at most one goes out). */
static void test_unsubscribe_cancels_pending(void **state)
{
	struct fix *f = *state;
	const struct config_list *list = &f->cfg->lists[0];
	struct store_delivery_counts c;
	struct store_digest d;
	size_t n = 0;
	int claimed = 0;

	assert_int_equal(subscribe_admin_add(f->sub, list, "a@example.org",
					     SUBSCRIBE_VIA_ADMIN, 100, NULL),
			 0);
	assert_int_equal(subscribe_admin_add(f->sub, list, "b@example.org",
					     SUBSCRIBE_VIA_ADMIN, 100, NULL),
			 0);
	assert_int_equal(store_digest_create(f->st, "news", NULL, 0, 0, 200, 0,
					     200, true, &d, &n, NULL),
			 0);
	assert_int_equal(n, 2);
	/* One row (a's: the first id) is being sent. */
	assert_int_equal(store_deliveries_claim(f->st, d.id, 300, 1, claim_none,
						&claimed, NULL),
			 0);
	assert_int_equal(claimed, 1);
	assert_int_equal(subscribe_admin_remove(f->sub, list, "a@example.org",
						310, NULL),
			 0);
	assert_int_equal(subscribe_admin_remove(f->sub, list, "b@example.org",
						310, NULL),
			 0);
	assert_int_equal(store_delivery_counts(f->st, d.id, &c, NULL), 0);
	assert_int_equal(c.pending, 0);
	assert_int_equal(c.sending, 1);
	assert_int_equal(c.failed, 1);
}

/* C3: a form token works for its list, from form_min_time (3s by
 * default) to SUBSCRIBE_FORM_LIFETIME after it was issued. */
static void test_form_token(void **state)
{
	struct fix *f = *state;
	const struct config_list *list = &f->cfg->lists[0];
	struct config_list other = {.name = "other"};
	struct token_claims c = {.purpose = TOKEN_CONFIRM, .list = "news"};
	int64_t now = 1800000000;
	struct buf t, future, confirm;

	buf_init(&t, 256);
	buf_init(&future, 256);
	buf_init(&confirm, 256);
	assert_int_equal(subscribe_form_token(f->sub, list, now, &t), 0);
	assert_int_equal(subscribe_form_check(f->sub, list, buf_str(&t), now),
			 SUBSCRIBE_FORM_EARLY);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&t), now + 2),
		SUBSCRIBE_FORM_EARLY);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&t), now + 3),
		SUBSCRIBE_FORM_OK);
	assert_int_equal(subscribe_form_check(f->sub, list, buf_str(&t),
					      now + SUBSCRIBE_FORM_LIFETIME),
			 SUBSCRIBE_FORM_OK);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&t),
				     now + SUBSCRIBE_FORM_LIFETIME + 1),
		SUBSCRIBE_FORM_EXPIRED);
	assert_int_equal(
		subscribe_form_check(f->sub, &other, buf_str(&t), now + 10),
		SUBSCRIBE_FORM_BAD);
	assert_int_equal(subscribe_form_check(f->sub, list, NULL, now),
			 SUBSCRIBE_FORM_BAD);
	assert_int_equal(subscribe_form_check(f->sub, list, "", now),
			 SUBSCRIBE_FORM_BAD);
	/* Issued later than now (a clock stepped back a little: early). */
	assert_int_equal(subscribe_form_token(f->sub, list, now + 61, &future),
			 0);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&future), now),
		SUBSCRIBE_FORM_BAD);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&future), now + 1),
		SUBSCRIBE_FORM_EARLY);
	/* A confirmation token is no form token. */
	c.issued = now - 100;
	assert_int_equal(token_make(f->keys, &c, &confirm), 0);
	assert_int_equal(
		subscribe_form_check(f->sub, list, buf_str(&confirm), now),
		SUBSCRIBE_FORM_BAD);
	buf_free(&t);
	buf_free(&future);
	buf_free(&confirm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_accepts_and_lowercases_domain),
		cmocka_unit_test(test_normalise_refuses_bad_addresses),
		cmocka_unit_test(test_normalise_lengths),
		cmocka_unit_test(test_non_ascii_domain_explained),
		cmocka_unit_test(test_allow_filter_bypasses),
		cmocka_unit_test_setup_teardown(test_form_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_repeats_absorbed_and_token_reused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_unsubscribe_cancels_pending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
