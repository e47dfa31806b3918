"""Stopping a real Jupyter server (its own process, with the extension) ends every local cluster
it started and every process those clusters started: the cluster processes, their workers and
what user code on the workers started, whether the user shuts the server down from the lab or it
gets SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..dask_tls import security_of
from ..jupyter_process import Server
from ..processes import assert_all_ended, descendants, spare_runners, still_running
from .contract import assert_matches_contract

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path)
    try:
        yield started
    finally:
        started.close()


def shut_down_from_the_lab(server: Server) -> None:
    """File > Shut Down in JupyterLab: POST /api/shutdown."""
    status, _ = server.request("POST", "api/shutdown")
    assert status == 200


def terminate(server: Server) -> None:
    """What a process manager (systemd, JupyterHub's spawner) does."""
    server.proc.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [shut_down_from_the_lab, terminate])
def test_server_stop_closes_every_cluster(server, stop):
    from distributed import Client

    before = descendants(server.proc.pid)
    for name in ("one", "two"):
        status, made = server.request(
            "POST", "wp5/api/clusters", {"profile": "cpu", "workers": 2, "name": name}
        )
        assert_matches_contract("POST", "clusters", status, made)
        assert status == 201 and made["workers"] == 2
    # User code on a worker starts a process of its own.
    with Client(made["scheduler_address"], security=security_of(made)) as client:
        sleeper = client.submit(
            lambda: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid
        ).result()
    during = {p: t for p, t in descendants(server.proc.pid).items() if before.get(p) != t}
    commands = still_running(during)
    # Two cluster processes, each with two worker processes at least, and the spare one waiting
    # for the next cluster: all of them end with the server.
    assert len([c for c in commands.values() if "_local_runner.py" in c]) == 3, commands
    assert len(spare_runners(during)) == 1, commands
    assert len(during) >= 7 and sleeper in during, commands

    stop(server)
    assert server.proc.wait(timeout=60) == 0
    # Wherever they were re-parented when the server exited, they must have ended.
    assert_all_ended(during)
