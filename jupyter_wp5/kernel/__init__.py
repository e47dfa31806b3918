"""Kernel side of jupyter-wp5: the REST/in-process client, the ``%wp5`` magics and displays."""

from .client import Backend, LocalBackend, RestBackend, Wp5Client
from .display import ResultTable

__all__ = ["Backend", "LocalBackend", "RestBackend", "ResultTable", "Wp5Client"]
