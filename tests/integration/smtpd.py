#!/usr/bin/python3
"""An SMTP server with STARTTLS and AUTH for the tests, on aiosmtpd
(Debian's python3-aiosmtpd; run it with Debian's /usr/bin/python3).

usage: smtpd.py MODE PORT DIR CERT KEY

Listens on 127.0.0.1:PORT and creates DIR/ready once it does. Every message
is written to DIR/N.eml, and every session's facts to DIR/log, one line
each ("tls yes|no", "auth USER", "mail FROM", "rcpt TO"). MODE:

  starttls    STARTTLS offered and required before MAIL and AUTH
  auth        as starttls, and AUTH PLAIN/LOGIN required: user "news",
              password "s3cret"
  nostarttls  no STARTTLS at all (a server that was downgraded)
  smtps       TLS from the first byte (implicit TLS, port 465 style)
"""
import itertools
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

counter = itertools.count(1)


class Handler:
    def __init__(self, out):
        self.out = out

    def log(self, line):
        with open(os.path.join(self.out, "log"), "a") as f:
            f.write(line + "\n")

    async def handle_RCPT(self, server, session, envelope, address, options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.log("tls %s" % ("yes" if tls else "no"))
        self.log("mail %s" % envelope.mail_from)
        for r in envelope.rcpt_tos:
            self.log("rcpt %s" % r)
        path = os.path.join(self.out, "%d.eml" % next(counter))
        with open(path, "wb") as f:
            f.write(envelope.original_content)
        return "250 Message accepted"


def make_authenticator(handler):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == b"news" and
              auth_data.password == b"s3cret")
        login = auth_data.login.decode(errors="replace") \
            if isinstance(auth_data, LoginPassword) else "?"
        handler.log("auth %s %s" % (login, "ok" if ok else "refused"))
        return AuthResult(success=ok, handled=False)
    return authenticator


class TLSController(Controller):
    """Controller whose listener is TLS from the first byte."""

    def __init__(self, handler, context, **kw):
        self.listen_context = context
        super().__init__(handler, **kw)

    def _create_server(self):
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port,
            ssl=self.listen_context)

    def _trigger_server(self):
        # The base class checks the server with a plain connection;
        # this one needs TLS (any certificate will do here).
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.hostname, self.port), 5) as s:
            with ctx.wrap_socket(s) as t:
                t.recv(1024)


def main():
    mode, port, out, cert, key = sys.argv[1:6]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = Handler(out)
    kw = dict(hostname="127.0.0.1", port=int(port), ready_timeout=10)
    if mode == "starttls":
        c = Controller(handler, tls_context=ctx, require_starttls=True,
                       auth_require_tls=True, **kw)
    elif mode == "auth":
        c = Controller(handler, tls_context=ctx, require_starttls=True,
                       auth_require_tls=True, auth_required=True,
                       authenticator=make_authenticator(handler), **kw)
    elif mode == "nostarttls":
        c = Controller(handler, auth_require_tls=False, **kw)
    elif mode == "smtps":
        c = TLSController(handler, ctx, **kw)
    else:
        sys.exit("smtpd.py: unknown mode %s" % mode)
    c.start()
    open(os.path.join(out, "ready"), "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
