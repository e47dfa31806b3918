"""The playground's accounts as clients: one notebook may play INAF's steward and Leonardo's
user (notebook 03 does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .communities import community_config
from .facility import default_root
from .info import FacilityInfo
from .rucio_config import RucioFiles

__all__ = ["client_as"]


def client_as(account: str, root: Path | None = None) -> Any:
    """A :class:`~jupyter_wp5.kernel.client.Wp5Client` acting as one of a started playground's
    accounts (e.g. ``inaf-steward``, ``leonardo-user``), in this process: that account's Rucio
    configuration, the playground's communities, and its ledger when it runs one.

    For demos and tests in which one notebook plays several parties; a user's own kernel uses
    ``jupyter_wp5``'s functions, which act as the account of the server that started it.
    """
    from traitlets.config import Config

    from ..data.catalog import RucioCatalog
    from ..data.rucio_connection import RucioConnection
    from ..kernel.client import Wp5Client
    from ..kernel.inprocess import InProcessTransport

    root = Path(root) if root is not None else default_root()
    info = FacilityInfo.read(root / "facility.json")
    cfg = RucioFiles(root / "rucio").client_cfg(account)
    if not cfg.exists():
        raise ValueError(f"the playground at {root} has no account {account}")
    config = community_config(info.account)
    if info.ledger is not None:
        config["AccessLedger"] = {"url": info.ledger.url, "token_file": str(info.ledger.token_file)}
    catalog = RucioCatalog(RucioConnection(rucio_config=str(cfg)))
    return Wp5Client(InProcessTransport(catalog, config=Config(config)))
