"""Start real aarch64 Dask workers on an x86 machine, through qemu user emulation.

A worker is the aarch64 interpreter of an :class:`~.arm_rootfs.ArmRootfs` run as
``qemu-aarch64-static -L <tree> <tree>/usr/bin/python3.11 -m distributed.cli.dask_worker ...``.
qemu is named explicitly, so no binfmt_misc registration is needed, and the worker runs without a
nanny (a nanny's child process would need binfmt). The same command serves every backend: the
local backend's :class:`EmulatedCluster`, SLURM jobs (as dask-jobqueue's ``python``) and
``jupyter wp5 arm worker`` to add ARM workers to any scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path
from typing import Any

from distributed import Scheduler, SpecCluster
from distributed.deploy.spec import ProcessInterface

from .arm_rootfs import ArmRootfs, python_command

__all__ = [
    "EmulatedCluster",
    "EmulatedWorker",
    "dask_worker_command",
    "python_command",
    "worker_command",
]


def dask_worker_command(rootfs: ArmRootfs) -> list[str]:
    """``dask worker`` in the emulated Python, without a nanny; the scheduler and options follow
    (the form dask-gateway's ``worker_cmd`` takes)."""
    return [*python_command(rootfs), "-m", "distributed.cli.dask_worker", "--no-nanny"]


def worker_command(
    rootfs: ArmRootfs,
    scheduler: str,
    *,
    nthreads: int = 1,
    memory_limit: int | str = "auto",
    resources: dict[str, float] | None = None,
    name: str | None = None,
    host: str | None = None,
    death_timeout: float = 60,
) -> list[str]:
    """An aarch64 ``dask worker`` (no nanny) joining ``scheduler``.

    ``death_timeout`` ends a worker whose scheduler went away, so none outlives its cluster.
    """
    cmd = [
        *dask_worker_command(rootfs), scheduler, "--nthreads", str(nthreads),
        "--memory-limit", str(memory_limit), "--death-timeout", f"{death_timeout:g}",
    ]  # fmt: skip
    if resources:
        cmd += ["--resources", " ".join(f"{k}={v:g}" for k, v in resources.items())]
    if name is not None:
        cmd += ["--name", name]
    if host is not None:
        cmd += ["--host", host]
    return cmd


class EmulatedWorker(ProcessInterface):
    """One emulated worker process, for a :class:`~distributed.SpecCluster`'s worker spec."""

    def __init__(self, scheduler: str, name: str, *, rootfs: str, **options: Any) -> None:
        super().__init__(scheduler, name)
        self.command = worker_command(ArmRootfs(Path(rootfs)), scheduler, name=name, **options)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        # Its output goes where the cluster's goes (the local runner's log).
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdin=subprocess.DEVNULL, start_new_session=True
        )
        await super().start()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        await super().close()


class EmulatedCluster(SpecCluster):
    """A scheduler on this machine whose workers are all emulated aarch64 processes.

    Takes the :class:`~distributed.LocalCluster` arguments the local backend uses, plus ``rootfs``.
    """

    def __init__(
        self,
        *,
        rootfs: str,
        n_workers: int = 0,
        threads_per_worker: int = 1,
        memory_limit: int | str = "auto",
        resources: dict[str, float] | None = None,
        host: str = "127.0.0.1",
        scheduler_port: int = 0,
        dashboard_address: str = ":0",
        asynchronous: bool = False,
        silence_logs: int | bool = False,
        **ignored: Any,
    ) -> None:
        scheduler = {
            "cls": Scheduler,
            "options": {
                "host": host,
                "port": scheduler_port,
                "dashboard_address": dashboard_address,
            },
        }
        worker = {
            "cls": EmulatedWorker,
            "options": {
                "rootfs": rootfs,
                "nthreads": threads_per_worker,
                "memory_limit": memory_limit,
                "resources": resources or {},
                "host": host,
            },
        }
        workers = {f"arm-{i}": worker for i in range(n_workers)}
        super().__init__(
            workers=workers,
            scheduler=scheduler,
            worker=worker,
            asynchronous=asynchronous,
            silence_logs=silence_logs,
        )

    def _new_worker_name(self, worker_number: int) -> str:
        # Workers report --name as a string; the spec's names must be strings to match.
        return f"arm-{worker_number}"
