"""jupyter-wp5: find data in Rucio, move it next to the compute, analyse it on Dask, in JupyterLab.

The public Python API (``search``, ``dataset``, ...) talks to the Jupyter server that started the
kernel, or to the services in-process when there is none.
"""

from __future__ import annotations

import importlib
from typing import Any

from .public_names import API_FUNCTIONS
from .version import __version__

# The public names, loaded on first use (PEP 562): the server and the kernel's internals import
# jupyter_wp5.<subpackage>, which runs this file first; they must not pay for, or depend on, the
# Python API above them.
_PUBLIC = {
    "run": "analysis",
    **dict.fromkeys(API_FUNCTIONS, "api"),
}

__all__ = ["__version__", "load_ipython_extension", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        # ``wp5.api``, ``wp5.models``...: a submodule not imported yet.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-wp5"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import Wp5App

    return [{"module": "jupyter_wp5", "app": Wp5App}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_wp5``: register the ``%wp5`` magics."""
    from .kernel.magics import load_ipython_extension as load

    load(ipython)
