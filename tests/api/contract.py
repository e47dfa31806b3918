"""Check what tests send and what the server answers against the OpenAPI contract.

:func:`checked` wraps ``jp_fetch`` (tests/api/conftest.py does it for every test there): each
``/wp5/api`` request is checked before it is sent and each response after, whatever its status
(the no-token 403s and the 204s included). A request the contract refuses must be refused by the
server too (400, 413, or 403 when it carries no valid token).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from tornado.httpclient import HTTPClientError

from jupyter_wp5 import contract


def assert_matches_contract(method: str, path: str, status: int, body: Any) -> None:
    """Raise if ``body`` with ``status`` is not what openapi.yaml promises for ``method path``
    (``path`` relative to /wp5/api; a None body is no body)."""
    contract.validate_response(method, path, status, contract.NO_BODY if body is None else body)


def payload_of(response: Any) -> Any:
    """The answer's body: parsed JSON, the text of anything else (a dashboard page), or None."""
    if not response.body:
        return None
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(response.body)
    return response.body.decode(errors="replace")


def checked(fetch: Any) -> Any:
    """``jp_fetch``, checking every /wp5/api request and response against the contract."""
    if getattr(fetch, "contract_checked", False):
        return fetch

    @functools.wraps(fetch)
    async def fetch_checked(*parts: str, **kwargs: Any) -> Any:
        if parts[:2] != ("wp5", "api"):
            return await fetch(*parts, **kwargs)
        method = kwargs.get("method", "GET")
        path = "/".join(parts[2:])
        params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        error: HTTPClientError | None = None
        try:
            response = await fetch(*parts, **kwargs)
        except HTTPClientError as err:
            assert err.response is not None, err
            error, response = err, err.response
        body = kwargs.get("body")
        answer = payload_of(response)
        contract.check_exchange(
            method,
            path,
            {k: str(v) for k, v in params.items()},
            body.encode() if isinstance(body, str) else body,
            response.code,
            contract.NO_BODY if answer is None else answer,
        )
        if error is not None:
            raise error
        return response

    fetch_checked.contract_checked = True  # type: ignore[attr-defined]
    return fetch_checked


async def call(jp_fetch: Any, method: str, path: str, body: Any = None, **params: str):
    """Send ``method /wp5/api/<path>``; return (status, body), both checked against the contract.
    HTTP errors are returned, not raised, so tests assert on what the user would see."""
    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "PATCH"):
        kwargs["body"] = ""
    try:
        response = await checked(jp_fetch)("wp5", "api", path, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None, err
        response = err.response
    payload = json.loads(response.body) if response.body else None
    return response.code, payload
