"""The server's clusters, kept in a small JSON file so that a restarted server finds them again.

Only what a restart needs is kept: id, name, profile, backend, size, and the backend's own record
(:meth:`ClusterBackend.record`, e.g. a gateway cluster's name). Whether the cluster still runs is
the backend's to say, never the file's.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import ClusterSize

VERSION = 1


@dataclass
class StoredCluster:
    """One cluster as recorded."""

    id: str
    name: str
    profile: str
    backend: str
    created_at: str
    size: ClusterSize
    record: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "profile": self.profile,
            "backend": self.backend,
            "created_at": self.created_at,
            "size": [self.size.workers, self.size.minimum, self.size.maximum],
            "record": self.record,
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> StoredCluster:
        """Raises KeyError, TypeError or ValueError for an entry that is not one we wrote."""
        workers, minimum, maximum = entry["size"]
        return cls(
            id=str(entry["id"]),
            name=str(entry["name"]),
            profile=str(entry["profile"]),
            backend=str(entry.get("backend", "")),
            created_at=str(entry["created_at"]),
            size=ClusterSize(workers=workers, minimum=minimum, maximum=maximum),
            record=dict(entry.get("record") or {}),
        )


class ClusterStore:
    """Read and replace the records file; an empty ``path`` keeps nothing.

    Writes replace the file whole (write, then rename), so a crash never leaves half a file.
    """

    def __init__(self, path: str, log: logging.Logger) -> None:
        self.path = path
        self.log = log

    def save(self, clusters: list[StoredCluster]) -> None:
        if not self.path:
            return
        path = Path(self.path)
        entries = [c.to_json() for c in clusters]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps({"version": VERSION, "clusters": entries}))
            os.replace(tmp, path)
        except OSError as exc:
            # The clusters still work; only a restart would not find them.
            self.log.warning("could not record clusters in %s: %s", path, exc)

    def load(self) -> list[StoredCluster]:
        """The recorded clusters; a missing, foreign or damaged file or entry is skipped."""
        if not self.path:
            return []
        try:
            data = json.loads(Path(self.path).read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return []
        found = []
        for entry in data.get("clusters", []):
            try:
                found.append(StoredCluster.from_json(entry))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.log.warning("ignoring a cluster record %r: %s", entry, exc)
        return found
