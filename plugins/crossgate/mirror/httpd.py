"""The mirror's HTTP server process: serves ``apt/``, ``wheels/`` and ``go/`` of a mirror folder.

Started by crossgate.mirror.server as ``python httpd.py --address A --port P --directory D``
(standard library only, so it runs from its file). Paths with a component starting with a dot
(the mirror's private ``.state/``) are not served. HTTP/1.1 keep-alive lets apt fetch many
packages over one connection.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import ipaddress
import posixpath
import signal
import socket
import sys
import urllib.parse

SERVED = ("apt", "wheels", "go")


def allowed_path(url_path: str) -> bool:
    """True for ``/``, and for paths under a served folder without dot components."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url_path).path)
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
    if not parts:
        return True
    if parts[0] not in SERVED:
        return False
    return not any(p.startswith(".") for p in parts)


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crossgate-mirror"

    def send_head(self):  # type: ignore[no-untyped-def]
        if not allowed_path(self.path):
            self.send_error(404, "not part of the mirror")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.log_date_time_string()} {self.address_string()} {format % args}\n")
        sys.stderr.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(address: str, port: int, directory: str) -> Server:
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified:
        raise ValueError(f"refusing to bind the unspecified address {address}")
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    server_class = type("MirrorServer", (Server,), {"address_family": family})
    handler = functools.partial(MirrorHandler, directory=directory)
    return server_class((address, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve a crossgate mirror folder over HTTP")
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", required=True)
    args = parser.parse_args(argv)
    server = make_server(args.address, args.port, args.directory)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stderr.write(f"serving {args.directory} on {args.address} port {args.port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
