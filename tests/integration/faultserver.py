#!/usr/bin/env python3
"""A scripted HTTP server for faults nginx cannot produce.

Usage: faultserver.py ROOT PORTFILE
Serves files under ROOT like a plain static server, and these paths:
  /stall/...     accepts the request and never answers (until killed)
Writes the port it listens on (127.0.0.1, chosen by the kernel) to
PORTFILE once it is ready. Logs one line per request on stderr.
"""
import http.server
import os
import socketserver
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith('/stall/'):
            # Hold the connection open without a byte of answer.
            time.sleep(3600)
            return
        super().do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write('faultserver: ' + (fmt % args) + '\n')


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
