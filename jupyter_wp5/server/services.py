"""The services one server holds: built once by the extension app, shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass

from ..data.catalog import RucioCatalog


@dataclass
class Services:
    catalog: RucioCatalog

    def close(self) -> None:
        self.catalog.close()
