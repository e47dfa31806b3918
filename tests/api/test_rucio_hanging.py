"""Rucio that accepts connections and never answers (hung, or far too slow): the user gets a
precise 503 after the configured timeout, and the server keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

from ..rucio_admin import rucio_config_via
from .contract import call

pytestmark = pytest.mark.rucio

TIMEOUT = 3.0


@pytest.fixture
def hung_rucio() -> Iterator[str]:
    """An address that accepts TCP connections and never says a word."""
    held: list[socket.socket] = []
    stop = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)

        def accept() -> None:
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.getsockname()[1]}"
        finally:
            stop.set()
            thread.join(timeout=5)
            for conn in held:
                conn.close()


@pytest.fixture
def jp_server_config(jp_server_config: Config, playground, hung_rucio: str, tmp_path: Path):
    path = rucio_config_via(playground, hung_rucio, tmp_path)
    jp_server_config.RucioConnection.rucio_config = str(path)
    jp_server_config.RucioConnection.timeout = TIMEOUT
    return jp_server_config


async def test_a_hung_rucio_is_a_503_after_the_timeout_and_blocks_nothing(jp_fetch):
    started = time.monotonic()
    search = asyncio.ensure_future(call(jp_fetch, "GET", "datasets", q="cms:*"))
    # While the search waits on Rucio, the server answers other requests.
    status, profiles = await call(jp_fetch, "GET", "profiles")
    assert status == 200 and profiles["items"]
    assert not search.done()
    status, body = await search
    assert (status, body["error"]) == (503, "engine_unavailable"), body
    # Whichever deadline fires first (ours, or rucio-clients' read timeout), the user reads it.
    assert "did not answer" in body["message"], body
    assert time.monotonic() - started >= TIMEOUT
