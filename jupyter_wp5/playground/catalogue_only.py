"""Catalogue-only data at facility size: datasets and file replicas registered in Rucio, no bytes.

Listing, paging and dataset details only read the catalogue, so their behaviour at facility size
can be tried without terabytes: this registers files (with sizes and checksums) as replicas at one
storage element, attaches them to datasets and closes those (Rucio then stores their size),
protects each with a rule there (so the reaper leaves them alone and Rucio keeps its dataset
replica summaries), and optionally gathers the datasets in a container.

It runs Rucio's core API in the playground's own Rucio virtualenv (scripts/rucio_catalogue.py),
which owns that Rucio's database: the calls the REST API would make, without an HTTP request, a
token check and a transaction per batch (100,000 files through REST took 1,339 s on SQLite and
2,146 s on PostgreSQL). Each group of datasets is committed whole, so re-running on a registered
scope, or after an interrupted run, adds only what is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CatalogueOnlyPlan", "register_in_core"]

# Created last: its presence means an earlier run registered everything.
_DONE = "catalogue-only.complete"
_CORE_SCRIPT = Path(__file__).parent / "scripts" / "rucio_catalogue.py"


@dataclass(frozen=True)
class CatalogueOnlyPlan:
    """Datasets ``{prefix}{i:04d}`` of ``files_per_dataset`` files each, plus extra datasets of
    given sizes, in a scope of their own."""

    scope: str
    rse: str
    datasets: int = 0
    files_per_dataset: int = 1
    prefix: str = "ds."
    extra: Sequence[tuple[str, int]] = ()  # (dataset name, files)
    container: str | None = None  # holds the numbered datasets
    file_bytes: int = 2_000_000

    def dataset_names(self) -> list[str]:
        """The numbered datasets' names."""
        return [f"{self.prefix}{i:04d}" for i in range(self.datasets)]

    def sizes(self) -> list[tuple[str, int]]:
        """Every dataset with its number of files."""
        return [(n, self.files_per_dataset) for n in self.dataset_names()] + list(self.extra)


def register_in_core(
    plan: CatalogueOnlyPlan, python: str, rucio_config: str, account: str = "root"
) -> None:
    """Register ``plan`` with Rucio's core API: ``python`` is the Rucio server virtualenv's
    interpreter, ``rucio_config`` the server's rucio.cfg (its database). Output goes to this
    process's stdout; a re-run skips what an earlier one committed."""
    work = {
        "scope": plan.scope,
        "rse": plan.rse,
        "account": account,
        "container": plan.container,
        "members": plan.dataset_names(),
        "done": _DONE,
        "datasets": [
            {"name": name, "files": list(_dataset_files(plan, name, n))} for name, n in plan.sizes()
        ],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env["RUCIO_CONFIG"] = rucio_config
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump(work, spec)
        spec.flush()
        subprocess.run([python, str(_CORE_SCRIPT), spec.name], env=env, check=True)


def _dataset_files(plan: CatalogueOnlyPlan, dataset: str, n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        file_name = _file_name(dataset, i)
        yield {
            "name": file_name,
            "bytes": plan.file_bytes,
            "adler32": f"{zlib.adler32(file_name.encode()):08x}",
        }


def _file_name(dataset: str, i: int) -> str:
    return f"{dataset}.f{i:06d}"
