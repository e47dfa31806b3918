"""A bounded thread pool with timeouts: the one way blocking engine calls leave the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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

    async def run_or_release(
        self, fn: Callable[[], T], release: Callable[[T], object], timeout: float
    ) -> T:
        """Like :meth:`run` with its own deadline, for a call that creates something.

        Should ``fn`` answer after ``timeout`` (the caller has had its error by then), what it
        made is handed to ``release`` on the pool's thread instead of being lost.
        """
        done = self._pool.submit(fn)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), timeout)
        except TimeoutError:
            if not done.cancel():  # already running: release what it makes when it ends

                def late(future: Future[T]) -> None:
                    if not future.cancelled() and future.exception() is None:
                        release(future.result())

                done.add_done_callback(late)
            raise EngineUnavailable(f"{self.engine} did not answer within {timeout:g} s") from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
