"""The kernel's public client for the jupyter-wp5 services: the user-facing calls, over a transport.

:meth:`Wp5Client.from_env` picks the transport: :class:`~.rest.RestTransport` to the Jupyter server
that started this kernel (``JUPYTER_WP5_URL``/``JUPYTER_WP5_TOKEN``), else
:class:`~.inprocess.InProcessTransport`, the same services in this process. Both carry the
contract of :mod:`.transport`, named after the services' own operations.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..models import (
    DID,
    ClusterInfo,
    ClusterSize,
    DatasetDetails,
    DidSummary,
    FileEntry,
    FilePage,
    Fileset,
    Health,
    InvalidRequest,
    NotFound,
    ProfileInfo,
    ReplicaMode,
    ReplicaProgress,
    ReplicaRequest,
    ReplicaUpdate,
    SearchPage,
    SearchQuery,
    StorageElement,
)
from .inprocess import InProcessTransport
from .rest import RestTransport
from .transport import Transport

URL_ENV = "JUPYTER_WP5_URL"
TOKEN_ENV = "JUPYTER_WP5_TOKEN"

# The page size used when iterating over every page; the services accept up to 1000.
PAGE_SIZE = 100


class Wp5Client:
    """Synchronous access to the jupyter-wp5 services, returning the typed records.

    Parameters
    ----------
    transport
        Where requests go; see :meth:`from_env` for the usual choice.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Wp5Client:
        """The server that started this kernel when there is one, else Rucio in-process."""
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV)
        if url:
            return cls(RestTransport(url, env.get(TOKEN_ENV)))
        return cls(InProcessTransport())

    def __enter__(self) -> Wp5Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the transport's resources."""
        self.transport.close()

    def search(
        self,
        q: str,
        type: str | None = None,
        filters: str | Iterable[str] | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of DIDs matching ``scope:pattern``, a type and ``key>value`` filters."""
        query = SearchQuery.parse(q, type, _join_filters(filters))
        return self.transport.catalog.search(query, _check_limit(limit), cursor)

    def search_all(
        self,
        q: str,
        type: str | None = None,
        filters: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[DidSummary]:
        """Every match, page after page, stopping after ``limit`` when one is given."""
        query = SearchQuery.parse(q, type, _join_filters(filters))
        _check_limit(limit)
        search = self.transport.catalog.search
        yield from _all_pages(lambda size, cursor: search(query, size, cursor), limit)

    def dataset(self, did: str | DID) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of a DID."""
        return self.transport.catalog.describe(_as_did(did))

    def files(
        self,
        did: str | DID,
        rse: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> FilePage:
        """One page of a DID's files, optionally only their state at storage element ``rse``."""
        files = self.transport.catalog.files
        return files(_as_did(did), rse or None, _check_limit(limit), cursor)

    def files_all(
        self, did: str | DID, rse: str | None = None, limit: int | None = None
    ) -> Iterator[FileEntry]:
        """Every file of a DID, page after page."""
        parsed = _as_did(did)
        _check_limit(limit)
        files = self.transport.catalog.files
        yield from _all_pages(lambda size, cursor: files(parsed, rse or None, size, cursor), limit)

    def rses(self) -> list[StorageElement]:
        """The storage elements the user may target."""
        return self.transport.catalog.rses()

    def health(self) -> Health:
        """Versions and which engines answer."""
        return self.transport.health()

    # -- data movement -------------------------------------------------------------------------

    def fileset(
        self,
        did: str | DID,
        rse: str,
        protocol: str | None = None,
        allow_partial: bool = False,
    ) -> Fileset:
        """The coffea fileset of a dataset's (or container's) replicas at ``rse``."""
        fileset = self.transport.filesets.fileset
        return fileset(_as_did(did), rse, protocol or None, allow_partial)

    def replicate(
        self,
        did: str | DID,
        to: str | None = None,
        lifetime: str | int | None = None,
        comment: str | None = None,
        download: bool = False,
    ) -> ReplicaProgress:
        """Ask for a copy at ``to`` (an RSE expression), or a download to scratch."""
        body: dict[str, Any] = {
            "did": str(_as_did(did)),
            "rse_expression": to,
            "lifetime": lifetime,
            "comment": comment,
            "mode": (ReplicaMode.DOWNLOAD if download else ReplicaMode.RULE).value,
        }
        return self.transport.replicas.request(ReplicaRequest.from_dict(body))

    def transfers(self) -> list[ReplicaProgress]:
        """The user's copy requests and downloads, newest first, with progress."""
        return self.transport.replicas.list()

    def transfer(self, request_id: str) -> ReplicaProgress:
        """One request's progress."""
        return self.transport.replicas.get(request_id)

    def update_transfer(
        self, request_id: str, lifetime: str | int | None = None, retry: bool = False
    ) -> ReplicaProgress:
        """Give a request a new lifetime from now, and/or retry its STUCK copies now."""
        change = ReplicaUpdate.from_dict({"lifetime": lifetime, "retry": retry})
        return self.transport.replicas.update(request_id, change)

    def cancel_transfer(self, request_id: str) -> None:
        """Remove a copy request's rule (or stop its download)."""
        self.transport.replicas.cancel(request_id)

    # -- compute -------------------------------------------------------------------------------

    def profiles(self) -> list[ProfileInfo]:
        """The compute profiles, with whether (and why not) each can run here."""
        return self.transport.clusters.profiles()

    def clusters(self) -> list[ClusterInfo]:
        """The open Dask clusters."""
        return self.transport.clusters.list()

    def new_cluster(
        self,
        profile: str = "cpu",
        workers: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
        name: str | None = None,
    ) -> ClusterInfo:
        """Start a cluster: ``workers`` fixed, or adaptive between ``minimum`` and ``maximum``."""
        size = _size(workers, minimum, maximum, 1)
        return self.transport.clusters.create(profile, size, name)

    def cluster(self, name_or_id: str) -> ClusterInfo:
        """An open cluster by id, or by name when no id matches."""
        try:
            return self.transport.clusters.get(name_or_id)
        except NotFound:
            for info in self.transport.clusters.list():
                if info.name == name_or_id:
                    return info
            raise NotFound(f"no open cluster with id or name '{name_or_id}'") from None

    def scale_cluster(self, name_or_id: str, workers: int) -> ClusterInfo:
        """Set a fixed number of workers."""
        cid = self.cluster(name_or_id).id
        return self.transport.clusters.resize(cid, _size(workers, None, None, None))

    def adapt_cluster(self, name_or_id: str, minimum: int, maximum: int) -> ClusterInfo:
        """Let a cluster grow and shrink between ``minimum`` and ``maximum`` workers."""
        cid = self.cluster(name_or_id).id
        return self.transport.clusters.resize(cid, _size(None, minimum, maximum, None))

    def close_cluster(self, name_or_id: str) -> None:
        """Close a cluster and end its processes."""
        self.transport.clusters.close(self.cluster(name_or_id).id)


def _size(
    workers: int | None, minimum: int | None, maximum: int | None, default: int | None
) -> ClusterSize:
    data: dict[str, Any] = {}
    if workers is not None:
        data["workers"] = workers
    if minimum is not None or maximum is not None:
        data["adaptive"] = {"minimum": minimum or 0, "maximum": maximum}
    return ClusterSize.parse(data, default_workers=default)


def _all_pages(
    fetch: Callable[[int, str | None], SearchPage | FilePage], limit: int | None
) -> Iterator[Any]:
    """Yield items page after page, asking each page for no more than is still wanted."""
    cursor: str | None = None
    left = limit
    while left is None or left > 0:
        page = fetch(PAGE_SIZE if left is None else min(left, PAGE_SIZE), cursor)
        items = page.items if left is None else page.items[:left]
        yield from items
        if left is not None:
            left -= len(items)
        if not page.next_cursor or not page.items:
            return
        cursor = page.next_cursor


def _as_did(did: str | DID) -> DID:
    return did if isinstance(did, DID) else DID.parse(did)


def _join_filters(filters: str | Iterable[str] | None) -> str | None:
    if filters is None or isinstance(filters, str):
        return filters
    return ",".join(filters)


def _check_limit(limit: int | None) -> int:
    if limit is not None and limit < 1:
        raise InvalidRequest(f"limit must be a positive number, not {limit}")
    return limit or PAGE_SIZE
