"""Cluster records across a server restart: gateway clusters are found again, local ones lost.

A restart is two ClusterManager instances over one records file, as two servers would be.
"""

from __future__ import annotations

import asyncio

import pytest
from traitlets.config import Config

from jupyter_wp5.compute.manager import ClusterManager
from jupyter_wp5.models import ClusterSize

from ..processes import assert_all_ended, descendants, started_since
from .test_clusters_gateway import gateway_config, gateway_name, gateway_session, running

pytestmark = pytest.mark.timeout(120)


async def test_local_clusters_from_a_crashed_server_are_reported_lost(tmp_path):
    records = str(tmp_path / "clusters.json")
    first = ClusterManager(records_path=records)
    before, started = descendants(), {}
    try:
        created = await first.create("cpu", ClusterSize(workers=1), name="mine")
        started = started_since(before)
        assert len(started) >= 2  # the cluster's process and its worker
        # The first server "crashed": it never shut down. A new one reads its records.
        second = ClusterManager(records_path=records)
        (found,) = await second.list()
        assert (found.id, found.name, found.status) == (created.id, "mine", "lost")
        assert found.workers == 0 and found.backend == "local"
        status = await second.get(found.id)
        assert status.status == "lost"
        # Closing a lost cluster forgets it, for this server and the next.
        await second.close(found.id)
        assert await second.list() == []
        assert await ClusterManager(records_path=records).list() == []
    finally:
        await asyncio.to_thread(first.shutdown)
    assert_all_ended(started)


async def test_a_clean_stop_leaves_no_local_record(tmp_path):
    records = str(tmp_path / "clusters.json")
    first = ClusterManager(records_path=records)
    await first.create("cpu", ClusterSize(workers=1))
    await asyncio.to_thread(first.shutdown)
    assert await ClusterManager(records_path=records).list() == []


async def test_gateway_clusters_are_found_again_after_a_restart(dask_gateway, tmp_path):
    records = str(tmp_path / "clusters.json")
    config = Config(gateway_config(dask_gateway))
    first = ClusterManager(records_path=records, config=config)
    created = await first.create("gpu", ClusterSize(workers=1), name="survivor")
    # The server stops: gateway clusters outlive it.
    await asyncio.to_thread(first.shutdown)
    async with gateway_session(dask_gateway) as gateway_client:
        assert gateway_name(created.to_dict()) in await running(gateway_client)

    second = ClusterManager(records_path=records, config=config)
    try:
        (found,) = await second.list()
        assert (found.id, found.name, found.status) == (created.id, "survivor", "running")
        assert found.workers == 1 and found.gpus == 1
        await second.close(found.id)
        assert await second.list() == []
    finally:
        await asyncio.to_thread(second.shutdown)
    async with gateway_session(dask_gateway) as gateway_client:
        assert gateway_name(created.to_dict()) not in await running(gateway_client)
