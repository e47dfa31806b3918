"""The gateway backend against a real dask-gateway server (the playground's, on loopback).

The gateway's "gpu" and "arm" profiles are routing labels on ordinary x86 worker processes (see
jupyter_wp5/playground/gateway.py): these tests check that the labels reach the workers and route
tasks, not that any GPU is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from traitlets.config import Config

from jupyter_wp5.compute.manager import ClusterManager
from jupyter_wp5.models import ClusterSize

from .test_clusters_api import call

pytestmark = pytest.mark.timeout(120)


def gateway_config(info) -> dict:
    return {
        "ProfileRegistry": {"default_backend": "gateway"},
        "GatewayBackend": {
            "address": info.address,
            "proxy_address": info.proxy_address,
            "username": info.username,
            "password": info.password,
        },
    }


@pytest.fixture
def jp_server_config(dask_gateway) -> Config:
    # No Rucio needed: the compute endpoints only.
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            **gateway_config(dask_gateway),
        }
    )


@pytest.fixture
def gateway(dask_gateway) -> Iterator[object]:
    """A dask-gateway client of our own, to look at the gateway's side."""
    from dask_gateway import BasicAuth, Gateway

    client = Gateway(
        dask_gateway.address,
        proxy_address=dask_gateway.proxy_address,
        auth=BasicAuth(dask_gateway.username, dask_gateway.password),
    )
    yield client
    client.close()


def running(gateway) -> set[str]:
    return {c.name for c in gateway.list_clusters()}


def gateway_name(info: dict) -> str:
    # The proxy address ends with the gateway's cluster name: gateway://host:port/<name>.
    return info["scheduler_address"].rsplit("/", 1)[1]


async def test_profiles_are_the_gateways_and_fpga_is_refused(jp_fetch):
    status, _, body = await call(jp_fetch, "GET", "profiles")
    assert status == 200
    profiles = {p["name"]: p for p in body["items"]}
    for name in ("cpu", "gpu", "arm"):
        assert profiles[name]["backend"] == "gateway"
        assert profiles[name]["servable"] is True, profiles[name]["reason"]
    assert profiles["fpga"]["servable"] is False
    assert "offers profiles cpu, gpu, arm" in profiles["fpga"]["reason"]


async def test_gpu_workers_carry_the_gpu_resource_and_only_they_run_gpu_tasks(jp_fetch, gateway):
    before = running(gateway)
    status, _, gpu = await call(jp_fetch, "POST", "clusters", {"profile": "gpu", "workers": 2})
    assert status == 201, gpu
    status, _, cpu = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, cpu
    try:
        assert gpu["backend"] == "gateway" and gpu["workers"] == 2 and gpu["gpus"] == 2
        assert cpu["workers"] == 1 and cpu["gpus"] == 0
        assert gpu["dashboard_link"].startswith(gateway.address)
        assert running(gateway) - before == {gateway_name(gpu), gateway_name(cpu)}

        def resources_and_run(info: dict, timeout: float) -> tuple[list, object]:
            cluster = gateway.connect(gateway_name(info))
            with cluster.get_client(set_as_default=False) as client:
                workers = client.scheduler_info()["workers"].values()
                future = client.submit(lambda: "ran", resources={"GPU": 1}, pure=False)
                try:
                    result = future.result(timeout=timeout)
                except TimeoutError:
                    result = None
                return [w["resources"] for w in workers], result

        resources, result = await asyncio.to_thread(resources_and_run, gpu, 30)
        assert resources == [{"GPU": 1}, {"GPU": 1}] and result == "ran"
        # No worker of the cpu cluster offers GPU, so the task waits there and never runs.
        resources, result = await asyncio.to_thread(resources_and_run, cpu, 3)
        assert resources == [{}] and result is None
    finally:
        for info in (gpu, cpu):
            status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
            assert status == 204
    # Closing ends the cluster at the gateway, not only our view of it.
    assert running(gateway) == before


async def test_scale_through_the_api(jp_fetch, gateway):
    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "arm", "workers": 1})
    assert status == 201, info
    try:
        status, _, scaled = await call(jp_fetch, "PATCH", f"clusters/{info['id']}", {"workers": 2})
        assert status == 200 and scaled["workers"] == 2 and scaled["gpus"] == 0
    finally:
        await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert gateway_name(info) not in running(gateway)


async def test_gateway_clusters_are_found_again_after_a_restart(dask_gateway, gateway, tmp_path):
    records = str(tmp_path / "clusters.json")
    config = Config(gateway_config(dask_gateway))
    first = ClusterManager(records_path=records, config=config)
    created = await first.create("gpu", ClusterSize(workers=1), name="survivor")
    # The server stops: gateway clusters outlive it.
    await asyncio.to_thread(first.shutdown)
    assert gateway_name(created.to_dict()) in running(gateway)

    second = ClusterManager(records_path=records, config=config)
    try:
        (found,) = await second.list()
        assert (found.id, found.name, found.status) == (created.id, "survivor", "running")
        assert found.workers == 1 and found.gpus == 1
        await second.close(found.id)
        assert await second.list() == []
    finally:
        await asyncio.to_thread(second.shutdown)
    assert gateway_name(created.to_dict()) not in running(gateway)
