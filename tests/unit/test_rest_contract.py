"""The kernel's REST transport checks its exchanges against openapi.yaml when asked to.

The servers here are small HTTP servers on loopback that answer what jupyter_wp5's own server never
would (a field the contract does not have, a success for a request it refuses): they stand for a
server that drifted from the contract, which is what the check exists to catch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_wp5.contract import ContractError
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.models import DID, ReplicaRequest

HEALTH = {"version": "1", "engines": [{"name": "rucio", "reachable": True, "message": "ok"}]}


class _Answers(BaseHTTPRequestHandler):
    answers: dict[tuple[str, str], tuple[int, object]] = {}
    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0].removeprefix("/wp5/api/")
        self.seen.append((self.command, path))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = self.answers.get(
            (self.command, path), (404, {"error": "not_found", "message": "no"})
        )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[type[_Answers]]:
    handler = type("Answers", (_Answers,), {"answers": {}, "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}/"  # type: ignore[attr-defined]
    yield handler
    httpd.shutdown()
    httpd.server_close()


def transport(server: type[_Answers], check: bool) -> RestTransport:
    return RestTransport(server.url, token="t", check_contract=check)  # type: ignore[attr-defined]


def health_answer() -> dict[str, object]:
    """What the real server answers to GET health (checked against the contract below)."""
    from jupyter_wp5 import contract

    contract.validate_response("GET", "health", 200, HEALTH)
    return dict(HEALTH)


def test_an_answer_with_a_field_the_contract_lacks_is_refused(server: type[_Answers]) -> None:
    server.answers[("GET", "health")] = (200, {**health_answer(), "debug": "extra"})
    with pytest.raises(ContractError, match="unknown fields: debug"):
        transport(server, check=True).health()
    # Unchecked, the same answer goes through: the check is what caught it.
    assert transport(server, check=False).health().version == "1"


def test_a_conforming_answer_passes(server: type[_Answers]) -> None:
    server.answers[("GET", "health")] = (200, health_answer())
    assert transport(server, check=True).health().version == "1"


def test_an_error_body_off_contract_is_refused(server: type[_Answers]) -> None:
    server.answers[("GET", "health")] = (403, {"message": "forbidden"})
    with pytest.raises(ContractError, match="lacks a required field"):
        transport(server, check=True).health()


def test_a_request_the_contract_refuses_must_be_refused(server: type[_Answers]) -> None:
    # A comment longer than 255 characters breaks the contract: a server accepting it is wrong.
    request = ReplicaRequest(DID.parse("data:ds"), "SITE-B", comment="x" * 300)
    server.answers[("POST", "replicas")] = (201, {"id": "x"})
    with pytest.raises(ContractError, match="the contract refuses POST replicas"):
        transport(server, check=True).replicas.request(request)
    assert ("POST", "replicas") in server.seen
