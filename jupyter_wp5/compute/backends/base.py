"""The contract every cluster backend fulfils (modelled on dask-gateway's ``backends/base.py``).

Backend methods block (they start processes, wait for workers); the :class:`ClusterManager` calls
them through a :class:`~jupyter_wp5.executor.BlockingExecutor`, never on the event loop.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from traitlets.config import LoggingConfigurable

from ...models import ClusterSize, EngineUnavailable

if TYPE_CHECKING:
    from ..credentials import ClusterCredentials
    from ..profiles import Profile


class ClusterHandle:
    """What a backend hands back from :meth:`ClusterBackend.start`; opaque to everyone else.

    Attributes
    ----------
    scheduler_address
        Where clients connect, e.g. ``tcp://127.0.0.1:40123``.
    dashboard_port
        The scheduler's dashboard port on 127.0.0.1, None when there is no dashboard.
    credentials
        The cluster's own TLS credentials, None when its engine keeps its own (the gateway's).
    """

    scheduler_address: str
    dashboard_port: int | None
    credentials: ClusterCredentials | None = None


@dataclass
class BackendStatus:
    """A cluster's size as its scheduler sees it."""

    running: bool
    workers: int
    cores: int
    memory: int
    gpus: int
    scheduler_address: str
    dashboard_port: int | None
    dashboard_address: str | None
    architectures: dict[str, int] = field(default_factory=dict)


_ARCH_ALIASES = {"arm64": "aarch64", "amd64": "x86_64", "x64": "x86_64"}


def normalise_arch(arch: str) -> str:
    """One name per architecture (``arm64`` is ``aarch64``, ``amd64`` is ``x86_64``)."""
    arch = arch.strip().lower()
    return _ARCH_ALIASES.get(arch, arch)


def worker_architectures(workers: Iterable[Any]) -> dict[str, int]:
    """How many of a scheduler's workers (``WorkerState``) run on each CPU architecture.

    Read from what each worker reported when it registered (``versions["host"]["machine"]``),
    so counting costs no message to the workers; one that did not say counts as ``unknown``.
    """
    counts = Counter(
        normalise_arch((getattr(w, "versions", None) or {}).get("host", {}).get("machine") or "")
        or "unknown"
        for w in workers
    )
    return dict(sorted(counts.items()))


class ClusterBackend(LoggingConfigurable):
    """Starts, resizes and stops Dask clusters for profiles.

    Subclasses set :attr:`name` (what ``Profile.backend`` names) and supply every method below.
    """

    name: str = ""

    @classmethod
    def preload(cls) -> None:
        """Import what only the main thread may import; called where the manager is made.

        Backends themselves are made, and used, on executor threads. Default: nothing.
        """

    def can_serve(self, profile: Profile) -> str | None:
        """Whether this backend can run ``profile`` here.

        Parameters
        ----------
        profile
            The requested profile.

        Returns
        -------
        str or None
            None when it can; otherwise a sentence for the user saying why not (e.g. "this
            machine is x86_64, the profile needs aarch64"). Must be cheap and start nothing.
        """
        raise NotImplementedError

    def start(self, profile: Profile, size: ClusterSize, timeout: float) -> ClusterHandle:
        """Start a cluster and return once its scheduler answers.

        Parameters
        ----------
        profile
            A profile :meth:`can_serve` accepted.
        size
            A fixed number of workers (wait until they joined) or adaptive bounds.
        timeout
            The manager's deadline, in seconds: never wait longer (a backend's own setting may
            only shorten it). When the cluster is not ready by then, close whatever was started
            (jobs, processes, the engine's cluster) and raise.

        Returns
        -------
        ClusterHandle
            The backend's handle, passed back to the other methods.

        Raises
        ------
        EngineUnavailable
            When the cluster could not be started, or not in time; the message says why, and
            nothing it started is left running.
        """
        raise NotImplementedError

    def resize(self, handle: ClusterHandle, size: ClusterSize) -> None:
        """Set a fixed number of workers (ending adaptivity) or adaptive bounds.

        Return once the cluster has that many workers (at least the minimum, when adaptive);
        :func:`wait_for_workers` does the waiting for a backend that can count them.
        """
        raise NotImplementedError

    def status(self, handle: ClusterHandle) -> BackendStatus:
        """Workers, cores, memory and GPUs now, and where the dashboard is."""
        raise NotImplementedError

    def close(self, handle: ClusterHandle) -> None:
        """Stop the cluster and every process it started; safe to call twice."""
        raise NotImplementedError

    # -- across server restarts (defaults: nothing survives the server) -------------------------

    def record(self, handle: ClusterHandle) -> dict[str, Any]:
        """What :meth:`reconnect` needs to find this cluster again after a server restart.

        The :class:`ClusterManager` stores it (JSON) with the cluster's id, name and profile.
        """
        return {}

    def reconnect(self, record: dict[str, Any]) -> ClusterHandle | None:
        """The cluster ``record`` describes, if it is still running; None when it is gone.

        A backend whose clusters end with the server (``local``) keeps this default, so the
        manager reports its clusters from before a restart as lost.
        """
        return None

    def release(self, handle: ClusterHandle) -> None:
        """The server is stopping: end what must not outlive it (by default, the cluster)."""
        self.close(handle)

    def shutdown(self) -> None:
        """Free the backend's own resources (clients, threads) when the server stops."""


def wait_for_workers(
    count: Callable[[], int],
    size: ClusterSize,
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> None:
    """Block until ``count()`` reaches ``size``: exactly its workers, or at least its minimum.

    Raises
    ------
    EngineUnavailable
        After ``timeout`` seconds, saying how many of ``what`` there are.
    """
    want = size.workers if size.workers is not None else size.minimum or 0
    deadline = time.monotonic() + timeout
    while True:
        have = count()
        if have == want or (size.adaptive and have >= want):
            return
        if time.monotonic() > deadline:
            raise EngineUnavailable(f"{have} of {want} {what} after {timeout:g} s")
        time.sleep(interval)
