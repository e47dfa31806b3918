"""Dataset details that stay fast at any size, and exact counts as a background job.

A details answer comes from Rucio's summaries: the DID's stored ``bytes`` and ``length`` and the
dataset replica table (``list_dataset_replicas`` without ``deep``), so it costs the same for 10 or
100,000 files. Metadata, rules and copies are asked for side by side; whatever is not back within
``details_timeout`` is left out and the answer says so (``partial``), rather than failing.

Exact per-file counts (``?deep=1``) walk every file and its replicas in batches, in the
background; each batch is published as progress (the server sends it over the events websocket)
and the outcome is kept for the next ``?deep=1``. A container is counted over at most
``max_datasets`` datasets, and the answer names that cap.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from ..models import (
    DID,
    DatasetDetails,
    DeepCount,
    DeepState,
    FileReplicaState,
    NotFound,
    SiteCopy,
    Wp5Error,
)
from .rucio_connection import RucioConnection
from .rucio_rows import (
    REPLICA_BATCH,
    datasets_in,
    did_type_name,
    jsonable,
    replica_states,
    rule_summary,
)

T = TypeVar("T")
Listener = Callable[[DeepCount, DatasetDetails | None], None]

# Metadata keys worth showing a user; Rucio returns many internal columns besides these.
_SHOWN_METADATA = (
    "account", "created_at", "updated_at", "is_open", "events", "datatype", "campaign",
    "project", "provenance", "phys_group", "guid", "adler32",
)  # fmt: skip

# Datasets per list_dataset_replicas_bulk call.
_BULK = 500
# Finished deep counts kept for the next ?deep=1.
_KEEP = 64


class DetailsService(LoggingConfigurable):
    """Describe DIDs from Rucio's summaries; count them exactly on request."""

    details_timeout = Float(
        5.0,
        config=True,
        help="Seconds a details answer waits for metadata, rules and copies; parts not back by "
        "then are left out and the answer is flagged partial.",
    )
    max_datasets = Int(
        1000,
        config=True,
        help="Most datasets one exact (?deep=1) count walks; a container holding more is counted "
        "over its first max_datasets datasets and the answer says so.",
    )
    deep_keep = Float(
        300.0,
        config=True,
        help="Seconds a finished exact count answers ?deep=1; after that a new count starts.",
    )

    def __init__(self, connection: RucioConnection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.listeners: list[Listener] = []
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, DeepCount] = {}
        # Finished counts: when each finished, its progress and its exact details.
        self._counts: OrderedDict[str, tuple[float, DeepCount, DatasetDetails | None]] = (
            OrderedDict()
        )

    async def describe(self, did: DID, deep: bool = False) -> DatasetDetails:
        """Details from Rucio's summaries; with ``deep``, the exact counts once a background
        count has finished (it is started when none is running), else its progress."""
        info = await self._about(did, lambda c: c.get_did(did.scope, did.name))
        kind = did_type_name(info.get("type"))
        parts: dict[str, Callable[[Any], Any]] = {
            "metadata": lambda c: c.get_metadata(did.scope, did.name),
            "rules": lambda c: [rule_summary(r) for r in c.list_did_rules(did.scope, did.name)],
            "copies": lambda c: _summary_copies(c, did, kind, info.get("bytes") or 0),
        }
        if kind == "container":
            parts["size"] = lambda c: _size(c, did, "DATASET")
        elif kind == "dataset" and info.get("length") is None:
            # Rucio stores an open dataset's size only when it is closed: sum it in Rucio's
            # database (one aggregate over the dataset's contents, no per-file transfer).
            parts["size"] = lambda c: _size(c, did, "FILE")
        got, missing = await self._gather(did, parts)
        files, size = got.get("size", (1 if kind == "file" else info.get("length"), None))
        details = DatasetDetails(
            scope=did.scope,
            name=did.name,
            type=kind,
            bytes=size if size is not None else info.get("bytes"),
            files=files,
            copies=sorted(got.get("copies", []), key=lambda c: c.rse),
            rules=got.get("rules", []),
            metadata=_shown(got.get("metadata", {})),
            partial=bool(missing),
            missing=missing,
        )
        if deep and kind != "file":
            return self._with_deep(did, details)
        return details

    async def _gather(
        self, did: DID, parts: dict[str, Callable[[Any], Any]]
    ) -> tuple[dict[str, Any], list[str]]:
        tasks = {name: asyncio.ensure_future(self._about(did, fn)) for name, fn in parts.items()}
        await asyncio.wait(tasks.values(), timeout=self.details_timeout)
        got, missing = {}, []
        for name, task in tasks.items():
            if not task.done():
                # The executor thread finishes on its own; its answer is simply not waited for.
                task.cancel()
                missing.append(name)
            else:
                got[name] = task.result()  # a Rucio error (not found, unreachable) is raised
        return got, sorted(missing)

    def _with_deep(self, did: DID, details: DatasetDetails) -> DatasetDetails:
        key = str(did)
        finished = self._counts.get(key)
        if finished is not None and time.monotonic() - finished[0] > self.deep_keep:
            del self._counts[key]
        elif finished is not None:
            _, count, exact = finished
            if exact is not None:
                exact.deep = count
                return exact
            details.deep = count
            return details
        if key not in self._jobs:
            count = DeepCount(
                key,
                DeepState.RUNNING,
                files_total=details.files,
                cap=self.max_datasets,
                cap_setting="DetailsService.max_datasets",
            )
            self._running[key] = count
            self._jobs[key] = asyncio.ensure_future(self._count(did, count, details))
        details.deep = self._running[key]
        return details

    async def _count(self, did: DID, count: DeepCount, summary: DatasetDetails) -> None:
        key = str(did)
        exact: DatasetDetails | None = None
        try:
            exact = await self._count_exactly(did, count, summary)
            if count.state is DeepState.RUNNING:
                count.state = DeepState.DONE
        except Wp5Error as err:
            count.state, count.message = DeepState.FAILED, err.message
        except Exception as err:  # a job nobody awaits must report, not vanish
            self.log.exception("wp5: exact count of %s failed", key)
            count.state, count.message = DeepState.FAILED, f"{type(err).__name__}: {err}"
        finally:
            self._running.pop(key, None)
            self._jobs.pop(key, None)
        if count.state is not DeepState.FAILED:
            self._counts[key] = (time.monotonic(), count, exact)
            while len(self._counts) > _KEEP:
                self._counts.popitem(last=False)
        self._publish(count, exact)

    async def _count_exactly(
        self, did: DID, count: DeepCount, summary: DatasetDetails
    ) -> DatasetDetails:
        run = self._about
        if summary.type == "dataset":
            datasets = [did]
        else:
            datasets = await run(did, lambda c: datasets_in(c, did, self.max_datasets + 1))
        capped = len(datasets) > self.max_datasets
        if capped:
            datasets = datasets[: self.max_datasets]
            count.message = (
                f"{did} holds more than {self.max_datasets} datasets; counted the first "
                f"{self.max_datasets} (DetailsService.max_datasets)"
            )
        count.datasets_total = len(datasets)
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        files = size = 0
        for ds in datasets:
            ds_files = ds_bytes = 0
            available: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            async for batch in self._file_batches(ds):
                states = await run(ds, lambda c, batch=batch: _states(c, batch))
                for row, by_rse in zip(batch, states, strict=True):
                    for rse, state in by_rse.items():
                        have = available[rse]  # a site with copies on the way counts too
                        if state is FileReplicaState.AVAILABLE:
                            have[0] += 1
                            have[1] += row.get("bytes") or 0
                ds_files += len(batch)
                ds_bytes += sum(r.get("bytes") or 0 for r in batch)
                count.files_done += len(batch)
                self._publish(count, None)
            for rse, (n, b) in available.items():
                t = totals[rse]
                t[0], t[1], t[2], t[3] = t[0] + n, t[1] + ds_files, t[2] + b, t[3] + ds_bytes
            files, size = files + ds_files, size + ds_bytes
            count.datasets_done += 1
        count.files_total = files
        if capped:
            count.state = DeepState.CAPPED
        return DatasetDetails(
            scope=did.scope,
            name=did.name,
            type=summary.type,
            bytes=size,
            files=files,
            copies=sorted((SiteCopy(rse, *t) for rse, t in totals.items()), key=lambda c: c.rse),
            rules=summary.rules,
            metadata=summary.metadata,
            summary=False,
        )

    async def _file_batches(self, ds: DID) -> AsyncIterator[list[dict[str, Any]]]:
        """A dataset's files, :data:`REPLICA_BATCH` at a time, from one Rucio stream."""
        stream: Iterator[dict[str, Any]] = iter(())

        def first(client: Any) -> list[dict[str, Any]]:
            nonlocal stream
            stream = iter(client.list_files(ds.scope, ds.name))
            return list(itertools.islice(stream, REPLICA_BATCH))

        batch = await self._about(ds, first)
        while batch:
            yield batch
            if len(batch) < REPLICA_BATCH:
                return
            batch = await self._about(ds, lambda _: list(itertools.islice(stream, REPLICA_BATCH)))

    def _publish(self, count: DeepCount, exact: DatasetDetails | None) -> None:
        for listener in list(self.listeners):
            listener(count, exact)

    async def _about(self, did: DID, fn: Callable[[Any], T]) -> T:
        """Run a call about one DID; a not-found error then names the DID."""
        try:
            return await self.connection.run(fn)
        except NotFound as err:
            raise NotFound(f"{did}: {err.message}") from None

    async def wait(self, did: DID) -> None:
        """Wait for a running exact count of ``did`` (tests, scripts)."""
        job = self._jobs.get(str(did))
        if job is not None:
            await asyncio.shield(job)

    def close(self) -> None:
        """Stop the running counts."""
        for job in self._jobs.values():
            job.cancel()


def deep_event(count: DeepCount, exact: DatasetDetails | None) -> dict[str, Any]:
    """The events-websocket payload for a count's progress: its state, and the exact details
    once it has finished."""
    return {**count.to_dict(), "details": exact.to_dict() if exact else None}


def _summary_copies(client: Any, did: DID, kind: str, size: int) -> list[SiteCopy]:
    """Copies per storage element from Rucio's dataset replica table (one row per dataset and
    storage element), summed over a container's datasets."""
    if kind == "file":
        states = replica_states(client, [{"scope": did.scope, "name": did.name}], None)
        return [
            SiteCopy(rse, int(available), 1, size if available else 0, size)
            for rse, state in states.get((did.scope, did.name), {}).items()
            for available in [state is FileReplicaState.AVAILABLE]
        ]
    datasets = [did] if kind == "dataset" else datasets_in(client, did)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for start in range(0, len(datasets), _BULK):
        batch = [{"scope": d.scope, "name": d.name} for d in datasets[start : start + _BULK]]
        for row in client.list_dataset_replicas_bulk(batch):
            t = totals[row["rse"]]
            t[0] += row.get("available_length") or 0
            t[1] += row.get("length") or 0
            t[2] += row.get("available_bytes") or 0
            t[3] += row.get("bytes") or 0
    return [SiteCopy(rse, *t) for rse, t in totals.items()]


def _size(client: Any, did: DID, depth: str) -> tuple[int, int]:
    """Files and bytes of a collection, summed by Rucio from its children's stored sizes
    (``DATASET``) or from its files' rows (``FILE``)."""
    info = client.get_did(did.scope, did.name, dynamic_depth=depth)
    return info.get("length") or 0, info.get("bytes") or 0


def _states(client: Any, files: list[dict[str, Any]]) -> list[dict[str, FileReplicaState]]:
    """Each file's replica state per storage element, in the order of ``files``."""
    states = replica_states(client, files, None)
    return [states.get((f["scope"], f["name"]), {}) for f in files]


def _shown(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(meta[k]) for k in _SHOWN_METADATA if meta.get(k) is not None}
