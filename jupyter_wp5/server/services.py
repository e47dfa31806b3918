"""The services one server holds: built once by the extension app, shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass

from ..communities import AccessService
from ..compute.manager import ClusterManager
from ..data.catalog import RucioCatalog
from ..data.fileset import FilesetService
from ..data.replicas import ReplicaService
from .events import EventHub


@dataclass
class Services:
    catalog: RucioCatalog
    replicas: ReplicaService
    clusters: ClusterManager
    filesets: FilesetService
    events: EventHub
    access: AccessService

    def close(self) -> None:
        try:
            self.events.close()
            self.clusters.shutdown()
            self.replicas.close()
            self.access.ledger.close()
        finally:
            # The replica service shares the catalogue's Rucio connection: one close is enough.
            self.catalog.close()
