"""Check server responses against the OpenAPI contract shipped in the package."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jupyter_wp5

SPEC = Path(jupyter_wp5.__file__).parent / "openapi.yaml"


@cache
def _openapi() -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(SPEC))


def assert_matches_contract(method: str, path: str, status: int, body: Any) -> None:
    """Raise if ``body`` with ``status`` is not what openapi.yaml promises for ``method path``."""
    from openapi_core.testing import MockRequest, MockResponse

    request = MockRequest("http://127.0.0.1", method.lower(), "/wp5/api/" + path.lstrip("/"))
    data = b"" if body is None else json.dumps(body).encode()
    response = MockResponse(data=data, status_code=status, content_type="application/json")
    _openapi().validate_response(request, response)


async def call(jp_fetch: Any, method: str, path: str, body: Any = None, **params: str):
    """Send ``method /wp5/api/<path>``; return (status, body) after checking them against the
    contract. HTTP errors are returned, not raised, so tests assert on what the user would see."""
    from tornado.httpclient import HTTPClientError

    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "PATCH"):
        kwargs["body"] = ""
    try:
        response = await jp_fetch("wp5", "api", path, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None, err
        response = err.response
    payload = json.loads(response.body) if response.body else None
    assert_matches_contract(method, path, response.code, payload)
    return response.code, payload
