"""A bounded thread pool with timeouts: the one way blocking engine calls leave the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from .models import EngineUnavailable

P = ParamSpec("P")
T = TypeVar("T")


class BlockingExecutor:
    """Run blocking callables (rucio-clients, cluster start) off the event loop.

    The pool is bounded so a slow engine cannot exhaust the server's threads, and every call has a
    deadline after which the caller gets :class:`EngineUnavailable` naming the engine.
    """

    def __init__(self, engine: str, max_workers: int = 4, timeout: float = 30.0) -> None:
        self.engine = engine
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"wp5-{engine}")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise EngineUnavailable(
                f"{self.engine} did not answer within {self.timeout:g} s"
            ) from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
