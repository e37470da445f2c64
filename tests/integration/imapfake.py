#!/usr/bin/env python3
"""A scripted IMAP server for the faults Dovecot will not produce.

usage: imapfake.py MODE PORT_FILE LOG_FILE [CERT KEY]

Listens on 127.0.0.1 (a free port, written to PORT_FILE), serves one
connection after another and writes every line it receives to LOG_FILE,
so that a test can show what a client did or did not send (a LOGIN in
the clear, say). MODE:

  nostarttls  CAPABILITY lists no STARTTLS (RELIABILITY F2)
  nocaps      CAPABILITY is answered OK with no capability list at all
  starttlsno  STARTTLS is offered, then answered NO (F2)
  inject      STARTTLS is answered OK with one more reply in the same
              packet, the CVE-2020-15953 response injection (F1); then
              TLS with CERT and KEY
  silent      accepts and never says a word (bounded waits)
  biggreeting a greeting line of 100 MB

and, after a proper STARTTLS (CERT and KEY) and LOGIN, replies to SELECT
that are malformed or hostile (F4):

  status      an unsolicited `* STATUS "x" ()`
  permflags   PERMANENTFLAGS garbage
  biglit      a literal announced as {4294967295}, then silence
  longline    one 100 MB line
  endless     a line that never ends: a byte every 0.2 s
"""
import os
import socket
import ssl
import sys
import threading
import time


def main():
    mode, port_file, log_file = sys.argv[1:4]
    cert = sys.argv[4] if len(sys.argv) > 5 else None
    key = sys.argv[5] if len(sys.argv) > 5 else None
    log = open(log_file, "a", buffering=1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    # Renamed into place: the reader never sees half a number.
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, mode, log, cert, key),
                         daemon=True).start()


def lines(sock):
    buf = b""
    while True:
        while b"\n" not in buf:
            data = sock.recv(4096)
            if not data:
                return
            buf += data
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r")


def serve(conn, mode, log, cert, key):
    conn.settimeout(60)
    try:
        if mode == "silent":
            while conn.recv(4096):
                pass
            return
        if mode == "biggreeting":
            conn.sendall(b"* OK ")
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(100):
                    conn.sendall(chunk)
                conn.sendall(b"\r\n")
            except OSError:
                pass
            log.write("greeting sent\n")
            return
        caps = {
            "nostarttls": b"IMAP4rev1 AUTH=PLAIN",
            "nocaps": None,
            "starttlsno": b"IMAP4rev1 STARTTLS AUTH=PLAIN",
            "inject": b"IMAP4rev1 STARTTLS",
        }.get(mode, b"IMAP4rev1 STARTTLS AUTH=PLAIN")
        conn.sendall(b"* OK fake IMAP server ready\r\n")
        sock = conn
        for line in lines(sock):
            log.write(repr(line) + "\n")
            parts = line.split(b" ", 2)
            tag = parts[0]
            cmd = parts[1].upper() if len(parts) > 1 else b""
            if cmd == b"CAPABILITY":
                out = b""
                if caps is not None:
                    out = b"* CAPABILITY " + caps + b"\r\n"
                sock.sendall(out + tag + b" OK done\r\n")
            elif cmd == b"STARTTLS" and mode == "starttlsno":
                sock.sendall(tag + b" NO TLS is out of order\r\n")
            elif cmd == b"STARTTLS" and mode == "inject":
                # The OK and an injected reply in one packet.
                sock.sendall(tag + b" OK begin TLS\r\n"
                             b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(cert, key)
                sock = ctx.wrap_socket(conn, server_side=True)
                log.write("TLS started\n")
                return serve_tls(sock, log)
            elif cmd == b"STARTTLS" and mode in HOSTILE:
                sock.sendall(tag + b" OK begin TLS\r\n")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(cert, key)
                sock = ctx.wrap_socket(conn, server_side=True)
                return serve_hostile(sock, mode, log)
            elif cmd == b"LOGOUT":
                sock.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            elif cmd == b"LOGIN":
                sock.sendall(tag + b" OK logged in\r\n")
            else:
                sock.sendall(tag + b" BAD unknown\r\n")
    except (OSError, ssl.SSLError) as e:
        log.write("connection ended: %s\n" % e)
    finally:
        conn.close()


def serve_tls(sock, log):
    for line in lines(sock):
        log.write(repr(line) + "\n")
        tag = line.split(b" ", 1)[0]
        sock.sendall(tag + b" OK done\r\n")


HOSTILE = ("status", "permflags", "biglit", "longline", "endless")


def serve_hostile(sock, mode, log):
    for line in lines(sock):
        log.write(repr(line) + "\n")
        parts = line.split(b" ", 2)
        tag = parts[0]
        cmd = parts[1].upper() if len(parts) > 1 else b""
        if cmd == b"CAPABILITY":
            sock.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n" +
                         tag + b" OK done\r\n")
        elif cmd == b"LOGIN":
            sock.sendall(tag + b" OK logged in\r\n")
        elif cmd == b"LOGOUT":
            sock.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return
        elif cmd in (b"SELECT", b"EXAMINE"):
            ok = tag + b" OK [READ-WRITE] done\r\n"
            if mode == "status":
                sock.sendall(b'* STATUS "x" ()\r\n* 2 EXISTS\r\n'
                             b"* OK [UIDVALIDITY 7] ok\r\n" + ok)
            elif mode == "permflags":
                sock.sendall(b"* FLAGS (\\Seen)\r\n"
                             b"* OK [PERMANENTFLAGS (\\Seen \\* ((]\r\n"
                             b"* OK [PERMANENTFLAGS]\r\n"
                             b"* OK [UIDVALIDITY 7] ok\r\n" + ok)
            elif mode == "biglit":
                sock.sendall(b"* 1 FETCH (BODY[] {4294967295}\r\nabc")
                while sock.recv(4096):
                    pass
                return
            elif mode == "longline":
                sock.sendall(b"* OK ")
                chunk = b"x" * (1 << 20)
                for _ in range(100):
                    sock.sendall(chunk)
                sock.sendall(b"\r\n" + ok)
            elif mode == "endless":
                sock.sendall(b"* OK ")
                while True:
                    sock.sendall(b"x")
                    time.sleep(0.2)
        elif cmd == b"UID":
            sock.sendall(b"* SEARCH\r\n" + tag + b" OK done\r\n")
        else:
            sock.sendall(tag + b" BAD unknown\r\n")


if __name__ == "__main__":
    main()
