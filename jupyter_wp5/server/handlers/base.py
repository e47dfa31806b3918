"""The one base handler: authentication, the catalogue, query parsing and error mapping."""

from __future__ import annotations

import json
from http.client import responses
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ...models import InvalidRequest, Wp5Error
from ..services import Services

AUTH_RESOURCE = "wp5"


class Wp5Handler(APIHandler):
    """Base of every /wp5/api handler.

    Handlers parse input, make one service call and serialise the record. Every error leaves as
    JSON ``{"error": code, "message": text}``: a :class:`Wp5Error` with its own status, a tornado
    ``HTTPError`` (403 from auth, 404 from routing) with its status. No traceback reaches a client.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def services(self) -> Services:
        return self.settings["wp5_services"]

    @property
    def user_key(self) -> str:
        """Who is asking (Jupyter's ``current_user``), for stores that keep state per user."""
        if self.token_authenticated:
            # The server's one shared token names no user (Jupyter makes up a new anonymous
            # one for each request without a cookie): whoever holds it is the server's owner.
            return "token"
        return self.current_user.username

    def query_int(self, name: str, default: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidRequest(f"{name} must be an integer, not '{raw}'") from None

    def query_bool(self, name: str) -> bool:
        raw = (self.get_query_argument(name, "") or "").lower()
        if raw in ("", "0", "false", "no"):
            return False
        if raw in ("1", "true", "yes"):
            return True
        raise InvalidRequest(f"{name} must be true or false, not '{raw}'")

    def query_str(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        return value or None

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.body or b"null")
        except ValueError:
            raise InvalidRequest("the request body is not valid JSON") from None

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Wp5Error):
            self.set_status(exc.status)
            payload = exc.to_dict()
        else:
            reason = self._reason or responses.get(status_code, "Unknown")
            message = (
                exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else reason
            )
            code = reason.lower().replace(" ", "_") if status_code < 500 else "internal_error"
            payload = {"error": code, "message": message}
        self.finish(json.dumps(payload))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Expected errors are one log line, not a traceback; the rest go to tornado's logger.
        if isinstance(value, Wp5Error):
            self.log.warning(
                "%s %s -> %s: %s",
                self.request.method,
                self.request.path,
                value.status,
                value.message,
            )
        else:
            super().log_exception(typ, value, tb)
