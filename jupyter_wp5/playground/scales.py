"""How much data the playground seeds: ``small`` (a demo), ``medium`` and ``large`` (facility-like).

``medium`` and ``large`` put real NanoAOD bytes on XRootD (about 40 files: 2.1 M and 8.4 M events)
and add a catalogue-only scope: 100,000 files registered in Rucio, with sizes and checksums but no
bytes, in 1,000 datasets of 90 files (gathered in one container) plus one dataset of 10,000 files.
Listing, paging and dataset details only read the catalogue, so they meet facility sizes there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue_only import CatalogueOnlyPlan

__all__ = ["CATALOGUE_SCOPE", "SCALES", "Scale", "catalogue_plan"]

CATALOGUE_SCOPE = "archive"
_CATALOGUE = {"datasets": 1000, "files_per_dataset": 90, "big": 10_000}


@dataclass(frozen=True)
class Scale:
    """One ``--scale``: files per seeded dataset and events per NanoAOD file (``None``: what the
    facility was given, ``--events`` for the CLI), and whether the catalogue-only scope is
    registered."""

    name: str
    files_per_dataset: int | None
    events_per_file: int | None
    catalogue: bool


SCALES = {
    "small": Scale("small", files_per_dataset=None, events_per_file=None, catalogue=False),
    # 3 NanoAOD datasets of 14 files: 42 files.
    "medium": Scale("medium", files_per_dataset=14, events_per_file=50_000, catalogue=True),
    "large": Scale("large", files_per_dataset=14, events_per_file=200_000, catalogue=True),
}


def catalogue_plan(rse: str) -> CatalogueOnlyPlan:
    """The catalogue-only scope of ``medium`` and ``large``, registered at ``rse``."""
    return CatalogueOnlyPlan(
        scope=CATALOGUE_SCOPE,
        rse=rse,
        datasets=_CATALOGUE["datasets"],
        files_per_dataset=_CATALOGUE["files_per_dataset"],
        extra=[("big", _CATALOGUE["big"])],
        container="all",
    )
