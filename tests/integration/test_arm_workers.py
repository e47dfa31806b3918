"""Real aarch64 Dask workers under qemu user emulation, on this x86_64 machine.

The workers are Debian's arm64 Python run by qemu-aarch64-static (tests/arm.py prepares it once);
``platform.machine()`` inside them says ``aarch64`` because the CPU they run on is an emulated
aarch64 one, not because anything was tagged. Each test starts one emulated worker (about 10 to
40 s on a loaded 2-core machine).
"""

from __future__ import annotations

import asyncio
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from traitlets.config import Config

import jupyter_wp5 as wp5
from jupyter_wp5.playground.datagen import write_nanoaod

from .. import arm
from ..api.test_clusters_api import call
from .test_analysis import DimuonMass

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates aarch64 on x86_64"),
]


@pytest.fixture(scope="module")
def rootfs():
    return arm.prepared_rootfs()


@pytest.fixture
def jp_server_config(rootfs) -> Config:
    # No Rucio needed: the playground fixture stays off.
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "LocalBackend": {"arm_rootfs": str(rootfs.path)},
        }
    )


async def test_arm_profile_task_runs_on_an_aarch64_worker(jp_fetch, rootfs):
    from distributed import Client

    status, _, body = await call(jp_fetch, "GET", "profiles")
    profile = next(p for p in body["items"] if p["name"] == "arm")
    assert profile["servable"] is True, profile["reason"]

    info = await arm.create_cluster(jp_fetch, {"profile": "arm", "workers": 1})
    try:
        assert info["workers"] == 1
        async with Client(info["scheduler_address"], asynchronous=True) as client:
            machine = await client.submit(platform.machine, resources={"ARM": 1}, pure=False)
            assert machine == "aarch64"
            assert await client.submit(sum, range(101)) == 5050
        (worker,) = arm.emulated_workers(rootfs)
        assert Path(worker.cmdline()[0]).name == "qemu-aarch64-static"
    finally:
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert status == 204
    for _ in range(100):
        if not arm.emulated_workers(rootfs):
            break
        await asyncio.sleep(0.2)
    assert arm.emulated_workers(rootfs) == []


@pytest.fixture(scope="module")
def nanoaod(tmp_path_factory) -> dict:
    where = tmp_path_factory.mktemp("arm-nanoaod")
    files = {}
    for i in range(2):
        path = where / f"dy_{i}.root"
        write_nanoaod(path, "zmumu", 4000, seed=20 + i, first_event=1 + 4000 * i)
        files[str(path)] = "Events"
    return {"DYJetsToLL": {"files": files}}


def _wait_for(client, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info(n_workers=-1)["workers"]) < n:
        assert time.monotonic() < deadline, f"fewer than {n} workers after {timeout:g} s"
        time.sleep(0.2)


def test_mixed_cluster_routes_by_resources_and_dimuon_counts_match(rootfs, nanoaod):
    """An x86 cluster gains an aarch64 worker (``jupyter wp5 arm worker``); resources route."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, resources={"X86": 1}, dashboard_address=None
    ) as cluster:
        joiner = subprocess.Popen(
            [sys.executable, "-m", "jupyter_wp5.cli", "arm", "worker", cluster.scheduler_address,
             f"--rootfs={rootfs.path}", "--resources=ARM=1"],
        )  # fmt: skip
        try:
            with Client(cluster) as client:
                _wait_for(client, 2, 300)
                machines = client.run(platform.machine)
                assert sorted(machines.values()) == ["aarch64", "x86_64"]
                where = {m: a for a, m in machines.items()}
                on_arm = client.submit(platform.machine, resources={"ARM": 1}, pure=False)
                on_x86 = client.submit(platform.machine, resources={"X86": 1}, pure=False)
                assert (on_arm.result(), on_x86.result()) == ("aarch64", "x86_64")

                runs = {}
                for tag in ("ARM", "X86"):
                    runs[tag] = wp5.run(
                        DimuonMass(), nanoaod, client, chunksize=4000,
                        resources={tag: 1}, progress=False,
                    )  # fmt: skip
        finally:
            joiner.terminate()
            joiner.wait(timeout=30)
    arm_out, x86_out = runs["ARM"], runs["X86"]
    # Every chunk ran where the resources sent it...
    assert arm_out["workers"] == {where["aarch64"]}
    assert x86_out["workers"] == {where["x86_64"]}
    # ...and the physics is identical, bin by bin.
    assert arm_out["events"] == x86_out["events"] == 8000
    assert np.array_equal(arm_out["mass"].values(), x86_out["mass"].values())
    assert arm_out["mass"].sum() > 1000
