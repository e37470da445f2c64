#!/bin/sh
# DKIM (RELIABILITY A3): a digest as it leaves bulletin, signed the way
# contrib/dkim.txt configures OpenDKIM (its SignHeaders and
# OversignHeaders lines, relaxed/simple), with dkimpy: the signature
# verifies, its h= covers List-Unsubscribe and List-Unsubscribe-Post
# once more than they occur (oversigned), and a copy of either added
# after signing breaks it. Skipped without a signer (python3-dkim) or
# openssl.
set -eu
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import dkim' 2>/dev/null ||
	skip "no DKIM signer to test with (apt-get install python3-dkim)"
command -v openssl >/dev/null || skip "openssl is not installed"

demo_setup
"$BULLETINCTL" -c "$cfg" subscribers staff-news add ann@example.org >/dev/null
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
start_rawsmtp dkim
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$RAW_PORT|" "$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "1 sent, 0 deferred, 0 failed"
openssl genrsa -out "$T/dkim.key" 2048 2>/dev/null || fail "openssl genrsa failed"
openssl rsa -in "$T/dkim.key" -pubout -outform DER 2>/dev/null |
	base64 -w0 >"$T/dkim.pub" || fail "openssl rsa failed"

/usr/bin/python3 - "$RAW_DIR/1.raw" "$SOURCE_ROOT/contrib/dkim.txt" \
	"$T/dkim.key" "$T/dkim.pub" <<'PY' || fail "DKIM check failed"
import re, sys
import dkim
raw_path, conf_path, key_path, pub_path = sys.argv[1:5]
# The message as it left: the DATA without the end and the stuffing.
lines = open(raw_path, "rb").read()[:-len(b".\r\n")].split(b"\r\n")
msg = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
conf = open(conf_path).read()
def header_list(name):
    m = re.search(r"^\s*%s\s+(\S+)\s*$" % name, conf, re.M)
    if not m:
        sys.exit("contrib/dkim.txt has no %s line" % name)
    return [h.strip().lower().encode() for h in m.group(1).split(",")]
sign, over = header_list("SignHeaders"), header_list("OversignHeaders")
for h in (b"list-unsubscribe", b"list-unsubscribe-post"):
    if h not in sign or h not in over:
        sys.exit("contrib/dkim.txt does not sign and oversign %s" % h.decode())
key = open(key_path, "rb").read()
pub = open(pub_path).read().strip()
def dns(name, timeout=5):
    if name == b"news._domainkey.example.org.":
        return ("v=DKIM1; k=rsa; p=" + pub).encode()
    return b""
sig = dkim.sign(msg, b"news", b"example.org", key,
                canonicalize=(b"relaxed", b"simple"),
                include_headers=sign + over)
signed = sig + msg
if not dkim.verify(signed, dnsfunc=dns):
    sys.exit("the signature of a digest does not verify")
h = re.search(rb"\bh=([^;]*)", re.sub(rb"\r\n[ \t]+", b" ", sig)).group(1)
names = [x.strip().lower() for x in re.sub(rb"\s", b"", h).split(b":")]
for name in (b"list-unsubscribe", b"list-unsubscribe-post"):
    have = msg.lower().count(b"\r\n" + name + b":")
    if have != 1:
        sys.exit("%d %s headers in the digest" % (have, name.decode()))
    if names.count(name) != 2:
        sys.exit("h= lists %s %d times, not 2 (signed and oversigned): %s"
                 % (name.decode(), names.count(name), h.decode()))
# A copy added on the way, above or below the original: no longer valid.
head, _, body = signed.partition(b"\r\n\r\n")
for added in (b"List-Unsubscribe: <https://evil.example/u>",
              b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"):
    for tampered in (added + b"\r\n" + signed,
                     head + b"\r\n" + added + b"\r\n\r\n" + body):
        if dkim.verify(tampered, dnsfunc=dns):
            sys.exit("an added %r still verifies" % added)
print("ok")
PY
echo ok
