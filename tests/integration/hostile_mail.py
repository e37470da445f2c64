#!/usr/bin/env python3
"""Writes the hostile messages of RELIABILITY F5 into DIR, as NAME.eml:

  nested      multipart nested 10,000 deep
  manyparts   one multipart with 1,000,000 tiny parts (10 MB)
  manyto      100,000 To headers
  bighead     one 1 MB header
  bigattach   a 50 MB attachment
  badb64      broken base64
  badqp       broken quoted-printable
  xunknown    charset=x-unknown with 8-bit bytes
  crlfname    CR LF inside RFC 2047 words in From and Subject

usage: hostile_mail.py DIR
"""
import os
import sys
out = sys.argv[1]
H = ("From: Branch Briefings <briefings@union.example.org>\r\n"
     "To: branch@example.org\r\n"
     "Date: Tue, 03 Nov 2026 09:15:00 +0000\r\n")
def w(name, data):
    with open(os.path.join(out, name + ".eml"), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
def head(n, subj, extra=""):
    return H + "Subject: %s\r\nMessage-ID: <%s@union.example.org>\r\nMIME-Version: 1.0\r\n%s" % (subj, n, extra)
# multipart nested 10,000 deep
depth = 10000
body = "".join("Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
body += "Content-Type: text/plain\r\n\r\ndeep\r\n" + "".join("--b%d--\r\n" % i for i in reversed(range(depth)))
w("nested", head("nested", "Deep") + body)
# one million tiny parts
b = ["Content-Type: multipart/mixed; boundary=p\r\n\r\n"]
b += ["--p\r\n\r\nx\r\n"] * 1000000
b.append("--p--\r\n")
w("manyparts", head("manyparts", "Many parts", "") + "".join(b))
# 100k To headers
w("manyto", H.replace("To: branch@example.org\r\n", "") + "".join("To: r%d@example.org\r\n" % i for i in range(100000)) + "Subject: Many recipients\r\nMessage-ID: <manyto@union.example.org>\r\n\r\nbody\r\n")
# a 1 MB header
w("bighead", head("bighead", "Big header", "X-Filler: " + "y" * (1 << 20) + "\r\n") + "\r\nbody\r\n")
# 50 MB attachment
w("bigattach", head("bigattach", "Big attachment", "Content-Type: multipart/mixed; boundary=a\r\n") +
  "\r\n--a\r\nContent-Type: text/plain\r\n\r\nSee the attached report on caseloads.\r\n--a\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
  ("QUJD" * 19 + "\r\n") * (50 * 1024 * 1024 // 78) + "--a--\r\n")
# bad base64 and bad quoted-printable
w("badb64", head("badb64", "Broken base64 notice", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n") +
  "\r\nVGhlIGJyYW5jaCBtZWV0aW5n!!!IGlzIG9uIFR1ZXNkYXk=*&^%\r\n====\r\n")
w("badqp", head("badqp", "Broken QP notice", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n") +
  "\r\nThe ballot =ZZ closes =E2=80 on Friday=\r\n=\r\n")
# unknown charset
w("xunknown", (head("xunknown", "Unknown charset notice", "Content-Type: text/plain; charset=x-unknown\r\n") +
  "\r\nThe survey closes on Monday \xe9\xe8.\r\n").encode("latin-1"))
# CRLF inside an encoded display name
w("crlfname", ("From: =?UTF-8?Q?Branch=0D=0ABcc:_victim@example.org?= <briefings@union.example.org>\r\n"
  "To: branch@example.org\r\nDate: Tue, 03 Nov 2026 09:15:00 +0000\r\n"
  "Subject: =?UTF-8?Q?Name=0D=0AX-Injected:_yes?=\r\nMessage-ID: <crlfname@union.example.org>\r\nMIME-Version: 1.0\r\n"
  "Content-Type: text/plain; charset=utf-8\r\n\r\nA note about the staff survey.\r\n"))
