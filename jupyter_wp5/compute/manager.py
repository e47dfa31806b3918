"""The cluster manager: the one owner of a server's Dask clusters (handlers only call it).

It checks requests (profile exists and is servable here, sizes within the profile's limits) before
anything starts, runs every blocking backend call through a :class:`BlockingExecutor`, and returns
:class:`ClusterInfo` records.
"""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from traitlets import Float, Instance, Int, Type
from traitlets.config import LoggingConfigurable

from ..executor import BlockingExecutor
from ..models import (
    ClusterInfo,
    ClusterSize,
    ClusterStatus,
    Conflict,
    InvalidRequest,
    NotFound,
    ProfileInfo,
)
from .backends.base import ClusterBackend, ClusterHandle
from .backends.local import LocalBackend
from .profiles import Profile, ProfileRegistry


@dataclass
class _Cluster:
    id: str
    name: str
    profile: Profile
    handle: ClusterHandle
    created_at: str
    size: ClusterSize
    closed: bool = False


class ClusterManager(LoggingConfigurable):
    """Create, list, resize and close the Dask clusters of one server."""

    backend_class = Type(
        default_value=LocalBackend,
        klass=ClusterBackend,
        config=True,
        help="The cluster backend (a ClusterBackend subclass).",
    )
    max_clusters = Int(4, config=True, help="The most clusters open at the same time.")
    timeout = Float(120.0, config=True, help="Seconds a start, scale or close may take.")
    registry = Instance(ProfileRegistry, allow_none=True)
    backend = Instance(ClusterBackend, allow_none=True)

    def __init__(self, base_url: str = "/", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        if self.registry is None:
            self.registry = ProfileRegistry(parent=self)
        if self.backend is None:
            self.backend = self.backend_class(parent=self)
        self._executor = BlockingExecutor("Dask", max_workers=4, timeout=self.timeout)
        self._clusters: dict[str, _Cluster] = {}
        self._lock = asyncio.Lock()
        self._proxied = importlib.util.find_spec("jupyter_server_proxy") is not None

    # -- profiles ------------------------------------------------------------------------------

    def profiles(self) -> list[ProfileInfo]:
        """Every configured profile, with whether (and why not) it can run here."""
        return [p.info(p.check_servable(self.backend)) for p in self.registry.all()]

    # -- clusters ------------------------------------------------------------------------------

    async def create(self, profile: str, size: ClusterSize, name: str | None = None) -> ClusterInfo:
        """Start a cluster of ``profile``; refused with :class:`Conflict` when it cannot run here.

        Raises
        ------
        NotFound
            No such profile.
        InvalidRequest
            A size beyond the profile's ``max_workers``, or a bad name.
        Conflict
            The profile cannot run here (with the reason), a name in use, or too many clusters.
        """
        prof = self.registry.get(profile)
        if size.largest > prof.max_workers:
            raise InvalidRequest(
                f"profile '{prof.name}' allows at most {prof.max_workers} workers, "
                f"not {size.largest}"
            )
        if name is not None and (not name.strip() or len(name) > 64):
            raise InvalidRequest("name must be 1 to 64 characters")
        reason = prof.check_servable(self.backend)
        if reason:
            raise Conflict(reason)
        async with self._lock:
            open_clusters = [c for c in self._clusters.values() if not c.closed]
            if len(open_clusters) >= self.max_clusters:
                raise Conflict(
                    f"{len(open_clusters)} clusters are open, the most allowed; close one first"
                )
            if name is None:
                n = 1 + sum(c.profile.name == prof.name for c in self._clusters.values())
                name = f"{prof.name}-{n}"
            if any(c.name == name for c in open_clusters):
                raise Conflict(f"a cluster named '{name}' is already open")
            handle = await self._executor.run(self.backend.start, prof, size)
            cluster = _Cluster(
                id=uuid.uuid4().hex[:12],
                name=name,
                profile=prof,
                handle=handle,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                size=size,
            )
            self._clusters[cluster.id] = cluster
        return await self._info(cluster)

    async def list(self) -> list[ClusterInfo]:
        """The open clusters, oldest first."""
        return list(
            await asyncio.gather(*(self._info(c) for c in self._clusters.values() if not c.closed))
        )

    def _find(self, cluster_id: str) -> _Cluster:
        cluster = self._clusters.get(cluster_id)
        if cluster is None or cluster.closed:
            raise NotFound(f"no open cluster '{cluster_id}'")
        return cluster

    async def get(self, cluster_id: str) -> ClusterInfo:
        return await self._info(self._find(cluster_id))

    async def scale(self, cluster_id: str, workers: int) -> ClusterInfo:
        """Set a fixed number of workers; return once the cluster has them."""
        cluster = self._find(cluster_id)
        size = ClusterSize(workers=workers)
        self._check_size(cluster.profile, size)
        await self._executor.run(self.backend.scale, cluster.handle, workers)
        cluster.size = size
        return await self._info(cluster)

    async def adapt(self, cluster_id: str, minimum: int, maximum: int) -> ClusterInfo:
        """Let the cluster grow and shrink between ``minimum`` and ``maximum`` workers."""
        cluster = self._find(cluster_id)
        size = ClusterSize(minimum=minimum, maximum=maximum)
        self._check_size(cluster.profile, size)
        await self._executor.run(self.backend.adapt, cluster.handle, minimum, maximum)
        cluster.size = size
        return await self._info(cluster)

    async def resize(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        if size.workers is not None:
            return await self.scale(cluster_id, size.workers)
        return await self.adapt(cluster_id, size.minimum or 0, size.maximum or 0)

    async def close(self, cluster_id: str) -> None:
        """Stop the cluster and its processes."""
        cluster = self._find(cluster_id)
        cluster.closed = True
        try:
            await self._executor.run(self.backend.close, cluster.handle)
        finally:
            self._clusters.pop(cluster.id, None)

    def shutdown(self) -> None:
        """Close every cluster (blocking): the server is stopping."""
        for cluster in list(self._clusters.values()):
            try:
                self.backend.close(cluster.handle)
            except Exception as exc:
                self.log.warning("closing cluster %s: %s", cluster.id, exc)
        self._clusters.clear()
        self._executor.shutdown()

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _check_size(profile: Profile, size: ClusterSize) -> None:
        if size.largest > profile.max_workers:
            raise InvalidRequest(
                f"profile '{profile.name}' allows at most {profile.max_workers} workers, "
                f"not {size.largest}"
            )

    def dashboard_link(self, port: int | None) -> str | None:
        """Through jupyter-server-proxy when installed, else the direct loopback address."""
        if not port:
            return None
        if self._proxied:
            return f"{self.base_url}proxy/{port}/status"
        return f"http://127.0.0.1:{port}/status"

    async def _info(self, cluster: _Cluster) -> ClusterInfo:
        status = await self._executor.run(self.backend.status, cluster.handle)
        adaptive = cluster.size.adaptive
        return ClusterInfo(
            id=cluster.id,
            name=cluster.name,
            profile=cluster.profile.name,
            backend=self.backend.name,
            status=(ClusterStatus.RUNNING if status.running else ClusterStatus.LOST).value,
            workers=status.workers,
            cores=status.cores,
            memory=status.memory,
            gpus=status.gpus,
            scheduler_address=status.scheduler_address,
            dashboard_link=self.dashboard_link(status.dashboard_port),
            created_at=cluster.created_at,
            adaptive_minimum=cluster.size.minimum if adaptive else None,
            adaptive_maximum=cluster.size.maximum if adaptive else None,
        )
