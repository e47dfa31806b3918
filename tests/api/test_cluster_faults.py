"""Cluster faults with real components: a worker process killed, a start past the deadline.

A local cluster's worker is a real process; ``kill -9`` on it is what an out-of-memory kill does.
The gateway here is the playground's real dask-gateway; its clusters take seconds to start, so a
deadline of a fraction of that is one they cannot meet.
"""

from __future__ import annotations

import os
import signal

import pytest
from traitlets.config import Config

from ..dask_tls import security_of
from ..hosts import PROFILES
from ..processes import assert_nothing_started, descendants
from .test_clusters_api import call
from .test_clusters_gateway import gateway_config, gateway_session, running
from .test_events_ws import read_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Config:
    config = Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "ProfileRegistry": {"profiles": PROFILES},
            # Checked often, so a worker's brief absence is seen before its replacement joins.
            "ClusterManager": {"watch_interval": 0.1},
        }
    )
    if "dask_gateway" in request.fixturenames:
        config.merge(Config(gateway_config(request.getfixturevalue("dask_gateway"))))
        config.ClusterManager.start_timeout = 1.0
    if "short_start" in request.fixturenames:
        # Less than a fresh Python takes to import Dask: no local cluster is ready in time.
        config.ClusterManager.start_timeout = 0.2
    return config


@pytest.fixture
def short_start() -> None:
    """Marks a test whose manager gets a start deadline no local cluster can meet."""


def about(cluster_id: str, status: str, workers: int | None = None):
    def wanted(message: dict) -> bool:
        data = message["data"]
        return (
            message["type"] == "cluster"
            and data["id"] == cluster_id
            and data["status"] == status
            and (workers is None or data["workers"] == workers)
        )

    return wanted


async def test_a_killed_worker_shows_degraded_and_the_cluster_gets_back_to_size(
    jp_fetch, jp_ws_fetch
):
    from distributed import Client

    ws = await jp_ws_fetch("wp5", "api", "events")
    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 2})
    assert status == 201, info
    cid = info["id"]
    try:
        assert info["status"] == "running" and info["workers"] == 2
        security = security_of(info)
        async with Client(info["scheduler_address"], security=security, asynchronous=True) as c:
            # Dask's nanny replaces a dead worker by itself, within a second or two; should it
            # win the race with the watch, the next kill is seen (three tries at most).
            degraded = None
            for _ in range(3):
                pids = await c.run(os.getpid)
                os.kill(next(iter(pids.values())), signal.SIGKILL)
                try:
                    degraded = await read_until(ws, about(cid, "degraded"), timeout=15)
                    break
                except TimeoutError:
                    continue
            assert degraded is not None, "the lost worker was never reported"
            assert degraded["data"]["workers"] == 1
            # Back to its size with nobody asking, and pushed so.
            await read_until(ws, about(cid, "running", workers=2), timeout=60)
            status, _, listed = await call(jp_fetch, "GET", "clusters")
            (row,) = [r for r in listed["items"] if r["id"] == cid]
            assert (row["status"], row["workers"], row["cores"]) == ("running", 2, 2)
            assert await c.submit(sum, range(101), pure=False) == 5050
            await c.wait_for_workers(2)
            assert len(await c.run(os.getpid)) == 2
    finally:
        ws.close()
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{cid}")
    assert status == 204


async def test_a_gateway_cluster_past_the_deadline_is_stopped_not_orphaned(dask_gateway, jp_fetch):
    async with gateway_session(dask_gateway) as gateway:
        before = await running(gateway)
        status, headers, body = await call(
            jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1}
        )
        assert status == 503, body
        assert body["error"] == "engine_unavailable"
        assert "after 1 s" in body["message"] and "it was stopped" in body["message"]
        assert headers.get("Retry-After")
        # Stopped before the answer came: the gateway lists nothing new, we list nothing.
        assert await running(gateway) == before
        status, _, listed = await call(jp_fetch, "GET", "clusters")
        assert listed["items"] == []


async def test_a_local_cluster_past_the_deadline_leaves_no_process(short_start, jp_fetch):
    before = descendants()
    status, _, body = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 2})
    assert status == 503, body
    assert body["error"] == "engine_unavailable" and "did not start" in body["message"]
    assert_nothing_started(before)
    status, _, listed = await call(jp_fetch, "GET", "clusters")
    assert listed["items"] == []
