"""The ``jobqueue`` backend: workers as batch jobs (SLURM or HTCondor) through dask-jobqueue.

A profile becomes job directives: GPUs are ``--gres=gpu:N`` (SLURM) or ``request_gpus``
(HTCondor), an architecture is ``--constraint=<arch>`` or ``requirements = (Arch == "<arch>")``,
and every resource is also given to the worker (``--resources GPU=1``) so that tasks annotated
with it are routed there. The scheduler runs in the Jupyter server's process (dask-jobqueue's
design), so these clusters end with the server and are reported lost after a restart.

Each cluster speaks TLS with credentials of its own (:mod:`..credentials`); its dashboard listens
on loopback. With ``arm_queue`` set, aarch64 profiles go to that partition and their jobs run the
emulated aarch64 Python of :mod:`..arm_launcher` (x86_64 nodes running real aarch64 workers under
qemu, without a nanny) instead of asking for ``--constraint=aarch64``.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from traitlets import Dict, Enum, Float, List, Unicode

from ...models import ClusterSize, EngineUnavailable
from ..arm_rootfs import ArmRootfs
from ..credentials import PROTOCOL, ClusterCredentials
from .base import (
    BackendStatus,
    ClusterBackend,
    ClusterHandle,
    wait_for_workers,
    worker_architectures,
)

if TYPE_CHECKING:
    from dask_jobqueue.core import JobQueueCluster

    from ..profiles import Profile

SUBMIT = {"slurm": "sbatch", "htcondor": "condor_submit"}


class JobqueueHandle(ClusterHandle):
    """A dask-jobqueue cluster (its scheduler lives in this process)."""

    def __init__(self, cluster: JobQueueCluster, credentials: ClusterCredentials) -> None:
        self.cluster = cluster
        self.credentials = credentials
        self.scheduler_address = cluster.scheduler_address
        self.dashboard_port = cluster.scheduler.services.get("dashboard", None) and (
            cluster.scheduler.services["dashboard"].port
        )

    def workers(self) -> list[Any]:
        return list(self.cluster.scheduler.workers.values())


class JobqueueBackend(ClusterBackend):
    """SLURM or HTCondor workers through ``dask_jobqueue.SLURMCluster`` / ``HTCondorCluster``."""

    name = "jobqueue"

    system = Enum(["slurm", "htcondor"], "slurm", config=True, help="The batch system.")
    queue = Unicode(config=True, help="SLURM partition (empty: the system's default).")
    account = Unicode(config=True, help="SLURM account to charge (empty: the user's default).")
    walltime = Unicode("01:00:00", config=True, help="Wall time of each SLURM worker job.")
    python = Unicode(sys.executable, config=True, help="The Python the worker jobs run.")
    scheduler_host = Unicode(
        "", config=True, help="Address the scheduler listens on (empty: dask's choice)."
    )
    job_extra = List(
        Unicode(), config=True, help="Extra SLURM directives for every job, e.g. '--qos=short'."
    )
    htcondor_extra = Dict(
        value_trait=Unicode(), config=True, help="Extra HTCondor submit settings for every job."
    )
    log_directory = Unicode(
        "", config=True, help="Where the jobs write their output (empty: the server's directory)."
    )
    start_timeout = Float(300.0, config=True, help="Seconds the worker jobs may take to start.")
    arm_queue = Unicode(
        "",
        config=True,
        help="SLURM partition whose x86_64 nodes run aarch64 profiles' workers under qemu "
        "emulation (empty: aarch64 profiles ask for --constraint=aarch64 nodes).",
    )
    arm_rootfs = Unicode(
        "",
        config=True,
        help="The emulated workers' aarch64 tree, at the same path on the arm_queue nodes "
        "(default: $WP5_ARM_ROOTFS or ~/.cache/jupyter-wp5/arm64-py311).",
    )
    credentials_directory = Unicode(
        "",
        config=True,
        help="Where each cluster's TLS key and certificate are written (0600), on a filesystem "
        "the worker nodes share (empty: the Jupyter runtime directory).",
    )

    @classmethod
    def preload(cls) -> None:
        """Import dask_jobqueue now, on the main thread, keeping this process's SIGINT handler.

        Its ``runner`` module sets a SIGINT handler when imported, which Python allows only on
        the main thread: imported first by a backend on an executor thread, it fails.
        """
        on_main = threading.current_thread() is threading.main_thread()
        if "dask_jobqueue" in sys.modules or not on_main:
            return
        handler = signal.getsignal(signal.SIGINT)
        try:
            import dask_jobqueue  # noqa: F401
        finally:
            if handler is not None:
                signal.signal(signal.SIGINT, handler)

    # -- mapping profiles ------------------------------------------------------------------------

    def can_serve(self, profile: Profile) -> str | None:
        if profile.fpgas:
            return f"profile '{profile.name}': the jobqueue backend has no FPGA mapping"
        if self.emulated(profile):
            reason = self.rootfs().why_not_ready()
            if reason:
                return (
                    f"profile '{profile.name}' runs emulated aarch64 workers on partition "
                    f"'{self.arm_queue}': {reason}"
                )
        command = SUBMIT[self.system]
        if shutil.which(command) is None:
            return f"no {command} here: this machine cannot submit {self.system} jobs"
        return None

    def emulated(self, profile: Profile) -> bool:
        """Whether ``profile``'s jobs go to :attr:`arm_queue` as emulated aarch64 workers."""
        return bool(self.arm_queue) and self.system == "slurm" and profile.arch == "aarch64"

    def rootfs(self) -> ArmRootfs:
        return ArmRootfs.configured(self.arm_rootfs)

    def cluster_kwargs(
        self, profile: Profile, credentials: ClusterCredentials | None = None
    ) -> dict[str, Any]:
        """The dask-jobqueue arguments for ``profile`` (job directives, worker resources), over
        TLS with ``credentials`` when given."""
        tags = ",".join(f"{name}={n:g}" for name, n in profile.resources.items())
        kwargs: dict[str, Any] = {
            "cores": profile.worker_cores,
            "memory": f"{profile.worker_memory}B",
            "processes": 1,
            "python": self.python,
            "worker_extra_args": ["--resources", tags] if tags else [],
            "job_name": f"wp5-{profile.name}",
        }
        if self.log_directory:
            kwargs["log_directory"] = self.log_directory
        # The dashboard is served through the Jupyter server only (clusters/{id}/dashboard).
        kwargs["scheduler_options"] = {"dashboard_address": "127.0.0.1:0"}
        if self.scheduler_host:
            kwargs["scheduler_options"]["host"] = self.scheduler_host
        if credentials is not None:
            kwargs["security"] = credentials.security()
            kwargs["protocol"] = PROTOCOL
        if self.system == "slurm":
            directives = list(self.job_extra)
            if profile.gpus:
                directives.append(f"--gres=gpu:{profile.gpus}")
            if profile.arch and not self.emulated(profile):
                directives.append(f"--constraint={profile.arch}")
            kwargs["job_extra_directives"] = directives
            kwargs["walltime"] = self.walltime
            if self.queue:
                kwargs["queue"] = self.queue
            if self.emulated(profile):
                from ..arm_rootfs import python_command

                # The job script's last line is `<python> -m distributed.cli.dask_worker ...`.
                # exec: the worker is then the job's own process, which SLURM tracks and kills
                # (an orphaned one, without a nanny, can outlive its job).
                kwargs["python"] = "exec " + shlex.join(python_command(self.rootfs()))
                kwargs["nanny"] = False
                kwargs["queue"] = self.arm_queue
            if self.account:
                kwargs["account"] = self.account
        else:
            settings = dict(self.htcondor_extra)
            if profile.gpus:
                settings["request_gpus"] = str(profile.gpus)
            if profile.arch:
                settings["requirements"] = f'(Arch == "{profile.arch}")'
            kwargs["job_extra_directives"] = settings
            kwargs["disk"] = "1 GiB"
        return kwargs

    def make_cluster(
        self, profile: Profile, credentials: ClusterCredentials | None = None
    ) -> JobQueueCluster:
        """The cluster (scheduler started, no job submitted yet)."""
        from dask_jobqueue import HTCondorCluster, SLURMCluster

        cls = SLURMCluster if self.system == "slurm" else HTCondorCluster
        return cls(**self.cluster_kwargs(profile, credentials))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, profile: Profile, size: ClusterSize, timeout: float) -> JobqueueHandle:
        limit = min(self.start_timeout, timeout)
        deadline = time.monotonic() + limit
        credentials = ClusterCredentials.create(self.credentials_directory or None)
        try:
            handle = JobqueueHandle(self.make_cluster(profile, credentials), credentials)
        except Exception as exc:
            credentials.remove()
            raise EngineUnavailable(f"the {self.system} cluster did not start: {exc}") from None
        try:
            self._scale(handle, size, max(0.0, deadline - time.monotonic()))
        except EngineUnavailable as exc:
            self.close(handle)
            raise EngineUnavailable(
                f"the {self.system} cluster was not ready after {limit:g} s ({exc}); "
                "it was closed, its jobs cancelled"
            ) from None
        except BaseException:
            self.close(handle)
            raise
        return handle

    def resize(self, handle: ClusterHandle, size: ClusterSize) -> None:
        self._scale(handle, size, self.start_timeout)

    def _scale(self, handle: ClusterHandle, size: ClusterSize, timeout: float) -> None:
        assert isinstance(handle, JobqueueHandle)
        try:
            if size.workers is not None:
                handle.cluster.scale(size.workers)
            else:
                handle.cluster.adapt(minimum=size.minimum or 0, maximum=size.maximum or 0)
        except Exception as exc:
            raise EngineUnavailable(f"{self.system} refused the jobs: {exc}") from None

        def count() -> int:
            # A lost job stays in dask's spec until distributed.deploy.lost-worker-timeout (15 s);
            # asking for the size again then submits its replacement.
            if size.workers is not None:
                handle.cluster.scale(size.workers)
            return len(handle.workers())

        wait_for_workers(
            count,
            size,
            timeout,
            f"{self.system} worker jobs running (queued? see the batch system)",
        )

    def status(self, handle: ClusterHandle) -> BackendStatus:
        assert isinstance(handle, JobqueueHandle)
        workers = handle.workers()
        running = handle.cluster.status.name == "running"
        return BackendStatus(
            running=running,
            workers=len(workers),
            cores=sum(w.nthreads for w in workers),
            memory=sum(w.memory_limit or 0 for w in workers),
            gpus=int(sum(w.resources.get("GPU", 0) for w in workers)),
            scheduler_address=handle.scheduler_address,
            dashboard_port=handle.dashboard_port,
            dashboard_address=None,
            architectures=worker_architectures(workers),
        )

    def close(self, handle: ClusterHandle) -> None:
        assert isinstance(handle, JobqueueHandle)
        try:
            handle.cluster.close()
        except Exception as exc:
            self.log.warning("%s cluster: close: %s", self.system, exc)
        handle.credentials.remove()
