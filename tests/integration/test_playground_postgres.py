"""The playground on PostgreSQL: Rucio really uses the playground's own PostgreSQL server, the
password stays in 0600 files, and the server stops with the playground."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.playground import Facility
from jupyter_wp5.playground.postgres import PROCESS_NAME, postgres_bin
from jupyter_wp5.playground.processes import port_is_free

psutil = pytest.importorskip("psutil")

pytestmark = [
    pytest.mark.rucio,
    pytest.mark.timeout(900),
    pytest.mark.skipif(postgres_bin() is None, reason="Debian's postgresql is not installed"),
]


@pytest.fixture(scope="module")
def pg_facility(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facility]:
    fac = Facility(
        root=tmp_path_factory.mktemp("pg-facility"), database="postgresql", events_per_file=500
    )
    fac.start()
    yield fac
    fac.remove()


def _psql(fac: Facility, sql: str) -> list[str]:
    assert fac.postgres is not None
    done = subprocess.run(
        [shutil.which("psql") or str(postgres_bin() / "psql"), "-At", "-c", sql],
        env=fac.postgres.client_environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()


def _password(fac: Facility) -> str:
    return fac.files.pgpass.read_text().strip().split(":", 4)[4]


def test_rucio_stores_the_catalogue_in_postgresql(pg_facility: Facility) -> None:
    info = pg_facility.info
    assert info is not None and info.database == "postgresql"
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(pg_facility.files.server_cfg)
    url = cfg["database"]["default"]
    assert url.startswith("postgresql+psycopg://")
    assert f"@127.0.0.1:{pg_facility.postgres.port}/rucio" in url  # type: ignore[union-attr]
    assert not pg_facility.files.database.exists()  # no SQLite file beside it

    # What Rucio's REST API shows the ordinary user is what PostgreSQL holds.
    client = RucioConnection(rucio_config=str(info.rucio_config)).new_client()
    via_rest = set(client.list_dids("cms", {"name": "*"}, did_type="dataset"))
    sql = "SELECT name FROM dids WHERE scope = 'cms' AND did_type = 'D'"
    in_postgres = set(_psql(pg_facility, sql))
    assert via_rest == in_postgres
    assert {d.name for d in info.datasets if d.scope == "cms"} <= in_postgres


def test_postgresql_listens_on_loopback_only_as_an_unprivileged_user(
    pg_facility: Facility,
) -> None:
    proc = pg_facility.processes.get(PROCESS_NAME)
    assert proc is not None and proc.running()
    server = psutil.Process(proc.pid)
    if os.geteuid() == 0:
        assert server.username() == "postgres"
    listening = {
        c.laddr.ip
        for p in [server, *server.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {"127.0.0.1"}


def test_the_password_is_only_in_private_files(pg_facility: Facility) -> None:
    password = _password(pg_facility)
    for path in (pg_facility.files.pgpass, pg_facility.files.server_cfg):
        assert path.stat().st_mode & 0o777 == 0o600
    logs = pg_facility.root / "logs"
    for log in logs.iterdir():
        assert password not in log.read_text(errors="replace"), log
    assert password not in (pg_facility.root / "facility.json").read_text()
    for pid in pg_facility.pids():
        child = psutil.Process(pid)
        assert password not in " ".join(child.cmdline())
        assert all(password not in value for value in child.environ().values())


def test_postgresql_stops_with_the_playground_and_keeps_the_data(pg_facility: Facility) -> None:
    proc = pg_facility.processes.get(PROCESS_NAME)
    assert proc is not None
    pid, port = proc.pid, pg_facility.postgres.port  # type: ignore[union-attr]
    pg_facility.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert port_is_free(port)

    again = Facility(root=pg_facility.root)  # the database choice is remembered
    try:
        info = again.start()
        assert info.database == "postgresql"
        assert again.postgres is not None and again.postgres.port == port
        assert set(_psql(again, "SELECT count(*) FROM dids WHERE scope = 'cms'")) != {"0"}
    finally:
        again.stop()
