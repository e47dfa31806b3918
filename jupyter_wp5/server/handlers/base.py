"""The one base handler: authentication, the catalogue, query parsing and error mapping."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from http.client import responses
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ... import contract
from ...models import InvalidRequest, Wp5Error
from ..services import Services

AUTH_RESOURCE = "wp5"


class Wp5Handler(APIHandler):
    """Base of every /wp5/api handler.

    Every request is checked against ``openapi.yaml`` (:mod:`jupyter_wp5.contract`) in
    :meth:`prepare`, before the verb runs and so before any engine call.

    Handlers parse input, make one service call and serialise the record. Every error leaves as
    JSON ``{"error": code, "message": text}``: a :class:`Wp5Error` with its own status, a tornado
    ``HTTPError`` (403 from auth, 404 from routing) with its status. No traceback reaches a client.
    """

    auth_resource = AUTH_RESOURCE

    _body: Any = contract.NO_BODY

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

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        # Refusals stay the verb decorators' (403); only a request they will let through is read.
        if not self.current_user or not await self._authorized():
            return
        path = self.request.path.removeprefix(url_path_join(self.base_url, "wp5/api"))
        params = {name: self.get_query_argument(name) for name in self.request.query_arguments}
        operation = contract.find_operation(self.request.method or "", path)
        if operation is not None and operation[0].body is not None:
            self._body = contract.parse_body(self.request.body)
        contract.validate_request(self.request.method or "", path, params, self._body)

    async def _authorized(self) -> bool:
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "", "write")
        return bool(
            await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, action, self.auth_resource)
            )
        )

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
        """The body :meth:`prepare` parsed within the contract's limits; None when empty."""
        return None if self._body is contract.NO_BODY else self._body

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_created(self, record: Any) -> None:
        """201 with the new resource (a record with an ``id``) and its ``Location``."""
        self.set_header("Location", url_path_join(self.request.path, record.id))
        self.write_json(record.to_dict(), status=201)

    def write_items(self, records: list[Any]) -> None:
        """A list answer: ``{"items": [...]}``."""
        self.write_json({"items": [r.to_dict() for r in records]})

    def write_no_content(self) -> None:
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Wp5Error):
            self.set_status(exc.status)
            if exc.retry_after is not None:
                self.set_header("Retry-After", str(exc.retry_after))
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


class RecordHandler(Wp5Handler):
    """GET, PATCH and DELETE of one record of a collection (``<collection>/<record_id>``).

    A subclass names the three service operations; each verb then parses, makes that one call and
    writes the record (204 after a delete).
    """

    def read(self, record_id: str) -> Awaitable[Any]:
        raise NotImplementedError

    def change(self, record_id: str, body: Any) -> Awaitable[Any]:
        raise NotImplementedError

    def remove(self, record_id: str) -> Awaitable[None]:
        raise NotImplementedError

    @web.authenticated
    @authorized
    async def get(self, record_id: str) -> None:
        self.write_json((await self.read(record_id)).to_dict())

    @web.authenticated
    @authorized
    async def patch(self, record_id: str) -> None:
        self.write_json((await self.change(record_id, self.json_body())).to_dict())

    @web.authenticated
    @authorized
    async def delete(self, record_id: str) -> None:
        await self.remove(record_id)
        self.write_no_content()
