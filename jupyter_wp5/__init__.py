"""jupyter-wp5: find data in Rucio, move it next to the compute, analyse it on Dask, in JupyterLab.

The public Python API (``search``, ``dataset``, ...) talks to the Jupyter server that started the
kernel, or to the services in-process when there is none.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0.dev0"

from .analysis import run
from .api import (
    cluster,
    cluster_control,
    clusters,
    dataset,
    files,
    fileset,
    health,
    new_cluster,
    profiles,
    replicate,
    rses,
    search,
    transfers,
)

__all__ = [
    "__version__",
    "cluster",
    "cluster_control",
    "clusters",
    "dataset",
    "files",
    "fileset",
    "health",
    "load_ipython_extension",
    "new_cluster",
    "profiles",
    "replicate",
    "rses",
    "run",
    "search",
    "transfers",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-wp5"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import Wp5App

    return [{"module": "jupyter_wp5", "app": Wp5App}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_wp5``: register the ``%wp5`` magics."""
    from .kernel.magics import load_ipython_extension as load

    load(ipython)
