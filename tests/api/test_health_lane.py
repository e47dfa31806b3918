"""Health has a lane of its own: while searches fill every thread that talks to Rucio, GET health
still answers at once and says truly whether Rucio answers.

Rucio is the playground's real server behind a small HTTP relay on loopback that holds the
requests we choose (searches, or everything) until the test lets them go.
"""

from __future__ import annotations

import asyncio
import configparser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tornado import httpclient, httpserver, web
from tornado.netutil import bind_sockets
from traitlets.config import Config

from ..rucio_admin import rucio_config_via
from .contract import call

pytestmark = pytest.mark.rucio

POOL = 2  # the catalogue's threads (small, so that a few searches fill it)
MAX_AGE = 3.0  # how long a health answer is reused (long enough for a loaded CI machine)
SEARCHES = 6  # the test client opens at most 10 requests at once
PROBE_TIMEOUT = 2.0
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Relay:
    """Forwards HTTP to Rucio; requests for which ``holds(path)`` wait until ``release``."""

    upstream: str
    holds: Callable[[str], bool] = lambda path: False
    held: int = 0
    paths: list[str] = field(default_factory=list)  # every request's path, in order
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""


class _Forward(web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS")

    def initialize(self, relay: Relay) -> None:
        self.relay = relay

    async def _forward(self) -> None:
        relay = self.relay
        relay.paths.append(self.request.path)
        if relay.holds(self.request.path):
            relay.held += 1
            await relay.release.wait()
        answer = await httpclient.AsyncHTTPClient().fetch(
            relay.upstream + self.request.uri,
            method=self.request.method,
            headers=self.request.headers,
            body=self.request.body if self.request.method in ("POST", "PUT") else None,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            decompress_response=False,
            raise_error=False,
            request_timeout=120,
        )
        self.set_status(answer.code, answer.reason)
        for name in {n for n in answer.headers if n.lower() not in _HOP_BY_HOP}:
            first, *more = answer.headers.get_list(name)
            self.set_header(name, first)
            for value in more:
                self.add_header(name, value)
        if answer.body:
            self.write(answer.body)

    get = post = put = delete = head = options = _forward  # type: ignore[assignment]


@pytest.fixture
def relay(playground, jp_asyncio_loop) -> Iterator[Relay]:
    cfg = configparser.ConfigParser()
    cfg.read(playground.rucio_config)
    relay = Relay(upstream=cfg["client"]["rucio_host"].rstrip("/"))
    sockets = bind_sockets(0, "127.0.0.1")
    server = httpserver.HTTPServer(web.Application([(r".*", _Forward, {"relay": relay})]))
    server.add_sockets(sockets)
    relay.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    try:
        yield relay
    finally:
        relay.release.set()
        server.stop()


@pytest.fixture
def jp_server_config(jp_server_config: Config, playground, relay: Relay, tmp_path: Path) -> Config:
    path = rucio_config_via(playground, relay.url, tmp_path)
    jp_server_config.RucioConnection.rucio_config = str(path)
    jp_server_config.RucioConnection.max_workers = POOL
    jp_server_config.RucioConnection.probe_timeout = PROBE_TIMEOUT
    jp_server_config.RucioCatalog.health_max_age = MAX_AGE
    return jp_server_config


async def fill_the_pool(jp_fetch, relay: Relay) -> list[asyncio.Future]:
    """Start ``SEARCHES`` searches and wait until every catalogue thread is held on one."""
    searches = [
        asyncio.ensure_future(call(jp_fetch, "GET", "datasets", q=f"cms:*{i}*"))
        for i in range(SEARCHES)
    ]
    for _ in range(300):
        if relay.held >= POOL:
            return searches
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {relay.held} of {POOL} threads reached Rucio")


def rucio_status(body: dict) -> dict:
    (rucio,) = [e for e in body["engines"] if e["name"] == "rucio"]
    return rucio


HOLDS: dict[str, Callable[[str], bool]] = {
    "searches": lambda path: path.startswith("/dids/"),
    "everything": lambda path: True,
}


@pytest.mark.parametrize(
    ("held", "reachable"),
    [("searches", True), ("everything", False)],
    ids=["rucio-answers", "rucio-hangs"],
)
async def test_health_answers_without_waiting_for_the_rucio_pool(
    jp_fetch, relay: Relay, held: str, reachable: bool
):
    # Searches held: Rucio answers, but not in time for the catalogue's threads. Everything
    # held: Rucio hangs, and health must say so within its own deadline.
    relay.holds = HOLDS[held]
    searches = await fill_the_pool(jp_fetch, relay)
    status, body = await call(jp_fetch, "GET", "health")
    # Every search is still waiting: health did not queue behind them.
    assert not any(s.done() for s in searches)
    assert status == 200
    rucio = rucio_status(body)
    assert rucio["reachable"] is reachable, rucio
    if reachable:
        assert rucio["account"] and rucio["version"], rucio
    else:
        assert f"did not answer within {PROBE_TIMEOUT:g} s" in rucio["message"], rucio
    relay.release.set()
    answers = await asyncio.gather(*searches)
    if reachable:
        assert [code for code, _ in answers] == [200] * SEARCHES


def probes(relay: Relay) -> int:
    return relay.paths.count("/ping")


async def test_health_calls_arriving_together_share_one_probe(jp_fetch, relay: Relay):
    answers = await asyncio.gather(*(call(jp_fetch, "GET", "health") for _ in range(5)))
    assert [status for status, _ in answers] == [200] * 5
    checked = {rucio_status(body)["checked_at"] for _, body in answers}
    assert len(checked) == 1 and None not in checked, checked
    assert probes(relay) == 1, relay.paths
    assert relay.paths.count("/accounts/whoami") == 1, relay.paths


async def test_rucio_hanging_shows_in_health_once_the_answer_is_max_age_old(jp_fetch, relay: Relay):
    _, body = await call(jp_fetch, "GET", "health")
    first = rucio_status(body)
    assert first["reachable"] is True, first
    relay.holds = HOLDS["everything"]
    await asyncio.sleep(MAX_AGE)
    # The reachable answer is too old to reuse: this call waits for a new probe, which Rucio
    # leaves hanging until the probe's deadline.
    _, body = await call(jp_fetch, "GET", "health")
    rucio = rucio_status(body)
    assert rucio["reachable"] is False, rucio
    assert f"did not answer within {PROBE_TIMEOUT:g} s" in rucio["message"], rucio
    assert rucio["checked_at"] > first["checked_at"]


async def test_a_polled_answer_is_renewed_in_the_background(jp_fetch, relay: Relay):
    _, body = await call(jp_fetch, "GET", "health")
    first = rucio_status(body)["checked_at"]
    await asyncio.sleep(MAX_AGE * 0.6)
    # Over half the reuse time old: answered from the last probe, while a new one starts.
    _, body = await call(jp_fetch, "GET", "health")
    reused = rucio_status(body)["checked_at"]
    assert reused == first
    for _ in range(50):
        if probes(relay) == 2:
            break
        await asyncio.sleep(0.05)
    assert probes(relay) == 2, relay.paths
    await asyncio.sleep(0.1)  # its answer recorded
    _, body = await call(jp_fetch, "GET", "health")
    assert rucio_status(body)["checked_at"] > reused
