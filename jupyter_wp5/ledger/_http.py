"""A small threaded HTTP server on loopback for the log and witness processes.

The ledger's processes answer a handful of short requests; the standard library's threaded
server is enough and keeps them free of an event loop. Handlers are plain functions from a
:class:`Request` to a :class:`Response`; :class:`HTTPFailure` becomes an error response.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HTTPFailure", "Request", "Response", "Route", "add_server_args", "serve"]

MAX_BODY = 16 * 1024 * 1024
log = logging.getLogger("jupyter_wp5.ledger")


@dataclass(frozen=True)
class Request:
    """A parsed request."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes
    authorization: str = ""  # the Authorization header

    def json(self) -> Any:
        """The body as JSON (400 if it is not)."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise HTTPFailure(400, "bad_request", "the body is not JSON") from None

    def int_arg(self, name: str) -> int:
        """Query argument ``name`` as a non-negative integer (400 otherwise)."""
        value = self.query.get(name, "")
        if not value.isdigit():
            raise HTTPFailure(400, "bad_request", f"query argument {name!r} must be an integer")
        return int(value)


@dataclass(frozen=True)
class Response:
    """A response body with its status and content type."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        """A JSON response."""
        return cls(status, json.dumps(value).encode())

    @classmethod
    def text(cls, value: str, status: int = 200, content_type: str = "text/plain") -> Response:
        """A UTF-8 text response."""
        return cls(status, value.encode(), f"{content_type}; charset=utf-8")


class HTTPFailure(Exception):
    """An error answered as ``{"error": code, "message": message}`` (or as text)."""

    def __init__(self, status: int, code: str, message: str, *, text: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.text = text

    def response(self) -> Response:
        """The error as a response."""
        if self.text is not None:
            return Response.text(self.text, self.status)
        return Response.json({"error": self.code, "message": self.message}, self.status)


Route = Callable[[Request], Response]


def _handler_class(routes: Mapping[tuple[str, str], Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            try:
                if length > MAX_BODY:
                    raise HTTPFailure(413, "too_large", f"the body exceeds {MAX_BODY} bytes")
                body = self.rfile.read(length) if length else b""
                route = routes.get((self.command, url.path))
                if route is None:
                    raise HTTPFailure(404, "not_found", f"no route {self.command} {url.path}")
                auth = self.headers.get("Authorization", "")
                response = route(Request(self.command, url.path, query, body, auth))
            except HTTPFailure as failure:
                response = failure.response()
            except Exception:
                log.exception("%s %s failed", self.command, url.path)
                response = Response.json(
                    {"error": "internal", "message": "internal error; see the log"}, 500
                )
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _dispatch
        do_POST = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s " + format, self.address_string(), *args)

    return Handler


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """``--host`` (loopback only by default) and ``--port``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")


def serve(routes: Mapping[tuple[str, str], Route], host: str, port: int, what: str) -> None:
    """Serve ``routes`` until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = ThreadingHTTPServer((host, port), _handler_class(routes))
    server.daemon_threads = True

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log.info("%s listening on http://%s:%d", what, host, server.server_port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
