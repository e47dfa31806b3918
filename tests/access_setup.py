"""What the access tests share: the Jupyter server acting as Leonardo's user, and INAF's steward
acting through the same service class with the steward's own Rucio account (as the steward's own
server would), both reporting to the playground's ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_wp5.communities import AccessService, Communities
from jupyter_wp5.communities.ledger import AccessLedger
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.playground.communities import LEONARDO_USER, STEWARD, community_config
from jupyter_wp5.playground.rucio_config import RucioFiles

DATASET = "space:debris_catalogue_2026"


def rucio_cfg(playground: Any, account: str) -> str:
    """The rucio.cfg of one of the playground's accounts."""
    return str(RucioFiles(playground.root / "rucio").client_cfg(account))


def _ledger(playground: Any) -> dict[str, str]:
    return {"url": playground.ledger.url, "token_file": str(playground.ledger.token_file)}


def leonardo_server_config(playground: Any, tmp_path: Path) -> Config:
    """A Jupyter server with the extension, as Leonardo's user, reporting to the ledger."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "DownloadManager": {"scratch_dir": str(tmp_path / "scratch")},
            "RequestStore": {"path": str(tmp_path / "requests.sqlite")},
            "RucioConnection": {
                "rucio_config": rucio_cfg(playground, LEONARDO_USER),
                "timeout": 20.0,
            },
            **community_config(playground.account),
            "AccessLedger": {
                **_ledger(playground),
                "trusted_keys": playground.ledger.verifier_keys,
            },
        }
    )


def steward_service(playground: Any) -> AccessService:
    """INAF's steward's access service (close its ledger and connection after use)."""
    return AccessService(
        RucioConnection(rucio_config=rucio_cfg(playground, STEWARD), timeout=20.0),
        Communities(config=Config(community_config(playground.account))),
        AccessLedger(**_ledger(playground)),
    )


@pytest.fixture
def jp_server_config(playground: Any, tmp_path: Path) -> Config:
    """The Jupyter server of the tests that import this fixture acts as Leonardo's user."""
    return leonardo_server_config(playground, tmp_path)


@pytest.fixture
def steward(playground: Any) -> Any:
    """INAF's steward's access service."""
    service = steward_service(playground)
    yield service
    service.ledger.close()
    service.connection.close()
