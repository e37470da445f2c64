#!/bin/sh
# Subscribing by email and leaving with one click, against a running
# bulletind with curl (RELIABILITY B and C): a mailed subscribe gets a
# confirmation (B2: GET never confirms), confirmed by mail; the digest
# arrives with a one-click link; GET, HEAD, OPTIONS never unsubscribe
# (B1, 5,000 requests); bad bodies are refused (B4); tampered, truncated, cross-purpose,
# cross-list and expired tokens are refused with one page (B5, B6, B8);
# POST unsubscribes at once (B3), and no digest follows; pages escape
# what they echo (B10); the form answers the same for every address
# (B11); a forged mailed unsubscribe only asks (C8, C9); mailto with a
# token acts at once (C9); confirming twice makes one subscription (C6);
# the bombing limits hold (C1, C2, C8); a previous secret still verifies
# after rotation (B8).
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
FORGE="$SOURCE_ROOT/tests/integration/tokenforge.py"
demo_setup
PORT=$(free_port)
# The list gets a title to escape, a "nothing new" note (so that a send
# after leaving composes a digest) and a second list for B6.
sed -i "s|^templates = templates|templates = templates\nconfirmations_per_hour = 8|" "$cfg"
sed -i "s|^title = Probation staff news|title = Staff <b>news</b> \& \"more\"\nnothing_new = yes|" "$cfg"
# The form's time trap (C3) is subscribe_form.sh's: off here.
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\nform_per_ip = 30\nform_min_time = 0\n\n[smtp]|" "$cfg"
cat >>"$cfg" <<'CONF'

[list other]
address = other@example.org
schedule = weekly mon 07:30
CONF
URL="http://127.0.0.1:$PORT"
state() { q "SELECT s.state FROM subscribers s JOIN lists l ON l.id = s.list_id WHERE l.name = 'staff-news' AND s.address = '$1'"; }

# mail FROM TO [SUBJECT]: pipes a message through bulletinctl receive.
n=0
mail() {
	n=$((n + 1))
	printf 'From: %s\nTo: %s\nSubject: %s\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <m%s.%s@test>\n\nplease\n' \
		"$1" "$2" "${3:-}" "$n" "$$" | ctl receive 2>>"$T/receive.log" ||
		fail "receive refused mail to $2"
}
# mails_to ADDR KIND: how many replies of KIND went to ADDR.
mails_to() { q "SELECT count(*) FROM notices WHERE address = '$1' AND kind = '$2'"; }
# last_mail ADDR: the newest file in the maildir that is addressed to ADDR.
last_mail() { grep -l "^To: $1" "$W"/maildir/new/* 2>/dev/null | xargs -r ls -t | head -1; }

start_daemon() {
	: >"$T/daemon.log"
	"$BULLETIND" -c "$cfg" >>"$T/daemon.log" 2>&1 &
	DPID=$!
	wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"
}
stop_daemon() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
cleanup_hooks="stop_daemon $cleanup_hooks"
start_daemon

curl -fsS "$URL/healthz" >"$T/h" || fail "/healthz"
assert_contains "$T/h" "ok"
# The subscribe form's token, posted back with every form post.
FT=$(curl -s "$URL/s/staff-news" | sed -n 's/.*name="form_token" value="\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$FT" ] || fail "the subscribe form carries no form_token"

# ---- subscribe by mail: a confirmation, then confirm by mail ----
mail 'Ann Reader <ann@example.org>' 'staff-news+subscribe@example.org'
wait_for "$T/daemon.log" "confirm reply delivered to ann@example.org"
[ "$(state ann@example.org)" = pending ] || fail "ann is not pending"
m=$(last_mail ann@example.org)
assert_contains "$m" "Auto-Submitted: auto-replied"
assert_not_contains "$m" "List-Unsubscribe" # C6: no one-click that does nothing
CTOK=$(grep -o "$W/c/[A-Za-z0-9_-]*" "$m" 2>/dev/null | head -1 || true)
CTOK=$(grep -o 'https://news.example.org/c/[A-Za-z0-9_-]*' "$m" | head -1 | sed 's|.*/c/||')
[ -n "$CTOK" ] || fail "no confirm link in $m"
grep -q "staff-news+confirm-$CTOK@example.org" "$m" || fail "no confirm address in $m"

# B2: scanners fetch the confirm link: nothing happens.
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -s -o /dev/null "$URL/c/$CTOK"
	curl -s -o /dev/null -I "$URL/c/$CTOK"
	curl -s -o /dev/null -X OPTIONS "$URL/c/$CTOK"
	curl -s -o /dev/null -X GET -d confirm=yes "$URL/c/$CTOK"
done
[ "$(state ann@example.org)" = pending ] || fail "a GET confirmed ann (B2)"
curl -s "$URL/c/$CTOK" >"$T/page"
assert_contains "$T/page" '<form method="post" action="/c/'
assert_not_contains "$T/page" "<script"
assert_not_contains "$T/page" "http-equiv"
assert_contains "$T/page" "Staff &lt;b&gt;news&lt;/b&gt; &amp; &quot;more&quot;" # B10

# Confirm by mail to LIST+confirm-TOKEN@.
mail 'ann@example.org' "staff-news+confirm-$CTOK@example.org"
wait_for "$T/daemon.log" "welcome reply delivered to ann@example.org"
[ "$(state ann@example.org)" = active ] || fail "ann is not active"
# C6: confirming again (POST) changes nothing and says so.
code=$(curl -s -o "$T/page" -w '%{http_code}' -d confirm=yes "$URL/c/$CTOK")
[ "$code" = 200 ] || fail "second confirm answered $code"
assert_contains "$T/page" "You are subscribed"
[ "$(q "SELECT count(*) FROM subscribers WHERE address = 'ann@example.org'")" = 1 ] ||
	fail "confirming twice made two subscriptions"

# Bob and Carol subscribe through the form and confirm by POST.
for who in bob carol; do
	code=$(curl -s -o "$T/page" -w '%{http_code}' --data-urlencode "address=$who@example.org" -d "form_token=$FT" "$URL/s/staff-news")
	[ "$code" = 200 ] || fail "form answered $code"
	wait_for "$T/daemon.log" "confirm reply delivered to $who@example.org"
	tok=$(grep -o 'https://news.example.org/c/[A-Za-z0-9_-]*' "$(last_mail $who@example.org)" | head -1 | sed 's|.*/c/||')
	code=$(curl -s -o /dev/null -w '%{http_code}' -d confirm=yes "$URL/c/$tok")
	[ "$code" = 200 ] || fail "confirm POST answered $code"
	[ "$(state $who@example.org)" = active ] || fail "$who is not active"
done

# ---- the digest, with its one-click link ----
expect_exit 0 ctl send staff-news
m=$(last_mail ann@example.org)
assert_contains "$m" "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
UTOK=$(grep -o 'https://news.example.org/u/[A-Za-z0-9_-]*' "$m" | head -1 | sed 's|.*/u/||')
[ -n "$UTOK" ] || fail "no unsubscribe link in the digest"
BTOK=$(grep -o 'https://news.example.org/u/[A-Za-z0-9_-]*' "$(last_mail bob@example.org)" | head -1 | sed 's|.*/u/||')
CATOK=$(grep -o 'https://news.example.org/u/[A-Za-z0-9_-]*' "$(last_mail carol@example.org)" | head -1 | sed 's|.*/u/||')

# B1: GET, HEAD, OPTIONS, a GET with the body or the query, 1,000 of
# each (one client process, kept-alive connections): no change.
/usr/bin/python3 - "$PORT" "/u/$UTOK" <<'PY' || fail "B1 requests failed"
import http.client, sys
port, path = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
kinds = [("GET", path, None), ("HEAD", path, None), ("OPTIONS", path, None),
         ("GET", path, b"List-Unsubscribe=One-Click"),
         ("GET", path + "?List-Unsubscribe=One-Click", None)]
for _ in range(1000):
    for method, p, body in kinds:
        for attempt in (1, 2):
            try:
                hdrs = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
                c.request(method, p, body=body, headers=hdrs)
                r = c.getresponse()
                r.read()
                if r.status >= 500:
                    sys.exit("B1: %s answered %d" % (method, r.status))
                break
            except (http.client.HTTPException, OSError):
                # The server may close a kept-alive connection: reopen.
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if attempt == 2:
                    raise
PY
[ "$(state ann@example.org)" = active ] || fail "a GET unsubscribed ann (B1)"
curl -s "$URL/u/$UTOK" >"$T/page"
assert_contains "$T/page" '<form method="post" action="/u/'
assert_contains "$T/page" 'name="List-Unsubscribe" value="One-Click"'
assert_not_contains "$T/page" "<script"
assert_not_contains "$T/page" "http-equiv"

# B4: bad bodies: bounded 4xx, no change.
check4xx() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@" "$URL/u/$UTOK")
	case $code in 4??) ;; *) fail "'$*' answered $code, expected 4xx" ;; esac
}
check4xx -X POST
check4xx -d ''
check4xx -d 'List-Unsubscribe=One-Click&x=1'
check4xx -d 'List-Unsubscribe=Two-Clicks'
check4xx -H 'Content-Type: text/plain' -d 'List-Unsubscribe=One-Click'
check4xx -H 'Content-Type: application/json' -d '{"List-Unsubscribe":"One-Click"}'
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/big"
check4xx --data-binary @"$T/big"
# An endless chunked body: refused (411: a length is required) before
# any of it is read, the connection closed.
python3 - "$PORT" "$UTOK" <<'PY' || fail "an endless chunked body was not cut off"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(10)
s.sendall(("POST /u/%s HTTP/1.1\r\nHost: x\r\nContent-Type: "
           "application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked"
           "\r\n\r\n" % sys.argv[2]).encode())
reply = b""
try:
    for _ in range(10000):
        s.sendall(b"100\r\n" + b"a" * 256 + b"\r\n")
        s.setblocking(False)
        try:
            got = s.recv(4096)
            reply += got
            if not got or reply:
                break
        except BlockingIOError:
            pass
        s.setblocking(True)
except OSError:
    pass
s.setblocking(True)
try:
    while True:
        got = s.recv(4096)
        if not got:
            break
        reply += got
except OSError:
    pass
sys.exit(0 if reply.startswith(b"HTTP/1.1 411") else 1)
PY
[ "$(state ann@example.org)" = active ] || fail "a bad body unsubscribed ann (B4)"

# B5: tampered tokens: one uniform 404, never a 500.
curl -s -o "$T/ref" "$URL/u/AAAA"
python3 - "$UTOK" >"$T/bad-tokens" <<'PY'
import sys
t = sys.argv[1]
out = []
for i in range(len(t)):
    c = "A" if t[i] != "A" else "B"
    out.append(t[:i] + c + t[i + 1:])
out += [t[:-1], t[:10], t + "A", t + "==", t + "%3D", "%2F" + t,
        t + "%2F", "%252F" + t, t[:20] + "%C3%A9" + t[21:], "A" * 10000,
        "%00" + t, "..%2F..%2Fetc", t[:5] + "%2B" + t[6:]]
# The standard base64 alphabet (+ and /) for the URL-safe one.
out += [t.replace("-", "%2B").replace("_", "%2F")] if set("-_") & set(t) else []
print("\n".join(x for x in out if x != t))
PY
while read -r bad; do
	code=$(curl -s -o "$T/got" -w '%{http_code}' "$URL/u/$bad")
	[ "$code" = 404 ] || [ "$code" = 414 ] || [ "$code" = 431 ] || fail "GET /u/$bad answered $code"
	[ "$code" != 404 ] || cmp -s "$T/got" "$T/ref" || fail "GET /u/$bad: not the uniform page"
	code=$(curl -s -o "$T/got" -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$bad")
	[ "$code" = 404 ] || [ "$code" = 414 ] || [ "$code" = 431 ] || fail "POST /u/$bad answered $code"
done <"$T/bad-tokens"
for who in ann bob carol; do
	[ "$(state $who@example.org)" = active ] || fail "a tampered token unsubscribed $who (B5)"
done
assert_not_contains "$T/daemon.log" "Server error"

# B6: purpose and list binding.
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$CTOK")
[ "$code" = 404 ] || fail "a confirm token worked on /u/ ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -d confirm=yes "$URL/c/$UTOK")
[ "$code" = 404 ] || fail "an unsubscribe token worked on /c/ ($code)"
ann_id=$(q "SELECT id FROM subscribers WHERE address = 'ann@example.org'")
bob_id=$(q "SELECT id FROM subscribers WHERE address = 'bob@example.org'")
other=$(python3 "$FORGE" "$W/demo-secret" u other "$ann_id" "$(date +%s)")
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$other")
[ "$code" = 404 ] || fail "a token for list other worked on staff-news ($code)"
[ "$(state ann@example.org)" = active ] || fail "a cross-list token unsubscribed ann (B6)"
# Bob's token with Ann's id spliced in: the MAC no longer matches.
spliced=$(python3 - "$BTOK" "$ann_id" <<'PY'
import base64, struct, sys
t = sys.argv[1]
raw = bytearray(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
raw[6:14] = struct.pack(">q", int(sys.argv[2]))
print(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
PY
)
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$spliced")
[ "$code" = 404 ] || fail "a spliced token worked ($code)"
[ "$(state ann@example.org)" = active ] || fail "a spliced token unsubscribed ann (B6)"

# B8: an expired confirmation link says so (410) and confirms nothing.
mail 'dave@example.org' 'staff-news-request@example.org' 'subscribe'
wait_for "$T/daemon.log" "confirm reply delivered to dave@example.org"
dave_id=$(q "SELECT id FROM subscribers WHERE address = 'dave@example.org'")
old=$(($(date +%s) - 8 * 86400))
q "UPDATE subscribers SET confirm_issued = $old WHERE id = $dave_id"
expired=$(python3 "$FORGE" "$W/demo-secret" c staff-news "$dave_id" "$old")
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL/c/$expired")
[ "$code" = 410 ] || fail "an expired confirm link answered $code"
assert_contains "$T/page" "expired"
code=$(curl -s -o /dev/null -w '%{http_code}' -d confirm=yes "$URL/c/$expired")
[ "$code" = 410 ] || fail "an expired confirm POST answered $code"
[ "$(state dave@example.org)" = pending ] || fail "an expired token confirmed dave"

# ---- C8, C9: mailed unsubscribe ----
# Without a token (the From may be forged): only a mail that asks.
mail 'bob@example.org' 'staff-news+unsubscribe@example.org'
wait_for "$T/daemon.log" "leave reply delivered to bob@example.org"
[ "$(state bob@example.org)" = active ] || fail "a mailed unsubscribe without token acted (C8)"
# With a bad token: the same.
mail "bob@example.org" "staff-news+unsubscribe-${BTOK}x@example.org"
i=0
while [ "$(mails_to bob@example.org leave)" != 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(mails_to bob@example.org leave)" = 2 ] || fail "a bad token did not ask for confirmation (C9)"
[ "$(state bob@example.org)" = active ] || fail "a bad mailed token unsubscribed bob (C9)"
# With the token (the mailto of List-Unsubscribe): at once.
mail 'someone@else.example' "staff-news+unsubscribe-$BTOK@example.org"
wait_for "$T/daemon.log" "goodbye reply delivered to bob@example.org"
[ "$(state bob@example.org)" = unsubscribed ] || fail "the mailto token did not unsubscribe bob"

# ---- B3: one-click POST, urlencoded and multipart ----
curl -s -D "$T/hdr" -o "$T/page" -H 'Cookie: session=1' -H 'Authorization: Basic eDp5' \
	-d List-Unsubscribe=One-Click "$URL/u/$UTOK"
head -1 "$T/hdr" | grep -q ' 200' || fail "one-click POST: $(head -1 "$T/hdr")"
# Removed before the answer came: no wait here.
[ "$(state ann@example.org)" = unsubscribed ] || fail "one-click POST did not unsubscribe ann"
if grep -qi '^Location:\|^Set-Cookie:' "$T/hdr"; then fail "one-click answer has Location or Set-Cookie"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$UTOK")
[ "$code" = 200 ] || fail "a repeated one-click POST answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -F List-Unsubscribe=One-Click "$URL/u/$CATOK")
[ "$code" = 200 ] || fail "multipart one-click POST answered $code"
[ "$(state carol@example.org)" = unsubscribed ] || fail "multipart one-click did not unsubscribe carol"

# No more digests for them.
before=$(grep -l '^To: ann@example.org' "$W"/maildir/new/* | wc -l)
expect_exit 0 ctl send staff-news
after=$(grep -l '^To: ann@example.org' "$W"/maildir/new/* | wc -l)
[ "$before" = "$after" ] || fail "ann got a digest after unsubscribing"

# ---- B11: the form answers the same, whoever ----
for a in ann@example.org dave@example.org newbie@example.org not-an-address 'x@ex ample.org' erin@bücher.example; do
	curl -s -o "$T/form-$(printf %s "$a" | md5sum | cut -c1-8)" -w '%{http_code}\n' \
		--data-urlencode "address=$a" -d "form_token=$FT" "$URL/s/staff-news" >>"$T/codes"
done
[ "$(sort -u "$T/codes")" = 200 ] || fail "the form answered differently: $(sort -u "$T/codes" | tr '\n' ' ')"
[ "$(md5sum "$T"/form-* | cut -d' ' -f1 | sort -u | wc -l)" = 1 ] || fail "the form's pages differ (B11)"
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL/s/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
[ "$code" = 404 ] || fail "/s/<script> answered $code"
assert_not_contains "$T/page" "<script>"

# ---- C4: no user text but the address in a confirmation ----
mail '"Cheap pills at evil.biz" <frank@example.org>' 'staff-news+subscribe@example.org'
wait_for "$T/daemon.log" "confirm reply delivered to frank@example.org"
assert_not_contains "$(last_mail frank@example.org)" "Cheap"

# ---- C8: at most 10 automatic replies a day to one address ----
i=0
while [ $i -lt 14 ]; do
	mail 'gina@example.org' 'staff-news+help@example.org'
	i=$((i + 1))
done
i=0
while [ "$(q "SELECT count(*) FROM commands WHERE state = 'pending'")" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(mails_to gina@example.org help)" = 10 ] || fail "gina got $(mails_to gina@example.org help) help replies, expected 10"

# ---- C1: one victim, many clients: one confirmation, its token reused ----
# 1,000 form posts, each from its own address (127.1.x.y).
/usr/bin/python3 - "$PORT" "$FT" <<'PY' || fail "C1 posts failed"
import http.client, sys, urllib.parse
port, ft = int(sys.argv[1]), sys.argv[2]
body = urllib.parse.urlencode({"address": "victim@example.org",
                               "form_token": ft})
for i in range(1000):
    src = "127.1.%d.%d" % (i // 250, i % 250 + 1)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                   source_address=(src, 0))
    c.request("POST", "/s/staff-news", body=body,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    c.close()
    if r.status != 200:
        sys.exit("C1: post %d from %s answered %d" % (i, src, r.status))
PY
i=0
while [ $i -lt 10 ]; do
	mail 'Victim@Example.org' 'staff-news+subscribe@example.org'
	i=$((i + 1))
done
sleep 1.5
[ "$(q "SELECT count(*) FROM notices WHERE address = 'victim@example.org' COLLATE NOCASE")" = 1 ] ||
	fail "victim got $(q "SELECT count(*) FROM notices WHERE address = 'victim@example.org' COLLATE NOCASE") mails (C1)"
ctl subscribers staff-news requests >"$T/requests"
assert_contains "$T/requests" "less than 15 minutes ago"

# ---- C2: many victims from one client, and the hourly cap ----
i=1
while [ $i -le 40 ]; do
	curl -s -o /dev/null --interface 127.0.2.1 --data-urlencode "address=v$i@example.org" -d "form_token=$FT" "$URL/s/staff-news"
	i=$((i + 1))
done
sleep 1.5
[ "$(grep -c 'client 127.0.2.1 is over form_per_ip' "$T/daemon.log")" = 10 ] || fail "the per-client cap did not hold (C2)"
total=$(q "SELECT count(*) FROM notices WHERE kind = 'confirm' AND created > strftime('%s','now') - 3600")
[ "$total" = 8 ] || fail "$total confirmations this hour, expected the cap of 8 (C2)"
ctl subscribers staff-news requests >"$T/requests"
assert_contains "$T/requests" "confirmations_per_hour reached"
# ...and the metrics count what was absorbed, without an address (B11).
curl -s "$URL/metrics" >"$T/metrics"
grep -qx 'bulletin_form_posts_absorbed_total 10' "$T/metrics" ||
	fail "form posts absorbed: $(grep form_posts "$T/metrics")"
absorbed=$(q "SELECT count(*) FROM sub_events WHERE outcome LIKE 'absorbed%'")
[ "$absorbed" -gt 20 ] || fail "only $absorbed absorbed requests recorded"
grep -qx "bulletin_replies_absorbed_total $absorbed" "$T/metrics" ||
	fail "replies absorbed: $(grep replies_absorbed "$T/metrics"), expected $absorbed"
assert_not_contains "$T/metrics" "@"

# ---- B8: after a rotation, old unsubscribe links still work ----
stop_daemon
cp "$T/daemon.log" "$T/daemon1.log"
mv "$W/demo-secret" "$W/old-secret"
(umask 077 && head -c 32 /dev/urandom >"$W/demo-secret")
sed -i "s|^secret_file = demo-secret|secret_file = demo-secret\nprevious_secret_file = old-secret|" "$cfg"
q "UPDATE subscribers SET state = 'active' WHERE address = 'ann@example.org'"
start_daemon
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$UTOK")
[ "$code" = 200 ] || fail "an old-key token answered $code after rotation"
[ "$(state ann@example.org)" = unsubscribed ] || fail "an old-key token did not unsubscribe after rotation"

# No whole token, and no secret, is ever logged: every token any mail
# carried (links, List-Unsubscribe, +unsubscribe- addresses) is looked
# for in the daemon's and bulletinctl's logs.
stop_daemon
cat "$T/daemon1.log" "$T/daemon.log" "$T/receive.log" >"$T/all.log"
/usr/bin/python3 - "$W/maildir" "$T/all.log" "$W/demo-secret" "$W/old-secret" <<'PY'
import email, email.policy, os, re, sys
maildir, logfile = sys.argv[1], sys.argv[2]
log = open(logfile, encoding="utf-8", errors="replace").read()
tokens = set()
for sub in ("new", "cur"):
    d = os.path.join(maildir, sub)
    for name in os.listdir(d) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        text = str(msg.get("List-Unsubscribe", ""))
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                text += part.get_content()
        tokens.update(re.findall(r"/[uc]/([A-Za-z0-9_-]{20,})", text))
        tokens.update(re.findall(r"\+unsubscribe-([A-Za-z0-9_-]{20,})@", text))
if len(tokens) < 5:
    sys.exit("FAIL: only %d tokens found in the mail" % len(tokens))
for t in tokens:
    if t in log:
        sys.exit("FAIL: a whole token is in the log: %s" % t)
for path in sys.argv[3:]:
    secret = open(path, "rb").read()
    if secret.hex() in log or secret.decode("latin-1") in log:
        sys.exit("FAIL: the secret in %s is in the log" % path)
print("checked %d tokens" % len(tokens))
PY
echo "ok"
