"""The contract between the kernel's client and the services: one operation, one name.

A transport carries the services' own operations, grouped as the server groups its services
(:class:`jupyter_wp5.server.services.Services`): ``transport.catalog.search``,
``transport.replicas.request``, ``transport.clusters.resize``... with the services' own names and
arguments, synchronously. Two transports fulfil it: :class:`~.rest.RestTransport` (the Jupyter
server that started the kernel) and :class:`~.inprocess.InProcessTransport` (the same services in
this process, where there is no server).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..models import (
    DID,
    ClusterInfo,
    ClusterSize,
    DatasetDetails,
    FilePage,
    Fileset,
    Health,
    ProfileInfo,
    ReplicaProgress,
    ReplicaRequest,
    ReplicaUpdate,
    SearchPage,
    SearchQuery,
    StorageElement,
)


class CatalogOps(Protocol):
    """``catalog``: find data and see where its copies are."""

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        """One page of DIDs matching ``query``."""
        ...

    def describe(self, did: DID) -> DatasetDetails:
        """Size, file count, copies per storage element and rules of ``did``."""
        ...

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        """One page of the files of ``did``, with their state per storage element."""
        ...

    def rses(self) -> list[StorageElement]:
        """The storage elements the user may target."""
        ...


class FilesetOps(Protocol):
    """``filesets``: what coffea reads."""

    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        """The coffea fileset of ``did``'s replicas at ``rse``."""
        ...


class ReplicaOps(Protocol):
    """``replicas``: the user's copy requests (Rucio rules, or downloads to scratch)."""

    def request(self, req: ReplicaRequest) -> ReplicaProgress:
        """Ask for a copy (a rule) or a download."""
        ...

    def list(self) -> list[ReplicaProgress]:
        """The user's requests, newest first."""
        ...

    def get(self, request_id: str) -> ReplicaProgress:
        """One request's progress."""
        ...

    def update(self, request_id: str, change: ReplicaUpdate) -> ReplicaProgress:
        """A new lifetime and/or a retry of the STUCK copies."""
        ...

    def cancel(self, request_id: str) -> None:
        """Remove the rule, or stop the download."""
        ...


class ClusterOps(Protocol):
    """``clusters``: compute profiles and Dask clusters."""

    def profiles(self) -> list[ProfileInfo]:
        """The compute profiles, with whether each can run here."""
        ...

    def create(self, profile: str, size: ClusterSize, name: str | None = None) -> ClusterInfo:
        """Start a cluster of ``profile``."""
        ...

    def list(self) -> list[ClusterInfo]:
        """The open Dask clusters."""
        ...

    def get(self, cluster_id: str) -> ClusterInfo:
        """One open cluster."""
        ...

    def resize(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        """Scale to a number of workers, or make adaptive."""
        ...

    def close(self, cluster_id: str) -> None:
        """Close a cluster and end its processes."""
        ...


class CommunityOps(Protocol):
    """``access.communities``: the configured communities."""

    def all(self) -> list[dict[str, Any]]:
        """Every community: scopes, stewards, accounts, storage elements, profiles."""
        ...


class AccessOps(Protocol):
    """``access``: access requests between communities, and the access ledger. Records are the
    server's JSON (``AccessOverview``, ``AccessOutcome``, ``AccessRequest`` in openapi.yaml)."""

    communities: CommunityOps

    def overview(self) -> dict[str, Any]:
        """The caller's account, communities, own requests and requests it stewards."""
        ...

    def request(self, did: DID, purpose: str) -> dict[str, Any]:
        """Ask for access to ``did`` for ``purpose``; the outcome, with the purpose's salt."""
        ...

    def get(self, request_id: str) -> dict[str, Any]:
        """One access request."""
        ...

    def grant(self, request_id: str, expires: str, rses: list[str] | None = None) -> dict[str, Any]:
        """A steward grants a pending request until ``expires``, optionally only at ``rses``."""
        ...

    def deny(self, request_id: str, reason: str = "") -> dict[str, Any]:
        """A steward denies a pending request."""
        ...

    def revoke(self, request_id: str, reason: str = "") -> dict[str, Any]:
        """A steward revokes a grant; the grantee's rules under it end."""
        ...

    def checkpoint(self) -> dict[str, Any]:
        """The ledger's latest cosigned checkpoint and its verifier keys."""
        ...

    def receipt(self, index: int) -> dict[str, Any]:
        """The receipt of ledger entry ``index``."""
        ...

    def record_run(self, run: dict[str, Any]) -> int | None:
        """Record an analysis run (``inputs``, ``code_sha256``, ``env_lock_sha256``,
        ``output_sha256``); its ledger index (None when the append failed)."""
        ...


class Transport(Protocol):
    """Where the kernel's requests go: the services, by group, plus health."""

    catalog: CatalogOps
    filesets: FilesetOps
    replicas: ReplicaOps
    clusters: ClusterOps
    access: AccessOps

    def health(self) -> Health:
        """Versions and which engines answer."""
        ...

    def describe_location(self) -> str:
        """Where the answers come from, for messages and ``%wp5 health``."""
        ...

    def close(self) -> None:
        """Release sessions, threads and connections."""
        ...
