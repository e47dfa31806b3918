"""The space-debris demo notebook with profile="arm": dask.dataframe on an emulated aarch64 worker.

The notebook runs unchanged but for its cluster line (``profile="arm", workers=1``), through a real
Jupyter server and the playground, and must find the same counts per orbital regime as the
Parquet files at the origin storage; a cell added at the end records the workers' CPU.
"""

from __future__ import annotations

import platform

import nbformat
import pytest
from traitlets.config import Config

from .. import arm
from ..rucio_admin import admin_client, discard_new_rules, rule_ids
from .test_demos import _demos

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates aarch64 on x86_64"),
]

CPU_LINE = 'cluster = wp5.new_cluster(profile="cpu", workers=2)'
ARM_LINE = 'cluster = wp5.new_cluster(profile="arm", workers=1)'


@pytest.fixture(scope="module")
def rootfs():
    return arm.prepared_rootfs()


@pytest.fixture
def jp_server_config(jp_server_config: Config, rootfs) -> Config:
    # The conftest's (Rucio of the playground), plus the emulated workers' Python.
    jp_server_config.LocalBackend.arm_rootfs = str(rootfs.path)
    return jp_server_config


async def test_space_debris_notebook_runs_on_arm_workers(
    jp_serverapp, http_server, playground, tmp_path
):
    demos = _demos()
    nb = nbformat.read(demos.SPACE, as_version=4)
    cells = [c for c in nb.cells if CPU_LINE in c.source]
    assert len(cells) == 1
    cells[0].source = cells[0].source.replace(CPU_LINE, ARM_LINE)
    # After the cluster cell: which CPUs the workers have (the last cell closes the cluster).
    at = nb.cells.index(cells[0]) + 1
    nb.cells.insert(
        at,
        nbformat.v4.new_code_cell(
            "import platform\nmachines = sorted(set(client.run(platform.machine).values()))"
        ),
    )
    nb.cells.append(nbformat.v4.new_code_cell('results["machines"] = machines'))
    notebook = tmp_path / "02-space-debris-arm.ipynb"
    nbformat.write(nb, notebook)

    admin = admin_client(playground)
    before = rule_ids(admin, playground.account)
    try:
        results = await demos.execute_async(notebook, tmp_path)
    finally:
        discard_new_rules(admin, playground.account, before)
    assert results["machines"] == ["aarch64"]
    demos.check_space(results, playground)
