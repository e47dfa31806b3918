"""B4 cluster start: a 2-worker cluster from the cluster manager (what the panel and ``%wp5
cluster new`` use), against a bare ``LocalCluster(n_workers=2)`` started in this process, both
until two workers are ready.

Ours takes the local backend's spare cluster process, which warms up again while the baseline
runs: the run alternates the two, so each of ours finds a spare started some seconds before
(as a user who opens the panel and then asks for a cluster does)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from .common import Result, interleaved


def b4(repeat: int) -> list[Result]:
    from dask.distributed import Client, LocalCluster

    from jupyter_wp5.compute.manager import ClusterManager
    from jupyter_wp5.models import ClusterSize

    records = Path(tempfile.mkdtemp(prefix="wp5-bench-")) / "clusters.json"
    manager = ClusterManager(records_path=str(records))
    loop = asyncio.new_event_loop()

    def ours() -> None:
        async def start_and_close() -> None:
            info = await manager.create("cpu", ClusterSize(workers=2))
            assert info.workers == 2, info
            await manager.close(info.id)

        loop.run_until_complete(start_and_close())

    def bare() -> None:
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(2)

    try:
        # As the panel does when it opens: list the profiles (the local backend starts its spare
        # cluster process then). Then warm both sides: imports, interpreters in the page cache.
        loop.run_until_complete(manager.profiles())
        ours(), bare()
        t_ours, t_bare = interleaved(ours, bare, repeat)
    finally:
        manager.shutdown()
        loop.close()
    # Both sides include closing the cluster, so the ratio is of start + close; start dominates.
    return [
        Result(
            "B4",
            "cluster start: 2 workers ready (and closed)",
            "bare LocalCluster(n_workers=2) in this process",
            t_ours,
            t_bare,
            goal="<= 1.5",
        )
    ]
