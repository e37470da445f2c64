#!/bin/sh
# Bounces (RELIABILITY G12). Each digest goes out with its own VERP
# envelope sender, staff-news+bounce-TOKEN@example.org, whose token
# names the delivery under a MAC: the recipient's address is not in it,
# so "+" and "=" in addresses need no encoding and cannot confuse it.
# Delivery status reports (RFC 3464) to those addresses, piped in through
# bulletinctl receive as an MTA would: 5.x.x is hard (the delivery
# fails, and counts towards suspension), 4.x.x soft (noted, not
# counted); the subscriber is suspended only past [smtp] suspend_after
# (2 here) hard bounces in a row. A forged token, a bounce without a
# report, a success report and the same report twice change nothing.
# (Quoted local parts, "john doe"@..., are refused at subscription, so
# no recipient has one; the report reader takes them: test_bounce.)
set -eu
. "$(dirname "$0")/lib.sh"

demo_setup
for a in ann+news@example.org bob=x@example.org dan@example.org; do
	ctl subscribers staff-news add "$a" >/dev/null
done
start_sink bounce
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
suspend_after = 2|" "$cfg"

# verp DIR RCPT: the envelope sender of the message to RCPT in DIR.
verp() {
	python3 - "$1" "$2" <<'PY'
import email, os, re, sys
d, rcpt = sys.argv[1:3]
for name in sorted(os.listdir(d)):
    m = email.message_from_bytes(open(os.path.join(d, name), "rb").read())
    if re.search(r"<%s>" % re.escape(rcpt), m.get("X-Rcpt-Args", "")):
        print(re.search(r"<([^>]*)>", m["X-Mail-Args"]).group(1))
PY
}
# dsn TO RCPT ACTION STATUS ID: a delivery status report, as Postfix
# writes one, to TO about RCPT.
dsn() {
	cat <<MSG
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: $1
Subject: Undelivered Mail Returned to Sender
Message-ID: <$5@mx.example.org>
Date: Mon, 23 Nov 2026 08:00:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Mon, 23 Nov 2026 07:30:05 +0000

Final-Recipient: rfc822; $2
Original-Recipient: rfc822;$2
Action: $3
Status: $4
Diagnostic-Code: smtp; ${4%%.*}50 $4 <$2>: Recipient address rejected:
    User unknown in virtual mailbox table

--B
Content-Type: text/rfc822-headers

From: Staff News <staff-news@example.org>
Subject: Probation staff news

--B--
MSG
}
# receive TO: pipes stdin in as the MTA would, for TO.
receive() {
	"$BULLETINCTL" -c "$cfg" receive --recipient "$1" >"$T/out" 2>"$T/err" ||
		{ cat "$T/err" >&2; fail "receive for $1 exited $?"; }
}
state() {
	q "SELECT d.state || ' ' || coalesce(d.last_error, '') FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.address = '$1' AND d.digest_id = $2"
}

expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
expect_exit 0 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "3 sent, 0 deferred, 0 failed"
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got" || fail "a message is malformed"
ann=$(verp "$SINK_DIR" ann+news@example.org)
bob=$(verp "$SINK_DIR" bob=x@example.org)
dan=$(verp "$SINK_DIR" dan@example.org)
echo "VERP: $ann $bob $dan" >&2
# One address each, none naming its recipient, local parts within 64.
[ "$(printf '%s\n%s\n%s\n' "$ann" "$bob" "$dan" | sort -u | wc -l)" = 3 ] ||
	fail "the VERP addresses are not one per delivery"
for v in "$ann" "$bob" "$dan"; do
	case $v in
	staff-news+bounce-*@example.org) ;;
	*) fail "VERP address $v" ;;
	esac
	[ ${#v} -le $((64 + 12)) ] || fail "VERP local part over 64: $v"
	case $v in *ann*|*bob*|*dan*) fail "$v names its recipient" ;; esac
done

# A hard bounce for ann: her delivery fails; once is not enough to
# suspend her.
dsn "$ann" ann+news@example.org failed 5.1.1 hard1 | receive "$ann"
assert_contains "$T/err" "hard bounce for list staff-news"
assert_contains "$T/err" "the digest to ann+news@example.org: bounced (5.1.1): 550 5.1.1 <ann+news@example.org>: Recipient address rejected: User unknown in virtual mailbox table; counts towards suspension"
state ann+news@example.org 1 | grep -q '^failed bounced (5.1.1): 550 5.1.1' ||
	fail "ann's delivery: $(state ann+news@example.org 1)"
[ "$(q "SELECT state FROM subscribers WHERE address = 'ann+news@example.org'")" = active ] ||
	fail "one bounce suspended ann"
# The same report again: dealt with before.
dsn "$ann" ann+news@example.org failed 5.1.1 hard1 | receive "$ann"
assert_contains "$T/err" "already dealt with"

# A soft bounce for bob: noted, not counted.
dsn "$bob" bob=x@example.org delayed 4.4.1 soft1 | receive "$bob"
assert_contains "$T/err" "soft bounce for list staff-news"
[ "$(state bob=x@example.org 1)" = "sent delayed, not counted (4.4.1): 450 4.4.1 <bob=x@example.org>: Recipient address rejected: User unknown in virtual mailbox table" ] ||
	fail "bob's delivery: $(state bob=x@example.org 1)"

# Forged: dan's address with another token; no report; a success
# report. None changes dan's delivery.
forged=$(echo "$dan" | sed 's/+bounce-[a-z2-7]*@/+bounce-aaaaaaaaaaaaaaaaaaaaaaaaaa@/')
dsn "$forged" dan@example.org failed 5.1.1 forged | receive "$forged"
assert_contains "$T/err" "its address holds no token of ours (forged, or made with another secret): nothing changed"
printf 'From: MAILER-DAEMON@mx.example.org\nTo: %s\nSubject: bounce\nMessage-ID: <plain@mx>\n\nYour mail to dan@example.org bounced.\n' "$dan" |
	receive "$dan"
assert_contains "$T/err" "no delivery status report (RFC 3464) in it: nothing changed"
dsn "$dan" dan@example.org delivered 2.0.0 ok1 | receive "$dan"
assert_contains "$T/err" "says no failure (status 2.0.0): nothing changed"
[ "$(state dan@example.org 1)" = "sent " ] || fail "dan's delivery: $(state dan@example.org 1)"

# A second digest, and a second hard bounce for ann: two in a row, so
# she is suspended; bob's soft bounce suspended nobody.
python3 - "$W/demo/union-site.xml" <<'PY'
import sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
entry = ("<entry><id>tag:union-branch.example.org,2026:bounce</id>"
         "<title>Ballot result</title><link rel=\"alternate\" "
         "href=\"https://union-branch.example.org/ballot\"/>"
         "<published>2026-11-23T09:00:00Z</published>"
         "<content type=\"text\">The ballot closed with a clear result.</content></entry>")
open(p, "w", encoding="utf-8").write(s.replace("</feed>", entry + "</feed>", 1))
PY
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
rm -f "$SINK_DIR"/*
expect_exit 0 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "3 sent, 0 deferred, 0 failed"
ann2=$(verp "$SINK_DIR" ann+news@example.org)
[ -n "$ann2" ] && [ "$ann2" != "$ann" ] || fail "ann's second VERP address: $ann2"
dsn "$ann2" ann+news@example.org failed 5.1.1 hard2 | receive "$ann2"
assert_contains "$T/err" "the subscriber is suspended: its last deliveries all failed ([smtp] suspend_after)"
[ "$(q "SELECT state FROM subscribers WHERE address = 'ann+news@example.org'")" = suspended ] ||
	fail "ann: $(q "SELECT state FROM subscribers WHERE address = 'ann+news@example.org'")"
[ "$(q "SELECT count(*) FROM subscribers WHERE state = 'active'")" = 2 ] ||
	fail "subscribers: $(q 'SELECT address, state FROM subscribers')"
expect_exit 0 "$BULLETINCTL" -c "$cfg" subscribers staff-news show ann+news@example.org
assert_contains "$T/out" "suspended"
assert_contains "$T/out" "bounced (5.1.1)"
# A bounce for ann's first digest, to the second's address: the tokens
# are per delivery, so nothing mixes up.
[ "$(state ann+news@example.org 2)" != "$(state bob=x@example.org 2)" ] ||
	fail "second digest: ann and bob alike"
echo ok
