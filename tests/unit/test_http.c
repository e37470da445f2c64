/* Tests for http's body parser: the one-click body both ways (RFC 8058
 * 3.2: urlencoded MAY, multipart SHOULD), and what it refuses (B4). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

#define URLENC "application/x-www-form-urlencoded"

static int parse(const char *ctype, const char *body, struct http_field *f,
		 size_t *n)
{
	return http_form_parse(ctype, body, strlen(body), f, HTTP_FIELDS_MAX,
			       n);
}

static void test_urlencoded(void **state)
{
	struct http_field f[HTTP_FIELDS_MAX];
	size_t n;

	assert_int_equal(parse(URLENC, "List-Unsubscribe=One-Click", f, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].name, "List-Unsubscribe");
	assert_string_equal(f[0].value, "One-Click");
	assert_int_equal(parse(URLENC "; charset=utf-8",
			       "address=a%40b.example&x=y+z%21\r\n", f, &n),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].value, "a@b.example");
	assert_string_equal(f[1].value, "y z!");
	assert_int_equal(parse(URLENC, "", f, &n), 0);
	assert_int_equal(n, 0);
}

static void test_multipart(void **state)
{
	static const char body[] =
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
		"\r\n"
		"One-Click\r\n"
		"--XyZ--\r\n";
	struct http_field f[HTTP_FIELDS_MAX];
	size_t n;

	assert_int_equal(
		parse("multipart/form-data; boundary=XyZ", body, f, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].name, "List-Unsubscribe");
	assert_string_equal(f[0].value, "One-Click");
	assert_int_equal(
		parse("multipart/form-data; boundary=\"XyZ\"", body, f, &n), 0);
	/* No boundary, a wrong one, a part with no name, a cut body. */
	assert_int_equal(parse("multipart/form-data", body, f, &n), -EINVAL);
	assert_int_equal(parse("multipart/form-data; boundary=Q", body, f, &n),
			 -EINVAL);
	assert_int_equal(parse("multipart/form-data; boundary=XyZ",
			       "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n"
			       "--XyZ--",
			       f, &n),
			 -EINVAL);
	assert_int_equal(parse("multipart/form-data; boundary=XyZ",
			       "--XyZ\r\nContent-Disposition: form-data; "
			       "name=a\r\n\r\nOne-Cl",
			       f, &n),
			 -EINVAL);
}

static void test_refused(void **state)
{
	struct http_field f[HTTP_FIELDS_MAX];
	char many[256] = "";
	size_t n;

	assert_int_equal(parse(NULL, "List-Unsubscribe=One-Click", f, &n),
			 -ENOTSUP);
	assert_int_equal(
		parse("text/plain", "List-Unsubscribe=One-Click", f, &n),
		-ENOTSUP);
	assert_int_equal(parse("application/json", "{}", f, &n), -ENOTSUP);
	assert_int_equal(parse(URLENC, "List-Unsubscribe", f, &n), -EINVAL);
	assert_int_equal(parse(URLENC, "=One-Click", f, &n), -EINVAL);
	assert_int_equal(parse(URLENC, "a=%4", f, &n), -EINVAL);
	assert_int_equal(parse(URLENC, "a=%zz", f, &n), -EINVAL);
	assert_int_equal(parse(URLENC, "a=%00", f, &n), -EINVAL);
	for (int i = 0; i < 9; i++)
		memcpy(many + 4 * i, "a=1&", 5);
	assert_int_equal(parse(URLENC, many, f, &n), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlencoded),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
