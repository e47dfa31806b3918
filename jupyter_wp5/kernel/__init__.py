"""Kernel side of jupyter-wp5: the client and its transports, the ``%wp5`` magics and displays."""

from .client import Wp5Client
from .display import ResultTable
from .inprocess import InProcessTransport
from .rest import RestTransport
from .transport import Transport

__all__ = ["InProcessTransport", "RestTransport", "ResultTable", "Transport", "Wp5Client"]
