"""``jupyter wp5 arm ...``: prepare the emulated aarch64 Python and start ARM workers by hand."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from jupyter_core.application import JupyterApp
from traitlets import Bool, Dict, Float, Integer, Unicode

from jupyter_wp5.cli import CommandGroup

if TYPE_CHECKING:
    from jupyter_wp5.compute.arm_rootfs import ArmRootfs

__all__ = ["ArmApp", "ArmPrepareApp", "ArmWorkerApp"]


def _rootfs(path: str) -> ArmRootfs:
    from jupyter_wp5.compute.arm_rootfs import ArmRootfs

    return ArmRootfs.configured(path)


class ArmPrepareApp(JupyterApp):
    """Prepare (once) the aarch64 Python that emulated ARM workers run."""

    name = "jupyter-wp5-arm-prepare"
    description = """Prepare the aarch64 Python for emulated ARM workers.

    Downloads Debian's arm64 Python with `apt-get download` (the arm64 architecture must be known
    to apt: as root, `dpkg --add-architecture arm64 && apt-get update`), unpacks it, and installs
    aarch64 wheels of this environment's dask and distributed versions (and numpy, awkward,
    uproot, coffea) from the host. Workers run it under qemu-aarch64-static (apt-get install
    qemu-user-static). An intact tree is kept; a partial or corrupted one (checked against its
    manifest of SHA-256 sums) is prepared again.
    """
    examples = """
    jupyter wp5 arm prepare
    jupyter wp5 arm prepare --force
    jupyter wp5 arm prepare --rootfs /scratch/arm64
    """

    rootfs = Unicode(
        "",
        config=True,
        help="Where the tree lives (default: $WP5_ARM_ROOTFS or ~/.cache/jupyter-wp5/arm64-py311).",
    )
    force = Bool(False, config=True, help="Prepare again even when the tree is intact.")
    check = Bool(False, config=True, help="Only check the tree (exit 1 when not ready).")

    flags = {
        **JupyterApp.flags,
        "force": ({"ArmPrepareApp": {"force": True}}, "Prepare again even when intact."),
        "check": ({"ArmPrepareApp": {"check": True}}, "Only check; prepare nothing."),
    }
    aliases = {**JupyterApp.aliases, "rootfs": "ArmPrepareApp.rootfs"}

    def start(self) -> None:
        """Prepare or check, print where the tree is; exit non-zero on failure."""
        from jupyter_wp5.compute.arm_rootfs import RootfsError

        rootfs = _rootfs(self.rootfs)
        if self.check:
            reason = rootfs.why_not_ready()
            bad = [] if reason else rootfs.verify()
            if reason or bad:
                print(reason or f"{len(bad)} files differ from the manifest, e.g. {bad[0]}")
                self.exit(1)
            print(f"ready: {rootfs.path}")
            return
        try:
            manifest = rootfs.ensure(log=lambda line: print(line, flush=True), force=self.force)
        except RootfsError as err:
            self.log.error("%s", err)
            self.exit(1)
        packages = ", ".join(f"{k} {v}" for k, v in manifest.get("packages", {}).items())
        print(f"ready: {rootfs.path} ({packages})")


class ArmWorkerApp(JupyterApp):
    """Run one emulated aarch64 Dask worker joining a scheduler (in the foreground)."""

    name = "jupyter-wp5-arm-worker"
    description = """Run one aarch64 Dask worker under qemu, joining SCHEDULER.

    Adds ARM workers to any cluster, e.g. an x86 one: a mixed cluster. The worker has no nanny.
    Prepare the aarch64 Python first with `jupyter wp5 arm prepare`.
    """
    examples = """
    jupyter wp5 arm worker tcp://127.0.0.1:8786
    jupyter wp5 arm worker tcp://127.0.0.1:8786 --nthreads 2 --resources ARM=1
    """

    rootfs = Unicode("", config=True, help="The prepared tree (default: as for prepare).")
    nthreads = Integer(1, config=True, help="Threads of the worker.")
    resources = Dict(
        {"ARM": 1}, config=True, help="Worker resources, e.g. --resources ARM=1 (repeatable)."
    )
    death_timeout = Float(60.0, config=True, help="Seconds without a scheduler before exiting.")

    aliases = {
        **JupyterApp.aliases,
        "rootfs": "ArmWorkerApp.rootfs",
        "nthreads": "ArmWorkerApp.nthreads",
        "resources": "ArmWorkerApp.resources",
        "death-timeout": "ArmWorkerApp.death_timeout",
    }

    def start(self) -> None:
        """Replace this process by the emulated worker."""
        from jupyter_wp5.compute.arm_launcher import worker_command

        if len(self.extra_args) != 1:
            self.log.error("give the scheduler's address, e.g. tcp://127.0.0.1:8786")
            self.exit(2)
        rootfs = _rootfs(self.rootfs)
        reason = rootfs.why_not_ready()
        if reason:
            self.log.error("%s", reason)
            self.exit(1)
        resources = {k: float(v) for k, v in self.resources.items()}
        cmd = worker_command(
            rootfs,
            self.extra_args[0],
            nthreads=self.nthreads,
            resources=resources,
            death_timeout=self.death_timeout,
        )
        sys.stdout.flush()
        os.execvp(cmd[0], cmd)


class ArmApp(CommandGroup):
    """``jupyter wp5 arm``: emulated aarch64 workers (runs a subcommand like ``jupyter wp5``)."""

    name = "jupyter-wp5-arm"
    description = """Emulated aarch64 (ARM) Dask workers: prepare their Python, run one by hand."""
    examples = """
    jupyter wp5 arm prepare --help
    jupyter wp5 arm worker --help
    """
    subcommands = {
        "prepare": (ArmPrepareApp, ArmPrepareApp.description.splitlines()[0]),
        "worker": (ArmWorkerApp, ArmWorkerApp.description.splitlines()[0]),
    }
