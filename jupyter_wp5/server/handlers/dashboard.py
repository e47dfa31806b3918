"""A cluster's Dask dashboard, served by this Jupyter server.

Dashboards listen on loopback only. This route reaches one port only, the dashboard of a cluster
of this server's own manager (any other id is a 404, before any connection), and only for a user
authenticated and authorised for ``wp5`` here: the server's owner. Unlike a generic proxy, it
cannot reach any other loopback port. Pages go through :class:`DashboardHandler`, Bokeh's live
updates (``.../ws``) through :class:`DashboardSocketHandler`.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import httpclient, web, websocket

from ...models import Wp5Error
from ..services import Services
from .base import AUTH_RESOURCE, Wp5Handler

# Answer headers passed on to the browser (the rest, e.g. Bokeh's own CSP or cookies, are not).
PASSED_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Last-Modified")
TIMEOUT = 30.0


class _DashboardRoute(JupyterHandler):
    auth_resource = AUTH_RESOURCE
    write_error = Wp5Handler.write_error
    log_exception = Wp5Handler.log_exception

    @property
    def services(self) -> Services:
        return self.settings["wp5_services"]

    async def upstream(self, scheme: str, record_id: str, path: str) -> str:
        """The dashboard URL for ``path``; NotFound for a cluster that is not this server's."""
        port = await self.services.clusters.dashboard_port(record_id)
        query = f"?{self.request.query}" if self.request.query else ""
        return f"{scheme}://127.0.0.1:{port}/{path}{query}"


class DashboardHandler(_DashboardRoute):
    """GET clusters/{id}/dashboard/{path}: one page or asset of the cluster's dashboard."""

    @web.authenticated
    @authorized
    async def get(self, record_id: str, path: str) -> None:
        url = await self.upstream("http", record_id, path)
        response = await httpclient.AsyncHTTPClient().fetch(
            url, raise_error=False, follow_redirects=False, request_timeout=TIMEOUT
        )
        if response.code == 599:
            raise web.HTTPError(502, f"the dashboard did not answer: {response.error}")
        self.set_status(response.code)
        for name in PASSED_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        location = response.headers.get("Location")
        if location:
            # The dashboard redirects within itself (``/`` to ``/status``): keep it under us.
            prefix = self.request.path[: -len(path) or None].rstrip("/")
            self.set_header("Location", prefix + location if location.startswith("/") else location)
        self.finish(response.body)


class DashboardSocketHandler(WebSocketMixin, websocket.WebSocketHandler, _DashboardRoute):  # type: ignore[misc]
    """GET clusters/{id}/dashboard/{path}/ws (websocket): Bokeh's live updates, relayed."""

    _upstream: websocket.WebSocketClientConnection | None = None
    _subprotocols: list[str] | None = None

    @ws_authenticated
    async def get(self, record_id: str, path: str) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)
        try:
            self._url = await self.upstream("ws", record_id, path)
        except Wp5Error as exc:
            raise web.HTTPError(exc.status, exc.message) from None
        await super().get(record_id, path)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # Bokeh sends its session token as a subprotocol: pass them all on, accept the first.
        self._subprotocols = subprotocols
        return subprotocols[0] if subprotocols else None

    async def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        try:
            self._upstream = await websocket.websocket_connect(
                httpclient.HTTPRequest(self._url, request_timeout=TIMEOUT),
                on_message_callback=self._relay_down,
                subprotocols=self._subprotocols,
            )
        except Exception as exc:
            self.log.warning("dashboard websocket %s: %s", self._url, exc)
            self.close(1011, "the dashboard did not answer")

    def _relay_down(self, message: str | bytes | None) -> None:
        if message is None:
            self.close()
        elif self.ws_connection is not None:
            self.write_message(message, binary=isinstance(message, bytes))

    async def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            await self._upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
