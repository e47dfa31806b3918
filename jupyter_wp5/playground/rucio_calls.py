"""Small helpers around rucio-clients calls made by the playground's admin scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rucio.common.exception import (
    DataIdentifierAlreadyExists,
    Duplicate,
    DuplicateContent,
    DuplicateRule,
    FileAlreadyExists,
    FileReplicaAlreadyExists,
)

from ..data.db_retry import ATTEMPTS, retry_when_locked

__all__ = ["BATCH", "create", "retry"]

T = TypeVar("T")

# SQLite's expression depth limit: one add_replicas call with 1000+ files fails.
BATCH = 500

_EXISTS = (
    Duplicate,
    DataIdentifierAlreadyExists,
    DuplicateContent,
    DuplicateRule,
    FileAlreadyExists,
    FileReplicaAlreadyExists,
)


def retry(call: Callable[..., T], *args: Any, attempts: int = ATTEMPTS, **kwargs: Any) -> T:
    """Run a client call, replaying it while Rucio's SQLite database is locked (at most
    ``attempts`` times in all)."""
    return retry_when_locked(lambda: call(*args, **kwargs), attempts=attempts)


def create(call: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run a creating call; ``False`` when the thing already exists (re-runs are idempotent)."""
    try:
        retry(call, *args, **kwargs)
    except _EXISTS:
        return False
    return True
