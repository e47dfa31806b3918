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
    response = MockResponse(
        data=json.dumps(body).encode(), status_code=status, content_type="application/json"
    )
    _openapi().validate_response(request, response)
