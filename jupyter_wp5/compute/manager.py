"""The cluster manager: the one owner of a server's Dask clusters (handlers only call it).

It checks requests (profile exists and is servable here, sizes within the profile's limits) before
anything starts, routes each profile to the backend it names, runs every blocking backend call
through a :class:`BlockingExecutor`, and returns :class:`ClusterInfo` records.

It records its clusters in a :class:`ClusterStore` (``records_path``): after a restart, clusters
whose backend outlives the server (a dask-gateway) are found again, and the others are reported
``lost`` until closed.

One deadline (``start_timeout``) is passed down to the backends' ``start``: a backend that cannot
start its cluster in time closes what it started before it answers, and a start that still answers
too late is closed when it does. Every ``watch_interval`` seconds the manager checks each cluster's
workers: one with fewer than asked for is ``degraded`` (pushed to the listeners) and is resized
back to its size, through the backend's own ``resize``.
"""

from __future__ import annotations

import asyncio
import functools
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
    EngineUnavailable,
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
    pushed: str = ClusterStatus.RUNNING.value  # the status the listeners last heard
    # Held by a resize, the user's or the watch's repair: one at a time.
    resizing: asyncio.Lock = field(default_factory=asyncio.Lock)
    user_resize: bool = False  # fewer workers than the old size is then the resize, not a loss

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
    timeout = Float(120.0, config=True, help="Seconds a scale, close or status call may take.")
    start_timeout = Float(
        120.0,
        config=True,
        help="Seconds a cluster may take to start with its workers: the one deadline, passed "
        "down to the backend, which closes what it started when its cluster is not ready by "
        "then (a backend's own start_timeout can only shorten it).",
    )
    close_grace = Float(
        30.0,
        config=True,
        help="Seconds a backend whose start ran out of time may take to close what it started "
        "before the user is answered (anything answering later still is closed).",
    )
    watch_interval = Float(
        5.0,
        config=True,
        help="Seconds between checks that each cluster has the workers asked for; one with "
        "fewer is reported degraded and resized back to its size. 0: no checks.",
    )
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
        self._watcher: asyncio.Task[None] | None = None
        self._repairs: dict[str, asyncio.Task[None]] = {}
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
        """Every configured profile, with whether (and why not) it can run here."""
        # A backend may ask its engine (the gateway's options), so off the event loop.
        return [
            p.info(await self._executor.run(self.check_servable, p)) for p in self.registry.all()
        ]

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
            handle = await self._executor.run_or_release(
                functools.partial(backend.start, prof, size, self.start_timeout),
                functools.partial(self._close_late, backend),
                self.start_timeout + self.close_grace,
            )
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
        self._watch_soon()
        return self._changed(await self._info(cluster))

    def _close_late(self, backend: ClusterBackend, handle: ClusterHandle) -> None:
        """A start answered after its user was told it failed: close it, never orphan it."""
        self.log.warning("a %s cluster started after the deadline; closing it", backend.name)
        try:
            backend.close(handle)
        except Exception as exc:
            self.log.warning("closing the late %s cluster: %s", backend.name, exc)

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
        async with cluster.resizing:
            cluster.user_resize = True
            try:
                await self._executor.run(backend.resize, handle, size)
                cluster.size = size
            finally:
                cluster.user_resize = False
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
        cluster = self._clusters.get(info.id)
        if cluster is not None:
            cluster.pushed = str(info.status)
        for listener in self.listeners:
            listener(info)
        return info

    # -- the watch: lost workers brought back -------------------------------------------------

    def _watch_soon(self) -> None:
        """Start the periodic check of every cluster's workers, unless it runs already."""
        if self.watch_interval > 0 and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        # Ends when no cluster is open; the next create starts it again.
        while any(not c.closed and c.handle is not None for c in self._clusters.values()):
            await asyncio.sleep(self.watch_interval)
            for cluster in list(self._clusters.values()):
                if cluster.closed or cluster.handle is None or cluster.resizing.locked():
                    continue
                try:
                    info = await self._info(cluster)
                except EngineUnavailable as exc:
                    self.log.warning("checking cluster %s: %s", cluster.name, exc)
                    continue
                if cluster.closed:
                    continue
                if str(info.status) != cluster.pushed:
                    self._changed(info)
                if info.status == ClusterStatus.DEGRADED and cluster.id not in self._repairs:
                    self._repairs[cluster.id] = asyncio.ensure_future(self._repair(cluster, info))

    async def _repair(self, cluster: _Cluster, info: ClusterInfo) -> None:
        """Resize a degraded cluster back to its size (the next check retries on failure)."""
        backend = self.backend_for(cluster.profile)
        try:
            if backend is None or cluster.handle is None:
                return
            self.log.warning(
                "cluster %s has %d workers, fewer than asked for: restoring its size",
                cluster.name,
                info.workers,
            )
            async with cluster.resizing:
                await self._executor.run(backend.resize, cluster.handle, cluster.size)
            if not cluster.closed:
                self._changed(await self._info(cluster))
        except EngineUnavailable as exc:
            self.log.warning("restoring cluster %s: %s", cluster.name, exc)
            # The backend's own wait may outlast ours: let it end before the next try, so that
            # failing repairs never fill the executor.
            await asyncio.sleep(self.timeout)
        finally:
            self._repairs.pop(cluster.id, None)

    def _stop_watching(self) -> None:
        # A kernel's in-process manager is shut down from another thread than its loop's.
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for task in [self._watcher, *self._repairs.values()]:
            if task is None or task.done() or task.get_loop().is_closed():
                continue
            if task.get_loop() is here:
                task.cancel()
            else:
                task.get_loop().call_soon_threadsafe(task.cancel)

    def shutdown(self) -> None:
        """The server is stopping (blocking): each backend ends what must not outlive it.

        Local clusters are closed; gateway clusters keep running and stay recorded, so the next
        server finds them again.
        """
        self._stop_watching()
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
        self._watch_soon()

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

    @staticmethod
    def _status(cluster: _Cluster, status: BackendStatus) -> ClusterStatus:
        if not status.running:
            return ClusterStatus.LOST
        # Only a fixed size is watched: Dask's adaptive scaling keeps an adaptive one's minimum.
        wanted = cluster.size.workers
        if wanted and status.workers < wanted and not cluster.user_resize:
            return ClusterStatus.DEGRADED
        return ClusterStatus.RUNNING

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
            status=self._status(cluster, status),
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
