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

# Fixtures that start or use the playground's Rucio: a test that needs one must say so with the
# ``rucio`` marker, so that ``-m "not rucio"`` selects exactly the tests that run without it.
RUCIO_FIXTURES = {"facility", "playground"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run a test that uses the playground's Rucio without the ``rucio`` marker."""
    unmarked = [
        item.nodeid
        for item in items
        if RUCIO_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("rucio") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests that use the playground's Rucio lack the 'rucio' marker: " + ", ".join(unmarked)
        )


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
