"""The services one server holds: built once by the extension app, shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass

from ..data.catalog import RucioCatalog
from ..data.replicas import ReplicaService


@dataclass
class Services:
    catalog: RucioCatalog
    replicas: ReplicaService

    def close(self) -> None:
        # Both share the catalogue's Rucio connection; closing it once is enough.
        self.catalog.close()
