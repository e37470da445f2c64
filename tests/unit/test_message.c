/*
 * Unit tests for message: the exact header block, header injection
 * (the header set stays the same, proved by parsing with libetpan),
 * RFC 2047 subjects decoded back with libetpan, List-Id and
 * List-Unsubscribe limits, format=flowed bodies (checked exactly and
 * by decoding them as RFC 3676 says), base64 bodies decoded back, and
 * prepared bodies (byte for byte the message built whole).
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

#include <cmocka.h>
#include <libetpan/libetpan.h>

#include "message.h"

#define MONDAY 1795419000 /* Mon, 23 Nov 2026 07:30:00 +0000 */

static const char *const digest_headers =
	"Date,From,To,Subject,Message-ID,MIME-Version,Content-Type,"
	"Content-Transfer-Encoding,List-Id,List-Unsubscribe,"
	"List-Unsubscribe-Post,Precedence,Auto-Submitted";

static void spec_init(struct message_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->from = "Staff News <staff-news@example.org>";
	s->to = "ann@example.org";
	s->subject = "Probation staff news: 3 stories, 16-23 Nov 2026";
	s->date = MONDAY;
	s->message_id = "digest.42.5f3a9c@news.example.org";
	s->list_id = "\"Probation staff news\" <staff-news.example.org>";
	s->unsubscribe_url = "https://news.example.org/u/abc123";
	s->unsubscribe_mailto = "mailto:staff-news+unsubscribe@example.org";
	s->one_click = true;
	s->bulk = true;
	s->auto_submitted = "auto-generated";
	s->body = "Hello\n";
}

/* Builds spec into out, failing the test on error. */
static void build(const struct message_spec *s, struct buf *out)
{
	struct err err = {{0}};
	int ret;

	buf_init(out, BUF_MAX_TEXT);
	ret = message_build(s, out, &err);
	if (ret)
		fail_msg("message_build: %d %s", ret, err.msg);
}

/* Every line ends in CRLF, no bare CR or LF, none over 998 octets. */
static void check_lines(const struct buf *m)
{
	size_t start = 0;

	for (size_t i = 0; i < m->len; i++) {
		if (m->ptr[i] == '\r') {
			assert_true(i + 1 < m->len && m->ptr[i + 1] == '\n');
			assert_true(i - start <= 998);
			start = i + 2;
			i++;
		} else {
			assert_true(m->ptr[i] != '\n');
		}
	}
	assert_int_equal(start, m->len);
}

static struct mailimf_fields *parse_fields(const struct buf *m)
{
	struct mailimf_fields *f = NULL;
	size_t idx = 0;

	assert_int_equal(mailimf_fields_parse(m->ptr, m->len, &idx, &f),
			 MAILIMF_NO_ERROR);
	assert_non_null(f);
	/* The header block ends exactly at the blank line. */
	assert_true(idx + 2 <= m->len);
	assert_memory_equal(m->ptr + idx, "\r\n", 2);
	return f;
}

/* The names of the parsed fields, in order, comma-separated. */
static void field_names(struct mailimf_fields *f, struct buf *names)
{
	buf_init(names, BUF_MAX_LINE);
	for (clistiter *it = clist_begin(f->fld_list); it;
	     it = clist_next(it)) {
		struct mailimf_field *fl = clist_content(it);
		const char *n;
		int ret;

		switch (fl->fld_type) {
		case MAILIMF_FIELD_ORIG_DATE:
			n = "Date";
			break;
		case MAILIMF_FIELD_FROM:
			n = "From";
			break;
		case MAILIMF_FIELD_TO:
			n = "To";
			break;
		case MAILIMF_FIELD_SUBJECT:
			n = "Subject";
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			n = "Message-ID";
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			n = fl->fld_data.fld_optional_field->fld_name;
			break;
		default:
			n = "UNEXPECTED";
			break;
		}
		ret = buf_printf(names, "%s%s", names->len ? "," : "", n);
		assert_int_equal(ret, 0);
	}
}

static struct mailimf_field *field_get(struct mailimf_fields *f, int type)
{
	for (clistiter *it = clist_begin(f->fld_list); it;
	     it = clist_next(it)) {
		struct mailimf_field *fl = clist_content(it);

		if (fl->fld_type == type)
			return fl;
	}
	fail_msg("no field of type %d", type);
	abort(); /* not reached: fail_msg leaves the test */
}

/* The Subject as a standard decoder gives it back (malloc'd). */
static char *subject_decoded(struct mailimf_fields *f)
{
	const char *v = field_get(f, MAILIMF_FIELD_SUBJECT)
				->fld_data.fld_subject->sbj_value;
	char *dec = NULL;
	size_t idx = 0;

	assert_int_equal(mailmime_encoded_phrase_parse("utf-8", v, strlen(v),
						       &idx, "utf-8", &dec),
			 MAILIMF_NO_ERROR);
	return dec;
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (s[i] < 0x80)
			n = 1;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			return false;
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += n;
	}
	return true;
}

static int b64_val(char c)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(tab, c);

	return c && p ? (int)(p - tab) : -1;
}

/* Decodes the text of one encoded word into out (test-side decoder, to
 * check that each word holds whole UTF-8 characters). */
static void ew_decode(const char *w, size_t len, struct buf *out)
{
	char enc;
	const char *text, *end = w + len - 2;

	assert_true(len > 12);
	assert_memory_equal(w, "=?UTF-8?", 8);
	enc = w[8];
	assert_true(enc == 'B' || enc == 'Q');
	assert_int_equal(w[9], '?');
	assert_memory_equal(end, "?=", 2);
	text = w + 10;
	if (enc == 'Q') {
		for (const char *p = text; p < end; p++) {
			int ret;

			if (*p == '=') {
				char hex[3] = {p[1], p[2], 0};

				ret = buf_addc(out,
					       (char)strtol(hex, NULL, 16));
				p += 2;
			} else {
				ret = buf_addc(out, *p == '_' ? ' ' : *p);
			}
			assert_int_equal(ret, 0);
		}
		return;
	}
	assert_int_equal((end - text) % 4, 0);
	for (const char *p = text; p < end; p += 4) {
		int v[4];
		unsigned char b[3];
		size_t n = 3;

		for (int k = 0; k < 4; k++)
			v[k] = p[k] == '=' ? 0 : b64_val(p[k]);
		assert_true(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0);
		b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		b[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		if (p[2] == '=')
			n = 1;
		else if (p[3] == '=')
			n = 2;
		assert_int_equal(buf_add(out, b, n), 0);
	}
}

/* The raw Subject field: every line holding encoded words is at most 76
 * octets, every encoded word at most 75 and holding whole characters. */
static void check_subject_words(const struct buf *m)
{
	const char *p = strstr(m->ptr, "\r\nSubject: ");
	const char *end;
	size_t words = 0;

	assert_non_null(p);
	p += 2;
	end = p;
	/* The field runs to the first CRLF not followed by a space. */
	for (;;) {
		end = strstr(end, "\r\n");
		assert_non_null(end);
		if (end[2] != ' ')
			break;
		end += 2;
	}
	for (const char *line = p; line < end;) {
		const char *eol = strstr(line, "\r\n");

		assert_true(eol - line <= 76);
		line = eol + 2;
	}
	p += strlen("Subject: ");
	while (p < end) {
		const char *w = p;
		struct buf dec;

		while (p < end && *p != ' ' && *p != '\r')
			p++;
		if (p - w >= 2 && w[0] == '=' && w[1] == '?') {
			assert_true(p - w <= 75);
			buf_init(&dec, BUF_MAX_LINE);
			ew_decode(w, (size_t)(p - w), &dec);
			assert_true(utf8_valid((const unsigned char *)dec.ptr,
					       dec.len));
			buf_free(&dec);
			words++;
		}
		while (p < end && (*p == ' ' || *p == '\r' || *p == '\n'))
			p++;
	}
	(void)words;
}

static void test_exact_header_block(void **state)
{
	struct message_spec s;
	struct buf m;

	spec_init(&s);
	build(&s, &m);
	assert_string_equal(
		buf_str(&m),
		"Date: Mon, 23 Nov 2026 07:30:00 +0000\r\n"
		"From: Staff News <staff-news@example.org>\r\n"
		"To: ann@example.org\r\n"
		"Subject: Probation staff news: 3 stories, 16-23 Nov 2026\r\n"
		"Message-ID: <digest.42.5f3a9c@news.example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"List-Id: \"Probation staff news\" <staff-news.example.org>\r\n"
		"List-Unsubscribe: <https://news.example.org/u/abc123>, "
		"<mailto:staff-news+unsubscribe@example.org>\r\n"
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
		"Precedence: bulk\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"\r\n"
		"Hello\r\n");
	buf_free(&m);
}

static void test_optional_headers_only_when_asked(void **state)
{
	struct message_spec s;
	struct mailimf_fields *f;
	struct buf m, names;

	spec_init(&s);
	s.list_id = NULL;
	s.unsubscribe_url = NULL;
	s.unsubscribe_mailto = NULL;
	s.one_click = false;
	s.bulk = false;
	s.auto_submitted = "auto-replied";
	s.from = "staff-news@example.org";
	s.date = 0;
	s.body = "";
	build(&s, &m);
	assert_string_equal(
		buf_str(&m),
		"Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
		"From: staff-news@example.org\r\n"
		"To: ann@example.org\r\n"
		"Subject: Probation staff news: 3 stories, 16-23 Nov 2026\r\n"
		"Message-ID: <digest.42.5f3a9c@news.example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"\r\n");
	f = parse_fields(&m);
	field_names(f, &names);
	assert_string_equal(buf_str(&names),
			    "Date,From,To,Subject,Message-ID,MIME-Version,"
			    "Content-Type,Content-Transfer-Encoding,"
			    "Auto-Submitted");
	mailimf_fields_free(f);
	buf_free(&names);
	buf_free(&m);

	/* A mailto alone is a List-Unsubscribe of its own. */
	spec_init(&s);
	s.unsubscribe_url = NULL;
	s.one_click = false;
	build(&s, &m);
	assert_non_null(strstr(buf_str(&m),
			       "\r\nList-Unsubscribe: <mailto:staff-news+"
			       "unsubscribe@example.org>\r\nPrecedence: bulk"));
	buf_free(&m);
}

struct injection {
	const char *subject;
	const char *decoded;
};

static void test_injection_keeps_header_set(void **state)
{
	static const struct injection cases[] = {
		{"Pay\r\nBcc: x@evil", "Pay Bcc: x@evil"},
		{"Pay\nContent-Type: text/html", "Pay Content-Type: text/html"},
		{"Pay\rTo: x@evil\r\n\r\nbody", "Pay To: x@evil body"},
		{"  many   spaces\t\there ", "many spaces here"},
		{"A\xc2\x85"
		 "B",
		 "A B"},
		{"A\xe2\x80\xa8"
		 "B\xe2\x80\xa9"
		 "C",
		 "A B C"},
		{"A\vB\fC\tD", "A B C D"},
		{"A\x01\x1b[31mB\x7f\xc2\x9b"
		 "C",
		 "A[31mBC"},
		{"\r\n\r\nLeading breaks", "Leading breaks"},
		{"Caf\xc3\xa9\r\nBcc: x@evil", "Caf\xc3\xa9 Bcc: x@evil"},
		{"Pay \xe2\x80\xae"
		 "evil\xe2\x80\xac \xe2\x81\xa6"
		 "x\xe2\x81\xa9"
		 " \xe2\x80\x8b"
		 "z\xe2\x80\x8f",
		 "Pay evil x z"},
		{"bad \xff\xfe bytes", "bad \xef\xbf\xbd\xef\xbf\xbd bytes"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct message_spec s;
		struct mailimf_fields *f;
		struct buf m, names;
		char *dec;

		spec_init(&s);
		s.subject = cases[i].subject;
		s.from = "Staff\r\nBcc: x@evil <staff-news@example.org>";
		s.list_id = "\"Staff\"\r\nBcc: y@evil <staff-news.example.org>";
		build(&s, &m);
		check_lines(&m);
		f = parse_fields(&m);
		field_names(f, &names);
		assert_string_equal(buf_str(&names), digest_headers);
		dec = subject_decoded(f);
		assert_string_equal(dec, cases[i].decoded);
		free(dec);
		/* Nothing after the header block looks like a header. */
		assert_null(strstr(strstr(m.ptr, "\r\n\r\n"), "Bcc"));
		mailimf_fields_free(f);
		buf_free(&names);
		buf_free(&m);
	}
}

static void test_injection_in_from_and_to(void **state)
{
	struct message_spec s;
	struct mailimf_fields *f;
	struct mailimf_mailbox *mb;
	struct buf m;
	struct err err = {{0}};

	spec_init(&s);
	s.from = "Staff\r\nBcc: x@evil <staff-news@example.org>";
	build(&s, &m);
	assert_non_null(strstr(m.ptr, "\r\nFrom: \"Staff Bcc: x@evil\" "
				      "<staff-news@example.org>\r\n"));
	f = parse_fields(&m);
	mb = clist_content(
		clist_begin(field_get(f, MAILIMF_FIELD_FROM)
				    ->fld_data.fld_from->frm_mb_list->mb_list));
	assert_non_null(mb);
	if (!mb)
		return;
	assert_string_equal(mb->mb_addr_spec, "staff-news@example.org");
	mailimf_fields_free(f);
	buf_free(&m);

	/* A To that is not one address is refused; out stays untouched. */
	spec_init(&s);
	s.to = "ann@example.org\r\nBcc: x@evil";
	buf_init(&m, BUF_MAX_TEXT);
	assert_int_equal(message_build(&s, &m, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "message: To 'ann@example.org Bcc: x@evil' is not "
			    "a usable address: use user@domain or Name "
			    "<user@domain>");
	assert_int_equal(m.len, 0);
	s.to = "ann@example.org\n";
	assert_int_equal(message_build(&s, &m, &err), 0);
	assert_non_null(strstr(m.ptr, "\r\nTo: ann@example.org\r\n"));
	buf_free(&m);
}

static void test_subject_rfc2047(void **state)
{
	static const char *const subjects[] = {
		"Caf\xc3\xa9 au lait",
		"Union update \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 this week",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86"
		"\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99"
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86"
		"\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99",
		"\xd8\xa3\xd8\xae\xd8\xa8\xd8\xa7\xd8\xb1 \xd8\xa7\xd9\x84\xd9"
		"\x85\xd9\x88\xd8\xb8\xd9\x81\xd9\x8a\xd9\x86",
		"literal =?UTF-8?B?SGk=?= text",
		"=?",
		"e\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc"
		"\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81"
		"\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc"
		"\x81\xcc\x81\xcc\x81\xcc\x81",
	};
	struct buf long_subject;

	buf_init(&long_subject, BUF_MAX_TEXT);
	/* 300 characters mixing one-, two-, three- and four-byte ones. */
	for (int i = 0; i < 30; i++)
		assert_int_equal(buf_adds(&long_subject,
					  "a\xc3\xa9\xe2\x82\xac"
					  "\xf0\x9f\x98\x80 bc_?=x "),
				 0);
	buf_rtrim(&long_subject, " ");
	for (size_t i = 0; i <= sizeof(subjects) / sizeof(subjects[0]); i++) {
		const char *subject = i < sizeof(subjects) / sizeof(subjects[0])
					      ? subjects[i]
					      : buf_str(&long_subject);
		struct message_spec s;
		struct mailimf_fields *f;
		struct buf m;
		char *dec;

		spec_init(&s);
		s.subject = subject;
		build(&s, &m);
		check_lines(&m);
		assert_non_null(strstr(m.ptr, "\r\nSubject: =?UTF-8?"));
		check_subject_words(&m);
		f = parse_fields(&m);
		dec = subject_decoded(f);
		assert_string_equal(dec, subject);
		free(dec);
		mailimf_fields_free(f);
		buf_free(&m);
	}
	buf_free(&long_subject);
}

static void test_ascii_subject_not_encoded(void **state)
{
	static const char *const subjects[] = {
		"Probation staff news: 12 stories, 16-23 Nov 2026",
		"under_score and ?= and = and ? are fine",
		"A rather long subject line that goes on and on about "
		"workload, "
		"caseloads, pay and the union ballot until it has to be folded",
	};

	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		struct message_spec s;
		struct mailimf_fields *f;
		struct buf m;
		char *dec;

		spec_init(&s);
		s.subject = subjects[i];
		build(&s, &m);
		check_lines(&m);
		assert_null(strstr(m.ptr, "=?"));
		check_subject_words(&m);
		f = parse_fields(&m);
		dec = subject_decoded(f);
		assert_string_equal(dec, subjects[i]);
		free(dec);
		mailimf_fields_free(f);
		buf_free(&m);
	}
}

static void test_encode_header_forms(void **state)
{
	struct buf b, word;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(message_encode_header("Caf\xc3\xa9 au lait", &b), 0);
	assert_string_equal(buf_str(&b), "=?UTF-8?Q?Caf=C3=A9_au_lait?=");
	buf_reset(&b);
	/* Mostly non-ASCII: base64 is shorter. */
	assert_int_equal(message_encode_header("\xe6\x97\xa5\xe6\x9c\xac", &b),
			 0);
	assert_string_equal(buf_str(&b), "=?UTF-8?B?5pel5pys?=");
	buf_reset(&b);
	assert_int_equal(message_encode_header("  plain\r\nascii  ", &b), 0);
	assert_string_equal(buf_str(&b), "plain ascii");
	buf_reset(&b);
	/* An ASCII word too long to fold is encoded in pieces. */
	buf_init(&word, BUF_MAX_TEXT);
	for (int i = 0; i < 950; i++)
		assert_int_equal(buf_addc(&word, (char)('a' + i % 26)), 0);
	assert_int_equal(message_encode_header(buf_str(&word), &b), 0);
	assert_memory_equal(b.ptr, "=?UTF-8?Q?abcdefghijklmnopqrstuvwxyz", 36);
	for (const char *p = b.ptr; *p;) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);

		assert_true(n <= 75);
		p += n + (sp ? 1 : 0);
	}
	buf_free(&word);
	buf_free(&b);
}

static void test_long_word_subject_stays_under_998(void **state)
{
	struct message_spec s;
	struct mailimf_fields *f;
	struct buf m, subject;
	char *dec;

	buf_init(&subject, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&subject, "See "), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_addc(&subject, 'x'), 0);
	spec_init(&s);
	s.subject = buf_str(&subject);
	build(&s, &m);
	check_lines(&m);
	check_subject_words(&m);
	f = parse_fields(&m);
	dec = subject_decoded(f);
	assert_string_equal(dec, buf_str(&subject));
	free(dec);
	mailimf_fields_free(f);
	buf_free(&m);
	buf_free(&subject);
}

static void test_list_unsubscribe_never_folded_inside_brackets(void **state)
{
	struct message_spec s;
	struct buf m, url, mailto;
	struct mailimf_fields *f;
	struct buf names;
	const char *p;

	buf_init(&url, BUF_MAX_TEXT);
	buf_init(&mailto, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&url, "https://news.example.org/u/"), 0);
	for (int i = 0; i < 600; i++)
		assert_int_equal(buf_addc(&url, (char)('A' + i % 26)), 0);
	assert_int_equal(buf_adds(&mailto, "mailto:staff-news+unsubscribe-"),
			 0);
	for (int i = 0; i < 400; i++)
		assert_int_equal(buf_addc(&mailto, 'm'), 0);
	assert_int_equal(buf_adds(&mailto, "@example.org"), 0);

	/* 600 + 400: does not fit one line, so it folds after the comma. */
	spec_init(&s);
	s.unsubscribe_url = buf_str(&url);
	s.unsubscribe_mailto = buf_str(&mailto);
	build(&s, &m);
	check_lines(&m);
	p = strstr(m.ptr, "\r\nList-Unsubscribe: <");
	assert_non_null(p);
	p += 2;
	assert_memory_equal(p + strlen("List-Unsubscribe: <") + url.len,
			    ">,\r\n <mailto:", 13);
	f = parse_fields(&m);
	field_names(f, &names);
	assert_string_equal(buf_str(&names), digest_headers);
	mailimf_fields_free(f);
	buf_free(&names);
	buf_free(&m);

	/* The URL alone fits: one line. */
	s.unsubscribe_mailto = "mailto:u@example.org";
	build(&s, &m);
	assert_non_null(strstr(m.ptr, ">, <mailto:u@example.org>\r\n"
				      "List-Unsubscribe-Post: "));
	buf_free(&m);
	buf_free(&url);
	buf_free(&mailto);
}

static void check_refused(const struct message_spec *s, const char *msg)
{
	struct err err = {{0}};
	struct buf m;

	buf_init(&m, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&m, "kept"), 0);
	assert_int_equal(message_build(s, &m, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
	assert_string_equal(buf_str(&m), "kept");
	buf_free(&m);
}

static void test_unusable_fields_are_refused(void **state)
{
	struct message_spec s;
	struct buf url;

	spec_init(&s);
	s.from = "Staff News";
	check_refused(&s, "message: From 'Staff News' is not a usable "
			  "address: use user@domain or Name <user@domain>");
	spec_init(&s);
	s.subject = NULL;
	check_refused(&s, "message: Subject is missing");
	spec_init(&s);
	s.message_id = "two words@example.org";
	check_refused(&s, "message: Message-ID 'two words@example.org' is not "
			  "usable: it needs left@right in printable ASCII, no "
			  "brackets");
	spec_init(&s);
	s.unsubscribe_url = "javascript:alert(1)";
	check_refused(&s, "message: unsubscribe URL 'javascript:alert(1)' is "
			  "not usable: it must be an http(s) URL in printable "
			  "ASCII with no spaces or brackets, at most 900 "
			  "octets");
	spec_init(&s);
	s.unsubscribe_url = "https://x.example/u/a>b";
	check_refused(&s, "message: unsubscribe URL 'https://x.example/u/a>b' "
			  "is not usable: it must be an http(s) URL in "
			  "printable ASCII with no spaces or brackets, at most "
			  "900 octets");
	spec_init(&s);
	s.unsubscribe_mailto = "https://x.example/";
	check_refused(&s, "message: unsubscribe mailto 'https://x.example/' is "
			  "not usable: it must be a mailto: URL in printable "
			  "ASCII");
	spec_init(&s);
	s.unsubscribe_url = NULL;
	check_refused(&s, "message: one-click unsubscribe needs an "
			  "unsubscribe URL (RFC 8058)");
	spec_init(&s);
	s.auto_submitted = "auto-generated\r\nBcc: x";
	check_refused(&s, "message: Auto-Submitted 'auto-generated??Bcc: x' "
			  "is not a keyword");
	spec_init(&s);
	s.list_id = "\"Caf\xc3\xa9\" <x.example.org>";
	check_refused(&s, "message: list_id must be non-empty ASCII (build it "
			  "with message_list_id)");

	/* A URL too long for any line. */
	buf_init(&url, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&url, "https://news.example.org/u/"), 0);
	for (int i = 0; i < 990; i++)
		assert_int_equal(buf_addc(&url, 'u'), 0);
	spec_init(&s);
	s.unsubscribe_url = buf_str(&url);
	{
		struct err err = {{0}};
		struct buf m;

		buf_init(&m, BUF_MAX_TEXT);
		assert_int_equal(message_build(&s, &m, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "at most 900 octets"));
		buf_free(&m);
	}
	buf_free(&url);
}

static void test_from_display_names(void **state)
{
	static const struct {
		const char *from;
		const char *line;
	} cases[] = {
		{"Staff News <staff-news@example.org>",
		 "From: Staff News <staff-news@example.org>\r\n"},
		{"\"News, Staff\" <staff-news@example.org>",
		 "From: \"News, Staff\" <staff-news@example.org>\r\n"},
		{"Dr. \"Q\" \\ Smith <q@example.org>",
		 "From: \"Dr. \\\"Q\\\" \\\\ Smith\" <q@example.org>\r\n"},
		{"<q@example.org>", "From: q@example.org\r\n"},
		{"Caf\xc3\xa9 News <cafe@example.org>",
		 "From: =?UTF-8?Q?Caf=C3=A9_News?= <cafe@example.org>\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct message_spec s;
		struct mailimf_fields *f;
		struct buf m;

		spec_init(&s);
		s.from = cases[i].from;
		build(&s, &m);
		assert_non_null(strstr(m.ptr, cases[i].line));
		f = parse_fields(&m);
		mailimf_fields_free(f);
		buf_free(&m);
	}
}

static void test_list_id(void **state)
{
	struct buf b, name, expect;
	char *dec = NULL;
	size_t idx = 0;
	const char *lt;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(message_list_id("Probation staff news", "staff-news",
					 "staff-news@example.org", &b),
			 0);
	assert_string_equal(buf_str(&b), "\"Probation staff news\" "
					 "<staff-news.example.org>");
	buf_reset(&b);
	assert_int_equal(message_list_id("Say \"hi\" \\ bye\r\nBcc: x",
					 "Staff News!", "News@Example.ORG", &b),
			 0);
	assert_string_equal(buf_str(&b), "\"Say \\\"hi\\\" \\\\ bye Bcc: x\" "
					 "<staff-news.example.org>");
	buf_reset(&b);
	assert_int_equal(message_list_id("",
					 "--Union  Br\xc3\xaf"
					 "efings>--",
					 "u@lists..example.org.", &b),
			 0);
	assert_string_equal(buf_str(&b), "<union-br-efings.lists.example.org>");
	buf_reset(&b);
	/* Non-ASCII titles become encoded words. */
	assert_int_equal(message_list_id("Nouvelles \xc3\xa9quipe", "equipe",
					 "equipe@example.org", &b),
			 0);
	assert_string_equal(buf_str(&b), "=?UTF-8?Q?Nouvelles_=C3=A9quipe?= "
					 "<equipe.example.org>");
	lt = strchr(b.ptr, '<');
	assert_int_equal(mailmime_encoded_phrase_parse("utf-8", b.ptr,
						       (size_t)(lt - b.ptr - 1),
						       &idx, "utf-8", &dec),
			 MAILIMF_NO_ERROR);
	assert_string_equal(dec, "Nouvelles \xc3\xa9quipe");
	free(dec);
	buf_reset(&b);

	/* 260 characters of name: the id is cut to 255 octets. */
	buf_init(&name, BUF_MAX_TEXT);
	buf_init(&expect, BUF_MAX_TEXT);
	for (int i = 0; i < 260; i++)
		assert_int_equal(buf_addc(&name, i % 10 == 9 ? ' ' : 'n'), 0);
	assert_int_equal(
		message_list_id("T", buf_str(&name), "a@example.org", &b), 0);
	lt = strchr(b.ptr, '<');
	assert_non_null(lt);
	assert_true(strlen(lt) - 2 <= 255);
	assert_non_null(strstr(lt, "nnnnnnnnn-nnnnnnnnn"));
	assert_non_null(strstr(lt, "n.example.org>"));
	assert_null(strstr(lt, "-.example"));
	/* Stable: the same input gives the same id. */
	assert_int_equal(buf_adds(&expect, buf_str(&b)), 0);
	buf_reset(&b);
	assert_int_equal(
		message_list_id("T", buf_str(&name), "a@example.org", &b), 0);
	assert_string_equal(buf_str(&b), buf_str(&expect));
	buf_reset(&b);

	assert_int_equal(message_list_id("T", "n", "no-domain", &b), -EINVAL);
	assert_int_equal(message_list_id("T", "n", "a@", &b), -EINVAL);
	buf_free(&name);
	buf_free(&expect);
	buf_free(&b);
}

/* ---- format=flowed ---- */

static void check_flow(const char *in, size_t width, const char *expected)
{
	struct buf b;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(message_flow(in, width, &b), 0);
	assert_string_equal(buf_str(&b), expected);
	buf_free(&b);
}

/* An RFC 3676 decoder (DelSp=no): unstuff, join soft-broken lines. */
static void flow_decode(const char *in, struct buf *out)
{
	const char *p = in;

	buf_init(out, BUF_MAX_TEXT);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool sig = len == 3 && memcmp(p, "-- ", 3) == 0;

		if (len > 0 && p[0] == ' ') {
			p++;
			len--;
		}
		assert_int_equal(buf_add(out, p, len), 0);
		if (sig || len == 0 || p[len - 1] != ' ')
			assert_int_equal(buf_addc(out, '\n'), 0);
		p += len + (nl ? 1 : 0);
	}
}

static void check_lines_max(const char *s, size_t max_octets)
{
	while (*s) {
		const char *nl = strchr(s, '\n');

		assert_non_null(nl);
		assert_true((size_t)(nl - s) <= max_octets);
		assert_true(
			utf8_valid((const unsigned char *)s, (size_t)(nl - s)));
		s = nl + 1;
	}
}

static void test_flow_wraps_with_soft_breaks(void **state)
{
	check_flow("The quick brown fox jumps over the lazy dog\n", 20,
		   "The quick brown fox \njumps over the lazy \ndog\n");
	check_flow("short line\n\nnext paragraph", 72,
		   "short line\n\nnext paragraph\n");
	/* Width counts characters, not bytes. */
	check_flow("\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9 "
		   "\xc3\xa9\xc3\xa9\xc3\xa9\n",
		   10,
		   "\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9 \n"
		   "\xc3\xa9\xc3\xa9\xc3\xa9\n");
	/* Several spaces stay with the line they end. */
	check_flow("aaaa   bbbb cccc", 10, "aaaa   \nbbbb cccc\n");
}

static void test_flow_hard_breaks_stay_hard(void **state)
{
	check_flow("hard   \nbreak \t\n   \nend", 72, "hard\nbreak\n\nend\n");
	check_flow("a\r\nb\rc\xc2\x85"
		   "d\n",
		   72, "a\nb\nc\nd\n");
	check_flow("nul\x01 and\x1b esc\x7f\n", 72, "nul and esc\n");
}

static void test_flow_space_stuffing(void **state)
{
	check_flow(" indented\n>quote\nFrom here\nFromage\nFrom\n", 72,
		   "  indented\n >quote\n From here\nFromage\nFrom\n");
	/* A wrapped line that begins with "From " is stuffed too. */
	check_flow("aaaa bbbbb From x", 10, "aaaa bbbbb \n From x\n");
	check_flow("aaaa bbbbb >x", 10, "aaaa bbbbb \n >x\n");
}

static void test_flow_signature_separator(void **state)
{
	check_flow("body\n-- \nsig line\n", 72, "body\n-- \nsig line\n");
	check_flow("body\n--\n", 72, "body\n--\n");
	check_flow("body\n--   \n", 72, "body\n-- \n");
}

static void test_flow_long_url_unbroken(void **state)
{
	const char *url = "https://news.example.org/articles/2026/11/"
			  "caseloads-rise-again-in-the-north-west-region-"
			  "report?utm=1";
	struct buf in, expect;

	buf_init(&in, BUF_MAX_TEXT);
	buf_init(&expect, BUF_MAX_TEXT);
	assert_int_equal(buf_printf(&in, "Read more: %s and then more", url),
			 0);
	assert_int_equal(
		buf_printf(&expect, "Read more: \n%s \nand then more\n", url),
		0);
	check_flow(buf_str(&in), 72, buf_str(&expect));
	buf_reset(&in);
	buf_reset(&expect);
	/* A reference line keeps its number and URL together. */
	assert_int_equal(buf_printf(&in, "[3] %s", url), 0);
	assert_int_equal(buf_printf(&expect, "[3] %s\n", url), 0);
	check_flow(buf_str(&in), 72, buf_str(&expect));
	/* Text that only starts like one is wrapped as usual. */
	buf_reset(&in);
	buf_reset(&expect);
	assert_int_equal(buf_printf(&in, "[3] see %s", url), 0);
	assert_int_equal(buf_printf(&expect, "[3] see \n%s\n", url), 0);
	check_flow(buf_str(&in), 72, buf_str(&expect));
	buf_free(&in);
	buf_free(&expect);
}

static void test_flow_counts_octets_too(void **state)
{
	struct buf in, out;
	const char *p, *nl;
	size_t i, lines = 0;

	/* 70 two-octet and three-octet characters a line would be 72
	 * characters but up to 200 octets: lines break by octets. */
	buf_init(&in, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	for (i = 0; i < 60; i++)
		assert_int_equal(buf_adds(&in, "\xe2\x80\x9c"
					       "ab"
					       "\xe2\x80\x9d "),
				 0);
	assert_int_equal(message_flow(buf_str(&in), 72, &out), 0);
	for (p = buf_str(&out); *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl - p <= 78);
		lines++;
	}
	assert_true(lines > 6);
	buf_free(&in);
	buf_free(&out);
}

static void test_flow_round_trips(void **state)
{
	const char *text =
		"Workload and caseloads\n"
		"======================\n"
		"\n"
		"Staff in the north west report caseloads well above the "
		"workload measurement tool's 110% line, with some teams at "
		"140% for three months running. From next week the union "
		"will collect figures from every office.\n"
		"> a quoted line that is also long enough to need a soft "
		"break somewhere\n"
		"  two leading spaces on a long line that must wrap at "
		"least once more\n"
		"-- \n"
		"You are receiving this because ann@example.org is "
		"subscribed to Probation staff news.\n";
	struct buf b, dec;

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(message_flow(text, MESSAGE_WIDTH, &b), 0);
	check_lines_max(buf_str(&b), 78);
	flow_decode(buf_str(&b), &dec);
	assert_string_equal(buf_str(&dec), text);
	buf_free(&dec);
	buf_free(&b);
}

static void test_flow_no_line_over_998(void **state)
{
	struct buf in, b, dec;

	/* A 5,000-character word. */
	buf_init(&in, BUF_MAX_TEXT);
	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&in, "see "), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_addc(&in, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_adds(&in, " end"), 0);
	assert_int_equal(message_flow(buf_str(&in), 72, &b), 0);
	check_lines_max(buf_str(&b), 998);
	assert_memory_equal(b.ptr, "see \n", 5);

	/* 1,000 combining marks on one letter, a long CJK run, and a run of
	 * 2,000 spaces between two words: none splits a character, and the
	 * spaces come back exactly. */
	buf_reset(&in);
	buf_reset(&b);
	assert_int_equal(buf_addc(&in, 'e'), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&in, "\xcc\x81"), 0);
	assert_int_equal(buf_addc(&in, '\n'), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_adds(&in, "\xe6\x97\xa5"), 0);
	assert_int_equal(buf_adds(&in, "\nx"), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_addc(&in, ' '), 0);
	assert_int_equal(buf_adds(&in, "y\n"), 0);
	assert_int_equal(message_flow(buf_str(&in), 72, &b), 0);
	check_lines_max(buf_str(&b), 998);
	flow_decode(strstr(buf_str(&b), "\nx") + 1, &dec);
	assert_string_equal(buf_str(&dec), strstr(buf_str(&in), "\nx") + 1);
	buf_free(&dec);

	/* And through message_build, with CRLF. */
	{
		struct message_spec s;
		struct buf m;

		spec_init(&s);
		s.body = buf_str(&in);
		build(&s, &m);
		check_lines(&m);
		buf_free(&m);
	}
	buf_free(&in);
	buf_free(&b);
}

static void test_clean(void **state)
{
	struct buf b;
	const char in[] = "a\0b\r\nc\xe2\x80\xae"
			  "d\xef\xbb\xbf"
			  "e";

	buf_init(&b, BUF_MAX_TEXT);
	assert_int_equal(message_clean(in, sizeof(in) - 1, &b), 0);
	assert_string_equal(buf_str(&b), "ab cde");
	buf_free(&b);
}

/* ---- base64 bodies and prepared bodies ---- */

/* The body of m (after the blank line), base64-decoded. */
static void body_decode(const struct buf *m, struct buf *out)
{
	const char *p = strstr(m->ptr, "\r\n\r\n");
	uint32_t v = 0;
	int bits = 0;

	assert_non_null(p);
	buf_init(out, BUF_MAX_TEXT);
	for (p += 4; *p; p++) {
		int k;

		if (*p == '\r' || *p == '\n' || *p == '=')
			continue;
		k = b64_val(*p);
		assert_true(k >= 0);
		v = v << 6 | (uint32_t)k;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_int_equal(buf_addc(out, (char)(v >> bits)), 0);
		}
	}
}

/* The flowed text of body with CRLF line ends, as the message holds it
 * before the transfer encoding. */
static void body_expected(const char *body, struct buf *out)
{
	struct buf f;

	buf_init(&f, BUF_MAX_TEXT);
	buf_init(out, BUF_MAX_TEXT);
	assert_int_equal(message_flow(body, MESSAGE_WIDTH, &f), 0);
	for (size_t i = 0; i < f.len; i++) {
		if (f.ptr[i] == '\n')
			assert_int_equal(buf_addc(out, '\r'), 0);
		assert_int_equal(buf_addc(out, f.ptr[i]), 0);
	}
	buf_free(&f);
}

/* Bodies of every length around the 57-octet line of base64 decode back
 * to the flowed CRLF text, in lines of at most 76 characters. */
static void test_base64_body(void **state)
{
	(void)state;
	for (size_t n = 0; n < 130; n++) {
		struct message_spec s;
		struct buf body, m, got, want;
		const char *p;

		buf_init(&body, BUF_MAX_TEXT);
		assert_int_equal(buf_adds(&body, "\xc3\xa9"), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(
				buf_addc(&body, i % 23 == 22
							? '\n'
							: (char)('a' + i % 26)),
				0);
		spec_init(&s);
		s.body = buf_str(&body);
		build(&s, &m);
		check_lines(&m);
		assert_non_null(
			strstr(m.ptr, "Content-Transfer-Encoding: base64\r\n"));
		p = strstr(m.ptr, "\r\n\r\n") + 4;
		for (const char *e; (e = strstr(p, "\r\n")) != NULL; p = e + 2)
			assert_true(e - p <= 76);
		body_decode(&m, &got);
		body_expected(s.body, &want);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.ptr, want.ptr, want.len);
		buf_free(&body);
		buf_free(&m);
		buf_free(&got);
		buf_free(&want);
	}
}

/* text with hole i (MESSAGE_HOLE, '0' + i) replaced by values[i]. */
static void holes_fill(const char *text, const char *const *values, size_t n,
		       struct buf *out)
{
	buf_init(out, BUF_MAX_TEXT);
	for (const char *p = text; *p; p++) {
		if (p[0] == MESSAGE_HOLE && p[1] >= '0' && p[1] <= '9') {
			size_t k = (size_t)(p[1] - '0');

			if (k < n)
				assert_int_equal(buf_adds(out, values[k]), 0);
			p++;
			continue;
		}
		assert_int_equal(buf_addc(out, *p), 0);
	}
}

/* A prepared body gives the same bytes as the whole text: holes at the
 * start, in the middle, at the end, several on a line, values that make
 * a line wrap, 7-bit and 8-bit, readable or not, odd line ends. */
static void test_prepared_body_same_as_whole(void **state)
{
	static const char long_para[] =
		"Caseloads rose again this quarter, and the branch says the "
		"workload measurement tool undercounts the hours spent on "
		"reports. \xc3\x89quipe: \xe2\x80\x9cin the red\xe2\x80\x9d "
		"for six months running.";
	static const char *const texts[] = {
		"\x01"
		"0\n",
		"Hello \x01"
		"0, here is your digest.\n",
		"", /* long_para, twice, then the footer (below) */
		"Plain ASCII only.\nUnsubscribe: \x01"
		"1\n",
		"\x01"
		"0 \x01"
		"1 \x01"
		"2 \x01"
		"0\nmiddle\n\x01"
		"2",
		"CR\rline\r\nends \x01"
		"1\r\n-- \nsig \x01"
		"0\n",
		"a stray \x01 control, \x01x and a hole past n: \x01"
		"7.\n",
		"> quoted \x01"
		"0\nFrom here\n",
		"",
	};
	static const char *const values[] = {
		"ann@example.org",
		"https://news.example.org/u/"
		"AnV0Oj2IAAAAAAAAAAJrBLKF86-"
		"AvVnAFyvIVCnUFdqpAQAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAA",
		"mailto:staff-news+unsubscribe-AnV0Oj2IAAAA@example.org",
	};
	struct buf big;

	(void)state;
	buf_init(&big, BUF_MAX_TEXT);
	assert_int_equal(buf_printf(&big,
				    "%s\n\n%s\n\n-- \nYou get this because "
				    "\x01"
				    "0 is subscribed.\nUnsubscribe: \x01"
				    "1\n",
				    long_para, long_para),
			 0);
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		const char *text = t == 2 ? buf_str(&big) : texts[t];

		for (int readable = 0; readable < 2; readable++) {
			struct message_spec s;
			struct message_body *b = NULL;
			struct buf whole, fast, filled;
			struct err err = {{0}};

			holes_fill(text, values, 3, &filled);
			spec_init(&s);
			s.readable = readable;
			s.body = buf_str(&filled);
			build(&s, &whole);
			assert_int_equal(message_body_prepare(text, &b), 0);
			s.body = "ignored";
			buf_init(&fast, BUF_MAX_TEXT);
			assert_int_equal(message_build_prepared(&s, b, values,
								3, &fast, &err),
					 0);
			if (fast.len != whole.len ||
			    memcmp(fast.ptr, whole.ptr, whole.len) != 0)
				fail_msg("text %zu (readable %d):\n%s\n---\n%s",
					 t, readable, whole.ptr, fast.ptr);
			message_body_free(b);
			buf_free(&whole);
			buf_free(&fast);
			buf_free(&filled);
		}
	}
	buf_free(&big);
}

/* The values filled in are cleaned like any body text: a value cannot
 * add a header or a line the body did not have. */
static void test_prepared_values_cannot_inject(void **state)
{
	const char *const values[] = {"x\r\nBcc: evil@example.org\r\n\r\n."};
	struct message_spec s;
	struct message_body *b = NULL;
	struct err err = {{0}};
	struct buf m;
	struct mailimf_fields *f;
	struct buf names;

	(void)state;
	spec_init(&s);
	s.readable = true;
	assert_int_equal(message_body_prepare("To \x01"
					      "0\n",
					      &b),
			 0);
	buf_init(&m, BUF_MAX_TEXT);
	assert_int_equal(message_build_prepared(&s, b, values, 1, &m, &err), 0);
	check_lines(&m);
	f = parse_fields(&m);
	field_names(f, &names);
	assert_string_equal(buf_str(&names), digest_headers);
	mailimf_fields_free(f);
	buf_free(&names);
	message_body_free(b);
	buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_header_block),
		cmocka_unit_test(test_optional_headers_only_when_asked),
		cmocka_unit_test(test_injection_keeps_header_set),
		cmocka_unit_test(test_injection_in_from_and_to),
		cmocka_unit_test(test_subject_rfc2047),
		cmocka_unit_test(test_ascii_subject_not_encoded),
		cmocka_unit_test(test_encode_header_forms),
		cmocka_unit_test(test_long_word_subject_stays_under_998),
		cmocka_unit_test(
			test_list_unsubscribe_never_folded_inside_brackets),
		cmocka_unit_test(test_unusable_fields_are_refused),
		cmocka_unit_test(test_from_display_names),
		cmocka_unit_test(test_list_id),
		cmocka_unit_test(test_flow_wraps_with_soft_breaks),
		cmocka_unit_test(test_flow_hard_breaks_stay_hard),
		cmocka_unit_test(test_flow_space_stuffing),
		cmocka_unit_test(test_flow_signature_separator),
		cmocka_unit_test(test_flow_long_url_unbroken),
		cmocka_unit_test(test_flow_counts_octets_too),
		cmocka_unit_test(test_flow_round_trips),
		cmocka_unit_test(test_flow_no_line_over_998),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_base64_body),
		cmocka_unit_test(test_prepared_body_same_as_whole),
		cmocka_unit_test(test_prepared_values_cannot_inject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
