"""The services one server holds: built once by the extension app, shared by every handler.

The kernel's in-process transport runs the same bundle without a server (and without events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..compute.manager import ClusterManager
from ..data.catalog import RucioCatalog
from ..data.fileset import FilesetService
from ..data.replicas import ReplicaService
from ..models import Health
from ..version import __version__

if TYPE_CHECKING:
    from ..communities import AccessService
    from .events import EventHub


@dataclass
class Services:
    catalog: RucioCatalog
    replicas: ReplicaService
    clusters: ClusterManager
    filesets: FilesetService
    events: EventHub | None = None  # only a server pushes events
    access: AccessService | None = None  # None: no access workflow (e.g. tests of others)

    def __post_init__(self) -> None:
        # Copies are admitted and recorded by the access service however they are asked for
        # (REST or the kernel's in-process transport).
        self.replicas.guard = self.access

    async def health(self) -> Health:
        """Our version, and whether each engine answers."""
        return Health(version=__version__, engines=[await self.catalog.status()])

    def close(self) -> None:
        try:
            if self.events is not None:
                self.events.close()
            self.clusters.shutdown()
            self.replicas.close()
            if self.access is not None:
                self.access.ledger.close()
        finally:
            # The replica service shares the catalogue's Rucio connection: one close is enough.
            self.catalog.close()
