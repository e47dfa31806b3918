"""Session fixtures: the real playground facility (Rucio server, storage, seeded data) and a
Jupyter server with the extension configured to use it.

Set ``WP5_TEST_FACILITY_DIR`` to keep the facility's state between runs (faster local iteration).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="session")
def facility(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The playground facility, started once for the whole session."""
    from jupyter_wp5.playground import Facility

    keep = os.environ.get("WP5_TEST_FACILITY_DIR")
    fac = Facility(root=Path(keep or tmp_path_factory.mktemp("facility")), events_per_file=2000)
    fac.start()
    yield fac
    if keep:
        fac.stop()
    else:
        fac.remove()


@pytest.fixture(scope="session")
def dask_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The playground's dask-gateway server (cpu, gpu, arm profiles), without Rucio."""
    from jupyter_wp5.playground.gateway import PlaygroundGateway
    from jupyter_wp5.playground.processes import ProcessRegistry

    root = tmp_path_factory.mktemp("gateway")
    gateway = PlaygroundGateway(
        root / "gateway", ProcessRegistry(root / "pids.json", root / "logs")
    )
    yield gateway.start()
    gateway.stop()


@pytest.fixture(scope="session")
def ledger_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The playground's ledger (log + INAF and Leonardo witness processes), without Rucio."""
    from jupyter_wp5.playground.ledger import PlaygroundLedger
    from jupyter_wp5.playground.processes import ProcessRegistry

    root = tmp_path_factory.mktemp("ledger")
    service = PlaygroundLedger(root / "ledger", ProcessRegistry(root / "pids.json", root / "logs"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def playground(facility: object) -> object:
    """What the facility offers: Rucio URL, client rucio.cfg, storage elements, seeded datasets."""
    return facility.info  # type: ignore[attr-defined]


@pytest.fixture
def jp_server_config(playground: object) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "RucioConnection": {
                "rucio_config": str(playground.rucio_config),  # type: ignore[attr-defined]
                "timeout": 20.0,
            },
        }
    )


@pytest.fixture
def private_environ(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Secrets set in the environment the Jupyter server starts with (as the playground and
    users do); request it before ``jp_serverapp``. Returns them by name."""
    import secrets

    values = {
        name: secrets.token_hex(16)
        for name in ("JUPYTER_TOKEN", "JUPYTER_WP5_TOKEN", "WP5_GATEWAY_PASSWORD")
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
