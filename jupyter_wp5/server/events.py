"""Server push: one hub per server sends ``{"type": ..., "data": ...}`` messages to every open
``/wp5/api/events`` websocket.

Replica progress (``type: "replica"``): every new request is published at once, whatever its
state (a copy to a site that already holds the data is OK from the start and would never be polled),
then, while someone listens, one poller re-reads the moving requests through the replica service
(so through the bounded Rucio executor). Each reading is one call per request: the rule's own lock
counters (:meth:`~jupyter_wp5.data.replicas.ReplicaService.poll`), never a listing of its locks.
Clusters (``type: "cluster"``): the cluster manager tells the hub of every cluster created, resized
or closed (``status: "closed"``), from any surface, since the kernels go through this server too;
while someone listens the same poller re-reads the open clusters' live size (workers joining,
adaptive scaling, a lost process) and publishes what changed.

The poller waits ``interval`` seconds after a poll that found a change, and twice as long as last
time after one that found none, up to ``max_interval``; a new request, a cluster change or a new
listener brings it back to ``interval`` at once. With no listener it stops, and makes no calls.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    interval = Float(3.0, config=True, help="Seconds between two polls while things change.")
    max_interval = Float(
        30.0,
        config=True,
        help="The longest wait between two polls: after a poll that found no change the wait "
        "doubles, up to this; a new request or listener brings it back to interval.",
    )

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
        self._wake = asyncio.Event()
        self.delay = self.interval  # the current wait between two polls
        self.polls = 0  # polls made so far (what tests and benchmarks watch)
        replicas.listeners.append(self._requested)
        if clusters is not None:
            clusters.listeners.append(self._cluster_changed)

    def subscribe(self, send: Send) -> None:
        """Deliver every event to ``send`` (a websocket's ``write_message``) until unsubscribed."""
        self._subscribers.add(send)
        self._hurry()

    def unsubscribe(self, send: Send) -> None:
        self._subscribers.discard(send)
        if not self._subscribers:
            self._wake.set()  # the poller sees nobody listens and stops now

    @property
    def polling(self) -> bool:
        """Whether the poller runs (only while someone listens)."""
        return self._task is not None and not self._task.done()

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
        self._hurry()

    def _cluster_changed(self, info: ClusterInfo) -> None:
        snapshot = info.to_dict()
        self._last_clusters[info.id] = snapshot
        self.publish("cluster", snapshot)
        self._hurry()  # workers join (or go) soon after: look again soon

    def _hurry(self) -> None:
        """Poll soon: back to the shortest wait, and a poller running if anyone listens."""
        self.delay = self.interval
        self._wake.set()
        if self._subscribers and not self.polling:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while self._subscribers:
            self._wake.clear()
            try:
                changed = await self._poll_once()
            except Exception:  # a hub that dies in silence leaves every panel stale: go on
                self.log.exception("wp5 events: a poll failed; trying again")
                changed = False
            self.polls += 1
            if changed or self._wake.is_set():
                self.delay = self.interval
            else:
                self.delay = min(self.delay * 2, max(self.max_interval, self.interval))
            with contextlib.suppress(TimeoutError):  # woken early by _hurry, or the wait is over
                await asyncio.wait_for(self._wake.wait(), self.delay)

    async def _poll_once(self) -> bool:
        """Publish what changed; answer whether anything did."""
        active = [p for p in self.replicas.store.all() if p.is_moving or p.id in self._moving]
        changed = False
        for stored in active:
            try:
                progress = await self.replicas.poll(stored.id)
            except Wp5Error as err:
                self.log.debug("wp5 events: cannot poll %s: %s", stored.id, err.message)
                continue
            snapshot = progress.to_dict()
            if self._last.get(progress.id) != snapshot:
                self._last[progress.id] = snapshot
                self.publish("replica", snapshot)
                changed = True
            if progress.is_moving:
                self._moving.add(progress.id)
            else:
                self._moving.discard(progress.id)
        return await self._poll_clusters() or changed

    async def _poll_clusters(self) -> bool:
        if self.clusters is None:
            return False
        try:
            infos = await self.clusters.list()
        except Wp5Error as err:
            self.log.debug("wp5 events: cannot poll the clusters: %s", err.message)
            return False
        changed = False
        for info in infos:
            snapshot = info.to_dict()
            if self._last_clusters.get(info.id) != snapshot:
                self._last_clusters[info.id] = snapshot
                self.publish("cluster", snapshot)
                changed = True
        return changed

    def close(self) -> None:
        """Stop polling and forget the subscribers."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
