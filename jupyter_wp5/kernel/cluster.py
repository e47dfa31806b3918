"""A Dask cluster as the notebook sees it: its record, plus ``get_client()`` and resizing."""

from __future__ import annotations

from typing import Any

from ..models import ClusterInfo, ClusterStatus
from .client import Wp5Client


class Cluster:
    """An open cluster run by the jupyter-wp5 services.

    Parameters
    ----------
    info
        The cluster's record (refreshed by :meth:`refresh` and by every resize).
    client
        The services client that started or found it.
    """

    def __init__(self, info: ClusterInfo, client: Wp5Client) -> None:
        self.info = info
        self._wp5 = client

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def scheduler_address(self) -> str:
        return self.info.scheduler_address

    @property
    def dashboard_link(self) -> str | None:
        return self.info.dashboard_link

    def get_client(self, **kwargs: Any) -> Any:
        """A ``distributed.Client`` connected to this cluster's scheduler.

        Parameters
        ----------
        **kwargs
            Passed to ``distributed.Client`` (e.g. ``timeout``).
        """
        from distributed import Client

        return Client(self.info.scheduler_address, **kwargs)

    def refresh(self) -> Cluster:
        """Read the cluster's current size again."""
        self.info = self._wp5.cluster(self.info.id)
        return self

    def scale(self, workers: int) -> Cluster:
        """Set a fixed number of workers; returns once the cluster has them."""
        self.info = self._wp5.scale_cluster(self.info.id, workers)
        return self

    def adapt(self, minimum: int = 0, maximum: int = 1) -> Cluster:
        """Let the cluster grow and shrink between ``minimum`` and ``maximum`` workers."""
        self.info = self._wp5.adapt_cluster(self.info.id, minimum, maximum)
        return self

    def close(self) -> None:
        """Close the cluster and end its processes."""
        self._wp5.close_cluster(self.info.id)
        self.info.status = ClusterStatus.CLOSED

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.info.status is not ClusterStatus.CLOSED:
            self.close()

    def __repr__(self) -> str:
        i = self.info
        size = f"{i.workers} workers, {i.cores} cores"
        if i.adaptive_maximum is not None:
            size += f", adaptive {i.adaptive_minimum}..{i.adaptive_maximum}"
        return (
            f"<Cluster {i.name} id={i.id} profile={i.profile} {i.status}: {size}, "
            f"scheduler {i.scheduler_address}>"
        )
