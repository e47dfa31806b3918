"""Wait for a copy request with a progress bar: ipywidgets in a notebook, tqdm in a terminal.

Progress is polled from the server (``GET replicas/{id}``): Rucio's locks for a rule, files done
for a download. Nothing is guessed on this side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ..models import ReplicaProgress, ReplicaState, TransferStuck, TransferTimeout
from .display import format_bytes


class Bar(Protocol):
    """What :func:`wait` needs from a progress bar."""

    def update(self, progress: ReplicaProgress) -> None: ...

    def close(self) -> None: ...


def _label(p: ReplicaProgress) -> str:
    size = f", {format_bytes(p.bytes_ok)} / {format_bytes(p.bytes_total)}" if p.bytes_total else ""
    return f"{p.did}: {p.files_ok}/{p.files_total} files{size} {p.state}"


class WidgetBar:
    """An ipywidgets IntProgress with a label, for notebooks (imported only when used)."""

    def __init__(self, first: ReplicaProgress) -> None:
        import ipywidgets
        from IPython.display import display

        self.bar = ipywidgets.IntProgress(min=0, max=max(first.files_total, 1))
        self.label = ipywidgets.Label()
        display(ipywidgets.HBox([self.bar, self.label]))
        self.update(first)

    def update(self, progress: ReplicaProgress) -> None:
        self.bar.max = max(progress.files_total, 1)
        self.bar.value = progress.files_ok
        if progress.state is ReplicaState.OK:
            self.bar.bar_style = "success"
        else:
            self.bar.bar_style = "danger" if progress.state.needs_attention else ""
        self.label.value = _label(progress)

    def close(self) -> None:
        """The bar stays on the page, showing how it ended."""


class TextBar:
    """A tqdm bar, for terminals and plain IPython."""

    def __init__(self, first: ReplicaProgress) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=first.files_total, unit="file", desc=first.did, leave=True)
        self.update(first)

    def update(self, progress: ReplicaProgress) -> None:
        self.bar.total = progress.files_total
        self.bar.n = progress.files_ok
        self.bar.set_postfix_str(progress.state, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a front end that renders widgets)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return type(get_ipython()).__name__ == "ZMQInteractiveShell"


def default_bar(first: ReplicaProgress) -> Bar:
    """Widgets in a Jupyter kernel with ipywidgets installed, else tqdm."""
    if in_notebook():
        try:
            return WidgetBar(first)
        except ImportError:
            pass
    return TextBar(first)


def show_widget_bars(items: list[ReplicaProgress]) -> list[WidgetBar]:
    """One progress bar (files done of total) per request still moving, in a notebook.

    Returns
    -------
    list of WidgetBar
        The bars shown; none outside a kernel or without ipywidgets (the table says it all).
    """
    if not in_notebook():
        return []
    try:
        return [WidgetBar(p) for p in items if p.is_moving]
    except ImportError:
        return []


def wait(
    fetch: Callable[[], ReplicaProgress],
    first: ReplicaProgress,
    interval: float = 1.0,
    timeout: float | None = None,
    bar: Callable[[ReplicaProgress], Bar] | None = default_bar,
    sleep: Callable[[float], Any] = time.sleep,
) -> ReplicaProgress:
    """Poll ``fetch()`` until the request is no longer moving; show a bar meanwhile.

    Parameters
    ----------
    fetch
        Returns the request's current progress (``client.transfer(id)``).
    first
        The progress already known (what the request returned).
    interval
        Seconds between polls.
    timeout
        Give up waiting after this many seconds (the request goes on); ``None`` waits as long
        as it takes.
    bar
        Makes the progress bar; ``None`` shows none.

    Returns
    -------
    ReplicaProgress
        The final progress, state ``OK``.

    Raises
    ------
    TransferStuck
        When the request ends STUCK or SUSPENDED, with Rucio's (or the download's) reason.
    TransferTimeout
        When ``timeout`` passes first.
    """
    shown = bar(first) if bar else None
    progress = first
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while progress.is_moving:
            if deadline is not None and time.monotonic() > deadline:
                raise TransferTimeout(
                    f"{progress.did} is still {progress.state} after {timeout:g} s "
                    f"({progress.files_ok}/{progress.files_total} files); it goes on: follow it "
                    f"with %wp5 transfers"
                )
            sleep(interval)
            progress = fetch()
            if shown:
                shown.update(progress)
    finally:
        if shown:
            shown.close()
    if progress.state is not ReplicaState.OK:
        reason = progress.error or "no reason given"
        raise TransferStuck(
            f"{progress.did} is {progress.state} ({progress.files_stuck} of "
            f"{progress.files_total} files failed): {reason}"
        )
    return progress
