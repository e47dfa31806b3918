"""The bounded executor's deadline for calls that create something: a late result is released."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jupyter_wp5.executor import BlockingExecutor
from jupyter_wp5.models import EngineUnavailable


async def test_a_result_after_the_deadline_is_released_not_lost():
    executor = BlockingExecutor("Dask", max_workers=1)
    go, released = threading.Event(), []
    done = threading.Event()

    def start() -> str:
        go.wait(30)
        return "cluster"

    def release(made: str) -> None:
        released.append(made)
        done.set()

    try:
        with pytest.raises(EngineUnavailable, match=r"did not answer within 0\.1 s"):
            await executor.run_or_release(start, release, 0.1)
        assert released == []
        go.set()  # the start finishes after its caller was answered
        assert await asyncio.to_thread(done.wait, 30)
        assert released == ["cluster"]
    finally:
        executor.shutdown()


async def test_a_result_in_time_is_returned_and_kept():
    executor = BlockingExecutor("Dask", max_workers=1)
    released = []
    try:
        assert await executor.run_or_release(lambda: "cluster", released.append, 30) == "cluster"
        assert released == []
    finally:
        executor.shutdown()
