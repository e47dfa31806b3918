"""The log's SQLite storage: the entries in order, and the cosigned checkpoints.

Entries are stored as their canonical bytes with their leaf hash; the Merkle tree is rebuilt in
memory from the leaf hashes when the store opens (a few hundred milliseconds per million leaves).
Only one process may write a store (the log keeps the tree in its memory).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from .merkle import MerkleTree, leaf_hash

__all__ = ["LogStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leaves (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_sizes (
    witness TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"""


class LogStore:
    """SQLite-backed append-only entries plus the in-memory tree over them (thread-safe: one
    connection, every use of it under one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        rows = self._db.execute("SELECT idx, leaf_hash FROM leaves ORDER BY idx")
        self.tree = MerkleTree()
        for idx, hashed in rows:
            if idx != self.tree.size:
                raise RuntimeError(f"{path}: leaf {self.tree.size} is missing")
            self.tree.append_hash(bytes(hashed))

    @property
    def size(self) -> int:
        """Number of entries."""
        return self.tree.size

    def append(self, entries: Sequence[bytes]) -> int:
        """Append canonical entries in one transaction; return the index of the first."""
        with self._lock:
            first = self.tree.size
            hashes = [leaf_hash(e) for e in entries]
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO leaves (idx, entry, leaf_hash) VALUES (?, ?, ?)",
                    [
                        (first + i, e, h)
                        for i, (e, h) in enumerate(zip(entries, hashes, strict=True))
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            for h in hashes:
                self.tree.append_hash(h)
            return first

    def entries(self, start: int, end: int) -> list[bytes]:
        """The canonical bytes of entries ``[start, end)``."""
        rows = self._query(
            "SELECT entry FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [bytes(row[0]) for row in rows]

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def save_checkpoint(self, size: int, note: str) -> None:
        """Keep the cosigned checkpoint of ``size`` (the latest one is what the log serves)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)", (size, note)
            )

    def latest_checkpoint(self) -> str | None:
        """The cosigned checkpoint of the largest size, if any."""
        rows = self._query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        return str(rows[0][0]) if rows else None

    def witness_size(self, witness: str) -> int:
        """The size of the last checkpoint ``witness`` cosigned (0: never)."""
        rows = self._query("SELECT size FROM witness_sizes WHERE witness = ?", (witness,))
        return int(rows[0][0]) if rows else 0

    def set_witness_size(self, witness: str, size: int) -> None:
        """Remember the size of the last checkpoint ``witness`` cosigned."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO witness_sizes (witness, size) VALUES (?, ?)",
                (witness, size),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
