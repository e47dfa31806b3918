"""Every ``jp_fetch`` of the API tests is checked against the contract (tests/api/contract.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .contract import checked


@pytest.fixture
def jp_fetch(jp_fetch: Any) -> Any:
    return checked(jp_fetch)
