"""Replaying writes that failed on a locked SQLite database (one helper for every write path)."""

from __future__ import annotations

import sqlite3

import pytest
from rucio.common.exception import DatabaseException, DataIdentifierNotFound

from jupyter_wp5.data.db_retry import ATTEMPTS, database_locked, retry_when_locked


class Flaky:
    """A call that fails ``failures`` times with ``error``, then answers ``"done"``."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def _locked_inside_rucio() -> Exception:
    # What Rucio's own processes see: SQLAlchemy's error raised from sqlite3's.
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as inner:
            raise RuntimeError("(sqlite3.OperationalError) flush failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        DatabaseException("(sqlite3.OperationalError) database is locked"),
        DatabaseException("Database error"),
        _locked_inside_rucio(),
    ],
    ids=["rest", "rest-no-text", "chained"],
)
def test_locked_database_is_replayed_with_growing_waits(error: Exception) -> None:
    waits: list[float] = []
    flaky = Flaky(3, error)
    assert database_locked(error)
    assert retry_when_locked(flaky, sleep=waits.append) == "done"
    assert flaky.calls == 4
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]


def test_other_errors_are_not_replayed() -> None:
    flaky = Flaky(1, DataIdentifierNotFound("no such did"))
    with pytest.raises(DataIdentifierNotFound):
        retry_when_locked(flaky, sleep=lambda _: None)
    assert flaky.calls == 1


def test_a_database_that_stays_locked_fails_after_the_last_attempt() -> None:
    flaky = Flaky(100, DatabaseException("database is locked"))
    waits: list[float] = []
    with pytest.raises(DatabaseException):
        retry_when_locked(flaky, sleep=waits.append)
    assert flaky.calls == ATTEMPTS
    assert sum(waits) < 10  # bounded: a request never hangs on a locked database
