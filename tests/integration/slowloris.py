#!/usr/bin/env python3
"""Slow clients against bulletind's HTTP endpoint (RELIABILITY B9), for
http_slow.sh. usage: slowloris.py PORT PID OUT

Opens connections that trickle their headers a byte at a time, never
sending the blank line that ends them, and POSTs whose body never
finishes, from several client addresses (127.0.5.N), while a normal
client (127.0.6.1) asks for /healthz. Each slow connection keeps sending,
so an idle timeout alone never closes it. Writes what it saw to OUT, one
"key value" a line, for the shell to check:

  opened N          slow connections opened (and the probes below)
  answered N        slow connections that got any byte of an answer
  open_at_end N     slow connections still open when it gave up
  refused_probe X   "yes" when a full request from 127.0.5.1, sent while
                    its 64 slow connections were open, was closed
                    unanswered (the per-address limit)
  normal_1 / normal_2 STATUS  the normal client's status line, with one
                    address's worth of slow connections open, then with
                    five addresses' worth (more than the endpoint keeps)
  keepalive X       "yes" when a connection that asked for /healthz (a
                    200) and then idled, kept alive, was closed too
  rss_before / rss_peak KIB  the daemon's resident memory
"""
import errno
import os
import select
import socket
import sys
import threading
import time

PORT, PID, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
TRICKLE = 0.25  # seconds between bytes: far below the idle timeout
GIVE_UP = 60  # seconds to wait for the daemon to close them all

HEAD = (b"GET /healthz HTTP/1.1\r\nHost: bulletin\r\nUser-Agent: slow\r\n"
        b"X-Pad: " + b"a" * 4000)
BODY_HEAD = (b"POST /s/staff-news HTTP/1.1\r\nHost: bulletin\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: 1000\r\n\r\naddress=")


class Slow:
    def __init__(self, ip, body):
        self.s = socket.socket()
        self.s.bind((ip, 0))
        self.s.connect(("127.0.0.1", PORT))
        self.s.setblocking(False)
        self.data = BODY_HEAD + b"x" * 900 if body else HEAD
        # A POST sends its headers at once; the body trickles.
        self.pos = len(BODY_HEAD) if body else 0
        if body:
            self.s.send(BODY_HEAD)
        self.closed = False
        self.answered = False

    def step(self):
        """Sends the next byte; notes a close or an answer."""
        if self.closed:
            return
        try:
            got = self.s.recv(4096)
            if got:
                self.answered = True
            else:
                self.close()
                return
        except BlockingIOError:
            pass
        except OSError:
            self.close()
            return
        if self.pos < len(self.data):
            try:
                self.s.send(self.data[self.pos:self.pos + 1])
                self.pos += 1
            except BlockingIOError:
                pass
            except OSError:
                self.close()

    def close(self):
        self.closed = True
        self.s.close()


def rss():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(ip, timeout=20):
    """A whole GET /healthz from ip: the status line, or what went wrong."""
    s = socket.socket()
    s.bind((ip, 0))
    s.settimeout(timeout)
    reply = b""
    try:
        s.connect(("127.0.0.1", PORT))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bulletin\r\n"
                  b"Connection: close\r\n\r\n")
        while True:
            got = s.recv(4096)
            if not got:
                break
            reply += got
    except socket.timeout:
        return "timeout"
    except OSError as e:
        if not reply:
            return "closed:" + errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
    return reply.split(b"\r\n", 1)[0].decode() if reply else "closed"


def request_while(conns, ip, timeout=20):
    """request(ip) in a thread while the slow connections keep going."""
    res = []
    t = threading.Thread(target=lambda: res.append(request(ip, timeout)))
    t.start()
    while t.is_alive():
        trickle(conns, TRICKLE)
    t.join()
    return res[0]


def trickle(conns, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in conns:
            c.step()
        time.sleep(TRICKLE)


out = {}
conns = []
out["rss_before"] = rss()
# One address: more than the per-address limit (64).
for _ in range(80):
    conns.append(Slow("127.0.5.1", False))
trickle(conns, 1)
probe = request_while(conns, "127.0.5.1", 5)
out["refused_probe"] = "yes" if probe.startswith("closed") else probe
out["normal_1"] = request_while(conns, "127.0.6.1")
# Four more addresses, 64 each, and stalled bodies from a sixth: more
# than the endpoint keeps open at once.
for ip in range(2, 6):
    for _ in range(64):
        conns.append(Slow("127.0.5.%d" % ip, False))
for _ in range(10):
    conns.append(Slow("127.0.5.6", True))
trickle(conns, 1)
out["normal_2"] = request_while(conns, "127.0.6.1")
out["rss_peak"] = rss()
# A client that keeps its connection alive after an answer: closed in
# time like the rest, but it is no slow client.
keep = socket.create_connection(("127.0.0.1", PORT), 20)
keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: bulletin\r\n\r\n")
first = keep.recv(4096)
keep.setblocking(False)
keep_closed = False
# Keep trickling until the daemon has closed every one of them.
end = time.monotonic() + GIVE_UP
while time.monotonic() < end and not (
        keep_closed and all(c.closed for c in conns)):
    trickle(conns, 1)
    out["rss_peak"] = max(out["rss_peak"], rss())
    try:
        keep_closed = keep_closed or keep.recv(4096) == b""
    except BlockingIOError:
        pass
    except OSError:
        keep_closed = True
out["keepalive"] = ("yes" if first.startswith(b"HTTP/1.1 200") and keep_closed
                    else "no: %r, closed %s" % (first[:20], keep_closed))
out["opened"] = len(conns) + 1  # and the refused probe
out["answered"] = sum(c.answered for c in conns)
out["open_at_end"] = sum(not c.closed for c in conns)
with open(OUT, "w") as f:
    for k, v in out.items():
        f.write("%s %s\n" % (k, v))
