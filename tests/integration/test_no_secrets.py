"""No secret reaches a child process: a real kernel finds the server through its 0600 runtime
file, and neither it, a terminal, nor a real local Dask worker inherits the server's token or the
gateway's password. (The SLURM job's side is in test_jobqueue.py.)"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from jupyter_wp5.server_file import server_file

from ..api.test_clusters_api import call
from ..child_environ import secrets_in_environ_of
from ..dask_tls import security_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def jp_server_config(private_environ) -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}}})


@pytest.fixture
def secrets(private_environ, jp_serverapp) -> list[str]:
    token = jp_serverapp.identity_provider.token
    assert token
    return [token, *private_environ.values()]


async def test_a_kernel_finds_its_server_without_a_secret_in_its_environment(
    jp_serverapp, http_server, secrets, tmp_path: Path
) -> None:
    path = server_file(os.getpid(), jp_serverapp.runtime_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for name in ("JUPYTER_TOKEN", "JUPYTER_WP5_TOKEN", "WP5_GATEWAY_PASSWORD", "JUPYTER_WP5_URL"):
        assert name not in os.environ

    nb = new_notebook(
        cells=[
            new_code_cell(
                "import os, jupyter_wp5 as wp5\n"
                "client = wp5.api.get_client()\n"
                "print(os.getpid(), type(client.transport).__name__, client.transport.http.url)\n"
                "print(sorted(p.name for p in wp5.profiles()))"
            )
        ]
    )
    kernel = NotebookClient(nb, kernel_name="python3", timeout=120, startup_timeout=120)
    async with kernel.async_setup_kernel(cwd=str(tmp_path)):
        # The kernel is still running while its environment is read.
        cell = await kernel.async_execute_cell(nb.cells[0], 0)
        out = "".join(o.get("text", "") for o in cell.outputs)
        assert "error" not in [o["output_type"] for o in cell.outputs], cell.outputs
        first, profiles = out.splitlines()
        pid, transport, url = first.split()
        assert transport == "RestTransport"
        assert url.rstrip("/") == jp_serverapp.connection_url.rstrip("/")
        assert "cpu" in profiles  # the server answered with the token read from the file
        assert secrets_in_environ_of(int(pid), secrets) == []


async def test_a_local_dask_worker_inherits_no_secret(jp_serverapp, jp_fetch, secrets) -> None:
    from distributed import Client

    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, info
    try:
        async with Client(
            info["scheduler_address"], security=security_of(info), asynchronous=True
        ) as client:
            pids = [*(await client.run(os.getpid)).values()]
            pids.append(await client.run_on_scheduler(os.getpid))
        assert len(pids) == 2
        for pid in pids:
            assert secrets_in_environ_of(pid, secrets) == []
    finally:
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert status == 204


def test_the_gateway_password_moves_from_the_environment_to_the_backend(
    jp_serverapp, private_environ
) -> None:
    from jupyter_wp5.compute.backends.gateway import GatewayBackend

    manager = jp_serverapp.web_app.settings["wp5_services"].clusters
    assert "WP5_GATEWAY_PASSWORD" not in os.environ
    assert GatewayBackend(parent=manager).password == private_environ["WP5_GATEWAY_PASSWORD"]


async def test_a_terminal_inherits_no_secret(jp_serverapp, jp_fetch, secrets) -> None:
    response = await jp_fetch("api", "terminals", method="POST", body="{}")
    name = json.loads(response.body)["name"]
    try:
        terminals = jp_serverapp.web_app.settings["terminal_manager"]
        shell = terminals.terminals[name].ptyproc.pid
        assert secrets_in_environ_of(shell, secrets) == []
    finally:
        await jp_fetch("api", "terminals", name, method="DELETE")
