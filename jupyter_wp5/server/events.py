"""Server push: one hub per server sends ``{"type": ..., "data": ...}`` messages to every open
``/wp5/api/events`` websocket.

Replica progress (``type: "replica"``) comes from one poller that re-reads the active requests
every ``interval`` seconds through the replica service (so through the bounded Rucio executor),
and only runs while someone listens or a request is still moving. Cluster state changes are meant
to be published the same way (``type: "cluster"``) by the cluster manager.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..data.replicas import ReplicaService
from ..models import ReplicaProgress, Wp5Error

Send = Callable[[str], None]


class EventHub(LoggingConfigurable):
    """Fan events out to subscribers; poll active replica requests for changes."""

    interval = Float(3.0, config=True, help="Seconds between two polls of active requests.")

    def __init__(self, replicas: ReplicaService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replicas = replicas
        self._subscribers: set[Send] = set()
        self._last: dict[str, dict[str, Any]] = {}
        # Requests last published as moving: one more poll reports how they ended.
        self._moving: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        replicas.listeners.append(self._requested)

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
        self._ensure_polling()

    def _ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            active = [p for p in self.replicas.store.all() if p.is_moving or p.id in self._moving]
            if not active and not self._subscribers:
                return
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
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        """Stop polling and forget the subscribers."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
