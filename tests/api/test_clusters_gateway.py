"""The gateway backend against a real dask-gateway server (the playground's, on loopback).

The gateway's "gpu" profile is a routing label on ordinary x86 worker processes (see
jupyter_wp5/playground/gateway.py): these tests check that the label reaches the workers and routes
tasks, not that any GPU is used. This gateway offers no "arm" profile (it would need emulated
aarch64 workers: tests/integration/test_arm_gateway.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from traitlets.config import Config

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


@contextlib.asynccontextmanager
async def gateway_session(info) -> AsyncIterator[object]:
    """A dask-gateway client of the test's own, to look at the gateway's side.

    Asynchronous on purpose: synchronous dask-gateway objects close themselves in ``__del__`` by
    waiting on distributed's shared loop, which deadlocks when the collector runs on that loop.
    """
    from dask_gateway import BasicAuth, Gateway

    auth = BasicAuth(info.username, info.password)
    async with Gateway(
        info.address, proxy_address=info.proxy_address, auth=auth, asynchronous=True
    ) as gateway:
        yield gateway


async def running(gateway) -> set[str]:
    return {c.name for c in await gateway.list_clusters()}


def gateway_name(info: dict) -> str:
    # The proxy address ends with the gateway's cluster name: gateway://host:port/<name>.
    return info["scheduler_address"].rsplit("/", 1)[1]


async def test_profiles_are_the_gateways_and_fpga_is_refused(jp_fetch):
    status, _, body = await call(jp_fetch, "GET", "profiles")
    assert status == 200
    profiles = {p["name"]: p for p in body["items"]}
    for name in ("cpu", "gpu"):
        assert profiles[name]["backend"] == "gateway"
        assert profiles[name]["servable"] is True, profiles[name]["reason"]
    for name in ("arm", "fpga"):
        assert profiles[name]["servable"] is False
        assert "offers profiles cpu, gpu" in profiles[name]["reason"]


async def test_gpu_workers_carry_the_gpu_resource_and_only_they_run_gpu_tasks(
    jp_fetch, dask_gateway
):
    async with gateway_session(dask_gateway) as gateway_client:
        await _gpu_and_cpu(jp_fetch, gateway_client)


async def _gpu_and_cpu(jp_fetch, gateway_client) -> None:
    before = await running(gateway_client)
    status, _, gpu = await call(jp_fetch, "POST", "clusters", {"profile": "gpu", "workers": 2})
    assert status == 201, gpu
    status, _, cpu = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, cpu
    try:
        assert gpu["backend"] == "gateway" and gpu["workers"] == 2 and gpu["gpus"] == 2
        assert cpu["workers"] == 1 and cpu["gpus"] == 0
        assert gpu["dashboard_link"].startswith(gateway_client.address)
        assert await running(gateway_client) - before == {gateway_name(gpu), gateway_name(cpu)}

        async def resources_and_run(info: dict, timeout: float) -> tuple[list, object]:
            cluster = await gateway_client.connect(gateway_name(info))
            try:
                async with cluster.get_client(set_as_default=False) as client:
                    workers = (await client.scheduler.identity())["workers"].values()
                    future = client.submit(lambda: "ran", resources={"GPU": 1}, pure=False)
                    try:
                        result = await asyncio.wait_for(future, timeout)
                    except TimeoutError:
                        result = None
                    return [w["resources"] for w in workers], result
            finally:
                await cluster.close(shutdown=False)

        resources, result = await resources_and_run(gpu, 30)
        assert resources == [{"GPU": 1}, {"GPU": 1}] and result == "ran"
        # No worker of the cpu cluster offers GPU, so the task waits there and never runs.
        resources, result = await resources_and_run(cpu, 3)
        assert resources == [{}] and result is None
    finally:
        for info in (gpu, cpu):
            status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
            assert status == 204
    # Closing ends the cluster at the gateway, not only our view of it.
    assert await running(gateway_client) == before


async def test_scale_through_the_api(jp_fetch, dask_gateway):
    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, info
    try:
        status, _, scaled = await call(jp_fetch, "PATCH", f"clusters/{info['id']}", {"workers": 2})
        assert status == 200 and scaled["workers"] == 2 and scaled["gpus"] == 0
    finally:
        await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    async with gateway_session(dask_gateway) as gateway_client:
        assert gateway_name(info) not in await running(gateway_client)
