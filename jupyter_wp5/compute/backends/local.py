"""The ``local`` backend: each cluster is a LocalCluster in its own small process on this machine.

The cluster process (``_local_runner.py``) is started by path with a minimal main module, so its
workers start fast and a crashing cluster cannot take the Jupyter server down; it also closes its
cluster when its stdin closes, so clusters end with the server even if the server is killed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Unicode

from ...models import ClusterSize, EngineUnavailable
from ..arm_rootfs import ArmRootfs
from ..credentials import ClusterCredentials
from ..profiles import Profile
from .base import BackendStatus, ClusterBackend, ClusterHandle, normalise_arch

RUNNER = Path(__file__).with_name("_local_runner.py")

# Dask reads this before its nanny spawns a worker: None removes the variable (see RECIPES.md).
PRE_SPAWN_ENV = "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON"
NO_MALLOC_TRIM = "{'MALLOC_TRIM_THRESHOLD_': None}"


def count_nvidia_gpus() -> int:
    """NVIDIA GPUs the driver exposes, found without importing CUDA."""
    if not shutil.which("nvidia-smi") or not os.path.isdir("/proc/driver/nvidia"):
        return 0
    gpus = Path("/proc/driver/nvidia/gpus")
    return len(list(gpus.iterdir())) if gpus.is_dir() else 0


class LocalHandle(ClusterHandle):
    """A cluster process and the pipes to it; one command at a time."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: str) -> None:
        self.process = process
        self.log_path = log_path
        self.lock = threading.Lock()
        self.scheduler_address = ""
        self.dashboard_port: int | None = None
        self.extra_wait = 0.0  # emulated workers take minutes, not seconds, to join
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, payload: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(payload).encode() + b"\n")
        self.process.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        """The next protocol line, waiting at most ``timeout`` seconds."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer within {timeout:g} s")
                if sel.select(left):
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        raise EOFError("the cluster process ended")
                    self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def kill(self) -> None:
        """End the process and any worker it left behind."""
        try:
            import psutil

            children = psutil.Process(self.pid).children(recursive=True)
        except Exception:
            children = []
        if self.alive():
            self.process.kill()
        for child in children:
            with contextlib.suppress(Exception):
                child.kill()
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        if self.credentials is not None:
            self.credentials.remove()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)


class LocalBackend(ClusterBackend):
    """LocalCluster (LocalCUDACluster with GPUs and dask-cuda) in a separate process per cluster."""

    name = "local"

    remove_malloc_trim = Bool(
        True,
        config=True,
        help="Start workers without MALLOC_TRIM_THRESHOLD_ (dask sets 65536, which makes "
        "uproot/awkward work several times slower).",
    )
    start_timeout = Float(60.0, config=True, help="Seconds a cluster and its workers may take.")
    command_timeout = Float(60.0, config=True, help="Seconds a scale or status call may take.")
    emulate_arm = Bool(
        True,
        config=True,
        help="Serve aarch64 profiles on an x86_64 machine with emulated workers (qemu) once "
        "`jupyter wp5 arm prepare` has prepared their Python.",
    )
    arm_rootfs = Unicode(
        "",
        config=True,
        help="The emulated workers' aarch64 tree (default: $WP5_ARM_ROOTFS or "
        "~/.cache/jupyter-wp5/arm64-py311).",
    )
    arm_start_timeout = Float(
        300.0, config=True, help="Seconds emulated workers may take to join (they start slowly)."
    )

    # -- servability (cheap, starts nothing) -----------------------------------------------------

    def machine(self) -> str:
        return normalise_arch(platform.machine())

    def gpus(self) -> int:
        return count_nvidia_gpus()

    def python_for(self, profile: Profile) -> str:
        if not profile.environment:
            return sys.executable
        return str(Path(profile.environment) / "bin" / "python")

    def emulated(self, profile: Profile) -> bool:
        """Whether ``profile``'s workers are aarch64 under emulation on this x86_64 machine."""
        arch = normalise_arch(profile.arch or self.machine())
        return self.emulate_arm and arch == "aarch64" and self.machine() == "x86_64"

    def rootfs(self) -> ArmRootfs:
        return ArmRootfs.configured(self.arm_rootfs)

    def can_serve(self, profile: Profile) -> str | None:
        here = normalise_arch(self.machine())
        if self.emulated(profile):
            reason = self.rootfs().why_not_ready()
            if reason:
                return (
                    f"profile '{profile.name}' needs aarch64 workers and this machine is "
                    f"x86_64, which emulates them only once their Python is prepared: {reason}"
                )
        elif profile.arch and normalise_arch(profile.arch) != here:
            return (
                f"profile '{profile.name}' needs {profile.arch} workers and this machine is "
                f"{here}; the local backend cannot emulate that architecture"
            )
        if profile.fpgas:
            return f"profile '{profile.name}' needs an FPGA; the local backend has no FPGA support"
        if profile.gpus and self.gpus() < profile.gpus:
            return (
                f"profile '{profile.name}' needs {profile.gpus} GPU per worker and this machine "
                f"has {self.gpus()} NVIDIA GPU (no nvidia-smi or /proc/driver/nvidia)"
            )
        if profile.environment and not os.access(self.python_for(profile), os.X_OK):
            return f"profile '{profile.name}': no Python at {self.python_for(profile)}"
        return None

    # -- lifecycle ------------------------------------------------------------------------------

    def _environ(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.remove_malloc_trim:
            env.pop("MALLOC_TRIM_THRESHOLD_", None)
            env[PRE_SPAWN_ENV] = NO_MALLOC_TRIM
        return env

    def start(self, profile: Profile, size: ClusterSize, timeout: float) -> LocalHandle:
        cuda = bool(profile.gpus) and importlib.util.find_spec("dask_cuda") is not None
        spec = {
            "workers": size.workers,
            "minimum": size.minimum,
            "maximum": size.maximum,
            "threads_per_worker": profile.worker_cores,
            "memory_limit": profile.worker_memory,
            "resources": profile.resources,
            "cuda": cuda,
            "timeout": self.start_timeout,
            "remove_malloc_trim": self.remove_malloc_trim,
        }
        if self.emulated(profile):
            spec["emulated_rootfs"] = str(self.rootfs().path)
            spec["timeout"] = self.arm_start_timeout
        credentials = ClusterCredentials.create()
        spec["security"] = credentials.security_kwargs()
        fd, log_path = tempfile.mkstemp(prefix="wp5-cluster-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            process = subprocess.Popen(
                [self.python_for(profile), str(RUNNER), json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self._environ(),
                close_fds=True,
                # Its own process group: on close it ends everything below it (_local_runner.py).
                start_new_session=True,
            )
        handle = LocalHandle(process, log_path)
        handle.extra_wait = spec["timeout"] if self.emulated(profile) else 0.0
        handle.credentials = credentials
        try:
            first = handle.read(min(spec["timeout"] + 10, timeout))
        except (TimeoutError, EOFError, ValueError) as exc:
            handle.kill()
            reason = handle.log_tail() or str(exc)
            handle.cleanup()
            raise EngineUnavailable(f"the local cluster did not start: {reason}") from None
        if "error" in first:
            handle.kill()
            handle.cleanup()
            raise EngineUnavailable(f"the local cluster did not start: {first['error']}")
        handle.scheduler_address = first["scheduler_address"]
        handle.dashboard_port = first.get("dashboard_port")
        self.log.info(
            "local cluster pid %s at %s (%s, %s)",
            handle.pid,
            handle.scheduler_address,
            profile.name,
            f"{size.workers} workers" if size.workers is not None else "adaptive",
        )
        return handle

    def _command(self, handle: ClusterHandle, payload: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(handle, LocalHandle)
        with handle.lock:
            if not handle.alive():
                raise EngineUnavailable("the cluster's process has ended")
            try:
                handle.send(payload)
                answer = handle.read(self.command_timeout + handle.extra_wait)
            except (OSError, TimeoutError, EOFError, ValueError) as exc:
                raise EngineUnavailable(f"the cluster did not answer: {exc}") from None
        if not answer.get("ok"):
            raise EngineUnavailable(f"the cluster refused: {answer.get('error')}")
        return answer

    def resize(self, handle: ClusterHandle, size: ClusterSize) -> None:
        # The runner waits for the workers itself, next to its scheduler.
        if size.workers is not None:
            self._command(handle, {"op": "scale", "n": size.workers})
        else:
            bounds = {"minimum": size.minimum or 0, "maximum": size.maximum or 0}
            self._command(handle, {"op": "adapt", **bounds})

    def status(self, handle: ClusterHandle) -> BackendStatus:
        assert isinstance(handle, LocalHandle)
        if not handle.alive():
            return BackendStatus(False, 0, 0, 0, 0, handle.scheduler_address, None, None)
        s = self._command(handle, {"op": "status"})
        port = s.get("dashboard_port")
        return BackendStatus(
            running=True,
            workers=s["workers"],
            cores=s["cores"],
            memory=s["memory"],
            gpus=s["gpus"],
            scheduler_address=s["scheduler_address"],
            dashboard_port=port,
            dashboard_address=f"127.0.0.1:{port}" if port else None,
            architectures=s.get("architectures", {}),
        )

    def close(self, handle: ClusterHandle) -> None:
        assert isinstance(handle, LocalHandle)
        with handle.lock:
            if handle.alive():
                try:
                    handle.send({"op": "close"})
                    handle.read(self.command_timeout)
                    handle.process.wait(timeout=10)
                except Exception as exc:
                    self.log.warning("cluster pid %s did not close cleanly: %s", handle.pid, exc)
            if handle.alive():
                handle.kill()
            handle.cleanup()
