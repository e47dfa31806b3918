"""The kernel's client for the jupyter-wp5 services.

One backend contract, two implementations: :class:`RestBackend` talks to the Jupyter server that
started this kernel (the single source of truth), :class:`LocalBackend` runs the same catalogue
service in-process where no server exists (plain IPython, papermill, batch jobs).
:meth:`Wp5Client.from_env` picks one from ``JUPYTER_WP5_URL``/``JUPYTER_WP5_TOKEN``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import requests

from ..models import (
    DID,
    ClusterInfo,
    ClusterSize,
    Conflict,
    DatasetDetails,
    DidSummary,
    EngineRefused,
    EngineUnavailable,
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
    SearchPage,
    SearchQuery,
    StorageElement,
    Wp5Error,
    error_from_dict,
)

if TYPE_CHECKING:
    from ..compute.manager import ClusterManager
    from ..data.catalog import RucioCatalog
    from ..data.fileset import FilesetService
    from ..data.replicas import ReplicaService

T = TypeVar("T")

URL_ENV = "JUPYTER_WP5_URL"
TOKEN_ENV = "JUPYTER_WP5_TOKEN"
API_PREFIX = "wp5/api/"

# The page size used when iterating over every page; the services accept up to 1000.
PAGE_SIZE = 100


class Backend:
    """What the kernel needs from the services; both backends return the typed records.

    Cursors are the opaque strings a page hands out in ``next_cursor``.
    """

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        """One page of DIDs matching ``query``."""
        raise NotImplementedError

    def describe(self, did: DID) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of ``did``."""
        raise NotImplementedError

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        """One page of the files of ``did``, with their state per storage element."""
        raise NotImplementedError

    def rses(self) -> list[StorageElement]:
        """The storage elements the user may target."""
        raise NotImplementedError

    def health(self) -> Health:
        """Versions and which engines answer."""
        raise NotImplementedError

    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        """The coffea fileset of ``did``'s replicas at ``rse``."""
        raise NotImplementedError

    def request_replica(self, req: ReplicaRequest) -> ReplicaProgress:
        """Ask for a copy (a rule) or a download."""
        raise NotImplementedError

    def replicas(self) -> list[ReplicaProgress]:
        """The user's copy requests, newest first."""
        raise NotImplementedError

    def replica(self, request_id: str) -> ReplicaProgress:
        """One request's progress."""
        raise NotImplementedError

    def profiles(self) -> list[ProfileInfo]:
        """The compute profiles, with whether each can run here."""
        raise NotImplementedError

    def clusters(self) -> list[ClusterInfo]:
        """The open Dask clusters."""
        raise NotImplementedError

    def create_cluster(self, profile: str, size: ClusterSize, name: str | None) -> ClusterInfo:
        """Start a cluster of ``profile``."""
        raise NotImplementedError

    def get_cluster(self, cluster_id: str) -> ClusterInfo:
        """One open cluster."""
        raise NotImplementedError

    def resize_cluster(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        """Scale to a number of workers, or make adaptive."""
        raise NotImplementedError

    def close_cluster(self, cluster_id: str) -> None:
        """Close a cluster and end its processes."""
        raise NotImplementedError

    def close(self) -> None:
        """Release sessions, threads and connections."""

    def describe_location(self) -> str:
        """Where this backend gets its answers, for messages and ``%wp5 health``."""
        return type(self).__name__


# -- REST --------------------------------------------------------------------------------------

# A server that is not ours (a proxy, tornado's own 404) answers without our error body; map the
# status to the nearest typed error so callers can still catch NotFound and friends.
_ERROR_BY_STATUS: dict[int, type[Wp5Error]] = {
    400: InvalidRequest,
    404: NotFound,
    409: Conflict,
    502: EngineRefused,
    503: EngineUnavailable,
}


class RestBackend(Backend):
    """Talk to the ``/wp5/api`` REST API of a running Jupyter server."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.session = session or requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        self.session.headers["Accept"] = "application/json"

    def describe_location(self) -> str:
        return f"Jupyter server at {self.url}"

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request and return its JSON, raising the typed error the server sent."""
        url = self.url + API_PREFIX + path
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=(self.connect_timeout, self.timeout),
            )
        except requests.ConnectionError:
            raise EngineUnavailable(
                f"cannot reach the Jupyter server at {self.url}; it may have stopped "
                "(restart JupyterLab, or unset JUPYTER_WP5_URL to use Rucio directly)"
            ) from None
        except requests.Timeout:
            raise EngineUnavailable(
                f"the Jupyter server at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise Wp5Error(f"the Jupyter server answered {url} with something not JSON") from None

    def _error(self, response: requests.Response) -> Wp5Error:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            return error_from_dict(payload, status)
        reason = payload.get("message") if isinstance(payload, dict) else None
        if status == 401:
            return EngineRefused(
                f"the Jupyter server at {self.url} did not accept this kernel's token"
            )
        if status == 403:
            return EngineRefused(
                f"the Jupyter server at {self.url} does not allow this: {reason or 'forbidden'}"
            )
        if status == 404 and not reason:
            reason = "the jupyter_wp5 server extension is not enabled on that server"
        cls = _ERROR_BY_STATUS.get(status, Wp5Error)
        return cls(f"HTTP {status} from {response.url}: {reason or response.reason}")

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        filters = ",".join(f"{k}{op}{v}" for k, op, v in query.filters)
        params = {
            "q": str(query),
            "type": query.type.value,
            "filters": filters or None,
            "limit": limit,
            "cursor": cursor,
        }
        return SearchPage.from_dict(self._request("GET", "datasets", params))

    def describe(self, did: DID) -> DatasetDetails:
        return DatasetDetails.from_dict(self._request("GET", _did_path(did)))

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        params = {"rse": rse, "limit": limit, "cursor": cursor}
        return FilePage.from_dict(self._request("GET", _did_path(did) + "/files", params))

    def rses(self) -> list[StorageElement]:
        return [StorageElement.from_dict(r) for r in self._request("GET", "rses")["items"]]

    def health(self) -> Health:
        return Health.from_dict(self._request("GET", "health"))

    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        params = {
            "rse": rse,
            "protocol": protocol,
            "allow_partial": "true" if allow_partial else None,
        }
        return Fileset.from_dict(self._request("GET", _did_path(did) + "/fileset", params))

    def request_replica(self, req: ReplicaRequest) -> ReplicaProgress:
        return ReplicaProgress.from_dict(self._request("POST", "replicas", body=req.to_dict()))

    def replicas(self) -> list[ReplicaProgress]:
        return [ReplicaProgress.from_dict(r) for r in self._request("GET", "replicas")["items"]]

    def replica(self, request_id: str) -> ReplicaProgress:
        path = f"replicas/{quote(request_id, safe='')}"
        return ReplicaProgress.from_dict(self._request("GET", path))

    def profiles(self) -> list[ProfileInfo]:
        return [ProfileInfo.from_dict(p) for p in self._request("GET", "profiles")["items"]]

    def clusters(self) -> list[ClusterInfo]:
        return [ClusterInfo.from_dict(c) for c in self._request("GET", "clusters")["items"]]

    def create_cluster(self, profile: str, size: ClusterSize, name: str | None) -> ClusterInfo:
        body: dict[str, Any] = {"profile": profile, **_size_body(size)}
        if name is not None:
            body["name"] = name
        return ClusterInfo.from_dict(self._request("POST", "clusters", body=body))

    def get_cluster(self, cluster_id: str) -> ClusterInfo:
        return ClusterInfo.from_dict(self._request("GET", _cluster_path(cluster_id)))

    def resize_cluster(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        path = _cluster_path(cluster_id)
        return ClusterInfo.from_dict(self._request("PATCH", path, body=_size_body(size)))

    def close_cluster(self, cluster_id: str) -> None:
        self._request("DELETE", _cluster_path(cluster_id))

    def close(self) -> None:
        self.session.close()


def _cluster_path(cluster_id: str) -> str:
    return f"clusters/{quote(cluster_id, safe='')}"


def _size_body(size: ClusterSize) -> dict[str, Any]:
    if size.workers is not None:
        return {"workers": size.workers}
    return {"adaptive": {"minimum": size.minimum or 0, "maximum": size.maximum}}


def _did_path(did: DID) -> str:
    # Names may contain '/', so each segment is quoted whole.
    return f"datasets/{quote(did.scope, safe='')}/{quote(did.name, safe='')}"


# -- in-process --------------------------------------------------------------------------------


class _LoopThread:
    """An event loop on a private daemon thread.

    Inside a kernel the main thread already runs ipykernel's loop, where ``asyncio.run`` fails and
    waiting on it would deadlock; the catalogue's coroutines run here instead.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="wp5-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise EngineUnavailable(f"no answer within {timeout:g} s") from None

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()


class LocalBackend(Backend):
    """Run the catalogue service in this process, configured like rucio-clients (RUCIO_CONFIG).

    Parameters
    ----------
    catalog
        A ready catalogue; by default a ``RucioCatalog()`` is made on first use, so merely
        importing the API never needs a Rucio configuration.
    timeout
        Seconds to wait for one call; the catalogue has its own, shorter, per-call deadline.
    """

    def __init__(self, catalog: RucioCatalog | None = None, timeout: float = 120.0) -> None:
        self._catalog = catalog
        self._clusters: ClusterManager | None = None
        self._replicas: ReplicaService | None = None
        self._filesets: FilesetService | None = None
        self.timeout = timeout
        self._loop = _LoopThread()

    def describe_location(self) -> str:
        return "Rucio, in-process (no Jupyter server: JUPYTER_WP5_URL is not set)"

    @property
    def catalog(self) -> RucioCatalog:
        if self._catalog is None:
            from ..data.catalog import RucioCatalog

            try:
                self._catalog = RucioCatalog()
            except Wp5Error:
                raise
            except Exception as exc:
                # Without a server the user's rucio.cfg is all we have; say so, with the cause.
                raise EngineUnavailable(
                    "no Jupyter server (JUPYTER_WP5_URL is not set) and Rucio could not be set up "
                    f"in-process: {exc}"
                ) from exc
        return self._catalog

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run(coro, self.timeout)

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        return self._run(self.catalog.search(query, limit, cursor))

    def describe(self, did: DID) -> DatasetDetails:
        return self._run(self.catalog.describe(did))

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        return self._run(self.catalog.files(did, rse, limit, cursor))

    def rses(self) -> list[StorageElement]:
        return self._run(self.catalog.rses())

    def health(self) -> Health:
        return Health(_package_version(), [self._run(self.catalog.status())])

    @property
    def replica_service(self) -> ReplicaService:
        """Rules and downloads in this process, remembered in the user's request store."""
        if self._replicas is None:
            from ..data.replicas import ReplicaService

            self._replicas = ReplicaService(self.catalog.connection)
        return self._replicas

    @property
    def fileset_service(self) -> FilesetService:
        if self._filesets is None:
            from ..data.fileset import FilesetService

            self._filesets = FilesetService(self.catalog.connection)
        return self._filesets

    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        return self._run(self.fileset_service.fileset(did, rse, protocol, allow_partial))

    def request_replica(self, req: ReplicaRequest) -> ReplicaProgress:
        return self._run(self.replica_service.request(req))

    def replicas(self) -> list[ReplicaProgress]:
        return self._run(self.replica_service.list())

    def replica(self, request_id: str) -> ReplicaProgress:
        return self._run(self.replica_service.get(request_id))

    @property
    def cluster_manager(self) -> ClusterManager:
        """This process's own cluster manager (its clusters end with the process)."""
        if self._clusters is None:
            from ..compute.manager import ClusterManager

            # Unrecorded: the server's records are the server's (see ClusterManager.records_path).
            # No server to proxy the dashboard either: link to it directly.
            self._clusters = ClusterManager(records_path="", proxied=False)
        return self._clusters

    def profiles(self) -> list[ProfileInfo]:
        return self._run(self.cluster_manager.profiles())

    def clusters(self) -> list[ClusterInfo]:
        return self._run(self.cluster_manager.list())

    def create_cluster(self, profile: str, size: ClusterSize, name: str | None) -> ClusterInfo:
        return self._run(self.cluster_manager.create(profile, size, name))

    def get_cluster(self, cluster_id: str) -> ClusterInfo:
        return self._run(self.cluster_manager.get(cluster_id))

    def resize_cluster(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        return self._run(self.cluster_manager.resize(cluster_id, size))

    def close_cluster(self, cluster_id: str) -> None:
        self._run(self.cluster_manager.close(cluster_id))

    def close(self) -> None:
        if self._clusters is not None:
            self._clusters.shutdown()
        if self._replicas is not None:
            self._replicas.close()
        if self._catalog is not None:
            self._catalog.close()
        self._loop.close()


def _package_version() -> str:
    # Imported late: the package's __init__ imports this module.
    from .. import __version__

    return __version__


# -- the client --------------------------------------------------------------------------------


class Wp5Client:
    """Synchronous access to the jupyter-wp5 services, returning the typed records.

    Parameters
    ----------
    backend
        Where requests go; see :meth:`from_env` for the usual choice.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Wp5Client:
        """The server that started this kernel when there is one, else Rucio in-process."""
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV)
        if url:
            return cls(RestBackend(url, env.get(TOKEN_ENV)))
        return cls(LocalBackend())

    def __enter__(self) -> Wp5Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the backend's resources."""
        self.backend.close()

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
        return self.backend.search(query, _check_limit(limit), cursor)

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
        yield from _all_pages(lambda size, cursor: self.backend.search(query, size, cursor), limit)

    def dataset(self, did: str | DID) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of a DID."""
        return self.backend.describe(_as_did(did))

    def files(
        self,
        did: str | DID,
        rse: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> FilePage:
        """One page of a DID's files, optionally only their state at storage element ``rse``."""
        return self.backend.files(_as_did(did), rse or None, _check_limit(limit), cursor)

    def files_all(
        self, did: str | DID, rse: str | None = None, limit: int | None = None
    ) -> Iterator[FileEntry]:
        """Every file of a DID, page after page."""
        parsed = _as_did(did)
        _check_limit(limit)
        yield from _all_pages(
            lambda size, cursor: self.backend.files(parsed, rse or None, size, cursor), limit
        )

    def rses(self) -> list[StorageElement]:
        """The storage elements the user may target."""
        return self.backend.rses()

    def health(self) -> Health:
        """Versions and which engines answer."""
        return self.backend.health()

    # -- data movement -------------------------------------------------------------------------

    def fileset(
        self,
        did: str | DID,
        rse: str,
        protocol: str | None = None,
        allow_partial: bool = False,
    ) -> Fileset:
        """The coffea fileset of a dataset's (or container's) replicas at ``rse``."""
        return self.backend.fileset(_as_did(did), rse, protocol or None, allow_partial)

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
        return self.backend.request_replica(ReplicaRequest.from_dict(body))

    def transfers(self) -> list[ReplicaProgress]:
        """The user's copy requests and downloads, newest first, with progress."""
        return self.backend.replicas()

    def transfer(self, request_id: str) -> ReplicaProgress:
        """One request's progress."""
        return self.backend.replica(request_id)

    # -- compute -------------------------------------------------------------------------------

    def profiles(self) -> list[ProfileInfo]:
        """The compute profiles, with whether (and why not) each can run here."""
        return self.backend.profiles()

    def clusters(self) -> list[ClusterInfo]:
        """The open Dask clusters."""
        return self.backend.clusters()

    def new_cluster(
        self,
        profile: str = "cpu",
        workers: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
        name: str | None = None,
    ) -> ClusterInfo:
        """Start a cluster: ``workers`` fixed, or adaptive between ``minimum`` and ``maximum``."""
        return self.backend.create_cluster(profile, _size(workers, minimum, maximum, 1), name)

    def cluster(self, name_or_id: str) -> ClusterInfo:
        """An open cluster by id, or by name when no id matches."""
        try:
            return self.backend.get_cluster(name_or_id)
        except NotFound:
            for info in self.backend.clusters():
                if info.name == name_or_id:
                    return info
            raise NotFound(f"no open cluster with id or name '{name_or_id}'") from None

    def scale_cluster(self, name_or_id: str, workers: int) -> ClusterInfo:
        """Set a fixed number of workers."""
        cid = self.cluster(name_or_id).id
        return self.backend.resize_cluster(cid, _size(workers, None, None, None))

    def adapt_cluster(self, name_or_id: str, minimum: int, maximum: int) -> ClusterInfo:
        """Let a cluster grow and shrink between ``minimum`` and ``maximum`` workers."""
        cid = self.cluster(name_or_id).id
        return self.backend.resize_cluster(cid, _size(None, minimum, maximum, None))

    def close_cluster(self, name_or_id: str) -> None:
        """Close a cluster and end its processes."""
        self.backend.close_cluster(self.cluster(name_or_id).id)


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
        cursor = page.next_cursor
        if not cursor or not page.items:
            return


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
