"""Session fixtures: the real playground facility (Rucio server, storage, seeded data) and a
Jupyter server with the extension configured to use it.

Set ``WP5_TEST_FACILITY_DIR`` to keep the facility's state between runs (faster local iteration),
and ``WP5_TEST_DB=postgresql`` to run the facility's Rucio on PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# Every kernel the tests start (and every RestTransport they make) checks each exchange with the
# server against openapi.yaml, so the kernel side of the contract is tested by every kernel test.
os.environ["JUPYTER_WP5_CHECK_CONTRACT"] = "1"

# Fixtures that start or use the playground's Rucio: every test using one is marked ``rucio``
# (below), so that ``-m "not rucio"`` selects exactly the tests that run without it.
RUCIO_FIXTURES = {"facility", "playground"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the tests marked slow (minutes each: facility-size data)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the playground's Rucio (the session facility) ``rucio``, so
    ``-m rucio`` selects what to run again on PostgreSQL; skip ``slow`` ones without
    ``--run-slow``."""
    run_slow = config.getoption("--run-slow")
    for item in items:
        if RUCIO_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.rucio)
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))


@pytest.fixture(scope="session")
def facility(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The playground facility, started once for the whole session."""
    from jupyter_wp5.playground import Facility

    keep = os.environ.get("WP5_TEST_FACILITY_DIR")
    fac = Facility(
        root=Path(keep or tmp_path_factory.mktemp("facility")),
        events_per_file=2000,
        database=os.environ.get("WP5_TEST_DB") or None,
    )
    fac.start()
    yield fac
    if keep:
        fac.stop()
    else:
        fac.remove()


@pytest.fixture(scope="session")
def dask_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The playground's dask-gateway server (cpu and gpu profiles), without Rucio."""
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


@pytest.fixture(autouse=True)
def _no_emulated_arm_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no prepared aarch64 tree unless they configure one (tests/arm.py's ROOTFS,
    read before this runs): a tree in the real cache must not change what the arm profile does
    in tests that expect it refused on x86_64."""
    monkeypatch.setenv("WP5_ARM_ROOTFS", "/nonexistent/wp5-test-arm64")


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
