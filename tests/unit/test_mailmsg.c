/*
 * Unit tests for mailmsg: every field of a plain message, RFC 2047 words
 * (and CR LF hidden in them), body choice (plain over HTML, forwarded
 * messages, attachments), transfer encodings good and bad, charsets, and
 * the hostile cases of RELIABILITY F5: size, header size, nesting, many
 * recipients, many parts, no header at all.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "mailmsg.h"

static void parse_ok(const char *msg, struct mailmsg *m)
{
	struct err err = {{0}};
	int ret = mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, m, &err);

	if (ret)
		fail_msg("mailmsg_parse: %d (%s)", ret, err.msg);
}

/* The same message with CR LF line ends; the caller frees it. */
static char *crlf(const char *s)
{
	struct buf b;

	buf_init(&b, BUF_MAX_TEXT);
	for (; *s; s++) {
		if (*s == '\n')
			assert_int_equal(buf_addc(&b, '\r'), 0);
		assert_int_equal(buf_addc(&b, *s), 0);
	}
	return buf_take(&b);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* True when no byte of s is a control character. */
static bool no_controls(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static void assert_zeroed(const struct mailmsg *m)
{
	struct mailmsg zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(m, &zero, sizeof(zero));
}

static const char plain_msg[] =
	"Return-Path: <Bounces+X@Lists.Example.ORG>\n"
	"Delivered-To: Briefings@Union.Example.org\n"
	"X-Original-To: Staff-News@union.example.org\n"
	"Authentication-Results: mx.union.example.org;\n"
	"\tdkim=pass header.d=example.net;\n"
	"\tspf=pass smtp.mailfrom=example.net\n"
	"Authentication-Results: relay.example.net; none\n"
	"From: Rosa Luxemburg <Rosa.L@Example.NET>\n"
	"To: Briefings <briefings@union.example.org>, ann@Example.org\n"
	"Cc: ANN@example.org, \"Bob\" <bob@example.org>\n"
	"Subject: Pay offer:\n"
	"  what it means\n"
	"Date: Mon, 23 Nov 2026 07:30:00 +0000\n"
	"Message-ID: <pay.42@example.net>\n"
	"Auto-Submitted:  Auto-Generated \n"
	"Precedence: Bulk\n"
	"List-Id: Staff news <staff.example.net>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"\n"
	"  \n"
	"The offer is 4%.   \n"
	"\n"
	"\n"
	"Ballot closes Friday.\t\n"
	"\n"
	" \n";

static void check_plain(const struct mailmsg *m)
{
	assert_string_equal(m->from, "Rosa.L@example.net");
	assert_string_equal(m->from_name, "Rosa Luxemburg");
	assert_string_equal(m->return_path, "Bounces+X@lists.example.org");
	assert_int_equal(m->n_rcpts, 4);
	assert_string_equal(m->rcpts[0], "briefings@union.example.org");
	assert_string_equal(m->rcpts[1], "ann@example.org");
	assert_string_equal(m->rcpts[2], "bob@example.org");
	/* Delivered-To repeats To's first address; X-Original-To not. */
	assert_string_equal(m->rcpts[3], "Staff-News@union.example.org");
	assert_string_equal(m->subject, "Pay offer: what it means");
	assert_int_equal(m->date, 1795419000);
	assert_string_equal(m->message_id, "pay.42@example.net");
	assert_string_equal(m->auto_submitted, "auto-generated");
	assert_string_equal(m->precedence, "bulk");
	assert_true(m->has_list_id);
	assert_int_equal(m->n_auth_results, 2);
	assert_string_equal(m->auth_results[0],
			    "mx.union.example.org; dkim=pass "
			    "header.d=example.net; spf=pass "
			    "smtp.mailfrom=example.net");
	assert_string_equal(m->auth_results[1], "relay.example.net; none");
	assert_string_equal(m->text,
			    "The offer is 4%.\n\n\nBallot closes Friday.\n");
	assert_false(m->text_from_html);
	assert_int_equal(m->n_attachments, 0);
	assert_string_equal(m->warning, "");
}

static void test_plain_every_field(void **state)
{
	struct mailmsg m;
	char *msg;

	(void)state;
	parse_ok(plain_msg, &m);
	check_plain(&m);
	mailmsg_free(&m);
	assert_zeroed(&m);

	msg = crlf(plain_msg);
	parse_ok(msg, &m);
	check_plain(&m);
	mailmsg_free(&m);
	free(msg);
}

static void test_rcpts_order_and_dedupe(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Delivered-To: <Delivered@Example.org>\n"
		 "X-Original-To: orig@example.org\n"
		 "Cc: cc@example.org, TO@example.org\n"
		 "To: to@example.org, Team: x@example.org, Y@Example.org;,"
		 " Nobody:;\n"
		 "To: second-to@example.org\n"
		 "\n"
		 "hi\n",
		 &m);
	assert_int_equal(m.n_rcpts, 7);
	assert_string_equal(m.rcpts[0], "to@example.org");
	assert_string_equal(m.rcpts[1], "x@example.org");
	assert_string_equal(m.rcpts[2], "Y@example.org");
	assert_string_equal(m.rcpts[3], "second-to@example.org");
	assert_string_equal(m.rcpts[4], "cc@example.org");
	assert_string_equal(m.rcpts[5], "Delivered@example.org");
	assert_string_equal(m.rcpts[6], "orig@example.org");
	mailmsg_free(&m);
}

/* A token in a command address is case-sensitive: only the domain is
 * lower-cased. */
static void test_rcpt_token_case(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "To: <Staff+Unsubscribe-AbC_dEf-9xYz@Union.Example.ORG>\n"
		 "Cc: staff+unsubscribe-abc_def-9xyz@union.example.org\n"
		 "\n"
		 "hi\n",
		 &m);
	assert_int_equal(m.n_rcpts, 1);
	assert_string_equal(m.rcpts[0],
			    "Staff+Unsubscribe-AbC_dEf-9xYz@union.example.org");
	mailmsg_free(&m);
}

static void test_null_return_path(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("Return-Path: <>\nFrom: MAILER-DAEMON@example.org\n\nx\n", &m);
	assert_non_null(m.return_path);
	assert_string_equal(m.return_path, "");
	assert_null(m.from_name);
	assert_null(m.subject);
	assert_null(m.auto_submitted);
	assert_null(m.precedence);
	assert_false(m.has_list_id);
	assert_int_equal(m.n_auth_results, 0);
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n\nx\n", &m);
	assert_null(m.return_path);
	mailmsg_free(&m);
}

static void test_encoded_words(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: =?UTF-8?B?SsO2cmc=?= =?iso-8859-1?q?M=FCller?= "
		 "<joerg@example.org>\n"
		 "Subject: =?utf-8?B?UGF5IG9mZmVyOiDigqwzMDA=?=\n"
		 "\n"
		 "x\n",
		 &m);
	assert_string_equal(m.from_name, "J\xc3\xb6rgM\xc3\xbcller");
	assert_string_equal(m.subject, "Pay offer: \xe2\x82\xac"
				       "300");
	mailmsg_free(&m);

	parse_ok("From: \"=?utf-8?q?Ana_Mar=C3=ADa?=\" <ana@example.org>\n"
		 "Subject: Re: =?utf-8?Q?caf=C3=A9?= and\n"
		 " =?ISO-8859-1?Q?cr=E8me?= =?ISO-8859-1?Q?_br=FBl=E9e?=\n"
		 "\n"
		 "x\n",
		 &m);
	assert_string_equal(m.from_name, "Ana Mar\xc3\xad"
					 "a");
	assert_string_equal(m.subject, "Re: caf\xc3\xa9 and "
				       "cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
				       "e");
	assert_string_equal(m.warning, "no Date; no Message-ID");
	mailmsg_free(&m);
}

static void test_encoded_crlf_becomes_space(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: =?utf-8?q?Evil=0D=0ABcc=3A_victim=40example.org?=\n"
		 "  <evil@example.org>\n"
		 "Subject: =?utf-8?q?line_one=0D=0ASubject:_line=09two=00?=\n"
		 "\n"
		 "x\n",
		 &m);
	assert_string_equal(m.from_name, "Evil Bcc: victim@example.org");
	assert_string_equal(m.subject, "line one Subject: line two");
	assert_true(no_controls(m.from_name));
	assert_true(no_controls(m.subject));
	mailmsg_free(&m);

	/* Base64 hides the bytes from any filter looking at the raw
	 * header. */
	parse_ok("From: =?utf-8?b?QQ0KQg==?= <a@example.org>\n"
		 "Subject: =?utf-8?b?QQ0KDUIKQw==?=\n"
		 "\n"
		 "x\n",
		 &m);
	assert_string_equal(m.from_name, "A B");
	assert_string_equal(m.subject, "A B C");
	mailmsg_free(&m);
}

static void test_bad_encoded_words_kept(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Subject: Hello =?bogus world =?utf-8?x?abc?= end "
		 "=?utf-8?q?ok?=\n"
		 "\n"
		 "x\n",
		 &m);
	assert_string_equal(m.subject,
			    "Hello =?bogus world =?utf-8?x?abc?= end ok");
	mailmsg_free(&m);

	/* Raw 8-bit bytes that are not UTF-8 become U+FFFD. */
	parse_ok("From: a@example.org\nSubject: caf\xe9 \xff ok\n\nx\n", &m);
	assert_string_equal(m.subject, "caf\xef\xbf\xbd \xef\xbf\xbd ok");
	mailmsg_free(&m);
}

static void test_alternative_prefers_plain(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Content-Type: multipart/alternative; boundary=\"alt\"\n"
		 "\n"
		 "preamble\n"
		 "--alt\n"
		 "Content-Type: text/html; charset=utf-8\n"
		 "\n"
		 "<p>The <b>HTML</b> one</p>\n"
		 "--alt\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "\n"
		 "The plain one\n"
		 "--alt--\n"
		 "epilogue\n",
		 &m);
	assert_string_equal(m.text, "The plain one\n");
	assert_false(m.text_from_html);
	assert_int_equal(m.n_attachments, 0);
	mailmsg_free(&m);
}

static void test_html_only(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok(
		"From: a@example.org\n"
		"Content-Type: text/html; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"<html><head><style>p {}</style></head><body>\n"
		"<p>See the <a href=3D\"https://union.example.org/report\">r=\n"
		"eport</a> and the caf=E9 <a href=3D\"https://union.example."
		"org/pay\">pay offer</a>.</p>\n"
		"<p>Vote!</p></body></html>\n",
		&m);
	assert_string_equal(m.text,
			    "See the report [1] and the caf\xc3\xa9 pay offer "
			    "[2].\n"
			    "\n"
			    "Vote!\n"
			    "\n"
			    "[1] https://union.example.org/report\n"
			    "[2] https://union.example.org/pay\n");
	assert_true(m.text_from_html);
	mailmsg_free(&m);
}

/* A bounce (multipart/report): the delivery status fields are kept,
 * base64 undone; a report inside a forwarded message is not the
 * message's own. */
static void test_delivery_status(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok(
		"From: MAILER-DAEMON@mx.example.org\n"
		"To: staff-news+bounce-abc@example.org\n"
		"Subject: Undelivered Mail Returned to Sender\n"
		"Content-Type: multipart/report; report-type=delivery-status;\n"
		" boundary=\"B\"\n"
		"\n"
		"--B\n"
		"Content-Type: text/plain\n"
		"\n"
		"I'm sorry to have to inform you...\n"
		"--B\n"
		"Content-Type: message/delivery-status\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		/* "Final-Recipient: rfc822; a@x.org\nAction: failed\n"
		 * "Status: 5.1.1\n" */
		"RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAeC5vcmcKQWN0aW9uOiBmYWls"
		"ZWQKU3RhdHVzOiA1LjEuMQo=\n"
		"--B\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"From: staff-news@example.org\n"
		"Subject: the digest\n"
		"\n"
		"Body\n"
		"--B--\n",
		&m);
	assert_non_null(m.delivery_status);
	assert_string_equal(m.delivery_status,
			    "Final-Recipient: rfc822; a@x.org\nAction: failed\n"
			    "Status: 5.1.1\n");
	assert_string_equal(m.text, "I'm sorry to have to inform you...\n");
	mailmsg_free(&m);

	parse_ok("From: someone@example.org\n"
		 "Content-Type: multipart/mixed; boundary=\"M\"\n"
		 "\n"
		 "--M\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "Look at this bounce I got.\n"
		 "--M\n"
		 "Content-Type: message/rfc822\n"
		 "\n"
		 "From: MAILER-DAEMON@mx.example.org\n"
		 "Content-Type: multipart/report; boundary=\"B\"\n"
		 "\n"
		 "--B\n"
		 "Content-Type: message/delivery-status\n"
		 "\n"
		 "Action: failed\nStatus: 5.1.1\n"
		 "--B--\n"
		 "--M--\n",
		 &m);
	assert_null(m.delivery_status);
	mailmsg_free(&m);
}

static void test_mixed_with_attachments(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Content-Type: multipart/mixed; boundary=mix\n"
		 "\n"
		 "--mix\n"
		 "Content-Type: multipart/alternative; boundary=alt\n"
		 "\n"
		 "--alt\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "Body text\n"
		 "--alt\n"
		 "Content-Type: text/html\n"
		 "\n"
		 "<p>Body text</p>\n"
		 "--alt--\n"
		 "--mix\n"
		 "Content-Type: text/plain; name=\"notes.txt\"\n"
		 "\n"
		 "Attached notes, not body\n"
		 "--mix\n"
		 "Content-Type: application/pdf\n"
		 "Content-Disposition: attachment;\n"
		 " filename=\"=?utf-8?q?Pay_offer_=E2=82=AC.pdf?=\"\n"
		 "Content-Transfer-Encoding: base64\n"
		 "\n"
		 "JVBERi0xLjQK\n"
		 "--mix\n"
		 "Content-Type: application/octet-stream\n"
		 "Content-Disposition: attachment;\n"
		 " filename*0*=utf-8''%E2%82%AC%20;\n"
		 " filename*1=\"rates.xls\"; filename=\"fallback.xls\"\n"
		 "\n"
		 "x\n"
		 "--mix\n"
		 "Content-Type: image/PNG\n"
		 "Content-Disposition: attachment\n"
		 "\n"
		 "x\n"
		 "--mix\n"
		 "Content-Type: text/calendar\n"
		 "\n"
		 "BEGIN:VCALENDAR\n"
		 "--mix--\n",
		 &m);
	assert_string_equal(m.text, "Body text\n");
	assert_false(m.text_from_html);
	assert_int_equal(m.n_attachments, 5);
	assert_string_equal(m.attachments[0], "notes.txt");
	assert_string_equal(m.attachments[1], "Pay offer \xe2\x82\xac.pdf");
	assert_string_equal(m.attachments[2], "\xe2\x82\xac rates.xls");
	assert_string_equal(m.attachments[3], "unnamed image/png");
	assert_string_equal(m.attachments[4], "unnamed text/calendar");
	assert_null(strstr(m.text, "Attached notes"));
	mailmsg_free(&m);
}

static void test_base64_and_qp_bodies(void **state)
{
	struct mailmsg m;

	(void)state;
	/* "Caf\xc3\xa9 meeting\r\nat 5\r\n" */
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=UTF-8\n"
		 "Content-Transfer-Encoding: base64\n"
		 "\n"
		 "Q2Fmw6kg\n"
		 "bWVldGluZw0KYXQgNQ0K\n",
		 &m);
	assert_string_equal(m.text, "Caf\xc3\xa9 meeting\nat 5\n");
	assert_string_equal(m.warning, "no Date; no Message-ID");
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=iso-8859-15\n"
		 "Content-Transfer-Encoding: Quoted-Printable\n"
		 "\n"
		 "A long line that was sof=\n"
		 "t-broken, an =A4 sign, and a trailing space=20\n"
		 "=3D end\n",
		 &m);
	assert_string_equal(m.text, "A long line that was soft-broken, an "
				    "\xe2\x82\xac sign, and a trailing space\n"
				    "= end\n");
	assert_string_equal(m.warning, "no Date; no Message-ID");
	mailmsg_free(&m);
}

static void test_bad_base64(void **state)
{
	struct mailmsg m;

	(void)state;
	/* "Hello" then junk: the good quantum decodes, the rest is
	 * skipped, and nothing crashes. */
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "Content-Transfer-Encoding: base64\n"
		 "\n"
		 "SGVsbG8g!!*\xff"
		 "d29y==bGQ=x\n",
		 &m);
	assert_non_null(strstr(m.warning, "bad base64"));
	assert_true(strncmp(m.text, "Hello ", 6) == 0);
	assert_non_null(m.text);
	mailmsg_free(&m);
}

static void test_bad_qp(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "Content-Transfer-Encoding: quoted-printable\n"
		 "\n"
		 "x=y and 100% =ZZ caf=C3=A9=  \n"
		 "end\n",
		 &m);
	assert_string_equal(m.text, "x=y and 100% =ZZ caf\xc3\xa9"
				    "end\n");
	assert_non_null(strstr(m.warning, "bad quoted-printable"));
	mailmsg_free(&m);
}

static void test_x_unknown_charset(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=x-unknown\n"
		 "Content-Transfer-Encoding: 8bit\n"
		 "\n"
		 "\x93"
		 "Caf\xe9\x94 \x80"
		 "5 \x81\n",
		 &m);
	assert_string_equal(m.text, "\xe2\x80\x9c"
				    "Caf\xc3\xa9\xe2\x80\x9d \xe2\x82\xac"
				    "5 \xef\xbf\xbd\n");
	assert_non_null(
		strstr(m.warning,
		       "unknown charset \"x-unknown\": read as Windows-1252"));
	mailmsg_free(&m);

	/* A charset iconv does not know either. */
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=\"klingon-8\"\n"
		 "\n"
		 "caf\xc3\xa9\n",
		 &m);
	assert_string_equal(m.text, "caf\xc3\xa9\n");
	assert_non_null(strstr(m.warning,
			       "unknown charset \"klingon-8\": read as UTF-8"));
	mailmsg_free(&m);
}

static void test_8bit_no_charset(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n\nna\xc3\xafve caf\xc3\xa9\n", &m);
	assert_string_equal(m.text, "na\xc3\xafve caf\xc3\xa9\n");
	assert_null(strstr(m.warning, "Windows-1252"));
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "na\xefve caf\xe9\n",
		 &m);
	assert_string_equal(m.text, "na\xc3\xafve caf\xc3\xa9\n");
	assert_non_null(strstr(m.warning, "8-bit text with no charset: "
					  "read as Windows-1252"));
	mailmsg_free(&m);

	/* Invalid bytes under charset=utf-8 become U+FFFD. */
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "\n"
		 "a\xe9z \xf0\x9f\x98\x80\n",
		 &m);
	assert_string_equal(m.text, "a\xef\xbf\xbdz \xf0\x9f\x98\x80\n");
	mailmsg_free(&m);
}

static void test_missing_date_and_message_id(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\nSubject: s\n\nbody\n", &m);
	assert_int_equal(m.date, 0);
	assert_null(m.message_id);
	assert_string_equal(m.warning, "no Date; no Message-ID");
	assert_string_equal(m.text, "body\n");
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n"
		 "Date: the day after tomorrow\n"
		 "Message-ID: not-in-brackets@example.org\n"
		 "\n"
		 "body\n",
		 &m);
	assert_int_equal(m.date, 0);
	assert_string_equal(m.message_id, "not-in-brackets@example.org");
	assert_string_equal(m.warning, "the Date cannot be read");
	mailmsg_free(&m);

	/* Nothing at all but a From. */
	parse_ok("From: a@example.org\n", &m);
	assert_string_equal(m.text, "");
	assert_int_equal(m.n_rcpts, 0);
	mailmsg_free(&m);
}

static void test_date_zones(void **state)
{
	struct mailmsg m;

	(void)state;
	/* 08:30 at +0100 is 07:30 UTC. */
	parse_ok("From: a@example.org\n"
		 "Date: Mon, 23 Nov 2026 08:30:00 +0100\n\nx\n",
		 &m);
	assert_int_equal(m.date, 1795419000);
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n"
		 "Date: Sun, 22 Nov 2026 21:00:00 -1030 (comment)\n\nx\n",
		 &m);
	assert_int_equal(m.date, 1795419000);
	mailmsg_free(&m);

	/* Two-digit year, obsolete zone name. */
	parse_ok("From: a@example.org\n"
		 "Date: 23 Nov 26 02:30 EST\n\nx\n",
		 &m);
	assert_int_equal(m.date, 1795419000);
	mailmsg_free(&m);

	/* Leap day, and a 31 February that is no date at all. */
	parse_ok("From: a@example.org\n"
		 "Date: Thu, 29 Feb 2024 00:00:00 +0000\n\nx\n",
		 &m);
	assert_int_equal(m.date, 1709164800);
	mailmsg_free(&m);
	parse_ok("From: a@example.org\n"
		 "Date: Thu, 31 Feb 2024 00:00:00 +0000\n\nx\n",
		 &m);
	assert_int_equal(m.date, 0);
	assert_non_null(strstr(m.warning, "Date"));
	mailmsg_free(&m);
}

static void test_over_max_size(void **state)
{
	static const char msg[] = "From: a@example.org\n\nbody\n";
	struct err err = {{0}};
	struct mailmsg m;

	(void)state;
	memset(&m, 0xff, sizeof(m));
	assert_int_equal(mailmsg_parse(msg, strlen(msg), 10, &m, &err),
			 -EMSGSIZE);
	assert_zeroed(&m);
	assert_string_equal(err.msg,
			    "message is 26 bytes; the limit is 10 ([imap] "
			    "max_size)");
	assert_int_equal(mailmsg_parse(msg, strlen(msg), 26, &m, &err), 0);
	mailmsg_free(&m);
}

/* A header line repeated until the header is over size bytes. */
static char *big_header(const char *before, size_t size, const char *after)
{
	struct buf b;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, before), 0);
	while (b.len <= size)
		assert_int_equal(buf_adds(&b, "X-Filler: 0123456789abcdef\n"),
				 0);
	assert_int_equal(buf_adds(&b, after), 0);
	return buf_take(&b);
}

static void test_huge_headers(void **state)
{
	struct err err = {{0}};
	struct mailmsg m;
	struct buf b;
	char *msg;

	(void)state;
	msg = big_header("From: a@example.org\n", 300 * 1024, "\nbody\n");
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	assert_zeroed(&m);
	assert_non_null(strstr(err.msg, "the message's header is over"));
	free(msg);

	/* One folded field is a header block too. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\nSubject: x"), 0);
	while (b.len <= 300 * 1024)
		assert_int_equal(buf_adds(&b, "\n folded"), 0);
	assert_int_equal(buf_adds(&b, "\n\nbody\n"), 0);
	msg = buf_take(&b);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	free(msg);

	/* A part's header. */
	msg = big_header("From: a@example.org\n"
			 "Content-Type: multipart/mixed; boundary=b\n"
			 "\n"
			 "--b\n",
			 300 * 1024, "\nbody\n--b--\n");
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	assert_non_null(strstr(err.msg, "a header block at byte 67 is over"));
	free(msg);

	/* Just under the limit is fine. */
	msg = big_header("From: a@example.org\n", 250 * 1024, "\nbody\n");
	parse_ok(msg, &m);
	assert_string_equal(m.text, "body\n");
	mailmsg_free(&m);
	free(msg);
}

static void test_nested_multiparts(void **state)
{
	struct err err = {{0}};
	struct mailmsg m;
	struct buf b;
	int i, depth;
	char *msg;

	(void)state;
	for (depth = 30; depth <= 40; depth += 10) {
		buf_init(&b, BUF_MAX_TEXT);
		assert_int_equal(buf_adds(&b, "From: a@example.org\n"), 0);
		for (i = 0; i < depth; i++)
			assert_int_equal(
				buf_printf(&b,
					   "Content-Type: multipart/mixed; "
					   "boundary=\"b%d\"\n\n--b%d\n",
					   i, i),
				0);
		assert_int_equal(buf_adds(&b, "Content-Type: text/plain\n\n"
					      "deep\n"),
				 0);
		for (i = depth - 1; i >= 0; i--)
			assert_int_equal(buf_printf(&b, "--b%d--\n", i), 0);
		msg = buf_take(&b);
		if (depth == 30) {
			parse_ok(msg, &m);
			assert_string_equal(m.text, "deep\n");
			mailmsg_free(&m);
		} else {
			assert_int_equal(mailmsg_parse(msg, strlen(msg),
						       MAILMSG_MAX_SIZE, &m,
						       &err),
					 -EMLINK);
			assert_zeroed(&m);
			assert_string_equal(err.msg,
					    "more than 32 multipart or "
					    "message/rfc822 parts (the limit)");
		}
		free(msg);
	}
}

static void test_deep_rfc822(void **state)
{
	struct err err = {{0}};
	struct timespec t0;
	struct mailmsg m;
	struct buf b;
	char *msg;
	int i;

	(void)state;
	buf_init(&b, BUF_MAX_TEXT);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&b, "From: a@example.org\n"
					      "Content-Type: message/rfc822\n"
					      "\n"),
				 0);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n\nbottom\n"), 0);
	msg = buf_take(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMLINK);
	assert_true(seconds_since(&t0) < 5.0);
	assert_zeroed(&m);
	free(msg);

	/* Folded, odd case, commented: still counted. */
	parse_ok("From: a@example.org\n"
		 "CONTENT-type :\n"
		 "   Message/RFC822\n"
		 "\n"
		 "From: b@example.org\n"
		 "Subject: inner\n"
		 "\n"
		 "inner text\n",
		 &m);
	assert_string_equal(m.text, "inner text\n");
	mailmsg_free(&m);
}

static void test_header_blocks_total(void **state)
{
	struct err err = {{0}};
	struct mailmsg m;
	struct buf b;
	char *msg;
	int i;

	(void)state;
	/* Five part headers, each under the limit, over it together. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"
				      "Content-Type: multipart/mixed; "
				      "boundary=b\n\n"),
			 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(buf_adds(&b, "--b\n"), 0);
		while (b.len < (size_t)(i + 1) * 230 * 1024)
			assert_int_equal(buf_adds(&b, "X:y\n"), 0);
		assert_int_equal(buf_adds(&b, "\nx\n"), 0);
	}
	assert_int_equal(buf_adds(&b, "--b--\n"), 0);
	msg = buf_take(&b);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	assert_string_equal(err.msg, "the header blocks come to over 1048576 "
				     "bytes (the limit)");
	free(msg);
}

static void test_header_blocks_where_libetpan_reads(void **state)
{
	struct err err = {{0}};
	struct mailmsg m;
	struct buf b;
	char *msg;

	(void)state;
	/* Fields libetpan reads though they look odd: a comment before the
	 * colon, a colon on the continuation line. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"), 0);
	while (b.len < 300 * 1024)
		assert_int_equal(buf_adds(&b, "X (c) : y\nZ\n : w\n"), 0);
	assert_int_equal(buf_adds(&b, "\nbody\n"), 0);
	msg = buf_take(&b);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	free(msg);

	/* The header of a message/rfc822 body is a header block. */
	msg = big_header("From: a@example.org\n"
			 "Content-Type: message/rfc822\n"
			 "\n",
			 300 * 1024, "\nbody\n");
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	assert_non_null(strstr(err.msg, "a header block at byte 50 is over"));
	free(msg);

	/* A text attachment of "09:00,..." lines is not one. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"
				      "Content-Type: multipart/mixed; "
				      "boundary=b\n\n"
				      "--b\n\nsee the sheet\n"
				      "--b\n"
				      "Content-Type: text/csv; name=hours.csv\n"
				      "\n"),
			 0);
	while (b.len < 600 * 1024)
		assert_int_equal(buf_adds(&b, "09:00,17:30,site visit\n"), 0);
	assert_int_equal(buf_adds(&b, "--b--\n"), 0);
	msg = buf_take(&b);
	parse_ok(msg, &m);
	assert_string_equal(m.text, "see the sheet\n");
	assert_int_equal(m.n_attachments, 1);
	assert_string_equal(m.attachments[0], "hours.csv");
	mailmsg_free(&m);
	free(msg);
}

static void test_digest(void **state)
{
	struct mailmsg m;

	(void)state;
	/* In a multipart/digest a part with no Content-Type is a
	 * message/rfc822. */
	parse_ok("From: list@example.org\n"
		 "Subject: Digest 12\n"
		 "Content-Type: multipart/digest; boundary=d\n"
		 "\n"
		 "--d\n"
		 "\n"
		 "From: ann@example.org\n"
		 "Subject: first\n"
		 "\n"
		 "First message.\n"
		 "--d\n"
		 "\n"
		 "From: bob@example.org\n"
		 "Content-Type: text/plain; name=second.txt\n"
		 "\n"
		 "Second.\n"
		 "--d--\n",
		 &m);
	assert_string_equal(m.text, "First message.\n");
	assert_int_equal(m.n_attachments, 1);
	assert_string_equal(m.attachments[0], "second.txt");
	mailmsg_free(&m);
}

static void test_text_capped(void **state)
{
	struct mailmsg m;
	struct buf b;
	char *msg;

	(void)state;
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"
				      "Content-Type: text/plain; "
				      "charset=utf-8\n\n"),
			 0);
	while (b.len < 5 * 1024 * 1024)
		assert_int_equal(buf_adds(&b, "caf\xc3\xa9 au lait, "
					      "and a long line of text\n"),
				 0);
	msg = buf_take(&b);
	parse_ok(msg, &m);
	assert_true(strlen(m.text) <= MAILMSG_MAX_TEXT);
	assert_true(strlen(m.text) > MAILMSG_MAX_TEXT - 100);
	assert_int_equal(m.text[strlen(m.text) - 1], '\n');
	assert_true(strncmp(m.text + strlen(m.text) - 24,
			    "and a long line of text\n", 24) == 0);
	assert_non_null(strstr(m.warning, "text cut at 4194304 bytes"));
	mailmsg_free(&m);
	free(msg);
}

static void test_comment_nesting(void **state)
{
	struct err err = {{0}};
	struct mailmsg m;
	struct buf b;
	char *msg;
	int i;

	(void)state;
	/* 200,000 nested comments overflow libetpan's stack; 100 are
	 * refused before it runs. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: "), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_addc(&b, '('), 0);
	assert_int_equal(buf_adds(&b, "\n a@example.org\n\nx\n"), 0);
	msg = buf_take(&b);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMLINK);
	assert_non_null(strstr(err.msg, "comments nested over 64 deep"));
	free(msg);

	parse_ok("From: ((a) (b (c))) x@example.org\n\nx\n", &m);
	assert_string_equal(m.from, "x@example.org");
	mailmsg_free(&m);
}

/* A To header of n addresses "rN@example.org". */
static char *many_to(int n)
{
	struct buf b;
	int i;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\nTo: "), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(
			buf_printf(&b, "%sr%d@ex.org", i ? "," : "", i), 0);
	assert_int_equal(buf_adds(&b, "\n\nbody\n"), 0);
	return buf_take(&b);
}

static void test_many_rcpts(void **state)
{
	struct err err = {{0}};
	struct timespec t0;
	struct mailmsg m;
	char *msg;

	(void)state;
	/* As many as fit in one header: kept up to the cap, quickly. */
	msg = many_to(15000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse_ok(msg, &m);
	assert_true(seconds_since(&t0) < 5.0);
	assert_int_equal(m.n_rcpts, MAILMSG_MAX_RCPTS);
	assert_string_equal(m.rcpts[0], "r0@ex.org");
	assert_string_equal(m.rcpts[MAILMSG_MAX_RCPTS - 1], "r199@ex.org");
	mailmsg_free(&m);
	free(msg);

	/* 100,000 cannot fit in MAILMSG_MAX_HEADER: refused before
	 * libetpan reads them. */
	msg = many_to(100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
		mailmsg_parse(msg, strlen(msg), MAILMSG_MAX_SIZE, &m, &err),
		-EMSGSIZE);
	assert_true(seconds_since(&t0) < 5.0);
	free(msg);
}

static void test_many_parts(void **state)
{
	struct mailmsg m;
	struct buf b;
	char *msg;
	int i;

	(void)state;
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"
				      "Content-Type: multipart/mixed; "
				      "boundary=p\n\n"),
			 0);
	for (i = 0; i < 600; i++)
		assert_int_equal(buf_printf(&b,
					    "--p\nContent-Type: application/"
					    "x-part; name=\"p%d.bin\"\n\n%d\n",
					    i, i),
				 0);
	assert_int_equal(buf_adds(&b, "--p--\n"), 0);
	msg = buf_take(&b);
	parse_ok(msg, &m);
	assert_non_null(strstr(m.warning, "600 parts: only the first 500 were "
					  "read"));
	assert_non_null(strstr(m.warning, "450 more attachments not listed"));
	assert_int_equal(m.n_attachments, MAILMSG_MAX_ATTACHMENTS);
	assert_string_equal(m.attachments[0], "p0.bin");
	assert_string_equal(m.attachments[49], "p49.bin");
	assert_string_equal(m.text, "");
	mailmsg_free(&m);
	free(msg);
}

static void test_million_dash_lines(void **state)
{
	struct timespec t0;
	struct mailmsg m;
	struct buf b;
	char *msg;
	int i;

	(void)state;
	/* 3.5 MB of tiny parts: libetpan only sees the first 2000. */
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&b, "From: a@example.org\n"
				      "Content-Type: multipart/mixed; "
				      "boundary=p\n\n--p\n\nfirst\n"),
			 0);
	for (i = 0; i < 500000; i++)
		assert_int_equal(buf_adds(&b, "--p\n\nx\n"), 0);
	msg = buf_take(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse_ok(msg, &m);
	assert_true(seconds_since(&t0) < 5.0);
	assert_string_equal(m.text, "first\n");
	assert_non_null(strstr(m.warning, "over 2000 lines start with \"--\""));
	assert_non_null(strstr(m.warning, "only the first 500 were read"));
	mailmsg_free(&m);
	free(msg);
}

static void test_forwarded_briefing(void **state)
{
	struct mailmsg m;

	(void)state;
	/* Forwarded as an attachment with no text of its own: the inner
	 * message's text is the body. */
	parse_ok("From: Steward <steward@example.org>\n"
		 "To: briefings@union.example.org\n"
		 "Subject: Fwd: Branch briefing\n"
		 "Content-Type: multipart/mixed; boundary=outer\n"
		 "\n"
		 "--outer\n"
		 "Content-Type: text/plain\n"
		 "\n"
		 "\n"
		 "--outer\n"
		 "Content-Type: message/rfc822\n"
		 "Content-Disposition: attachment; filename=briefing.eml\n"
		 "\n"
		 "From: Branch <branch@example.net>\n"
		 "To: members@example.net\n"
		 "Subject: Branch briefing\n"
		 "Content-Type: multipart/mixed; boundary=inner\n"
		 "\n"
		 "--inner\n"
		 "Content-Type: text/plain; charset=utf-8\n"
		 "Content-Transfer-Encoding: quoted-printable\n"
		 "\n"
		 "Members meet on Thursday =E2=80=93 bring a friend.\n"
		 "--inner\n"
		 "Content-Type: application/pdf; name=agenda.pdf\n"
		 "\n"
		 "x\n"
		 "--inner--\n"
		 "--outer--\n",
		 &m);
	assert_string_equal(m.text, "Members meet on Thursday \xe2\x80\x93 "
				    "bring a friend.\n");
	assert_int_equal(m.n_attachments, 1);
	assert_string_equal(m.attachments[0], "agenda.pdf");
	assert_string_equal(m.subject, "Fwd: Branch briefing");
	assert_string_equal(m.from, "steward@example.org");
	assert_int_equal(m.n_rcpts, 1);
	mailmsg_free(&m);

	/* With a note of its own, the note is the text. */
	parse_ok("From: steward@example.org\n"
		 "Content-Type: multipart/mixed; boundary=outer\n"
		 "\n"
		 "--outer\n"
		 "Content-Type: text/html\n"
		 "\n"
		 "<p>FYI</p>\n"
		 "--outer\n"
		 "Content-Type: message/rfc822\n"
		 "\n"
		 "From: branch@example.net\n"
		 "\n"
		 "Inner text\n"
		 "--outer--\n",
		 &m);
	assert_string_equal(m.text, "FYI\n");
	assert_true(m.text_from_html);
	mailmsg_free(&m);
}

static void test_format_flowed(void **state)
{
	struct mailmsg m;

	(void)state;
	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; charset=utf-8; format=flowed\n"
		 "\n"
		 "This paragraph was \n"
		 "wrapped by the \n"
		 "sender.\n"
		 "\n"
		 " From the stuffed line.\n"
		 "> Quoted and \n"
		 "> flowed.\n"
		 "-- \n"
		 "Sig\n",
		 &m);
	assert_string_equal(m.text, "This paragraph was wrapped by the "
				    "sender.\n"
				    "\n"
				    "From the stuffed line.\n"
				    "> Quoted and flowed.\n"
				    "--\n"
				    "Sig\n");
	mailmsg_free(&m);

	parse_ok("From: a@example.org\n"
		 "Content-Type: text/plain; format=flowed; delsp=yes\n"
		 "\n"
		 "Kab \n"
		 "ushiki\n",
		 &m);
	assert_string_equal(m.text, "Kabushiki\n");
	mailmsg_free(&m);
}

static void test_no_header(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"\r\nFrom: a@example.org\r\n\r\nbody\r\n",
		"just some text\nno header\n\nbody\n",
	};
	struct err err = {{0}};
	struct mailmsg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&m, 0xff, sizeof(m));
		assert_int_equal(mailmsg_parse(bad[i], strlen(bad[i]),
					       MAILMSG_MAX_SIZE, &m, &err),
				 -EBADMSG);
		assert_zeroed(&m);
		assert_string_equal(err.msg,
				    "not a mail message: no header field "
				    "before the first blank line");
	}
}

static void test_free_zeroed(void **state)
{
	struct mailmsg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	mailmsg_free(&m);
	mailmsg_free(NULL);
	assert_zeroed(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_every_field),
		cmocka_unit_test(test_rcpts_order_and_dedupe),
		cmocka_unit_test(test_rcpt_token_case),
		cmocka_unit_test(test_null_return_path),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_encoded_crlf_becomes_space),
		cmocka_unit_test(test_bad_encoded_words_kept),
		cmocka_unit_test(test_alternative_prefers_plain),
		cmocka_unit_test(test_html_only),
		cmocka_unit_test(test_mixed_with_attachments),
		cmocka_unit_test(test_delivery_status),
		cmocka_unit_test(test_base64_and_qp_bodies),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_bad_qp),
		cmocka_unit_test(test_x_unknown_charset),
		cmocka_unit_test(test_8bit_no_charset),
		cmocka_unit_test(test_missing_date_and_message_id),
		cmocka_unit_test(test_date_zones),
		cmocka_unit_test(test_over_max_size),
		cmocka_unit_test(test_huge_headers),
		cmocka_unit_test(test_nested_multiparts),
		cmocka_unit_test(test_deep_rfc822),
		cmocka_unit_test(test_header_blocks_total),
		cmocka_unit_test(test_header_blocks_where_libetpan_reads),
		cmocka_unit_test(test_comment_nesting),
		cmocka_unit_test(test_many_rcpts),
		cmocka_unit_test(test_many_parts),
		cmocka_unit_test(test_million_dash_lines),
		cmocka_unit_test(test_forwarded_briefing),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_text_capped),
		cmocka_unit_test(test_format_flowed),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_free_zeroed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
