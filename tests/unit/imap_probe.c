/*
 * imap_probe: drives daemon/imap.c against a real server for
 * tests/integration/imap_session.sh; not a test by itself. Results go to
 * stdout, the error message to stderr. Exit 0 done, 1 failed, 2 usage.
 *
 *   imap_probe URL USER PASSWORD_FILE CA_FILE|- FOLDER COMMAND [ARG...]
 *
 * Environment: IMAP_PROBE_TIMEOUT (seconds, default 20) and
 * IMAP_PROBE_MAX_SIZE (bytes for fetch, default 50 MB).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap.h"
#include "log.h"
#include "text.h"

static const char usage[] =
	"usage: imap_probe URL USER PASSWORD_FILE CA_FILE|- FOLDER COMMAND\n"
	"  list-unseen        print the UIDVALIDITY and the unseen UIDs\n"
	"  fetch UID          write the message to stdout\n"
	"  seen UID           add \\Seen\n"
	"  move UID FOLDER    move the message\n"
	"  idle SECONDS       wait in IDLE; print changed or no change\n"
	"  interrupt SECONDS  as idle, with imap_interrupt from another\n"
	"                     thread after one second\n"
	"  interrupt-first SECONDS  as idle, interrupted before it starts\n";

static int fail(const char *what, int ret, const struct err *err)
{
	fprintf(stderr, "imap_probe: %s: %s: %s\n", what, strerror(-ret),
		err->msg);
	return 1;
}

static long long number(const char *s, long long max)
{
	long long v;

	if (text_parse_int(s, 0, max, &v) < 0) {
		fprintf(stderr, "imap_probe: bad number %s\n%s", s, usage);
		exit(2);
	}
	return v;
}

static int read_password(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "imap_probe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static void *interrupter(void *arg)
{
	sleep(1);
	imap_interrupt(arg);
	return NULL;
}

static int cmd_idle(struct imap *im, const char *mode, int seconds)
{
	struct err err = {{0}};
	pthread_t t;
	bool threaded = strcmp(mode, "interrupt") == 0;
	int ret;

	if (!imap_has_idle(im)) {
		fprintf(stderr, "imap_probe: the server has no IDLE\n");
		return 1;
	}
	if (strcmp(mode, "interrupt-first") == 0)
		imap_interrupt(im);
	if (threaded && pthread_create(&t, NULL, interrupter, im) != 0) {
		fprintf(stderr, "imap_probe: cannot start a thread\n");
		return 1;
	}
	printf("idling\n");
	fflush(stdout);
	ret = imap_idle(im, seconds, &err);
	if (threaded)
		pthread_join(t, NULL);
	if (ret < 0)
		return fail("idle", ret, &err);
	printf("idle: %s\n", ret ? "changed" : "no change");
	return 0;
}

static int run(struct imap *im, const char *folder, int argc, char **argv)
{
	struct err err = {{0}};
	uint32_t uidvalidity, *uids = NULL;
	size_t n, i, len, size = 0, max_size = 50 * 1024 * 1024;
	const char *cmd = argv[0], *env;
	char *data = NULL;
	int ret;

	ret = imap_select(im, folder, &uidvalidity, &err);
	if (ret < 0)
		return fail("select", ret, &err);
	if (strcmp(cmd, "list-unseen") == 0 && argc == 1) {
		ret = imap_unseen(im, &uids, &n, 1000, &err);
		if (ret < 0)
			return fail("unseen", ret, &err);
		printf("uidvalidity %u\nunseen", uidvalidity);
		for (i = 0; i < n; i++)
			printf(" %u", uids[i]);
		printf("\n");
		free(uids);
		return 0;
	}
	if (strcmp(cmd, "fetch") == 0 && argc == 2) {
		env = getenv("IMAP_PROBE_MAX_SIZE");
		if (env)
			max_size = (size_t)number(env, 1LL << 40);
		ret = imap_fetch(im, (uint32_t)number(argv[1], UINT32_MAX),
				 max_size, &data, &len, &size, &err);
		if (ret < 0)
			return fail("fetch", ret, &err);
		fwrite(data, 1, len, stdout);
		free(data);
		return 0;
	}
	if (strcmp(cmd, "seen") == 0 && argc == 2) {
		ret = imap_mark_seen(im, (uint32_t)number(argv[1], UINT32_MAX),
				     &err);
		if (ret < 0)
			return fail("seen", ret, &err);
		printf("ok\n");
		return 0;
	}
	if (strcmp(cmd, "move") == 0 && argc == 3) {
		ret = imap_move(im, (uint32_t)number(argv[1], UINT32_MAX),
				argv[2], &err);
		if (ret < 0)
			return fail("move", ret, &err);
		printf("ok\n");
		return 0;
	}
	if ((strcmp(cmd, "idle") == 0 || strcmp(cmd, "interrupt") == 0 ||
	     strcmp(cmd, "interrupt-first") == 0) &&
	    argc == 2)
		return cmd_idle(im, cmd, (int)number(argv[1], 3600));
	fprintf(stderr, "%s", usage);
	return 2;
}

int main(int argc, char **argv)
{
	struct imap_options opt = {0};
	struct err err = {{0}};
	struct imap *im;
	char password[512];
	const char *env;
	struct rusage ru;
	bool permanent = false;
	int status;

	log_init("imap_probe", LOG_LEVEL_WARNING);
	if (argc < 7) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (read_password(argv[3], password, sizeof(password)) < 0)
		return 2;
	env = getenv("IMAP_PROBE_TIMEOUT");
	opt.url = argv[1];
	opt.username = argv[2];
	opt.password = password;
	opt.ca_file = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
	opt.timeout = env ? (int)number(env, 3600) : 20;
	im = imap_connect(&opt, &permanent, &err);
	if (!im) {
		fprintf(stderr, "imap_probe: connect (%s): %s\n",
			permanent ? "permanent" : "temporary", err.msg);
		status = 1;
	} else {
		status = run(im, argv[5], argc - 6, argv + 6);
		imap_close(im);
	}
	if (getenv("IMAP_PROBE_RUSAGE") && getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(stderr, "imap_probe: maxrss %ld KiB\n", ru.ru_maxrss);
	return status;
}
