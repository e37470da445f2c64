/*
 * Unit tests for bounce and the bounce token: the VERP address and its
 * token round-trip (any case), a token for another list, another delivery
 * or another secret is refused, and RFC 3464 reports are read hard,
 * soft or none, with folded fields.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bounce.h"

static void test_address_round_trip(void **state)
{
	struct token_keys *k = token_keys_from("0123456789abcdef", 16);
	struct token_keys *other = token_keys_from("fedcba9876543210", 16);
	struct buf a;
	const char *tok;
	char upper[64];
	int64_t id = 0;

	(void)state;
	buf_init(&a, BUF_MAX_LINE);
	assert_int_equal(bounce_address(k, "staff-news",
					"staff-news@example.org", 123456789,
					&a),
			 0);
	assert_int_equal(strncmp(buf_str(&a), "staff-news+bounce-", 18), 0);
	assert_non_null(strstr(buf_str(&a), "@example.org"));
	/* One dot-atom local part, short enough for RFC 5321's 64. */
	assert_true(strchr(buf_str(&a), '@') - buf_str(&a) <= 64);
	tok = buf_str(&a) + 18;
	snprintf(upper, sizeof(upper), "%.*s", (int)(strchr(tok, '@') - tok),
		 tok);
	assert_int_equal(strspn(upper, "abcdefghijklmnopqrstuvwxyz234567"),
			 strlen(upper));
	assert_int_equal(token_bounce_verify(k, "staff-news", upper, &id), 0);
	assert_int_equal(id, 123456789);
	/* A server that upper-cases the local part does no harm. */
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	id = 0;
	assert_int_equal(token_bounce_verify(k, "staff-news", upper, &id), 0);
	assert_int_equal(id, 123456789);
	/* Another list, another secret, one character changed, a cut. */
	assert_int_equal(token_bounce_verify(k, "other-list", upper, &id),
			 -EINVAL);
	assert_int_equal(token_bounce_verify(other, "staff-news", upper, &id),
			 -EINVAL);
	upper[3] = upper[3] == 'A' ? 'B' : 'A';
	assert_int_equal(token_bounce_verify(k, "staff-news", upper, &id),
			 -EINVAL);
	upper[10] = '\0';
	assert_int_equal(token_bounce_verify(k, "staff-news", upper, &id),
			 -EINVAL);
	assert_int_equal(token_bounce_verify(k, "staff-news", "", &id),
			 -EINVAL);
	assert_int_equal(bounce_address(k, "x", "no-at-sign", 1, &a), -EINVAL);
	buf_free(&a);
	token_keys_destroy(k);
	token_keys_destroy(other);
}

static void check(const char *status, enum bounce_kind kind, const char *code,
		  const char *rcpt, const char *diag)
{
	struct bounce_report r;

	assert_int_equal(bounce_read(status, &r), 0);
	assert_int_equal(r.kind, kind);
	assert_string_equal(r.status, code);
	assert_string_equal(r.recipient, rcpt);
	assert_string_equal(r.diagnostic, diag);
}

static void test_reports(void **state)
{
	(void)state;
	/* Postfix's hard bounce. */
	check("Reporting-MTA: dns; mx.example.org\r\n"
	      "X-Postfix-Queue-ID: 4F1A2\r\n"
	      "Arrival-Date: Mon, 23 Nov 2026 07:30:01 +0000 (UTC)\r\n"
	      "\r\n"
	      "Final-Recipient: rfc822; ann+news=x@example.org\r\n"
	      "Original-Recipient: rfc822;ann+news=x@example.org\r\n"
	      "Action: failed\r\n"
	      "Status: 5.1.1\r\n"
	      "Remote-MTA: dns; mail.example.org\r\n"
	      "Diagnostic-Code: smtp; 550 5.1.1 <ann+news=x@example.org>:\r\n"
	      "    Recipient address rejected: User unknown\r\n",
	      BOUNCE_HARD, "5.1.1", "ann+news=x@example.org",
	      "550 5.1.1 <ann+news=x@example.org>: Recipient address "
	      "rejected: User unknown");
	/* A delay notice. */
	check("Reporting-MTA: dns; mx.example.org\n\n"
	      "Final-Recipient: rfc822; \"john doe\"@example.org\n"
	      "Action: delayed\nStatus: 4.4.1\n"
	      "Diagnostic-Code: X-Postfix; connect to mail.example.org: "
	      "Connection timed out\n",
	      BOUNCE_SOFT, "4.4.1", "\"john doe\"@example.org",
	      "connect to mail.example.org: Connection timed out");
	/* Failed, but with a 4.x.x status: soft. */
	check("Final-Recipient: rfc822; b@example.org\nAction: failed\n"
	      "Status: 4.2.2\n",
	      BOUNCE_SOFT, "4.2.2", "b@example.org", "4.2.2");
	/* A success notice: nothing. */
	check("Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; c@x.org\n"
	      "Action: delivered\nStatus: 2.0.0\n",
	      BOUNCE_NONE, "2.0.0", "c@x.org", "2.0.0");
	/* Several recipients: the worst counts. */
	check("Reporting-MTA: dns; mx\n\n"
	      "Final-Recipient: rfc822; a@x.org\nAction: delayed\n"
	      "Status: 4.4.7\n\n"
	      "Final-Recipient: rfc822; b@x.org\nAction: failed\n"
	      "Status: 5.2.1\n\n"
	      "Final-Recipient: rfc822; c@x.org\nAction: delivered\n"
	      "Status: 2.0.0\n",
	      BOUNCE_HARD, "5.2.1", "b@x.org", "5.2.1");
	/* Controls in a diagnostic do not reach the log. */
	check("Final-Recipient: rfc822; d@x.org\nAction: failed\n"
	      "Status: 5.0.0\nDiagnostic-Code: smtp; 550 \x1b[31mno\x7f\n",
	      BOUNCE_HARD, "5.0.0", "d@x.org", "550 ?[31mno?");
}

static void test_not_a_report(void **state)
{
	struct bounce_report r;

	(void)state;
	assert_int_equal(bounce_read("", &r), -EBADMSG);
	assert_int_equal(bounce_read("Reporting-MTA: dns; mx\n\n", &r),
			 -EBADMSG);
	assert_int_equal(bounce_read("Hello, your mail bounced.\n", &r),
			 -EBADMSG);
	assert_int_equal(r.kind, BOUNCE_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_round_trip),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_not_a_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
