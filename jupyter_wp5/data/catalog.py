"""The catalogue service: search Rucio, describe a DID, list its files and the storage elements.

Everything here goes through rucio-clients (never hand-built REST) through a
:class:`RucioConnection` (bounded executor, timeouts, error translation) and returns the typed
records of :mod:`jupyter_wp5.models`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..models import (
    DID,
    DatasetDetails,
    DidSummary,
    EngineStatus,
    FileEntry,
    FilePage,
    InvalidRequest,
    NotFound,
    SearchPage,
    SearchQuery,
    StorageElement,
    Wp5Error,
)
from .cursors import CursorStore
from .details import DetailsService
from .rucio_connection import RucioConnection
from .rucio_rows import REPLICA_BATCH, did_type_name, jsonable, replica_states
from .shared_probe import SharedProbe

T = TypeVar("T")

_OPERATORS = {"=": "", "!=": ".ne", ">": ".gt", "<": ".lt", ">=": ".gte", "<=": ".lte"}


class RucioCatalog(LoggingConfigurable):
    """Search and describe the data in one Rucio instance."""

    health_max_age = Float(
        1.0,
        config=True,
        help="Seconds a health answer (Rucio's ping and whoami) is reused. Health calls arriving "
        "together share one probe, and a polled answer is renewed in the background once half "
        "this old, so an outage shows within about this long. 0: probe Rucio on every call.",
    )

    def __init__(self, connection: RucioConnection | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection or RucioConnection(parent=self)
        self.cursors = CursorStore(parent=self)
        self.details = DetailsService(self.connection, parent=self)
        self._status = SharedProbe(self._probe, lambda: self.health_max_age)

    async def status(self) -> EngineStatus:
        """Whether Rucio answers and who we are, checked at most :attr:`health_max_age` ago
        (``checked_at`` says when); never raises."""
        return await self._status.get()

    async def _probe(self) -> EngineStatus:
        """Ping Rucio and ask who we are.

        The probe runs in the connection's own health lane (one thread, a short timeout), so a
        pool full of slow searches neither delays it nor makes Rucio look down.
        """
        host = self.connection.host
        checked_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        try:
            version, account = await self.connection.probe(
                lambda c: (c.ping().get("version"), (c.whoami() or {}).get("account"))
            )
        except Wp5Error as err:
            return EngineStatus(
                "rucio", False, url=host, message=err.message, checked_at=checked_at
            )
        return EngineStatus(
            "rucio", True, url=host, version=version, account=account, checked_at=checked_at
        )

    async def search(
        self, query: SearchQuery, limit: int = 100, cursor: str | None = None, user: str = ""
    ) -> SearchPage:
        """One page of DIDs matching ``query``; ``next_cursor`` is None on the last page.

        ``cursor`` is a ``next_cursor`` this catalogue handed to ``user`` for this query; the
        page reads on from ``user``'s open listing, so page *n* costs one page, not *n*.
        """
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000")
        listing = f"search {query} {query.type.value} {sorted(query.filters)}"
        offset = self.cursors.offset(cursor, user, listing)
        filters = {"name": query.pattern}
        for key, op, value in query.filters:
            filters[key + _OPERATORS[op]] = _coerce(value)

        def summaries(client: Any) -> Iterable[DidSummary]:
            with client.dateless_rows():
                rows = client.list_dids(
                    query.scope, [filters], did_type=query.type.value, long=True, recursive=False
                )
            return (
                DidSummary(
                    scope=r.get("scope", query.scope),
                    name=r["name"],
                    type=did_type_name(r.get("did_type", "")),
                    bytes=r.get("bytes"),
                    files=r.get("length"),
                )
                for r in rows
            )

        items = self.cursors.held(user, listing, offset, limit + 1)
        if items is None:
            items = await self.connection.run(
                lambda c: self.cursors.page(user, listing, lambda: summaries(c), offset, limit + 1)
            )
        more = len(items) > limit
        return SearchPage(
            query=str(query),
            items=items[:limit],
            next_cursor=self.cursors.cursor(user, listing, offset + limit) if more else None,
        )

    async def describe(self, did: DID, deep: bool = False) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of a DID, from Rucio's
        summaries; ``deep`` asks for exact per-file counts (see :class:`DetailsService`)."""
        return await self.details.describe(did, deep)

    async def files(
        self,
        did: DID,
        rse: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        user: str = "",
    ) -> FilePage:
        """One page of a DID's files with each file's replica state per storage element;
        paged like :meth:`search`."""
        if not 1 <= limit <= REPLICA_BATCH:
            raise InvalidRequest(f"limit must be between 1 and {REPLICA_BATCH}")
        listing = f"files {did}"
        offset = self.cursors.offset(cursor, user, listing)

        def page(client: Any) -> tuple[list[FileEntry], bool]:
            rows = self.cursors.page(
                user, listing, lambda: client.list_files(did.scope, did.name), offset, limit + 1
            )
            shown = rows[:limit]
            states = replica_states(client, shown, rse)
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
            next_cursor=self.cursors.cursor(user, listing, offset + limit) if more else None,
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
        """Stop exact counts, close the open listings and release the connection's threads."""
        self.details.close()
        self.cursors.close()
        self.connection.close()


def _coerce(value: str) -> Any:
    """Rucio compares metadata typed: send numbers as numbers."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


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
                    k: jsonable(v)
                    for k, v in client.list_rse_attributes(name).items()
                    if k != name  # Rucio lists the RSE's own name as an attribute
                },
            )
        )
    return sorted(elements, key=lambda e: e.name)
