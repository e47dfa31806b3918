"""The playground gateway's arm profile: real aarch64 workers (qemu), via the gateway backend."""

from __future__ import annotations

import platform
from collections.abc import Iterator

import pytest
from traitlets.config import Config

from jupyter_wp5.compute.arm_launcher import dask_worker_command
from jupyter_wp5.playground.gateway import PlaygroundGateway
from jupyter_wp5.playground.processes import ProcessRegistry

from .. import arm
from ..api.test_clusters_api import call
from ..api.test_clusters_gateway import gateway_config, gateway_name, gateway_session

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates aarch64 on x86_64"),
]


@pytest.fixture(scope="module")
def arm_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    rootfs = arm.prepared_rootfs()
    root = tmp_path_factory.mktemp("arm-gateway")
    gateway = PlaygroundGateway(
        root / "gateway",
        ProcessRegistry(root / "pids.json", root / "logs"),
        arm_worker=dask_worker_command(rootfs),
    )
    yield gateway.start()
    gateway.stop()


@pytest.fixture
def jp_server_config(arm_gateway) -> Config:
    return Config(
        {"ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}}, **gateway_config(arm_gateway)}
    )


async def test_gateway_arm_profile_runs_on_aarch64(jp_fetch, arm_gateway):
    _, _, body = await call(jp_fetch, "GET", "profiles")
    profiles = {p["name"]: p for p in body["items"]}
    assert profiles["arm"]["servable"] is True, profiles["arm"]["reason"]
    info = await arm.create_cluster(jp_fetch, {"profile": "arm", "workers": 1})
    try:
        assert info["backend"] == "gateway" and info["workers"] == 1
        async with gateway_session(arm_gateway) as gateway_client:
            cluster = await gateway_client.connect(gateway_name(info))
            try:
                async with cluster.get_client(set_as_default=False) as client:
                    machine = client.submit(platform.machine, resources={"ARM": 1}, pure=False)
                    assert await machine == "aarch64"
            finally:
                await cluster.close(shutdown=False)
    finally:
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert status == 204
