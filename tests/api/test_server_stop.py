"""Stopping a real Jupyter server (its own process, with the extension) ends every local cluster
it started and every process those clusters started: the cluster processes, their workers and
what user code on the workers started, whether the user shuts the server down from the lab or it
gets SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..dask_tls import security_of
from ..processes import assert_all_ended, descendants, spare_runners, still_running
from .contract import assert_matches_contract

pytestmark = pytest.mark.timeout(180)


class Server:
    """A ``jupyter server`` child process on a port it chose itself (port 0)."""

    def __init__(self, root: Path) -> None:
        self.token = secrets.token_hex(16)
        runtime = root / "runtime"
        env = {
            **os.environ,
            "HOME": str(root),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_TOKEN": self.token,
        }
        self.log = (root / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "server",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={root}",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # The server writes the address it listens on (port included) into its runtime file.
        info = runtime / f"jpserver-{self.proc.pid}.json"
        deadline = time.monotonic() + 60
        while not info.exists():
            assert self.proc.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "the Jupyter server did not start"
            time.sleep(0.1)
        self.url = json.loads(info.read_text())["url"]

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data if method != "POST" or data else b"",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=120) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


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
