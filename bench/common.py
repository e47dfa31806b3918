"""What every comparison shares: timing, and one result row per comparison."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Result:
    """One side-by-side comparison: ours against a baseline, measured in the same run.

    ``ratio`` is ours / baseline for times and sizes (lower is better) and ours / baseline for
    rates when ``unit`` is a rate such as MB/s (higher is better); ``goal`` is the issue's
    target for that ratio.
    """

    id: str
    what: str
    baseline: str
    ours: float | None = None
    base: float | None = None
    unit: str = "s"
    goal: str = ""
    notes: str = ""
    not_run: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.base:
            return None
        return self.ours / self.base

    @property
    def time_ratio(self) -> float | None:
        """Ours over baseline as a cost (lower is better): rates are inverted."""
        ratio = self.ratio
        if ratio is None or not self.unit.endswith("/s"):
            return ratio
        return 1 / ratio if ratio else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def not_run(id: str, what: str, baseline: str, reason: str) -> Result:
    """A comparison this run did not make, with why."""
    print(f"{id}: not run: {reason}")
    return Result(id, what, baseline, not_run=reason)


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(
    ours: Callable[[], Any], base: Callable[[], Any], repeat: int
) -> tuple[float, float]:
    """Medians of ``ours`` and ``base`` run alternately (so machine noise hits both alike)."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(median_seconds(ours, 1))
        b.append(median_seconds(base, 1))
    return statistics.median(a), statistics.median(b)
