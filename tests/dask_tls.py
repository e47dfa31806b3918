"""The TLS credentials a cluster record names, as a test's Dask client needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_wp5.compute.credentials import ClusterCredentials


def security_of(info: dict[str, Any]) -> Any:
    """The ``distributed.Security`` for the cluster ``info`` (a REST record) describes."""
    assert info["credentials"], info
    return ClusterCredentials(Path(info["credentials"])).security()
