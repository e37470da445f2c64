#!/usr/bin/env python3
"""A scripted HTTP server for faults nginx cannot produce.

Usage: faultserver.py ROOT PORTFILE
Serves files under ROOT like a plain static server, plus:
  /stall/...               accepts the request and never answers; logs
                           "stalls now: N" (how many are held at once)
  /redirect/CODE/PATH      answers CODE (301, 302, 307, 308) to /PATH
  /loop                    redirects to itself, for ever
  /to-file                 redirects to file:///etc/passwd
  /gone/...                410 Gone
  /busy/SECONDS/...        503 with Retry-After: SECONDS
  /slow-down/...           429 with Retry-After as an HTTP-date, 2 h ahead
  /big/MEGABYTES           a feed that never ends before MEGABYTES MB,
                           without Content-Length
  /broken/KILOBYTES        a feed of about KILOBYTES KB of items, then
                           broken XML and 64 KB of blanks, then nothing
                           more: the connection stays open until the
                           client closes it
  /gzip-bomb               a small gzip body that inflates to 200 MB
  /gzip-cut/FILE           FILE gzipped, cut off half-way (the length
                           header matches what is sent)
  /etag/FILE               FILE with ETag "v1"; 304 when sent it back
  /moves-later/FILE        the first time: FILE with ETag "v1"; after
                           that: 301 to /etag/FILE
  /gzip2/FILE              FILE gzipped twice, Content-Encoding: gzip, gzip
  /gzip-crc/FILE           FILE gzipped, with a wrong CRC in the trailer
  /trickle/FILE            FILE with its length, one byte every 0.3 s
  /hold/FILE               logs "holding FILE", then answers only once
                           ROOT/.release exists: FILE as a feed
  /etag-cr/FILE            FILE with an ETag holding a bare CR and a
                           header after it; logs the If-None-Match it
                           is sent
Writes its port (127.0.0.1, chosen by the kernel) to PORTFILE once ready
and logs one line per request on stderr.
"""
import email.utils
import gzip
import http.server
import io
import os
import socketserver
import select
import socket
import sys
import threading
import time

BOMB = None
SEEN = set()
STALLS_LOCK = threading.Lock()


def bomb():
    global BOMB
    if BOMB is None:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode='wb', compresslevel=9) as z:
            z.write(b'<?xml version="1.0"?><rss version="2.0"><channel>'
                    b'<title>bomb</title><!-- ')
            chunk = b' ' * (1 << 20)
            for _ in range(200):
                z.write(chunk)
            z.write(b'--></channel></rss>')
        BOMB = buf.getvalue()
    return BOMB


STALLED = set()


def open_still(conn):
    """Whether the peer has not closed conn (no EOF waiting on it)."""
    try:
        r, _, _ = select.select([conn], [], [], 0)
        return not r or conn.recv(1, socket.MSG_PEEK) != b''
    except OSError:
        return False


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def answer(self, code, headers=(), body=b''):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        parts = p.split('/')
        if p.startswith('/stall/'):
            with STALLS_LOCK:
                # Held: this one and every other stalled connection the
                # client has not closed yet. (A thread may not have seen
                # its client's close yet: look at the sockets themselves.)
                held = 1 + sum(1 for c in STALLED if open_still(c))
                STALLED.add(self.connection)
                sys.stderr.write('faultserver: stalls now: %d\n' % held)
                sys.stderr.flush()
            try:
                # Until the client gives up and closes the connection.
                self.connection.settimeout(3600)
                self.connection.recv(1)
            finally:
                with STALLS_LOCK:
                    STALLED.discard(self.connection)
        elif p.startswith('/hold/'):
            name = '/'.join(parts[2:])
            sys.stderr.write('faultserver: holding %s\n' % name)
            sys.stderr.flush()
            while not os.path.exists(os.path.join(self.directory,
                                                  '.release')):
                time.sleep(0.05)
            with open(os.path.join(self.directory, name), 'rb') as f:
                body = f.read()
            self.answer(200, [('Content-Type', 'application/rss+xml')],
                        body)
        elif p.startswith('/redirect/'):
            code = int(parts[2])
            self.answer(code, [('Location', '/' + '/'.join(parts[3:]))])
        elif p == '/loop':
            self.answer(302, [('Location', '/loop')])
        elif p == '/to-file':
            self.answer(302, [('Location', 'file:///etc/passwd')])
        elif p.startswith('/gone/'):
            self.answer(410, body=b'gone')
        elif p.startswith('/busy/'):
            self.answer(503, [('Retry-After', parts[2])], b'busy')
        elif p.startswith('/slow-down/'):
            when = email.utils.formatdate(time.time() + 7200, usegmt=True)
            self.answer(429, [('Retry-After', when)], b'slow down')
        elif p.startswith('/big/'):
            self.send_response(200)
            self.send_header('Content-Type', 'application/rss+xml')
            self.send_header('Connection', 'close')
            self.end_headers()
            item = (b'<item><title>filler</title><description>' +
                    b'x' * 900 + b'</description></item>\n')
            self.wfile.write(b'<?xml version="1.0"?><rss version="2.0">'
                             b'<channel><title>big</title>\n')
            try:
                for _ in range(int(parts[2]) * 1024):
                    self.wfile.write(item)
                self.wfile.write(b'</channel></rss>\n')
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif p.startswith('/gzip2/'):
            with open(parts[2], 'rb') as f:
                z = gzip.compress(gzip.compress(f.read()))
            self.answer(200, [('Content-Type', 'application/rss+xml'),
                              ('Content-Encoding', 'gzip, gzip')], z)
        elif p.startswith('/gzip-crc/'):
            with open(parts[2], 'rb') as f:
                z = bytearray(gzip.compress(f.read()))
            z[-8] ^= 0xff  # the CRC32 of the trailer
            self.answer(200, [('Content-Type', 'application/rss+xml'),
                              ('Content-Encoding', 'gzip')], bytes(z))
        elif p.startswith('/trickle/'):
            with open(parts[2], 'rb') as f:
                body = f.read()
            self.send_response(200)
            self.send_header('Content-Type', 'application/rss+xml')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.3)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif p.startswith('/gzip-cut/'):
            with open(parts[2], 'rb') as f:
                z = gzip.compress(f.read())
            self.answer(200, [('Content-Type', 'application/rss+xml'),
                              ('Content-Encoding', 'gzip')],
                        z[:len(z) // 2])
        elif p.startswith('/etag/'):
            if self.headers.get('If-None-Match') == '"v1"':
                self.answer(304, [('ETag', '"v1"')])
            else:
                with open(parts[2], 'rb') as f:
                    self.answer(200, [('ETag', '"v1"'), ('Content-Type',
                                'application/rss+xml')], f.read())
        elif p.startswith('/moves-later/'):
            if p in SEEN:
                self.answer(301, [('Location', '/etag/' + parts[2])])
            else:
                SEEN.add(p)
                with open(parts[2], 'rb') as f:
                    self.answer(200, [('ETag', '"v1"'), ('Content-Type',
                                'application/rss+xml')], f.read())
        elif p.startswith('/etag-cr/'):
            sys.stderr.write('faultserver: if-none-match: %r\n' %
                             self.headers.get('If-None-Match'))
            with open(parts[2], 'rb') as f:
                body = f.read()
            self.answer(200, [('Content-Type', 'application/rss+xml'),
                              ('ETag', '"v1"\rX-Injected: yes')], body)
        elif p.startswith('/broken/'):
            self.send_response(200)
            self.send_header('Content-Type', 'application/rss+xml')
            self.end_headers()
            item = (b'<item><title>filler</title><description>' +
                    b'y' * 900 + b'</description></item>\n')
            try:
                self.wfile.write(b'<?xml version="1.0"?><rss version="2.0">'
                                 b'<channel><title>broken</title>\n')
                for _ in range(int(parts[2])):
                    self.wfile.write(item)
                self.wfile.write(b'<item><title>x</title></oops>\n')
                # Enough after the break that a parser reading in blocks
                # reaches it without the end of the stream.
                self.wfile.write(b' ' * 65536)
                self.wfile.flush()
                self.connection.settimeout(3600)
                self.connection.recv(1)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass
            self.close_connection = True
        elif p == '/gzip-bomb':
            self.answer(200, [('Content-Type', 'application/rss+xml'),
                              ('Content-Encoding', 'gzip')], bomb())
        else:
            super().do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write('faultserver: ' + (fmt % args) + '\n')
        sys.stderr.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    os.chdir(root)
    srv = Server(('127.0.0.1', 0), Handler)
    tmp = portfile + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == '__main__':
    main()
