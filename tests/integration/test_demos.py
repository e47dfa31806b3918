"""The Binder demo notebooks, end to end against the playground, through a real Jupyter server;
and the Binder emulation (repo2docker's steps in a fresh environment) that runs them again."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from ..rucio_admin import admin_client, discard_new_rules, rule_ids

pytestmark = pytest.mark.rucio

ROOT = Path(__file__).resolve().parents[2]


def _demos():
    spec = importlib.util.spec_from_file_location("wp5_demos", ROOT / "binder" / "demos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(900)
async def test_demo_notebooks_reach_their_physics_and_counts(
    jp_serverapp, http_server, playground, tmp_path
):
    # jp_serverapp exports its URL and token: the notebooks' kernels use the server's REST API.
    demos = _demos()
    admin = admin_client(playground)
    before = rule_ids(admin, playground.account)
    try:
        demos.check_hep(await demos.execute_async(demos.HEP, tmp_path), playground)
        demos.check_space(await demos.execute_async(demos.SPACE, tmp_path), playground)
    finally:
        # The tutorial's copies live for a day; other tests ask for the same copies.
        discard_new_rules(admin, playground.account, before)


@pytest.mark.timeout(1500)
def test_binder_emulation_from_a_fresh_environment():
    done = subprocess.run(
        ["bash", str(ROOT / "binder" / "emulate.sh")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo 1 (Z peak): ok" in done.stdout
    assert "demo 2 (space debris): ok" in done.stdout
