"""Facility-size data for the browser tests, in a scope of its own (``scale``), catalogue-only.

Registers in the running playground's Rucio, with no bytes: a dataset ``big`` of 10,000 files
and a container ``all`` of 1,000 one-file datasets (as tests/api/test_catalog_scale.py does),
through Rucio's core API (jupyter_wp5.playground.catalogue_only). Only scale.spec.ts needs it, so
that spec runs this, not ui-tests/run.sh; a re-run on a registered playground adds nothing.

Usage: python scale_data.py ROOT   (ROOT: the playground's root, $WP5_PLAYGROUND_ROOT)
"""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_wp5.playground.catalogue_only import CatalogueOnlyPlan, register_in_core
from jupyter_wp5.playground.info import FacilityInfo
from jupyter_wp5.playground.rucio_config import RucioFiles
from jupyter_wp5.playground.rucio_env import ensure_server_venv

SCOPE = "scale"
BIG_FILES = 10_000
DATASETS = 1000
FILE_BYTES = 2_000_000


def main(argv: list[str]) -> None:
    """Register the plan in the playground at ``argv[0]``."""
    root = Path(argv[0])
    info = FacilityInfo.read(root / "facility.json")
    plan = CatalogueOnlyPlan(
        scope=SCOPE,
        rse=info.rses[0],
        datasets=DATASETS,
        extra=[("big", BIG_FILES)],
        container="all",
        file_bytes=FILE_BYTES,
    )
    # The playground's own server venv: ensure_server_venv finds it ready and builds nothing.
    python = ensure_server_venv().python
    register_in_core(plan, str(python), str(RucioFiles(root / "rucio").server_cfg))


if __name__ == "__main__":
    main(sys.argv[1:])
