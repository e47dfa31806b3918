"""Faults with real components: the Rucio server killed in the middle of a search and of a copy
request, and the request store locked by another process. The user gets a 503 with Retry-After
(never a hang, never a 500), and the same Jupyter server works again once the fault is gone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from tests.api.contract import assert_matches_contract
from tests.rucio_admin import admin_client, discard_new_rules, rule_ids

pytestmark = pytest.mark.timeout(240)

DATASET = "cms:DYJetsToLL_M-50_NanoAODv9"


async def fetch(jp_fetch: Any, method: str, path: str, body: Any = None, **params: str):
    """``method /wp5/api/<path>``: (response with headers, JSON body), checked against the
    contract; errors are returned, not raised."""
    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if method in ("POST", "PATCH"):
        kwargs["body"] = json.dumps(body) if body is not None else ""
    try:
        response: HTTPResponse = await jp_fetch("wp5", "api", path, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None, err
        response = err.response
    payload = json.loads(response.body) if response.body else None
    assert_matches_contract(method, path, response.code, payload)
    return response, payload


def assert_unavailable(response: HTTPResponse, payload: dict[str, str]) -> None:
    assert (response.code, payload["error"]) == (503, "engine_unavailable"), payload
    assert int(response.headers["Retry-After"]) > 0


@contextmanager
def rucio_frozen(facility: Any) -> Iterator[int]:
    """Stop the Rucio server's process (SIGSTOP): requests sent now wait inside it. Yields its
    pid; the caller kills it, and the server is started again afterwards."""
    pid = facility.processes.get("rucio-server").pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while facility.rucio.running():
            assert time.monotonic() < deadline, "the Rucio server did not die"
            time.sleep(0.1)
        facility.rucio.start()


async def killed_mid_request(facility: Any, request: Any) -> tuple[HTTPResponse, Any]:
    """Send ``request`` while Rucio is frozen, kill Rucio while the request waits in it, and
    return what the user got."""
    with rucio_frozen(facility) as pid:
        pending = asyncio.ensure_future(request)
        await asyncio.sleep(1.5)
        assert not pending.done(), "the request did not wait for the frozen Rucio server"
        os.kill(pid, signal.SIGKILL)
        return await asyncio.wait_for(pending, 60)


async def test_rucio_killed_in_the_middle_of_a_search(jp_fetch, facility):
    response, payload = await killed_mid_request(
        facility, fetch(jp_fetch, "GET", "datasets", q="cms:*")
    )
    assert_unavailable(response, payload)
    # Rucio is back (same port): the same Jupyter server answers without a restart.
    response, payload = await fetch(jp_fetch, "GET", "datasets", q="cms:*", type="dataset")
    assert response.code == 200 and payload["items"], payload


async def test_rucio_killed_in_the_middle_of_a_copy(jp_fetch, facility, playground):
    admin = admin_client(playground)
    before = rule_ids(admin, "jovyan")
    request = {"did": DATASET, "rse_expression": "SITE-B", "lifetime": "1h"}
    try:
        # Killed while the request waits in Rucio: 503, and no rule for the user to clean up.
        response, payload = await killed_mid_request(
            facility, fetch(jp_fetch, "POST", "replicas", request)
        )
        assert_unavailable(response, payload)
        assert rule_ids(admin, "jovyan") <= before  # (an earlier test's rule may go meanwhile)
        # Rucio is back: the same server makes the copy.
        response, made = await fetch(jp_fetch, "POST", "replicas", request)
        assert response.code == 201, made
        # Killed while the user follows the copy: 503; the list shows the last known progress.
        response, payload = await killed_mid_request(
            facility, fetch(jp_fetch, "GET", f"replicas/{made['id']}")
        )
        assert_unavailable(response, payload)
        # Rucio's daemons moved the bytes meanwhile or do so now: the copy completes.
        deadline = time.monotonic() + 90
        while True:
            response, progress = await fetch(jp_fetch, "GET", f"replicas/{made['id']}")
            assert response.code == 200, progress
            if progress["state"] == "OK":
                break
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.5)
        assert progress["files_ok"] == progress["files_total"] > 0
    finally:
        discard_new_rules(admin, "jovyan", before)


async def test_a_locked_request_store_is_503_not_a_hang(jp_fetch, jp_serverapp, playground):
    store = jp_serverapp.web_app.settings["wp5_services"].replicas.store
    admin = admin_client(playground)
    before = rule_ids(admin, "jovyan")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holding the file, as a stuck writer would
    try:
        started = time.monotonic()
        response, payload = await fetch(jp_fetch, "GET", "replicas")
        assert_unavailable(response, payload)
        assert "locked" in payload["message"]
        # Nothing is asked of Rucio that the store could not then remember.
        response, payload = await fetch(
            jp_fetch, "POST", "replicas", {"did": DATASET, "rse_expression": "SITE-B"}
        )
        assert_unavailable(response, payload)
        assert rule_ids(admin, "jovyan") <= before  # (an earlier test's rule may go meanwhile)
        # Bounded by the store's lock timeout (1 s a call), not by a client's patience.
        assert time.monotonic() - started < 30
    finally:
        other.execute("ROLLBACK")
        other.close()
    response, payload = await fetch(jp_fetch, "GET", "replicas")
    assert response.code == 200, payload
