"""WS events: the server pushes ``{"type": "replica" | "cluster", "data": {...}}`` messages."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web, websocket

from ..services import Services
from .base import AUTH_RESOURCE


class EventsHandler(WebSocketMixin, websocket.WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """GET events (websocket): new copy requests and their progress, cluster changes.

    Authenticated like Jupyter's own websockets (token or cookie; 403 otherwise) and authorised
    to read the ``wp5`` resource.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def services(self) -> Services:
        return self.settings["wp5_services"]

    async def pre_get(self) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self.services.events.subscribe(self.write_message)

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen; anything they send is ignored."""

    def on_close(self) -> None:
        self.services.events.unsubscribe(self.write_message)
