"""Catalogue-only data at facility size: datasets and file replicas registered in Rucio, no bytes.

Listing, paging and dataset details only read the catalogue, so their behaviour at facility size
can be tried without terabytes: this registers files (with sizes and checksums) as replicas at one
storage element, attaches them to datasets and closes those (Rucio then stores their size),
protects each with a rule there (so the reaper leaves them alone and Rucio keeps its dataset
replica summaries), and optionally gathers the datasets in a container. Every write is batched
(SQLite: at most :data:`BATCH` files per call) and replayed when SQLite reports "database is
locked". Re-running on a registered scope does nothing.

Needs an admin client (``root``): only admins may add replicas on the playground's sites; give it
a long timeout (a rule over 10,000 files takes Rucio on SQLite more than 30 s).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .rucio_calls import BATCH, create, retry

__all__ = ["CatalogueOnlyPlan", "register"]

# Created last: its presence means an earlier run registered everything.
_DONE = "catalogue-only.complete"
# Datasets per attach call: a longer write transaction meets the daemons' writes on SQLite and
# fails with "database is locked" every time it is replayed.
_ATTACHMENTS = 100
# Rucio's daemons digest each batch (new attachments, rules) in long transactions of their own:
# replay a locked write for longer than the seed does.
_ATTEMPTS = 20


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


def register(client: Any, plan: CatalogueOnlyPlan, account: str = "root") -> bool:
    """Register ``plan`` through ``client``; ``False`` when it was registered already."""
    scope = plan.scope
    create(client.add_scope, account, scope)
    if _exists(client, scope, _DONE):
        return False
    sizes = plan.sizes()
    # What an interrupted earlier run registered is skipped: re-adding a replica is not reported
    # as a duplicate on SQLite but as a database error.
    have = _names(client, scope, "file")
    files = [f for f in _files(plan) if f["name"] not in have]
    for batch in _chunks(files, BATCH):
        create(client.add_replicas, plan.rse, batch, attempts=_ATTEMPTS)
    have = _names(client, scope, "dataset")
    datasets = [n for n, _ in sizes if n not in have]
    for batch in _chunks(datasets, BATCH):
        dids = [{"scope": scope, "name": n, "type": "DATASET"} for n in batch]
        create(client.add_dids, dids, attempts=_ATTEMPTS)
    # A closed dataset has all its files (it is closed once they are attached).
    still_open = [(n, k) for n, k in sizes if client.get_did(scope, n).get("open")]
    _attach(client, scope, still_open)
    for name, _ in still_open:
        # Closing makes Rucio store each dataset's size and length, as production data has.
        retry(client.close, scope, name, attempts=_ATTEMPTS)
    if plan.container:
        create(client.add_container, scope, plan.container)
        inside = {c["name"] for c in client.list_content(scope, plan.container)}
        for batch in _chunks([n for n in plan.dataset_names() if n not in inside], _ATTACHMENTS):
            refs = [_ref(scope, n) for n in batch]
            create(client.attach_dids, scope, plan.container, refs, attempts=_ATTEMPTS)
    # Rules last: Rucio's daemons digest them in long transactions, which a later write (the
    # container's attachments) would then wait for.
    for batch in _by_files(sizes, BATCH):
        # The replicas exist, so the locks are OK at once; the rule also starts Rucio's
        # per-dataset replica summary. One lock per file: at most BATCH locks per call (500
        # datasets' rules in one call did not finish within rucio-clients' 600 s on SQLite).
        create(
            client.add_replication_rule,
            [{"scope": scope, "name": n} for n in batch],
            1,
            plan.rse,
            grouping="DATASET",
            attempts=_ATTEMPTS,
        )
    retry(client.add_dataset, scope, _DONE)
    return True


def _attach(client: Any, scope: str, sizes: list[tuple[str, int]]) -> None:
    """Attach each dataset's files, at most :data:`BATCH` files and :data:`_ATTACHMENTS`
    datasets per call."""
    pending: list[dict[str, Any]] = []
    carried = 0
    for name, n in sizes:
        files = [_ref(scope, _file_name(name, i)) for i in range(n)]
        for part in _chunks(files, BATCH):
            if carried + len(part) > BATCH or len(pending) == _ATTACHMENTS:
                _attach_all(client, pending)
                pending, carried = [], 0
            pending.append({"scope": scope, "name": name, "dids": part})
            carried += len(part)
    if pending:
        _attach_all(client, pending)


def _attach_all(client: Any, attachments: list[dict[str, Any]]) -> None:
    retry(client.attach_dids_to_dids, attachments, ignore_duplicate=True, attempts=_ATTEMPTS)


def _files(plan: CatalogueOnlyPlan) -> Iterator[dict[str, Any]]:
    for name, n in plan.sizes():
        for i in range(n):
            file_name = _file_name(name, i)
            yield {
                "scope": plan.scope,
                "name": file_name,
                "bytes": plan.file_bytes,
                "adler32": f"{zlib.adler32(file_name.encode()):08x}",
            }


def _file_name(dataset: str, i: int) -> str:
    return f"{dataset}.f{i:06d}"


def _ref(scope: str, name: str) -> dict[str, str]:
    return {"scope": scope, "name": name}


def _names(client: Any, scope: str, did_type: str) -> set[str]:
    return set(client.list_dids(scope, [{"name": "*"}], did_type=did_type))


def _exists(client: Any, scope: str, name: str) -> bool:
    return any(True for _ in client.list_dids(scope, [{"name": name}], did_type="dataset"))


def _by_files(sizes: list[tuple[str, int]], limit: int) -> Iterator[list[str]]:
    """Dataset names in runs of at most ``limit`` files (a larger dataset alone)."""
    run: list[str] = []
    files = 0
    for name, n in sizes:
        if run and files + n > limit:
            yield run
            run, files = [], 0
        run.append(name)
        files += n
    if run:
        yield run


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
