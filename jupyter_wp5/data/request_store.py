"""The user's copy requests, kept in a small SQLite file so they outlive the Jupyter server.

Rucio knows the rules, but not which of the account's rules this user asked for from JupyterLab,
nor anything about downloads to scratch; this store remembers both. Progress of rules is always
re-read from Rucio; the last known progress is kept as well (downloads have no other source).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from ..models import ReplicaProgress

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
    unlike anything that goes over the network.
    """

    path = Unicode(
        config=True,
        help="The SQLite file holding the user's copy requests. "
        "Default: <jupyter data dir>/wp5/requests.sqlite.",
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
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(_SCHEMA)

    def save(self, progress: ReplicaProgress) -> None:
        """Insert a new request or record its latest progress."""
        with self._lock:
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

    def get(self, request_id: str) -> ReplicaProgress | None:
        """The last progress recorded for a request, or None when this user never made it."""
        with self._lock:
            row = self._db.execute(
                "SELECT progress FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
        return ReplicaProgress.from_dict(json.loads(row[0])) if row else None

    def all(self) -> list[ReplicaProgress]:
        """Every request with its last recorded progress, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT progress FROM requests ORDER BY created DESC"
            ).fetchall()
        return [ReplicaProgress.from_dict(json.loads(r[0])) for r in rows]

    def remove(self, request_id: str) -> None:
        """Forget a request."""
        with self._lock:
            self._db.execute("DELETE FROM requests WHERE id = ?", (request_id,))

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()
