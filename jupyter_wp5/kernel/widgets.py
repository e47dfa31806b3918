"""Notebook controls for Dask clusters, on ipywidgets (imported only when a control is made).

:class:`ClusterControl` calls the same :class:`Wp5Client` as ``%wp5 cluster`` and the Python API,
so whatever it starts is listed, scaled and closed by those too.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

from ..models import ClusterStatus, ProfileInfo, Wp5Error
from .client import Wp5Client
from .cluster import Cluster
from .display import format_bytes


class ClusterControl:
    """Create a cluster, or watch, scale, adapt and close an attached one.

    Parameters
    ----------
    client
        The services client (``jupyter_wp5.api.get_client()`` for the usual one).
    cluster
        The cluster to attach; ``None`` shows the profile choice and a Create button.
    refresh_interval
        Seconds between background reads of the attached cluster's size; ``None`` reads only
        when Refresh is clicked. The reads stop when the control or the cluster is closed.
    """

    def __init__(
        self,
        client: Wp5Client,
        cluster: Cluster | None = None,
        refresh_interval: float | None = 5.0,
    ) -> None:
        import ipywidgets as w

        self._wp5 = client
        self.cluster = cluster
        self.refresh_interval = refresh_interval
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

        self.message = w.HTML()
        # -- no cluster yet
        profiles = client.profiles()
        servable = [p for p in profiles if p.servable]
        self.profile = w.Dropdown(
            options=[(f"{p.label} ({p.name})", p.name) for p in servable],
            description="Profile",
        )
        self.profile_note = w.HTML(_unservable_note(profiles))
        self._limits = {p.name: p.max_workers for p in profiles}
        self.workers = w.BoundedIntText(value=1, min=0, description="Workers")
        self.profile.observe(lambda _change: self._limit_workers(), names="value")
        self._limit_workers()
        self.create_button = w.Button(description="Create", button_style="primary", icon="play")
        self.create_button.on_click(self._guard(self._create))
        self.create_box = w.VBox(
            [w.HBox([self.profile, self.workers, self.create_button]), self.profile_note]
        )
        # -- attached
        self.status = w.HTML()
        self.dashboard = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(self._guard(lambda: self.refresh()))
        self.scale = w.IntSlider(value=1, min=0, max=1, description="Workers")
        self.apply_button = w.Button(description="Apply")
        self.apply_button.on_click(self._guard(self._apply))
        self.adapt_minimum = w.BoundedIntText(value=0, min=0, max=1, description="Adapt min")
        self.adapt_maximum = w.BoundedIntText(value=1, min=0, max=1, description="max")
        self.adapt_button = w.Button(description="Adapt")
        self.adapt_button.on_click(self._guard(self._adapt))
        self.close_button = w.Button(description="Close", button_style="danger", icon="stop")
        self.close_button.on_click(self._guard(self._close_cluster))
        self.cluster_box = w.VBox(
            [
                w.HBox([self.status, self.refresh_button]),
                self.dashboard,
                w.HBox([self.scale, self.apply_button]),
                w.HBox([self.adapt_minimum, self.adapt_maximum, self.adapt_button]),
                self.close_button,
            ]
        )
        self.box = w.VBox([self.create_box, self.message])
        self._show()

    # -- display -------------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)

    def _show(self) -> None:
        """Swap between the create form and the attached cluster's controls."""
        attached = self.cluster is not None and self.cluster.info.status is not ClusterStatus.CLOSED
        self.box.children = [self.cluster_box if attached else self.create_box, self.message]
        if attached:
            self._render()
            self._start_timer()

    def _render(self) -> None:
        assert self.cluster is not None
        i = self.cluster.info
        adaptive = (
            f", adaptive {i.adaptive_minimum}..{i.adaptive_maximum}"
            if i.adaptive_maximum is not None
            else ""
        )
        self.status.value = (
            f"<b>{html.escape(i.name)}</b> ({html.escape(i.profile)}, {html.escape(i.status)}): "
            f"{i.workers} workers, {i.cores} cores, {format_bytes(i.memory)}{adaptive}"
        )
        link = i.dashboard_link
        self.dashboard.value = (
            f'<a href="{html.escape(link)}" target="_blank">Dask dashboard</a>' if link else ""
        )
        top = self._limits.get(i.profile, max(i.workers, 1))
        for field in (self.scale, self.adapt_minimum, self.adapt_maximum):
            field.max = top

    def _limit_workers(self) -> None:
        self.workers.max = self._limits.get(self.profile.value, 1)

    # -- actions -------------------------------------------------------------------------------

    def _guard(self, action: Callable[[], None]) -> Callable[[Any], None]:
        """A click handler that shows a service's refusal in the control, not as a traceback."""

        def on_click(_button: Any) -> None:
            self.message.value = ""
            try:
                action()
            except Wp5Error as err:
                self.message.value = f'<span style="color:#c00">{html.escape(err.message)}</span>'

        return on_click

    def _create(self) -> None:
        info = self._wp5.new_cluster(self.profile.value, workers=self.workers.value)
        self.cluster = Cluster(info, self._wp5)
        self.scale.value = info.workers
        self._show()

    def refresh(self) -> None:
        """Read the attached cluster's size again."""
        if self.cluster is not None:
            self.cluster.refresh()
            self._render()

    def _apply(self) -> None:
        assert self.cluster is not None
        self.cluster.scale(self.scale.value)
        self._render()

    def _adapt(self) -> None:
        assert self.cluster is not None
        self.cluster.adapt(self.adapt_minimum.value, self.adapt_maximum.value)
        self._render()

    def _close_cluster(self) -> None:
        assert self.cluster is not None
        self._stop_timer()
        self.cluster.close()
        self.message.value = f"closed {html.escape(self.cluster.name)}"
        self.cluster = None
        self._show()

    def close(self) -> None:
        """Stop the background refresh and remove the widgets; the cluster stays open."""
        self._stop_timer()
        self.box.close()

    # -- background refresh --------------------------------------------------------------------

    def _start_timer(self) -> None:
        if self.refresh_interval is None or self._timer is not None:
            return
        self._stop.clear()
        self._timer = threading.Thread(target=self._poll, name="wp5-cluster-control", daemon=True)
        self._timer.start()

    def _stop_timer(self) -> None:
        self._stop.set()
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.join(timeout=10)

    def _poll(self) -> None:
        assert self.refresh_interval is not None
        while not self._stop.wait(self.refresh_interval):
            try:
                self.refresh()
            except Wp5Error as err:
                # The server stopped or the cluster went away: say so once and stop asking.
                self.message.value = html.escape(err.message)
                return


def _unservable_note(profiles: list[ProfileInfo]) -> str:
    rows = [
        f"<li><b>{html.escape(p.name)}</b>: {html.escape(p.reason or 'not available here')}</li>"
        for p in profiles
        if not p.servable
    ]
    return f"<small>Not available here:<ul>{''.join(rows)}</ul></small>" if rows else ""
