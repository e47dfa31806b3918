"""The local backend's spare cluster process: started when profiles are listed (a panel opened),
taken by the next cluster, replaced once that cluster runs, and ended with the manager (the
server), with real LocalCluster processes."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from jupyter_wp5.compute.credentials import ClusterCredentials
from jupyter_wp5.compute.manager import ClusterManager
from jupyter_wp5.compute.profiles import ProfileRegistry
from jupyter_wp5.models import ClusterSize

from ..hosts import PROFILES
from ..processes import (
    Snapshot,
    assert_all_ended,
    descendants,
    listening_on,
    spare_runners,
    started_since,
    still_running,
    tree,
)

pytestmark = pytest.mark.timeout(180)


def _manager() -> ClusterManager:
    return ClusterManager(registry=ProfileRegistry(profiles=PROFILES), records_path="")


def the_spare(before: Snapshot) -> int:
    """The one spare process started since ``before``; the failure names what did start."""
    spares = spare_runners(started_since(before))
    assert len(spares) == 1, f"spares {spares} among {still_running(started_since(before))}"
    return spares[0]


async def test_the_spare_is_used_replaced_and_ended_with_the_server():
    from distributed import Client

    before = descendants()
    manager = _manager()
    try:
        await manager.profiles()
        spare = the_spare(before)

        info = await manager.create("cpu", ClusterSize(workers=2))
        # The cluster runs in the process that was waiting: it serves the scheduler.
        assert listening_on(info.scheduler_address) == spare
        assert info.workers == 2
        cluster = tree(spare)
        credentials = ClusterCredentials(Path(info.credentials or ""))
        async with Client(
            info.scheduler_address, security=credentials.security(), asynchronous=True
        ) as client:
            assert await client.submit(sum, range(101)) == 5050
            # Forked workers still start without dask's MALLOC_TRIM_THRESHOLD_ (RECIPES.md) and
            # with the single-threaded BLAS dask's nanny gives each worker.
            env = await client.run(
                lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ["OMP_NUM_THREADS"])
            )
            assert set(env.values()) == {(None, "1")}, env

        # A new spare is warming up for the next cluster.
        replacement = the_spare(before)
        assert replacement != spare

        cluster |= descendants(spare)
        await manager.close(info.id)
        assert_all_ended(cluster)
        assert spare_runners(started_since(before)) == [replacement]
        second = await manager.create("cpu", ClusterSize(workers=1))
        assert listening_on(second.scheduler_address) == replacement
    finally:
        manager.shutdown()
    # Shutting the manager down (the server stopping) ends the clusters and the spare.
    assert_all_ended(started_since(before))


async def test_a_spare_killed_while_waiting_is_replaced():
    before = descendants()
    manager = _manager()
    try:
        await manager.profiles()
        spare = the_spare(before)
        killed = tree(spare)
        for pid in killed:
            psutil.Process(pid).kill()
        assert_all_ended(killed)
        # The next cluster starts anyway (in a new process), and a new spare waits after it.
        info = await manager.create("cpu", ClusterSize(workers=1))
        assert info.workers == 1
        assert listening_on(info.scheduler_address) != spare
        assert len(spare_runners(started_since(before))) == 1
    finally:
        manager.shutdown()
    assert_all_ended(started_since(before))
