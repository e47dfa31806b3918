"""Small helpers around rucio-clients calls made by the playground's admin scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from rucio.common.exception import (
    DatabaseException,
    DataIdentifierAlreadyExists,
    Duplicate,
    DuplicateContent,
    DuplicateRule,
    FileAlreadyExists,
    FileReplicaAlreadyExists,
    RucioException,
)

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


def _database_locked(err: Exception) -> bool:
    text = str(err).lower()
    return isinstance(err, DatabaseException) or "database is locked" in text


def retry(call: Callable[..., T], *args: Any, attempts: int = 6, **kwargs: Any) -> T:
    """Run a client call, replaying it when SQLite reported "database is locked".

    With the server and daemons in separate processes SQLite writes sporadically fail; WAL and a
    busy timeout are not enough, replaying the failed request is (see RECIPES.md).
    """
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except RucioException as err:
            if attempt == attempts - 1 or not _database_locked(err):
                raise
            # Exponential, capped: the daemons' own long transactions (a judge digesting
            # thousands of attachments) hold the lock for seconds.
            time.sleep(min(0.2 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


def create(call: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run a creating call; ``False`` when the thing already exists (re-runs are idempotent)."""
    try:
        retry(call, *args, **kwargs)
    except _EXISTS:
        return False
    return True
