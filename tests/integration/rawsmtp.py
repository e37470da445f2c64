#!/usr/bin/env python3
"""A bare SMTP server for the tests that keeps what came over the wire.

usage: rawsmtp.py PORT DIR [--dot-delay SECONDS]

Listens on 127.0.0.1:PORT and creates DIR/ready once it does. Each
message's DATA is written as received, dot-stuffing and all, up to and
including the final "CRLF.CRLF", to DIR/N.raw (N counts from 1), and its
envelope to DIR/N.env ("MAIL FROM:<...>" and "RCPT TO:<...>" lines).
DIR/sessions gets one line per session when it ends: "SESSIONS MAX",
the sessions so far and the most that were open at once (a session
counts from its EHLO, so a probe that only reads the greeting does not). Every reply is
250 (354 to DATA), the one to the final dot after --dot-delay seconds
(a slow server). No PIPELINING, no 8BITMIME: a client must send 7-bit.
"""
import argparse
import os
import socketserver
import threading
import time

lock = threading.Lock()
state = {"open": 0, "max": 0, "sessions": 0, "messages": 0}


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.counted = False
        try:
            self.session()
        finally:
            if self.counted:
                with lock:
                    state["open"] -= 1
                    with open(os.path.join(args.dir, "sessions"), "a") as f:
                        f.write("%d %d\n" % (state["sessions"], state["max"]))

    def count(self):
        """A session counts from its EHLO (a probe that only reads the
        greeting does not)."""
        if self.counted:
            return
        self.counted = True
        with lock:
            state["open"] += 1
            state["sessions"] += 1
            state["max"] = max(state["max"], state["open"])

    def session(self):
        env = []
        self.reply("220 rawsmtp ESMTP")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.count()
                self.reply("250 rawsmtp")
            elif verb == "MAIL":
                env = [cmd]
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                env.append(cmd)
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.data(env)
                env = []
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 Ok")

    def data(self, env):
        raw = b""
        # The end is CRLF "." CRLF, or "." CRLF straight after DATA.
        while not (raw.endswith(b"\r\n.\r\n") or raw == b".\r\n"):
            chunk = self.rfile.readline(65536)
            if not chunk:
                return
            raw += chunk
        with lock:
            state["messages"] += 1
            n = state["messages"]
        with open(os.path.join(args.dir, "%d.raw" % n), "wb") as f:
            f.write(raw)
        with open(os.path.join(args.dir, "%d.env" % n), "w") as f:
            f.write("\n".join(env) + "\n")
        if args.dot_delay:
            time.sleep(args.dot_delay)
        self.reply("250 2.0.0 Ok: queued as %d" % n)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("dir")
p.add_argument("--dot-delay", type=float, default=0)
args = p.parse_args()
server = Server(("127.0.0.1", args.port), Session)
open(os.path.join(args.dir, "ready"), "w").close()
server.serve_forever()
