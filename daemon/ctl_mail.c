/*
 * bulletinctl's mail commands: receive (one message on stdin from an MTA
 * pipe, with sysexits codes the MTA acts on) and inbound (what the
 * intake took, left alone or quarantined).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "intake.h"
#include "log.h"
#include "store.h"
#include "text.h"
#include "theme.h"

/* Reads all of fd, up to max bytes; *over is set when there was more. */
static int read_all(int fd, size_t max, struct buf *out, bool *over)
{
	char chunk[65536];
	ssize_t n;

	*over = false;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max) {
			*over = true;
			return 0;
		}
		if (buf_add(out, chunk, (size_t)n))
			return -ENOMEM;
	}
}

/* For an MTA pipe: the exit status is what the MTA does with the mail.
 * 0 only once it is safely stored; EX_TEMPFAIL (75) when trying later
 * can help (a bad config, a locked or full database), so the MTA keeps
 * the mail and retries; EX_NOUSER (67) and EX_DATAERR (65) when it must
 * bounce, with the reason on one line. */
int cmd_receive(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"recipient", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *envelope = getenv("ORIGINAL_RECIPIENT");
	struct intake_result res;
	struct intake_ctx ictx;
	struct err err = {{0}};
	struct buf msg;
	bool over = false;
	int c, ret;

	if (!envelope || !*envelope)
		envelope = getenv("RECIPIENT");
	optind = 0;
	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			envelope = optarg;
			break;
		default:
			fprintf(stderr, "usage: bulletinctl receive "
					"[--recipient ADDR] < MESSAGE\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: bulletinctl receive [--recipient ADDR] "
				"< MESSAGE\n");
		return EX_USAGE;
	}
	if (envelope && !*envelope)
		envelope = NULL;
	/* A config or database problem is the admin's to fix: the MTA
	 * keeps the mail meanwhile. */
	if (ctl_open(ctl, NEED_STORE | NEED_SYNC) != 0) {
		fprintf(stderr, "bulletinctl: cannot take mail now (see "
				"above); the mail server will try again\n");
		return EX_TEMPFAIL;
	}
	ctl->themes = theme_set_create(ctl->cfg);
	buf_init(&msg, SIZE_MAX);
	ret = ctl->themes
		      ? read_all(STDIN_FILENO, (size_t)ctl->cfg->imap_max_size,
				 &msg, &over)
		      : -ENOMEM;
	if (ret) {
		buf_free(&msg);
		fprintf(stderr, "bulletinctl: cannot read the message: %s\n",
			strerror(-ret));
		return EX_TEMPFAIL;
	}
	if (over) {
		buf_free(&msg);
		fprintf(stderr,
			"bulletinctl: message refused: bigger than %lld bytes "
			"([imap] max_size)\n",
			(long long)ctl->cfg->imap_max_size);
		return EX_DATAERR;
	}
	ictx = (struct intake_ctx){
		.cfg = ctl->cfg,
		.st = ctl->store,
		.ts = ctl->themes,
		.envelope = envelope,
		.now = (int64_t)time(NULL),
	};
	ret = intake_message(&ictx, msg.ptr ? msg.ptr : "", msg.len, &res,
			     &err);
	buf_free(&msg);
	if (ret < 0) {
		fprintf(stderr,
			"bulletinctl: %s; the mail server will try "
			"again\n",
			err.msg);
		return EX_TEMPFAIL;
	}
	if (res.warning[0])
		fprintf(stderr, "bulletinctl: %s: warning: %s\n", res.message,
			res.warning);
	switch (res.outcome) {
	case INTAKE_BRIEFING:
	case INTAKE_COMMAND:
	case INTAKE_DUPLICATE:
	case INTAKE_QUARANTINED:
	case INTAKE_BOUNCE:
		/* Quarantined mail is kept for the admin; a bounce would
		 * go to whoever the forger named. Mail to a bounce
		 * address is taken even when it changes nothing: a
		 * bounce of a bounce would go nowhere useful. */
		fprintf(stderr, "bulletinctl: %s: %s\n", res.message,
			res.detail);
		return 0;
	case INTAKE_IGNORED:
		fprintf(stderr, "bulletinctl: message refused: %s\n",
			res.detail);
		return EX_NOUSER;
	case INTAKE_REFUSED:
	default:
		fprintf(stderr, "bulletinctl: message refused: %s\n",
			res.detail);
		return EX_DATAERR;
	}
}

static int print_inbound(const struct store_inbound_row *r, void *arg)
{
	char when[32];

	format_time(r->received, when, sizeof(when));
	printf("%-16s  %-4s  %-11s  %-30.30s  %-30.30s  %s\n", when, r->via,
	       r->outcome, r->sender ? r->sender : "-",
	       r->subject ? r->subject : "-", r->detail ? r->detail : "");
	return 0;
}

int cmd_inbound(struct ctl *ctl, int argc, char **argv)
{
	struct err err = {{0}};
	long long limit = 50;
	int ret;

	if (argc > 2 ||
	    (argc == 2 && text_parse_int(argv[1], 1, 100000, &limit) != 0)) {
		fprintf(stderr, "usage: bulletinctl inbound [COUNT]\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	printf("%-16s  %-4s  %-11s  %-30s  %-30s  %s\n", "RECEIVED", "VIA",
	       "OUTCOME", "FROM", "SUBJECT", "DETAIL");
	if (store_inbound_each(ctl->store, (size_t)limit, print_inbound, NULL,
			       &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}
