"""The cluster manager: the one owner of a server's Dask clusters (handlers only call it).

It checks requests (profile exists and is servable here, sizes within the profile's limits) before
anything starts, routes each profile to the backend it names, runs every blocking backend call
through a :class:`BlockingExecutor`, and returns :class:`ClusterInfo` records.

It records its clusters in a :class:`ClusterStore` (``records_path``): after a restart, clusters
whose backend outlives the server (a dask-gateway) are found again, and the others are reported
``lost`` until closed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Dict, Float, Int, Type, Unicode, default
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
from .backends.base import BackendStatus, ClusterBackend, ClusterHandle
from .cluster_store import ClusterStore, StoredCluster
from .profiles import Profile, ProfileRegistry

BACKENDS = {
    "local": "jupyter_wp5.compute.backends.local.LocalBackend",
    "gateway": "jupyter_wp5.compute.backends.gateway.GatewayBackend",
    "jobqueue": "jupyter_wp5.compute.backends.jobqueue.JobqueueBackend",
}


@dataclass
class _Cluster:
    id: str
    name: str
    profile: Profile
    handle: ClusterHandle | None  # None: lost (its backend could not find it after a restart)
    created_at: str
    size: ClusterSize
    record: dict[str, Any] = field(default_factory=dict)
    closed: bool = False

    def stored(self) -> StoredCluster:
        return StoredCluster(
            id=self.id,
            name=self.name,
            profile=self.profile.name,
            backend=self.profile.backend,
            created_at=self.created_at,
            size=self.size,
            record=self.record,
        )


class ClusterManager(LoggingConfigurable):
    """Create, list, resize and close the Dask clusters of one server."""

    backend_classes = Dict(
        default_value=BACKENDS,
        key_trait=Unicode(),
        value_trait=Type(klass=ClusterBackend),
        config=True,
        help="The cluster backends by the name profiles use (ClusterBackend subclasses); each "
        "is made on first use.",
    )
    max_clusters = Int(4, config=True, help="The most clusters open at the same time.")
    timeout = Float(120.0, config=True, help="Seconds a start, scale or close may take.")
    records_path = Unicode(
        config=True,
        help="Where the clusters are recorded across restarts (default: "
        "<jupyter data dir>/jupyter_wp5/clusters.json); empty: not recorded.",
    )

    @default("records_path")
    def _records_default(self) -> str:
        return str(Path(jupyter_data_dir()) / "jupyter_wp5" / "clusters.json")

    def __init__(
        self,
        base_url: str = "/",
        registry: ProfileRegistry | None = None,
        backends: dict[str, ClusterBackend] | None = None,
        proxied: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.registry = registry or ProfileRegistry(parent=self)
        self.backends: dict[str, ClusterBackend] = dict(backends or {})
        self._executor = BlockingExecutor("Dask", max_workers=4, timeout=self.timeout)
        self._clusters: dict[str, _Cluster] = {}
        self.store = ClusterStore(self.records_path, self.log)
        self._lock = asyncio.Lock()
        self._restored = False
        # A Jupyter server serves dashboards (clusters/{id}/dashboard); a kernel's in-process
        # manager (proxied=False) links them directly.
        self._proxied = proxied
        # Told of every cluster created, resized or closed (the events hub pushes it to panels).
        self.listeners: list[Callable[[ClusterInfo], None]] = []
        self._preload_backends()

    # -- backends and profiles -----------------------------------------------------------------

    def _preload_backends(self) -> None:
        """Let each backend a profile names import what only the main thread may import."""
        registry = self.registry
        named = {
            entry.get("backend") or registry.default_backend
            for entry in registry.profiles.values()
            if isinstance(entry, dict)
        }
        for name in sorted(named - set(self.backends)):
            cls = self.backend_classes.get(name)
            if cls is not None:
                cls.preload()

    def backend_for(self, profile: Profile) -> ClusterBackend | None:
        """The backend ``profile`` names (made on first use); None when none has that name."""
        backend = self.backends.get(profile.backend)
        if backend is None:
            cls = self.backend_classes.get(profile.backend)
            if cls is None:
                return None
            backend = self.backends[profile.backend] = cls(parent=self, log=self.log)
        return backend

    def check_servable(self, profile: Profile) -> str | None:
        """None when ``profile`` can run here, else the reason it cannot (blocking: a backend
        may ask its engine)."""
        backend = self.backend_for(profile)
        if backend is None:
            known = ", ".join(self.backend_classes)
            return f"profile '{profile.name}' names backend '{profile.backend}' (known: {known})"
        if backend.name != profile.backend:
            return (
                f"profile '{profile.name}' needs the '{profile.backend}' backend, "
                f"not '{backend.name}'"
            )
        return backend.can_serve(profile)

    async def profiles(self) -> list[ProfileInfo]:
        """Every configured profile, with whether (and why not) it can run here; the backends
        of those that can get ready to start one (someone is about to choose)."""
        # A backend may ask its engine (the gateway's options), so off the event loop.
        return [
            p.info(await self._executor.run(self._check_and_prepare, p))
            for p in self.registry.all()
        ]

    def _check_and_prepare(self, profile: Profile) -> str | None:
        reason = self.check_servable(profile)
        backend = self.backend_for(profile)
        if reason is None and backend is not None:
            backend.prepare(profile)
        return reason

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
        self._check_size(prof, size)
        if name is not None and (not name.strip() or len(name) > 64):
            raise InvalidRequest("name must be 1 to 64 characters")
        reason = await self._executor.run(self.check_servable, prof)
        if reason:
            raise Conflict(reason)
        backend = self.backend_for(prof)
        assert backend is not None  # check_servable said so
        await self._restore()
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
            handle = await self._executor.run(backend.start, prof, size)
            cluster = _Cluster(
                id=uuid.uuid4().hex[:12],
                name=name,
                profile=prof,
                handle=handle,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                size=size,
                record=backend.record(handle),
            )
            self._clusters[cluster.id] = cluster
            self._save()
        return self._changed(await self._info(cluster))

    async def list(self) -> list[ClusterInfo]:
        """The open clusters (and lost ones not yet closed), oldest first."""
        await self._restore()
        return list(
            await asyncio.gather(*(self._info(c) for c in self._clusters.values() if not c.closed))
        )

    async def _find(self, cluster_id: str) -> _Cluster:
        await self._restore()
        cluster = self._clusters.get(cluster_id)
        if cluster is None or cluster.closed:
            raise NotFound(f"no open cluster '{cluster_id}'")
        return cluster

    async def _running(self, cluster_id: str) -> tuple[_Cluster, ClusterBackend, ClusterHandle]:
        cluster = await self._find(cluster_id)
        backend = self.backend_for(cluster.profile)
        if cluster.handle is None or backend is None:
            raise Conflict(f"cluster '{cluster.name}' was lost; close it and start a new one")
        return cluster, backend, cluster.handle

    async def get(self, cluster_id: str) -> ClusterInfo:
        return await self._info(await self._find(cluster_id))

    async def dashboard_port(self, cluster_id: str) -> int:
        """The loopback port of one of this server's clusters' dashboard."""
        _, _, handle = await self._running(cluster_id)
        if not handle.dashboard_port:
            raise NotFound(f"cluster '{cluster_id}' has no dashboard here")
        return handle.dashboard_port

    async def resize(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        """A fixed number of workers, or adaptive bounds; return once the cluster has them."""
        cluster, backend, handle = await self._running(cluster_id)
        self._check_size(cluster.profile, size)
        await self._executor.run(backend.resize, handle, size)
        cluster.size = size
        self._save()
        return self._changed(await self._info(cluster))

    async def close(self, cluster_id: str) -> None:
        """Stop the cluster and its processes (a lost cluster is only forgotten)."""
        cluster = await self._find(cluster_id)
        last = await self._info(cluster)
        cluster.closed = True
        backend = self.backend_for(cluster.profile)
        try:
            if cluster.handle is not None and backend is not None:
                await self._executor.run(backend.close, cluster.handle)
        finally:
            self._clusters.pop(cluster.id, None)
            self._save()
            self._changed(replace(last, status=ClusterStatus.CLOSED.value))

    def _changed(self, info: ClusterInfo) -> ClusterInfo:
        for listener in self.listeners:
            listener(info)
        return info

    def shutdown(self) -> None:
        """The server is stopping (blocking): each backend ends what must not outlive it.

        Local clusters are closed; gateway clusters keep running and stay recorded, so the next
        server finds them again.
        """
        for cluster in list(self._clusters.values()):
            backend = self.backend_for(cluster.profile)
            if cluster.handle is None or backend is None:
                continue
            try:
                backend.release(cluster.handle)
            except Exception as exc:
                self.log.warning("releasing cluster %s: %s", cluster.id, exc)
        if self._restored:
            # What outlives the server (it has a record to find it by) stays recorded.
            self._clusters = {
                cid: c for cid, c in self._clusters.items() if c.handle is not None and c.record
            }
            self._save()
        self._clusters.clear()
        for backend in self.backends.values():
            backend.shutdown()
        self._executor.shutdown()

    # -- records across restarts -----------------------------------------------------------------

    def _save(self) -> None:
        self.store.save([c.stored() for c in self._clusters.values() if not c.closed])

    def _profile_of(self, stored: StoredCluster) -> Profile:
        try:
            prof = self.registry.get(stored.profile)
        except NotFound:
            prof = None
        if prof is None or prof.backend != stored.backend:
            # Configuration changed since: keep the cluster reachable under what it was.
            prof = Profile.from_config(stored.profile, {"backend": stored.backend})
        return prof

    async def _restore(self) -> None:
        """Once, on first use: take over the clusters a previous server recorded."""
        if self._restored:
            return
        async with self._lock:
            if self._restored:
                return
            for stored in self.store.load():
                cluster = _Cluster(
                    id=stored.id,
                    name=stored.name,
                    profile=self._profile_of(stored),
                    handle=None,
                    created_at=stored.created_at,
                    size=stored.size,
                    record=stored.record,
                )
                backend = self.backend_for(cluster.profile)
                if backend is not None and cluster.record:
                    cluster.handle = await self._executor.run(backend.reconnect, cluster.record)
                self.log.info(
                    "cluster %s (%s) from before the restart: %s",
                    cluster.name,
                    cluster.profile.backend,
                    "reconnected" if cluster.handle else "lost",
                )
                self._clusters[cluster.id] = cluster
            self._restored = True

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _check_size(profile: Profile, size: ClusterSize) -> None:
        if size.largest > profile.max_workers:
            raise InvalidRequest(
                f"profile '{profile.name}' allows at most {profile.max_workers} workers, "
                f"not {size.largest}"
            )

    def dashboard_link(self, cluster_id: str, status: BackendStatus) -> str | None:
        """A loopback dashboard through this server's owner-only route, or directly without a
        server; a remote one (the gateway's) as its engine gives it."""
        port = status.dashboard_port
        if not port:
            return status.dashboard_address
        if self._proxied:
            return f"{self.base_url}wp5/api/clusters/{cluster_id}/dashboard/status"
        return f"http://127.0.0.1:{port}/status"

    async def _info(self, cluster: _Cluster) -> ClusterInfo:
        backend = self.backend_for(cluster.profile)
        if cluster.handle is None or backend is None:
            status = BackendStatus(False, 0, 0, 0, 0, "", None, None)
        else:
            status = await self._executor.run(backend.status, cluster.handle)
        credentials = cluster.handle.credentials if cluster.handle else None
        adaptive = cluster.size.adaptive
        return ClusterInfo(
            id=cluster.id,
            name=cluster.name,
            profile=cluster.profile.name,
            backend=cluster.profile.backend,
            status=ClusterStatus.RUNNING if status.running else ClusterStatus.LOST,
            workers=status.workers,
            cores=status.cores,
            memory=status.memory,
            gpus=status.gpus,
            scheduler_address=status.scheduler_address,
            dashboard_link=self.dashboard_link(cluster.id, status),
            created_at=cluster.created_at,
            adaptive_minimum=cluster.size.minimum if adaptive else None,
            adaptive_maximum=cluster.size.maximum if adaptive else None,
            architectures=status.architectures,
            credentials=str(credentials.directory) if credentials else None,
        )
