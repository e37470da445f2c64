#!/usr/bin/env python3
"""Reads the messages smtp-sink dumped and checks each one with an
independent parser: Python's email package, strict policy (any defect
is an error).

usage: check_mail.py DIR LIST_ADDRESS

For every file in DIR: smtp-sink's own lines (X-Client-Addr ...,
Received) come first and are read as headers too. Checks, header by
header and line by line:
  - the envelope: MAIL FROM is LIST_ADDRESS's VERP bounce address
    (LOCAL+bounce-TOKEN@DOMAIN), one RCPT, and To is it;
  - From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
    Content-Transfer-Encoding, List-Id, List-Unsubscribe (https and
    mailto), List-Unsubscribe-Post, Precedence, Auto-Submitted: each once;
  - text/plain, charset utf-8, format=flowed; the body decodes as UTF-8;
  - no line over 78 characters but a reference line "[n] URL" with one
    URL; no header line over 998;
  - the body's footer names the recipient and holds the same
    unsubscribe link as List-Unsubscribe.
Prints "RCPT MESSAGE-ID" per message, sorted, and exits 1 on the first
problem, naming the file.
"""
import email
import email.policy
import os
import re
import sys

ONCE = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "List-Id",
        "List-Unsubscribe", "List-Unsubscribe-Post", "Precedence",
        "Auto-Submitted"]


def fail(path, why):
    sys.exit("check_mail.py: %s: %s" % (os.path.basename(path), why))


def check(path, list_address):
    raw = open(path, "rb").read()
    for line in raw.split(b"\n"):
        if len(line.rstrip(b"\r")) > 998:
            fail(path, "a line over 998 bytes")
    msg = email.message_from_bytes(raw, policy=email.policy.strict)
    mail_args = msg.get_all("X-Mail-Args") or []
    rcpt_args = msg.get_all("X-Rcpt-Args") or []
    # The envelope sender is the list's VERP bounce address.
    local, domain = list_address.rsplit("@", 1)
    if len(mail_args) != 1 or \
            not re.match(r"(FROM:)?<%s\+bounce-[a-z2-7]{26}@%s>" %
                         (re.escape(local), re.escape(domain)),
                         mail_args[0]):
        fail(path, "MAIL FROM %r" % mail_args)
    if len(rcpt_args) != 1:
        fail(path, "RCPT %r" % rcpt_args)
    m = re.match(r"(?:TO:)?<([^>]+)>", rcpt_args[0])
    if not m:
        fail(path, "RCPT %r" % rcpt_args)
    rcpt = m.group(1)
    for h in ONCE:
        if len(msg.get_all(h) or []) != 1:
            fail(path, "%s appears %d times" % (h, len(msg.get_all(h) or [])))
    if msg["To"].addresses[0].addr_spec != rcpt:
        fail(path, "To %s but RCPT %s" % (msg["To"], rcpt))
    if msg["From"].addresses[0].addr_spec != list_address:
        fail(path, "From %s" % msg["From"])
    unsub = str(msg["List-Unsubscribe"])
    if not re.search(r"<https://[^>]+/u/[^>]+>", unsub) or \
            "<mailto:" not in unsub:
        fail(path, "List-Unsubscribe %s" % unsub)
    if str(msg["List-Unsubscribe-Post"]) != "List-Unsubscribe=One-Click":
        fail(path, "List-Unsubscribe-Post %s" % msg["List-Unsubscribe-Post"])
    if str(msg["Precedence"]) != "bulk" or \
            str(msg["Auto-Submitted"]) != "auto-generated":
        fail(path, "Precedence/Auto-Submitted")
    if msg.get_content_type() != "text/plain" or \
            msg.get_content_charset() != "utf-8" or \
            msg.get_param("format") != "flowed":
        fail(path, "Content-Type %s" % msg["Content-Type"])
    body = msg.get_payload(decode=True).decode("utf-8")
    for line in body.split("\n"):
        line = line.rstrip("\r")
        if len(line) > 78 and not re.fullmatch(r"\[\d+\] \S+", line):
            fail(path, "body line over 78: %r" % line)
    # The footer is the recipient's own: their address and the same
    # personal link as List-Unsubscribe (the body is rendered once per
    # digest and only these filled in per recipient).
    url = re.search(r"<(https://[^>]+)>", unsub).group(1)
    if not re.search(r"(^|\s)%s\r?\n" % re.escape(url), body):
        fail(path, "the body lacks the List-Unsubscribe link %s" % url)
    if " %s " % rcpt not in body:
        fail(path, "the body does not name the recipient %s" % rcpt)
    return rcpt, str(msg["Message-ID"])


def main():
    d, list_address = sys.argv[1:3]
    out = []
    for name in sorted(os.listdir(d)):
        out.append(check(os.path.join(d, name), list_address))
    for rcpt, mid in sorted(out):
        print(rcpt, mid)


if __name__ == "__main__":
    main()
