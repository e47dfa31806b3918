"""The events poller costs Rucio nothing when nobody listens, reads each moving rule with one call
while someone does, and polls less often while nothing changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from traitlets.config import Config

from ..rucio_admin import admin_client, discard, new_dataset
from .contract import call
from .test_events_ws import read_until

pytestmark = pytest.mark.rucio

INTERVAL = 0.1
MAX_INTERVAL = 3.2  # five doublings of INTERVAL: a reset is seen long before it is undone
FILES, SIZE = 3, 64 * 1024


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    jp_server_config.DownloadManager.scratch_dir = str(tmp_path / "scratch")
    jp_server_config.EventHub.interval = INTERVAL
    jp_server_config.EventHub.max_interval = MAX_INTERVAL
    return jp_server_config


@pytest.fixture
def services(jp_serverapp):
    return jp_serverapp.web_app.settings["wp5_services"]


@pytest.fixture
def fresh_dataset(playground):
    """A new dataset at SITE-A only, so that a copy to SITE-B has files to move."""
    client = admin_client(playground)
    payloads = [bytes([i]) * SIZE for i in range(FILES)]
    did, _, rule = new_dataset(client, playground.account, "SITE-A", payloads)
    yield did
    discard(client, rule)


def finished(request_id: str):
    """Whether an event says the request ``request_id`` is complete."""
    return lambda m: (
        m["type"] == "replica" and m["data"]["id"] == request_id and m["data"]["state"] == "OK"
    )


async def test_nobody_listening_costs_no_rucio_call_and_a_listener_gets_the_copy(
    jp_fetch, jp_ws_fetch, services, fresh_dataset
):
    status, made = await call(
        jp_fetch, "POST", "replicas", {"did": fresh_dataset, "rse_expression": "SITE-B"}
    )
    assert status == 201, made
    try:
        calls = services.catalog.connection.calls
        # Many poll intervals pass, the copy moves or not: without a listener nobody asks Rucio.
        await asyncio.sleep(20 * INTERVAL)
        assert services.catalog.connection.calls == calls
        ws = await jp_ws_fetch("wp5", "api", "events")
        try:
            done = await read_until(ws, finished(made["id"]), timeout=60)
        finally:
            ws.close()
        data = done["data"]
        assert (data["files_ok"], data["files_total"]) == (FILES, FILES)
        assert data["bytes_ok"] == data["bytes_total"] == FILES * SIZE
        assert services.catalog.connection.calls > calls
        # REST progress still counts every lock: the same numbers, exactly.
        status, exact = await call(jp_fetch, "GET", f"replicas/{made['id']}")
        assert status == 200
        assert (exact["bytes_ok"], exact["bytes_total"]) == (FILES * SIZE, FILES * SIZE)
    finally:
        await call(jp_fetch, "DELETE", f"replicas/{made['id']}")


async def wait_for(condition, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_the_poller_backs_off_while_nothing_changes(jp_fetch, jp_ws_fetch, services):
    hub = services.events
    ws = await jp_ws_fetch("wp5", "api", "events")
    try:
        await wait_for(lambda: hub.delay == MAX_INTERVAL)
        before = hub.polls
        await asyncio.sleep(2 * MAX_INTERVAL)
        # At the shortest interval that would have been about 64 polls.
        assert hub.polls - before <= 4
        # A new request brings the poller back to its shortest wait.
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": "cms:TTTo2L2Nu_NanoAODv9", "mode": "download"}
        )
        assert status == 201
        assert hub.delay < MAX_INTERVAL
        await read_until(ws, finished(made["id"]), timeout=60)
    finally:
        ws.close()
    # The last listener gone, the poller stops.
    await wait_for(lambda: not hub.polling)
    polls = hub.polls
    await asyncio.sleep(10 * INTERVAL)
    assert hub.polls == polls
