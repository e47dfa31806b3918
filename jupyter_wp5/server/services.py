"""The services one server holds: built once by the extension app, shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass

from ..compute.manager import ClusterManager
from ..data.catalog import RucioCatalog


@dataclass
class Services:
    catalog: RucioCatalog
    clusters: ClusterManager

    def close(self) -> None:
        try:
            self.clusters.shutdown()
        finally:
            self.catalog.close()
