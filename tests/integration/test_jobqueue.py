"""The jobqueue backend: profiles as SLURM/HTCondor job directives, and real SLURM jobs.

The SLURM test runs a single-node SLURM on loopback (tests/slurm.py) and skips, saying why, where
slurm-wlm is not installed. HTCondor is not installed here, so its side is checked on the job
script dask-jobqueue would submit. The SLURM job also shows that no secret of the server reaches a
job's script or its worker's environment.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from traitlets.config import Config

from jupyter_wp5.compute.backends.jobqueue import JobqueueBackend
from jupyter_wp5.compute.profiles import ProfileRegistry

from .. import arm, slurm
from ..api.test_clusters_api import call
from ..child_environ import secrets_in_environ_of
from ..dask_tls import security_of
from ..hosts import HOST_ARCH

pytestmark = pytest.mark.timeout(180)

PROFILES = {
    "batch": {"worker_cores": 1, "worker_memory": "1 GiB", "arch": "x86_64", "max_workers": 2},
    **{name: entry for name, entry in ProfileRegistry().profiles.items() if name != "fpga"},
}


def job_script(system: str, profile: str, **settings) -> str:
    backend = JobqueueBackend(system=system, scheduler_host="127.0.0.1", **settings)
    registry = ProfileRegistry(profiles=PROFILES, default_backend="jobqueue")
    cluster = backend.make_cluster(registry.get(profile))
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def test_slurm_job_script_asks_for_gpus_and_architecture():
    gpu = job_script("slurm", "gpu")
    assert "#SBATCH --gres=gpu:1" in gpu and "--resources GPU=1" in gpu
    arm = job_script("slurm", "arm")
    assert "#SBATCH --constraint=aarch64" in arm and "--resources ARM=1" in arm
    emulated = job_script("slurm", "arm", arm_queue="arm")
    assert "#SBATCH -p arm" in emulated and "--constraint" not in emulated
    # The job becomes the emulated worker (exec), so SLURM's kill reaches it.
    assert "\nexec env " in emulated and "qemu-aarch64-static -L " in emulated
    assert "--no-nanny" in emulated and "--resources ARM=1" in emulated
    cpu = job_script("slurm", "cpu")
    assert "--gres" not in cpu and "--constraint" not in cpu and "--resources" not in cpu


def test_htcondor_job_script_only_no_htcondor_here():
    gpu = job_script("htcondor", "gpu")
    assert "request_gpus = 1" in gpu and "--resources GPU=1" in gpu
    arm = job_script("htcondor", "arm")
    assert 'requirements = (Arch == "aarch64")' in arm


# A fresh interpreter, as a fresh server is: nothing has imported dask_jobqueue yet.
FRESH_MANAGER = textwrap.dedent(
    """
    import signal, sys, threading
    from traitlets.config import Config
    from jupyter_wp5.compute.manager import ClusterManager

    before = signal.getsignal(signal.SIGINT)
    config = Config({"ProfileRegistry": {"default_backend": "jobqueue", "profiles": {
        "batch": {"worker_cores": 1, "worker_memory": "1 GiB", "max_workers": 1}}}})
    manager = ClusterManager(config=config, records_path="")
    assert signal.getsignal(signal.SIGINT) is before, "the server's Ctrl-C handler was replaced"
    scripts = []

    def on_an_executor_thread():
        profile = manager.registry.get("batch")
        cluster = manager.backend_for(profile).make_cluster(profile)
        try:
            scripts.append(cluster.job_script())
        finally:
            cluster.close()

    thread = threading.Thread(target=on_an_executor_thread)
    thread.start()
    thread.join()
    print("#SBATCH" in scripts[0] if scripts else "no job script")
    """
)


def test_a_fresh_manager_makes_jobqueue_clusters_off_the_main_thread():
    """dask_jobqueue's import sets a SIGINT handler, which only the main thread may do; the
    manager imports it as it is made (the server's main thread), so a backend on an executor
    thread can make its cluster, and the server keeps its own Ctrl-C handling."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH_MANAGER], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True", done.stderr[-2000:]


def test_fpga_and_missing_batch_system_are_refused_with_a_reason():
    registry = ProfileRegistry(default_backend="jobqueue")
    assert "FPGA" in JobqueueBackend().can_serve(registry.get("fpga"))
    assert "condor_submit" in JobqueueBackend(system="htcondor").can_serve(registry.get("cpu"))


@pytest.fixture(scope="module")
def slurm_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = slurm.why_not()
    if reason:
        pytest.skip(f"no SLURM here: {reason}")
    cluster = slurm.SingleNodeSlurm(tmp_path_factory.mktemp("slurm"))
    before = os.environ.get("SLURM_CONF")
    try:
        os.environ["SLURM_CONF"] = str(cluster.start())  # sbatch, squeue, scancel read it
        yield cluster
    finally:
        cluster.stop()
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before


@pytest.fixture
def jp_server_config(slurm_conf, private_environ, tmp_path) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "ProfileRegistry": {"profiles": PROFILES, "default_backend": "jobqueue"},
            "JobqueueBackend": {
                "scheduler_host": "127.0.0.1",
                "start_timeout": 300.0,  # emulated aarch64 workers take a while to join
                "log_directory": str(tmp_path / "jobs"),
                "arm_queue": "arm",
                "arm_rootfs": str(arm.ROOTFS.path),
            },
        }
    )


def batch_script(job_id: str) -> str:
    """The script SLURM runs for a job, as it stored it."""
    done = subprocess.run(
        ["scontrol", "write", "batch_script", job_id, "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout


async def test_slurm_workers_are_real_jobs(jp_serverapp, jp_fetch, slurm_conf, private_environ):
    from distributed import Client

    secrets = [jp_serverapp.identity_provider.token, *private_environ.values()]

    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "batch", "workers": 1})
    assert status == 201, info
    try:
        assert info["backend"] == "jobqueue" and info["workers"] == 1
        assert info["architectures"] == {HOST_ARCH: 1}
        assert info["scheduler_address"].startswith("tls://")
        # The worker is a SLURM job, placed by --constraint=x86_64 on the node with that feature.
        assert slurm_conf.jobs() == ["wp5-batch"]
        async with Client(
            info["scheduler_address"], security=security_of(info), asynchronous=True
        ) as client:
            assert await client.submit(sum, range(101)) == 5050
            hosts = await client.run(lambda: os.environ.get("SLURM_JOB_ID"))
            assert all(hosts.values())
            pids = await client.run(os.getpid)
        # Neither the job's script nor the environment its worker started with holds a secret.
        for job_id in hosts.values():
            script = batch_script(job_id)
            assert "dask" in script and [s for s in secrets if s in script] == []
            # The worker is given the cluster's TLS credentials by path, never their content.
            assert "--tls-key" in script and "PRIVATE KEY" not in script
        for pid in pids.values():
            assert secrets_in_environ_of(pid, secrets) == []
    finally:
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert status == 204
    for _ in range(50):
        if not slurm_conf.jobs():
            break
        await asyncio.sleep(0.2)
    assert slurm_conf.jobs() == []


@pytest.mark.timeout(420)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates aarch64 on x86_64")
async def test_arm_profile_runs_aarch64_workers_on_the_arm_partition(jp_fetch, slurm_conf):
    from distributed import Client

    rootfs = arm.prepared_rootfs()
    info = await arm.create_cluster(jp_fetch, {"profile": "arm", "workers": 1})
    try:
        assert slurm_conf.jobs() == ["wp5-arm"]
        assert slurm_conf.partitions() == ["arm"]
        assert info["architectures"] == {"aarch64": 1}
        security = security_of(info)
        async with Client(
            info["scheduler_address"], security=security, asynchronous=True
        ) as client:
            machine = await client.submit(platform.machine, resources={"ARM": 1}, pure=False)
            assert machine == "aarch64"
            # A lambda travels by value; os.environ.get would carry this process's environment.
            partitions = await client.run(lambda: os.environ.get("SLURM_JOB_PARTITION"))
            assert list(partitions.values()) == ["arm"]
        assert len(arm.emulated_workers(rootfs)) == 1
    finally:
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
    assert status == 204
    # scancel's SIGTERM, then SLURM's SIGKILL after KillWait (30 s), end the emulated worker.
    for _ in range(300):
        if not slurm_conf.jobs() and not arm.emulated_workers(rootfs):
            break
        await asyncio.sleep(0.2)
    assert slurm_conf.jobs() == [] and arm.emulated_workers(rootfs) == []


@pytest.fixture
def short_deadline(jp_server_config: Config) -> float:
    """A manager deadline no worker job can meet here (a job's Python alone takes longer)."""
    jp_server_config.ClusterManager.start_timeout = 1.0
    return 1.0


async def test_a_slurm_cluster_past_the_deadline_is_closed_and_its_jobs_cancelled(
    short_deadline, jp_fetch, slurm_conf
):
    status, headers, body = await call(
        jp_fetch, "POST", "clusters", {"profile": "batch", "workers": 1}
    )
    assert status == 503, body
    assert body["error"] == "engine_unavailable" and headers.get("Retry-After")
    assert f"after {short_deadline:g} s" in body["message"]
    assert "jobs cancelled" in body["message"]
    status, _, listed = await call(jp_fetch, "GET", "clusters")
    assert listed["items"] == []
    # scancel was sent before the answer; squeue shows a job until SLURM has ended it.
    for _ in range(50):
        if not slurm_conf.jobs():
            break
        await asyncio.sleep(0.2)
    assert slurm_conf.jobs() == []


@pytest.fixture
def watched(jp_server_config: Config) -> None:
    jp_server_config.ClusterManager.watch_interval = 0.5


@pytest.mark.timeout(300)
def cluster_list_magic(serverapp) -> str:
    """``%wp5 cluster list`` in a kernel talking to ``serverapp``, as the user reads it."""
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_wp5 import api
    from jupyter_wp5.kernel.client import Wp5Client
    from jupyter_wp5.kernel.rest import RestTransport

    token = serverapp.identity_provider.token
    api.set_client(Wp5Client(RestTransport(serverapp.connection_url, token)))
    try:
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "jupyter_wp5")
        return str(shell.run_line_magic("wp5", "cluster list"))
    finally:
        api.set_client(None)


async def test_a_cancelled_worker_job_shows_degraded_and_is_replaced(
    watched, jp_serverapp, jp_fetch, jp_ws_fetch, slurm_conf
):
    from distributed import Client

    from ..api.test_cluster_faults import about
    from ..api.test_events_ws import read_until

    ws = await jp_ws_fetch("wp5", "api", "events")
    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "batch", "workers": 2})
    assert status == 201, info
    cid = info["id"]
    try:
        async with Client(
            info["scheduler_address"], security=security_of(info), asynchronous=True
        ) as client:
            jobs = await client.run(lambda: os.environ.get("SLURM_JOB_ID"))
            victim = sorted(jobs.values())[0]
            subprocess.run(["scancel", victim], check=True, timeout=30)
            degraded = await read_until(ws, about(cid, "degraded"), timeout=30)
            assert degraded["data"]["workers"] == 1
            # Dask keeps the lost job for 15 s before a replacement can be asked for: meanwhile
            # the listing and the magic say degraded too.
            status, _, listed = await call(jp_fetch, "GET", "clusters")
            assert [(c["status"], c["workers"]) for c in listed["items"]] == [("degraded", 1)]
            table = await asyncio.to_thread(cluster_list_magic, jp_serverapp)
            assert "degraded" in table
            # A new job replaces the cancelled one, with nobody asking.
            await read_until(ws, about(cid, "running", workers=2), timeout=180)
            now = await client.run(lambda: os.environ.get("SLURM_JOB_ID"))
            assert len(now) == 2 and victim not in now.values()
            assert await client.submit(sum, range(101), pure=False) == 5050
        assert sorted(slurm_conf.jobs()) == ["wp5-batch", "wp5-batch"]
    finally:
        ws.close()
        status, _, _ = await call(jp_fetch, "DELETE", f"clusters/{cid}")
    assert status == 204
