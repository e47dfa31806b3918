"""The public Python API: ``import jupyter_wp5 as wp5; wp5.search("cms:*DY*")``.

Every function uses one client, made on first use by :meth:`Wp5Client.from_env`: inside a kernel
started by JupyterLab it talks to that server, elsewhere to Rucio in-process. Replace it with
:func:`set_client`.
"""

from __future__ import annotations

from typing import Any

from .kernel.cluster import Cluster
from .kernel.current import get_client
from .kernel.current import set_client as set_client  # exported: in API_FUNCTIONS
from .kernel.progress import wait as wait_for
from .models import (
    DID,
    DatasetDetails,
    DidSummary,
    FileEntry,
    Health,
    ProfileInfo,
    ReplicaProgress,
    StorageElement,
)
from .public_names import API_FUNCTIONS

__all__ = ["Cluster", "get_client", *API_FUNCTIONS]


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


def fileset(
    did: str | DID,
    rse: str,
    protocol: str | None = None,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """A coffea fileset of the replicas of a dataset (or each dataset of a container) at an RSE.

    Parameters
    ----------
    did
        ``scope:name`` of a dataset or container.
    rse
        The storage element whose copy to read.
    protocol
        URL scheme such as ``"root"``; by default the storage element's preferred one.
    allow_partial
        Take the files that are there even when the copy is incomplete.

    Returns
    -------
    dict
        ``{dataset_name: {"files": {url: "Events"}, "metadata": {...}}}``, ready for
        ``coffea.processor.Runner``.

    Raises
    ------
    Conflict
        When the copy at ``rse`` is incomplete and ``allow_partial`` is false.
    """
    return get_client().fileset(did, rse, protocol, allow_partial).to_dict()


def replicate(
    did: str | DID,
    to: str | None = None,
    lifetime: str | int | None = None,
    comment: str | None = None,
    wait: bool = False,
    download: bool = False,
) -> ReplicaProgress:
    """Ask for a copy of a dataset at a storage element (a Rucio rule), or download it to scratch.

    Parameters
    ----------
    did
        ``scope:name``.
    to
        An RSE expression such as ``"SITE-B"``; required unless ``download`` or after
        :func:`use` (then the community's first storage element).
    lifetime
        How long the copy is kept: seconds, or ``"12h"``, ``"7d"``; ``None`` keeps it.
    comment
        A note kept with the request.
    wait
        Show a progress bar and return only when the copy is complete.
    download
        Download into the scratch directory (``$WP5_SCRATCH`` or ``~/scratch`` of the server)
        instead; ``to`` then picks the copies to read from.

    Returns
    -------
    ReplicaProgress
        The request with its ``id``, ``state`` and files done; with ``download``, the local
        ``paths``.

    Raises
    ------
    TransferStuck
        With ``wait``, when the copy ends STUCK, with the reason.
    Conflict
        When Rucio refuses (e.g. over quota), with its reason.
    """
    client = get_client()
    made = client.replicate(did, to, lifetime, comment, download)
    if wait:
        made = wait_for(lambda: client.transfer(made.id), made)
    return made


def transfers() -> list[ReplicaProgress]:
    """The copy requests and downloads made from JupyterLab, newest first, with progress."""
    return get_client().transfers()


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


def cluster_control(cluster: Cluster | str | None = None) -> Any:
    """Notebook controls for a cluster: create one, or watch, scale, adapt and close it.

    Parameters
    ----------
    cluster
        A :class:`Cluster`, or an open cluster's id or name; ``None`` offers to create one.

    Returns
    -------
    ClusterControl
        Displays itself as ipywidgets; ``.close()`` stops its background refresh.

    Raises
    ------
    NotFound
        When no open cluster has that id or name.
    """
    from .kernel.widgets import ClusterControl

    client = get_client()
    if isinstance(cluster, str):
        cluster = Cluster(client.cluster(cluster), client)
    return ClusterControl(client, cluster)


# -- communities, access and the ledger ---------------------------------------------------------


def communities() -> list[dict[str, Any]]:
    """The partner communities configured on the server.

    Returns
    -------
    list of dict
        Each with ``name``, ``scopes``, ``stewards``, ``accounts``, ``rses`` (the first is the
        community's default storage element) and ``profiles``.
    """
    return get_client().communities()


def use(community: str) -> dict[str, Any]:
    """Work as a community in this kernel.

    Afterwards a search pattern without ``scope:`` searches the community's scopes and the scopes
    the account holds a live grant on, and :func:`replicate` without ``to`` copies to the
    community's first storage element. Nothing changes in Rucio or for other kernels.

    Parameters
    ----------
    community
        A community's name, e.g. ``"leonardo"``; the account must belong to it.

    Returns
    -------
    dict
        The community, as :func:`communities` lists it.

    Raises
    ------
    NotFound
        When no such community is configured.
    InvalidRequest
        When the account is not in that community.
    """
    return get_client().use(community)


def access_requests() -> dict[str, Any]:
    """The account's access requests, and those on the data it stewards.

    Returns
    -------
    dict
        ``account``, ``communities`` (the account's), ``mine`` (its requests) and ``stewarded``
        (the requests on its communities' scopes); each request has ``id``, ``did``,
        ``requester``, ``status`` (pending, granted, denied, revoked, expired), ``expires`` and
        ``rses``.
    """
    return get_client().access_overview()


def request_access(did: str | DID, purpose: str) -> dict[str, Any]:
    """Ask the stewards of the community owning ``did`` for access to it.

    Parameters
    ----------
    did
        ``scope:name`` of another community's dataset.
    purpose
        What the data is for. The ledger keeps only its salted hash; keep the text and the
        returned ``purpose_salt``, which together prove what was asked.

    Returns
    -------
    dict
        ``request`` (pending), ``ledger_index`` (the ledger entry, or None without a ledger) and
        ``purpose_salt``.

    Raises
    ------
    InvalidRequest
        When the scope belongs to no community, or the purpose is empty.
    Conflict
        When the account is in the owning community already.
    """
    return get_client().request_access(did, purpose)


def grant_access(
    request_id: str, expires: str | int = "30d", rses: list[str] | None = None
) -> dict[str, Any]:
    """Grant a pending access request (stewards of the data only).

    Parameters
    ----------
    request_id
        The request's ``id``.
    expires
        A duration from now (``"7d"``, ``"12h"``, seconds) or an RFC 3339 time; rules made under
        the grant end by then.
    rses
        Allow copies only at these storage elements (and no downloads); ``None``: anywhere.

    Returns
    -------
    dict
        ``request`` (granted) and ``ledger_index``.

    Raises
    ------
    Forbidden
        When the account is not a steward of the requested data.
    Conflict
        When the request is not pending.
    """
    return get_client().grant_access(request_id, expires, rses)


def deny_access(request_id: str, reason: str = "") -> dict[str, Any]:
    """Deny a pending access request (stewards only).

    Parameters
    ----------
    request_id
        The request's ``id``.
    reason
        Optional; the ledger keeps only its salted hash.

    Returns
    -------
    dict
        ``request`` (denied) and ``ledger_index``.
    """
    return get_client().deny_access(request_id, reason)


def revoke_access(request_id: str, reason: str = "") -> dict[str, Any]:
    """Revoke a grant (stewards only); Rucio refuses new rules at once and the grantee's rules
    on the data end.

    Parameters
    ----------
    request_id
        The granted request's ``id``.
    reason
        Optional; the ledger keeps only its salted hash.

    Returns
    -------
    dict
        ``request`` (revoked), ``ledger_index`` and ``rules_removed``.
    """
    return get_client().revoke_access(request_id, reason)


def receipt(ledger_index: int) -> dict[str, Any]:
    """The receipt of an access ledger entry, to keep and check offline.

    Parameters
    ----------
    ledger_index
        An outcome's ``ledger_index``.

    Returns
    -------
    dict
        ``entry``, ``leaf_index``, ``tree_size``, ``inclusion_proof``, ``checkpoint`` and
        ``verifier_keys``; check it with :func:`jupyter_wp5.ledger.verify`.
    """
    return get_client().receipt(ledger_index)


def receipts(transfer: str | ReplicaProgress) -> list[dict[str, Any]]:
    """The receipts of a copy's or download's access ledger entries: the rule made and the copy
    complete, or one per downloaded file (its DID, adler32 and size), to keep and check offline.

    Parameters
    ----------
    transfer
        A request's id, or the :class:`ReplicaProgress` that :func:`replicate` returned.

    Returns
    -------
    list of dict
        One receipt per entry in ``ledger_indexes``, in order; empty without a ledger.
    """
    return get_client().receipts(transfer)


def ledger_checkpoint() -> dict[str, Any]:
    """The access ledger's latest checkpoint.

    Returns
    -------
    dict
        ``checkpoint`` (a signed note cosigned by the witnesses, or None before the first) and
        ``verifier_keys``; check it with :func:`jupyter_wp5.ledger.verify_checkpoint`.
    """
    return get_client().ledger_checkpoint()
