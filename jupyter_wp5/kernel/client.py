"""The kernel's public client for the jupyter-wp5 services: the user-facing calls, over a transport.

:meth:`Wp5Client.from_env` picks the transport: :class:`~.rest.RestTransport` to
``$JUPYTER_WP5_URL`` when the user set it, else to the Jupyter server that started this kernel
(found through its 0600 runtime file, :mod:`jupyter_wp5.server_file`), else
:class:`~.inprocess.InProcessTransport`, the same services in this process. Both carry the
contract of :mod:`.transport`, named after the services' own operations.
"""

from __future__ import annotations

import datetime as dt
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
    parse_lifetime,
)
from ..server_file import find_server
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
        self.community: dict[str, Any] | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Wp5Client:
        """``$JUPYTER_WP5_URL`` (and ``$JUPYTER_WP5_TOKEN``) when set, else the server that started
        this kernel when there is one, else Rucio in-process."""
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV)
        if url:
            return cls(RestTransport(url, env.get(TOKEN_ENV)))
        server = find_server(env.get("JUPYTER_RUNTIME_DIR"))
        if server is not None:
            return cls(RestTransport(*server))
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
        """Every match, page after page, stopping after ``limit`` when one is given.

        After :meth:`use`, a bare pattern (no ``scope:``) searches every scope of that community
        and every scope the account holds a live grant on.
        """
        queries = [SearchQuery.parse(one, type, _join_filters(filters)) for one in self._scoped(q)]
        _check_limit(limit)
        search = self.transport.catalog.search
        for query in queries:
            pages = _all_pages(lambda size, cursor, q=query: search(q, size, cursor), limit)
            for item in pages:
                yield item
                if limit is not None:
                    limit -= 1
                    if limit == 0:
                        return

    def _scoped(self, q: str) -> list[str]:
        if ":" in q or self.community is None:
            return [q]
        scopes = self.searchable_scopes()
        if not scopes:
            raise InvalidRequest(
                f"community {self.community['name']} has no scopes and you hold no live grant: "
                "search scope:pattern"
            )
        return [f"{scope}:{q}" for scope in scopes]

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
        """Ask for a copy at ``to`` (an RSE expression; after :meth:`use`, by default the
        community's first storage element), or a download to scratch."""
        if to is None and not download and self.community and self.community["rses"]:
            to = self.community["rses"][0]
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

    # -- communities and access ----------------------------------------------------------------

    def communities(self) -> list[dict[str, Any]]:
        """The configured communities: scopes, stewards, accounts, storage elements, profiles."""
        return self.transport.access.communities.all()

    def use(self, community: str) -> dict[str, Any]:
        """Work as ``community`` in this client: bare search patterns search its scopes (and the
        scopes of the account's live grants), and copies go to its first storage element unless
        told otherwise. The account must belong to it."""
        found = {c["name"]: c for c in self.communities()}
        if community not in found:
            known = ", ".join(sorted(found)) or "none"
            raise NotFound(f"no community {community!r} (configured: {known})")
        mine = self.transport.access.overview()
        if community not in mine["communities"]:
            theirs = ", ".join(mine["communities"]) or "none"
            raise InvalidRequest(
                f"account {mine['account']} is not in community {community} (its communities: "
                f"{theirs})"
            )
        self.community = found[community]
        return self.community

    def searchable_scopes(self) -> list[str]:
        """The scopes a bare search pattern covers: the used community's, then those of the
        account's live grants."""
        if self.community is None:
            return []
        scopes = list(self.community["scopes"])
        for record in self.transport.access.overview()["mine"]:
            scope = record["did"].split(":", 1)[0]
            if record["status"] == "granted" and scope not in scopes:
                scopes.append(scope)
        return scopes

    def access_overview(self) -> dict[str, Any]:
        """The account, its communities, its access requests and those it stewards."""
        return self.transport.access.overview()

    def request_access(self, did: str | DID, purpose: str) -> dict[str, Any]:
        """Ask the owning community's stewards for access to ``did``, saying what it is for."""
        return self.transport.access.request(_as_did(did), purpose)

    def access_request(self, request_id: str) -> dict[str, Any]:
        """One access request."""
        return self.transport.access.get(request_id)

    def grant_access(
        self, request_id: str, expires: str | int = "30d", rses: list[str] | None = None
    ) -> dict[str, Any]:
        """Grant a pending request until ``expires`` (a duration from now such as ``7d``, or an
        RFC 3339 time), optionally only at storage elements ``rses``."""
        return self.transport.access.grant(request_id, _expiry(expires), rses or None)

    def deny_access(self, request_id: str, reason: str = "") -> dict[str, Any]:
        """Deny a pending request."""
        return self.transport.access.deny(request_id, reason)

    def revoke_access(self, request_id: str, reason: str = "") -> dict[str, Any]:
        """Revoke a grant; the grantee's rules on the data under it end."""
        return self.transport.access.revoke(request_id, reason)

    def ledger_checkpoint(self) -> dict[str, Any]:
        """The access ledger's latest cosigned checkpoint and its verifier keys."""
        return self.transport.access.checkpoint()

    def receipt(self, ledger_index: int) -> dict[str, Any]:
        """The receipt of ledger entry ``ledger_index``, to check offline."""
        return self.transport.access.receipt(ledger_index)

    def receipts(self, transfer: str | ReplicaProgress) -> list[dict[str, Any]]:
        """The receipts of a copy's or download's ledger entries (``ledger_indexes``, read
        fresh), in order."""
        request_id = transfer if isinstance(transfer, str) else transfer.id
        return [self.receipt(i) for i in self.transfer(request_id).ledger_indexes]

    def record_run(self, run: dict[str, Any]) -> int | None:
        """Record an analysis run in the access ledger (see :mod:`jupyter_wp5.run_record`);
        its ledger index."""
        return self.transport.access.record_run(run)

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


def _expiry(expires: str | int) -> str:
    """An RFC 3339 time from a duration (``7d``, ``12h``, seconds) or an RFC 3339 time."""
    if isinstance(expires, str) and "T" in expires:
        return expires
    seconds = parse_lifetime(expires)
    if not seconds:
        raise InvalidRequest(f"expires '{expires}' is neither a duration nor an RFC 3339 time")
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


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
