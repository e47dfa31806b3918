"""The arm profile on an x86_64 machine without the emulated workers' Python: refused, 409."""

from __future__ import annotations

import platform

import pytest
from traitlets.config import Config

from .. import arm
from ..api.test_clusters_api import call, runner_pids

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="aarch64 is native elsewhere"),
]


@pytest.fixture
def missing(tmp_path):
    return tmp_path / "no-arm64-here"


@pytest.fixture
def jp_server_config(missing) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "LocalBackend": {"arm_rootfs": str(missing)},
        }
    )


async def test_arm_without_its_python_is_refused_with_the_command_and_starts_nothing(
    jp_fetch, missing
):
    status, _, body = await call(jp_fetch, "GET", "profiles")
    profile = next(p for p in body["items"] if p["name"] == "arm")
    assert profile["servable"] is False
    assert "jupyter wp5 arm prepare" in profile["reason"]

    before = runner_pids()
    status, _, body = await call(jp_fetch, "POST", "clusters", {"profile": "arm", "workers": 1})
    assert status == 409
    assert body["error"] == "conflict" and "jupyter wp5 arm prepare" in body["message"]
    assert runner_pids() == before
    from jupyter_wp5.compute.arm_rootfs import ArmRootfs

    assert arm.emulated_workers(ArmRootfs(missing)) == []
    assert not missing.exists()
    status, _, body = await call(jp_fetch, "GET", "clusters")
    assert body["items"] == []
