/* Tests for maildir: the file lands in new/ whole, with LF line ends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include <cmocka.h>

#include "maildir.h"

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void test_deliver_writes_new_file(void **state)
{
	char dir[] = "/tmp/test_maildir.XXXXXX", md[64], sub[80], got[64];
	const char msg[] = "Subject: hi\r\n\r\nline one\r\nline two\r\n";
	struct err err = {{0}};
	struct buf path;
	FILE *f;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(md, sizeof(md), "%s/Maildir", dir);
	buf_init(&path, 4096);
	assert_int_equal(maildir_deliver(md, msg, sizeof(msg) - 1, &path, &err),
			 0);
	assert_non_null(strstr(buf_str(&path), "/Maildir/new/"));
	f = fopen(buf_str(&path), "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_string_equal(got, "Subject: hi\n\nline one\nline two\n");
	snprintf(sub, sizeof(sub), "%s/tmp", md);
	assert_int_equal(count_files(sub), 0);
	snprintf(sub, sizeof(sub), "%s/new", md);
	assert_int_equal(count_files(sub), 1);
	assert_int_equal(maildir_deliver(md, msg, sizeof(msg) - 1, NULL, &err),
			 0);
	assert_int_equal(count_files(sub), 2);
	buf_free(&path);
}

static void test_unwritable_dir_is_named(void **state)
{
	struct err err = {{0}};

	assert_true(maildir_deliver("/proc/no/such/Maildir", "x", 1, NULL,
				    &err) < 0);
	assert_non_null(strstr(err.msg, "/proc/no/such/Maildir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver_writes_new_file),
		cmocka_unit_test(test_unwritable_dir_is_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
