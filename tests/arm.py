"""The emulated aarch64 Python for the ARM tests: prepared once (cached), or the test skips.

`scripts/test` installs qemu-user-static, adds apt's arm64 architecture and prepares the tree
before pytest runs, so in CI these tests run; elsewhere they skip and say why.
"""

from __future__ import annotations

import json

import psutil
import pytest

from jupyter_wp5.compute.arm_rootfs import ArmRootfs, RootfsError, qemu_binary

# Read at import, before pytest-jupyter points HOME at a temporary directory for each test
# (the default tree lives under the real user's cache). Configure servers with this path.
ROOTFS = ArmRootfs.default()


def prepared_rootfs() -> ArmRootfs:
    """The default tree, prepared when needed (minutes the first time); skip when impossible."""
    if qemu_binary() is None:
        pytest.skip("no qemu-aarch64-static here (apt-get install qemu-user-static)")
    rootfs = ROOTFS
    if rootfs.why_not_ready() is not None:
        try:
            rootfs.ensure(log=lambda line: None)
        except RootfsError as err:
            pytest.skip(f"cannot prepare the aarch64 Python: {err}")
    return rootfs


def emulated_workers(rootfs: ArmRootfs) -> list[psutil.Process]:
    """Processes of this machine running the tree's interpreter under qemu."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if str(rootfs.python) in cmdline and any("qemu-aarch64" in a for a in cmdline[:1]):
            found.append(proc)
    return found


async def create_cluster(jp_fetch, body: dict) -> dict:
    """POST /wp5/api/clusters, waiting as long as emulated workers take to join (not 20 s)."""
    response = await jp_fetch(
        "wp5", "api", "clusters", method="POST", body=json.dumps(body), request_timeout=300
    )
    assert response.code == 201
    return json.loads(response.body)
