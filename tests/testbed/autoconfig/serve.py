#!/usr/bin/env python3
"""The test bed's autoconfig server: static files over HTTPS, the directory
chosen by the Host header (files/HOST/PATH, query strings ignored), with the
test CA's certificate. Only GET; no directory listings; loopback only.

    serve.py ADDRESS PORT CERT KEY ROOT PIDFILE
"""
import http.server
import os
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p not in ("", ".", "..")]
        if not host or "/" in host or host.startswith("."):
            self.send_error(400)
            return
        full = os.path.join(self.root, host, *parts)
        if not os.path.isfile(full):
            self.send_error(404)
            return
        with open(full, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("autoconfig: " + (fmt % args) + "\n")


def main():
    addr, port, cert, key, root, pidfile = sys.argv[1:7]
    if not addr.startswith("127."):
        sys.exit("autoconfig: loopback addresses only")
    Handler.root = os.path.abspath(root)
    server = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # The handshake happens in the request's thread, so a client that
    # connects and stays silent does not hold up the others.
    server.socket = ctx.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
