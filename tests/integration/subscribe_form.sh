#!/bin/sh
# The subscribe form's token and time trap (RELIABILITY C3), with curl
# against bulletind. form_min_time is 10m here, so that a form fetched
# by the test is always "too soon" however slow the machine; tokens that
# are old enough are made with the test's copy of the secret
# (tokenforge.py). Expected: a post with no token, a forged one, one
# for another list or purpose, an expired one, one from the future, one
# posted too soon, or with the hidden field filled in is refused (403,
# 429 or 400) with the form again and the address kept, and no mail goes
# out; a good one answers 200 and the confirmation mail is delivered.
# Pages carry their charset, nosniff and a no-script policy (B10).
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
FORGE="$SOURCE_ROOT/tests/integration/tokenforge.py"
demo_setup
PORT=$(free_port)
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\nform_min_time = 10m\n\n[smtp]|" "$cfg"
cat >>"$cfg" <<'CONF'

[list other]
address = other@example.org
schedule = weekly mon 07:30
CONF
URL="http://127.0.0.1:$PORT"

"$BULLETIND" -c "$cfg" >"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
cleanup_hooks="stop_daemon $cleanup_hooks"
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"

# The form: a token, the hidden trap field, no script; like every page
# (the uniform 404 too), with its charset, nosniff and a policy that
# allows no script (B10).
curl -s -D "$T/form-headers" "$URL/s/staff-news" >"$T/form"
curl -s -D "$T/404-headers" -o /dev/null "$URL/u/AAAA"
for h in form-headers 404-headers; do
	tr -d '\r' <"$T/$h" >"$T/$h.txt"
	assert_contains "$T/$h.txt" "Content-Type: text/html; charset=utf-8"
	assert_contains "$T/$h.txt" "X-Content-Type-Options: nosniff"
	assert_contains "$T/$h.txt" "Content-Security-Policy: default-src 'none'"
done
FRESH=$(sed -n 's/.*name="form_token" value="\([A-Za-z0-9_-]*\)".*/\1/p' "$T/form")
[ -n "$FRESH" ] || fail "the form has no form_token"
assert_contains "$T/form" 'name="website" type="text" tabindex="-1" autocomplete="off"'
assert_contains "$T/form" 'aria-hidden="true"'
assert_not_contains "$T/form" "<script"

now=$(date +%s)
forge() { python3 "$FORGE" "$W/demo-secret" "$@"; }
GOOD=$(forge f staff-news 0 $((now - 1200)))
(umask 077 && head -c 32 /dev/urandom >"$T/other-secret")

# post NAME EXPECTED_STATUS ADDRESS [CURL_ARGS...]: posts the form; the
# page is kept in $T/NAME.
post() {
	name=$1 want=$2 addr=$3
	shift 3
	code=$(curl -s -o "$T/$name" -w '%{http_code}' --data-urlencode "address=$addr" "$@" "$URL/s/staff-news")
	[ "$code" = "$want" ] || fail "$name: the form answered $code, expected $want"
}
# refused NAME ADDRESS WHY: the post changed nothing and sent nothing,
# and the page offers the form again with the address kept.
refused() {
	assert_contains "$T/$1" '<form method="post" action="/s/staff-news">'
	assert_contains "$T/$1" "value=\"$2\""
	assert_not_contains "$T/$1" "Check your email"
	[ "$(q "SELECT count(*) FROM notices WHERE address = '$2'")" = 0 ] || fail "$1: mail queued for $2"
	[ "$(q "SELECT count(*) FROM sub_events WHERE address = '$2'")" = 0 ] || fail "$1: a request recorded for $2"
	[ "$(q "SELECT count(*) FROM subscribers WHERE address = '$2'")" = 0 ] || fail "$1: a subscriber row for $2"
	grep -q "subscribe form from 127.0.0.1 refused ($3): no mail sent" "$T/daemon.log" ||
		fail "$1: no log line saying why ($3)"
}

post none 403 a1@example.org
refused none a1@example.org "no form token"
# A new token for the next try, not the one it came with.
grep -q 'name="form_token" value="[A-Za-z0-9_-]\{40,\}"' "$T/none" || fail "no new token on the page"

post forged 403 a2@example.org -d "form_token=$(python3 "$FORGE" "$T/other-secret" f staff-news 0 $((now - 1200)))"
refused forged a2@example.org "not a form token of this list"
post garbage 403 a3@example.org -d "form_token=AAAA%3Cscript%3E"
refused garbage a3@example.org "not a form token of this list"
assert_not_contains "$T/garbage" "AAAA<script>"
tampered=$(python3 -c 'import sys; t = sys.argv[1]; print(t[:9] + ("B" if t[9] == "A" else "A") + t[10:])' "$GOOD")
post tampered 403 a4@example.org -d "form_token=$tampered"
refused tampered a4@example.org "not a form token of this list"
post otherlist 403 a5@example.org -d "form_token=$(forge f other 0 $((now - 1200)))"
refused otherlist a5@example.org "not a form token of this list"
post purpose 403 a6@example.org -d "form_token=$(forge c staff-news 0 $((now - 1200)))"
refused purpose a6@example.org "not a form token of this list"
post future 403 a7@example.org -d "form_token=$(forge f staff-news 0 $((now + 3600)))"
refused future a7@example.org "not a form token of this list"
post expired 403 a8@example.org -d "form_token=$(forge f staff-news 0 $((now - 7200)))"
refused expired a8@example.org "the form is over an hour old"
assert_contains "$T/expired" "out of date"

# Too soon: the form just fetched. The page keeps that token, so the
# next press (after form_min_time) counts.
post early 429 a9@example.org -d "form_token=$FRESH"
refused early a9@example.org "posted sooner than form_min_time after the form"
assert_contains "$T/early" "value=\"$FRESH\""
assert_contains "$T/early" "quicker than we expected"

# The hidden field filled in, with a good token.
post trap 400 a10@example.org -d "form_token=$GOOD" -d "website=http://spam.example"
refused trap a10@example.org "hidden field filled in"
assert_contains "$T/trap" "must stay empty"

# An address with HTML in it is kept escaped.
post escape 403 '"><b>x</b>@example.org'
assert_contains "$T/escape" 'value="&quot;&gt;&lt;b&gt;x&lt;/b&gt;@example.org"'
assert_not_contains "$T/escape" "<b>x</b>"

[ "$(q "SELECT count(*) FROM notices")" = 0 ] || fail "a refused post queued mail"

# A good token, old enough, the trap empty: the confirmation goes out.
post good 200 ann@example.org -d "form_token=$GOOD" -d "website="
assert_contains "$T/good" "Check your email"
wait_for "$T/daemon.log" "confirm reply delivered to ann@example.org"
m=$(grep -l '^To: ann@example.org' "$W"/maildir/new/*)
grep -q '^Subject: Confirm your subscription' "$m" || fail "no confirmation mail for ann"
[ "$(q "SELECT state FROM subscribers WHERE address = 'ann@example.org'")" = pending ] ||
	fail "ann's request was not recorded"
[ "$(q "SELECT count(*) FROM notices")" = 1 ] || fail "more than one mail went out"
# A form's token serves again within its hour (the limits per address
# and per client do the rest).
post again 200 bob@example.org -d "form_token=$GOOD"
wait_for "$T/daemon.log" "confirm reply delivered to bob@example.org"
echo "ok"
