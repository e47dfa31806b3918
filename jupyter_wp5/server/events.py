"""Server push: one hub per server sends ``{"type": ..., "data": ...}`` messages to every open
``/wp5/api/events`` websocket.

Replica progress (``type: "replica"``): every new request is published at once, whatever its
state (a copy to a site that already holds the data is OK from the start and would never be polled),
then one poller re-reads the moving requests every ``interval`` seconds through the replica service
(so through the bounded Rucio executor); it runs only while someone listens or a request moves.
Clusters (``type: "cluster"``): the cluster manager tells the hub of every cluster created, resized
or closed (``status: "closed"``), from any surface, since the kernels go through this server too;
while someone listens the same poller re-reads the open clusters' live size (workers joining,
adaptive scaling, a lost process) and publishes what changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..compute.manager import ClusterManager
from ..data.replicas import ReplicaService
from ..models import ClusterInfo, ReplicaProgress, Wp5Error

Send = Callable[[str], None]


class EventHub(LoggingConfigurable):
    """Fan events out to subscribers; publish new requests and cluster changes, poll the active
    replica requests for progress."""

    interval = Float(3.0, config=True, help="Seconds between two polls of active requests.")

    def __init__(
        self, replicas: ReplicaService, clusters: ClusterManager | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.replicas = replicas
        self.clusters = clusters
        self._subscribers: set[Send] = set()
        self._last: dict[str, dict[str, Any]] = {}
        self._last_clusters: dict[str, dict[str, Any]] = {}
        # Requests last published as moving: one more poll reports how they ended.
        self._moving: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        replicas.listeners.append(self._requested)
        if clusters is not None:
            clusters.listeners.append(self._cluster_changed)

    def subscribe(self, send: Send) -> None:
        """Deliver every event to ``send`` (a websocket's ``write_message``) until unsubscribed."""
        self._subscribers.add(send)
        self._ensure_polling()

    def unsubscribe(self, send: Send) -> None:
        self._subscribers.discard(send)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send ``{"type": kind, "data": data}`` to every subscriber."""
        message = json.dumps({"type": kind, "data": data})
        for send in list(self._subscribers):
            try:
                send(message)
            except Exception:  # a socket that went away without closing: drop it
                self._subscribers.discard(send)

    def _requested(self, progress: ReplicaProgress) -> None:
        snapshot = progress.to_dict()
        self._last[progress.id] = snapshot
        self.publish("replica", snapshot)
        if progress.is_moving:
            self._moving.add(progress.id)
        self._ensure_polling()

    def _cluster_changed(self, info: ClusterInfo) -> None:
        snapshot = info.to_dict()
        self._last_clusters[info.id] = snapshot
        self.publish("cluster", snapshot)

    def _ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            try:
                if not await self._poll_once():
                    return
            except Exception:  # a hub that dies in silence leaves every panel stale: go on
                self.log.exception("wp5 events: a poll failed; trying again")
            await asyncio.sleep(self.interval)

    async def _poll_once(self) -> bool:
        """Publish what changed; answer whether polling should go on."""
        active = [p for p in self.replicas.store.all() if p.is_moving or p.id in self._moving]
        if not active and not self._subscribers:
            return False
        for stored in active:
            try:
                progress = await self.replicas.get(stored.id)
            except Wp5Error as err:
                self.log.debug("wp5 events: cannot poll %s: %s", stored.id, err.message)
                continue
            snapshot = progress.to_dict()
            if self._last.get(progress.id) != snapshot:
                self._last[progress.id] = snapshot
                self.publish("replica", snapshot)
            if progress.is_moving:
                self._moving.add(progress.id)
            else:
                self._moving.discard(progress.id)
        if self._subscribers:
            await self._poll_clusters()
        return True

    async def _poll_clusters(self) -> None:
        if self.clusters is None:
            return
        try:
            infos = await self.clusters.list()
        except Wp5Error as err:
            self.log.debug("wp5 events: cannot poll the clusters: %s", err.message)
            return
        for info in infos:
            snapshot = info.to_dict()
            if self._last_clusters.get(info.id) != snapshot:
                self._last_clusters[info.id] = snapshot
                self.publish("cluster", snapshot)

    def close(self) -> None:
        """Stop polling and forget the subscribers."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
