"""One health probe shared by every caller, reused for a short while and renewed ahead.

A panel polls health while searches load the server and Rucio. Probing Rucio once per call
makes each answer wait for a ping and a whoami on a loaded Rucio; callers arriving together
share one probe instead, an answer younger than ``max_age`` is reused, and once it is half that
old the next caller starts a fresh probe in the background. So while health is polled, callers
read an answer at most ``max_age`` old without waiting, and an outage shows within about
``max_age`` (plus the probe's own deadline when Rucio hangs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedProbe(Generic[T]):
    """Run ``probe()`` at most once at a time; reuse its answer for ``max_age`` seconds."""

    def __init__(self, probe: Callable[[], Awaitable[T]], max_age: Callable[[], float]) -> None:
        self._probe = probe
        self._max_age = max_age  # read at each call, so the trait may change at run time
        self._last: tuple[float, T] | None = None  # (monotonic start of the probe, its answer)
        self._running: asyncio.Task[T] | None = None

    async def get(self) -> T:
        """The last answer if fresh enough, else the answer of the probe in flight or a new one."""
        max_age = self._max_age()
        if self._last is not None:
            age = time.monotonic() - self._last[0]
            if age < max_age:
                if age >= max_age / 2:
                    self._start()
                return self._last[1]
        # shield: one caller giving up (its request closed) must not cancel the others' probe.
        return await asyncio.shield(self._start())

    def _start(self) -> asyncio.Task[T]:
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
        return self._running

    async def _run(self) -> T:
        started = time.monotonic()
        try:
            answer = await self._probe()
            self._last = (started, answer)
            return answer
        finally:
            self._running = None
