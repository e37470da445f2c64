/* Tests for http's body parser: the one-click body both ways (RFC 8058
 * 3.2: urlencoded MAY, multipart SHOULD), and what it refuses (B4); and
 * for the client address behind a trusted proxy, which only a trusted
 * peer's headers can change. */
#include <arpa/inet.h>
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

/* The client address for a request from peer (text) with the given
 * X-Forwarded-For lines (NULL-terminated) and X-Real-IP. */
static const char *client(const struct config *cfg, const char *peer,
			  const char *const *xff, const char *real_ip)
{
	static char out[64];
	unsigned char a[16];
	int family = strchr(peer, ':') ? AF_INET6 : AF_INET;
	size_t n = 0;

	assert_int_equal(inet_pton(family, peer, a), 1);
	while (xff && xff[n])
		n++;
	http_client_address(cfg, family, a, xff, n, real_ip, out, sizeof(out));
	return out;
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_client_address(void **state)
{
	struct config_net nets[2] = {{.family = AF_INET, .prefix = 32},
				     {.family = AF_INET6, .prefix = 128}};
	struct config cfg = {.http_trusted_proxies = nets,
			     .n_http_trusted_proxies = 2};
	struct config none = {0};

	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", nets[0].addr), 1);
	assert_int_equal(inet_pton(AF_INET6, "::1", nets[1].addr), 1);

	/* Untrusted peers: their headers change nothing. */
	assert_string_equal(
		client(&cfg, "203.0.113.9", XFF("1.2.3.4"), "5.6.7.8"),
		"203.0.113.9");
	assert_string_equal(
		client(&none, "127.0.0.1", XFF("1.2.3.4"), "5.6.7.8"),
		"127.0.0.1");
	assert_string_equal(
		client(&cfg, "::ffff:203.0.113.9", XFF("1.2.3.4"), NULL),
		"203.0.113.9");
	assert_string_equal(client(&cfg, "2001:db8::7", XFF("1.2.3.4"), NULL),
			    "2001:db8::7");

	/* A trusted peer: the right-most entry that is not a proxy. */
	assert_string_equal(client(&cfg, "127.0.0.1", XFF("1.2.3.4"), NULL),
			    "1.2.3.4");
	assert_string_equal(
		client(&cfg, "::ffff:127.0.0.1", XFF("1.2.3.4"), NULL),
		"1.2.3.4");
	assert_string_equal(client(&cfg, "::1", XFF("2001:db8::5"), NULL),
			    "2001:db8::5");
	/* What the client put in front of it is forged. */
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("9.9.9.9, 1.2.3.4"), NULL),
		"1.2.3.4");
	assert_string_equal(client(&cfg, "127.0.0.1",
				   XFF("9.9.9.9,1.2.3.4 , 127.0.0.1, ::1"),
				   NULL),
			    "1.2.3.4");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("9.9.9.9", "1.2.3.4"), NULL),
		"1.2.3.4");
	assert_string_equal(client(&cfg, "127.0.0.1", XFF(", ,1.2.3.4,"), NULL),
			    "1.2.3.4");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("garbage, 1.2.3.4"), NULL),
		"1.2.3.4");
	/* Ports and brackets. */
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("1.2.3.4:5678"), NULL),
		"1.2.3.4");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("[2001:db8::1]:80"), NULL),
		"2001:db8::1");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("[2001:db8::1]"), NULL),
		"2001:db8::1");
	/* Not an address where the proxy writes: the proxy's own. */
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("unknown"), "5.6.7.8"),
		"127.0.0.1");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("1.2.3.4, garbage"), NULL),
		"127.0.0.1");
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("[2001:db8::1"), NULL),
		"127.0.0.1");
	/* Only proxies: the left-most. */
	assert_string_equal(
		client(&cfg, "127.0.0.1", XFF("::1, 127.0.0.1"), NULL), "::1");
	/* No X-Forwarded-For: X-Real-IP, if it is an address. */
	assert_string_equal(client(&cfg, "127.0.0.1", NULL, " 5.6.7.8 "),
			    "5.6.7.8");
	assert_string_equal(client(&cfg, "127.0.0.1", NULL, "me"), "127.0.0.1");
	assert_string_equal(client(&cfg, "127.0.0.1", NULL, NULL), "127.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlencoded),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_client_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
