"""The process's one client: what the Python API functions, the ``%wp5`` magics and the notebook
controls use unless given another."""

from __future__ import annotations

import threading

from .client import Wp5Client

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
        The client to use, e.g. ``Wp5Client(RestTransport(url, token))`` for another server.
    """
    global _client
    with _lock:
        old, _client = _client, client
    if old is not None and old is not client:
        old.close()
