/* Tests for inbound: command addresses, -request mail, loop guards,
 * folder roles, pipe routing and the reasons given for mail that goes
 * nowhere. Messages are built by hand, never parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inbound.h"

static struct config_list lists[] = {
	{.name = "staff-news",
	 .address = "staff-news@example.org",
	 .from = "Staff News <news@example.org>"},
	{.name = "branch", .address = "Branch@Union.example.org"},
};

static struct config_source sources[] = {
	{.name = "blog", .type = SOURCE_FEED, .url = "file:///dev/null"},
	{.name = "union-briefings",
	 .type = SOURCE_MAILBOX,
	 .folder = "Briefings",
	 .from = "briefings@union.example.org"},
	{.name = "hq",
	 .type = SOURCE_MAILBOX,
	 .folder = "Briefings",
	 .from = "@hq.example.org"},
	{.name = "all-union",
	 .type = SOURCE_MAILBOX,
	 .folder = "Union",
	 .from = "@union.example.org"},
};

static struct config cfg = {
	.lists = lists,
	.n_lists = 2,
	.sources = sources,
	.n_sources = 4,
};

static char *one_rcpt[1];

/* A plain message from ann@example.org to rcpt. */
static struct mailmsg msg(const char *rcpt)
{
	struct mailmsg m = {0};

	one_rcpt[0] = (char *)(uintptr_t)rcpt;
	m.from = "ann@example.org";
	m.rcpts = one_rcpt;
	m.n_rcpts = rcpt ? 1 : 0;
	m.text = "";
	return m;
}

static struct inbound_route r;

static const struct inbound_route *route_in(const struct config *c,
					    const struct mailmsg *m,
					    const char *folder,
					    const char *envelope)
{
	memset(&r, 0xa5, sizeof(r));
	assert_int_equal(inbound_route(c, m, folder, envelope, &r), 0);
	return &r;
}

static const struct inbound_route *route(const struct mailmsg *m,
					 const char *folder)
{
	return route_in(&cfg, m, folder, NULL);
}

static void assert_command(const struct inbound_route *got,
			   const struct config_list *list,
			   enum inbound_command cmd, const char *token)
{
	if (got->kind != INBOUND_COMMAND) {
		fail_msg("not a command: %s", got->reason);
	}
	assert_ptr_equal(got->list, list);
	assert_int_equal(got->command, cmd);
	assert_string_equal(got->token, token);
	assert_null(got->source);
}

static void assert_other(const struct inbound_route *got, const char *why)
{
	assert_int_equal(got->kind, INBOUND_OTHER);
	assert_null(got->list);
	assert_null(got->source);
	if (!strstr(got->reason, why)) {
		fail_msg("reason \"%s\" lacks \"%s\"", got->reason, why);
	}
	assert_null(strchr(got->reason, '\n'));
}

static void assert_briefing(const struct inbound_route *got,
			    const struct config_source *src)
{
	if (got->kind != INBOUND_BRIEFING) {
		fail_msg("not a briefing: %s", got->reason);
	}
	assert_ptr_equal(got->source, src);
	assert_null(got->list);
}

static void test_every_command_address(void **state)
{
	static const struct {
		const char *rcpt;
		enum inbound_command cmd;
		const char *token;
	} cases[] = {
		{"staff-news+subscribe@example.org", INBOUND_SUBSCRIBE, ""},
		{"staff-news+unsubscribe@example.org", INBOUND_UNSUBSCRIBE, ""},
		{"staff-news+unsubscribe-AbC_12-x@example.org",
		 INBOUND_UNSUBSCRIBE, "AbC_12-x"},
		{"staff-news+confirm-Tok_9@example.org", INBOUND_CONFIRM,
		 "Tok_9"},
		{"staff-news+help@example.org", INBOUND_HELP, ""},
	};
	struct mailmsg m;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = msg(cases[i].rcpt);
		route(&m, "INBOX");
		assert_command(&r, &lists[0], cases[i].cmd, cases[i].token);
		assert_string_equal(r.address, "ann@example.org");
		assert_ptr_equal(r.address, m.from);
		assert_false(r.no_reply);
		assert_string_equal(r.reason, "");
	}
}

static void test_command_names(void **state)
{
	assert_string_equal(inbound_command_name(INBOUND_SUBSCRIBE),
			    "subscribe");
	assert_string_equal(inbound_command_name(INBOUND_UNSUBSCRIBE),
			    "unsubscribe");
	assert_string_equal(inbound_command_name(INBOUND_CONFIRM), "confirm");
	assert_string_equal(inbound_command_name(INBOUND_HELP), "help");
}

static void test_confirm_needs_a_token(void **state)
{
	struct mailmsg m = msg("staff-news+confirm@example.org");

	assert_other(route(&m, "INBOX"),
		     "confirm needs the token from the confirmation mail");
	assert_other(&r, "staff-news+confirm@example.org");
}

static void test_unknown_command_address(void **state)
{
	struct mailmsg m = msg("staff-news+bogus@example.org");

	assert_other(route(&m, "INBOX"), "staff-news+bogus@example.org is no "
					 "command address of list staff-news");
	m = msg("staff-news+subscribe-now@example.org");
	assert_other(route(&m, "INBOX"), "no command address");
	m = msg("staff-news+@example.org");
	assert_other(route(&m, "INBOX"), "no command address");
}

static void test_bad_tokens(void **state)
{
	char rcpt[INBOUND_TOKEN_MAX + 64], token[INBOUND_TOKEN_MAX + 2];
	struct mailmsg m;

	memset(token, 'x', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	/* One character too many. */
	snprintf(rcpt, sizeof(rcpt), "staff-news+confirm-%s@example.org",
		 token);
	m = msg(rcpt);
	assert_other(route(&m, "INBOX"), "longer than 256 characters");
	/* Exactly the longest allowed. */
	token[INBOUND_TOKEN_MAX] = '\0';
	snprintf(rcpt, sizeof(rcpt), "staff-news+confirm-%s@example.org",
		 token);
	m = msg(rcpt);
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_CONFIRM, token);

	m = msg("staff-news+unsubscribe-ab.cd@example.org");
	assert_other(route(&m, "INBOX"), "not '.'");
	assert_other(&r, "staff-news+unsubscribe-ab.cd@example.org");
	m = msg("staff-news+confirm-ab=@example.org");
	assert_other(route(&m, "INBOX"), "only letters, digits");
	m = msg("staff-news+unsubscribe-@example.org");
	assert_other(route(&m, "INBOX"), "the token is empty");
	m = msg("staff-news+confirm-tok\xc3\xa9@example.org");
	assert_other(route(&m, "INBOX"), "not '?'");
}

static void test_request_takes_the_subject(void **state)
{
	static const struct {
		const char *subject;
		enum inbound_command cmd;
		const char *token;
	} cases[] = {
		{"subscribe", INBOUND_SUBSCRIBE, ""},
		{"Re: Subscribe", INBOUND_SUBSCRIBE, ""},
		{"  UNSUBSCRIBE me please", INBOUND_UNSUBSCRIBE, ""},
		{"Fwd: [staff-news] unsubscribe.", INBOUND_UNSUBSCRIBE, ""},
		{"help", INBOUND_HELP, ""},
		{"Re: confirm Q2h-_x9", INBOUND_CONFIRM, "Q2h-_x9"},
		{"CONFIRM\tabc", INBOUND_CONFIRM, "abc"},
	};
	struct mailmsg m = msg("staff-news-request@example.org");
	size_t i;

	/* The body is not read when the subject has a command. */
	m.text = "unsubscribe\n";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m.subject = (char *)(uintptr_t)cases[i].subject;
		route(&m, "INBOX");
		assert_command(&r, &lists[0], cases[i].cmd, cases[i].token);
	}
}

static void test_request_falls_back_to_the_body(void **state)
{
	struct mailmsg m = msg("staff-news-request@example.org");

	m.subject = NULL;
	m.text = "\n  \t\nsubscribe\nthank you\n";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_SUBSCRIBE, "");
	m.subject = "";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_SUBSCRIBE, "");
	m.subject = "Hello there";
	m.text = "confirm AbC123\n";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_CONFIRM,
		       "AbC123");
	/* A subject's confirm without its token: the body may have it. */
	m.subject = "Re: confirm";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_CONFIRM,
		       "AbC123");
}

/* Only the first ten lines are read for a command (C8). */
static void test_request_reads_ten_lines(void **state)
{
	struct mailmsg m = msg("staff-news-request@example.org");

	m.subject = NULL;
	m.text = "\n\n\n\n\n\n\n\n\nunsubscribe\n";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_UNSUBSCRIBE, "");
	m.text = "\n\n\n\n\n\n\n\n\n\nunsubscribe\n";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_HELP, "");
}

static void test_request_unknown_is_help(void **state)
{
	struct mailmsg m = msg("staff-news-request@example.org");

	m.subject = "Question";
	m.text = "How do I join?\nsubscribe\n";
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_HELP, "");
	m.subject = NULL;
	m.text = NULL;
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_HELP, "");
}

static void test_request_bad_confirm(void **state)
{
	struct mailmsg m = msg("staff-news-request@example.org");

	m.subject = "confirm";
	assert_other(route(&m, "INBOX"), "confirm needs the token");
	assert_other(&r, "staff-news-request@example.org");
	m.subject = "confirm not/a/token";
	assert_other(route(&m, "INBOX"), "subject of mail to "
					 "staff-news-request@example.org");
	assert_other(&r, "not '/'");
	m.subject = "hello";
	m.text = "confirm a.b\n";
	assert_other(route(&m, "INBOX"), "first body line");
}

/* A digest's VERP address: a bounce, with or without a From, whatever
 * loop guard would fire, the token in any case; a bad token is no
 * bounce. */
static void test_bounce_address(void **state)
{
	struct mailmsg m = msg("staff-news+bounce-y344se6g45qy3f7haaaaaaaaae@"
			       "example.org");

	(void)state;
	m.from = NULL;
	m.return_path = "";
	m.auto_submitted = "auto-replied";
	route(&m, "INBOX");
	if (r.kind != INBOUND_BOUNCE)
		fail_msg("not a bounce: %s", r.reason);
	assert_ptr_equal(r.list, &lists[0]);
	assert_string_equal(r.token, "y344se6g45qy3f7haaaaaaaaae");
	assert_null(r.address);
	assert_false(r.no_reply);
	m = msg("Staff-News+BOUNCE-Y344SE6G45QY3F7HAAAAAAAAAE@example.org");
	route(&m, NULL);
	assert_int_equal(r.kind, INBOUND_BOUNCE);
	assert_string_equal(r.token, "Y344SE6G45QY3F7HAAAAAAAAAE");
	assert_string_equal(r.address, "ann@example.org");
	m = msg("staff-news+bounce-@example.org");
	assert_other(route(&m, "INBOX"), "the token is empty");
	m = msg("staff-news+bounce-a.b@example.org");
	assert_other(route(&m, "INBOX"), "not '.'");
}

static void test_command_needs_a_from_address(void **state)
{
	struct mailmsg m = msg("staff-news+subscribe@example.org");

	m.from = NULL;
	assert_other(route(&m, "INBOX"), "no From address");
	assert_other(&r, "staff-news+subscribe@example.org");
	m.from = "";
	assert_other(route(&m, "INBOX"), "no From address");
}

/* Routes m as a subscribe and checks whether a loop guard fired. */
static void check_guard(const struct mailmsg *m, bool fires, const char *why)
{
	route(m, "INBOX");
	assert_command(&r, &lists[0], INBOUND_SUBSCRIBE, "");
	assert_int_equal(r.no_reply, fires);
	if (fires && !strstr(r.reason, why)) {
		fail_msg("reason \"%s\" lacks \"%s\"", r.reason, why);
	}
	if (!fires) {
		assert_string_equal(r.reason, "");
	}
}

static void test_loop_guard_auto_submitted(void **state)
{
	struct mailmsg m = msg("staff-news+subscribe@example.org");

	m.auto_submitted = "auto-replied";
	check_guard(&m, true, "Auto-Submitted is \"auto-replied\"");
	m.auto_submitted = "auto-generated; owner-email=x@example.org";
	check_guard(&m, true, "Auto-Submitted");
	m.auto_submitted = "no";
	check_guard(&m, false, NULL);
	m.auto_submitted = "No; comment";
	check_guard(&m, false, NULL);
}

static void test_loop_guard_precedence(void **state)
{
	static const char *const fire[] = {"bulk", "junk", "list", "BULK"};
	struct mailmsg m = msg("staff-news+subscribe@example.org");
	size_t i;

	for (i = 0; i < sizeof(fire) / sizeof(fire[0]); i++) {
		m.precedence = (char *)(uintptr_t)fire[i];
		check_guard(&m, true, "Precedence");
	}
	m.precedence = "first-class";
	check_guard(&m, false, NULL);
}

static void test_loop_guard_list_id_and_null_path(void **state)
{
	struct mailmsg m = msg("staff-news+subscribe@example.org");

	m.has_list_id = true;
	check_guard(&m, true, "List-Id");
	m.has_list_id = false;
	m.return_path = "";
	check_guard(&m, true, "null");
	m.return_path = "ann@example.org";
	check_guard(&m, false, NULL);
}

static void test_loop_guard_system_senders(void **state)
{
	struct mailmsg m = msg("staff-news+subscribe@example.org");

	m.from = "MAILER-DAEMON@mx.example.net";
	check_guard(&m, true, "MAILER-DAEMON@mx.example.net");
	m.from = "Postmaster@example.net";
	check_guard(&m, true, "system address");
	m.from = "postmaster-fan@example.net";
	check_guard(&m, false, NULL);
}

static void test_loop_guard_our_own_addresses(void **state)
{
	static const char *const ours[] = {
		"staff-news@example.org",
		"STAFF-NEWS@EXAMPLE.ORG",
		"news@example.org", /* the list's From */
		"staff-news+help@example.org",
		"branch-request@union.example.org",
		"branch+unsubscribe-abc@union.example.org",
	};
	struct mailmsg m = msg("staff-news+subscribe@example.org");
	size_t i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		m.from = (char *)(uintptr_t)ours[i];
		check_guard(&m, true, "is an address of list");
	}
	m.from = "staff-news-fan@example.org";
	check_guard(&m, false, NULL);
	m.from = "staff-news@example.org.evil.example";
	check_guard(&m, false, NULL);
}

static void test_command_in_briefing_folder_is_not_a_command(void **state)
{
	struct mailmsg m = msg("staff-news+subscribe@example.org");

	assert_other(route(&m, "Briefings"),
		     "sender ann@example.org is not an allowed sender of "
		     "source union-briefings");
	/* Two sources read Briefings: the reason says so. */
	assert_other(&r, "nor of the 1 other source(s) reading folder "
			 "Briefings");
	m.from = "briefings@union.example.org";
	assert_briefing(route(&m, "Briefings"), &sources[1]);
	m.from = "chief@hq.example.org";
	assert_briefing(route(&m, "Briefings"), &sources[2]);
	m.from = NULL;
	assert_other(route(&m, "Briefings"), "no From address");
}

static void test_briefing_sender_in_inbox_is_not_a_briefing(void **state)
{
	struct mailmsg m = msg("news-desk@example.org");

	m.from = "briefings@union.example.org";
	assert_other(route(&m, "INBOX"),
		     "no list takes commands at news-desk@example.org");
	m.n_rcpts = 0;
	assert_other(route(&m, "INBOX"), "names no recipient");
}

static void test_inbox_that_is_also_a_source_folder(void **state)
{
	struct config_source src = {.name = "inbox-briefings",
				    .type = SOURCE_MAILBOX,
				    .folder = "inbox",
				    .from = "@union.example.org"};
	struct config c = {
		.lists = lists, .n_lists = 2, .sources = &src, .n_sources = 1};
	struct mailmsg m = msg("news-desk@example.org");

	m.from = "briefings@union.example.org";
	route_in(&c, &m, "INBOX", NULL);
	assert_briefing(&r, &src);
	/* Commands come first there. */
	m = msg("staff-news+help@example.org");
	route_in(&c, &m, "Inbox", NULL);
	assert_command(&r, &lists[0], INBOUND_HELP, "");
	m = msg("news-desk@example.org");
	route_in(&c, &m, "inbox", NULL);
	assert_other(&r, "sender ann@example.org is not an allowed sender of "
			 "source inbox-briefings");
}

static void test_folder_names(void **state)
{
	struct config c = cfg;
	struct mailmsg m = msg("staff-news+help@example.org");

	/* INBOX has no case; other folders do. */
	assert_command(route(&m, "inbox"), &lists[0], INBOUND_HELP, "");
	m.from = "briefings@union.example.org";
	assert_other(route(&m, "briefings"),
		     "folder briefings is neither the command folder (INBOX) "
		     "nor a mailbox source's folder");
	c.imap_folder = "Commands";
	route_in(&c, &m, "Commands", NULL);
	assert_command(&r, &lists[0], INBOUND_HELP, "");
	route_in(&c, &m, "INBOX", NULL);
	assert_other(&r, "neither the command folder (Commands)");
	route_in(&c, &m, "commands", NULL);
	assert_other(&r, "neither");
}

static void test_pipe_routing(void **state)
{
	struct mailmsg m = msg("news-desk@example.org");

	/* Commands by address. */
	route_in(&cfg, &m, NULL, "staff-news+subscribe@example.org");
	assert_command(&r, &lists[0], INBOUND_SUBSCRIBE, "");
	/* Briefings by sender, from the first source that allows it. */
	m.from = "briefings@union.example.org";
	assert_briefing(route(&m, NULL), &sources[1]);
	m.from = "editor@union.example.org";
	assert_briefing(route(&m, NULL), &sources[3]);
	m.from = "boss@hq.example.org";
	assert_briefing(route(&m, NULL), &sources[2]);
	/* Neither: the reason names the recipient and the sender. */
	m.from = "ann@example.org";
	assert_other(route(&m, NULL), "no list or mailbox source takes mail "
				      "for news-desk@example.org from "
				      "ann@example.org");
	route_in(&cfg, &m, NULL, "staff-news@example.org");
	assert_other(&r, "takes mail for staff-news@example.org");
	m.from = NULL;
	assert_other(route(&m, NULL), "(no From address)");
	/* A command address wins over an allowed sender. */
	m = msg("branch+help@union.example.org");
	m.from = "briefings@union.example.org";
	assert_command(route(&m, NULL), &lists[1], INBOUND_HELP, "");
}

static void test_addresses_have_no_case(void **state)
{
	struct mailmsg m = msg("STAFF-NEWS+SUBSCRIBE@EXAMPLE.ORG");

	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_SUBSCRIBE, "");
	m = msg("staff-news+Confirm-MiXeD@Example.Org");
	/* The token keeps its case: it is base64url. */
	assert_command(route(&m, "INBOX"), &lists[0], INBOUND_CONFIRM, "MiXeD");
	m = msg("branch+help@union.example.org");
	assert_command(route(&m, "INBOX"), &lists[1], INBOUND_HELP, "");
	m = msg("BRANCH-Request@UNION.example.org");
	m.subject = "Unsubscribe";
	assert_command(route(&m, "INBOX"), &lists[1], INBOUND_UNSUBSCRIBE, "");
	m = msg("x@example.org");
	m.from = "Briefings@UNION.Example.org";
	assert_briefing(route(&m, "Briefings"), &sources[1]);
	m.from = "Boss@HQ.EXAMPLE.ORG";
	assert_briefing(route(&m, "Briefings"), &sources[2]);
}

static void test_envelope_before_headers(void **state)
{
	char *rcpts[] = {"staff-news+subscribe@example.org",
			 "branch+help@union.example.org"};
	struct mailmsg m = msg(NULL);

	m.rcpts = rcpts;
	m.n_rcpts = 2;
	route_in(&cfg, &m, NULL, "staff-news+unsubscribe@example.org");
	assert_command(&r, &lists[0], INBOUND_UNSUBSCRIBE, "");
	route_in(&cfg, &m, NULL, " <Branch+Subscribe@union.example.org> ");
	assert_command(&r, &lists[1], INBOUND_SUBSCRIBE, "");
	/* An envelope that is no command address: the headers are tried,
	 * in order. */
	route_in(&cfg, &m, NULL, "news-desk@example.org");
	assert_command(&r, &lists[0], INBOUND_SUBSCRIBE, "");
	route_in(&cfg, &m, "INBOX", "");
	assert_command(&r, &lists[0], INBOUND_SUBSCRIBE, "");
	/* The first command address decides, even when it is bad. */
	route_in(&cfg, &m, NULL, "staff-news+confirm-a.b@example.org");
	assert_other(&r, "staff-news+confirm-a.b@example.org");
	/* The envelope is named in a reason before the headers are. */
	m.n_rcpts = 0;
	route_in(&cfg, &m, NULL, "<news-desk@example.org>");
	assert_other(&r, "takes mail for news-desk@example.org from");
}

static void test_sender_allowed(void **state)
{
	const struct config_source *addr = &sources[1], *dom = &sources[2];

	assert_true(
		inbound_sender_allowed(addr, "briefings@union.example.org"));
	assert_true(
		inbound_sender_allowed(addr, "BRIEFINGS@union.EXAMPLE.org"));
	assert_false(inbound_sender_allowed(addr, "other@union.example.org"));
	assert_false(inbound_sender_allowed(addr, NULL));
	assert_true(inbound_sender_allowed(dom, "a@hq.example.org"));
	assert_false(inbound_sender_allowed(dom, "a@sub.hq.example.org"));
	assert_false(inbound_sender_allowed(dom, "a@evil-hq.example.org"));
	assert_false(inbound_sender_allowed(dom, "hq.example.org"));
	assert_false(inbound_sender_allowed(dom, "@hq.example.org"));
	/* A feed source takes no mail. */
	assert_false(inbound_sender_allowed(&sources[0], "a@hq.example.org"));
	assert_false(inbound_sender_allowed(NULL, "a@hq.example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_address),
		cmocka_unit_test(test_bounce_address),
		cmocka_unit_test(test_command_names),
		cmocka_unit_test(test_confirm_needs_a_token),
		cmocka_unit_test(test_unknown_command_address),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_request_takes_the_subject),
		cmocka_unit_test(test_request_falls_back_to_the_body),
		cmocka_unit_test(test_request_reads_ten_lines),
		cmocka_unit_test(test_request_unknown_is_help),
		cmocka_unit_test(test_request_bad_confirm),
		cmocka_unit_test(test_command_needs_a_from_address),
		cmocka_unit_test(test_loop_guard_auto_submitted),
		cmocka_unit_test(test_loop_guard_precedence),
		cmocka_unit_test(test_loop_guard_list_id_and_null_path),
		cmocka_unit_test(test_loop_guard_system_senders),
		cmocka_unit_test(test_loop_guard_our_own_addresses),
		cmocka_unit_test(
			test_command_in_briefing_folder_is_not_a_command),
		cmocka_unit_test(
			test_briefing_sender_in_inbox_is_not_a_briefing),
		cmocka_unit_test(test_inbox_that_is_also_a_source_folder),
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test(test_pipe_routing),
		cmocka_unit_test(test_addresses_have_no_case),
		cmocka_unit_test(test_envelope_before_headers),
		cmocka_unit_test(test_sender_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
