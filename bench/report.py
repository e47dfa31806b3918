"""The suite's outputs: ``results/<date>.json``, a markdown table of ratios and a bar chart."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import Result


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    return f"{value:,.3g} {unit}"


def table(results: list[Result]) -> str:
    """A markdown table: each comparison with both times, the ratio and the goal."""
    lines = [
        "| id | what | jupyter-wp5 | baseline | baseline is | ratio | goal |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.not_run:
            lines.append(f"| {r.id} | {r.what} | not run | - | {r.baseline} | - | {r.not_run} |")
            continue
        ratio = f"{r.ratio:.2g}x" if r.ratio is not None else "-"
        lines.append(
            f"| {r.id} | {r.what} | {_cell(r.ours, r.unit)} | {_cell(r.base, r.unit)} "
            f"| {r.baseline} | {ratio} | {r.goal} |"
        )
    return "\n".join(lines) + "\n"


def plot(results: list[Result], path: Path) -> None:
    """Horizontal bars of ours / baseline in time (log scale), one per comparison that ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [r for r in results if r.time_ratio is not None]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(ran) + 1.2))
    ratios = [r.time_ratio for r in ran]
    ax.barh(
        [f"{r.id} {r.what[:48]}" for r in ran],
        ratios,
        color=["tab:green" if x <= 1 else "tab:orange" for x in ratios],
    )
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("jupyter-wp5 / baseline (time or size; lower is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: list[Result], out: Path, meta: dict[str, Any]) -> dict[str, Path]:
    """Write the JSON, the markdown table and the chart; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")
    paths = {"json": out / f"{stamp}.json", "md": out / f"{stamp}.md", "png": out / f"{stamp}.png"}
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "node": platform.node()},
        **meta,
        "results": [r.to_dict() for r in results],
    }
    paths["json"].write_text(json.dumps(payload, indent=2) + "\n")
    paths["md"].write_text(table(results))
    plot(results, paths["png"])
    return paths


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
