"""The compute endpoints with real LocalCluster processes (no Rucio), through Jupyter auth."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from ..dask_tls import security_of
from ..hosts import HOST_ARCH, OTHER_ARCH, OTHER_ARCH_PROFILE, PROFILES
from ..processes import (
    Snapshot,
    assert_all_ended,
    assert_nothing_started,
    assert_only_a_spare_started,
    descendants,
    listening_on,
    started_since,
    still_running,
    tree,
)
from .contract import assert_matches_contract

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config() -> Config:
    # Overrides the conftest's: these endpoints need no Rucio, so no playground either.
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "ProfileRegistry": {"profiles": PROFILES},
        }
    )


async def call(jp_fetch, method: str, path: str, body=None):
    """Send one request to /wp5/api/<path>; return (status, headers, body), contract-checked."""
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "PATCH"):
        kwargs["body"] = "{}"
    try:
        response = await jp_fetch("wp5", "api", *path.split("/"), **kwargs)
    except HTTPClientError as err:
        assert err.response is not None, err
        response = err.response
    payload = json.loads(response.body) if response.body else None
    if response.code != 204:
        assert_matches_contract(method, path, response.code, payload)
    return response.code, response.headers, payload


async def test_profiles_say_which_can_run_here_and_why_not(jp_fetch):
    status, _, body = await call(jp_fetch, "GET", "profiles")
    assert status == 200
    profiles = {p["name"]: p for p in body["items"]}
    assert set(profiles) >= {"cpu", "gpu", "arm", "fpga"}
    assert profiles["cpu"]["servable"] is True and profiles["cpu"]["reason"] is None
    assert profiles["fpga"]["servable"] is False and "FPGA" in profiles["fpga"]["reason"]
    assert profiles["gpu"]["resources"] == {"GPU": 1}


async def test_cluster_lifecycle_compute_scale_close(jp_fetch):
    from distributed import Client

    before = descendants()
    during: Snapshot = {}
    runner = 0
    status, headers, info = await call(
        jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 2, "name": "two"}
    )
    assert status == 201, info
    cid = info["id"]
    try:
        assert headers["Location"].endswith(f"/wp5/api/clusters/{cid}")
        assert info["name"] == "two" and info["profile"] == "cpu" and info["status"] == "running"
        assert info["workers"] == 2 and info["cores"] == 2 and info["gpus"] == 0
        assert info["architectures"] == {HOST_ARCH: 2}
        # The cluster's process and its two workers' (they are processes, not threads).
        runner = listening_on(info["scheduler_address"])
        commands = still_running(started_since(before))
        assert "_local_runner.py" in commands[runner], commands
        during = tree(runner)
        assert len(during) >= 3, commands

        status, _, listed = await call(jp_fetch, "GET", "clusters")
        assert [c["id"] for c in listed["items"]] == [cid]

        async with Client(
            info["scheduler_address"], security=security_of(info), asynchronous=True
        ) as client:
            total = await client.submit(sum, range(101))
            assert total == 5050
            futures = client.map(lambda x: x * x, range(10))
            assert sum(await client.gather(futures)) == 285
            # dask's nanny would set 65536 here; we start workers without it (RECIPES.md).
            trims = await client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            assert len(trims) == 2 and set(trims.values()) == {None}
            # User code on a worker may start a process of its own: it must end with the cluster.
            sleeper = await client.submit(
                lambda: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid
            )
            assert sleeper in started_since(before), "the task's process is not below the cluster"

        status, _, scaled = await call(jp_fetch, "PATCH", f"clusters/{cid}", {"workers": 1})
        assert status == 200 and scaled["workers"] == 1 and scaled["cores"] == 1
        status, _, got = await call(jp_fetch, "GET", f"clusters/{cid}")
        assert got["workers"] == 1 and got["architectures"] == {HOST_ARCH: 1}

        status, _, adapted = await call(
            jp_fetch, "PATCH", f"clusters/{cid}", {"adaptive": {"minimum": 1, "maximum": 2}}
        )
        assert status == 200
        assert (adapted["adaptive_minimum"], adapted["adaptive_maximum"]) == (1, 2)
    finally:
        # Whatever the cluster started since (adapt may add workers) must end with it too.
        if runner:
            during |= descendants(runner)
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{cid}")
    assert status == 204
    assert_all_ended(during)
    # What stays is the spare cluster process (and its forkserver), ready for the next cluster.
    assert_only_a_spare_started(before)
    status, _, body = await call(jp_fetch, "GET", f"clusters/{cid}")
    assert status == 404 and body["error"] == "not_found"


async def test_unservable_profile_is_refused_before_anything_starts(jp_fetch):
    before = descendants()
    status, _, body = await call(
        jp_fetch, "POST", "clusters", {"profile": OTHER_ARCH_PROFILE, "workers": 1}
    )
    assert status == 409
    assert body["error"] == "conflict"
    assert f"needs {OTHER_ARCH} workers and this machine is {HOST_ARCH}" in body["message"]
    assert_nothing_started(before)
    status, _, body = await call(jp_fetch, "GET", "clusters")
    assert body["items"] == []


@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        ({"profile": "nope", "workers": 1}, 404, "not_found"),
        ({"profile": "cpu", "workers": -1}, 400, "invalid_request"),
        ({"profile": "cpu", "workers": "two"}, 400, "invalid_request"),
        ({"profile": "cpu", "workers": 1000}, 400, "invalid_request"),
        ({"profile": "cpu", "workers": 1, "adaptive": {"maximum": 2}}, 400, "invalid_request"),
        ({"profile": "cpu", "adaptive": {"minimum": 3, "maximum": 2}}, 400, "invalid_request"),
        ({"workers": 1}, 400, "invalid_request"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(jp_fetch, request_body, status, code):
    before = descendants()
    got, _, body = await call(jp_fetch, "POST", "clusters", request_body)
    assert (got, body["error"]) == (status, code), body
    assert body["message"]
    assert_nothing_started(before)


async def test_unknown_cluster_is_not_found(jp_fetch):
    for method, body in (("GET", None), ("PATCH", {"workers": 1}), ("DELETE", None)):
        status, _, payload = await call(jp_fetch, method, "clusters/nosuchcluster", body)
        assert status == 404 and payload["error"] == "not_found", method
