"""The jobqueue backend: profiles as SLURM/HTCondor job directives, and real SLURM jobs.

The SLURM test runs a single-node SLURM on loopback (tests/slurm.py) and skips, saying why, where
slurm-wlm is not installed. HTCondor is not installed here, so its side is checked on the job
script dask-jobqueue would submit.
"""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Iterator

import dask_jobqueue  # noqa: F401 - its import sets a SIGINT handler: main thread only
import pytest
from traitlets.config import Config

from jupyter_wp5.compute.backends.jobqueue import JobqueueBackend
from jupyter_wp5.compute.profiles import ProfileRegistry

from .. import arm, slurm
from ..api.test_clusters_api import call

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
def jp_server_config(slurm_conf, tmp_path) -> Config:
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


async def test_slurm_workers_are_real_jobs(jp_fetch, slurm_conf):
    from distributed import Client

    status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "batch", "workers": 1})
    assert status == 201, info
    try:
        assert info["backend"] == "jobqueue" and info["workers"] == 1
        # The worker is a SLURM job, placed by --constraint=x86_64 on the node with that feature.
        assert slurm_conf.jobs() == ["wp5-batch"]
        async with Client(info["scheduler_address"], asynchronous=True) as client:
            assert await client.submit(sum, range(101)) == 5050
            hosts = await client.run(lambda: os.environ.get("SLURM_JOB_ID"))
            assert all(hosts.values())
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
        async with Client(info["scheduler_address"], asynchronous=True) as client:
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
