"""The health probe shared by concurrent callers (``SharedProbe``), on a real event loop."""

from __future__ import annotations

import asyncio

from jupyter_wp5.data.shared_probe import SharedProbe


class Probe:
    """Counts its runs; each run waits for ``answer`` to be set, then answers its number."""

    def __init__(self) -> None:
        self.runs = 0
        self.answer = asyncio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        await self.answer.wait()
        return self.runs


async def test_a_caller_that_gives_up_does_not_cancel_the_others_probe():
    probe = Probe()
    shared = SharedProbe(probe, lambda: 60.0)
    leaving = asyncio.ensure_future(shared.get())
    staying = asyncio.ensure_future(shared.get())
    await asyncio.sleep(0)
    leaving.cancel()  # e.g. a browser tab closed while health was being checked
    probe.answer.set()
    assert await staying == 1
    assert probe.runs == 1


async def test_max_age_zero_probes_on_every_call():
    probe = Probe()
    probe.answer.set()
    shared = SharedProbe(probe, lambda: 0.0)
    assert [await shared.get() for _ in range(3)] == [1, 2, 3]
