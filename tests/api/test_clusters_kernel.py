"""``%wp5 cluster ...`` and ``jupyter_wp5.new_cluster`` through the REST client against a real
Jupyter server with the extension, and in-process when there is no server; real LocalClusters.

A cluster's scheduler speaks TLS with credentials made for it: ``Cluster.get_client()`` (what the
notebook, the widget and the magics use) connects; a plain ``distributed.Client`` without them, or
with another cluster's, is refused. The credentials are files only the user can read, removed when
the cluster closes."""

from __future__ import annotations

import asyncio
import re
import stat
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import jupyter_wp5 as wp5
from jupyter_wp5 import api
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.display import ResultTable
from jupyter_wp5.kernel.inprocess import InProcessTransport
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.models import Conflict, NotFound

from ..hosts import HOST_ARCH, OTHER_ARCH, OTHER_ARCH_PROFILE, PROFILES
from ..processes import assert_all_ended, descendants, started_since

pytestmark = pytest.mark.timeout(120)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "ProfileRegistry": {"profiles": PROFILES},
        }
    )


@pytest.fixture
def rest_client(jp_serverapp, jp_fetch):
    """The kernel's client, talking REST to the test server (which must be listening)."""
    client = Wp5Client(
        RestTransport(jp_serverapp.connection_url, jp_serverapp.identity_provider.token)
    )
    api.set_client(client)
    yield client
    api.set_client(None)


def square_sum(cluster: wp5.Cluster) -> int:
    with cluster.get_client() as dask:
        return sum(dask.gather(dask.map(lambda x: x * x, range(10))))


async def test_python_api_over_rest(rest_client):
    def scenario() -> None:
        profiles = {p.name: p for p in wp5.profiles()}
        assert profiles["cpu"].servable and not profiles[OTHER_ARCH_PROFILE].servable
        cluster = wp5.new_cluster("cpu", workers=1, name="analysis")
        try:
            assert cluster.info.workers == 1 and cluster.name == "analysis"
            assert square_sum(cluster) == 285
            again = wp5.cluster("analysis")  # by name
            assert again.id == cluster.id
            assert wp5.cluster(cluster.id).scale(2).info.workers == 2
            assert [c.id for c in wp5.clusters()] == [cluster.id]
            with pytest.raises(Conflict, match=f"needs {OTHER_ARCH} workers"):
                wp5.new_cluster(OTHER_ARCH_PROFILE, workers=1)
        finally:
            cluster.close()
        with pytest.raises(NotFound):
            wp5.cluster("analysis")
        assert wp5.clusters() == []

    # The client blocks; the server answers on this test's event loop, so run it on a thread.
    await asyncio.to_thread(scenario)


async def test_a_start_slower_than_the_kernels_timeout_still_gives_the_cluster(
    jp_serverapp, jp_fetch
):
    """Ordinary calls give up after the kernel's timeout; starting a cluster waits for the
    server, which answers by its own deadline. Before, the start reported a timeout while the
    cluster still started (the first request below, as the kernel used to send it)."""
    from jupyter_wp5.models import ClusterSize, EngineUnavailable

    url, token = jp_serverapp.connection_url, jp_serverapp.identity_provider.token
    hasty = RestTransport(url, token, timeout=0.1)  # a start takes about a second
    patient = RestTransport(url, token)

    def scenario() -> None:
        try:
            with pytest.raises(EngineUnavailable, match=r"did not answer within 0\.1 s"):
                hasty.http("POST", "clusters", body={"profile": "cpu", "workers": 1})
            made = hasty.clusters.create("cpu", ClusterSize(workers=1))
            assert made.workers == 1
            assert hasty.clusters.resize(made.id, ClusterSize(workers=2)).workers == 2
            # The start the kernel gave up on went on: it is listed too.
            deadline = time.monotonic() + 60
            while len(patient.clusters.list()) < 2:
                assert time.monotonic() < deadline, "the first start never finished"
                time.sleep(0.2)
        finally:
            for cluster in patient.clusters.list():
                patient.clusters.close(cluster.id)

    await asyncio.to_thread(scenario)


async def test_cluster_magics_over_rest(rest_client, capsys):
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_wp5")

    def wp5_magic(line: str):
        return shell.run_line_magic("wp5", line)

    def scenario() -> None:
        table = wp5_magic("cluster new --profile cpu --workers 1 --name m1")
        assert isinstance(table, ResultTable) and table[0].workers == 1
        cid = table[0].id
        try:
            listed = wp5_magic("cluster list")
            assert [c.id for c in listed] == [cid]
            assert "1 open cluster" in str(listed)
            assert "architectures" in str(listed) and f"{HOST_ARCH}: 1" in str(listed)
            assert wp5_magic(f"cluster scale {cid} 2")[0].workers == 2
            assert wp5_magic("cluster scale m1 1")[0].workers == 1
            assert wp5_magic(f"cluster new --profile {OTHER_ARCH_PROFILE} --workers 1") is None
        finally:
            wp5_magic("cluster close m1")
        assert list(wp5_magic("cluster list")) == []
        assert wp5_magic("cluster scale m1 2") is None

    await asyncio.to_thread(scenario)
    err = ANSI.sub("", capsys.readouterr().err)
    assert (
        f"wp5: profile '{OTHER_ARCH_PROFILE}' needs {OTHER_ARCH} workers and this machine is "
        f"{HOST_ARCH}" in err
    )
    assert "wp5: no open cluster with id or name 'm1'" in err


def test_in_process_clusters_without_a_server():
    """Plain IPython or a batch job: the kernel runs its own manager, clusters end with it."""
    before, started = descendants(), {}
    client = Wp5Client(InProcessTransport())
    api.set_client(client)
    try:
        cluster = wp5.new_cluster("cpu", workers=1)
        started = started_since(before)
        assert len(started) >= 2  # the cluster's process and its worker
        assert square_sum(cluster) == 285
    finally:
        api.set_client(None)  # closes the client, and with it every cluster it started
    assert_all_ended(started)


async def _refused(address: str, **kwargs) -> bool:
    """Whether a client with these credentials fails to connect. Asynchronous, on the test's loop:
    a synchronous client starts a loop thread of its own each time, slow on a loaded machine."""
    from distributed import Client

    try:
        client = await Client(address, timeout="3s", asynchronous=True, **kwargs)
    except (OSError, TimeoutError, ValueError, TypeError):
        return True
    await client.close()
    return False


async def test_only_the_clusters_own_credentials_connect(rest_client):
    from distributed import Security

    cluster = await asyncio.to_thread(wp5.new_cluster, "cpu", workers=1)
    try:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        directory = Path(cluster.info.credentials or "")
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for pem in directory.iterdir():
            assert stat.S_IMODE(pem.stat().st_mode) == 0o600
        assert await _refused(address)  # no credentials at all
        assert await _refused(address.replace("tls://", "tcp://", 1))  # plain TCP
        assert await _refused(address, security=Security.temporary())  # another cluster's

        def compute() -> int:
            with cluster.get_client() as dask:
                return dask.submit(sum, range(101)).result()

        assert await asyncio.to_thread(compute) == 5050
    finally:
        await asyncio.to_thread(cluster.close)
    assert not directory.exists()
