"""The catalogue service: search Rucio, describe a DID, list its files and the storage elements.

Everything here goes through rucio-clients (never hand-built REST) through a
:class:`RucioConnection` (bounded executor, timeouts, error translation) and returns the typed
records of :mod:`jupyter_wp5.models`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from traitlets.config import LoggingConfigurable

from ..models import (
    DID,
    Cursor,
    DatasetDetails,
    DidSummary,
    EngineStatus,
    FileEntry,
    FilePage,
    FileReplicaState,
    InvalidRequest,
    NotFound,
    ReplicaState,
    RuleSummary,
    SearchPage,
    SearchQuery,
    SiteCopy,
    StorageElement,
    Wp5Error,
)
from .rucio_connection import RucioConnection, state_name

T = TypeVar("T")

# Metadata keys worth showing a user; Rucio returns many internal columns besides these.
_SHOWN_METADATA = (
    "account", "created_at", "updated_at", "is_open", "events", "datatype", "campaign",
    "project", "provenance", "phys_group", "guid", "adler32",
)  # fmt: skip

_OPERATORS = {"=": "", "!=": ".ne", ">": ".gt", "<": ".lt", ">=": ".gte", "<=": ".lte"}

# list_replicas takes at most this many DIDs per call (see RECIPES.md).
_REPLICA_BATCH = 1000


class RucioCatalog(LoggingConfigurable):
    """Search and describe the data in one Rucio instance."""

    def __init__(self, connection: RucioConnection | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection or RucioConnection(parent=self)

    async def status(self) -> EngineStatus:
        """Ping Rucio and ask who we are; never raises."""
        host = self.connection.host
        try:
            version, account = await self.connection.run(
                lambda c: (c.ping().get("version"), (c.whoami() or {}).get("account"))
            )
        except Wp5Error as err:
            return EngineStatus("rucio", False, url=host, message=err.message)
        return EngineStatus("rucio", True, url=host, version=version, account=account)

    async def search(
        self, query: SearchQuery, limit: int = 100, cursor: Cursor | None = None
    ) -> SearchPage:
        """One page of DIDs matching ``query``; ``next_cursor`` is None on the last page."""
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000")
        offset = (cursor or Cursor(0)).offset
        filters = {"name": query.pattern}
        for key, op, value in query.filters:
            filters[key + _OPERATORS[op]] = _coerce(value)

        def page(client: Any) -> list[dict[str, Any]]:
            # Rucio streams the answer; stop reading once this page (plus one) is complete.
            rows = client.list_dids(
                query.scope, [filters], did_type=query.type.value, long=True, recursive=False
            )
            return _take(rows, offset, limit + 1)

        rows = await self.connection.run(page)
        items = [
            DidSummary(
                scope=r.get("scope", query.scope),
                name=r["name"],
                type=did_type_name(r.get("did_type", "")),
                bytes=r.get("bytes"),
                files=r.get("length"),
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return SearchPage(
            query=str(query),
            items=items,
            next_cursor=Cursor(offset + limit).encode() if more else None,
        )

    async def describe(self, did: DID) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of a DID."""
        return await self._about(did, lambda c: _describe(c, did))

    async def files(
        self, did: DID, rse: str | None = None, limit: int = 100, cursor: Cursor | None = None
    ) -> FilePage:
        """One page of a DID's files with each file's replica state per storage element."""
        if not 1 <= limit <= _REPLICA_BATCH:
            raise InvalidRequest(f"limit must be between 1 and {_REPLICA_BATCH}")
        offset = (cursor or Cursor(0)).offset

        def page(client: Any) -> tuple[list[FileEntry], bool]:
            rows = _take(client.list_files(did.scope, did.name), offset, limit + 1)
            shown = rows[:limit]
            states = _replica_states(client, shown, rse)
            entries = [
                FileEntry(
                    scope=r["scope"],
                    name=r["name"],
                    bytes=r.get("bytes"),
                    adler32=r.get("adler32"),
                    states=states.get((r["scope"], r["name"]), {}),
                )
                for r in shown
            ]
            return entries, len(rows) > limit

        entries, more = await self._about(did, page)
        return FilePage(
            did=str(did),
            items=entries,
            next_cursor=Cursor(offset + limit).encode() if more else None,
        )

    async def rses(self) -> list[StorageElement]:
        """The storage elements, with the user's quota and usage on each."""
        return await self.connection.run(_storage_elements)

    async def _about(self, did: DID, fn: Callable[[Any], T]) -> T:
        """Run a call about one DID; a not-found error then names the DID."""
        try:
            return await self.connection.run(fn)
        except NotFound as err:
            raise NotFound(f"{did}: {err.message}") from None

    def close(self) -> None:
        """Release the connection's threads."""
        self.connection.close()


def _coerce(value: str) -> Any:
    """Rucio compares metadata typed: send numbers as numbers."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _take(rows: Iterable[T], offset: int, count: int) -> list[T]:
    iterator = iter(rows)
    try:
        return list(itertools.islice(iterator, offset, offset + count))
    finally:
        close = getattr(iterator, "close", None)
        if close:
            close()


def did_type_name(raw: Any) -> str:
    """Rucio's DIDType (an enum or its string) as our lower-case type name."""
    return str(raw).lower().removeprefix("didtype.")


def _describe(client: Any, did: DID) -> DatasetDetails:
    info = client.get_did(did.scope, did.name, dynamic_depth="FILE")
    kind = did_type_name(info.get("type"))
    meta = client.get_metadata(did.scope, did.name)
    if kind == "file":
        copies = _file_copies(client, did, info.get("bytes") or 0)
        files = 1
    else:
        copies = _collection_copies(client, did, kind)
        files = info.get("length")
    rules = [_rule(r) for r in client.list_did_rules(did.scope, did.name)]
    return DatasetDetails(
        scope=did.scope,
        name=did.name,
        type=kind,
        bytes=info.get("bytes"),
        files=files,
        copies=sorted(copies, key=lambda c: c.rse),
        rules=rules,
        metadata={k: _jsonable(meta[k]) for k in _SHOWN_METADATA if meta.get(k) is not None},
    )


def _file_copies(client: Any, did: DID, size: int) -> list[SiteCopy]:
    states = _replica_states(client, [{"scope": did.scope, "name": did.name}], None)
    copies = []
    for rse, state in states.get((did.scope, did.name), {}).items():
        available = state is FileReplicaState.AVAILABLE
        copies.append(SiteCopy(rse, int(available), 1, size if available else 0, size))
    return copies


def _collection_copies(client: Any, did: DID, kind: str) -> list[SiteCopy]:
    datasets = [did] if kind == "dataset" else datasets_in(client, did)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for ds in datasets:
        # deep=True counts the replicas themselves, not Rucio's lazily updated summary table.
        for row in client.list_dataset_replicas(ds.scope, ds.name, deep=True):
            t = totals[row["rse"]]
            t[0] += row.get("available_length") or 0
            t[1] += row.get("length") or 0
            t[2] += row.get("available_bytes") or 0
            t[3] += row.get("bytes") or 0
    return [SiteCopy(rse, *t) for rse, t in totals.items()]


def datasets_in(client: Any, container: DID) -> list[DID]:
    """The datasets inside a container, recursively (run in an executor thread)."""
    found: list[DID] = []
    for child in client.list_content(container.scope, container.name):
        kind = did_type_name(child.get("type"))
        ref = DID(child["scope"], child["name"])
        if kind == "dataset":
            found.append(ref)
        elif kind == "container":
            found.extend(datasets_in(client, ref))
    return found


def _replica_states(
    client: Any, files: list[dict[str, Any]], rse: str | None
) -> dict[tuple[str, str], dict[str, FileReplicaState]]:
    result: dict[tuple[str, str], dict[str, FileReplicaState]] = {}
    for start in range(0, len(files), _REPLICA_BATCH):
        batch = [
            {"scope": f["scope"], "name": f["name"]} for f in files[start : start + _REPLICA_BATCH]
        ]
        for rep in client.list_replicas(batch, all_states=True, ignore_availability=True):
            states = {
                k: FileReplicaState(state_name(v)) for k, v in (rep.get("states") or {}).items()
            }
            if rse:
                states = {k: v for k, v in states.items() if k == rse}
            result[(rep["scope"], rep["name"])] = states
    return result


def _rule(r: dict[str, Any]) -> RuleSummary:
    return RuleSummary(
        id=r["id"],
        account=r.get("account", ""),
        rse_expression=r.get("rse_expression", ""),
        state=ReplicaState(state_name(r.get("state", ""))),
        copies=r.get("copies", 1),
        locks_ok=r.get("locks_ok_cnt", 0),
        locks_replicating=r.get("locks_replicating_cnt", 0),
        locks_stuck=r.get("locks_stuck_cnt", 0),
        created_at=_jsonable(r.get("created_at")),
        expires_at=_jsonable(r.get("expires_at")),
    )


def _storage_elements(client: Any) -> list[StorageElement]:
    account = client.account
    limits = client.get_local_account_limits(account) or {}
    usage = {u["rse"]: u.get("bytes") for u in client.get_local_account_usage(account)}
    elements = []
    for row in client.list_rses():
        name = row["rse"]
        rse = client.get_rse(name)
        elements.append(
            StorageElement(
                name=name,
                rse_type=did_type_name(rse.get("rse_type", "")).upper().removeprefix("RSETYPE."),
                deterministic=bool(rse.get("deterministic", True)),
                availability_read=bool(rse.get("availability_read", True)),
                availability_write=bool(rse.get("availability_write", True)),
                quota_bytes=limits.get(name),
                used_bytes=usage.get(name, 0),
                attributes={
                    k: _jsonable(v)
                    for k, v in client.list_rse_attributes(name).items()
                    if k != name  # Rucio lists the RSE's own name as an attribute
                },
            )
        )
    return sorted(elements, key=lambda e: e.name)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
