"""The user's copy requests, kept in a small SQLite file so they outlive the Jupyter server.

Rucio knows the rules, but not which of the account's rules this user asked for from JupyterLab,
nor anything about downloads to scratch; this store remembers both. Progress of rules is always
re-read from Rucio; the last known progress is kept as well (downloads have no other source).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from ..models import EngineUnavailable, ReplicaProgress

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    did TEXT NOT NULL,
    rse_expression TEXT NOT NULL,
    mode TEXT NOT NULL,
    created TEXT NOT NULL,
    comment TEXT,
    progress TEXT NOT NULL
)
"""


class RequestStore(LoggingConfigurable):
    """Remember the user's requests (rule id, DID, expression, mode, created, comment).

    Calls are a local SQLite read or write of one small row: fast enough for the event loop,
    unlike anything that goes over the network. When another process holds the file locked, a
    call waits at most :attr:`lock_timeout` and then raises :class:`EngineUnavailable` (a 503).
    """

    path = Unicode(
        config=True,
        help="The SQLite file holding the user's copy requests. "
        "Default: <jupyter data dir>/wp5/requests.sqlite.",
    )

    lock_timeout = Float(
        1.0,
        config=True,
        help="Seconds a call waits for the store's file when another process holds it locked; "
        "then the request fails with 503 (the event loop waits meanwhile: keep it short).",
    )

    @default("path")
    def _default_path(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return str(Path(jupyter_data_dir()) / "wp5" / "requests.sqlite")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Download jobs update their rows from executor threads: one connection, one lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=self.lock_timeout, check_same_thread=False, isolation_level=None
        )
        with self._locked():
            self._db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold this process's lock; SQLite's "database is locked" becomes a 503."""
        with self._lock:
            try:
                yield
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                raise EngineUnavailable(
                    f"the request store {self.path} is locked by another process; try again"
                ) from None

    def save(self, progress: ReplicaProgress) -> None:
        """Insert a new request or record its latest progress."""
        with self._locked():
            self._db.execute(
                "INSERT INTO requests (id, did, rse_expression, mode, created, comment, progress)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " progress = excluded.progress",
                (
                    progress.id,
                    progress.did,
                    progress.rse_expression,
                    progress.mode,
                    progress.created_at or "",
                    progress.comment,
                    json.dumps(progress.to_dict()),
                ),
            )

    def check_writable(self) -> None:
        """Raise :class:`EngineUnavailable` now when a new request could not be recorded, so
        that nothing is created in Rucio that the store then forgets."""
        with self._locked():
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")

    def get(self, request_id: str) -> ReplicaProgress | None:
        """The last progress recorded for a request, or None when this user never made it."""
        with self._locked():
            row = self._db.execute(
                "SELECT progress FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
        return ReplicaProgress.from_dict(json.loads(row[0])) if row else None

    def all(self) -> list[ReplicaProgress]:
        """Every request with its last recorded progress, newest first."""
        with self._locked():
            rows = self._db.execute(
                "SELECT progress FROM requests ORDER BY created DESC"
            ).fetchall()
        return [ReplicaProgress.from_dict(json.loads(r[0])) for r in rows]

    def remove(self, request_id: str) -> None:
        """Forget a request."""
        with self._locked():
            self._db.execute("DELETE FROM requests WHERE id = ?", (request_id,))

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()
