"""The public Python API: ``import jupyter_wp5 as wp5; wp5.search("cms:*DY*")``.

Every function uses one client, made on first use by :meth:`Wp5Client.from_env`: inside a kernel
started by JupyterLab it talks to that server, elsewhere to Rucio in-process. Replace it with
:func:`set_client`.
"""

from __future__ import annotations

import threading

from .kernel.client import Wp5Client
from .kernel.cluster import Cluster
from .models import DID, DatasetDetails, DidSummary, FileEntry, Health, ProfileInfo, StorageElement

__all__ = [
    "Cluster",
    "cluster",
    "clusters",
    "dataset",
    "files",
    "get_client",
    "health",
    "new_cluster",
    "profiles",
    "rses",
    "search",
    "set_client",
]

_client: Wp5Client | None = None
_lock = threading.Lock()


def get_client() -> Wp5Client:
    """The client the API functions and the ``%wp5`` magics use.

    Returns
    -------
    Wp5Client
        The one set with :func:`set_client`, else one made from the environment on first use.
    """
    global _client
    with _lock:
        if _client is None:
            _client = Wp5Client.from_env()
        return _client


def set_client(client: Wp5Client | None) -> None:
    """Use ``client`` from now on; ``None`` makes a fresh one from the environment on next use.

    Parameters
    ----------
    client
        The client to use, e.g. ``Wp5Client(RestBackend(url, token))`` for another server.
    """
    global _client
    with _lock:
        old, _client = _client, client
    if old is not None and old is not client:
        old.close()


def search(
    query: str,
    type: str = "collection",
    filters: str | list[str] | None = None,
    limit: int | None = None,
) -> list[DidSummary]:
    """Search the Rucio catalogue.

    Parameters
    ----------
    query
        ``scope:pattern``, with ``*`` as wildcard, e.g. ``"cms:*DY*"``.
    type
        ``"dataset"``, ``"container"``, ``"file"``, ``"collection"`` (datasets and containers)
        or ``"all"``.
    filters
        Metadata conditions such as ``"events>1000"``; a list, or one comma-separated string.
    limit
        Return at most this many results; ``None`` returns every match, page after page.

    Returns
    -------
    list of DidSummary
        The matches, each with ``did``, ``type``, ``bytes`` and ``files``.

    Raises
    ------
    InvalidRequest
        When the query, type or a filter is malformed.
    EngineUnavailable
        When the server or Rucio does not answer.
    """
    return list(get_client().search_all(query, type, filters, limit))


def dataset(did: str | DID) -> DatasetDetails:
    """Describe a dataset or container.

    Parameters
    ----------
    did
        ``scope:name``.

    Returns
    -------
    DatasetDetails
        Size, file count, ``copies`` (one :class:`SiteCopy` per storage element, with
        ``fraction``), replication ``rules`` and metadata.

    Raises
    ------
    InvalidDID
        When ``did`` is not ``scope:name``.
    NotFound
        When there is no such DID.
    """
    return get_client().dataset(did)


def files(did: str | DID, rse: str | None = None) -> list[FileEntry]:
    """List every file of a dataset or container.

    Parameters
    ----------
    did
        ``scope:name``.
    rse
        Only report the replica state at this storage element.

    Returns
    -------
    list of FileEntry
        Each file with ``bytes``, ``adler32`` and ``states`` (storage element -> replica state).
    """
    return list(get_client().files_all(did, rse))


def rses() -> list[StorageElement]:
    """List the storage elements (RSEs) the user may target.

    Returns
    -------
    list of StorageElement
        Each with its type, availability and the user's quota and usage.
    """
    return get_client().rses()


def health() -> Health:
    """Report versions and whether the engines (Rucio, ...) answer.

    Returns
    -------
    Health
        The package version and one :class:`EngineStatus` per engine.
    """
    return get_client().health()


def profiles() -> list[ProfileInfo]:
    """List the compute profiles (cpu, gpu, arm, ...) and whether each can run here.

    Returns
    -------
    list of ProfileInfo
        Each with its worker cores, memory and resources, ``servable`` and, when not, ``reason``.
    """
    return get_client().profiles()


def new_cluster(
    profile: str = "cpu",
    workers: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    name: str | None = None,
) -> Cluster:
    """Start a Dask cluster of a profile.

    Parameters
    ----------
    profile
        The profile's name; see :func:`profiles`.
    workers
        A fixed number of workers (default 1 unless ``maximum`` is given).
    minimum, maximum
        Adaptive bounds instead of a fixed size.
    name
        A name to find it again with :func:`cluster`; by default ``<profile>-<n>``.

    Returns
    -------
    Cluster
        Use ``.get_client()`` for a ``distributed.Client``; ``.scale(n)``, ``.close()``.

    Raises
    ------
    Conflict
        When the profile cannot run here (e.g. ARM workers on an x86_64 machine), with the reason.
    NotFound
        When there is no such profile.
    InvalidRequest
        When the sizes are not whole numbers within the profile's ``max_workers``.
    """
    client = get_client()
    return Cluster(client.new_cluster(profile, workers, minimum, maximum, name), client)


def cluster(name_or_id: str) -> Cluster:
    """An open cluster, by id or name.

    Raises
    ------
    NotFound
        When no open cluster has that id or name.
    """
    client = get_client()
    return Cluster(client.cluster(name_or_id), client)


def clusters() -> list[Cluster]:
    """The open clusters."""
    client = get_client()
    return [Cluster(info, client) for info in client.clusters()]
